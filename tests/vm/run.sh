#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots Debian's own kernel for ARCH under qemu-system (KVM where /dev/kvm is
# there, TCG otherwise) from an initramfs made here: busybox (Debian's static
# build for ARCH), the fuse module of the same kernel package, the project's
# modelfs, modelfs-gen and mfs-hogwatch for ARCH with the libraries they link, and
# tests/vm/{init,guest}.sh. No disk, no network. The guest prints `uname -m`
# and the type of /sys/fs/cgroup first, then runs guest.sh's checks on cgroup
# v2 and powers off; this script fails if any check fails or if the guest does
# not finish within its time limit. Everything it downloads comes from
# Debian's archive through apt (the kernel and busybox packages are
# downloaded, not installed; qemu-system and cpio are installed).
#
#   tests/vm/run.sh x86_64 [--edge] [BUILD_DIR]     default build/
#   tests/vm/run.sh arm64 [BUILD_DIR]      default build-arm64/ (tests/arm64.sh makes it)
#
# --edge (x86_64): the guest also runs tests/bench/edge.sh - its cgroup v2
# path: memory.max, io.max on a block device, io.stat, memory.peak - on a small
# Q8_0 model with llama-completion (tests/bench/llama-tools.sh builds it if
# missing), raw file against a modelfs mount, from an ext2 file system on a
# RAM disk (brd). The initramfs then also holds this machine's bash, GNU
# date, numfmt, findmnt, lsblk, mountpoint and getfattr with their libraries, and the
# kernel package's brd and ext4 modules.
#
# MFS_VM_TIMEOUT: seconds the guest may take (default 600 for x86_64, 1500 for arm64).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/progress.sh"
edge=0
args=()
for a; do
	case $a in
	--edge) edge=1 ;;
	*) args+=("$a") ;;
	esac
done
set -- "${args[@]}"
arch=${1:?usage: run.sh x86_64|arm64 [--edge] [BUILD_DIR]}
case $arch in
x86_64)
	deb_arch=amd64 qemu=qemu-system-x86_64 qpkg=qemu-system-x86 kflavour=amd64
	libdir=/lib/x86_64-linux-gnu loader=/lib64/ld-linux-x86-64.so.2
	build=${2:-$root/build} timeout=${MFS_VM_TIMEOUT:-600}
	machine=(-M pc) console=ttyS0
	;;
arm64 | aarch64)
	arch=arm64 deb_arch=arm64 qemu=qemu-system-aarch64 qpkg=qemu-system-arm kflavour=arm64
	libdir=/lib/aarch64-linux-gnu loader=/lib/ld-linux-aarch64.so.1
	build=${2:-$root/build-arm64} timeout=${MFS_VM_TIMEOUT:-1500}
	machine=(-M virt -cpu cortex-a57) console=ttyAMA0
	;;
*) echo "run.sh: ARCH is x86_64 or arm64, not '$arch'" >&2; exit 2 ;;
esac
[ "$edge" = 0 ] || [ "$arch" = x86_64 ] || { echo "run.sh: --edge is for x86_64 only" >&2; exit 2; }
[ -x "$build/tools/modelfs" ] && [ -x "$build/tests/vm/mfs-hogwatch" ] || { echo "vm: no $build/tools/modelfs (build it first)" >&2; exit 1; }
fail() {
	echo "FAIL: vm $arch: $*" >&2
	exit 1
}

missing=()
for p in "$qpkg" cpio; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || fail "needs root to install ${missing[*]}"
	echo "vm: installing ${missing[*]}" >&2
	quietly "vm: apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${missing[@]}"
fi

# The kernel and busybox packages, downloaded once (kept between runs).
cache=/var/tmp/modelfs-vm/$deb_arch
mkdir -p "$cache"
kpkg=$(apt-cache depends "linux-image-$kflavour:$deb_arch" 2>/dev/null |
	sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
[ -n "$kpkg" ] || {
	quietly "vm: apt-get update" env DEBIAN_FRONTEND=noninteractive apt-get update
	kpkg=$(apt-cache depends "linux-image-$kflavour:$deb_arch" |
		sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
}
[ -n "$kpkg" ] || fail "no linux-image-$kflavour for $deb_arch in apt's lists"
kpkg=${kpkg%%:*}
for p in "$kpkg" busybox-static; do
	if ! ls "$cache/$p"_*.deb >/dev/null 2>&1; then
		(cd "$cache" && quietly "vm: apt-get download $p:$deb_arch" apt-get download "$p:$deb_arch") ||
			fail "apt-get download $p:$deb_arch"
	fi
done
work=$(mktemp -d /var/tmp/modelfs-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$(ls "$cache/$kpkg"_*.deb | head -1)" "$work/k"
dpkg-deb -x "$(ls "$cache"/busybox-static_*.deb | head -1)" "$work/bb"
kernel=$(ls "$work"/k/boot/vmlinuz-* | head -1)
fusemod=$(find "$work/k/lib/modules" -name 'fuse.ko*' | head -1)
[ -f "$kernel" ] && [ -f "$fusemod" ] || fail "no vmlinuz or fuse.ko in $kpkg"

# The initramfs: busybox, fuse.ko, the binaries and every library they load.
ir=$work/ir
mkdir -p "$ir"/{bin,lib,proc,sys,dev,etc,tmp,run,usr/bin,"$libdir"} "$ir$(dirname "$loader")"
cp "$work/bb/bin/busybox" "$ir/bin/"
case $fusemod in
*.xz) xz -dc "$fusemod" >"$ir/lib/fuse.ko" ;;
*.zst) zstd -qdc "$fusemod" >"$ir/lib/fuse.ko" ;;
*) cp "$fusemod" "$ir/lib/fuse.ko" ;;
esac
cp "$root/tests/vm/init.sh" "$ir/init"
cp "$root/tests/vm/guest.sh" "$ir/guest.sh"
chmod +x "$ir/init"
cp "$build/tools/modelfs" "$build/tests/gen/modelfs-gen" "$build/tests/vm/mfs-hogwatch" "$ir/usr/bin/"
# Libraries: the ELF's DT_NEEDED, resolved in the target's library directories,
# recursively (no ldd: the binaries may be of another architecture).
needed() { LC_ALL=C readelf -d "$1" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }
declare -A seen=()
# copy_libs: every library the files in $queue load, and theirs, into the
# initramfs (those found in SKIP_DIR of the initramfs are there already).
copy_libs() {
	local f lib src d
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		for lib in $(needed "$f"); do
			[ -n "${seen[$lib]:-}" ] && continue
			[ -n "${skip_dir:-}" ] && [ -e "$ir$skip_dir/$lib" ] && continue
			seen[$lib]=1
			src=
			for d in "$libdir" "/usr$libdir"; do
				[ -e "$d/$lib" ] && { src=$d/$lib; break; }
			done
			[ -n "$src" ] || fail "library $lib for $arch not found (install its :$deb_arch package)"
			cp -L "$src" "$ir$libdir/$lib"
			queue+=("$ir$libdir/$lib")
		done
	done
}
queue=("$ir/usr/bin/modelfs" "$ir/usr/bin/modelfs-gen" "$ir/usr/bin/mfs-hogwatch")
copy_libs
# --edge: edge.sh and what it runs, at the paths it expects.
if [ "$edge" = 1 ]; then
	llama_dir=$("$root/tests/bench/llama-tools.sh")
	mkdir -p "$ir/edge/bin" "$ir/edge/root/tests/bench" "$ir/edge/root/tools" "$ir/edge/ko" "$ir$llama_dir"
	cp "$root/tests/bench/edge.sh" "$root/tests/bench/lib.sh" "$ir/edge/root/tests/bench/"
	cp "$root/tools/progress.sh" "$ir/edge/root/tools/"
	echo "$llama_dir" >"$ir/edge/llama_dir"
	# llama.cpp's libraries are found by its RUNPATH: the same directory.
	cp -P "$llama_dir"/llama-completion "$llama_dir"/*.so* "$ir$llama_dir/"
	for f in "$ir$llama_dir"/*; do [ -L "$f" ] || queue+=("$f"); done
	for t in bash date numfmt findmnt lsblk mountpoint getfattr; do
		cp -L "$(command -v "$t")" "$ir/edge/bin/" || fail "no $t on this machine for --edge"
		queue+=("$ir/edge/bin/$t")
	done
	kmod=$(dirname "$fusemod")/../..
	for m in crypto/crc32c_generic.ko lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko fs/ext4/ext4.ko drivers/block/brd.ko; do
		cp "$kmod/$m" "$ir/edge/ko/" || fail "no $m in $kpkg"
	done
	skip_dir=$llama_dir
	copy_libs
fi
cp -L "$loader" "$ir$loader"
echo "root:x:0:0:root:/:/bin/sh" >"$ir/etc/passwd"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
echo "vm $arch: $(basename "$kernel") from $kpkg, initramfs $(du -k "$work/initrd.gz" | cut -f1) KiB" \
	"(${#seen[@]} libraries)"

# KVM only where the CPU offers virtualization: a /dev/kvm without it (a
# VM's) is there but hangs the guest.
accel=(-accel tcg)
[ -w /dev/kvm ] && [ "$arch" = "$(uname -m | sed 's/aarch64/arm64/')" ] &&
	grep -qw -e vmx -e svm -e kvm <(grep -m1 -e '^flags' -e '^Features' /proc/cpuinfo) &&
	accel=(-accel kvm)
t0=$(date +%s)
rc=0
mem=1024
# --edge: room for the RAM disk; llama.cpp's AVX2 code needs a CPU that has it
[ "$edge" = 0 ] || { mem=2048; machine+=(-cpu max); timeout=${MFS_VM_TIMEOUT:-1500}; }
timeout "$timeout" "$qemu" "${machine[@]}" "${accel[@]}" -m $mem -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=$console panic=-1 ${MFS_VM_VERBOSE:+ignore_loglevel}${MFS_VM_VERBOSE:-quiet loglevel=3}" </dev/null >"$work/console.log" 2>&1 || rc=$?
secs=$(($(date +%s) - t0))
# What the guest printed, without the firmware's and kernel's lines.
tr -d '\r' <"$work/console.log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' |
	grep -E '^(x86_64|aarch64|cgroup:|ok:|FAIL:|guest:|edge:|VM:|init:)' |
	sed "s/^/vm $arch: /"
[ "$rc" = 124 ] && fail "the guest did not finish within $timeout s: $(tail -5 "$work/console.log")"
grep -q '^VM: PASS' <(tr -d '\r' <"$work/console.log") ||
	fail "the guest's checks failed (qemu exit $rc): $(tr -d '\r' <"$work/console.log" | tail -20)"
echo "vm $arch: booted, checked and powered off in $secs s ($([ "${accel[1]}" = kvm ] && echo KVM || echo TCG))"
