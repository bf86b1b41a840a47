/* SPDX-License-Identifier: MIT */
/*
 * prefetch.c - the prefetch policy (see prefetch.h).
 */
#include "prefetch.h"

#define RA_MAX_STREAK 8		/* window = 256 KiB << streak, capped by the env's cap */
#define RATE_WINDOW_NS 50000000 /* the consumption rate is measured over >= 50 ms */
#define EDGE_MAX (16u << 10)	/* chunks this small are decoded with their neighbours */
#define PLAN_LOOKBACK 4096u /* plan steps a read may be after the previous and count as predicted  \
			     */

void mfs_prefetch_init(struct mfs_prefetcher *pf, uint32_t nchunks,
		       const struct mfs_plan_order *plan, const struct mfs_prefetch_ops *ops,
		       void *ctx)
{
	*pf = (struct mfs_prefetcher){
	    .ops = ops,
	    .ctx = ctx,
	    .nchunks = nchunks,
	    .plan = plan && plan->n ? plan : NULL,
	    .ra_last = UINT32_MAX - 1, /* so that no first read looks sequential */
	    .pl_last = MFS_PLAN_NONE,
	    .pl_next = MFS_PLAN_NONE,
	};
	pthread_mutex_init(&pf->lock, NULL);
}

void mfs_prefetch_destroy(struct mfs_prefetcher *pf)
{
	pthread_mutex_destroy(&pf->lock);
}

static uint32_t len(const struct mfs_prefetcher *pf, uint32_t idx)
{
	return pf->ops->chunk_len(pf->ctx, idx);
}

/*
 * How far ahead to prefetch after @streak reads that followed the prediction:
 * 256 KiB doubled per read, and at least twice what the reader consumes while
 * a prefetch gets ready; at most the cap.
 */
static uint64_t window(const struct mfs_prefetcher *pf, uint32_t streak,
		       const struct mfs_prefetch_env *env)
{
	uint64_t w = (uint64_t)(256u << 10) << streak, cap = env->cap;
	double need = 2.0 * (double)pf->rate_bps * (double)env->latency_ns / 1e9;

	if (streak && need > (double)w)
		w = need > (double)cap ? cap : (uint64_t)need;
	return w < cap ? w : cap;
}

/* Updates the reader's consumption rate with a read of @bytes. */
static void account_rate(struct mfs_prefetcher *pf, uint64_t bytes, uint64_t now)
{
	uint64_t dt;

	if (!pf->rate_t0)
		pf->rate_t0 = now;
	pf->rate_bytes += bytes;
	dt = now - pf->rate_t0;
	if (dt < RATE_WINDOW_NS)
		return;
	/* Half the old estimate, half this window; a long pause decays it fast. */
	pf->rate_bps = pf->rate_bps / 2 + (uint64_t)((double)pf->rate_bytes * 1e9 / (double)dt) / 2;
	pf->rate_t0 = now;
	pf->rate_bytes = 0;
}

/* File-order prefetch after a read of chunks [@first, @last]. */
static void prefetch_sequential(struct mfs_prefetcher *pf, uint32_t first, uint32_t last,
				const struct mfs_prefetch_env *env)
{
	uint32_t start, i;
	uint64_t w, ahead = 0;

	if (first == pf->ra_last || first == pf->ra_last + 1) {
		if (pf->ra_streak < RA_MAX_STREAK)
			pf->ra_streak++;
	} else {
		pf->ra_streak = 0;
		pf->ra_next = 0;
	}
	pf->ra_last = last;
	if (pf->ra_streak == 0)
		return;
	w = window(pf, pf->ra_streak, env);
	/* Chunks between the read and ra_next were prefetched already. */
	start = pf->ra_next > last + 1 ? pf->ra_next : last + 1;
	if (start - (last + 1) > MFS_PREFETCH_MAX_STEPS)
		start = last + 1 + MFS_PREFETCH_MAX_STEPS;
	for (i = last + 1; i < start && i < pf->nchunks; i++)
		ahead += len(pf, i);
	for (i = start; i < pf->nchunks && ahead < w && i - start < MFS_PREFETCH_MAX_STEPS; i++) {
		if (!pf->ops->issue(pf->ctx, i))
			break;
		ahead += len(pf, i);
	}
	pf->ra_next = i;
}

/* Is plan position @p at most @max steps after the previous read's, and not past @stop? */
static bool plan_follows(const struct mfs_prefetcher *pf, uint32_t p, uint32_t stop, uint32_t max)
{
	uint32_t q = pf->pl_last;

	for (uint32_t steps = 0; q != MFS_PLAN_NONE && steps <= max; steps++) {
		if (q == p)
			return true;
		if (steps && q == stop)
			return false;
		q = mfs_plan_order_next(pf->plan, q);
	}
	return false;
}

/* Plan-order prefetch after a read that ended at plan position @p. */
static void prefetch_plan(struct mfs_prefetcher *pf, uint32_t p, const struct mfs_prefetch_env *env)
{
	const struct mfs_plan_order *o = pf->plan;
	uint64_t w, ahead = 0;
	uint32_t q, start, steps = 0;

	/* A row of the embeddings: what follows was predicted by the read before. */
	if (o->sparse[p] && pf->pl_last != MFS_PLAN_NONE)
		return;
	/* Predicted: between the previous read and what was prefetched (a few hundred chunks). */
	if (plan_follows(pf, p, pf->pl_next, PLAN_LOOKBACK)) {
		if (pf->pl_streak < RA_MAX_STREAK)
			pf->pl_streak++;
	} else {
		pf->pl_streak = 0;
		pf->pl_next = MFS_PLAN_NONE;
	}
	pf->pl_last = p;
	w = window(pf, pf->pl_streak + 1, env); /* the plan is a prediction from the start */
	start = mfs_plan_order_next(o, p);
	/* Positions between the read and pl_next were prefetched already. */
	if (pf->pl_next != MFS_PLAN_NONE && pf->pl_next != p) {
		for (q = start; q != MFS_PLAN_NONE && q != pf->pl_next && ahead < w &&
				steps < MFS_PREFETCH_MAX_STEPS;
		     q = mfs_plan_order_next(o, q), steps++)
			ahead += len(pf, o->chunk[q]);
		start = q;
	}
	for (q = start; q != MFS_PLAN_NONE && q != p && ahead < w && steps < MFS_PREFETCH_MAX_STEPS;
	     q = mfs_plan_order_next(o, q), steps++) {
		uint32_t x = o->chunk[q];

		if (!pf->ops->issue(pf->ctx, x))
			break;
		ahead += len(pf, x);
		/*
		 * A small chunk beside it in the file is an edge (layout.h): the page
		 * it shares with this chunk's tensor will be read with it.
		 */
		if (x > 0 && len(pf, x - 1) <= EDGE_MAX)
			pf->ops->issue(pf->ctx, x - 1);
		if (x + 1 < pf->nchunks && len(pf, x + 1) <= EDGE_MAX)
			pf->ops->issue(pf->ctx, x + 1);
	}
	pf->pl_next = q;
}

void mfs_prefetch_read(struct mfs_prefetcher *pf, uint32_t first, uint32_t last, uint64_t bytes,
		       const struct mfs_prefetch_env *env)
{
	uint32_t p = pf->plan ? pf->plan->pos[last] : MFS_PLAN_NONE;
	bool seq, near;

	pthread_mutex_lock(&pf->lock);
	account_rate(pf, bytes, env->now_ns);
	seq = first == pf->ra_last || first == pf->ra_last + 1;
	if (p != MFS_PLAN_NONE && !pf->plan->sparse[p]) {
		near = plan_follows(pf, p, MFS_PLAN_NONE, 8);
		if (seq && !near)
			pf->follow_file = true;
		else if (near && !seq)
			pf->follow_file = false;
	}
	if (p != MFS_PLAN_NONE && pf->plan->sparse[p] && seq && pf->ra_streak >= 1 &&
	    !pf->follow_file) {
		/*
		 * Rows one after the other, three reads in a row: a scan of the
		 * embeddings (loading with MADV_WILLNEED, a copy), not inference.
		 */
		prefetch_sequential(pf, first, last, env);
	} else if (p == MFS_PLAN_NONE || pf->follow_file) {
		prefetch_sequential(pf, first, last, env);
		pf->pl_last = p;
		pf->pl_next = MFS_PLAN_NONE;
		pf->pl_streak = 0;
	} else {
		prefetch_plan(pf, p, env);
		if (!seq)
			pf->ra_streak = 0;
		else if (pf->ra_streak < RA_MAX_STREAK)
			pf->ra_streak++;
		pf->ra_last = last;
		pf->ra_next = 0; /* nothing was prefetched in file order */
	}
	pthread_mutex_unlock(&pf->lock);
}
