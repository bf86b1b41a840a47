// SPDX-License-Identifier: MIT
// Greedy generation with unmodified llama.cpp (node-llama-cpp's prebuilt
// library): load MODEL with or without mmap, feed a fixed prompt, print the
// ids of the next TOKENS tokens on one line. CPU only, two threads (the
// default would oversubscribe a 2-core machine). With "text" (tools/demo.sh)
// a second line gives the text and a third the load and generation times.
//
//   node generate.mjs MODEL mmap|read [TOKENS] [text]
import {getLlama} from "node-llama-cpp";

const [modelPath, mode, count = "32", show] = process.argv.slice(2);
if (!modelPath || (mode !== "mmap" && mode !== "read")) {
	console.error("usage: node generate.mjs MODEL mmap|read [TOKENS]");
	process.exit(2);
}
const t0 = performance.now();
const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: 2});
const model = await llama.loadModel({modelPath, useMmap: mode === "mmap", gpuLayers: 0});
const t1 = performance.now();
const context = await model.createContext({contextSize: 256, batchSize: 64,
	threads: {ideal: 2, min: 2}});
const sequence = context.getSequence();
const tokens = [];
for await (const token of sequence.evaluate(model.tokenize("Once upon a time there was"),
	{temperature: 0})) {
	tokens.push(token);
	if (tokens.length >= Number(count))
		break;
}
console.log(tokens.join(" "));
if (show === "text") {
	const t2 = performance.now();
	console.log(JSON.stringify(model.detokenize(tokens)));
	console.log(`load ${((t1 - t0) / 1000).toFixed(2)} s, ${tokens.length} tokens in ` +
		`${((t2 - t1) / 1000).toFixed(2)} s`);
}
await context.dispose();
await model.dispose();
await llama.dispose();
