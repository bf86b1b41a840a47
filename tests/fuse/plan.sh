#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prefetch along the plan, through real mounts: a name-sorted model (blk.1 is
# followed in the file by blk.10 ... blk.19, and only then blk.2) read the way
# inference reads it. With prefetch=plan the jump from layer 1 to layer 2,
# and the wrap from the output back to layer 0, are prefetched (no demand
# miss); with prefetch=sequential the same reads miss. Then a trace of an
# unusual order (layers backwards) becomes a plan with `modelfs plan`, and
# the mount follows it. Bad traces are refused and leave the container as it
# was.
. "$(dirname "$0")/lib.sh"

py=/usr/bin/python3
[ -x "$py" ] || py=python3
reader() { "$py" "$(dirname "$0")/planread.py" "$@"; }
# delta KEY OUTPUT: the value of KEY= in planread's output (0 if absent)
delta() { sed -n "s/^$1=//p" <<<"$2" | grep . || echo 0; }

src=$WORK/src
mnt=$WORK/mnt
mkdir -p "$src"
"$MODELFS_GEN" -q -p small --layers 24 --order sorted -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$src" "$WORK/m.gguf"
c=$src/m.gguf.mfs
# Small cache: prefetch may hold 2 MiB, less than the 15 MB between blk.1 and blk.2.
opts=cache_size=8M,kernel_readahead=0

"$MODELFS" inspect --plan "$c" >"$WORK/plan.txt"
grep -A1 ' blk.1.ffn_down.weight$' "$WORK/plan.txt" | tail -n1 | grep -q ' blk.2.attn_norm.weight$' ||
	fail "blk.2 does not follow blk.1 in the plan: $(grep -A2 'blk.1.ffn_down' "$WORK/plan.txt")"
grep -q 'sparse *token_embd.weight$' "$WORK/plan.txt" || fail "embeddings not sparse"
grep -q 'cycle *blk.0.attn_norm.weight$' "$WORK/plan.txt" || fail "no cycle at blk.0"
pass

mount_fg "$src" "$mnt" -o "$opts,prefetch=plan"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" layer:0 layer:1 wait mark \
	blk.2.attn_norm.weight blk.2.attn_q.weight blk.2.attn_k.weight) || fail "$out"
[ "$(delta cache_misses "$out")" = 0 ] || fail "layer 2 missed: $out"
[ "$(delta prefetch_hits "$out")" -ge 3 ] || fail "no prefetch hits: $out"
unmount "$mnt" # a fresh mount: nothing read yet is in the page cache

# pin_size: stored chunks kept in memory are read from disk once; every later
# read decodes them from memory (the page cache of the file dropped in between).
mount_fg "$src" "$mnt" -o "cache_size=4M,pin_size=8M,prefetch=off"
cmp "$mnt/m.gguf" "$WORK/m.gguf" || fail "first read through a pinning mount differs"
pinned=$(stat_json "$mnt" pinned_bytes)
back1=$(stat_json "$mnt" backing_bytes_read)
[ "$pinned" -gt $((6 << 20)) ] && [ "$pinned" -le $((8 << 20)) ] ||
	fail "pinned $pinned bytes with pin_size=8M"
"$py" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$mnt/m.gguf"
cmp "$mnt/m.gguf" "$WORK/m.gguf" || fail "second read through a pinning mount differs"
back2=$(stat_json "$mnt" backing_bytes_read)
hits=$(stat_json "$mnt" pinned_hits)
[ "$hits" -gt 20 ] || fail "only $hits chunks decoded from pinned memory"
[ $((back2 - back1)) -le $((back1 - pinned + (1 << 20))) ] ||
	fail "the second read read $((back2 - back1)) bytes from disk, the first $back1 with $pinned pinned"
unmount "$mnt"

# A reader that follows the file (loading, cp) gets file-order prefetch.
mount_fg "$src" "$mnt" -o "$opts,prefetch=plan"
cat "$mnt/m.gguf" >/dev/null
misses=$(stat_json "$mnt" cache_misses)
hits=$(stat_json "$mnt" prefetch_hits)
chunks=$("$MODELFS" inspect "$c" | sed -n 's/^chunks: *\([0-9]*\).*/\1/p')
[ "$misses" -le $((chunks / 10)) ] && [ "$hits" -ge $((chunks * 8 / 10)) ] ||
	fail "cat of $chunks chunks: $misses demand misses, $hits prefetch hits"
unmount "$mnt"

mount_fg "$src" "$mnt" -o "$opts,prefetch=plan"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" layer:22 layer:23 output_norm.weight \
	output.weight wait mark blk.0.attn_norm.weight blk.0.attn_q.weight) || fail "$out"
[ "$(delta cache_misses "$out")" = 0 ] || fail "layer 0 missed after the output: $out"
[ "$(delta prefetch_hits "$out")" -ge 2 ] || fail "no prefetch hits: $out"
unmount "$mnt"

mount_fg "$src" "$mnt" -o "$opts,prefetch=sequential"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" layer:0 layer:1 wait mark \
	blk.2.attn_norm.weight blk.2.attn_q.weight blk.2.attn_k.weight) || fail "$out"
[ "$(delta cache_misses "$out")" -ge 3 ] || fail "sequential prefetch found layer 2: $out"
unmount "$mnt"

mount_fg "$src" "$mnt" -o "$opts,prefetch=off"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" layer:0 layer:1 wait) || fail "$out"
[ "$(delta prefetch_chunks "$out")" = 0 ] || fail "prefetch=off prefetched: $out"
unmount "$mnt"

steps=()
for l in $(seq 23 -1 0); do steps+=("layer:$l"); done
mount_fg "$src" "$mnt" -o "$opts,prefetch=off,trace=$WORK/trace"
reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" "${steps[@]}" >/dev/null || fail "reading failed"
unmount "$mnt"
grep -q " m.gguf.mfs$" "$WORK/trace" || fail "trace has no lines for m.gguf.mfs"
cp "$c" "$WORK/before.mfs"
"$MODELFS" plan -q "$c" "$WORK/trace" || fail "modelfs plan failed"
"$MODELFS" verify -q "$c" || fail "the rewritten container does not verify"
mkdir -p "$WORK/un"
"$MODELFS" unpack -q -o "$WORK/un" "$c" && cmp -s "$WORK/un/m.gguf" "$WORK/m.gguf" ||
	fail "the rewritten container unpacks to different bytes"
"$MODELFS" inspect --plan "$c" >"$WORK/plan2.txt"
grep -A1 ' blk.5.ffn_down.weight$' "$WORK/plan2.txt" | tail -n1 | grep -q ' blk.4.attn_norm.weight$' ||
	fail "blk.4 does not follow blk.5 in the traced plan"
pass

mount_fg "$src" "$mnt" -o "$opts,prefetch=plan"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$c" layer:6 layer:5 wait mark \
	blk.4.attn_norm.weight blk.4.attn_q.weight) || fail "$out"
[ "$(delta cache_misses "$out")" = 0 ] || fail "layer 4 missed with the traced plan: $out"
unmount "$mnt"
mkdir -p "$WORK/old"
mv "$WORK/before.mfs" "$WORK/old/m.gguf.mfs"
mount_fg "$WORK/old" "$mnt" -o "$opts,prefetch=plan"
out=$(reader "$mnt/m.gguf" "$WORK/m.gguf" "$WORK/old/m.gguf.mfs" layer:6 layer:5 wait mark \
	blk.4.attn_norm.weight blk.4.attn_q.weight) || fail "$out"
[ "$(delta cache_misses "$out")" -ge 2 ] || fail "the names plan predicted layer 4 after 5: $out"
unmount "$mnt"

cp "$c" "$WORK/keep.mfs"
id=$("$MODELFS" inspect "$c" | sed -n 's/^xxh3-128: *//p')
printf '%s 5 999999 m.gguf.mfs\n' "$id" >"$WORK/bad1"
expect_exit 1 "$MODELFS" plan "$c" "$WORK/bad1"
expect_msg "line 1: not a read of chunks"
printf '0123 1 2 other.mfs\n' >"$WORK/bad2"
expect_exit 1 "$MODELFS" plan "$c" "$WORK/bad2"
expect_msg "no reads of"
expect_exit 1 "$MODELFS" plan "$c" "$WORK/missing"
expect_msg "No such file"
cmp -s "$c" "$WORK/keep.mfs" || fail "a refused plan changed the container"
"$MODELFS" plan -q --from-names "$c" || fail "--from-names failed"
"$MODELFS" inspect --plan "$c" >"$WORK/plan3.txt"
grep -q 'cycle *blk.0.attn_norm.weight$' "$WORK/plan3.txt" ||
	fail "--from-names did not restore the names plan"
pass

done_ok
