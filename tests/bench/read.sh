#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sequential read benchmark: a >= 256 MB BF16 model read with dd through a
# modelfs mount, from the raw file, through squashfuse and through kernel
# SquashFS (both zstd, 1 MiB blocks), all on the same disk, in one run.
#
#   tests/bench/read.sh [WORKDIR]        (root: drops caches, mounts)
#   ROUNDS=N (default 5) rounds; each round runs every contender once, in
#   turn, so machine noise hits all of them alike. Cold: the median of the
#   rounds. Warm: the best round - a warm read is a memory-bound page-cache
#   copy in the kernel (no request reaches a FUSE daemon), and on a shared
#   machine its spread is other tenants' memory traffic, not the contender.
#
# cold: page cache dropped and FUSE daemons remounted (their own caches
# emptied) before each read. warm: the file is in the page cache (read once
# more untimed after the cold read, so one-time page activation costs do not
# count), then read again, timed.
# Prints MB/s and the ratios the targets are stated in. Not a test: it
# asserts nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/var/tmp/modelfs-bench-read}
rounds=${ROUNDS:-5}
[ "$(id -u)" = 0 ] || { echo "read.sh: run as root (drops caches, mounts)" >&2; exit 1; }

. "$root/tests/bench/lib.sh"
bench_setup squashfuse squashfs-tools

mkdir -p "$work/raw" "$work/packed" "$work/mnt-modelfs" "$work/mnt-squashfuse" "$work/mnt-kernel"
model=$work/raw/model.gguf
[ -f "$model" ] || "$gen" -q -p bench -t bf16 --order sorted -o "$model"
# Repacked whenever modelfs was rebuilt: the container is what is measured.
if [ ! -f "$work/packed/model.gguf.mfs" ] || [ "$modelfs" -nt "$work/packed/model.gguf.mfs" ]; then
	"$modelfs" pack -q -f -o "$work/packed" "$model"
fi
[ -f "$work/model.sqfs" ] || mksquashfs "$work/raw" "$work/model.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null

cleanup() {
	for m in modelfs squashfuse kernel; do
		mountpoint -q "$work/mnt-$m" && umount "$work/mnt-$m"
	done
	return 0
}
trap cleanup EXIT
cleanup

mount_one() {
	case $1 in
	modelfs) "$modelfs" mount "$work/packed" "$work/mnt-modelfs" ;;
	squashfuse) squashfuse "$work/model.sqfs" "$work/mnt-squashfuse" ;;
	kernel) mount -t squashfs -o loop,ro "$work/model.sqfs" "$work/mnt-kernel" ;;
	esac
}
path_of() {
	case $1 in
	raw) echo "$model" ;;
	*) echo "$work/mnt-$1/model.gguf" ;;
	esac
}
# dd of the whole file; prints MB/s
read_mbs() {
	local f=$1 t0 t1
	t0=$(date +%s%N)
	dd if="$f" of=/dev/null bs=1M status=none
	t1=$(date +%s%N)
	echo $(($(stat -L -c %s "$f") * 1000 / (t1 - t0)))
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { tr ' ' '\n' | grep . | sort -n | tail -n 1; }

names=(raw modelfs squashfuse kernel)
declare -A cold warm
for name in "${names[@]}"; do cold[$name]=""; warm[$name]=""; done
for r in $(seq "$rounds"); do
	for name in "${names[@]}"; do
		if [ "$name" != raw ]; then
			mountpoint -q "$work/mnt-$name" && umount "$work/mnt-$name"
			mount_one "$name"
		fi
		sync
		echo 3 >/proc/sys/vm/drop_caches
		cold[$name]+=" $(read_mbs "$(path_of "$name")")"
		read_mbs "$(path_of "$name")" >/dev/null
		warm[$name]+=" $(read_mbs "$(path_of "$name")")"
	done
	echo "round $r/$rounds done" >&2
done

size=$(stat -c %s "$model")
echo "sequential read of a $((size / 1000000)) MB BF16 llama model (dd bs=1M), $rounds rounds"
echo "(cold: median of the rounds; warm: best round)"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), kernel $(uname -r)"
echo "stored: modelfs $(($(stat -c %s "$work/packed/model.gguf.mfs") / 1000000)) MB, squashfs $(($(stat -c %s "$work/model.sqfs") / 1000000)) MB"
printf '\n%-12s %10s %10s\n' "" "cold MB/s" "warm MB/s"
declare -A c w
for name in "${names[@]}"; do
	c[$name]=$(median <<<"${cold[$name]}")
	w[$name]=$(best <<<"${warm[$name]}")
	printf '%-12s %10s %10s   (cold:%s; warm:%s)\n' "$name" "${c[$name]}" "${w[$name]}" \
		"${cold[$name]}" "${warm[$name]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "modelfs cold / squashfuse cold:  $(ratio "${c[modelfs]}" "${c[squashfuse]}")x  (target >= 2)"
echo "modelfs cold / kernel cold:      $(ratio "${c[modelfs]}" "${c[kernel]}")x  (target >= 1.5)"
echo "modelfs warm / raw warm:         $(ratio "${w[modelfs]}" "${w[raw]}")x  (target >= 0.9)"
echo "modelfs cold / raw cold:         $(ratio "${c[modelfs]}" "${c[raw]}")x"
echo "(modelfs widens its mount's kernel readahead to 1 MiB itself; squashfuse and the"
echo " loop device keep their 128 KiB defaults, as shipped)"
