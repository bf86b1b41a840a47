/* SPDX-License-Identifier: MIT */
/*
 * planes.h - codec 3, "planes": each plane of a transformed chunk coded on its
 * own, with what suits it.
 *
 * A transform (xform.h) cuts a chunk into planes whose sizes follow from the
 * chunk length; this codec stores, for each plane, a method and a length, then
 * the coded planes:
 *
 *   u8 plane count (must match the transform)
 *   per plane: u8 method, LEB128 stored length
 *   the stored planes, in order
 *
 *   method 0 raw    the plane's bytes (a near-random plane: mantissas, quants)
 *   method 1 const  one byte, repeated for the whole plane
 *   method 2 rans   order-0 rANS (rans.h): skewed planes, closest to entropy
 *   method 3 zstd   a zstd frame at level 1 with long minimum matches, which
 *                   leaves zstd's Huffman literal coder: faster to decode than
 *                   the 4-state rans, a few percent larger on skewed planes
 *   method 4 rans32 order-0 rANS with 32 states in one stream (rans32.h): the
 *                   same ratio as rans, laid out for vector decoders, which
 *                   decode faster than zstd's Huffman; what the packer
 *                   writes for skewed planes of 4 KiB and more
 *
 * Levels choose the coder for skewed planes: 1 always zstd; 2 (the default;
 * 0 means it too) rans32 for planes of 4 KiB and more, except that where a
 * Huffman code would lose no more than 1% to the order-0 entropy (quant
 * planes) zstd is tried too and kept if 0.1% smaller; below 4 KiB, rans
 * where Huffman would lose more (exponent planes), zstd where it would not.
 * A plane whose order-0 entropy is within 1% of 8 bits is stored raw, and so
 * is any plane the coder does not shrink by 1%. Decoding checks that every
 * plane decodes to exactly its size and that the stored lengths add up.
 */
#ifndef MFS_PLANES_H
#define MFS_PLANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "err.h"
#include "xform.h"

enum mfs_plane_method {
	MFS_PLANE_RAW = 0,
	MFS_PLANE_CONST = 1,
	MFS_PLANE_RANS = 2,
	MFS_PLANE_ZSTD = 3,
	MFS_PLANE_RANS32 = 4,
	MFS_PLANE_METHOD_NR,
};

#define MFS_PLANES_LEVEL_FAST 1
#define MFS_PLANES_LEVEL_BEST 2

/* Worst-case stored size for planes of these sizes. */
size_t mfs_planes_bound(const size_t *sizes, unsigned int n);

ssize_t mfs_planes_encode(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			  const uint8_t *src, const size_t *sizes, unsigned int n,
			  struct mfs_err *err);

/*
 * Does the stored planes block @src use plane method @method? Reads only the
 * plane headers; false for anything that does not parse.
 */
bool mfs_planes_use(const uint8_t *src, size_t src_len, unsigned int method);

/*
 * Decode planes of the given sizes (their sum is the length) into @dst, one
 * after the other. With @planes, raw planes are not copied: @planes[k] is
 * where plane k is, in @dst or (raw) in @src, for xform inverse().
 */
int mfs_planes_decode(struct mfs_dctx *dctx, uint8_t *dst, const uint8_t **planes,
		      const size_t *sizes, unsigned int n, const uint8_t *src, size_t src_len,
		      struct mfs_err *err);

#endif
