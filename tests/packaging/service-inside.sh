#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs as a unit inside the container that service.sh boots, with systemd as
# PID 1, modelfs@.service and mnt-models.mount installed, the model in /out
# and /etc/modelfs/mnt-models.conf pointing at /out/src. Requires:
# - `systemctl start modelfs@mnt-models` returns only once the mount answers
#   (Type=notify), and the mount is visible outside the service;
# - the daemon runs hardened: only CAP_SYS_ADMIN, no_new_privs, seccomp;
# - its log lines reach the journal as single entries with their priority;
# - SIGKILL: systemd restarts it (Restart=on-failure), the new daemon detaches
#   the dead mount, says so at warning priority, and serves again;
# - `systemctl stop` unmounts and leaves the unit inactive, not failed;
# - mnt-models.mount mounts through /sbin/mount.modelfs and unmounts;
# - modelfs-remote@mnt-remote (/etc/modelfs/mnt-remote.conf: nginx on the
#   host's loopback) starts, serves the model, runs as hardened, stops.
# Ends the container with `systemctl exit`: 0 when all passed.
set -u
unit=modelfs@mnt-models.service
mnt=/mnt/models
checks=0

finish() {
	systemctl --no-block exit "$1"
	exit "$1"
}
fail() {
	echo "FAIL: $*"
	systemctl status --no-pager -l "$unit" 2>&1 | tail -15
	finish 1
}
ok() {
	checks=$((checks + 1))
	echo "ok: $*"
}
# wait_for SECONDS CMD...: CMD succeeds within SECONDS
wait_for() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
main_pid() { systemctl show -p MainPID --value "$unit"; }
# restarted: a new main process (not $pid) is running and the unit is active
restarted() {
	local p
	p=$(main_pid)
	[ "$p" != "$pid" ] && [ "$p" != 0 ] && systemctl is-active -q "$unit"
}

# Readiness: start returns after READY=1, which the daemon sends only once the
# mount answers. This script is another unit: it sees the mount only if it
# left the service's processes.
systemctl start "$unit" || fail "systemctl start $unit"
mountpoint -q "$mnt" || fail "$unit is started but $mnt is not a mount point"
cmp /out/m.gguf "$mnt/m.gguf" || fail "the model read through the service differs"
ok "start returned once the mount answered; the model reads back identical"

pid=$(main_pid)
status=/proc/$pid/status
grep -q '^CapEff:[[:space:]]*0000000000200000$' "$status" ||
	fail "the daemon's capabilities are not CAP_SYS_ADMIN alone: $(grep ^Cap "$status")"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$status" || fail "no_new_privs is not set"
grep -q '^Seccomp:[[:space:]]*2$' "$status" || fail "no seccomp filter on the daemon"
ok "daemon $pid: CAP_SYS_ADMIN only, no_new_privs, seccomp filter"

# journald: the mount line is one entry at priority info, without a prefix.
journalctl -q -u "$unit" -p info..info -o cat | grep -q "mounted on $mnt" ||
	fail "no info-priority 'mounted on' entry: $(journalctl -q -u "$unit" -o cat)"
journalctl -q -u "$unit" -o cat | grep -E '^<[0-9]>|^modelfs: ' &&
	fail "journal entries carry a raw priority or program prefix"
ok "the daemon's lines reach the journal with their priority"

# SIGKILL: Restart=on-failure brings it back, over the dead mount.
kill -KILL "$pid"
wait_for 30 restarted || fail "not restarted within 30 s of SIGKILL"
[ "$(systemctl show -p NRestarts --value "$unit")" = 1 ] || fail "NRestarts is not 1"
cmp /out/m.gguf "$mnt/m.gguf" || fail "the restarted service serves different bytes"
journalctl -q -u "$unit" -p warning..warning -o cat | grep -q 'unmounted a dead modelfs mount' ||
	fail "no warning-priority entry about the dead mount: $(journalctl -q -u "$unit" -o cat)"
[ "$(grep -c " $mnt fuse.modelfs " /proc/self/mounts)" = 1 ] ||
	fail "not exactly one modelfs mount on $mnt: $(grep " $mnt " /proc/self/mounts)"
ok "SIGKILL: restarted, the dead mount detached with a warning, serving again"

# Stop unmounts, cleanly: inactive, not failed.
systemctl stop "$unit" || fail "systemctl stop"
mountpoint -q "$mnt" && fail "$mnt is still mounted after stop"
[ "$(systemctl show -p ActiveState --value "$unit")" = inactive ] ||
	fail "after stop the unit is $(systemctl show -p ActiveState --value "$unit"), not inactive"
journalctl -q -u "$unit" -o cat | grep -q "$mnt unmounted" || fail "no 'unmounted' entry"
ok "stop unmounted; the unit is inactive"

# The .mount unit: systemd runs mount(8), which runs /sbin/mount.modelfs. When
# no package installed it, put this build's into /usr/sbin (the host's,
# read-only) with an overlay.
if [ -e /out/mount.modelfs ]; then
	mkdir -p /run/sbin-extra
	cp /out/mount.modelfs /run/sbin-extra/
	mount -t overlay overlay -o lowerdir=/run/sbin-extra:/usr/sbin /usr/sbin ||
		fail "cannot put mount.modelfs into /usr/sbin"
fi
[ -x /sbin/mount.modelfs ] || fail "no /sbin/mount.modelfs"
mkdir -p /srv/models
mount --bind /out/src /srv/models
systemctl start mnt-models.mount || fail "systemctl start mnt-models.mount: $(journalctl -q -u mnt-models.mount -o cat)"
grep -q " $mnt fuse.modelfs .*allow_other" /proc/self/mounts ||
	fail "mnt-models.mount did not mount modelfs with its options: $(grep " $mnt " /proc/self/mounts)"
cmp /out/m.gguf "$mnt/m.gguf" || fail "the model read through mnt-models.mount differs"
systemctl stop mnt-models.mount || fail "systemctl stop mnt-models.mount"
mountpoint -q "$mnt" && fail "$mnt still mounted after stopping mnt-models.mount"
ok "mnt-models.mount mounted through mount.modelfs, read back, unmounted"

# The remote unit: internet sockets allowed, the rest of the hardening kept.
runit=modelfs-remote@mnt-remote.service
systemctl start "$runit" || fail "systemctl start $runit: $(journalctl -q -u "$runit" -o cat | tail -5)"
mountpoint -q /mnt/remote || fail "$runit is started but /mnt/remote is not a mount point"
grep -q "^modelfs:http://127.0.0.1:[0-9]*/ /mnt/remote fuse.modelfs" /proc/self/mounts ||
	fail "the remote mount's source is not its URL: $(grep " /mnt/remote " /proc/self/mounts)"
cmp /out/m.gguf /mnt/remote/m.gguf || fail "the model read through $runit differs"
rpid=$(systemctl show -p MainPID --value "$runit")
grep -q '^CapEff:[[:space:]]*0000000000200000$' "/proc/$rpid/status" ||
	fail "the remote daemon's capabilities are not CAP_SYS_ADMIN alone"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$rpid/status" || fail "no seccomp filter on the remote daemon"
systemctl stop "$runit" || fail "systemctl stop $runit"
mountpoint -q /mnt/remote && fail "/mnt/remote is still mounted after stop"
ok "$runit: mounted http://127.0.0.1/ after the network, read back, hardened, stopped"

echo "PASS: $checks checks"
finish 0
