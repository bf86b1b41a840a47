#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified llama.cpp from a remote source: a generated model published
# over HTTP (nginx on loopback), mounted with `modelfs mount http://...`,
# generates the same 32 tokens with mmap and with reads as from the raw file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../remote/servers.sh"

www=$WORK/www
mkdir -p "$www" "$WORK/orig"
"$MODELFS_GEN" -q -p small -t bf16 -o "$WORK/orig/bf16.gguf"
"$MODELFS" pack -q -o "$www" "$WORK/orig/bf16.gguf"
"$MODELFS" publish -q "$www"
start_nginx "$www"
mount_fg "http://127.0.0.1:$NGINX_PORT/" "$WORK/mnt" -o store="$WORK/store"

ref=$("$node" "$here/generate.mjs" "$WORK/orig/bf16.gguf" mmap 32) || fail "llama.cpp on the raw file"
[ "$(wc -w <<<"$ref")" = 32 ] || fail "expected 32 tokens, got: $ref"
echo "raw mmap: $ref"
for mode in mmap read; do
	echo 3 >/proc/sys/vm/drop_caches
	out=$("$node" "$here/generate.mjs" "$WORK/mnt/bf16.gguf" "$mode" 32) ||
		fail "llama.cpp failed through the remote mount ($mode)"
	echo "remote $mode: $out"
	[ "$out" = "$ref" ] || fail "remote $mode: tokens differ from the raw run"
	pass
done
[ "$(stat_json "$WORK/mnt" remote_fetched_chunks)" -gt 0 ] || fail "nothing came over the network"
pass
unmount "$WORK/mnt"
done_ok
