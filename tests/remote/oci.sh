#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OCI registries: the CNCF distribution registry (Debian's docker-registry) on
# loopback. `modelfs push` uploads a directory of containers as an artifact
# (blobs the registry has are not sent again), `modelfs mount oci://...`
# serves it lazily with every byte compared, and a second artifact sharing
# blobs and tensors costs only what differs. An artifact whose layer is a
# plain .gguf (Docker Model Runner's media type) is served as it is, lazily,
# and from the store with the registry gone.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is not installed"
mkdir -p "$WORK/a" "$WORK/b" "$WORK/orig"
"$MODELFS_GEN" -q -p small -o "$WORK/orig/base.gguf"
"$MODELFS_GEN" -q -p small --reseed-from 2 -o "$WORK/orig/tuned.gguf"
# --min-decode 1: the same bytes in both packs whatever this machine's speed
# (packing measures decode speed), so the second push finds base's blob there.
"$MODELFS" pack -q --min-decode 1 -o "$WORK/a" "$WORK/orig/base.gguf"
"$MODELFS" pack -q --min-decode 1 -o "$WORK/b" "$WORK/orig/base.gguf" "$WORK/orig/tuned.gguf"
start_registry
reg=127.0.0.1:$REGISTRY_PORT
puts() { grep -c '"PUT /v2/models/llama/blobs/uploads/' "$REGISTRY_LOG" || true; }

# ---- push ---------------------------------------------------------------------
expect_exit 0 "$MODELFS" push "$WORK/a" "oci://$reg/models/llama:base"
expect_msg "base.gguf.mfs: uploaded"
[ "$(puts)" = 2 ] || fail "push uploaded $(puts) blobs, expected the container and the config"
pass
curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$reg/v2/models/llama/manifests/base" >"$WORK/manifest.json" || fail "no manifest"
python3 - "$WORK/manifest.json" <<'PY' || fail "the manifest is not what an OCI client expects"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2 and m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
assert m["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
[l] = m["layers"]
assert l["mediaType"] == "application/vnd.modelfs.container.v1"
assert l["annotations"]["org.opencontainers.image.title"] == "base.gguf.mfs"
assert l["digest"].startswith("sha256:")
meta = l["annotations"]["org.modelfs.container.metadata.digest"]
assert meta.startswith("sha256:") and len(meta) == 71, meta
PY
pass
# Again, and a second tag holding base and the fine-tune: only tuned is sent.
expect_exit 0 "$MODELFS" push "$WORK/a" "oci://$reg/models/llama:base"
expect_msg "base.gguf.mfs: already there"
expect_exit 0 "$MODELFS" push "$WORK/b" "oci://$reg/models/llama:both"
expect_msg "tuned.gguf.mfs: uploaded"
expect_msg "base.gguf.mfs: already there"
[ "$(puts)" = 3 ] || fail "$(puts) blob uploads in all, expected 3"
pass
expect_exit 1 "$MODELFS" push "$WORK/orig" "oci://$reg/models/llama:none"
expect_msg "no containers (X.mfs) to push"
expect_exit 1 "$MODELFS" push "$WORK/a" "oci://$reg/Models:x"
expect_msg "a repository name is lower case letters"

# ---- mount ------------------------------------------------------------------------
mnt=$WORK/mnt
mount_fg "oci://$reg/models/llama:both" "$mnt" -o store="$WORK/store"
[ "$(ls "$mnt")" = "$(printf 'base.gguf\ntuned.gguf')" ] || fail "listing: $(ls "$mnt")"
pass
"$MFS_READCHECK" random "$WORK/orig/tuned.gguf" "$mnt/tuned.gguf" 200 7 || fail "random reads"
pass
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
unmount "$mnt"
# The same store for the other tag: base's chunks are all there.
mount_fg "oci://$reg/models/llama:base" "$mnt" -o store="$WORK/store"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
[ "$(stat_json "$mnt" remote_fetched_chunks)" = 0 ] ||
	fail "$(stat_json "$mnt" remote_fetched_chunks) chunks fetched again for a stored model"
pass
unmount "$mnt"
# By digest: the manifest is pinned (the registry's answer is checked against
# it), and a mount by tag shows the digest it resolved.
digest=sha256:$(sha256sum <"$WORK/manifest.json" | cut -d' ' -f1)
mount_fg "oci://$reg/models/llama:base" "$mnt" -o store="$WORK/store"
"$MODELFS" stats "$mnt" | grep -q "^options .*,pin=$digest\$" ||
	fail "a mount by tag does not show its digest: $("$MODELFS" stats "$mnt" | grep options)"
unmount "$mnt"
mount_fg "oci://$reg/models/llama@$digest" "$mnt" -o store="$WORK/store"
same_file "$mnt/base.gguf" "$WORK/orig/base.gguf"
unmount "$mnt"
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store",pin=sha256:$(printf '%064d' 1) \
	"oci://$reg/models/llama@$digest" "$mnt"
expect_msg "and the reference's $digest differ"
pass

# ---- a plain GGUF layer, as Docker Model Runner publishes models ---------------------
# Pushed here with the registry API: a config blob, the .gguf as it is (no
# title annotation), the manifest. Mounted lazily: served as it is.
# push_plain REGISTRY FILE: FILE as a plain GGUF layer of REGISTRY/models/dmr
push_plain() {
python3 - "$1" "$2" <<'PY' || fail "could not push a plain GGUF artifact to $1"
import hashlib, http.client, json, sys
reg, path = sys.argv[1], sys.argv[2]
def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    c = http.client.HTTPConnection(reg)
    c.request("POST", "/v2/models/dmr/blobs/uploads/")
    r = c.getresponse(); r.read()
    assert r.status == 202, r.status
    loc = r.getheader("Location")
    loc = loc[loc.index("/v2/"):] if "://" in loc else loc
    c.request("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, body=data,
              headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
    return {"digest": d, "size": len(data)}
cfg = put_blob(json.dumps({"config": {"format": "gguf"}}).encode())
gguf = put_blob(open(path, "rb").read())
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": dict(cfg, mediaType="application/vnd.docker.ai.model.config.v0.1+json"),
     "layers": [dict(gguf, mediaType="application/vnd.docker.ai.gguf.v3")]}
c = http.client.HTTPConnection(reg)
c.request("PUT", "/v2/models/dmr/manifests/latest", body=json.dumps(m),
          headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
r = c.getresponse(); r.read()
assert r.status == 201, r.status
PY
}
push_plain "$reg" "$WORK/orig/base.gguf"
plain=$(sha256sum "$WORK/orig/base.gguf" | cut -c1-12).gguf
mount_fg "oci://$reg/models/dmr" "$mnt" -o store="$WORK/pstore"
[ "$(ls "$mnt")" = "$plain" ] || fail "plain layer listing: $(ls "$mnt"), expected $plain"
pass
[ "$(stat_json "$mnt" remote_fetched_bytes)" = 0 ] || fail "the mount fetched the plain layer's bytes before a read"
pass
"$MFS_READCHECK" random "$WORK/orig/base.gguf" "$mnt/$plain" 200 7 || fail "random reads of the plain layer"
pass
same_file "$mnt/$plain" "$WORK/orig/base.gguf"
cat "$mnt/$plain" >/dev/null || fail "the genuine layer, read whole, failed its digest"
[ "$(stat_json "$mnt" remote_bad_fetches)" = 0 ] || fail "the genuine layer counted as bad"
pass
unmount "$mnt"
# modelfs fetch reads a plain layer whole and checks it against its digest.
expect_exit 0 "$MODELFS" fetch -o store="$WORK/fstore" "oci://$reg/models/dmr"
expect_msg "1 plain files"
# Its bytes damaged in the registry's storage: the fetch fails and keeps none
# of it. (A lazy mount cannot tell: no checksum covers less than the blob.)
blob=$(find "$REGISTRY_DATA" -path "*/blobs/sha256/*/$(sha256sum "$WORK/orig/base.gguf" | cut -d' ' -f1)/data")
[ -f "$blob" ] || fail "the plain layer's blob is not in the registry's storage"
flip "$blob" 5000
expect_exit 1 "$MODELFS" fetch -q -o store="$WORK/fstore2" "oci://$reg/models/dmr"
expect_msg "bytes are not its digest"
[ "$(find "$WORK/fstore2/chunks" -type f | wc -l)" = 0 ] || fail "blocks of a damaged layer were kept"
pass
flip "$blob" 5000

# A second registry, hostile: its manifest names the same blob digest and
# size, and its storage holds other bytes. Read through a mount first (a lazy
# read cannot check a plain layer), its blocks stay its own: the genuine
# registry's mount on the same store fetches and serves the genuine bytes.
reg1=$reg pid1=$REGISTRY_PID
start_registry
reg2=127.0.0.1:$REGISTRY_PORT
push_plain "$reg2" "$WORK/orig/base.gguf"
blob2=$(find "$REGISTRY_DATA" -path "*/blobs/sha256/*/$(sha256sum "$WORK/orig/base.gguf" | cut -d' ' -f1)/data")
flip "$blob2" 5000
mount_fg "oci://$reg2/models/dmr" "$mnt" -o store="$WORK/shared"
cmp -s "$mnt/$plain" "$WORK/orig/base.gguf" && fail "the hostile registry served the genuine bytes?"
# Read whole, in order, the layer is checked against its digest at its end:
# the last read fails, every block is dropped, later reads fail too.
cat "$mnt/$plain" >/dev/null 2>"$LOG/cat" && fail "a layer that is not its digest was read whole"
grep -q "Input/output error" "$LOG/cat" || fail "not EIO: $(cat "$LOG/cat")"
[ "$(stat_json "$mnt" remote_bad_fetches)" = 1 ] || fail "remote_bad_fetches $(stat_json "$mnt" remote_bad_fetches), not 1"
sleep 0.5 # the daemon drops the pages the kernel holds of it (its governor, every 0.2 s)
head -c 4096 "$mnt/$plain" >/dev/null 2>&1 && fail "a layer found not its digest is still served"
grep -q "read whole, its bytes are not its digest" "$DLOG" || fail "no log line: $(cat "$DLOG")"
pass
unmount "$mnt"
[ "$(find "$WORK/shared/chunks" -type f | wc -l)" = 0 ] || fail "blocks of a layer that is not its digest were kept"
pass
mount_fg "oci://$reg1/models/dmr" "$mnt" -o store="$WORK/shared"
same_file "$mnt/$plain" "$WORK/orig/base.gguf"
[ "$(stat_json "$mnt" remote_fetched_bytes)" -ge "$(stat -c %s "$WORK/orig/base.gguf")" ] ||
	fail "the genuine registry's mount fetched $(stat_json "$mnt" remote_fetched_bytes) bytes of its layer, not all"
pass
unmount "$mnt"
kill "$REGISTRY_PID"
REGISTRY_PID=$pid1 reg=$reg1

# Unknown tags and repositories: a clear error.
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store" "oci://$reg/models/llama:nope" "$mnt"
expect_msg "HTTP 404"
# With the registry gone, the stored artifacts are served.
kill "$REGISTRY_PID"
mount_fg "oci://$reg/models/llama:both" "$mnt" -o store="$WORK/store"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
unmount "$mnt"
for st in pstore fstore; do
	mount_fg "oci://$reg/models/dmr" "$mnt" -o store="$WORK/$st"
	same_file "$mnt/$plain" "$WORK/orig/base.gguf"
	[ "$(stat_json "$mnt" remote_fetched_bytes)" = 0 ] || fail "plain layer fetched with the registry gone?"
	pass
	unmount "$mnt"
done
done_ok
