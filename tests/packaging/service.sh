#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The units under a real systemd, not a stand-in: boots this machine's own
# systemd as PID 1 of a systemd-nspawn container (--volatile=yes: a tmpfs root
# with the host's /usr, so there is nothing to download) with modelfs@.service
# and mnt-models.mount installed as they ship, pointing at this build's
# binaries, and runs service-inside.sh there as a unit of its own; the
# container's exit status is that script's verdict. What it checks is listed in
# service-inside.sh: readiness, the hardened daemon's privileges, journald
# priorities, restart after SIGKILL, stop, the .mount unit, and
# modelfs-remote@.service reading the model from nginx on this machine's
# loopback (the container shares the host's network).
#
#   service.sh               the units from the source tree, this build's binaries
#   service.sh --installed   the units and binaries the Debian package installed
#                            (tests/packaging/deb.sh; MODELFS=/usr/bin/modelfs)
. "$(dirname "$0")/../fuse/lib.sh"
. "$(dirname "$0")/../remote/servers.sh"
installed=false
[ "${1:-}" = --installed ] && installed=true

here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../packaging/systemd
command -v systemd-nspawn >/dev/null || {
	echo "SKIP: no systemd-nspawn (apt-get install systemd-container; tests/run.sh does)"
	exit 77
}
# systemd-nspawn needs the cgroup filesystem (a chroot often lacks it): say so
# and skip, except under CI=true, where the machine is expected to have it.
if ! grep -q ' /sys/fs/cgroup' /proc/self/mountinfo; then
	[ "${CI:-}" != true ] || fail "no cgroup filesystem at /sys/fs/cgroup (CI=true)"
	echo "SKIP: no cgroup filesystem at /sys/fs/cgroup: systemd-nspawn cannot boot a container"
	exit 77
fi
# Sanitizer runtimes want system calls the unit's filter refuses (LeakSanitizer
# stops the world with ptrace at exit): the sandbox, not modelfs, would fail.
if [ "${MFS_SANITIZE:-none}" != none ]; then
	echo "SKIP: built with -fsanitize=$MFS_SANITIZE; the unit's system call filter refuses its runtime"
	exit 77
fi

mkdir -p "$WORK/out/src" "$WORK/units" "$WORK/conf"
"$MODELFS_GEN" -q -p small -t q8_0 -o "$WORK/out/m.gguf"
"$MODELFS" pack -q -o "$WORK/out/src" "$WORK/out/m.gguf"
binds=()
if $installed; then
	# The container's /usr is the host's: the packaged unit, /usr/bin/modelfs
	# and /sbin/mount.modelfs are there already; the .mount unit ships as an example.
	[ -f /lib/systemd/system/modelfs@.service ] || fail "modelfs@.service is not installed"
	[ -f /lib/systemd/system/modelfs-remote@.service ] ||
		fail "modelfs-remote@.service is not installed"
	cp /usr/share/doc/modelfs/examples/mnt-models.mount "$WORK/units/" ||
		fail "the package has no mnt-models.mount example"
else
	bin=$(dirname "$MODELFS")
	binds=(--bind-ro="$bin")
	cp "$MOUNT_MODELFS" "$WORK/out/"
	sh "$units/make-unit.sh" local "$bin" "$units/modelfs@.service.in" "$WORK/units/modelfs@.service"
	sh "$units/make-unit.sh" remote "$bin" "$units/modelfs@.service.in" \
		"$WORK/units/modelfs-remote@.service"
	cp "$units/mnt-models.mount" "$WORK/units/"
fi
printf 'SRC=/out/src\nOPTIONS=cache_size=16M\n' >"$WORK/conf/mnt-models.conf"
# The remote instance's source: the same container and its list, from nginx.
mkdir -p "$WORK/www"
cp "$WORK/out/src/m.gguf.mfs" "$WORK/www/"
"$MODELFS" publish -q "$WORK/www"
start_nginx "$WORK/www"
printf 'SRC=http://127.0.0.1:%s/\nOPTIONS=cache_size=16M\n' "$NGINX_PORT" >"$WORK/conf/mnt-remote.conf"
cat >"$WORK/units/modelfs-test.service" <<EOF
[Unit]
Description=modelfs service test
[Service]
Type=oneshot
StandardOutput=file:/out/log
StandardError=file:/out/log
ExecStart=/tests/service-inside.sh
EOF

t0=$(date +%s)
rc=0
# --keep-unit and --register=no: nspawn needs no systemd on the host.
timeout 300 systemd-nspawn --quiet --register=no --keep-unit --directory=/ --volatile=yes \
	--machine=modelfs-test --bind=/dev/fuse --bind="$WORK/out:/out" \
	--bind-ro="$here:/tests" "${binds[@]}" \
	--bind-ro="$WORK/units:/etc/systemd/system" --bind-ro="$WORK/conf:/etc/modelfs" \
	-b systemd.firstboot=off systemd.unit=modelfs-test.service >"$LOG/boot" 2>&1 || rc=$?
# The log may be missing (nspawn failed before the container ran): say why, not just exit.
if [ -f "$WORK/out/log" ]; then sed 's/^/  /' "$WORK/out/log"; fi
[ $rc = 0 ] || fail "the test inside the container exited $rc; boot log: $(sed 's/\x1b\[[0-9;]*m//g' "$LOG/boot" | tail -30)"
grep -qs '^PASS' "$WORK/out/log" || fail "the test inside the container did not finish"
echo "service: systemd booted, tested and shut down in $(($(date +%s) - t0)) s"
pass
done_ok
