/* SPDX-License-Identifier: MIT */
/*
 * model.h - a model file described the same way whatever its format.
 *
 * The packer needs three things from a GGUF or safetensors file: where its
 * metadata region ends, where each tensor's data lies, and what each tensor is
 * (dtype, shape, layer, role). This module gets them from the format parsers,
 * sorts tensors by offset and names them. Files in no known format are
 * MFS_SOURCE_RAW with no tensors: their whole content is one region.
 */
#ifndef MFS_MODEL_H
#define MFS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "disk.h"
#include "err.h"
#include "format.h"
#include "io.h"

/* Largest metadata region (GGUF key-values and tensor infos) we will parse. */
#define MFS_MODEL_META_MAX (1ull << 30)

struct mfs_model {
	uint32_t source;    /* enum mfs_source */
	uint64_t file_size;
	uint64_t meta_end;  /* [0, meta_end) is the metadata region */
	uint32_t ntensors;
	struct mfs_tensor *tensors; /* sorted by offset; names owned by @names */
	char *names;
};

/* Which format @buf (a prefix of the file) looks like; MFS_SOURCE_RAW if none. */
uint32_t mfs_model_sniff(const void *buf, size_t len, uint64_t file_size);

/*
 * Parse a model from @buf, a prefix of a file of @file_size bytes, as format
 * @source (MFS_SOURCE_NR: decide by sniffing). -ENOBUFS asks for a longer
 * prefix. On success release @m with mfs_model_release().
 */
int mfs_model_parse(struct mfs_model *m, const void *buf, size_t len, uint64_t file_size,
		    uint32_t source, struct mfs_err *err);

/* Read and parse @src, growing the prefix as needed (up to MFS_MODEL_META_MAX). */
int mfs_model_load(struct mfs_model *m, const struct mfs_src *src, uint32_t source,
		   struct mfs_err *err);

void mfs_model_release(struct mfs_model *m);

/* "raw", "gguf", "safetensors"; "unknown" otherwise. */
const char *mfs_source_name(uint32_t source);

/*
 * The kinds of model file modelfs knows, once: what they are called, what
 * names them, what OCI media types carry one as it is. Every caller - pack's
 * directory walk, a remote listing's skeletons, OCI layers - asks here; their
 * bytes are told apart by mfs_model_sniff() and parsed by mfs_model_parse().
 * Adding a format: a row here, a sniff and a parser (HACKING.md).
 */
struct mfs_model_kind {
	uint32_t source;		/* enum mfs_source */
	const char *name;		/* as mfs_source_name() says it: "gguf" */
	const char *ext;		/* files named *.ext are this kind (any case): ".gguf" */
	const char *const *media_types; /* OCI layers of this kind as it is; NULL-ended */
};

extern const struct mfs_model_kind mfs_model_kinds[]; /* ends with a NULL name */

/* The kind whose extension ends @name (@len bytes), in any case; NULL if none. */
const struct mfs_model_kind *mfs_model_kind_of_name(const char *name, size_t len);

/* The kind an OCI layer of @media_type holds as it is, or NULL. */
const struct mfs_model_kind *mfs_model_kind_of_media(const char *media_type);

#endif
