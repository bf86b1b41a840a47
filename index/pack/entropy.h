/* SPDX-License-Identifier: MIT */
/*
 * entropy.h - how far a container's tensors could be compressed: for each
 * tensor, the order-0 entropy bound of its bytes under each plane split (none,
 * byte planes, field planes), i.e. the sum over planes of bytes x H0 / 8 with
 * H0 the plane's byte entropy over the whole tensor. The smallest is the
 * bound `modelfs inspect --entropy` compares the achieved size with.
 */
#ifndef MFS_ENTROPY_H
#define MFS_ENTROPY_H

#include <stdint.h>

#include "archive.h"
#include "err.h"

enum { MFS_SPLIT_NONE, MFS_SPLIT_BYTES, MFS_SPLIT_FIELDS, MFS_SPLIT_NR };

struct mfs_tensor_bound {
	uint64_t bytes;		     /* logical bytes of the tensor's chunks */
	uint64_t stored;	     /* their stored bytes */
	double bound[MFS_SPLIT_NR];  /* bytes the split needs at order-0 entropy; 0: no such split */
	double best;		     /* the smallest of them */
};

/*
 * Decode every chunk of @ar and fill @out[0..ntensors). Chunks of no tensor
 * are skipped. @threads decoders (0: one per CPU).
 */
int mfs_entropy_bounds(const struct mfs_archive *ar, unsigned int threads,
		       struct mfs_tensor_bound *out, struct mfs_err *err);

#endif
