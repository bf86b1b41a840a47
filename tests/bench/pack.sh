#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: compression ratio and pack / verify / unpack speed per dtype, on
# generated llama models, against whole-file zstd -3 in the same run.
#
#   tests/bench/pack.sh [--preset bench|medium|small] [--threads N] [WORKDIR]
#
# Prints a table. MB/s are original bytes per second of wall time with the
# input in the page cache (the point is CPU cost, not disk speed). Not a test:
# it asserts nothing; numbers vary with the machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
preset=bench
threads=$(nproc)
while [ $# -gt 0 ]; do
	case $1 in
	--preset) preset=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	-h | --help) sed -n '3,10p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/modelfs-bench.XXXXXX")}
mkdir -p "$work"

. "$root/tests/bench/lib.sh"
bench_setup zstd

now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "preset $preset, $threads threads, zstd $(zstd --version | grep -o 'v[0-9.]*')"
printf '\n%-6s %9s | %8s %8s %8s %8s | %8s %8s\n' dtype "MB" ratio "pack" verify unpack \
	"zstd -3" "MB/s"
printf '%-6s %9s | %8s %8s %8s %8s | %8s %8s\n' "" "" modelfs "MB/s" "MB/s" "MB/s" \
	"ratio" "(-T$threads)"
for t in f32 f16 bf16 q8_0 q4_0; do
	f=$work/$t.gguf
	[ -f "$f" ] || "$gen" -q -p "$preset" -t "$t" -o "$f"
	size=$(stat -c %s "$f")
	cat "$f" >/dev/null

	s=$(now)
	"$modelfs" pack -q -f -j "$threads" "$f"
	pack_s=$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')
	csize=$(stat -c %s "$f.mfs")

	s=$(now)
	"$modelfs" verify -q -j "$threads" "$f.mfs"
	verify_s=$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')

	rm -rf "$work/out" && mkdir -p "$work/out"
	s=$(now)
	"$modelfs" unpack -q -j "$threads" -o "$work/out" "$f.mfs"
	unpack_s=$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')
	cmp "$f" "$work/out/$t.gguf"
	rm -rf "$work/out"

	s=$(now)
	zstd -q -f -3 -T"$threads" "$f" -o "$work/z3"
	z3_s=$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')
	z3=$(stat -c %s "$work/z3")
	rm -f "$work/z3"

	printf '%-6s %9.1f | %8s %8s %8s %8s | %8s %8s\n' "$t" \
		"$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$(ratio "$size" "$csize")" \
		"$(rate "$size" "$pack_s")" "$(rate "$size" "$verify_s")" \
		"$(rate "$size" "$unpack_s")" "$(ratio "$size" "$z3")" "$(rate "$size" "$z3_s")"
done
echo
echo "files kept in $work"
