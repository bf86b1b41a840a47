#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd units: `systemd-analyze verify` passes on each, the service's
# `systemd-analyze security` exposure stays at or below 4.0 (4.5 for the remote
# unit, which may open internet sockets; both printed), and the
# daemon speaks the notify protocol: READY=1 only once the mount answers,
# STOPPING=1 at unmount (notify.py, with a socket standing in for systemd).
. "$(dirname "$0")/../fuse/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../packaging/systemd
command -v systemd-analyze >/dev/null || {
	echo "SKIP: no systemd-analyze here"
	exit 77
}
mkdir -p "$WORK/units"
# The service as installed, pointing at this build's binary.
bindir=$(dirname "$MODELFS")
sh "$units/make-unit.sh" local "$bindir" "$units/modelfs@.service.in" "$WORK/units/modelfs@.service"
sh "$units/make-unit.sh" remote "$bindir" "$units/modelfs@.service.in" \
	"$WORK/units/modelfs-remote@.service"
cp "$units/mnt-models.mount" "$WORK/units/"
(cd "$WORK/units" && systemd-analyze verify --man=no ./modelfs@mnt-models.service \
	./modelfs-remote@mnt-models.service ./mnt-models.mount) || fail "systemd-analyze verify"
pass
# The remote unit may open internet sockets, which costs it 0.4 of exposure.
for u in modelfs@.service:40 modelfs-remote@.service:45; do
	out=$(cd "$WORK/units" && systemd-analyze security --offline=yes --threshold="${u#*:}" "./${u%:*}") ||
		fail "${u%:*}: security exposure above ${u#*:}/10: $(tail -1 <<<"$out")"
	u=${u%:*}
	echo "systemd-analyze security $u: $(grep -o 'Overall exposure level.*' <<<"$out")"
	pass
done
# Only the remote unit reaches the network; the local one keeps AF_UNIX only.
grep -qx 'RestrictAddressFamilies=AF_UNIX' "$WORK/units/modelfs@.service" &&
	grep -qx 'IPAddressDeny=any' "$WORK/units/modelfs@.service" || fail "the local unit reaches the network"
grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' "$WORK/units/modelfs-remote@.service" &&
	grep -qx 'After=local-fs.target network-online.target' "$WORK/units/modelfs-remote@.service" ||
	fail "the remote unit cannot reach the network"
pass

mkdir -p "$WORK/src"
"$MODELFS_GEN" -q -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$WORK/src" "$WORK/m.gguf"
mkdir "$WORK/mnt"
MOUNTS+=("$WORK/mnt")
/usr/bin/python3 "$here/notify.py" "$MODELFS" "$WORK/src" "$WORK/mnt" || fail "notify protocol"
pass
done_ok
