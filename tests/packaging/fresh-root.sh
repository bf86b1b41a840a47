#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A new user's first hour, on a fresh Debian 12: debootstrap a minimal root
# (minbase), clone this repository into it, and run there what README.md
# says, in its order: tools/demo.sh (the quick start), tools/build-deb.sh and
# `apt install ./modelfs_*.deb` (Installing), a line in /etc/fstab, `mount
# /mnt/models`, a byte comparison through the mount, `umount`. Prints the
# time each step took and the number of packages installed after it. Not
# part of tests/run.sh (it downloads a Debian root: about 15 minutes); run by
# hand before a release. Needs root, debootstrap (installed if missing) and
# the Debian archive the host's apt uses.
#
#   tests/packaging/fresh-root.sh [--host-ca] [ROOTDIR]
#
# --host-ca copies this machine's extra CA certificates into the root (a
# network that intercepts TLS needs them for npm; not something the project
# installs).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
host_ca=false
[ "${1:-}" = --host-ca ] && { host_ca=true; shift; }
root=${1:-/var/tmp/modelfs-fresh-root}
[ "$(id -u)" = 0 ] || { echo "fresh-root: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
# The mirror the host's apt uses (one822-style or one-line sources).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
[ -n "$mirror" ] || { echo "fresh-root: no Debian mirror in the host's apt sources" >&2; exit 1; }

mounts=()
cleanup() {
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
step() { printf '\n== %s ==\n' "$*"; }
t_all=$(date +%s)
pkgs() { chroot "$root" dpkg-query -W -f='${Status}\n' | grep -c '^install ok installed'; }

step "debootstrap --variant=minbase bookworm $root"
t0=$(date +%s)
rm -rf "$root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/var/tmp/modelfs-fresh-root.log 2>&1 ||
	{ tail -20 /var/tmp/modelfs-fresh-root.log; exit 1; }
echo "fresh root: $(pkgs) packages, $(($(date +%s) - t0)) s"
mount --bind "$root" "$root" && mounts+=("$root")
for d in proc sys dev dev/pts; do mount --bind "/$d" "$root/$d" && mounts+=("$root/$d"); done
cp /etc/resolv.conf "$root/etc/" 2>/dev/null || true
env_extra=()
if $host_ca; then
	cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
	env_extra=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi
git clone -q "$repo" "$root/root/modelfs"
in_root() { chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
	"${env_extra[@]}" bash -c "cd /root/modelfs && $*"; }
if $host_ca; then
	in_root "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends ca-certificates >/dev/null && update-ca-certificates >/dev/null"
fi

step "quick start: tools/demo.sh"
t0=$(date +%s)
in_root "apt-get update -q >/dev/null; tools/demo.sh" >/var/tmp/modelfs-fresh-demo.log 2>&1 ||
	{ tail -30 /var/tmp/modelfs-fresh-demo.log; exit 1; }
echo "demo: $(($(date +%s) - t0)) s, $(pkgs) packages"
grep -q "tools/build-deb.sh" /var/tmp/modelfs-fresh-demo.log || { echo "the demo does not say how to install" >&2; exit 1; }

step "Installing: tools/build-deb.sh, apt install ./modelfs_*.deb"
t0=$(date +%s)
in_root "tools/build-deb.sh && apt-get install -y -q ./modelfs_*.deb" >/var/tmp/modelfs-fresh-deb.log 2>&1 ||
	{ tail -30 /var/tmp/modelfs-fresh-deb.log; exit 1; }
echo "build-deb and install: $(($(date +%s) - t0)) s, $(pkgs) packages"

step "/etc/fstab, mount, read, umount"
in_root "set -e
	mkdir -p /root/models /mnt/models
	build/tests/gen/modelfs-gen -q -p small -o /root/models/m.gguf
	cp /root/models/m.gguf /root/orig.gguf
	modelfs pack -q /root/models && rm /root/models/m.gguf
	echo '/root/models /mnt/models modelfs defaults,nofail 0 0' >>/etc/fstab
	mount /mnt/models
	cmp /mnt/models/m.gguf /root/orig.gguf
	man -w modelfs >/dev/null
	umount /mnt/models
	echo 'fstab mount: identical bytes; man modelfs found; unmounted'"
echo
echo "fresh-root: the README's path works on a fresh Debian 12 root: $(($(date +%s) - t_all)) s in all, $(pkgs) packages"
