#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interrupted writing: pack and unpack into a filesystem that fills up
# (ENOSPC), and pack killed with SIGKILL mid-write. Neither may leave a
# partial container or a temporary file, or touch the model or a container
# that was there before.
. "$(dirname "$0")/../fuse/lib.sh" # root, for the small tmpfs

mkdir -p "$WORK/in" "$WORK/full" "$WORK/kill"
"$MODELFS_GEN" -q -p small -t bf16 -o "$WORK/in/m.gguf"
"$MODELFS_GEN" -q -p medium -t bf16 -o "$WORK/in/big.gguf"
sum_in=$(cat "$WORK"/in/* | md5sum)

# ---- ENOSPC -----------------------------------------------------------------------
mount -t tmpfs -o size=1M modelfs-test "$WORK/full"
MOUNTS+=("$WORK/full")
# An older container already there (packed from a tiny model), to be replaced with -f.
"$MODELFS_GEN" -q -o "$WORK/tiny.gguf"
"$MODELFS" pack -q -o "$WORK/tinyout" "$WORK/tiny.gguf"
cp "$WORK/tinyout/tiny.gguf.mfs" "$WORK/full/m.gguf.mfs"
sum_old=$(md5sum <"$WORK/full/m.gguf.mfs")
expect_exit 1 "$MODELFS" pack -f -o "$WORK/full" "$WORK/in/m.gguf"
expect_msg "modelfs: $WORK/in/m.gguf: cannot write $WORK/full/m.gguf.mfs: No space left on device"
[ "$(md5sum <"$WORK/full/m.gguf.mfs")" = "$sum_old" ] || fail "ENOSPC changed the existing container"
[ "$(ls -A "$WORK/full")" = m.gguf.mfs ] || fail "ENOSPC left: $(ls -A "$WORK/full")"
pass
[ "$(df --output=used -k "$WORK/full" | tail -1)" -lt 200 ] || fail "ENOSPC left space in use"
pass
# unpack into the full filesystem
"$MODELFS" pack -q -o "$WORK/packed" "$WORK/in/m.gguf"
expect_exit 1 "$MODELFS" unpack -o "$WORK/full" "$WORK/packed/m.gguf.mfs"
expect_msg "cannot write $WORK/full/m.gguf: No space left on device"
[ "$(ls -A "$WORK/full")" = m.gguf.mfs ] || fail "unpack on ENOSPC left: $(ls -A "$WORK/full")"
pass
umount "$WORK/full"

# ---- SIGKILL mid-pack -------------------------------------------------------------
cp "$WORK/tinyout/tiny.gguf.mfs" "$WORK/kill/m.gguf.mfs"
killed=0
for delay in 0.05 0.2 0.5 1; do
	"$MODELFS" pack -q -f -j 1 -o "$WORK/kill" "$WORK/in/big.gguf" "$WORK/in/m.gguf" &
	pid=$!
	sleep "$delay"
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		killed=$((killed + 1))
	fi
	wait "$pid" 2>/dev/null || true
	[ "$(md5sum <"$WORK/kill/m.gguf.mfs")" = "$sum_old" ] ||
		[ "$(ls "$WORK/kill")" = "$(printf 'big.gguf.mfs\nm.gguf.mfs')" ] ||
		fail "SIGKILL after ${delay}s: m.gguf.mfs changed before big.gguf.mfs was complete"
	for f in "$WORK"/kill/*; do
		"$MODELFS" verify -q "$f" || fail "SIGKILL after ${delay}s left a bad $f"
	done
	no_temp_files "$WORK/kill"
	rm -f "$WORK/kill/big.gguf.mfs"
	cp "$WORK/tinyout/tiny.gguf.mfs" "$WORK/kill/m.gguf.mfs"
done
[ $killed -gt 0 ] || fail "pack always finished before the kill"
[ "$(cat "$WORK"/in/* | md5sum)" = "$sum_in" ] || fail "the models changed"
pass
echo "ENOSPC: pack and unpack fail with one message, nothing left, the old container intact; SIGKILL mid-pack ($killed times): only complete containers"
done_ok
