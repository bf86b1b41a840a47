#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the release tarball with `meson dist` (the committed tree), builds the
# Debian package from it (packaging/debian) with `dpkg-buildpackage -us -uc
# -b` - which proves the tarball builds - installs it into the machine, runs the
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

# Build dependencies, from debian/control; git for meson dist (a tree
# copied without git has none).
deps=(build-essential debhelper dpkg-dev git)
deps+=($(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$root/packaging/debian/control" |
	sed '1s/^Build-Depends://; /^[A-Z]/d' | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep .))
missing=()
for p in "${deps[@]}"; do
	[ "$p" = debhelper-compat ] && continue
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deb: installing ${missing[*]}" >&2
	quietly "deb: apt-get update" env DEBIAN_FRONTEND=noninteractive apt-get update
	quietly "deb: apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${missing[@]}"
fi

# The release tarball (HEAD: uncommitted edits are not in it), debian/ at its root.
meson dist -C "$build" --no-tests --formats xztar --allow-dirty >"$work/dist.log" 2>&1 ||
	fail "meson dist: $(tail -5 "$work/dist.log")"
tarball=$build/meson-dist/modelfs-0.1.0.tar.xz
echo "deb: meson dist made $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
tar -xf "$tarball" -C "$work"
src=$work/modelfs-0.1.0
[ -f "$src/meson.build" ] || fail "the tarball has no modelfs-0.1.0/meson.build"
cp -r "$src/packaging/debian" "$src/debian"
t0=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	fail "dpkg-buildpackage: $(tail -30 "$work/build.log")"
deb=$(ls "$work"/modelfs_*.deb)
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
