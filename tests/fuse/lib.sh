# SPDX-License-Identifier: MIT
# Mount helpers for the FUSE tests, on top of tests/cli/lib.sh. Every mount
# made here is unmounted on exit, whatever happened. Sourced, not run.
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

: "${MFS_READCHECK:?MFS_READCHECK must point to mfs-readcheck}"
: "${MOUNT_MODELFS:?MOUNT_MODELFS must point to mount.modelfs}"

if [ ! -e /dev/fuse ] || ! command -v mountpoint >/dev/null; then
	echo "SKIP: no /dev/fuse or no mountpoint(1) on this machine"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: these tests mount filesystems and drop caches: run them as root"
	exit 77
fi

# Job control: without it a script's background jobs start with SIGINT
# ignored, and the daemon (like libfuse) keeps inherited ignores.
set -m

MOUNTS=()
cleanup_mounts() {
	# /proc/mounts too: mountpoint(1) cannot stat a dead mount (ENOTCONN)
	# and says it is none, which left a killed daemon's mount behind.
	for m in "${MOUNTS[@]}"; do
		if mountpoint -q "$m" 2>/dev/null || grep -qF " $m " /proc/mounts; then
			umount "$m" 2>/dev/null || umount -l "$m"
		fi
	done
	return 0
}
OTHER=
trap 'cleanup_mounts; [ -z "$OTHER" ] || userdel "$OTHER"; rm -rf "$WORK" "$LOG"' EXIT

# second_user: a throwaway unprivileged user, OTHER, removed on exit; as_other
# CMD... runs CMD as it. WORK becomes reachable (not writable) by others.
second_user() {
	OTHER=mfst$$
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		"$OTHER" || fail "useradd $OTHER"
	chmod 755 "$WORK"
}
as_other() {
	setpriv --reuid="$(id -u "$OTHER")" --regid="$(id -g "$OTHER")" --clear-groups -- "$@"
}

wait_mounted() {
	for _ in $(seq 100); do
		mountpoint -q "$1" && return 0
		sleep 0.1
	done
	fail "$1 did not get mounted; daemon log: $(cat "$DLOG" 2>/dev/null)"
}

# mount_fg SRC MNT [OPTIONS...]: daemon in the foreground, in the background
# of this shell; sets DPID and DLOG (its stderr).
mount_fg() {
	local src=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	DLOG=$(mktemp "$LOG/daemon.XXXXXX")
	"$MODELFS" mount -f "$@" "$src" "$mnt" 2>"$DLOG" &
	DPID=$!
	MOUNTS+=("$mnt")
	wait_mounted "$mnt"
}

# wait_gone PID: the process exits within 10 s
wait_gone() {
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "daemon $1 still running"
}


# daemon_log_clean: the last foreground daemon reported no sanitizer error
daemon_log_clean() {
	if grep -qE "Sanitizer|runtime error:" "$DLOG" 2>/dev/null; then
		fail "the daemon reported: $(cat "$DLOG")"
	fi
	pass
}

# unmount MNT: umount, then the daemon must be gone (with a clean log) and
# the mount point empty
unmount() {
	umount "$1" || fail "umount $1 failed"
	if [ -n "${DPID:-}" ]; then
		wait_gone "$DPID"
		daemon_log_clean
	fi
	mountpoint -q "$1" && fail "$1 still mounted"
	pass
}

stat_json() { # MNT KEY: one counter from modelfs stats --json
	"$MODELFS" stats --json "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}
