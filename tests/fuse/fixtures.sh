#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every real GGUF file in ../shared/fixtures, packed and read back through a
# mount with cmp and 2,000 random preads. Skipped (exit 77) without fixtures.
. "$(dirname "$0")/lib.sh"

dir=${MODELFS_FIXTURES:-}
if [ -z "$dir" ] || ! ls "$dir"/gguf/*.gguf >/dev/null 2>&1; then
	echo "SKIP: no fixtures at '${dir:-unset}'"
	exit 77
fi
mkdir -p "$WORK/src"
"$MODELFS" pack -q -o "$WORK/src" "$dir"/gguf/*.gguf
mount_fg "$WORK/src" "$WORK/mnt" -o cache_size=2M
n=0
for f in "$dir"/gguf/*.gguf; do
	same_file "$f" "$WORK/mnt/$(basename "$f")"
	"$MFS_READCHECK" random "$f" "$WORK/mnt/$(basename "$f")" 2000 $n || fail "$f"
	n=$((n + 1))
done
unmount "$WORK/mnt"
echo "$n fixtures read through the mount"
done_ok
