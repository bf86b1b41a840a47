/* SPDX-License-Identifier: MIT */
/*
 * codec.h - chunk codecs: store, lz4 (lz4hc at levels >= 3), zstd, and
 * planes (per-plane entropy coding of transformed chunks, planes.h).
 *
 * One table of descriptors maps the on-disk codec id (a byte in every chunk
 * record, see index/FORMAT.md) to its name, level range and functions. The
 * ids are part of the container format and never change meaning.
 *
 * Contexts are per thread and reused: a struct mfs_cctx (compression) or
 * struct mfs_dctx (decompression) must not be used by two threads at once, and
 * should live as long as the thread does. Library errors are translated here,
 * at the boundary: corrupt input is -EFSCORRUPTED with the library's own words
 * kept in the struct mfs_err ("zstd: Data corruption detected").
 *
 * Decompression is exact: the caller states how many bytes the chunk must
 * decode to, and anything else is corruption. This bounds every output buffer
 * by a size the caller has already checked.
 */
#ifndef MFS_CODEC_H
#define MFS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* On-disk codec ids. */
enum mfs_codec_id {
	MFS_CODEC_STORE = 0,
	MFS_CODEC_LZ4 = 1,
	MFS_CODEC_ZSTD = 2,
	MFS_CODEC_PLANES = 3, /* per-plane coding after a transform: planes.h */
	MFS_CODEC_NR,
};

struct mfs_cctx;
struct mfs_dctx;

struct mfs_codec {
	const char *name;
	unsigned int id;
	int min_level;
	int max_level;
	int default_level;
	/* Worst-case compressed size of @len input bytes. */
	size_t (*bound)(size_t len);
	/* Returns the compressed size, or -ENOSPC when it does not fit @cap. */
	ssize_t (*compress)(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			    const void *src, size_t len, struct mfs_err *err);
	/* Decodes exactly @dst_len bytes; anything else is -EFSCORRUPTED. */
	int (*decompress)(struct mfs_dctx *dctx, void *dst, size_t dst_len, const void *src,
			  size_t src_len, struct mfs_err *err);
};

/* The descriptor for an on-disk id, or NULL if this build does not know it. */
const struct mfs_codec *mfs_codec_get(unsigned int id);

/* The descriptor named @name ("store", "lz4", "zstd"), or NULL. */
const struct mfs_codec *mfs_codec_find(const char *name);

/* A name for @id, also for unknown ids ("codec 7"), in a static buffer per id. */
const char *mfs_codec_name(unsigned int id);

/* Contexts. _new returns NULL on ENOMEM; _free(NULL) is a no-op. */
struct mfs_cctx *mfs_cctx_new(void);
void mfs_cctx_free(struct mfs_cctx *cctx);
struct mfs_dctx *mfs_dctx_new(void);
void mfs_dctx_free(struct mfs_dctx *dctx);

/*
 * Scratch buffers owned by a context, reused across calls: at least @len
 * bytes, page-aligned, valid until the next call with the same slot or until the context is
 * freed. NULL on ENOMEM or when @len exceeds MFS_SCRATCH_MAX. Slot 0 is free
 * for callers (the container reader puts compressed bytes there); slot 1 is
 * used by mfs_block_encode/decode for transformed bytes, slot 2 by the planes
 * encoder for a second coding of a plane.
 */
#define MFS_SCRATCH_MAX ((size_t)1 << 30)
enum { MFS_SCRATCH_IO = 0, MFS_SCRATCH_XFORM = 1, MFS_SCRATCH_PLANE = 2, MFS_SCRATCH_NR };
void *mfs_cctx_scratch(struct mfs_cctx *cctx, unsigned int slot, size_t len);
void *mfs_dctx_scratch(struct mfs_dctx *dctx, unsigned int slot, size_t len);

/* Frees the scratch buffers larger than @keep bytes (they are made again on demand). */
void mfs_dctx_trim(struct mfs_dctx *dctx, size_t keep);

#endif
