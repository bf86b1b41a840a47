#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two sources on one chunk store, one of them hostile: nothing the hostile
# source serves reaches the other's reads. The hostile source publishes a
# file whose only chunk has the same xxh3-64, lengths, codec and transform as
# a chunk of the victim's (an XXH3 collision, built here directly: no search,
# see collide below) - what keyed the store before chunk digests. With digests
# (format 1.2) the store keys chunks by their SHA-256, checked on arrival;
# without (a container of format 1.1) by a key private to each source. Either
# way the victim's mount fetches and serves its own bytes.
. "$(dirname "$0")/lib.sh"

www=$WORK/www
mkdir -p "$www/v" "$www/h" "$www/v11" "$www/h11"

# collide A B: two 64 KiB files with equal XXH3-64. In XXH3's long loop every
# 8-byte lane adds its value to one accumulator and the product of its two
# halves xor the secret to the next; with the low half equal to the
# secret's, the product is 0 whatever the high half. Two such lanes feeding
# the same accumulator in one block, one moved up by d and the other down by
# d, leave every accumulator - and the hash - as it was.
collide() {
	python3 - "$1" "$2" <<'PY'
import ctypes, os, re, struct, sys
src = open("/usr/include/xxhash.h").read()
m = re.search(r"XXH3_kSecret\[XXH_SECRET_DEFAULT_SIZE\]\s*=\s*\{(.*?)\};", src, re.S)
secret = bytes(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]{2}", m.group(1)))
assert len(secret) == 192
n = 65536
a = bytearray(os.urandom(n))
for stripe in (1, 2):  # lane 0 of stripes 1 and 2 of the first block
    a[stripe * 64:stripe * 64 + 4] = secret[stripe * 8:stripe * 8 + 4]
b = bytearray(a)
for off, d in ((64 + 4, 0x1234567), (128 + 4, -0x1234567)):
    struct.pack_into("<I", b, off, (struct.unpack_from("<I", b, off)[0] + d) & 0xffffffff)
x = ctypes.CDLL("libxxhash.so.0")
x.XXH3_64bits.restype = ctypes.c_uint64
x.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
assert a != b and x.XXH3_64bits(bytes(a), n) == x.XXH3_64bits(bytes(b), n)
open(sys.argv[1], "wb").write(a)
open(sys.argv[2], "wb").write(b)
PY
}

# as_11 IN OUT: the container as format 1.1 wrote it: no digests (the
# footer's compat bit cleared and its checksum redone; the section is a gap)
as_11() {
	python3 - "$1" "$2" <<'PY'
import ctypes, struct, sys
x = ctypes.CDLL("libxxhash.so.0")
x.XXH3_64bits.restype = ctypes.c_uint64
x.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
c = bytearray(open(sys.argv[1], "rb").read())
f = len(c) - 208
struct.pack_into("<I", c, f + 40, struct.unpack_from("<I", c, f + 40)[0] & ~1)
struct.pack_into("<Q", c, f + 192, x.XXH3_64bits(bytes(c[f:f + 192]), 192))
open(sys.argv[2], "wb").write(c)
PY
}

collide "$WORK/victim.bin" "$WORK/hostile.bin" || fail "could not build the collision"
cmp -s "$WORK/victim.bin" "$WORK/hostile.bin" && fail "the two files are the same"
# One chunk each, stored as it is: the same lengths, codec and transform.
"$MODELFS" pack -q --codec store -o "$www/v" "$WORK/victim.bin" 2>/dev/null
"$MODELFS" pack -q --codec store -o "$www/h" "$WORK/hostile.bin" 2>/dev/null
mv "$www/h/hostile.bin.mfs" "$www/h/model.bin.mfs"
mv "$www/v/victim.bin.mfs" "$www/v/model.bin.mfs"
as_11 "$www/v/model.bin.mfs" "$www/v11/model.bin.mfs"
as_11 "$www/h/model.bin.mfs" "$www/h11/model.bin.mfs"
for d in v h v11 h11; do "$MODELFS" publish -q "$www/$d"; done
# what keyed a chunk in the store before digests: lengths, xxh3, codec, transform
chunk_id() {
	python3 - "$1" <<'PY'
import struct, sys
c = open(sys.argv[1], "rb").read()
f = len(c) - 208
off, length, _, esize, count = struct.unpack_from("<QQQII", c, f + 56 + 3 * 32)
assert count == 1, count
llen, plen, xxh, _, codec, xform, _, param = struct.unpack_from("<IIQIBBHI", c, off + 16)
print(llen, plen, hex(xxh), codec, xform, param)
PY
}
[ "$(chunk_id "$www/v/model.bin.mfs")" = "$(chunk_id "$www/h/model.bin.mfs")" ] ||
	fail "the chunks differ: $(chunk_id "$www/v/model.bin.mfs"), $(chunk_id "$www/h/model.bin.mfs")"
expect_exit 0 "$MODELFS" inspect "$www/v11/model.bin.mfs"
grep -q "^digests: *none" <<<"$OUT" || fail "the 1.1 copy has digests: $OUT"
pass

start_nginx "$www"
url=http://127.0.0.1:$NGINX_PORT
mnt=$WORK/mnt
for kind in "" 11; do
	store=$WORK/store$kind
	# The hostile source first: its bytes fill the store.
	mount_fg "$url/h$kind/" "$mnt" -o store="$store"
	same_file "$mnt/model.bin" "$WORK/hostile.bin"
	unmount "$mnt"
	# Then the victim's, on the same store: its own bytes, fetched from it.
	: >"$NGINX_LOG"
	mount_fg "$url/v$kind/" "$mnt" -o store="$store"
	cmp -s "$mnt/model.bin" "$WORK/victim.bin" ||
		fail "format 1.${kind:-2}: the victim's mount served the hostile source's bytes"
	[ "$(stat_json "$mnt" remote_fetched_chunks)" = 1 ] ||
		fail "format 1.${kind:-2}: the victim's chunk came from the store, not its source"
	[ "$(stat_json "$mnt" remote_store_hits)" = 0 ] ||
		fail "format 1.${kind:-2}: $(stat_json "$mnt" remote_store_hits) store hits"
	unmount "$mnt"
	[ "$(find "$store/chunks" -type f | wc -l)" = 2 ] ||
		fail "format 1.${kind:-2}: $(find "$store/chunks" -type f | wc -l) chunks stored, expected 2"
	pass
done

# Sharing by digest still works across sources: the same bytes under another URL.
mkdir -p "$www/v2"
cp "$www/v/model.bin.mfs" "$www/v2/"
"$MODELFS" publish -q "$www/v2"
mount_fg "$url/v2/" "$mnt" -o store="$WORK/store"
same_file "$mnt/model.bin" "$WORK/victim.bin"
[ "$(stat_json "$mnt" remote_store_hits)" = 1 ] && [ "$(stat_json "$mnt" remote_fetched_chunks)" = 0 ] ||
	fail "a chunk with the same digest from another source was fetched again"
pass
unmount "$mnt"
# A hostile server that sends other bytes for a chunk with a digest: refused,
# never stored (the decode would not have caught a collision; the digest does).
mkdir -p "$www/liar"
cp "$www/v/model.bin.mfs" "$www/liar/"
"$MODELFS" publish -q "$www/liar"
python3 - "$www/liar/model.bin.mfs" "$WORK/hostile.bin" <<'PY'
import sys
c = bytearray(open(sys.argv[1], "rb").read())
h = open(sys.argv[2], "rb").read()
c[64:64 + len(h)] = h  # the stored chunk (codec store) replaced by its collision
open(sys.argv[1], "wb").write(c)
PY
mount_fg "$url/liar/" "$mnt" -o store="$WORK/liarstore",timeout=3
cat "$mnt/model.bin" >/dev/null 2>&1 && fail "a chunk whose bytes are not its digest was served"
[ "$(stat_json "$mnt" remote_bad_fetches)" -ge 1 ] || fail "no bad fetch counted"
unmount "$mnt"
[ "$(find "$WORK/liarstore/chunks" -type f | wc -l)" = 0 ] || fail "the liar's bytes were stored"
pass
done_ok
