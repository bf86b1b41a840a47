#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds llama.cpp's own command-line tools for the benchmarks, outside the
# repository, from the source bundle that the npm package node-llama-cpp ships
# (llama/gitRelease.bundle; the package comes from tests/e2e/setup.sh), and
# prints the directory holding llama-quantize and llama-completion.
#
#   tests/bench/llama-tools.sh        (LLAMA_BUILD=/var/tmp/llama-build)
#
# Idempotent: once built, it only prints the directory. A build takes about
# 15 minutes on 2 cores; its log is $LLAMA_BUILD/build.log.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/progress.sh"
dir=${LLAMA_BUILD:-/var/tmp/llama-build}
bin=$dir/src/build/bin
tools=(llama-quantize llama-completion)

have() {
	for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done
}
if have; then
	echo "$bin"
	exit 0
fi

missing=()
for p in cmake g++ git; do command -v "$p" >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo)
	echo "llama-tools: installing ${missing[*]}" >&2
	quietly "llama-tools: apt-get update" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	quietly "llama-tools: apt-get install" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y cmake g++ git
fi
"$root/tests/e2e/setup.sh" >/dev/null
bundle=$root/tests/e2e/node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "llama-tools: no source bundle at $bundle" >&2; exit 1; }

mkdir -p "$dir"
if [ ! -d "$dir/src/.git" ]; then
	rm -rf "$dir/src.tmp"
	git clone -q "$bundle" "$dir/src.tmp"
	mv "$dir/src.tmp" "$dir/src"
fi
echo "llama-tools: building ${tools[*]} in $dir (log: $dir/build.log)" >&2
# Portable code (no -march=native), no network features, only the tools we use.
cmake -S "$dir/src" -B "$dir/src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
	-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >"$dir/cmake.log" 2>&1 ||
	{ echo "llama-tools: cmake failed, see $dir/cmake.log" >&2; exit 1; }
quietly --log "$dir/build.log" "llama-tools: cmake --build" \
	cmake --build "$dir/src/build" -j "$(nproc)" --target "${tools[@]}" || exit 1
have || { echo "llama-tools: build left no ${tools[*]} in $bin" >&2; exit 1; }
echo "$bin"
