#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# OCI registries: the CNCF distribution registry (Debian's docker-registry) on
# loopback. `modelfs push` uploads a directory of containers as an artifact
# (blobs the registry has are not sent again), `modelfs mount oci://...`
# serves it lazily with every byte compared, and a second artifact sharing
# blobs and tensors costs only what differs.
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
# Unknown tags and repositories: a clear error.
expect_exit 1 "$MODELFS" mount -f -o store="$WORK/store" "oci://$reg/models/llama:nope" "$mnt"
expect_msg "HTTP 404"
# With the registry gone, the stored artifact is served.
kill "$REGISTRY_PID"
mount_fg "oci://$reg/models/llama:both" "$mnt" -o store="$WORK/store"
same_file "$mnt/tuned.gguf" "$WORK/orig/tuned.gguf"
unmount "$mnt"
done_ok
