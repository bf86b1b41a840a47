/* SPDX-License-Identifier: MIT */
/*
 * method.h - how each tensor's chunks are coded: the (transform, codec)
 * candidates for a dtype, and the choice among them by measurement.
 *
 * A method is a transform (with its parameter) and a codec (with its level).
 * For every tensor the packer ("--codec auto") encodes and decodes a sample of
 * the tensor's own chunks with each candidate and keeps the smallest result
 * among those that decode at least min_decode MB/s on one core; if none is that
 * fast, the fastest. Measuring beats guessing: how well a plane codes depends
 * on the weights, not only on the dtype.
 */
#ifndef MFS_METHOD_H
#define MFS_METHOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

#define MFS_METHOD_MAX 4
#define MFS_MIN_DECODE_DEFAULT 200.0 /* MB/s on one core: above edge storage speeds */

struct mfs_method {
	uint8_t codec;
	uint8_t xform;
	int level;
	uint32_t xparam;
};

struct mfs_method_trial {
	size_t stored;	   /* bytes the sample took */
	double decode_mbs; /* decoded MB/s, best of a few runs */
};

/*
 * Candidates for tensors of @dtype, the likely best first; zstd ones at
 * @zstd_level. With @fast, also planes at level 1 (zstd on every plane):
 * worth trying only when decoding must be faster than level 2 manages.
 */
unsigned int mfs_method_candidates(unsigned int dtype, int zstd_level, bool fast,
				   struct mfs_method out[MFS_METHOD_MAX]);

/* Plain zstd (for metadata, padding and files in no known format). */
struct mfs_method mfs_method_zstd(int level);

/* What "--codec planes" uses for @dtype: its plane transform, no measuring. */
struct mfs_method mfs_method_planes(unsigned int dtype, int level);

/*
 * Try @n candidates on the @ns sample chunks; returns the index of the one to
 * use and fills @trials[0..n). Every trial is checked to decode to its input.
 */
int mfs_method_choose(struct mfs_cctx *cctx, struct mfs_dctx *dctx,
		      const struct mfs_method *cand, unsigned int n, const uint8_t *const *samples,
		      const size_t *lens, unsigned int ns, double min_decode_mbs,
		      struct mfs_method_trial *trials, struct mfs_err *err);

/* "zstd", "planes/fields", ... into @buf. */
const char *mfs_method_name(char *buf, size_t len, unsigned int codec, unsigned int xform);

#endif
