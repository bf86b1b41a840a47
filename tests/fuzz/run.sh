#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the libFuzzer targets: builds them with clang, ASan and UBSan (in
# build-fuzz/), then fuzzes each target for SECONDS, starting from the
# committed seeds (and ../shared/fixtures for GGUF). New interesting inputs go
# to a work corpus outside the tree; crashes are copied into
# tests/fuzz/crashes/NAME/, where every later `meson test` replays them.
# Prints, per target, executions, coverage and crashes found.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     default 60 s, every target
#
# Environment: MFS_FUZZ_WORK (default /var/tmp/modelfs-fuzz) holds the work
# corpora and logs, so repeated runs continue where the last one stopped.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/fuzz
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors container block)
work=${MFS_FUZZ_WORK:-/var/tmp/modelfs-fuzz}
build=$root/build-fuzz

"$root/tools/install-deps.sh"
command -v clang >/dev/null || {
	echo "fuzz: clang is needed (apt-get install clang)" >&2
	exit 1
}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$root" -Dfuzzing=true -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
printf '%-12s %8s %12s %10s %8s %8s %s\n' target seconds execs exec/s cov ft crashes
for t in "${targets[@]}"; do
	exe=$build/tests/fuzz/fuzz-$t
	[ -x "$exe" ] || {
		echo "fuzz: no target $t" >&2
		exit 2
	}
	mkdir -p "$work/$t/corpus" "$work/$t/artifacts" "$here/crashes/$t"
	seeds=("$here/corpus/$t" "$here/crashes/$t")
	[ "$t" = gguf ] && [ -d "$root/../shared/fixtures/gguf" ] && seeds+=("$root/../shared/fixtures/gguf")
	log=$work/$t/last.log
	set +e
	"$exe" -max_total_time="$secs" -max_len=262144 -timeout=25 -rss_limit_mb=1024 -malloc_limit_mb=256 \
		-print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" \
		"$work/$t/corpus" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	set -e
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
	speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo ?)
	ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo ?)
	crashes=0
	for a in "$work/$t"/artifacts/*; do
		[ -e "$a" ] || continue
		mv "$a" "$here/crashes/$t/"
		crashes=$((crashes + 1))
	done
	printf '%-12s %8s %12s %10s %8s %8s %s\n' "$t" "$secs" "$execs" "$speed" "$cov" "$ft" "$crashes"
	if [ $rc -ne 0 ] || [ $crashes -ne 0 ]; then
		echo "fuzz: $t failed (exit $rc); see $log" >&2
		status=1
	fi
done
exit $status
