#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# arm64, the architecture of most edge devices: cross-builds modelfs with
# Debian's aarch64 toolchain and arm64 libraries (packaging/cross/), with
# -Werror, then runs under qemu-user: the 68 unit tests; the fuzz corpora and crash regressions
# through every parser, codec and transform; the cache and worker pool under
# 8 threads; the command-line round trips, bad-input and FORMAT.md-reader
# tests with arm64 modelfs and modelfs-gen; and checks that containers packed
# on arm64 are byte-identical to those packed here, and read both ways. The
# unit tests run on tests/unit/crshim instead of Criterion (whose arm64
# package conflicts with the host's and whose sandbox fails under
# qemu-user); FUSE cannot run under qemu-user.
#
#   tests/arm64.sh [NATIVE_BUILD_DIR]     default build/
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/progress.sh"
native=$(cd "${1:-$root/build}" && pwd)
build=$root/build-arm64

pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libzstd-dev:arm64 liblz4-dev:arm64
	libxxhash-dev:arm64 libfuse3-dev:arm64 libcurl4-openssl-dev:arm64 libssl-dev:arm64)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || {
		echo "arm64: needs root to install ${missing[*]}" >&2
		exit 1
	}
	echo "arm64: installing ${missing[*]}" >&2
	dpkg --add-architecture arm64
	quietly "arm64: apt-get update" env DEBIAN_FRONTEND=noninteractive apt-get update
	quietly "arm64: apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$root" --cross-file "$root/packaging/cross/aarch64-linux-gnu.ini" \
		-Dwerror=true >/dev/null
fi
quietly "arm64: ninja" ninja -C "$build"
file "$build/tools/modelfs" | grep -q 'ARM aarch64' || {
	echo "arm64: $build/tools/modelfs is not an arm64 program" >&2
	exit 1
}
echo "arm64: cross-built with -Werror"

# Programs meson knows run under its exe_wrapper (the cross file's qemu-aarch64):
# the unit tests (on crshim), the fuzz replays, the cache under threads.
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 4 --suite unit
meson test -C "$build" --print-errorlogs --num-processes 2 --suite fuzz
meson test -C "$build" --print-errorlogs cache-threads

# Shell tests: point them at wrappers that run the arm64 programs under qemu.
wrap=$build/qemu-wrap
mkdir -p "$wrap"
for p in tools/modelfs tests/gen/modelfs-gen; do
	printf '#!/bin/sh\nexec qemu-aarch64 -L / "%s" "$@"\n' "$build/$p" \
		>"$wrap/$(basename "$p")"
	chmod +x "$wrap/$(basename "$p")"
done
for t in roundtrip badinput spec; do
	echo "arm64: tests/cli/$t.sh"
	MODELFS=$wrap/modelfs MODELFS_GEN=$wrap/modelfs-gen MODELFS_FIXTURES=$root/../shared/fixtures \
		"$root/tests/cli/$t.sh" >"$build/cli-$t.log" 2>&1 || {
		tail -20 "$build/cli-$t.log"
		echo "arm64: tests/cli/$t.sh failed" >&2
		exit 1
	}
	tail -1 "$build/cli-$t.log"
done

# The same containers on both architectures, each reading the other's.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$native/tests/gen/modelfs-gen" -q -p small -t bf16 -o "$work/m.gguf"
"$native/tests/gen/modelfs-gen" -q -p small -t q8_0 -o "$work/q.gguf"
for codec in planes zstd lz4; do
	for m in m q; do
		mkdir -p "$work/x86-$codec" "$work/arm-$codec"
		"$native/tools/modelfs" pack -q --codec "$codec" -o "$work/x86-$codec" "$work/$m.gguf"
		"$wrap/modelfs" pack -q --codec "$codec" -o "$work/arm-$codec" "$work/$m.gguf"
		cmp "$work/x86-$codec/$m.gguf.mfs" "$work/arm-$codec/$m.gguf.mfs" || {
			echo "arm64: $codec containers of $m.gguf differ between x86-64 and arm64" >&2
			exit 1
		}
	done
done
"$native/tools/modelfs" pack -q -o "$work/x86-auto" "$work/m.gguf"
"$wrap/modelfs" verify -q "$work/x86-auto/m.gguf.mfs"
"$wrap/modelfs" pack -q -o "$work/arm-auto" "$work/q.gguf"
"$native/tools/modelfs" verify -q "$work/arm-auto/q.gguf.mfs"
echo "arm64: planes/zstd/lz4 containers byte-identical to x86-64's; each architecture verifies the other's"
echo "== arm64 passed =="
