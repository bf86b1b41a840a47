#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Conformance: spec.py, a second reader written from index/FORMAT.md alone,
# decodes containers the C packer wrote, for every dtype the generator makes
# and every codec, and must get the original bytes back.
. "$(dirname "$0")/lib.sh"

# Debian's python3 carries the zstd and lz4 bindings (tools/install-deps.sh);
# a python3 earlier on PATH (pyenv, venv) may not.
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import zstandard, lz4.block' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || fail "no python3 with the zstandard and lz4 modules (run tools/install-deps.sh)"
spec=$(dirname "$0")/spec.py

check() { # check MODEL CODEC REQUIRED...
	local f=$1 codec=$2 req=()
	shift 2
	for r in digests "$@"; do req+=(--require "$r"); done
	expect_exit 0 "$MODELFS" pack -q -f --codec "$codec" "$f"
	expect_exit 0 "$py" "$spec" "$f.mfs" "$f" "${req[@]}"
	echo "$OUT"
}

for t in bf16 f32 f16 q8_0 q4_0; do
	expect_exit 0 "$MODELFS_GEN" -q -t "$t" -o "$WORK/$t.gguf"
done
check "$WORK/bf16.gguf" planes planes/fields plane:rans32 plane:rans plane:raw
check "$WORK/f32.gguf" planes planes/fields plane:rans32 plane:rans plane:raw
check "$WORK/f16.gguf" planes planes/bytes planes/fields plane:zstd
check "$WORK/q8_0.gguf" planes planes/fields plane:const plane:rans plane:zstd
check "$WORK/q4_0.gguf" planes planes/fields plane:rans plane:zstd
check "$WORK/bf16.gguf" auto planes/fields
check "$WORK/bf16.gguf" zstd zstd/identity
check "$WORK/bf16.gguf" lz4 lz4/identity
check "$WORK/f16.gguf" store store/identity

# Containers of the formats before this one, of the same model ('modelfs-gen
# -t bf16 --layers 1 --embd 32 --ff 64 --heads 2 --kv-heads 2'): 1.0 (before
# plane method 4, packed by commit 16de922) and 1.1 (plane method 4, no chunk
# digests, packed by commit e162c8b). Both readers still read them, and the
# original comes back.
for v in "1.0 plane:rans" "1.1 plane:rans32"; do
	old=$(dirname "$0")/data/format-${v% *}-bf16.gguf.mfs
	expect_exit 0 "$MODELFS" inspect "$old"
	grep -q "modelfs container v${v% *}" <<<"$OUT" || fail "the old container is not ${v% *}: $OUT"
	grep -q "^digests: *none" <<<"$OUT" || fail "inspect does not say ${v% *} has no digests: $OUT"
	expect_exit 0 "$MODELFS" verify -q "$old"
	expect_exit 0 "$MODELFS" unpack -q -o "$WORK/old${v% *}" "$old"
	[ "$(sha256sum <"$WORK/old${v% *}/format-${v% *}-bf16.gguf" | cut -d' ' -f1)" = fc87ccfd3aa3fc04f9974f4dabf9c4c3bf020cf86c780e869f2507f17b702205 ] ||
		fail "the format ${v% *} container unpacks to other bytes"
	expect_exit 0 "$py" "$spec" "$old" "$WORK/old${v% *}/format-${v% *}-bf16.gguf" --require "${v#* }"
	pass
done

# The second reader must also reject what the first rejects.
f=$WORK/bf16.gguf
expect_exit 0 "$MODELFS" pack -q -f --codec planes "$f"
expect_exit 0 "$MODELFS" inspect --json --chunks "$f.mfs"
at=$(grep -o '"stored_at":[0-9]*,"stored":[0-9]*,"codec":"planes"' <<<"$OUT" | head -1 |
	sed 's/"stored_at":\([0-9]*\),"stored":\([0-9]*\).*/\1 \2/')
read -r pos len <<<"$at"
flip "$f.mfs" $((pos + len - 3))
expect_exit 1 "$py" "$spec" "$f.mfs" "$f"
grep -q -e 'decodes to other bytes' -e 'not a valid container' -e 'do not have its SHA-256' <<<"$OUT" ||
	fail "spec.py accepted a flipped byte: $OUT"
expect_exit 1 "$MODELFS" verify -q "$f.mfs"
done_ok
