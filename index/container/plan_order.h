/* SPDX-License-Identifier: MIT */
/*
 * plan_order.h - a prefetch plan (plan.h) flattened for the reader: position
 * <-> chunk, where the order wraps, and which positions are sparse. This is
 * the part of the plan the daemon needs; making plans is pack-time work.
 */
#ifndef MFS_PLAN_ORDER_H
#define MFS_PLAN_ORDER_H

#include <stdint.h>

#include "disk.h"

#define MFS_PLAN_NONE UINT32_MAX

/* A plan flattened for walking. */
struct mfs_plan_order {
	uint32_t n;	 /* positions */
	uint32_t *chunk; /* position -> chunk */
	uint32_t *pos;	 /* chunk -> its first position, or MFS_PLAN_NONE */
	uint8_t *sparse; /* position -> 1 if in a SPARSE run */
	uint32_t *dense; /* position -> first non-SPARSE position at or after it, no wrap */
	uint32_t cycle;	 /* position the order wraps to, or MFS_PLAN_NONE */
	uint32_t nchunks;
};

/*
 * Runs must name chunks < @nchunks (the archive checks that); more positions
 * than @nchunks are refused (-EFSCORRUPTED), so memory follows the index.
 */
int mfs_plan_order_build(struct mfs_plan_order *o, const struct mfs_plan_entry *runs,
			 uint32_t nruns, uint32_t nchunks);
void mfs_plan_order_release(struct mfs_plan_order *o);

/*
 * The position after @p in access order: the next one, skipping SPARSE runs
 * (a read in one predicts what follows the run, not the rest of it), wrapping
 * to the cycle at the end. MFS_PLAN_NONE at the end of a plan without cycle.
 * Constant time.
 */
uint32_t mfs_plan_order_next(const struct mfs_plan_order *o, uint32_t p);

#endif
