/* SPDX-License-Identifier: MIT */
/*
 * xform.h - reversible byte transforms applied to a chunk before its codec.
 *
 * A transform rearranges a chunk's bytes so that the codec after it finds more
 * to squeeze (for example, all BF16 exponent bytes first, then all mantissa
 * bytes). Like codecs, transforms have on-disk ids recorded per chunk, plus a
 * 32-bit parameter whose meaning belongs to the transform.
 *
 * Contract: a transform maps @len input bytes to exactly encoded_len(@len,
 * @param) bytes - a pure function of the two, so the reader knows the size to
 * decompress to without storing it - and inverse() rebuilds exactly the
 * original. A chunk may hold a tail that is not a whole number of elements or
 * blocks; transforms must handle any length, including 0. Transforms work
 * within one chunk, allocate nothing and share nothing between threads.
 *
 * Id 0 is the identity. The tensor-aware transforms come with their own work
 * item; until then a container that names another id is refused.
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
	MFS_XFORM_NR,
};

struct mfs_xform {
	const char *name;
	unsigned int id;
	bool (*param_ok)(uint32_t param);
	size_t (*encoded_len)(size_t len, uint32_t param);
	/* Writes encoded_len(@len) bytes to @dst; returns that count. */
	ssize_t (*forward)(void *dst, size_t cap, const void *src, size_t len, uint32_t param,
			   struct mfs_err *err);
	/* Rebuilds @dst_len bytes; -EFSCORRUPTED when @src cannot be their encoding. */
	int (*inverse)(void *dst, size_t dst_len, const void *src, size_t src_len,
		       uint32_t param, struct mfs_err *err);
};

/* The descriptor for an on-disk id, or NULL if unknown to this build. */
const struct mfs_xform *mfs_xform_get(unsigned int id);

/* A name for @id, also for unknown ids ("transform 9"). */
const char *mfs_xform_name(unsigned int id);

#endif
