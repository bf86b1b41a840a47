#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified llama.cpp end to end: generated llama models (BF16, Q8_0 and a
# Q8_0 mixture of experts: 4 experts a layer, 2 used, with a router) are
# loaded from the raw file and from a modelfs mount, with mmap and with
# plain reads, and greedy generation of 32 tokens must give the same tokens in
# all four runs. A sharded safetensors model is read through the mount by a
# header-parsing reader that compares every tensor.
. "$(dirname "$0")/lib.sh"

src=$WORK/src
orig=$WORK/orig
mkdir -p "$src" "$orig"
"$MODELFS_GEN" -q -p small -t bf16 -o "$orig/bf16.gguf"
"$MODELFS_GEN" -q -p small -t q8_0 --order sorted -o "$orig/q8_0.gguf"
"$MODELFS_GEN" -q -p small -t q8_0 --order sorted --experts 4 -o "$orig/moe.gguf"
"$MODELFS_GEN" -q -f safetensors -t bf16 -p small --shards 2 -o "$orig/st"
"$MODELFS" pack -q -o "$src" "$orig/bf16.gguf" "$orig/q8_0.gguf" "$orig/moe.gguf"
"$MODELFS" pack -q -o "$src/st" "$orig/st"
mount_fg "$src" "$WORK/mnt" -o cache_size=16M

for m in bf16 q8_0 moe; do
	ref=""
	for where in "$orig" "$WORK/mnt"; do
		for mode in mmap read; do
			echo 3 >/proc/sys/vm/drop_caches
			out=$("$node" "$here/generate.mjs" "$where/$m.gguf" "$mode" 32) ||
				fail "llama.cpp failed on $where/$m.gguf ($mode)"
			[ "$(wc -w <<<"$out")" = 32 ] || fail "$m $mode: expected 32 tokens, got: $out"
			echo "$m $(basename "$where") $mode: $out"
			[ -z "$ref" ] && ref=$out
			[ "$out" = "$ref" ] || fail "$m: tokens differ from the raw mmap run"
			pass
		done
	done
done
served=$(stat_json "$WORK/mnt" bytes_served)
[ "$served" -gt "$(stat -c %s "$orig/bf16.gguf")" ] || fail "llama.cpp did not read through the mount"
pass

for s in "$orig"/st/*.safetensors; do
	"$node" "$here/stcheck.mjs" "$WORK/mnt/st/$(basename "$s")" "$s" || fail "safetensors $s"
	pass
done
unmount "$WORK/mnt"
done_ok
