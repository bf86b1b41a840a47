#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes the seed corpora in tests/fuzz/corpus/ from the project's own
# generator and packer: small GGUF and safetensors models of every dtype the
# generator writes, containers of them packed with each codec, and encoded
# blocks of every codec and transform (fuzz-seeds). The result is committed;
# run this again when the formats or encoders change.
#
#   tests/fuzz/seeds.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: seeds.sh BUILD_DIR}" && pwd)
gen=$build/tests/gen/modelfs-gen
modelfs=$build/tools/modelfs
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$corpus"
mkdir -p "$corpus"/{gguf,safetensors,container,block}
small=(--layers 1 --embd 32 --ff 64 --heads 1 --kv-heads 1 --vocab-size 32)

for t in f32 f16 bf16 q8_0 q4_0; do
	"$gen" -q "${small[@]}" -t "$t" -o "$corpus/gguf/$t.gguf"
done
"$gen" -q "${small[@]}" -t bf16 --order sorted --seed 2 -o "$corpus/gguf/bf16-sorted.gguf"
for t in f32 f16 bf16; do
	"$gen" -q "${small[@]}" -f safetensors -t "$t" -o "$corpus/safetensors/$t.safetensors"
done

mkdir "$work/in" "$work/out"
cp "$corpus/gguf/bf16.gguf" "$corpus/gguf/q8_0.gguf" "$corpus/safetensors/f16.safetensors" "$work/in/"
head -c 20000 /dev/urandom >"$work/in/raw.bin"
for codec in auto zstd lz4 store; do
	for f in "$work"/in/*; do
		"$modelfs" pack -q --codec "$codec" --chunk-size 4K -o "$work/out" "$f"
		b=$(basename "$f")
		mv "$work/out/$b.mfs" "$corpus/container/$codec-$b.mfs"
	done
done
"$build/tests/fuzz/fuzz-seeds" "$corpus/block"
du -sh "$corpus"/*
