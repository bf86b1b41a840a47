/* SPDX-License-Identifier: MIT */
/*
 * gguf.h - a strict parser for GGUF v2/v3 headers (key-values and tensor infos).
 *
 * It accepts what ggml's gguf.cpp accepts and rejects what it rejects: bad
 * magic, version 0/1/newer than 3, byte-swapped files, empty or duplicate keys,
 * unknown value types, nested arrays, strings over 1 GiB, arrays over 2^30
 * elements, names of 64 bytes or more, duplicate tensor names, more than 4
 * dims, negative dims, element counts or byte sizes that overflow, unknown or
 * removed tensor types, rows that are not whole blocks, a general.alignment
 * that is not a u32 power of two, and tensor offsets other than the packed,
 * aligned sequence ggml computes. Like llama.cpp's loader, it also rejects
 * tensor data that does not lie within the file.
 *
 * The parser reads only @buf; it allocates only as it consumes bytes, so its
 * memory is bounded by @len. When the header continues past @len but within
 * the file it returns -ENOBUFS and the caller retries with a longer prefix.
 * Keys and names point into @buf and are not NUL-terminated.
 */
#ifndef MFS_GGUF_H
#define MFS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum mfs_gguf_type {
	MFS_GGUF_UINT8 = 0,
	MFS_GGUF_INT8 = 1,
	MFS_GGUF_UINT16 = 2,
	MFS_GGUF_INT16 = 3,
	MFS_GGUF_UINT32 = 4,
	MFS_GGUF_INT32 = 5,
	MFS_GGUF_FLOAT32 = 6,
	MFS_GGUF_BOOL = 7,
	MFS_GGUF_STRING = 8,
	MFS_GGUF_ARRAY = 9,
	MFS_GGUF_UINT64 = 10,
	MFS_GGUF_INT64 = 11,
	MFS_GGUF_FLOAT64 = 12,
	MFS_GGUF_TYPE_NR = 13,
};

#define MFS_GGUF_MAGIC "GGUF"
#define MFS_GGUF_DEFAULT_ALIGNMENT 32u
#define MFS_GGUF_MAX_NAME 64u		   /* GGML_MAX_NAME: names must be shorter */
#define MFS_GGUF_MAX_STRING (1ull << 30)   /* GGUF_MAX_STRING_LENGTH */
#define MFS_GGUF_MAX_ARRAY (1ull << 30)	   /* GGUF_MAX_ARRAY_ELEMENTS */

struct mfs_gguf_kv {
	const char *key; /* into the buffer, not NUL-terminated */
	uint32_t key_len;
	uint32_t type;	   /* enum mfs_gguf_type */
	uint32_t arr_type; /* element type when type is MFS_GGUF_ARRAY */
	uint64_t arr_n;	   /* element count when type is MFS_GGUF_ARRAY */
	uint64_t start;	   /* offset of the key's length field */
	uint64_t value;	   /* offset of the value (after the array header for arrays) */
	uint64_t end;	   /* one past the value: [start, end) is the whole pair */
};

struct mfs_gguf_tensor {
	const char *name; /* into the buffer, not NUL-terminated */
	uint32_t name_len;
	uint32_t ndim;
	uint64_t ne[4];	 /* unused dims are 1 */
	uint32_t type;	 /* ggml type == enum mfs_dtype */
	uint64_t offset; /* absolute file offset of the data */
	uint64_t size;	 /* bytes of data */
};

struct mfs_gguf {
	uint32_t version;
	uint32_t alignment;
	uint64_t n_kv;
	uint64_t n_tensors;
	uint64_t kv_end;      /* end of the key-value section = start of tensor infos */
	uint64_t data_offset; /* start of the tensor data section */
	struct mfs_gguf_kv *kvs;
	struct mfs_gguf_tensor *tensors;
};

/*
 * Parse the GGUF header in @buf[0..@len), which is a prefix of a file of
 * @file_size bytes. On success fills @g (release with mfs_gguf_release). Errors:
 * -ENOBUFS (need a longer prefix), -EFSCORRUPTED (malformed), -EOPNOTSUPP
 * (a GGUF version newer than 3), -ENOMEM.
 */
int mfs_gguf_parse(struct mfs_gguf *g, const void *buf, size_t len, uint64_t file_size,
		   struct mfs_err *err);
void mfs_gguf_release(struct mfs_gguf *g);

/* The key-value pair with key @key, or NULL. */
const struct mfs_gguf_kv *mfs_gguf_find(const struct mfs_gguf *g, const char *key);

/* Size of one value of a fixed-size type; 0 for strings, arrays and unknown types. */
size_t mfs_gguf_type_size(uint32_t type);

#endif
