/* SPDX-License-Identifier: MIT */
/*
 * safetensors.h - a strict parser for safetensors headers.
 *
 * Follows the reference implementation (huggingface/safetensors, tensor.rs):
 * an 8-byte little-endian header length of at most 100,000,000 bytes; a
 * header that is valid UTF-8 and a JSON object mapping tensor names to
 * {"dtype", "shape", "data_offsets"} plus an optional "__metadata__" object of
 * strings; known dtypes only; shape products and byte sizes that do not
 * overflow and match the offsets; tensors that, sorted by offset, tile the data
 * section exactly from 0 to the end of the file. Unknown fields in a tensor
 * entry are ignored, as serde does. Stricter than the reference: duplicate
 * tensor names or fields are rejected (serde would keep the last one silently),
 * and names are limited to 65535 bytes.
 *
 * Like the GGUF parser it reads only the buffer it is given and returns
 * -ENOBUFS when the header extends past it.
 */
#ifndef MFS_SAFETENSORS_H
#define MFS_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MFS_ST_MAX_HEADER 100000000ull
#define MFS_ST_MAX_NAME 65535u

struct mfs_st_tensor {
	char *name; /* NUL-terminated, owned by the struct mfs_st */
	uint16_t name_len;
	uint16_t dtype; /* enum mfs_dtype */
	uint32_t ndim;	/* as in the file (may exceed 4) */
	uint64_t ne[4]; /* innermost first; dims beyond the 4th folded into ne[3] */
	uint64_t offset; /* absolute file offset */
	uint64_t size;
};

struct mfs_st {
	uint64_t header_len;  /* the JSON's length */
	uint64_t data_offset; /* 8 + header_len */
	uint64_t n_tensors;
	struct mfs_st_tensor *tensors; /* sorted by offset */
};

/*
 * Parse the header in @buf[0..@len), a prefix of a file of @file_size bytes.
 * Errors: -ENOBUFS (need a longer prefix), -EFSCORRUPTED, -ENOMEM.
 */
int mfs_st_parse(struct mfs_st *st, const void *buf, size_t len, uint64_t file_size,
		 struct mfs_err *err);
void mfs_st_release(struct mfs_st *st);

/* Cheap check of the first 9 bytes: a plausible length followed by '{'. */
bool mfs_st_sniff(const void *buf, size_t len, uint64_t file_size);

#endif
