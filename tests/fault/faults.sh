#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults under a live mount, with modelfs-fault (modelfs behind shim.c):
# truncated containers; a container that shrinks, is replaced by rename, or is
# overwritten in place while a reader holds it open; the Nth pread of one
# container failing once (the read fails, the next one heals) and for good
# (that file fails, the others keep serving); and the Nth allocation failing,
# swept over the daemon's whole life from startup to unmount. Always: no
# crash, no sanitizer report (leaks included, in the ASan build), every byte
# served is the original's, and the daemon exits cleanly at unmount.
. "$(dirname "$0")/../fuse/lib.sh"

: "${MODELFS_FAULT:?MODELFS_FAULT must point to modelfs-fault}"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
here=$(cd "$(dirname "$0")" && pwd)
sweep=${MFS_ALLOC_SWEEP:-60} # allocation fault runs

mkdir -p "$WORK/orig" "$WORK/src"
"$MODELFS_GEN" -q -p small -t q8_0 -o "$WORK/orig/a.gguf"
"$MODELFS_GEN" -q -p small -t bf16 --seed 2 -o "$WORK/orig/b.gguf"
"$MODELFS_GEN" -q --layers 3 -t f16 -f safetensors -o "$WORK/orig/c.safetensors"
"$MODELFS" pack -q --chunk-size 64K -o "$WORK/src" "$WORK"/orig/*
A=$WORK/orig/a.gguf B=$WORK/orig/b.gguf C=$WORK/orig/c.safetensors

# fault_mount MNT [OPTIONS...]: modelfs-fault in the foreground (MFS_FAULT from
# the environment); returns 1 when the daemon exits before mounting.
fault_mount() {
	local mnt=$1
	shift
	mkdir -p "$mnt"
	DLOG=$(mktemp "$LOG/daemon.XXXXXX")
	"$MODELFS_FAULT" mount -f "$@" "$WORK/src" "$mnt" 2>"$DLOG" &
	DPID=$!
	MOUNTS+=("$mnt")
	for _ in $(seq 200); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.05
	done
	fail "$mnt did not get mounted: $(cat "$DLOG")"
}

# unmount_clean MNT: unmount; the daemon must exit 0 with a clean log
unmount_clean() {
	local rc=0
	umount "$1" || fail "umount $1: $(cat "$DLOG")"
	wait "$DPID" || rc=$?
	[ $rc = 0 ] || fail "daemon exited $rc after unmount: $(cat "$DLOG")"
	daemon_log_clean
}

# tolerant ORIG FILE...: every read of FILE gives ORIG's bytes or EIO (or ENOMEM
# once TOLERANT=tolerant-nomem, for failing allocations)
TOLERANT=tolerant
tolerant() {
	local orig=$1
	shift
	"$MFS_READCHECK" "$TOLERANT" "$orig" 20 "$@" >"$LOG/tol" || fail "wrong bytes: $(cat "$LOG/tol")"
	pass
}

mnt=$WORK/mnt

# ---- truncated containers --------------------------------------------------------
size=$(stat -c %s "$WORK/src/a.gguf.mfs")
for n in 0 1 64 100 $((size / 2)) $((size - 208)) $((size - 1)); do
	head -c "$n" "$WORK/src/a.gguf.mfs" >"$WORK/src/t$n.gguf.mfs"
done
fault_mount "$mnt" || fail "mount: $(cat "$DLOG")"
for n in 0 1 64 100 $((size / 2)) $((size - 208)) $((size - 1)); do
	f=$mnt/t$n.gguf
	[ -e "$f" ] || continue # too short to show as a container at all
	cat "$f" >/dev/null 2>"$LOG/err" && fail "read a container truncated to $n bytes"
	grep -q "Input/output error" "$LOG/err" || fail "truncated to $n: $(cat "$LOG/err")"
	pass
done
same_file "$A" "$mnt/a.gguf"
unmount_clean "$mnt"
rm -f "$WORK"/src/t*.gguf.mfs
echo "truncated containers: refused with EIO, the others served"

# ---- containers changing under a held descriptor ---------------------------------
cp "$WORK/src/a.gguf.mfs" "$WORK/a.keep"
for mode in shrink overwrite replace; do
	fault_mount "$mnt" || fail "mount: $(cat "$DLOG")"
	out=$("$py" "$here/heldfd.py" "$mode" "$mnt/a.gguf" "$WORK/src/a.gguf.mfs" "$A" \
		"$WORK/src/c.safetensors.mfs" "$C") || fail "$mode: $out"
	echo "$out"
	same_file "$B" "$mnt/b.gguf"
	kill -0 "$DPID" || fail "the daemon died"
	unmount_clean "$mnt"
	cp "$WORK/a.keep" "$WORK/src/a.gguf.mfs"
done

# ---- failing reads ---------------------------------------------------------------
for n in 1 2 3 5 8; do
	MFS_FAULT=pread:$n:once:/a.gguf.mfs fault_mount "$mnt" -o cache_size=8M || {
		# a failed metadata read at open is fine; the daemon must then still serve
		fail "pread #$n of a.gguf.mfs once: mount failed: $(cat "$DLOG")"
	}
	tolerant "$A" "$mnt/a.gguf"
	same_file "$A" "$mnt/a.gguf" # transient: the next attempt heals
	same_file "$B" "$mnt/b.gguf"
	grep -q "mfs-fault: failing pread #$n" "$DLOG" || fail "pread fault #$n never fired"
	unmount_clean "$mnt"
done
for n in 1 4; do
	MFS_FAULT=pread:$n:always:/a.gguf.mfs fault_mount "$mnt" -o cache_size=8M ||
		fail "pread #$n+ of a.gguf.mfs: mount failed: $(cat "$DLOG")"
	tolerant "$A" "$mnt/a.gguf"
	cat "$mnt/a.gguf" >/dev/null 2>&1 && fail "a.gguf read whole while its reads fail"
	same_file "$B" "$mnt/b.gguf"
	same_file "$C" "$mnt/c.safetensors"
	unmount_clean "$mnt"
done
echo "failing reads: transient faults heal, persistent ones fail only their file"

# ---- failing allocations ---------------------------------------------------------
TOLERANT=tolerant-nomem
# How many allocations a mount, a read of every file and an unmount make.
MFS_FAULT=alloc:999999999 MFS_FAULT_REPORT=1 fault_mount "$mnt" || fail "mount: $(cat "$DLOG")"
tolerant "$A" "$mnt/a.gguf"
tolerant "$B" "$mnt/b.gguf"
tolerant "$C" "$mnt/c.safetensors"
unmount_clean "$mnt"
total=$(grep -o 'mfs-fault: [0-9]* alloc calls' "$DLOG" | grep -o '[0-9]*')
[ "${total:-0}" -gt 0 ] || fail "no allocation count: $(cat "$DLOG")"
step=$(((total + sweep - 1) / sweep))
startfail=0 served=0 fired=0
for ((n = 1; n <= total; n += step)); do
	for mode in once always; do
		if MFS_FAULT=alloc:$n:$mode fault_mount "$mnt"; then
			tolerant "$A" "$mnt/a.gguf"
			tolerant "$B" "$mnt/b.gguf"
			tolerant "$C" "$mnt/c.safetensors"
			unmount_clean "$mnt"
			served=$((served + 1))
		else
			# Startup failed: one clear line and exit 1, not a crash.
			rc=0
			wait "$DPID" || rc=$?
			[ $rc = 1 ] || fail "alloc #$n $mode: the daemon exited $rc: $(cat "$DLOG")"
			grep -v '^mfs-fault' "$DLOG" | grep -q '^modelfs: ' ||
				fail "alloc #$n $mode: no error message: $(cat "$DLOG")"
			daemon_log_clean
			startfail=$((startfail + 1))
		fi
		grep -q 'mfs-fault: failing' "$DLOG" && fired=$((fired + 1))
		mountpoint -q "$mnt" && fail "still mounted after alloc #$n $mode"
	done
done
[ $fired -gt 0 ] || fail "no allocation fault ever fired"
echo "failing allocations: $((startfail + served)) runs over $total allocations (every ${step}th, once and from then on): $fired faults fired, $startfail clean startup failures, $served mounts that served only correct bytes or errors and unmounted cleanly"
done_ok
