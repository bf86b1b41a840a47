/* SPDX-License-Identifier: MIT */
/*
 * block.h - one chunk through transform and codec, in both directions.
 *
 * encode: original bytes -> transform (planes) -> codec -> stored bytes
 * decode: stored bytes -> codec -> inverse transform -> original bytes
 *
 * The "planes" codec codes each plane of the transform on its own; other
 * codecs see the planes as one buffer. The identity transform costs nothing:
 * the codec reads from / writes to the caller's buffers directly. Other
 * transforms use the context's MFS_SCRATCH_XFORM buffer for the intermediate
 * bytes. Integrity checks (checksums) are the container's job, not this
 * module's.
 */
#ifndef MFS_BLOCK_H
#define MFS_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "err.h"
#include "xform.h"

/* Worst-case stored size for a chunk of @len bytes; 0 if ids or parameter are unknown. */
size_t mfs_block_bound(unsigned int codec, unsigned int xform, uint32_t xparam, size_t len);

/* Encodes @src into @dst; returns the stored size. */
ssize_t mfs_block_encode(struct mfs_cctx *cctx, unsigned int codec, int level, unsigned int xform,
			 uint32_t xparam, void *dst, size_t cap, const void *src, size_t len,
			 struct mfs_err *err);

/*
 * Decodes @src_len stored bytes into exactly @len original bytes at @dst.
 * Unknown ids are -EOPNOTSUPP; bytes that do not decode to @len are
 * -EFSCORRUPTED.
 */
int mfs_block_decode(struct mfs_dctx *dctx, unsigned int codec, unsigned int xform,
		     uint32_t xparam, void *dst, size_t len, const void *src, size_t src_len,
		     struct mfs_err *err);

#endif
