#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Draws the edge benchmark's results: seconds per token against the memory
# cap, per model type, for the raw file, squashfuse and modelfs with no
# options (auto), from the CSV that tests/bench/edge.sh appends to (one row
# per type, run and --mem). Installs gnuplot-nox if it is missing.
#
#   tests/bench/plot.sh EDGE.CSV [OUT.png]     (default: EDGE.CSV with .png)
set -euo pipefail

csv=${1:?usage: plot.sh EDGE.CSV [OUT.png]}
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

# One file per (type, run): memory cap in MB and s/token, sorted by the cap;
# the last row wins where a cell was measured more than once.
awk -F, -v dir="$data" '
function mb(s,   n, u) {
	n = s + 0; u = toupper(substr(s, length(s)))
	return u == "G" ? n * 1024 : u == "K" ? n / 1024 : u == "M" ? n : n / 1048576
}
NR > 1 && $8 != "" && ($6 == "raw" || $6 == "squashfuse" || $6 == "auto") {
	cell[$5 "." $6 "\t" mb($1)] = $8
}
END {
	for (k in cell) { split(k, p, "\t"); print p[2], cell[k] > (dir "/" p[1]) }
}' "$csv"
for f in "$data"/*; do sort -n -o "$f" "$f"; done
types=$(ls "$data" | cut -d. -f1 | sort -u)
[ -n "$types" ] || { echo "plot.sh: $csv: no raw, squashfuse or auto rows" >&2; exit 1; }

{
	echo "set terminal pngcairo noenhanced size 900,$((360 * $(wc -w <<<"$types"))) font ',10'"
	echo "set output '$out'"
	echo "set multiplot layout $(wc -w <<<"$types"),1"
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
	echo "unset multiplot"
} | gnuplot
echo "plot.sh: wrote $out"
