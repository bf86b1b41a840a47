/* SPDX-License-Identifier: MIT */
/*
 * oci.h - models in OCI registries (the distribution API v2): what
 * `modelfs mount oci://REGISTRY/REPO:TAG MNT` reads and `modelfs push`
 * writes.
 *
 * An artifact of ours is an OCI image manifest (artifactType and layer media
 * type MFS_OCI_LAYER_TYPE, the empty config) whose layers are containers,
 * each named by the standard title annotation (org.opencontainers.image.title).
 * Reading, any manifest whose layers carry titles ending in .mfs will do;
 * other layers are listed and left out. The registry is reached over https,
 * or plain http on loopback (as Docker treats localhost registries) or with
 * allow_http.
 */
#ifndef MFS_OCI_H
#define MFS_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "source.h"

#define MFS_OCI_LAYER_TYPE "application/vnd.modelfs.container.v1"
/* A layer's annotation: the SHA-256 of the container's metadata (source_meta_digest()). */
#define MFS_OCI_META_ANNOTATION "org.modelfs.container.metadata.digest"

struct oci_ref {
	char base[600]; /* scheme://host/v2/repo/ */
	char ref[160];	/* tag or digest */
	char shown[800];
};

struct oci_layer {
	char name[256];
	char digest[80];
	char meta[80]; /* MFS_OCI_META_ANNOTATION, or "" */
	uint64_t size;
	bool plain; /* a .gguf or .safetensors as it is, not a container */
};

struct mfs_remote;
struct mfs_remote_plain;
/*
 * Fetches every byte of plain layer @p into the store (1 MiB at a time;
 * @tick is told of each piece) and checks the whole against its digest: on
 * a mismatch the stored blocks are dropped and it is -EFSCORRUPTED.
 */
int oci_fetch_plain(struct mfs_remote *r, const struct mfs_remote_plain *p,
		    void (*tick)(void *ctx, uint64_t bytes), void *ctx, struct mfs_err *err);

/* Is @url oci://...? */
bool oci_is_url(const char *url);

/* Parses oci://HOST[:PORT]/REPO[:TAG|@DIGEST] (TAG defaults to latest). */
int oci_parse(const char *url, const struct mfs_http_conf *conf, struct oci_ref *r,
	      struct mfs_err *err);

/* GETs the manifest of @r into a malloc()ed *@body. */
int oci_get_manifest(struct mfs_http *h, const struct oci_ref *r, char **body, size_t *len,
		     struct mfs_err *err);

/* The layers of a manifest titled X.mfs, in order; malloc()ed *@out. */
int oci_layers(const char *buf, size_t len, const char *what, struct oci_layer **out, size_t *n,
	       struct mfs_err *err);

/* The URL of blob @digest of @r into @out. */
void oci_blob_url(const struct oci_ref *r, const char *digest, char *out, size_t cap);

/*
 * Uploads the containers in @dir as the artifact @url: each blob the registry
 * does not have yet (HEAD first), then the manifest; @tell (or NULL) hears
 * of each layer.
 */
int oci_push(const char *dir, const char *url, const struct mfs_http_conf *conf,
	     mfs_source_tell_fn tell, struct mfs_err *err);

#endif
