#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The model stores people already have, built from a generated model as each
# program lays it out, packed with `modelfs pack STORE`, mounted, and read by
# unmodified llama.cpp from the path the owning program uses; the tokens must
# be those of the raw file:
#   - ollama: models/blobs/sha256-HEX (no extension) found through a JSON
#     manifest; mounted over the store's own path, the blob keeps its name
#     and its sha256;
#   - Docker Model Runner: blobs/sha256/HEX, mounted over its own path;
#   - LM Studio: models/PUBLISHER/REPO/FILE.gguf;
#   - a Hugging Face cache: snapshots/REV/FILE.gguf -> ../../blobs/HEX.
# Files that are not models (manifests, configs, a blob that only starts like
# GGUF) are left as they are.
. "$(dirname "$0")/lib.sh"

raw=$WORK/raw.gguf
"$MODELFS_GEN" -q -p small -t q8_0 --order sorted -o "$raw"
hex=$(sha256sum "$raw" | cut -d' ' -f1)
size=$(stat -c %s "$raw")
echo 3 >/proc/sys/vm/drop_caches
ref=$("$node" "$here/generate.mjs" "$raw" mmap 16) || fail "llama.cpp failed on the raw file"
[ "$(wc -w <<<"$ref")" = 16 ] || fail "raw: expected 16 tokens, got: $ref"

# generate_from PATH LABEL: llama.cpp on PATH gives the raw file's tokens
generate_from() {
	local out
	echo 3 >/proc/sys/vm/drop_caches
	out=$("$node" "$here/generate.mjs" "$1" mmap 16) || fail "$2: llama.cpp failed on $1"
	[ "$out" = "$ref" ] || fail "$2: tokens differ from the raw file's: $out"
	echo "$2: $out"
	pass
}

# ---- ollama ---------------------------------------------------------------------
o=$WORK/ollama/models
mkdir -p "$o/blobs" "$o/manifests/registry.ollama.ai/library/tiny"
cp "$raw" "$o/blobs/sha256-$hex"
printf '{"stop":["</s>"]}' >"$o/blobs/sha256-params"
printf 'GGUF\003\000\000\000not really a model' >"$o/blobs/sha256-fake"
cat >"$o/manifests/registry.ollama.ai/library/tiny/latest" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:$hex","size":$size},
  {"mediaType":"application/vnd.ollama.image.params","digest":"sha256:params","size":17}]}
EOF
"$MODELFS" pack -q "$o" 2>"$LOG/pack.err" || fail "pack ollama store: $(cat "$LOG/pack.err")"
[ -f "$o/blobs/sha256-$hex.mfs" ] || fail "the model blob was not packed: $(ls "$o/blobs")"
[ ! -e "$o/blobs/sha256-params.mfs" ] && [ ! -e "$o/blobs/sha256-fake.mfs" ] ||
	fail "a blob that is no model was packed: $(ls "$o/blobs")"
grep -q "sha256-fake: looks like GGUF but is not one" "$LOG/pack.err" ||
	fail "no warning for the fake blob: $(cat "$LOG/pack.err")"
pass
mount_fg "$o" "$o"
[ "$(sha256sum "$o/blobs/sha256-$hex" | cut -d' ' -f1)" = "$hex" ] ||
	fail "ollama: the mounted blob's sha256 does not match its name"
pass
ls "$o/blobs" | grep -q '\.mfs$' && fail "ollama: a container shows under its own name"
pass
python3 - "$o" "$hex" <<'EOF' || fail "ollama: the manifest does not lead to the model blob"
import json, os, sys
root, hex_ = sys.argv[1:]
m = json.load(open(os.path.join(root, "manifests/registry.ollama.ai/library/tiny/latest")))
layer = [l for l in m["layers"] if l["mediaType"].endswith(".model")][0]
blob = os.path.join(root, "blobs", layer["digest"].replace(":", "-"))
assert os.path.getsize(blob) == layer["size"], (blob, layer)
assert open(blob, "rb").read(4) == b"GGUF"
EOF
pass
generate_from "$o/blobs/sha256-$hex" ollama
unmount "$o"

# ---- Docker Model Runner ------------------------------------------------------------
d=$WORK/docker/models
mkdir -p "$d/blobs/sha256" "$d/manifests/sha256"
cp "$raw" "$d/blobs/sha256/$hex"
printf '{"config":{"format":"gguf"}}' >"$d/blobs/sha256/0c0f"
printf '{"layers":[{"mediaType":"application/vnd.docker.ai.gguf.v3","digest":"sha256:%s"}]}' \
	"$hex" >"$d/manifests/sha256/0a0b"
"$MODELFS" pack -q "$d" || fail "pack Docker Model Runner store"
[ -f "$d/blobs/sha256/$hex.mfs" ] && [ ! -e "$d/blobs/sha256/0c0f.mfs" ] ||
	fail "Docker Model Runner: packed $(ls "$d/blobs/sha256")"
mount_fg "$d" "$d"
generate_from "$d/blobs/sha256/$hex" docker-model-runner
unmount "$d"

# ---- LM Studio ----------------------------------------------------------------------
l=$WORK/lmstudio/models
mkdir -p "$l/lmstudio-community/tiny-GGUF" "$WORK/mnt-lms"
cp "$raw" "$l/lmstudio-community/tiny-GGUF/tiny-Q8_0.gguf"
"$MODELFS" pack -q "$l" || fail "pack LM Studio tree"
mount_fg "$l" "$WORK/mnt-lms"
generate_from "$WORK/mnt-lms/lmstudio-community/tiny-GGUF/tiny-Q8_0.gguf" lm-studio
unmount "$WORK/mnt-lms"

# ---- Hugging Face cache -------------------------------------------------------------
h=$WORK/hf/hub/models--org--tiny-GGUF
rev=0123456789abcdef0123456789abcdef01234567
mkdir -p "$h/blobs" "$h/snapshots/$rev" "$h/refs" "$WORK/mnt-hf"
cp "$raw" "$h/blobs/$hex"
ln -s "../../blobs/$hex" "$h/snapshots/$rev/tiny-Q8_0.gguf"
echo "$rev" >"$h/refs/main"
"$MODELFS" pack -q "$WORK/hf/hub" || fail "pack Hugging Face cache"
[ -f "$h/blobs/$hex.mfs" ] || fail "Hugging Face: the blob was not packed: $(ls "$h/blobs")"
mount_fg "$WORK/hf/hub" "$WORK/mnt-hf"
generate_from "$WORK/mnt-hf/models--org--tiny-GGUF/snapshots/$rev/tiny-Q8_0.gguf" hugging-face
unmount "$WORK/mnt-hf"

done_ok
