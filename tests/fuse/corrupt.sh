#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A corrupted chunk through a real mount: reads that start in its pages fail
# with EIO, reads that run into them stop short before them, everything else
# in the file and in the other files reads correctly, the failure is logged
# once, and a container with a damaged index fails alone.
. "$(dirname "$0")/lib.sh"

src=$WORK/src
mkdir -p "$src"
"$MODELFS_GEN" -q -p medium -t bf16 -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$src" "$WORK/m.gguf"
cp "$src/m.gguf.mfs" "$src/bad.gguf.mfs"
cp "$src/m.gguf.mfs" "$src/badindex.gguf.mfs"

# Chunk 100: flip a byte in the middle of its stored bytes.
chunk=$("$MODELFS" inspect --json --chunks "$src/bad.gguf.mfs" |
	grep -o '{"offset":[0-9]*,"length":[0-9]*,"stored_at":[0-9]*,"stored":[0-9]*' | sed -n 101p |
	tr -cs '0-9' ' ')
read -r lo len poff plen <<<"$chunk"
[ -n "$plen" ] || fail "could not find chunk 100"
flip "$src/bad.gguf.mfs" $((poff + plen / 2))
# The index of another copy: its footer checksum no longer matches.
size=$(stat -c %s "$src/badindex.gguf.mfs")
flip "$src/badindex.gguf.mfs" $((size - 50))

mnt=$WORK/mnt
mount_fg "$src" "$mnt"
"$MFS_READCHECK" eio "$WORK/m.gguf" "$mnt/bad.gguf" "$lo" $((lo + len)) 3000 ||
	fail "EIO exactly for the reads touching chunk 100 [$lo, $((lo + len)))"
pass
"$MFS_READCHECK" random "$WORK/m.gguf" "$mnt/m.gguf" 2000 3 || fail "the good copy"
pass
cat "$mnt/bad.gguf" >/dev/null 2>&1 && fail "reading the whole bad file succeeded"
pass
[ "$(grep -c 'bad.gguf.mfs: chunk 100: checksum mismatch' "$DLOG")" = 1 ] ||
	fail "the bad chunk was not logged exactly once: $(cat "$DLOG")"
[ "$(stat_json "$mnt" checksum_failures)" -ge 1 ] || fail "checksum_failures not counted"
pass
# The damaged index: opening fails with EIO, the directory still lists and the rest works.
out=$(cat "$mnt/badindex.gguf" 2>&1 >/dev/null) && fail "opened a container with a bad index"
grep -q "Input/output error" <<<"$out" || fail "bad index: $out"
grep -q "badindex.gguf.mfs: footer checksum mismatch" "$DLOG" || fail "bad index not logged"
ls "$mnt" | grep -q badindex.gguf || fail "the damaged container vanished from the listing"
same_file "$WORK/m.gguf" "$mnt/m.gguf"
unmount "$mnt"
done_ok
