/* SPDX-License-Identifier: MIT */
/*
 * xform.h - reversible byte transforms applied to a chunk before its codec.
 *
 * A transform rearranges a chunk's bytes into planes of similar bytes, so the
 * coder after it finds skewed distributions to squeeze: all BF16 exponents in
 * one plane, their sign and mantissa bits in another; all fp16 scales of a
 * Q8_0 tensor apart from its quants. Like codecs, transforms have on-disk ids
 * recorded per chunk, plus a 32-bit parameter whose meaning belongs to the
 * transform.
 *
 * Contract: a transform is a permutation of bits: @len input bytes become
 * exactly @len output bytes, the concatenation of its planes, whose sizes
 * planes() gives from @len and @param alone; inverse() rebuilds exactly the
 * original. Any length works, including 0: bytes that do not fill a whole
 * element or block form a last, untouched "tail" plane. Transforms allocate
 * nothing, share nothing between threads, and their inverses are single
 * passes without per-element branches (they run on the read path).
 *
 *   id 0  identity    param 0                one plane
 *   id 1  bytes       param element size     plane k: byte k of every element
 *                     (2, 4 or 8)
 *   id 2  fields      param a dtype (ggml    BF16, F32: exponent, then sign and
 *                     type number)           mantissa bits; quantized types: each
 *                                            field of the block struct (scalars
 *                                            one plane per byte)
 */
#ifndef MFS_XFORM_H
#define MFS_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* On-disk transform ids. */
enum mfs_xform_id {
	MFS_XFORM_NONE = 0,
	MFS_XFORM_BYTES = 1,
	MFS_XFORM_FIELDS = 2,
	MFS_XFORM_NR,
};

/* Most planes any transform makes (including the tail). */
#define MFS_PLANES_MAX 16

struct mfs_xform {
	const char *name;
	unsigned int id;
	bool (*param_ok)(uint32_t param);
	/* Plane sizes for @len bytes into @sizes; returns the plane count. */
	unsigned int (*planes)(size_t len, uint32_t param, size_t sizes[MFS_PLANES_MAX]);
	/* Writes the @len bytes of @src as planes, one after the other, to @dst. */
	void (*forward)(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			uint32_t param);
	/*
	 * Rebuilds the @len original bytes at @dst from their planes, plane k
	 * at @planes[k] (planes() gives the sizes): planes may lie anywhere,
	 * so a raw plane is read where it is stored, never copied first.
	 */
	void (*inverse)(uint8_t *restrict dst, const uint8_t *const *planes, size_t len,
			uint32_t param);
};

/* inverse() of planes laid one after the other at @src (as forward() writes them). */
void mfs_xform_inverse(const struct mfs_xform *x, uint8_t *restrict dst,
		       const uint8_t *restrict src, size_t len, uint32_t param);

/* The descriptor for an on-disk id, or NULL if unknown to this build. */
const struct mfs_xform *mfs_xform_get(unsigned int id);

/* A name for @id, also for unknown ids ("transform 9"). */
const char *mfs_xform_name(unsigned int id);

/* Does transform "fields" know the dtype @ggml_type? */
bool mfs_xform_fields_knows(uint32_t ggml_type);


#endif
