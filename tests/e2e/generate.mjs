// SPDX-License-Identifier: MIT
// Greedy generation with unmodified llama.cpp (node-llama-cpp's prebuilt
// library): load MODEL with or without mmap, feed a fixed prompt, print the
// ids of the next TOKENS tokens on one line. CPU only, two threads (the
// default would oversubscribe a 2-core machine).
//
//   node generate.mjs MODEL mmap|read [TOKENS]
import {getLlama} from "node-llama-cpp";

const [modelPath, mode, count = "32"] = process.argv.slice(2);
if (!modelPath || (mode !== "mmap" && mode !== "read")) {
	console.error("usage: node generate.mjs MODEL mmap|read [TOKENS]");
	process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: 2});
const model = await llama.loadModel({modelPath, useMmap: mode === "mmap", gpuLayers: 0});
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
await context.dispose();
await model.dispose();
await llama.dispose();
