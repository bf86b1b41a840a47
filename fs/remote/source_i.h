/* SPDX-License-Identifier: MIT */
/*
 * source_i.h - inside fs/remote/: the kinds of remote source and what each
 * gives source.c.
 *
 * A kind recognises its URLs, fetches its list (the bytes that name the
 * files: modelfs.json, an OCI manifest; none for one container's URL) and
 * parses it into entries; source.c does the rest the same way for every
 * kind: the list's SHA-256 (shown as pin=, checked against a pin), its copy
 * in the store for offline mounts, skeletons, and the remote source whose
 * blobs are the list's base URL + "blobs/DIGEST" for entries with a digest,
 * + NAME otherwise. Adding a kind: a file with its struct source_kind, a
 * line in source.c's table (HACKING.md).
 */
#ifndef MFS_SOURCE_I_H
#define MFS_SOURCE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "source.h"

#define SOURCE_LIST_MAX (16u << 20) /* bytes of a list */
#define SOURCE_FILES_MAX 4096u	    /* entries of a list */
#define SOURCE_NAME_MAX 255u

/* A file of a source. */
struct source_entry {
	char name[SOURCE_NAME_MAX + 1];
	uint64_t size;
	char digest[80]; /* the blob's digest (OCI), or "": the blob is base + name */
	char meta[80];	 /* "sha256:..." of its metadata, or "": not given */
	bool plain;	 /* a model file as it is, not a container (OCI) */
};

/* What a kind's fetch() gives. */
struct source_list {
	char *base;		     /* URL its blobs are under, ending in '/' (malloc'd) */
	char *bytes;		     /* the list as fetched (malloc'd), or NULL: a kind without */
	size_t len;
	char *what;		     /* how errors name the list: its URL (malloc'd), or NULL */
	char url_pin[80];	     /* the digest the URL itself names (OCI @sha256:), or "" */
	struct source_entry *files;  /* a kind without a list: its entries (malloc'd) */
	size_t nfiles;
};

struct source_kind {
	const char *name;   /* for messages: "OCI artifact" */
	bool (*is)(const char *url);
	const char *cache;  /* the list's copy in the source's store directory; NULL: no list */
	const char *listed; /* what the list is called in messages: "modelfs.json" */
	/*
	 * Fetches @url's list into @l, setting l->base before any request;
	 * -EIO when the server could not be asked or did not answer (source.c
	 * then serves the copy fetched before).
	 */
	int (*fetch)(struct mfs_http *h, const char *url, const struct source_opts *o,
		     struct source_list *l, struct mfs_err *err);
	/* The entries of a fetched list (@what names it in errors). */
	int (*parse)(const char *buf, size_t len, const char *what, struct source_entry **out,
		     size_t *n, struct mfs_err *err);
};

/* source_http.c: a directory published with modelfs.json; one container's URL. */
extern const struct source_kind source_kind_http_dir, source_kind_http_file;
/* oci.c: an OCI artifact (oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]). */
extern const struct source_kind source_kind_oci;

#endif
