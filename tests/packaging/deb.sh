#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package as users do (tools/build-deb.sh: the release
# tarball from `meson dist` of the committed tree, `dpkg-buildpackage -us -uc
# -b` on it - which proves the tarball builds), installs it, runs the
# installed programs against a generated model - pack, verify, `mount -t
# modelfs` through /sbin/mount.modelfs, byte comparison, stats, man page,
# unit, the installed unit under a real systemd (service.sh --installed) -
# and purges it again. Needs root (it installs packages).
#
#   tests/packaging/deb.sh BUILD_DIR     (BUILD_DIR has modelfs-gen)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/progress.sh"
build=$(cd "${1:?usage: deb.sh BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || {
	echo "SKIP: deb.sh installs a package: run it as root"
	exit 77
}
work=$(mktemp -d /var/tmp/modelfs-deb.XXXXXX)
mnt=$work/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	dpkg -s modelfs >/dev/null 2>&1 && dpkg --purge modelfs >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The package as a user builds it (tools/build-deb.sh: meson dist, then
# dpkg-buildpackage on the tarball, which proves the tarball builds).
t0=$(date +%s)
deb=$("$root/tools/build-deb.sh" -o "$work" 2>"$work/build-deb.log" | tail -1) ||
	fail "tools/build-deb.sh: $(tail -30 "$work/build-deb.log")"
[ -f "$deb" ] || fail "tools/build-deb.sh left no .deb: $(tail -5 "$work/build-deb.log")"
echo "deb: built $(basename "$deb") in $(($(date +%s) - t0)) s ($(du -k "$deb" | cut -f1) KiB)"
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
for f in ./usr/bin/modelfs ./sbin/mount.modelfs ./lib/systemd/system/modelfs@.service \
	./lib/systemd/system/modelfs-remote@.service \
	./usr/share/man/man1/modelfs.1.gz ./usr/share/man/man8/mount.modelfs.8.gz \
	./usr/share/man/man5/modelfs-format.5.gz ./usr/share/bash-completion/completions/modelfs \
	./usr/share/doc/modelfs/examples/modelfs.conf.example; do
	grep -qx -- "$f" "$work/contents" || fail "the package lacks $f"
done

# Install it and use what it installed.
dpkg -i "$deb" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >/dev/null ||
	fail "dpkg -i"
[ "$(command -v modelfs)" = /usr/bin/modelfs ] || fail "modelfs is not /usr/bin/modelfs"
modelfs --version | grep -q 0.1.0 || fail "modelfs --version"
"$build/tests/gen/modelfs-gen" -q -p small -t q8_0 -o "$work/m.gguf"
mkdir "$work/src" "$mnt"
/usr/bin/modelfs pack -q -o "$work/src" "$work/m.gguf" || fail "installed pack"
/usr/bin/modelfs verify -q "$work/src/m.gguf.mfs" || fail "installed verify"
mount -t modelfs "$work/src" "$mnt" -o cache_size=16M || fail "mount -t modelfs (via /sbin/mount.modelfs)"
cmp "$work/m.gguf" "$mnt/m.gguf" || fail "the mounted model differs"
/usr/bin/modelfs stats --prometheus "$mnt" | grep -q '^modelfs_read_requests_total' || fail "installed stats"
umount "$mnt"
man -w modelfs >/dev/null && man -w mount.modelfs >/dev/null && man -w 5 modelfs-format >/dev/null ||
	fail "man pages not found by man"
systemd-analyze verify --man=no /lib/systemd/system/modelfs@mnt-models.service 2>&1 | grep . &&
	fail "the installed unit does not verify"
# The installed unit under a real systemd, as a device would run it.
rc=0
MODELFS=/usr/bin/modelfs MOUNT_MODELFS=/sbin/mount.modelfs MODELFS_GEN=$build/tests/gen/modelfs-gen \
	MFS_READCHECK=$build/tests/fuse/mfs-readcheck "$root/tests/packaging/service.sh" --installed \
	>"$work/service.log" 2>&1 || rc=$?
case $rc in
0) grep '^service:' "$work/service.log" | sed 's/^service:/deb: installed service:/' ;;
77) echo "deb: installed service NOT tested: $(grep SKIP "$work/service.log")" ;;
*) fail "the installed service: $(cat "$work/service.log")" ;;
esac
dpkg --purge modelfs >/dev/null
[ -e /usr/bin/modelfs ] && fail "purge left /usr/bin/modelfs"
echo "deb: installed, packed, verified, mounted with mount -t modelfs, read back identical, purged"
