/* SPDX-License-Identifier: MIT */
/*
 * pool.h - worker threads that decode chunks, separate from FUSE's threads.
 *
 * A FUSE thread that misses in the cache queues a job and sleeps; so does
 * the prefetcher, without sleeping. Workers take demand jobs before any
 * prefetch job, so speculation never delays a reader by more than the job a
 * worker is already running. Each worker owns one struct mfs_dctx (zstd
 * context and scratch buffers) for its whole life.
 *
 * Jobs are owned by their submitter until run() is called; run() owns them
 * from then on (and usually frees them).
 */
#ifndef MFS_POOL_H
#define MFS_POOL_H

#include <stdbool.h>

#include "codec.h"

struct mfs_pool;

struct mfs_pool_job {
	void (*run)(struct mfs_pool_job *job, struct mfs_dctx *dctx);
	struct mfs_pool_job *next; /* queue link; the pool's */
};

/*
 * Start @nthreads workers (at least 1). NULL on failure.
 *
 * With @cores between 1 and @nthreads-1, how many of them run jobs at once
 * follows what the jobs do: jobs that block (a voluntary context switch: a
 * read from a disk or a network) keep more reads in flight on more threads;
 * jobs that only compute (a container on tmpfs, chunks pinned in memory)
 * run on @cores threads, since more would only take cores from each other
 * and from the program reading. The share of jobs that blocked, a moving
 * average over about 16 jobs, sets it: @cores up to a quarter, all threads
 * from a half. It starts at @nthreads. @cores 0: all @nthreads, always.
 */
struct mfs_pool *mfs_pool_new(unsigned int nthreads, unsigned int cores);

/* How many workers may run jobs at once now (for stats and tests). */
unsigned int mfs_pool_active_limit(struct mfs_pool *p);

/* Queue @job; @urgent (a reader waits for it) goes before every prefetch job. */
void mfs_pool_submit(struct mfs_pool *p, struct mfs_pool_job *job, bool urgent);

/*
 * A reader now waits for prefetch job @job: if it is still queued, move it to
 * the urgent queue. @job is only compared, never dereferenced, so it may be a
 * job that already ran. Returns whether it was moved.
 */
bool mfs_pool_promote(struct mfs_pool *p, const struct mfs_pool_job *job);

/* Prefetch jobs queued and not yet started. */
unsigned int mfs_pool_backlog(struct mfs_pool *p);

/* Run what is queued, stop the workers, free the pool. _free(NULL) is a no-op. */
void mfs_pool_free(struct mfs_pool *p);

#endif
