#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a generated sample model, end to end: build modelfs,
# generate a llama-architecture BF16 model, pack it, show what is inside,
# verify it, mount the packed directory and read the model back through the
# mount, then unpack it; every byte must come back. (Mounting needs root or
# a working fusermount3; without it the mount step is skipped, and says so.)
#
#   tools/demo.sh [DIR]     work in DIR (default: a new temporary directory)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install-deps.sh"

if [ ! -f "$root/build/build.ninja" ]; then
	meson setup "$root/build" "$root" >/dev/null
fi
ninja -C "$root/build" >/dev/null
modelfs=$root/build/tools/modelfs
gen=$root/build/tests/gen/modelfs-gen

work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/modelfs-demo.XXXXXX")}
mkdir -p "$work"
model=$work/sample.gguf
step() { printf '\n== %s ==\n' "$*"; }

step "1. generate a sample model (llama architecture, BF16 weights)"
"$gen" -p medium -t bf16 -o "$model"

step "2. pack it: $model -> $model.mfs"
"$modelfs" pack --force "$model"

step "3. what the container holds (modelfs inspect, first tensors)"
"$modelfs" inspect "$model.mfs" >"$work/inspect.txt"
head -n 28 "$work/inspect.txt"
echo "(full table: $work/inspect.txt)"

step "4. verify every chunk checksum and the whole-file checksum"
"$modelfs" verify "$model.mfs"

step "5. mount the packed directory and read the model back through it"
mkdir -p "$work/packed" "$work/mnt"
mv "$model.mfs" "$work/packed/"
cp "$work/inspect.txt" "$work/packed/README.txt"
if [ -e /dev/fuse ] && "$modelfs" mount "$work/packed" "$work/mnt"; then
	ls -l "$work/mnt"
	cmp "$model" "$work/mnt/sample.gguf"
	echo "identical through the mount: $work/mnt/sample.gguf"
	"$modelfs" stats "$work/mnt" | grep -E "bytes_served|chunks_decompressed|cache hit|decode speed"
	umount "$work/mnt"
else
	echo "(skipped: cannot mount FUSE here)"
fi
mv "$work/packed/sample.gguf.mfs" "$work/"

step "6. unpack to $work/restored and compare with the original"
rm -rf "$work/restored"
mkdir -p "$work/restored"
"$modelfs" unpack -o "$work/restored" "$model.mfs"
cmp "$model" "$work/restored/sample.gguf"
orig=$(stat -c %s "$model")
packed=$(stat -c %s "$model.mfs")
echo "identical: $orig bytes restored from $packed stored ($(awk "BEGIN{printf \"%.3f\", $orig/$packed}")x)"

step "done"
echo "files are in $work"
