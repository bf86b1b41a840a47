/* SPDX-License-Identifier: MIT */
/*
 * prefetch.h - what to decode ahead of a reader (-o prefetch=).
 *
 * A policy object, one per open container: told of every read (the chunk
 * range and its bytes), it decides which chunks to queue next and calls
 * ops->issue() for each, in order, until that says stop (the cache's cap on
 * prefetched bytes). It knows nothing of FUSE, the cache or the workers, so
 * tests drive it with a plan and a list of reads (tests/unit/test_prefetch.c).
 *
 * With a plan (plan.h), a read of a chunk in it schedules the chunks that
 * follow in the plan: across tensor and layer boundaries, past sparse runs
 * (embeddings), around to the first layer. A read of a sparse run's row
 * schedules nothing, unless it is the third of rows read one after the
 * other in the file: a scan (loading, a copy) is prefetched in file order. Reads of chunks outside the plan,
 * and every read without a plan, use the file order: reads that start in or
 * right after the chunk the previous read ended in are sequential. Within a
 * tensor the file and the plan agree; where they part, the reader shows which
 * one it follows (a read right after the previous one in the file but not in
 * the plan - loading, cp, a checksum - switches to file order, the other way
 * round back to the plan).
 *
 * Either way the depth adapts: it starts small, doubles while reads keep
 * following the prediction, and is at least what the reader consumes while a
 * prefetched chunk gets ready (consumption rate x prefetch latency, x2); a
 * read off the prediction starts over from it. One read steps over at most
 * MFS_PREFETCH_MAX_STEPS chunks or plan positions, whatever a container
 * declares.
 */
#ifndef MFS_PREFETCH_H
#define MFS_PREFETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "plan_order.h"

#define MFS_PREFETCH_MAX_STEPS 1024u

struct mfs_prefetch_ops {
	/* Original bytes of chunk @idx. */
	uint32_t (*chunk_len)(void *ctx, uint32_t idx);
	/* Queue chunk @idx (already cached or queued is fine); false: stop here. */
	bool (*issue)(void *ctx, uint32_t idx);
};

/* What the daemon knows at the time of a read. */
struct mfs_prefetch_env {
	uint64_t cap;	     /* most bytes to hold ahead of readers */
	uint64_t latency_ns; /* how long a prefetch takes to be ready (moving average) */
	uint64_t now_ns;     /* a monotonic clock */
};

struct mfs_prefetcher {
	const struct mfs_prefetch_ops *ops;
	void *ctx;
	uint32_t nchunks;
	const struct mfs_plan_order *plan; /* NULL or empty: file order only */
	pthread_mutex_t lock;		   /* protects the fields below */
	uint32_t ra_last;		   /* last chunk of the previous read */
	uint32_t ra_streak;		   /* sequential reads in a row */
	uint32_t ra_next;		   /* first chunk not yet prefetched */
	uint32_t pl_last;    /* plan position of the previous read, or MFS_PLAN_NONE */
	uint32_t pl_next;    /* first position not yet prefetched, or MFS_PLAN_NONE */
	uint32_t pl_streak;  /* reads in a row that followed the plan */
	bool follow_file;    /* the reader follows the file, not the plan */
	uint64_t rate_t0;    /* start of the current rate window, ns */
	uint64_t rate_bytes; /* bytes read in it */
	uint64_t rate_bps;   /* the reader's consumption rate (moving average) */
};

void mfs_prefetch_init(struct mfs_prefetcher *pf, uint32_t nchunks,
		       const struct mfs_plan_order *plan, const struct mfs_prefetch_ops *ops,
		       void *ctx);
void mfs_prefetch_destroy(struct mfs_prefetcher *pf);

/* A read of chunks [@first, @last], @bytes long, was served: prefetch after it. */
void mfs_prefetch_read(struct mfs_prefetcher *pf, uint32_t first, uint32_t last, uint64_t bytes,
		       const struct mfs_prefetch_env *env);

#endif
