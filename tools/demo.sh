#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on a generated sample model, end to end: build modelfs,
# generate a llama-architecture BF16 model, pack it, show what is inside,
# verify it, mount the packed directory, read the model back through the
# mount, run llama.cpp on it from the mount and from the raw file (same
# text), then unpack it; every byte must come back. (Mounting needs root or
# a working fusermount3; llama.cpp comes from the npm registry, as the tests
# install it. Without either, that step is skipped, and says why.)
#
#   tools/demo.sh [DIR]     work in DIR (default: a new temporary directory)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/progress.sh"
"$root/tools/install-deps.sh"

if [ ! -f "$root/build/build.ninja" ]; then
	quietly "demo: meson setup" meson setup "$root/build" "$root"
fi
quietly "demo: building modelfs" ninja -C "$root/build"
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
mounted=false
if [ -e /dev/fuse ] && "$modelfs" mount "$work/packed" "$work/mnt"; then
	mounted=true
	ls -l "$work/mnt"
	cmp "$model" "$work/mnt/sample.gguf"
	echo "identical through the mount: $work/mnt/sample.gguf"
else
	echo "(skipped: cannot mount FUSE here)"
fi

step "6. run llama.cpp on the model: from the raw file, then from the mount"
if ! $mounted; then
	echo "(skipped: no mount)"
elif echo "(llama.cpp: node-llama-cpp's prebuilt library, installed from the npm registry the first time)" &&
	! node=$("$root/tests/e2e/setup.sh" 2> >(tee "$work/llama-setup.log" >&2)); then
	echo "(skipped: could not install llama.cpp from the npm registry; see $work/llama-setup.log)"
else
	for where in raw mount; do
		f=$model
		[ $where = mount ] && f=$work/mnt/sample.gguf
		sync
		echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
		"$node" "$root/tests/e2e/generate.mjs" "$f" mmap 24 text >"$work/llama.$where"
		echo "$where: $(sed -n 2p "$work/llama.$where") ($(sed -n 3p "$work/llama.$where"))"
	done
	if cmp -s <(head -n1 "$work/llama.raw") <(head -n1 "$work/llama.mount"); then
		echo "the same tokens from both (a generated model: random weights, so the text is noise)"
	else
		echo "the tokens differ: that is a bug, please report it" >&2
		exit 1
	fi
fi
if $mounted; then
	"$modelfs" stats "$work/mnt" | grep -E "^options|bytes_served|chunks_decompressed|cache hit|decode speed"
	umount "$work/mnt"
fi
mv "$work/packed/sample.gguf.mfs" "$work/"

step "7. unpack to $work/restored and compare with the original"
rm -rf "$work/restored"
mkdir -p "$work/restored"
"$modelfs" unpack -o "$work/restored" "$model.mfs"
cmp "$model" "$work/restored/sample.gguf"
orig=$(stat -c %s "$model")
packed=$(stat -c %s "$model.mfs")
echo "identical: $orig bytes restored from $packed stored ($(awk "BEGIN{printf \"%.3f\", $orig/$packed}")x)"

step "done"
cat <<EOF
files are in $work

The demo ran $modelfs, from the build: nothing is installed
yet. To install modelfs (/usr/bin/modelfs, mount -t modelfs, man pages, the service):
  tools/build-deb.sh && sudo apt install ./modelfs_*.deb

Then, on your own models:
  modelfs pack ~/models                      # every .gguf/.safetensors below (and ollama blobs)
  modelfs mount ~/models /mnt/models         # X.mfs shows as X
  llama-cli -m /mnt/models/MODEL.gguf ...    # or any program that reads the file
  modelfs stats /mnt/models                  # what the daemon did
  umount /mnt/models
'modelfs --help', 'modelfs CMD --help' and man modelfs say more.
EOF
