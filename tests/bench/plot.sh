#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Draws a benchmark's CSV (installs gnuplot-nox if it is missing):
#   - edge.csv (tests/bench/edge.sh appends one row per type, run and --mem):
#     seconds per token against the memory cap, per model type, for the raw
#     file, squashfuse and modelfs with no options (auto), and in one panel
#     modelfs over the raw file and over the physical limit of each cell;
#   - codec.csv (tests/bench/codec.sh): per dtype, the ratio of modelfs beside
#     its entropy bound and zstd, and the decode speed of modelfs beside zstd's.
#
#   tests/bench/plot.sh CSV [OUT.png]     (default: CSV with .png)
set -euo pipefail

csv=${1:?usage: plot.sh CSV [OUT.png]}
out=${2:-${csv%.csv}.png}
[ -s "$csv" ] || { echo "plot.sh: $csv: no rows" >&2; exit 1; }
if ! command -v gnuplot >/dev/null; then
	sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo)
	echo "plot.sh: installing gnuplot-nox" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		gnuplot-nox >/dev/null
fi
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

if head -1 "$csv" | grep -q '^file,'; then
	# codec.csv: file,mb,ratio,bound,of_bound,file_ratio,enc_mbs,dec_mbs,
	# zstd_dec_mbs,zstd3,zstd19,sqfs,scalar_mbs,x_zstd,verify_mbs
	tail -n +2 "$csv" | tr , ' ' >"$data/codec"
	n=$(wc -l <"$data/codec")
	[ "$n" -gt 0 ] || { echo "plot.sh: $csv: no rows" >&2; exit 1; }
	{
		echo "set terminal pngcairo noenhanced size $((500 + 60 * n)),760 font ',10'"
		echo "set output '$out'"
		echo "set multiplot layout 2,1"
		echo "set style data histograms; set style histogram clustered gap 1"
		echo "set style fill solid 0.8 border -1; set boxwidth 0.9"
		echo "set key below; set grid ytics; set yrange [0:*]"
		echo "set title 'compression ratio of the tensor data, per dtype (higher is better)'"
		echo "set ylabel 'original / stored'"
		echo "plot '$data/codec' using 3:xtic(1) title 'modelfs', '' using 4 title 'order-0 entropy bound'," \
			"'' using 10 title 'zstd -3 (whole file)', '' using 12 title 'SquashFS zstd 1M'"
		# zstd copies incompressible blocks (K-quants) at memory speed: a log scale keeps the rest readable.
		echo "set title 'decode speed on one core, MB/s of original bytes (higher is better; log scale)'"
		echo "set ylabel 'MB/s'; set logscale y; set yrange [100:*]"
		echo "plot '$data/codec' using 8:xtic(1) title 'modelfs (decode, inverse transform, xxh3)'," \
			"'' using 13 title 'modelfs, scalar paths'," \
			"'' using 9 title 'zstd -3, same chunks'"
		echo "unset multiplot"
	} | gnuplot
	echo "plot.sh: wrote $out"
	exit 0
fi

# One file per (type, run): memory cap in MB and s/token, sorted by the cap;
# the last row wins where a cell was measured more than once.
awk -F, -v dir="$data" '
function mb(s,   n, u) {
	n = s + 0; u = toupper(substr(s, length(s)))
	return u == "G" ? n * 1024 : u == "K" ? n / 1024 : u == "M" ? n : n / 1048576
}
NR > 1 && $8 != "" && ($6 == "raw" || $6 == "squashfuse" || $6 == "auto") {
	cell[$5 "." $6 "\t" mb($1)] = $8
	# modelfs against the raw file and against the physical limit of the cell
	if ($6 == "auto" && $9 != "") cell[$5 ".xraw\t" mb($1)] = $9
	if ($6 == "auto" && $17 != "") cell[$5 ".xlim\t" mb($1)] = $17
}
END {
	for (k in cell) { split(k, p, "\t"); print p[2], cell[k] > (dir "/" p[1]) }
}' "$csv"
for f in "$data"/*; do sort -n -o "$f" "$f"; done
types=$(ls "$data" | grep -v '\.x' | cut -d. -f1 | sort -u)
[ -n "$types" ] || { echo "plot.sh: $csv: no raw, squashfuse or auto rows" >&2; exit 1; }

{
	panels=$(($(wc -w <<<"$types") + 1))
	echo "set terminal pngcairo noenhanced size 900,$((360 * panels)) font ',10'"
	echo "set output '$out'"
	echo "set multiplot layout $panels,1"
	echo "set xlabel 'memory cap for llama.cpp and the daemon (MB)'"
	echo "set ylabel 's/token (lower is better)'"
	echo "set key top right; set grid; set logscale y"
	for t in $types; do
		echo "set title 'llama-completion, $t model, $(awk -F, 'NR == 2 { printf "%.0f MB/s disk, context %s", $2 / 1e6, $3 }' "$csv")'"
		plot="plot"
		for r in raw squashfuse auto; do
			[ -f "$data/$t.$r" ] || continue
			label=$r
			[ $r = auto ] && label="modelfs (no options)"
			plot="$plot '$data/$t.$r' using 1:2 with linespoints lw 2 title '$label',"
		done
		echo "${plot%,}"
	done
	# Every type in one panel: modelfs (no options) over the raw file (dashed)
	# and over the cell's physical limit (solid), edge.sh's x raw and x limit.
	echo "set title 'modelfs (no options) / raw file (dashed) and / physical limit (solid): 1 is the line to beat'"
	echo "set ylabel 'ratio (lower is better)'; set logscale y"
	plot="plot 1 with lines lc rgb 'black' dt 3 notitle,"
	i=1
	for t in $types; do
		[ -f "$data/$t.xlim" ] &&
			plot="$plot '$data/$t.xlim' using 1:2 with linespoints lw 2 lc $i title '$t / limit',"
		[ -f "$data/$t.xraw" ] &&
			plot="$plot '$data/$t.xraw' using 1:2 with linespoints lw 1 dt 2 lc $i title '$t / raw',"
		i=$((i + 1))
	done
	echo "${plot%,}"
	echo "unset multiplot"
} | gnuplot
echo "plot.sh: wrote $out"
