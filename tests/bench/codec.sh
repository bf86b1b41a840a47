#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: how close modelfs comes to the order-0 entropy bound per dtype,
# how fast it encodes and decodes on one core, and what whole-file zstd and
# kernel SquashFS make of the same files.
#
#   tests/bench/codec.sh [--preset bench|medium|small] [--no-quantize] [WORKDIR]
#
# Models: F32, F16, BF16, Q8_0 and Q4_0 from the generator (same weights), and
# Q4_K_M and Q6_K made from the F32 one by llama.cpp's own llama-quantize
# (built outside the repo by tests/bench/llama-tools.sh; --no-quantize skips
# them). Columns, per file:
#   ratio      original / stored bytes of the tensor data (metadata excluded)
#   bound      the order-0 entropy bound of the best plane split, per tensor
#              (modelfs inspect --entropy); ratio/bound is how much of it we get
#   file       original / container size, everything included
#   enc        MB/s of original bytes on one core: pack -j1, input in the
#              page cache
#   dec        MB/s of original bytes decoded on one core, in memory: every
#              chunk's stored bytes decoded, the transform inverted, the xxh3
#              checked (modelfs-decbench, best of 3); scalar: the same with
#              the vector paths off
#   zstd       the same chunks' original bytes as zstd -3 frames, decoded by
#              the library on the same core in the same run: the codec
#              modelfs is measured against; x zstd = dec / zstd
#   verify     modelfs verify -j1: dec plus reading the container from the
#              page cache and the reader's pipeline
#   zstd -3, zstd -19, sqfs   whole-file ratios: zstd CLI (-T0), and
#              mksquashfs -comp zstd -b 1M (the kernel's format and level 15)
# The table is also written to WORKDIR/codec.csv, and tests/bench/plot.sh
# draws it (ratio and decode speed per dtype) to WORKDIR/codec.png.
# Not a test: it asserts nothing; numbers vary with the machine. WORKDIR keeps
# the models between runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
preset=bench
quantize=1
while [ $# -gt 0 ]; do
	case $1 in
	--preset) preset=$2; shift 2 ;;
	--no-quantize) quantize=0; shift ;;
	-h | --help) sed -n '3,34p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/modelfs-bench.XXXXXX")}
mkdir -p "$work"

. "$root/tests/bench/lib.sh"
bench_setup zstd squashfs-tools
llama=
[ "$quantize" = 1 ] && llama=$("$root/tests/bench/llama-tools.sh")

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { print b - a }'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }

files=()
for t in f32 f16 bf16 q8_0 q4_0; do
	[ -f "$work/$t.gguf" ] || "$gen" -q -p "$preset" -t "$t" -o "$work/$t.gguf"
	files+=("$t")
done
if [ -n "$llama" ]; then
	for q in Q4_K_M Q6_K; do
		f=$work/${q,,}.gguf
		if [ ! -f "$f" ]; then
			"$llama/llama-quantize" "$work/f32.gguf" "$f.tmp" "$q" 1 >"$work/quantize.log" 2>&1 ||
				{ echo "llama-quantize $q failed: see $work/quantize.log" >&2; exit 1; }
			mv "$f.tmp" "$f"
		fi
		files+=("${q,,}")
	done
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "preset $preset; $("$modelfs" --version | head -2 | tr '\n' ' '); zstd $(zstd --version | grep -o 'v[0-9.]*')"
[ -n "$llama" ] && echo "K-quants by llama-quantize from $llama"
fmt='%-7s %8s | %7s %7s %7s %7s | %6s %6s %6s %6s %6s %6s | %7s %7s %7s\n'
printf "\n$fmt" file MB ratio bound "of bnd" file "enc" "dec" "scalar" "zstd" "x zstd" verify "zstd-3" zstd-19 sqfs
printf "$fmt" "" "" data data "" ratio "MB/s" "MB/s" "MB/s" "MB/s" "" "MB/s" ratio ratio ratio
csv=$work/codec.csv
echo "file,mb,ratio,bound,of_bound,file_ratio,enc_mbs,dec_mbs,zstd_dec_mbs,zstd3,zstd19,sqfs,scalar_mbs,x_zstd,verify_mbs" >"$csv"
detail=$work/dtypes.txt
: >"$detail"
for t in "${files[@]}"; do
	f=$work/$t.gguf
	size=$(stat -c %s "$f")
	cat "$f" >/dev/null

	s=$(now)
	"$modelfs" pack -q -f -j 1 "$f"
	enc_s=$(since "$s")
	cat "$f.mfs" >/dev/null
	dec_s=1e9
	for _ in 1 2; do
		s=$(now)
		"$modelfs" verify -q -j 1 "$f.mfs"
		dec_s=$(min "$dec_s" "$(since "$s")")
	done

	# The "all" row of the bound table: ratio, bound, fraction of the bound.
	"$modelfs" inspect --entropy "$f.mfs" >"$work/inspect.txt"
	read -r data_ratio bound frac < <(awk '/^order-0 entropy bound/ { on = 1; next }
		on && $1 == "all" { print $5, $6, $7; exit }' "$work/inspect.txt")
	awk -v t="$t" '/^order-0 entropy bound/ { on = 1; next } on && NF == 0 { exit }
		on && $1 != "dtype" && $1 != "all" { printf "%-7s %s\n", t, $0 }' \
		"$work/inspect.txt" >>"$detail"

	# "modelfs MBPS zstd MBPS speedup X paths ..."
	read -r _ dec _ zdec _ xz _ < <("$decbench" "$f.mfs")
	read -r _ scalar _ < <("$decbench" -s -Z "$f.mfs")
	zstd -q -f -3 -T0 "$f" -o "$work/z"
	z3=$(stat -c %s "$work/z")
	zstd -q -f -19 -T0 "$f" -o "$work/z"
	z19=$(stat -c %s "$work/z")
	rm -rf "$work/z" "$work/sq" && mkdir "$work/sq" && ln "$f" "$work/sq/"
	mksquashfs "$work/sq" "$work/z" -comp zstd -b 1M -noappend -quiet -no-progress >/dev/null
	sq=$(stat -c %s "$work/z")
	rm -rf "$work/z" "$work/sq"

	row=("$t" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')"
		"$data_ratio" "$bound" "$frac" "$(ratio "$size" "$(stat -c %s "$f.mfs")")"
		"$(rate "$size" "$enc_s")" "$dec" "$zdec"
		"$(ratio "$size" "$z3")" "$(ratio "$size" "$z19")" "$(ratio "$size" "$sq")"
		"$scalar" "$xz" "$(rate "$size" "$dec_s")")
	printf "$fmt" "${row[0]}" "${row[1]}" "${row[2]}" "${row[3]}" "${row[4]}" "${row[5]}" \
		"${row[6]}" "$dec" "$scalar" "$zdec" "$xz" "${row[14]}" "${row[9]}" "${row[10]}" "${row[11]}"
	(IFS=,; echo "${row[*]}") | sed 's/\([0-9]\)[x%]/\1/g' >>"$csv" # numbers only
done
echo
echo "per dtype within each file (tensors, bytes, stored, ratio, bound, of bound):"
cat "$detail"
echo
"$root/tests/bench/plot.sh" "$csv" || echo "(no plot: see the message above)"
echo "files kept in $work"
