// SPDX-License-Identifier: MIT
// Read a safetensors file the way loaders do - the 8-byte header length, the
// JSON header, then each tensor at its data_offsets - and compare every
// tensor's bytes with the same tensor in ORIG. Exits 1 on any difference.
//
//   node stcheck.mjs FILE ORIG
import {closeSync, openSync, readSync, fstatSync} from "node:fs";

const sizes = {F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1};

function header(fd) {
	const len = Buffer.alloc(8);
	readSync(fd, len, 0, 8, 0);
	const n = Number(len.readBigUInt64LE(0));
	const json = Buffer.alloc(n);
	readSync(fd, json, 0, n, 8);
	return {base: 8 + n, tensors: JSON.parse(json.toString("utf8"))};
}

function readAt(fd, len, pos) {
	const buf = Buffer.alloc(len);
	let done = 0;
	while (done < len) {
		const r = readSync(fd, buf, done, len - done, pos + done);
		if (r === 0)
			throw new Error(`short read at ${pos + done}`);
		done += r;
	}
	return buf;
}

const [file, orig] = process.argv.slice(2);
const fa = openSync(file, "r"), fb = openSync(orig, "r");
const a = header(fa), b = header(fb);
let n = 0, bytes = 0;
for (const [name, t] of Object.entries(a.tensors)) {
	if (name === "__metadata__")
		continue;
	const [s, e] = t.data_offsets, u = b.tensors[name];
	const elems = t.shape.reduce((x, y) => x * y, 1);
	if (!u || elems * sizes[t.dtype] !== e - s)
		throw new Error(`${name}: bad header entry`);
	const x = readAt(fa, e - s, a.base + s), y = readAt(fb, e - s, b.base + u.data_offsets[0]);
	if (!x.equals(y)) {
		console.error(`${file}: tensor ${name} differs`);
		process.exit(1);
	}
	n++;
	bytes += e - s;
}
if (a.base + bytes !== fstatSync(fa).size)
	throw new Error("tensors do not cover the file");
closeSync(fa);
closeSync(fb);
console.log(`${file}: ${n} tensors, ${bytes} bytes identical`);
