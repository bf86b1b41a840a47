#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Round trip of every real GGUF file in ../shared/fixtures (written by
# llama.cpp's tools). Reports itself as skipped (exit 77) where the fixtures
# are not present, as on a fresh clone.
. "$(dirname "$0")/lib.sh"

dir=${MODELFS_FIXTURES:-}
if [ -z "$dir" ] || ! ls "$dir"/gguf/*.gguf >/dev/null 2>&1; then
	echo "SKIP: no fixtures at '${dir:-unset}'"
	exit 77
fi

n=0
for src in "$dir"/gguf/*.gguf; do
	f="$WORK/$(basename "$src")"
	cp -p "$src" "$f"
	expect_exit 0 "$MODELFS" pack -q "$f"
	expect_exit 0 "$MODELFS" inspect --json "$f.mfs"
	grep -q '"source":"gguf"' <<<"$OUT" || fail "$f not parsed as GGUF"
	expect_exit 0 "$MODELFS" verify -q "$f.mfs"
	mkdir -p "$WORK/out"
	expect_exit 0 "$MODELFS" unpack -q -o "$WORK/out" "$f.mfs"
	same_file "$src" "$WORK/out/$(basename "$src")"
	n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no fixtures"
echo "$n fixtures round-tripped"
done_ok
