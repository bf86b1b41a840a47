#!/bin/sh
# SPDX-License-Identifier: MIT
# The checks run inside the test VM (tests/vm/run.sh), as root, with
# busybox's tools and the project's binaries, on the kernel's own cgroup v2:
#  1. pack, verify, inspect (the decoders of this architecture, on its kernel);
#  2. a mount under memory.max smaller than the model: identical bytes, the
#     limit seen (stats, the log), drop-behind engaged, a hog in the same
#     cgroup makes the budgets fall, nobody is OOM-killed;
#  3. memory.high set on a parent only: seen by a daemon in a child;
#  4. a corrupted chunk: EIO for the reads that touch it, the rest served;
#  5. with run.sh --edge: tests/bench/edge.sh (memory.max, io.max, io.stat,
#     memory.peak) on a small Q8_0 model, raw file and modelfs mount.
# Prints "ok: ..." or "FAIL: ..." per check; exits non-zero if any failed.
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
CG=/sys/fs/cgroup
W=/tmp/w
mkdir -p $W/src $W/mnt
stat_of() { modelfs stats --json "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
# in_cg CGROUP CMD...: CMD inside CGROUP
in_cg() { g=$1; shift; sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/$g" "$@"; }
wait_mounted() {
	for _ in $(seq 600); do
		grep -q " $1 fuse" /proc/mounts && return 0
		sleep 0.1
	done
	return 1
}
wait_gone() {
	for _ in $(seq 300); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# A model of 68 MB under a 40 MiB limit: it does not fit.
preset=medium limit=40

# ---- 1. pack, verify ------------------------------------------------------------
t0=$(date +%s)
modelfs-gen -q -p $preset -t bf16 -o $W/orig.gguf || bad "modelfs-gen"
cp $W/orig.gguf $W/src/m.gguf
modelfs pack -q $W/src/m.gguf && rm $W/src/m.gguf || bad "pack"
modelfs verify -q $W/src/m.gguf.mfs && ok "pack and verify ($preset model, $(stat -c %s $W/orig.gguf) bytes, $(($(date +%s) - t0)) s)" ||
	bad "verify"
modelfs inspect $W/src/m.gguf.mfs | grep -q "^digests: *SHA-256" && ok "inspect" || bad "inspect"

# ---- 2. under memory.max, smaller than the model ----------------------------------
echo "+memory" >$CG/cgroup.subtree_control
mkdir $CG/t
echo $((limit << 20)) >$CG/t/memory.max
in_cg t modelfs mount -f $W/src $W/mnt 2>$W/dlog &
dpid=$!
wait_mounted $W/mnt || bad "no mount: $(cat $W/dlog)"
# The log line comes right after the mount appears: wait for it.
for _ in $(seq 50); do grep -q "mounted on" $W/dlog && break; sleep 0.1; done
grep -q "memory cgroup v2 $limit MiB" $W/dlog && ok "the daemon sees cgroup v2, $limit MiB" ||
	bad "the daemon's view: $(cat $W/dlog)"
grep -q "pressure by PSI of $CG/t/memory.pressure" $W/dlog && ok "pressure by a PSI trigger on the cgroup's memory.pressure" ||
	bad "no PSI trigger on $CG/t/memory.pressure: $(cat $W/dlog)"
[ "$(stat_of $W/mnt memory_limit)" = $((limit << 20)) ] && ok "stats: memory_limit $limit MiB" ||
	bad "stats: memory_limit $(stat_of $W/mnt memory_limit)"
in_cg t cmp $W/mnt/m.gguf $W/orig.gguf && ok "read through the mount in the cgroup: identical" ||
	bad "the mounted model differs"
in_cg t cmp $W/mnt/m.gguf $W/orig.gguf && ok "read again: identical" || bad "second read differs"
[ "$(stat_of $W/mnt dropped_bytes)" -gt 0 ] && ok "drop-behind: $(stat_of $W/mnt dropped_bytes) bytes dropped" ||
	bad "drop-behind dropped nothing (window $(stat_of $W/mnt drop_window))"
cache0=$(stat_of $W/mnt cache_budget) pin0=$(stat_of $W/mnt pin_budget)
# A hog in the same cgroup, as a program grows: 4 MiB more every 0.3 s up to
# half the limit (each dd holds its block while it copies), held a while.
in_cg t sh -c "for i in \$(seq $((limit / 8))); do
	dd if=/dev/zero of=/dev/null bs=4M count=400 2>/dev/null & sleep 0.3; done; wait" &
hog=$!
low=$((cache0 + pin0))
while kill -0 $hog 2>/dev/null; do
	c=$(stat_of $W/mnt cache_budget) p=$(stat_of $W/mnt pin_budget)
	[ -n "$c" ] && [ -n "$p" ] || { bad "the mount stopped answering under the hog"; break; }
	[ $((c + p)) -lt "$low" ] && low=$((c + p))
	sleep 0.1
done
wait $hog && ok "the hog ran to its end" || bad "the hog failed (killed?)"
[ "$low" -lt $((cache0 + pin0)) ] && ok "budgets fell under the hog: $((cache0 + pin0)) -> $low bytes" ||
	bad "the budgets never fell under the hog ($((cache0 + pin0)))"
in_cg t cmp $W/mnt/m.gguf $W/orig.gguf && ok "identical after the hog" || bad "differs after the hog"
oom=$(sed -n 's/^oom_kill //p' $CG/t/memory.events)
[ "$oom" = 0 ] && ok "no OOM kill in the cgroup" || bad "$oom OOM kills"
umount $W/mnt
wait_gone $dpid && ok "unmounted, the daemon exited" || bad "the daemon is still running"

# ---- 2b. how soon the budgets fall when a program grows at once ----------------------
# The model's pages fill the cgroup, then a program takes HOG MiB in one
# allocation (mfs-hogwatch: it reads the stats every millisecond from the
# program's first touch): with the PSI trigger (the default) and with
# polling alone (MODELFS_PSI=0), alternating, ROUNDS each.
hog=12
rounds=5
[ "$(uname -m)" = aarch64 ] && rounds=2 # slower: the measure is x86_64's
fall_after_hog() { # MODELFS_PSI value: prints hogwatch's "fell MS touched MS wakeups N"
	in_cg t env MODELFS_PSI=$1 modelfs mount -f $W/src $W/mnt 2>$W/dlogr &
	rpid=$!
	wait_mounted $W/mnt || { echo "fell - (no mount)"; return; }
	in_cg t cat $W/mnt/m.gguf >/dev/null
	sleep 1
	mfs-hogwatch $W/mnt $CG/t $hog || echo "fell - (not in 5 s)"
	umount $W/mnt
	wait_gone $rpid || bad "the daemon (MODELFS_PSI=$1) is still running"
}
psi= polled=
for mode in $(for _ in $(seq $rounds); do echo 1 0; done); do
	r=$(fall_after_hog $mode | tail -1)
	echo "guest: MODELFS_PSI=$mode: $r"
	set -- $r
	[ $mode = 1 ] && psi="$psi $2" || polled="$polled $2"
done
echo "guest: budgets fell after a sudden $hog MiB hog, ms: PSI$psi; polled$polled"
case "$psi $polled" in
*-*) bad "the budgets did not fall within 5 s of a $hog MiB hog (PSI:$psi polled:$polled)" ;;
*) ok "budgets fall after a sudden $hog MiB hog (PSI:$psi ms; polled:$polled ms)" ;;
esac
oom=$(sed -n 's/^oom_kill //p' $CG/t/memory.events)
[ "$oom" = 0 ] && ok "no OOM kill under the sudden hogs" || bad "$oom OOM kills under the sudden hogs"

# ---- 3. memory.high on a parent only ------------------------------------------------
mkdir -p $CG/p/c
echo "+memory" >$CG/p/cgroup.subtree_control
echo $(((limit + 8) << 20)) >$CG/p/memory.high
in_cg p/c modelfs mount -f $W/src $W/mnt 2>$W/dlog2 &
dpid=$!
wait_mounted $W/mnt || bad "no mount in p/c: $(cat $W/dlog2)"
[ "$(stat_of $W/mnt memory_limit)" = $(((limit + 8) << 20)) ] &&
	ok "memory.high of the parent seen from the child: $((limit + 8)) MiB" ||
	bad "memory_limit $(stat_of $W/mnt memory_limit), the parent's memory.high is $(((limit + 8) << 20))"
in_cg p/c cmp $W/mnt/m.gguf $W/orig.gguf && ok "identical under the parent's memory.high" ||
	bad "differs under memory.high"
umount $W/mnt
wait_gone $dpid || bad "the daemon in p/c is still running"

# ---- 4. a corrupted chunk --------------------------------------------------------------
cp $W/src/m.gguf.mfs $W/bad.mfs
size=$(stat -c %s $W/bad.mfs)
# A byte in the middle of the chunk data (header 64 bytes, index at the end).
printf '\377' | dd of=$W/bad.mfs bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
mkdir -p $W/badsrc
mv $W/bad.mfs $W/badsrc/m.gguf.mfs
modelfs verify -q $W/badsrc/m.gguf.mfs && bad "verify missed the corruption" || ok "verify finds the corruption"
modelfs mount -f $W/badsrc $W/mnt 2>$W/dlog3 &
dpid=$!
wait_mounted $W/mnt || bad "no mount of the damaged container"
cmp $W/mnt/m.gguf $W/orig.gguf 2>$W/cmp.err && bad "a damaged chunk was served" ||
	{ grep -qE "I/O error|Input/output" $W/cmp.err && ok "the damaged chunk: EIO" || bad "not EIO: $(cat $W/cmp.err)"; }
head -c 65536 $W/mnt/m.gguf >$W/h1 2>/dev/null
head -c 65536 $W/orig.gguf >$W/h2
cmp $W/h1 $W/h2 && ok "the chunks before it are served" || bad "the first chunk fails too"
umount $W/mnt
wait_gone $dpid || bad "the daemon of the damaged source is still running"

# ---- 5. edge.sh on cgroup v2 (run.sh --edge) ---------------------------------------------
if [ -d /edge ]; then
	for m in crc32c_generic crc16 mbcache jbd2 ext4; do insmod /edge/ko/$m.ko || bad "insmod $m"; done
	insmod /edge/ko/brd.ko rd_nr=1 rd_size=$((128 * 1024)) || bad "insmod brd"
	mkdir -p /disk
	mke2fs -q /dev/ram0 >/dev/null && mount -t ext2 /dev/ram0 /disk ||
		bad "no file system on /dev/ram0: $(dmesg | tail -3)"
	t0=$(date +%s)
	PATH=/edge/bin:$PATH MFS_BENCH_PREBUILT=1 MODELFS=/usr/bin/modelfs MODELFS_GEN=/usr/bin/modelfs-gen \
		LLAMA_TOOLS_DIR=$(cat /edge/llama_dir) bash /edge/root/tests/bench/edge.sh --preset small \
		--types q8_0 --runs "raw auto" --tokens 4 --mem 128M --bw 20000000 /disk/edge \
		>$W/edge.out 2>$W/edge.err && ok "edge.sh ran ($(($(date +%s) - t0)) s)" ||
		{ bad "edge.sh failed: $(tail -5 $W/edge.err)"; tail -n 5 /disk/edge/probe.* /disk/edge/err.* 2>/dev/null | sed 's/^/guest: /'; }
	sed 's/^/edge: /' $W/edge.out
	grep -q "cgroup v2" $W/edge.out && grep -q "on /dev/ram0 (1:0)" $W/edge.out &&
		ok "edge.sh: memory.max and io.max on /dev/ram0" || bad "edge.sh did not take the v2 path"
	# results: type run load ms runs disk_bytes peak daemon_rss same secs ...
	r=$(grep '^q8_0 raw ' /disk/edge/results) a=$(grep '^q8_0 auto ' /disk/edge/results)
	set -- $r
	[ "${6:-0}" -gt 0 ] && [ "${7:-0}" -gt 0 ] && ok "raw: $6 bytes read (io.stat), peak $7 (memory.peak)" ||
		bad "raw run's counters: $r"
	set -- $a
	[ "${9:-}" = yes ] && [ "${6:-0}" -gt 0 ] && ok "modelfs: the same tokens, $6 bytes read" ||
		bad "modelfs run: $a"
	umount /disk
fi

echo "guest: $fails checks failed"
[ $fails = 0 ]
