#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pack -> verify -> unpack -> byte-identical, for every generator dtype and
# tensor order, safetensors single and sharded, every codec, extreme chunk
# sizes, directory inputs with -o, and a Hugging Face cache layout
# (snapshots/ symlinks into blobs/). Mode and mtime must survive.
. "$(dirname "$0")/lib.sh"

roundtrip() { # FILE [PACK OPTIONS...]
	local f=$1 out="$WORK/out"
	shift
	rm -rf "$out" "$f.mfs"
	mkdir -p "$out"
	expect_exit 0 "$MODELFS" pack -q "$@" "$f"
	[ -f "$f.mfs" ] || fail "no container for $f"
	expect_exit 0 "$MODELFS" verify "$f.mfs"
	expect_exit 0 "$MODELFS" unpack -q -o "$out" "$f.mfs"
	same_file "$f" "$out/$(basename "$f")"
	[ "$(stat -c %a.%Y "$f")" = "$(stat -c %a.%Y "$out/$(basename "$f")")" ] ||
		fail "mode or mtime not restored for $f"
	pass
	expect_exit 0 "$MODELFS" inspect --json "$f.mfs"
	grep -q '"original_size":'"$(stat -c %s "$f")" <<<"$OUT" || fail "inspect size for $f"
	pass
}

# Every GGUF dtype in both orders.
for t in f32 f16 bf16 q8_0 q4_0; do
	for order in layer sorted; do
		f="$WORK/m-$t-$order.gguf"
		"$MODELFS_GEN" -q -p small -t "$t" --order "$order" -o "$f"
		chmod 640 "$f"
		touch -d '2024-05-06 07:08:09.123456789' "$f"
		roundtrip "$f"
	done
done

# Safetensors, single file and sharded.
for t in f32 f16 bf16; do
	"$MODELFS_GEN" -q -f safetensors -t "$t" -p small -o "$WORK/st-$t.safetensors"
	roundtrip "$WORK/st-$t.safetensors"
done
"$MODELFS_GEN" -q -f safetensors -t bf16 -p small --shards 3 -o "$WORK/sharded"
expect_exit 0 "$MODELFS" pack -q "$WORK/sharded"
n=$(ls "$WORK/sharded"/*.safetensors.mfs | wc -l)
[ "$n" = 3 ] || fail "expected 3 shard containers, got $n"
[ ! -e "$WORK/sharded/model.safetensors.index.json.mfs" ] || fail "index json was packed"
pass
for s in "$WORK/sharded"/*.safetensors; do
	expect_exit 0 "$MODELFS" unpack -q -o "$WORK" "$s.mfs"
	same_file "$s" "$WORK/$(basename "$s")"
done

# Every codec and level extreme, odd chunk sizes, on one model.
f="$WORK/m-bf16-layer.gguf"
roundtrip "$f" --codec lz4
roundtrip "$f" --codec lz4 --level 9
roundtrip "$f" --codec store
roundtrip "$f" --codec zstd --level 19
roundtrip "$f" --codec zstd --level 1 --chunk-size 4K
roundtrip "$f" --chunk-size 16M -j 1
roundtrip "$f" -j 7

# store keeps every byte; zstd shrinks BF16 weights
"$MODELFS" pack -q -f --codec store "$f"
[ "$(stat -c %s "$f.mfs")" -gt "$(stat -c %s "$f")" ] || fail "store container smaller than original"
"$MODELFS" pack -q -f "$f"
[ "$(stat -c %s "$f.mfs")" -lt "$(($(stat -c %s "$f") * 85 / 100))" ] ||
	fail "zstd should save more than 15% on BF16"
pass

# A file in no known format is packed in fixed-size chunks.
head -c 3000000 /dev/urandom >"$WORK/blob.bin"
roundtrip "$WORK/blob.bin"
: >"$WORK/empty.bin"
roundtrip "$WORK/empty.bin"

# Directory input mirrored under -o, other files left alone.
mkdir -p "$WORK/tree/a/b"
cp "$WORK/m-q8_0-layer.gguf" "$WORK/tree/a/b/x.gguf"
cp "$WORK/st-f16.safetensors" "$WORK/tree/y.safetensors"
echo '{}' >"$WORK/tree/config.json"
expect_exit 0 "$MODELFS" pack -q -o "$WORK/packed" "$WORK/tree"
[ -f "$WORK/packed/a/b/x.gguf.mfs" ] && [ -f "$WORK/packed/y.safetensors.mfs" ] ||
	fail "directory not mirrored: $(find "$WORK/packed")"
[ ! -e "$WORK/packed/config.json.mfs" ] || fail "config.json was packed"
pass

# Hugging Face cache: snapshots/REV/model.safetensors -> ../../blobs/HASH
hf="$WORK/hub/models--org--m"
mkdir -p "$hf/blobs" "$hf/snapshots/abc123"
cp "$WORK/st-bf16.safetensors" "$hf/blobs/0123456789abcdef"
ln -s ../../blobs/0123456789abcdef "$hf/snapshots/abc123/model.safetensors"
ln -s ../../blobs/0123456789abcdef "$hf/snapshots/abc123/alias.safetensors"
ln -s /etc/hostname "$hf/snapshots/abc123/outside.safetensors"
expect_exit 0 "$MODELFS" pack -q "$WORK/hub"
[ -f "$hf/blobs/0123456789abcdef.mfs" ] || fail "blob behind the symlink was not packed"
[ -L "$hf/snapshots/abc123/model.safetensors" ] || fail "symlink was touched"
[ "$(find "$WORK/hub" -name '*.mfs' | wc -l)" = 1 ] || fail "blob packed more than once"
pass
expect_exit 0 "$MODELFS" inspect "$hf/blobs/0123456789abcdef.mfs"
grep -q 'original is safetensors' <<<"$OUT" || fail "blob not recognised as safetensors"
pass

# Re-running pack skips what is done; --force replaces.
before=$(stat -c %Y.%i "$hf/blobs/0123456789abcdef.mfs")
expect_exit 0 "$MODELFS" pack "$WORK/hub"
grep -q "skipped" <<<"$ERR" || fail "no skip notice: $ERR"
[ "$before" = "$(stat -c %Y.%i "$hf/blobs/0123456789abcdef.mfs")" ] || fail "skipped file changed"
expect_exit 0 "$MODELFS" pack -q --force "$WORK/hub"
[ "$before" != "$(stat -c %Y.%i "$hf/blobs/0123456789abcdef.mfs")" ] || fail "--force did not replace"
pass

no_temp_files "$WORK"
done_ok
