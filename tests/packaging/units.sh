#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd units: `systemd-analyze verify` passes on each, the service's
# `systemd-analyze security` exposure stays at or below 4.0 (printed), and the
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
sed "s|@bindir@/modelfs|$MODELFS|" "$units/modelfs@.service.in" >"$WORK/units/modelfs@.service"
cp "$units/mnt-models.mount" "$WORK/units/"
(cd "$WORK/units" && systemd-analyze verify --man=no ./modelfs@mnt-models.service ./mnt-models.mount) ||
	fail "systemd-analyze verify"
pass
out=$(cd "$WORK/units" && systemd-analyze security --offline=yes --threshold=40 ./modelfs@.service) ||
	fail "security exposure above 4.0: $(tail -1 <<<"$out")"
echo "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out")"
pass

mkdir -p "$WORK/src"
"$MODELFS_GEN" -q -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$WORK/src" "$WORK/m.gguf"
mkdir "$WORK/mnt"
MOUNTS+=("$WORK/mnt")
/usr/bin/python3 "$here/notify.py" "$MODELFS" "$WORK/src" "$WORK/mnt" || fail "notify protocol"
pass
done_ok
