#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian package and leaves it in the current directory (or -o DIR):
#
#   tools/build-deb.sh [-o DIR]        then: sudo apt install ./modelfs_VERSION_ARCH.deb
#
# From the committed tree: `meson dist` makes the release tarball (uncommitted
# edits are not in it), dpkg-buildpackage -us -uc -b builds it with
# packaging/debian. The build dependencies (debian/control's Build-Depends,
# build-essential, debhelper, dpkg-dev, git) are installed with apt-get when
# missing (root or sudo). Prints the path of the .deb on its last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/progress.sh"
out=$PWD
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=${2:?-o needs a directory}; shift 2 ;;
	-h | --help) sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-deb.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

deps=(build-essential debhelper dpkg-dev git meson ninja-build pkg-config)
deps+=($(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$root/packaging/debian/control" |
	sed '1s/^Build-Depends://; /^[A-Z]/d' | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep .))
missing=()
for p in "${deps[@]}"; do
	[ "$p" = debhelper-compat ] && continue
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "build-deb: installing ${missing[*]}" >&2
	quietly "build-deb: apt-get update" $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
	quietly "build-deb: apt-get install" $sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/modelfs-build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Its own build directory: meson dist needs one, and a user's build/ may be
# configured otherwise (a prefix, a sanitizer).
quietly "build-deb: meson setup" meson setup "$work/build" "$root"
version=$(meson introspect --projectinfo "$work/build" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
quietly "build-deb: meson dist" meson dist -C "$work/build" --no-tests --formats xztar --allow-dirty
tarball=$work/build/meson-dist/modelfs-$version.tar.xz
tar -xf "$tarball" -C "$work"
src=$work/modelfs-$version
[ -f "$src/meson.build" ] || { echo "build-deb: the tarball has no modelfs-$version/meson.build" >&2; exit 1; }
cp -r "$src/packaging/debian" "$src/debian"
t0=$(date +%s)
(cd "$src" && quietly "build-deb: dpkg-buildpackage" dpkg-buildpackage -us -uc -b)
deb=$(ls "$work"/modelfs_"$version"_*.deb)
cp "$deb" "$out/"
deb=$out/$(basename "$deb")
echo "build-deb: built in $(($(date +%s) - t0)) s ($(du -k "$deb" | cut -f1) KiB); install it with" >&2
echo "build-deb:   sudo apt install $([ "$out" = "$PWD" ] && echo "./$(basename "$deb")" || echo "$deb")" >&2
echo "$deb"
