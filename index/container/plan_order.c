/* SPDX-License-Identifier: MIT */
/*
 * plan_order.c - walking a prefetch plan (see plan_order.h).
 */
#include "plan_order.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "format.h"

int mfs_plan_order_build(struct mfs_plan_order *o, const struct mfs_plan_entry *runs,
			 uint32_t nruns, uint32_t nchunks)
{
	uint64_t total = 0;
	uint32_t p = 0;

	memset(o, 0, sizeof(*o));
	o->cycle = MFS_PLAN_NONE;
	o->nchunks = nchunks;
	for (uint32_t i = 0; i < nruns; i++)
		total += runs[i].count;
	if (total > nchunks)
		return -EFSCORRUPTED;
	o->chunk = malloc((total ? total : 1) * sizeof(*o->chunk));
	o->dense = malloc((total ? total : 1) * sizeof(*o->dense));
	o->sparse = malloc(total ? total : 1);
	o->pos = malloc((nchunks ? nchunks : 1) * sizeof(*o->pos));
	if (!o->chunk || !o->dense || !o->sparse || !o->pos) {
		mfs_plan_order_release(o);
		return -ENOMEM;
	}
	for (uint32_t c = 0; c < nchunks; c++)
		o->pos[c] = MFS_PLAN_NONE;
	for (uint32_t i = 0; i < nruns; i++) {
		if ((runs[i].flags & MFS_PLAN_CYCLE) && o->cycle == MFS_PLAN_NONE)
			o->cycle = p;
		for (uint32_t k = 0; k < runs[i].count; k++, p++) {
			uint32_t c = runs[i].first + k;

			o->chunk[p] = c;
			o->sparse[p] = (runs[i].flags & MFS_PLAN_SPARSE) != 0;
			if (c < nchunks && o->pos[c] == MFS_PLAN_NONE)
				o->pos[c] = p;
		}
	}
	o->n = p;
	for (uint32_t q = p, d = MFS_PLAN_NONE; q-- > 0;) {
		if (!o->sparse[q])
			d = q;
		o->dense[q] = d;
	}
	return 0;
}

void mfs_plan_order_release(struct mfs_plan_order *o)
{
	free(o->chunk);
	free(o->dense);
	free(o->pos);
	free(o->sparse);
	memset(o, 0, sizeof(*o));
	o->cycle = MFS_PLAN_NONE;
}

uint32_t mfs_plan_order_next(const struct mfs_plan_order *o, uint32_t p)
{
	if (p < o->n && p + 1 < o->n && o->dense[p + 1] != MFS_PLAN_NONE)
		return o->dense[p + 1];
	/* Past the last non-sparse position: around to the cycle, if it has one. */
	if (o->cycle == MFS_PLAN_NONE || o->cycle >= o->n)
		return MFS_PLAN_NONE;
	return o->dense[o->cycle]; /* MFS_PLAN_NONE if every position there is sparse */
}
