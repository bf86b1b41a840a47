#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Remote sources against a server that misbehaves (faultserve.py): a server
# that ignores Range, 5xx, 404, bodies cut short or too long, wrong bytes, a
# server that stops answering, a network that drops mid-read and comes back,
# and the daemon killed in the middle of fetches. Every read returns the
# original bytes or fails with EIO within the timeout; the mount recovers on
# its own once the server does; nothing wrong is ever served or stored.
. "$(dirname "$0")/lib.sh"

www=$WORK/www
mkdir -p "$www"
orig=$WORK/base.gguf
"$MODELFS_GEN" -q -p small -o "$orig"
"$MODELFS" pack -q -o "$www" "$orig"
"$MODELFS" publish -q "$www"
start_faultserve "$www"
url=http://127.0.0.1:$FAULT_PORT/
mnt=$WORK/mnt
timeout=3
n=0

# fresh [TIMEOUT [OPTS]]: a new mount with an empty store (the mount's own requests
# answered well); reads time out after TIMEOUT s (default $timeout; faults
# that must end in right bytes get longer, so a loaded machine cannot fail them)
fresh() {
	mountpoint -q "$mnt" && unmount "$mnt"
	n=$((n + 1))
	fault ok
	mount_fg "$url" "$mnt" -o store="$WORK/store$n",timeout=${1:-$timeout}${2:+,$2}
}

# prefix_right WHAT: a sequential read stops at the first EIO, and what it
# returned before is the original's (one failing read: cheap where every
# failure waits for the timeout)
prefix_right() {
	local got
	dd if="$mnt/base.gguf" of="$LOG/part" bs=64K 2>/dev/null || true
	got=$(stat -c %s "$LOG/part")
	cmp -s -n "$got" "$LOG/part" "$orig" || fail "$1: the $got bytes read before the error are wrong"
	pass
}

# never_wrong: every byte read is the original's or the read failed with EIO
# (a sequential pass and random reads: for failures that come fast)
never_wrong() {
	"$MFS_READCHECK" tolerant "$orig" 20 "$mnt/base.gguf" >"$LOG/rc" 2>&1 ||
		fail "$1: a wrong byte or another error: $(cat "$LOG/rc")"
	pass
}

# fails_within SECONDS WHAT: reading the whole file fails with EIO, in time
fails_within() {
	local t0 t1
	t0=$(date +%s.%N)
	if dd if="$mnt/base.gguf" of=/dev/null bs=1M 2>"$LOG/dd"; then
		fail "$2: the read succeeded"
	fi
	grep -q "Input/output error" "$LOG/dd" || fail "$2: not EIO: $(cat "$LOG/dd")"
	t1=$(date +%s.%N)
	echo "$2: EIO after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (at most $1)"
	awk -v a="$t0" -v b="$t1" -v m="$1" 'BEGIN { exit !(b - a <= m) }' ||
		fail "$2: the read took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s, more than $1"
	pass
}

# recovers: the server is well again, the same mount serves the whole file
recovers() {
	fault ok
	# Fetches ahead that began while the server failed end by their
	# deadline (timeout=) and may fail then; reads within a second of a
	# failure fail at once (the kernel retries what it lost). After both:
	sleep "$timeout"
	sleep 1.2
	# A fetch that had begun a retry's backoff before may still run out
	# its deadline on a loaded machine: one more round of it, said.
	if ! cmp -s "$mnt/base.gguf" "$orig"; then
		echo "$1: not served whole $((timeout + 1)) s after the server recovered; again after $timeout s more"
		sleep "$timeout"
		sleep 1.2
	fi
	same_file "$mnt/base.gguf" "$orig"
	grep -q "Sanitizer" "$DLOG" && fail "$1: $(cat "$DLOG")"
	pass
}

# ---- answers that are wrong but usable ----------------------------------------
fresh 60
fault norange # 200 with the whole file to every range request
same_file "$mnt/base.gguf" "$orig"
fresh 60
fault flaky:3 # two 503s for every request before a good answer: retried
same_file "$mnt/base.gguf" "$orig"

# ---- answers that are errors: EIO in bounded time, then recovery -----------------
fresh
fault status:503
fails_within $((timeout * 3 + 5)) "503"
recovers 503
fresh
fault status:404
fails_within 5 "404" # not retried
recovers 404
fresh
fault stall # one timeout, not two: the kernel's retry of what its readahead lost fails at once
fails_within $((timeout + 2)) "a server that never answers"
recovers stall

# ---- wrong bytes: never served, never stored ---------------------------------------
for m in flip extra; do
	fresh
	fault $m
	never_wrong $m
	fails_within $((timeout * 3 + 5)) $m
	recovers $m
done
fresh
fault truncate # retried as a network failure would be, to the timeout
prefix_right truncate
fails_within $((timeout * 3 + 5)) truncate
recovers truncate
# A half-fetched file, then wrong bytes for the rest: the store keeps only
# the good half, and serves exactly that with the server gone. (No prefetch:
# it would fetch the second half ahead while the first is read.)
fresh "$timeout" prefetch=off
half=$(($(stat -c %s "$orig") / 2))
head -c "$half" "$mnt/base.gguf" | cmp -s - <(head -c "$half" "$orig") || fail "first half"
pass
fault flip
never_wrong flip
[ "$(stat_json "$mnt" remote_bad_fetches)" -ge 1 ] || fail "no bad fetch counted"
pass
unmount "$mnt"
fault status:503
mount_fg "$url" "$mnt" -o store="$WORK/store$n",timeout=$timeout
prefix_right "the store after wrong bytes"
[ "$(stat -c %s "$LOG/part")" -ge "$half" ] ||
	fail "the store served $(stat -c %s "$LOG/part") bytes, less than the $half fetched before"
pass

# ---- the network drops mid-read and comes back ---------------------------------------
fresh 60
fault status:503
(sleep 1; fault ok) &
healer=$!
same_file "$mnt/base.gguf" "$orig"
wait "$healer"

# ---- token auth as registries do it (a Bearer challenge, a token server) ---------
mountpoint -q "$mnt" && unmount "$mnt"
fault bearer # anonymous tokens, from the first request on
n=$((n + 1))
mount_fg "$url" "$mnt" -o store="$WORK/store$n",timeout=60
fault rotate # tokens that expire: fetched again by the daemon's workers
same_file "$mnt/base.gguf" "$orig"
unmount "$mnt"
fault bearer:puller:pw # the token server wants the registry host's password
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/tok",timeout=$timeout "$url" "$mnt"
expect_msg "a token from the registry's token server (anonymous: no credentials for the token server's host)"
printf '127.0.0.1 basic puller:pw\n' >"$WORK/creds"
chmod 600 "$WORK/creds"
mount_fg "$url" "$mnt" -o store="$WORK/tok",timeout=60,credentials="$WORK/creds"
same_file "$mnt/base.gguf" "$orig"
unmount "$mnt"
# A host with a password redirects to another host, which challenges with a
# realm of its own: the token request there carries no password (nor does
# anything else that goes to the second host).
fault redirect-realm
: >"$FAULT_LOG"
mount_fg "$url" "$mnt" -o store="$WORK/tok2",timeout=60,credentials="$WORK/creds"
same_file "$mnt/base.gguf" "$orig"
unmount "$mnt"
grep -q "^GET /token?.* 200 [0-9]* localhost:$FAULT_PORT -$" "$FAULT_LOG" ||
	fail "no anonymous token request to the redirect target: $(grep token "$FAULT_LOG" | head -3)"
! grep -q " localhost:$FAULT_PORT Basic$" "$FAULT_LOG" ||
	fail "the first host's password went to the second: $(grep " Basic$" "$FAULT_LOG" | head -3)"
grep -q " 127.0.0.1:$FAULT_PORT Basic$" "$FAULT_LOG" ||
	fail "the first host was never sent its own password: $(head -3 "$FAULT_LOG")"
pass

# ---- shutdown with a stalled server: SIGTERM ends the daemon within 2 s ----------
# Three readers wait for a server that accepted their requests and never
# answers, with the default-sized timeout (30 s) far away: the transfers are
# cancelled, the readers get an error, the daemon exits. Several times: the
# teardown once deadlocked with requests in flight. (Sanitizer builds get 4 s.)
bound=2
ldd "$MODELFS" | grep -q -e libasan -e libtsan && bound=4
for round in 1 2 3; do
	fresh 30
	fault stall
	readers=()
	for k in 1 2 3; do
		dd if="$mnt/base.gguf" of=/dev/null bs=256K skip=$((k * 4)) 2>/dev/null &
		readers+=($!)
	done
	sleep 1
	t0=$(date +%s%N)
	kill -TERM "$DPID"
	for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
	ms=$((($(date +%s%N) - t0) / 1000000))
	kill -0 "$DPID" 2>/dev/null && fail "round $round: the daemon still runs $ms ms after SIGTERM"
	echo "round $round: the daemon exited $ms ms after SIGTERM"
	[ "$ms" -le $((bound * 1000)) ] || fail "round $round: $ms ms to exit, more than $bound s"
	for p in "${readers[@]}"; do
		for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$p" 2>/dev/null && fail "round $round: a reader still hangs"
		wait "$p" && fail "round $round: a read of a stalled server succeeded"
	done
	daemon_log_clean
	pass
done

# ---- the daemon killed during fetches ---------------------------------------------------
fresh
fault slow:400000
dd if="$mnt/base.gguf" of=/dev/null bs=1M 2>/dev/null &
reader=$!
sleep 2
kill -9 "$DPID"
wait "$reader" 2>/dev/null || true
umount -l "$mnt" 2>/dev/null || true
fault ok
mount_fg "$url" "$mnt" -o store="$WORK/store$n",timeout=$timeout
same_file "$mnt/base.gguf" "$orig"
[ -z "$(ls -A "$WORK/store$n/tmp")" ] || fail "files left in the store's tmp/: $(ls "$WORK/store$n/tmp")"
pass
unmount "$mnt"
done_ok
