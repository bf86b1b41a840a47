#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds modelfs with -Werror and runs every test: Criterion unit tests, the
# command-line round trips and bad-input tests, real FUSE mounts read by real
# programs, unmodified llama.cpp through a mount, and the real fixtures
# (skipped, and reported so, when ../shared is absent), the fuzz corpora and
# crash regressions, corruption and fault injection, and the load test. Then
# builds again with AddressSanitizer and UndefinedBehaviorSanitizer and runs
# everything again, and with ThreadSanitizer for the tests of the threaded
# parts (cache, worker pool, prefetch, the daemon under FUSE and under load;
# Criterion itself cannot run under TSan; the remote sources' fetch-ahead and
# workers), then cross-builds for arm64 and runs what can run under
# qemu-user (tests/arm64.sh; MFS_SKIP_ARM64=1 skips it), and finally boots
# Debian's own x86_64 and arm64 kernels under qemu-system and runs the daemon
# on their cgroup v2 (tests/vm/run.sh; MFS_SKIP_VM=1 skips it).
# The FUSE and llama.cpp tests need root and /dev/fuse; without them they
# report themselves as skipped.
#
#   tests/run.sh            everything
#   tests/run.sh --quick    the normal build only
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/progress.sh"
quick=false
[ "${1:-}" = --quick ] && quick=true

echo "tests/run.sh: about 15 min on 2 cores (and the installs, the first time); stages start with =="
"$root/tools/install-deps.sh" --tests
# Node.js and node-llama-cpp for the llama.cpp tests. Without the npm registry
# those tests skip, saying why; under CI=true that is a failure.
if ! "$root/tests/e2e/setup.sh" >/dev/null; then
	[ "${CI:-}" != true ] || { echo "tests/run.sh: llama.cpp could not be installed (CI=true)" >&2; exit 1; }
	echo "== llama.cpp could not be installed (above): its tests will say SKIP ==" >&2
fi

# build DIR [MESON OPTIONS...]: configured with these options whoever made DIR
# first (tools/demo.sh makes build/ without -Dwerror=true).
build() {
	local dir=$1
	shift
	echo "== build $(basename "$dir") =="
	if [ ! -f "$dir/build.ninja" ]; then
		quietly "meson setup" meson setup "$dir" "$root" -Dwerror=true "$@"
	else
		quietly "meson configure" meson configure "$dir" -Dwerror=true "$@"
	fi
	quietly "ninja $(basename "$dir")" ninja -C "$dir"
}

run_tests() {
	local dir=$1 label=$2
	shift 2
	echo "== $label =="
	meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
}

build "$root/build"
run_tests "$root/build" "tests (gcc, -Werror)"
echo "== Debian package: build, install, use, purge =="
"$root/tests/packaging/deb.sh" "$root/build"

if ! $quick; then
	build "$root/build-asan" -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	run_tests "$root/build-asan" "tests under ASan + UBSan"
	unset ASAN_OPTIONS UBSAN_OPTIONS
	build "$root/build-tsan" -Dbuildtype=debugoptimized -Db_sanitize=thread
	export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
	MFS_STRESS_SECONDS=10 run_tests "$root/build-tsan" "threaded tests under TSan" \
		--suite fuse --suite stress --suite remote
	if [ "${MFS_SKIP_ARM64:-}" != 1 ]; then
		echo "== arm64: cross build, tests under qemu-user =="
		"$root/tests/arm64.sh" "$root/build"
	fi
	if [ "${MFS_SKIP_VM:-}" != 1 ]; then
		echo "== the kernels users run: Debian's x86_64 and arm64 kernels under qemu-system, cgroup v2 =="
		# edge.sh's cgroup v2 path in the x86_64 guest, where llama-completion
		# is built (tests/bench/llama-tools.sh: minutes, once; MFS_VM_EDGE=1
		# builds it here, MFS_VM_EDGE=0 leaves edge.sh out)
		edge=()
		llama_bin=${LLAMA_BUILD:-/var/tmp/llama-build}/src/build/bin/llama-completion
		if [ "${MFS_VM_EDGE:-}" = 1 ] || { [ "${MFS_VM_EDGE:-}" != 0 ] && [ -x "$llama_bin" ]; }; then
			edge=(--edge)
		else
			echo "SKIP: vm x86_64 edge.sh (no $llama_bin; MFS_VM_EDGE=1 builds it)"
		fi
		"$root/tests/vm/run.sh" x86_64 "${edge[@]}" "$root/build"
		if [ -x "$root/build-arm64/tools/modelfs" ]; then
			"$root/tests/vm/run.sh" arm64 "$root/build-arm64"
		else
			echo "SKIP: vm arm64: no build-arm64 (MFS_SKIP_ARM64=1 skipped its cross build)"
		fi
	else
		echo "SKIP: the VM stage (MFS_SKIP_VM=1)"
	fi
fi
echo "== all tests passed =="
