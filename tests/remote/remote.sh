#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Remote sources against a real web server: nginx (Debian's) on loopback,
# over http and over https with a CA made here. `modelfs publish` lists a
# directory, `modelfs mount http://...` serves it lazily, every byte compared
# with the original; the chunk store shares the tensors two models have in
# common, serves a remount with the server gone, and `modelfs fetch` fills it
# for offline use.
. "$(dirname "$0")/lib.sh"

www=$WORK/www
mkdir -p "$www" "$WORK/orig"
chunks_of() { "$MODELFS" inspect --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["chunks"])'; }
# Two models sharing their embeddings, output and first two of four layers.
"$MODELFS_GEN" -q -p small -o "$WORK/orig/base.gguf"
"$MODELFS_GEN" -q -p small --reseed-from 2 -o "$WORK/orig/tuned.gguf"
# --min-decode 1: each tensor's smallest method, whatever this machine's speed
# (a sanitizer build decodes slower than the 200 MB/s default asks): the same
# tensor in both files must be packed the same way for the store to share it.
"$MODELFS" pack -q --min-decode 1 -o "$www" "$WORK/orig/base.gguf" "$WORK/orig/tuned.gguf"

# ---- publish ----------------------------------------------------------------
expect_exit 0 "$MODELFS" publish "$www"
expect_msg "wrote $www/modelfs.json"
python3 - "$www" <<'PY' || fail "modelfs.json does not list the containers right"
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "modelfs.json")))
assert m["modelfs"] == 1
names = sorted(f["name"] for f in m["files"])
assert names == ["base.gguf.mfs", "tuned.gguf.mfs"], names
for f in m["files"]:
    assert f["size"] == os.path.getsize(os.path.join(d, f["name"]))
    assert len(f["xxh3"]) == 32
PY
pass
expect_exit 1 "$MODELFS" publish "$WORK/orig"
expect_msg "no containers (X.mfs) to publish"

# Hostile lists: refused with the problem named, nothing mounted.
bad() { mkdir -p "$www/bad$1" && printf '%s' "$2" >"$www/bad$1/modelfs.json"; }
bad 1 '{"modelfs": 1, "files": [{"name": "../x.mfs", "size": 1000}]}'
bad 2 '{"modelfs": 1, "files": [{"name": "x.gguf", "size": 1000}]}'
bad 3 '{"modelfs": 2, "files": []}'
bad 4 '{"modelfs": 1, "files": [{"name": "x.mfs"}]}'
bad 5 '{"modelfs": 1, "files": [{"name": "x.mfs", "size": 1000}'
bad 6 '{"modelfs": 1, "files": [{"name": "missing.mfs", "size": 100000}]}'

start_nginx "$www"
url=http://127.0.0.1:$NGINX_PORT/
for b in "1 not a plain X.mfs name" "2 not a plain X.mfs name" "3 not a modelfs list" \
	"4 needs a name and a size" "5 modelfs.json" "6 HTTP 404"; do
	expect_exit 1 "$MODELFS" mount -f -o store="$WORK/badstore" "${url}bad${b%% *}/" "$WORK/badmnt"
	expect_msg "${b#* }"
done
mountpoint -q "$WORK/badmnt" 2>/dev/null && fail "a hostile list got mounted"
pass

# ---- lazy mount: only what is read comes over the network --------------------
mnt=$WORK/mnt
mount_fg "$url" "$mnt" -o store="$WORK/store"
[ "$(ls "$mnt")" = "$(printf 'base.gguf\ntuned.gguf')" ] || fail "listing: $(ls "$mnt")"
pass
grep -q "modelfs:$url $mnt fuse.modelfs" /proc/mounts || fail "fsname is not the URL: $(grep "$mnt" /proc/mounts)"
pass
[ "$(served_bytes 'base.gguf.mfs')" -lt 2000000 ] ||
	fail "mounting fetched $(served_bytes 'base.gguf.mfs') bytes of base before any read"
pass
head -c 100000 "$mnt/base.gguf" | cmp -s - <(head -c 100000 "$WORK/orig/base.gguf") ||
	fail "the first bytes differ"
pass
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
base_bytes=$(served_bytes 'base.gguf.mfs')
base_stored=$(stat -c %s "$www/base.gguf.mfs")
# Read in order, the chunks are fetched ahead, adjacent ones in one request.
base_requests=$(grep -c 'base.gguf.mfs' "$NGINX_LOG")
base_chunks=$(chunks_of "$www/base.gguf.mfs")
echo "base: $base_requests requests for $base_chunks chunks"
[ "$((base_requests * 4))" -le "$((base_chunks * 3))" ] ||
	fail "base: $base_requests requests for $base_chunks chunks: not coalesced"
pass
[ "$(stat_json "$mnt" remote_requests)" -lt "$(stat_json "$mnt" remote_fetched_chunks)" ] ||
	fail "stats: $(stat_json "$mnt" remote_requests) requests for $(stat_json "$mnt" remote_fetched_chunks) chunks"
pass
# Every chunk once (prefetch included), plus the skeleton's metadata.
[ "$base_bytes" -le $((base_stored + base_stored / 20)) ] ||
	fail "base: $base_bytes bytes fetched for a $base_stored-byte container"
pass
[ "$(stat_json "$mnt" remote_bad_fetches)" = 0 ] || fail "bad fetches from nginx"
pass

# ---- shared tensors are fetched and stored once --------------------------------
store_before=$(du -sb "$WORK/store/chunks" | cut -f1)
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
tuned_bytes=$(served_bytes 'tuned.gguf.mfs')
store_after=$(du -sb "$WORK/store/chunks" | cut -f1)
echo "fetched: base $base_bytes bytes, tuned $tuned_bytes; store grew by $((store_after - store_before)) for tuned"
[ "$((tuned_bytes * 100))" -le "$((base_bytes * 55))" ] ||
	fail "tuned: $tuned_bytes bytes fetched, more than 55% of base's $base_bytes"
pass
[ "$(((store_after - store_before) * 100))" -le "$((store_before * 55))" ] ||
	fail "tuned: the store grew by $((store_after - store_before)), base took $store_before"
pass

# ---- the store is private, the mount is not ---------------------------------------
# Another local user learns nothing from the store (what is mounted from where,
# the containers' metadata) and reads the models through the mount.
[ "$(stat -c %a "$WORK/store")" = 700 ] || fail "the store is $(stat -c %a "$WORK/store"), not 700"
open=$(find "$WORK/store" -mindepth 1 -perm /077 | head -3)
[ -z "$open" ] || fail "in the store, open to others: $open"
unmount "$mnt"
mount_fg "$url" "$mnt" -o store="$WORK/store",allow_other
second_user
chmod 755 "$WORK/orig"
chmod 644 "$WORK/orig/base.gguf"
as_other ls "$WORK/store" >/dev/null 2>&1 && fail "another user lists the store"
as_other cat "$WORK"/store/sources/*/files/base.gguf.mfs >/dev/null 2>&1 &&
	fail "another user reads a skeleton"
[ "$(stat -c %a "$mnt/base.gguf")" = 644 ] || fail "the mount shows $(stat -c %a "$mnt/base.gguf"), not the original's 644"
as_other cmp "$mnt/base.gguf" "$WORK/orig/base.gguf" || fail "another user cannot read the mounted model"
pass
# Skeletons (the containers' metadata) count in the store's size.
meta=$(du -sB1 "$WORK/store/sources" | cut -f1)
[ "$meta" -gt 0 ] || fail "no skeletons under sources/"
chunks=$(find "$WORK/store/chunks" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$(stat_json "$mnt" store_bytes)" -ge $((chunks + meta / 2)) ] ||
	fail "store_bytes $(stat_json "$mnt" store_bytes): chunks $chunks, skeletons $meta not counted"
pass
unmount "$mnt"

# ---- the chain from a pinned list to every byte -------------------------------------
# modelfs.json names each container's metadata digest; a mount shows the list's
# own digest as pin=, and -o pin= mounts exactly that list or nothing.
python3 - "$www" <<'PY' || fail "modelfs.json lacks the metadata digests"
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "modelfs.json")))
for f in m["files"]:
    assert f["metadata"].startswith("sha256:") and len(f["metadata"]) == 71, f
PY
listed=sha256:$(sha256sum "$www/modelfs.json" | cut -d' ' -f1)
mount_fg "$url" "$mnt" -o store="$WORK/store",pin="$listed"
"$MODELFS" stats "$mnt" | grep -q "^options .*,pin=$listed\$" ||
	fail "the mount does not show the list it used: $("$MODELFS" stats "$mnt" | grep options)"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
wrong=sha256:$(printf '%064d' 0)
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store",pin="$wrong" "$url" "$mnt"
expect_msg "modelfs.json is $listed, not the pinned $wrong"
expect_exit 2 "$MODELFS" mount -f -o store="$WORK/store",pin=sha256:abc "$url" "$mnt"
expect_msg "pin 'sha256:abc' is not sha256:<64 hex digits>"
# A list naming other metadata than the container has (base's digest on tuned):
# refused before any chunk is fetched.
mkdir -p "$www/swapped"
cp "$www/base.gguf.mfs" "$www/tuned.gguf.mfs" "$www/swapped/"
python3 - "$www/modelfs.json" "$www/swapped/modelfs.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
base = [f for f in m["files"] if f["name"] == "base.gguf.mfs"][0]["metadata"]
for f in m["files"]:
    if f["name"] == "tuned.gguf.mfs":
        f["metadata"] = base
json.dump(m, open(sys.argv[2], "w"))
PY
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store" "${url}swapped/" "$mnt"
expect_msg "tuned.gguf.mfs: its metadata is sha256:"
expect_msg "not the $(python3 -c 'import json,sys; print([f for f in json.load(open(sys.argv[1]))["files"] if f["name"] == "base.gguf.mfs"][0]["metadata"])' "$www/modelfs.json") the list names"
mountpoint -q "$mnt" && fail "mounted a list whose metadata digest does not match"
pass

# ---- a warm store serves a remount without the server ----------------------------
stop_nginx
echo 3 >/proc/sys/vm/drop_caches
mount_fg "$url" "$mnt" -o store="$WORK/store"
grep -q "serving the copy fetched before" "$DLOG" || fail "no warning that the server is gone: $(cat "$DLOG")"
pass
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
[ "$(stat_json "$mnt" remote_fetched_chunks)" = 0 ] || fail "chunks fetched with the server gone?"
pass
unmount "$mnt"
# A cold store and no server: a clear error, no mount.
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/cold" "$url" "$mnt"
expect_msg "Couldn't connect to server"
mountpoint -q "$mnt" && fail "mounted without a source"
pass

# ---- modelfs fetch fills a store for offline use ---------------------------------
start_nginx "$www"
url=http://127.0.0.1:$NGINX_PORT/
expect_exit 0 "$MODELFS" fetch -q -o store="$WORK/fetched" "$url"
fetch_requests=$(grep -c '[.]mfs ' "$NGINX_LOG")
tuned_chunks=$(chunks_of "$www/tuned.gguf.mfs")
echo "fetch: $fetch_requests requests for $((base_chunks + tuned_chunks)) chunks"
[ "$((fetch_requests * 2))" -le "$((base_chunks + tuned_chunks))" ] ||
	fail "fetch: $fetch_requests requests for $((base_chunks + tuned_chunks)) chunks: not coalesced"
pass
stop_nginx
mount_fg "$url" "$mnt" -o store="$WORK/fetched"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
unmount "$mnt"

# ---- a damaged chunk in the store is found, dropped and fetched again -------------
start_nginx "$www"
url=http://127.0.0.1:$NGINX_PORT/
victim=$(find "$WORK/fetched/chunks" -type f -print -quit)
flip "$victim" 100
mount_fg "$url" "$mnt" -o store="$WORK/fetched"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
[ "$(stat_json "$mnt" remote_fetched_chunks)" -ge 1 ] || fail "the damaged chunk was not fetched again"
pass
unmount "$mnt"
# Damage the file's own hash does not see (a payload byte changed, the header's
# xxh3 redone): the chunk fails when decoded, the entry is removed and the
# chunk fetched again - on this read, not never.
victim=$(find "$WORK/fetched/chunks" -type f -size +1k -print -quit)
python3 - "$victim" <<'PY'
import ctypes, struct, sys
x = ctypes.CDLL("libxxhash.so.0")
x.XXH3_64bits.restype = ctypes.c_uint64
x.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
b = bytearray(open(sys.argv[1], "rb").read())
b[16 + (len(b) - 16) // 2] ^= 0x40
b[8:16] = struct.pack("<Q", x.XXH3_64bits(bytes(b[16:]), len(b) - 16))
open(sys.argv[1], "wb").write(b)
PY
mount_fg "$url" "$mnt" -o store="$WORK/fetched"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
[ "$(stat_json "$mnt" store_damaged)" = 1 ] || fail "store_damaged $(stat_json "$mnt" store_damaged), not 1"
[ "$(stat_json "$mnt" remote_fetched_chunks)" -ge 1 ] || fail "the damaged chunk was not fetched again"
unmount "$mnt"
mount_fg "$url" "$mnt" -o store="$WORK/fetched"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
[ "$(stat_json "$mnt" remote_fetched_chunks)" = 0 ] || fail "the chunk fetched again was not stored"
pass
unmount "$mnt"

# ---- one container by URL; plain http refused beyond loopback ----------------------
mount_fg "${url}base.gguf.mfs" "$mnt" -o store="$WORK/store"
[ "$(ls "$mnt")" = base.gguf ] || fail "single container: $(ls "$mnt")"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
# mount.modelfs (mount -t modelfs, fstab) takes a URL as its source, with fstab's options.
"$MOUNT_MODELFS" "$url" "$mnt" -o defaults,_netdev,nofail,noatime,store="$WORK/store",timeout=10 ||
	fail "mount.modelfs with a URL"
grep -q "^modelfs:$url $mnt fuse.modelfs" /proc/mounts || fail "mount.modelfs: $(grep " $mnt " /proc/mounts)"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
umount "$mnt"
pass
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store" http://192.0.2.1/models/ "$mnt"
expect_msg "plain http to a host other than this one"
stop_nginx

# ---- basic auth from a private credentials file ------------------------------------
mkdir -p "$www/private"
cp "$www/base.gguf.mfs" "$www/private/"
"$MODELFS" publish -q "$www/private"
printf 'reader:%s\n' "$(openssl passwd -apr1 s3cret)" >"$WORK/htpasswd"
NGINX_EXTRA="location /private/ { auth_basic modelfs; auth_basic_user_file $WORK/htpasswd; }" \
	start_nginx "$www"
purl=http://127.0.0.1:$NGINX_PORT/private/
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/authstore" "$purl" "$mnt"
expect_msg "HTTP 401"
printf '# test\n127.0.0.1:%s basic reader:s3cret\n' "$NGINX_PORT" >"$WORK/creds"
chmod 644 "$WORK/creds"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/authstore",credentials="$WORK/creds" "$purl" "$mnt"
expect_msg "readable by no one else"
chmod 600 "$WORK/creds"
mount_fg "$purl" "$mnt" -o store="$WORK/authstore",credentials="$WORK/creds"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
printf '127.0.0.1:%s basic reader:wrong\n' "$NGINX_PORT" >"$WORK/creds"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/authstore2",credentials="$WORK/creds" "$purl" "$mnt"
expect_msg "HTTP 401"
printf '127.0.0.1:%s basic no-colon\n' "$NGINX_PORT" >"$WORK/creds"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/authstore2",credentials="$WORK/creds" "$purl" "$mnt"
expect_msg "creds:1: not HOST basic USER:PASSWORD"
stop_nginx

# ---- a header (an API key) for one host; a redirect to another host gets none -------
mkdir -p "$www/keyed"
cp "$www/base.gguf.mfs" "$www/keyed/"
"$MODELFS" publish -q "$www/keyed"
NGINX_EXTRA="location /keyed/ { if (\$http_x_api_key != k3y) { return 401; }
	rewrite ^/keyed/(.*[.]mfs)\$ http://localhost:\$server_port/open/\$1 redirect; }
	location /open/ { alias $www/keyed/; }" start_nginx "$www"
kurl=http://127.0.0.1:$NGINX_PORT/keyed/
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/keystore" "$kurl" "$mnt"
expect_msg "HTTP 401"
printf '127.0.0.1:%s header X-Api-Key: k3y\n' "$NGINX_PORT" >"$WORK/creds"
chmod 600 "$WORK/creds"
mount_fg "$kurl" "$mnt" -o store="$WORK/keystore",credentials="$WORK/creds"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
grep -q "^/keyed/modelfs.json 200 .* key=k3y$" "$NGINX_LOG" || fail "the list was not fetched with the key"
grep -q "^/open/base.gguf.mfs 206 .* localhost:$NGINX_PORT key=-$" "$NGINX_LOG" ||
	fail "no chunk read through the redirect: $(tail -3 "$NGINX_LOG")"
! grep -q "^/open/.* key=k3y$" "$NGINX_LOG" || fail "the key went along a redirect to another host"
pass
printf '127.0.0.1:%s header X-Api-Key k3y\n' "$NGINX_PORT" >"$WORK/creds"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/keystore",credentials="$WORK/creds" "$kurl" "$mnt"
expect_msg "creds:1: not HOST basic USER:PASSWORD, HOST bearer TOKEN or HOST header 'NAME: VALUE'"
printf '127.0.0.1:%s basic a:b\n127.0.0.1:%s bearer t\n' "$NGINX_PORT" "$NGINX_PORT" >"$WORK/creds"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/keystore",credentials="$WORK/creds" "$kurl" "$mnt"
expect_msg "creds:2: a second bearer for 127.0.0.1:$NGINX_PORT"
stop_nginx

# ---- https with a CA made here -----------------------------------------------------
tls=$WORK/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=modelfs test CA" \
	-keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$tls/srv.key" -out "$tls/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls/ext"
openssl x509 -req -in "$tls/srv.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
	-days 2 -extfile "$tls/ext" -out "$tls/srv.pem" 2>/dev/null
start_nginx "$www" "$tls/srv.pem" "$tls/srv.key"
surl=https://127.0.0.1:$NGINX_PORT/
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/tlsstore" "$surl" "$mnt"
expect_msg "certificate"
mount_fg "$surl" "$mnt" -o store="$WORK/tlsstore",cafile="$tls/ca.pem"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
stop_nginx

no_temp_files "$WORK/store"
done_ok
