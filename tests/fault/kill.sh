#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A daemon killed with SIGKILL while readers are busy: they get ENOTCONN
# ("Transport endpoint is not connected"; ECONNABORTED for a request in
# flight) promptly, never hang, and every later reader gets ENOTCONN; `modelfs
# mount` over the dead mount point says what it found, detaches it and mounts
# again, and the new mount serves the right bytes.
. "$(dirname "$0")/../fuse/lib.sh"

mkdir -p "$WORK/src"
"$MODELFS_GEN" -q -p medium -t bf16 -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$WORK/src" "$WORK/m.gguf"
mnt=$WORK/mnt

for round in 1 2; do
	mount_fg "$WORK/src" "$mnt" -o cache_size=8M
	# Busy readers: threads and processes doing random reads, and a cat.
	"$MFS_READCHECK" threads "$WORK/m.gguf" "$mnt/m.gguf" 4 100000 2>"$LOG/t" &
	r1=$!
	"$MFS_READCHECK" procs "$WORK/m.gguf" "$mnt/m.gguf" 4 100000 2>"$LOG/p" &
	r2=$!
	sleep 1
	kill -0 $r1 && kill -0 $r2 || fail "readers finished before the kill"
	kill -KILL "$DPID"
	# Every reader ends within 10 s, with an error.
	for r in $r1 $r2; do
		for _ in $(seq 100); do kill -0 $r 2>/dev/null || break; sleep 0.1; done
		kill -0 $r 2>/dev/null && fail "a reader hangs after the daemon was killed"
		wait $r && fail "a reader succeeded although the daemon was killed"
	done
	# ENOTCONN, or ECONNABORTED for a request the dead daemon had taken.
	grep -qE "Transport endpoint is not connected|Software caused connection abort" "$LOG/t" "$LOG/p" ||
		fail "readers did not see ENOTCONN or ECONNABORTED: $(cat "$LOG/t" "$LOG/p")"
	pass
	out=$(timeout 10 cat "$mnt/m.gguf" 2>&1 >/dev/null) && fail "read from a dead mount"
	grep -q "Transport endpoint is not connected" <<<"$out" || fail "new reader: $out"
	stat "$mnt" >/dev/null 2>&1 && fail "stat of the dead mount point succeeded"
	pass
	# Mount again over it: recovered with a message, then served. Round 2 goes
	# through mount.modelfs (what fstab and systemd use).
	DLOG=$(mktemp "$LOG/daemon.XXXXXX")
	if [ $round = 1 ]; then
		"$MODELFS" mount -f "$WORK/src" "$mnt" 2>"$DLOG" &
		DPID=$!
	else
		"$MOUNT_MODELFS" "$WORK/src" "$mnt" 2>"$DLOG" || fail "mount.modelfs: $(cat "$DLOG")"
		DPID=
	fi
	wait_mounted "$mnt"
	for _ in $(seq 50); do stat "$mnt" >/dev/null 2>&1 && break; sleep 0.1; done
	grep -q "modelfs: warning: $mnt: unmounted a dead modelfs mount" "$DLOG" ||
		fail "no message about the dead mount: $(cat "$DLOG")"
	same_file "$WORK/m.gguf" "$mnt/m.gguf"
	[ "$(grep -c " $mnt " /proc/mounts)" = 1 ] || fail "mounts stacked up: $(grep " $mnt " /proc/mounts)"
	unmount "$mnt"
done
echo "SIGKILL: readers got ENOTCONN within 10 s; mount over the dead mount point recovered it (modelfs mount and mount.modelfs)"
done_ok
