/* SPDX-License-Identifier: MIT */
/*
 * test_cache.c - the decoded-chunk cache's prefetch accounting (speculative
 * bytes, hits, waste, reads that find a prefetch in flight), the demotion of
 * chunks the kernel has been served whole, the reuse of evicted buffers,
 * promotion of queued prefetch jobs in the worker pool, and how many of its
 * workers run at once.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "pool.h"
#include "stats.h"

#define K 1024u

static struct mfs_centry *get(struct mfs_cache *c, uint32_t chunk, unsigned int flags,
			      unsigned int *got)
{
	struct mfs_centry *e = mfs_cache_get(c, 7, chunk, 64 * K, flags, got);

	cr_assert_not_null(e);
	return e;
}

/* Fill a LOADING entry and drop the filler's reference. */
static void fill(struct mfs_cache *c, struct mfs_centry *e)
{
	mfs_cache_complete(c, e, 0);
	mfs_cache_put(c, e);
}

Test(cache, prefetch_hits_waits_and_waste)
{
	static struct mfs_stats st;
	struct mfs_cache *c = mfs_cache_new(1u << 20, &st); /* 16 chunks of 64 KiB */
	struct mfs_centry *e, *f;
	unsigned int got;

	/* A prefetch is speculative until a reader asks. */
	e = get(c, 1, MFS_CACHE_PREFETCH, &got);
	cr_assert_eq(got, MFS_CACHE_CREATED);
	cr_assert_eq(mfs_cache_spec_bytes(c), 64 * K);
	/* A reader finds it still loading: a hit, a wait on a prefetch in flight. */
	f = get(c, 1, 0, &got);
	cr_assert_eq(got, MFS_CACHE_INFLIGHT);
	cr_assert_eq(mfs_cache_spec_bytes(c), 0);
	cr_assert_eq(atomic_load(&st.prefetch_hits), 1);
	cr_assert_eq(atomic_load(&st.prefetch_waits), 1);
	fill(c, e);
	cr_assert_eq(mfs_cache_wait(c, f), 0);
	mfs_cache_put(c, f);
	/* A second reader is an ordinary hit. */
	f = get(c, 1, 0, &got);
	cr_assert_eq(got, 0);
	cr_assert_eq(atomic_load(&st.prefetch_hits), 1);
	mfs_cache_put(c, f);

	/* Prefetches nobody reads are waste once evicted. */
	for (uint32_t i = 100; i < 140; i++)
		fill(c, get(c, i, MFS_CACHE_PREFETCH, &got));
	cr_assert_gt(atomic_load(&st.prefetch_waste), 20);
	cr_assert_leq(mfs_cache_spec_bytes(c), 1u << 20, "evicted prefetches still counted");
	/* A failed prefetch leaves the index and the count. */
	{
		uint64_t spec;

		e = get(c, 200, MFS_CACHE_PREFETCH, &got);
		spec = mfs_cache_spec_bytes(c);
		mfs_cache_complete(c, e, -EIO);
		mfs_cache_put(c, e);
		cr_assert_eq(mfs_cache_spec_bytes(c), spec - 64 * K);
	}
	mfs_cache_free(c);
}

Test(cache, chunks_served_whole_are_evicted_first)
{
	static struct mfs_stats st;
	/* One shard, 64 chunks (each also costs a few hundred bytes of bookkeeping). */
	struct mfs_cache *c = mfs_cache_new((4u << 20) + 64 * 512, &st);
	struct mfs_centry *e;
	unsigned int got;

	for (uint32_t i = 0; i < 64; i++)
		fill(c, get(c, i, 0, &got));
	/* Chunk 63 is the most recent; serve it whole in two pieces. */
	mfs_cache_put_served(c, get(c, 63, 0, &got), 0, 32 * K);
	mfs_cache_put_served(c, get(c, 63, 0, &got), 32 * K, 64 * K);
	/* Chunk 5 served only in part stays where it was. */
	mfs_cache_put_served(c, get(c, 5, 0, &got), 4 * K, 64 * K);
	/* One new chunk needs room: the chunk served whole goes first, then the oldest. */
	fill(c, get(c, 64, 0, &got));
	cr_assert_eq(atomic_load(&st.cache_evictions), 1, "evicted more than needed");
	e = get(c, 63, MFS_CACHE_PREFETCH, &got);
	cr_assert_eq(got, MFS_CACHE_CREATED, "the chunk served whole is still cached");
	fill(c, e);
	cr_assert_eq(atomic_load(&st.cache_evictions), 2);
	e = get(c, 0, MFS_CACHE_PREFETCH, &got);
	cr_assert_eq(got, MFS_CACHE_CREATED, "the oldest chunk was evicted second");
	fill(c, e);
	e = get(c, 5, MFS_CACHE_PREFETCH, &got);
	cr_assert_eq(got, 0, "a chunk served in part was evicted early");
	mfs_cache_put(c, e);
	mfs_cache_free(c);
}

/*
 * A long read fills the cache: each new chunk then takes the buffer of the
 * one evicted for it, rather than freeing one and faulting in another.
 */
Test(cache, a_full_cache_gives_the_evicted_buffer_to_the_new_chunk)
{
	static struct mfs_stats st;
	struct mfs_cache *c = mfs_cache_new((4u << 20) + 64 * 512, &st); /* one shard, 64 chunks */
	struct mfs_centry *e;
	unsigned int got;
	void *oldest;

	e = get(c, 0, 0, &got);
	oldest = mfs_centry_data(e);
	fill(c, e);
	for (uint32_t i = 1; i < 64; i++)
		fill(c, get(c, i, 0, &got));
	cr_assert_eq(atomic_load(&st.cache_evictions), 0);
	e = get(c, 64, 0, &got);
	cr_assert_eq(got, MFS_CACHE_CREATED);
	cr_assert_eq(atomic_load(&st.cache_evictions), 1);
	cr_assert_eq(mfs_centry_data(e), oldest, "the new chunk did not get the evicted buffer");
	fill(c, e);
	mfs_cache_free(c);
}

/*
 * Chunks larger than a shard's share of the budget: however many were read,
 * at most one stays idle over the budget (it was 16, one per shard), and it
 * stays between the kernel's pieces of it.
 */
Test(cache, one_oversized_chunk_idle_in_the_whole_cache)
{
	static struct mfs_stats st;
	struct mfs_cache *c = mfs_cache_new(64u << 20, &st); /* 16 shards of 4 MiB */
	const size_t big = 16u << 20;
	struct mfs_centry *e;
	uint64_t bytes, entries;
	unsigned int got;

	for (uint32_t i = 0; i < 32; i++) {
		e = mfs_cache_get(c, 9, i, big, 0, &got);
		cr_assert_not_null(e);
		fill(c, e);
		/* The kernel asks again for the next 1 MiB piece of the same chunk. */
		e = mfs_cache_get(c, 9, i, big, 0, &got);
		cr_assert_eq(got, 0, "chunk %u dropped between two pieces of it", i);
		mfs_cache_put_served(c, e, 0, 1u << 20);
		mfs_cache_usage(c, &bytes, &entries);
		cr_assert_leq(bytes, (64u << 20) + big + 4096, "%zu bytes held after chunk %u",
			      (size_t)bytes, i);
	}
	cr_assert_leq(entries, 1);
	/* Entries of a usual size still fill the budget around it. */
	for (uint32_t i = 100; i < 400; i++)
		fill(c, mfs_cache_get(c, 9, i, 256 * K, 0, &got));
	mfs_cache_usage(c, &bytes, &entries);
	cr_assert_leq(bytes, (64u << 20) + big + 4096);
	cr_assert_gt(bytes, 32u << 20);
	/* A smaller budget drops it. */
	mfs_cache_set_budget(c, 4u << 20);
	mfs_cache_usage(c, &bytes, &entries);
	cr_assert_leq(bytes, 4u << 20);
	mfs_cache_free(c);
}

struct slow_job {
	struct mfs_pool_job base;
	pthread_mutex_t *lock;
	int *order, *n, id;
};

static void slow_run(struct mfs_pool_job *j, struct mfs_dctx *dctx)
{
	struct slow_job *s = (struct slow_job *)j;

	(void)dctx;
	pthread_mutex_lock(s->lock);
	s->order[(*s->n)++] = s->id;
	pthread_mutex_unlock(s->lock);
	if (s->id == 0)
		usleep(200000); /* keep the only worker busy while the rest queue */
}

Test(cache, pool_promotes_a_queued_prefetch)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int order[8], n = 0;
	struct slow_job jobs[5];
	struct mfs_pool *p = mfs_pool_new(1, 0);

	cr_assert_not_null(p);
	for (int i = 0; i < 5; i++) {
		jobs[i] = (struct slow_job){.base.run = slow_run, .lock = &lock, .order = order,
					    .n = &n, .id = i};
		mfs_pool_submit(p, &jobs[i].base, false);
	}
	usleep(50000);
	cr_assert(mfs_pool_promote(p, &jobs[4].base), "job 4 was queued");
	cr_assert_not(mfs_pool_promote(p, &jobs[0].base), "job 0 is running, not queued");
	mfs_pool_free(p);
	cr_assert_eq(n, 5);
	cr_assert_eq(order[0], 0);
	cr_assert_eq(order[1], 4, "the promoted job ran next");
	cr_assert_eq(order[2], 1);
	cr_assert_eq(order[4], 3);
}

/* Jobs that compute (a spin of about 1 ms, no system call) or block (a sleep). */
struct count_job {
	struct mfs_pool_job base;
	atomic_int *inside, *most, *done;
	bool sleep;
};

static void count_run(struct mfs_pool_job *base, struct mfs_dctx *dctx)
{
	struct count_job *j = (struct count_job *)base;
	int now = atomic_fetch_add(j->inside, 1) + 1, most = atomic_load(j->most);

	(void)dctx;
	while (now > most && !atomic_compare_exchange_weak(j->most, &most, now))
		;
	if (j->sleep) {
		usleep(2000);
	} else {
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0); /* a vDSO call: no context switch */
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 1000000L);
	}
	atomic_fetch_sub(j->inside, 1);
	atomic_fetch_add(j->done, 1);
}

/* Runs @n jobs of a kind on @p and waits for them; returns the most that ran at once. */
static int run_jobs(struct mfs_pool *p, struct count_job *jobs, int n, bool sleep)
{
	atomic_int inside = 0, most = 0, done = 0;

	for (int i = 0; i < n; i++) {
		jobs[i] = (struct count_job){.base.run = count_run, .inside = &inside, .most = &most,
					     .done = &done, .sleep = sleep};
		mfs_pool_submit(p, &jobs[i].base, i % 2 == 0);
	}
	while (atomic_load(&done) < n)
		usleep(1000);
	/* The last job's worker updates the limit after run() returns: let it. */
	usleep(20000);
	return atomic_load(&most);
}

Test(cache, pool_runs_as_many_workers_as_its_jobs_need)
{
	static struct count_job jobs[128];
	struct mfs_pool *p = mfs_pool_new(8, 2);
	int most;

	cr_assert_not_null(p);
	cr_assert_eq(mfs_pool_active_limit(p), 8, "it starts with every worker");
	/* Jobs that only compute bring it down to the cores... */
	run_jobs(p, jobs, 96, false);
	cr_assert_eq(mfs_pool_active_limit(p), 2, "computing jobs: limit %u",
		     mfs_pool_active_limit(p));
	most = run_jobs(p, jobs, 32, false);
	cr_assert_leq(most, 2, "%d computing jobs ran at once under a limit of 2", most);
	/* ...and jobs that block take it back up to every worker. */
	most = run_jobs(p, jobs, 128, true);
	cr_assert_eq(mfs_pool_active_limit(p), 8, "blocking jobs: limit %u",
		     mfs_pool_active_limit(p));
	cr_assert_gt(most, 2, "blocking jobs never ran more than %d at once", most);
	mfs_pool_free(p);
}

Test(cache, pool_without_cores_keeps_every_worker)
{
	static struct count_job jobs[64];
	struct mfs_pool *p = mfs_pool_new(4, 0);

	cr_assert_not_null(p);
	run_jobs(p, jobs, 64, false);
	cr_assert_eq(mfs_pool_active_limit(p), 4);
	mfs_pool_free(p);
}

/*
 * Freed with jobs still queued, after computing jobs brought the limit to
 * the cores: free lifts the limit and wakes every idle worker, and a worker
 * that finishes a job must not bring the limit back down and leave the others
 * asleep with jobs queued (free then waited on them for ever). Every job runs
 * and free returns; Criterion's timeout fails a hang.
 */
Test(cache, pool_free_with_jobs_queued_runs_them_and_returns, .timeout = 30)
{
	static struct count_job jobs[256];
	atomic_int inside = 0, most = 0, done = 0;

	for (int round = 0; round < 20; round++) {
		struct mfs_pool *p = mfs_pool_new(8, 2);

		cr_assert_not_null(p);
		run_jobs(p, jobs, 48, false); /* the limit falls to the cores */
		atomic_store(&done, 0);
		for (int i = 0; i < 256; i++) {
			jobs[i] = (struct count_job){.base.run = count_run, .inside = &inside,
						     .most = &most, .done = &done, .sleep = i % 4 == 0};
			mfs_pool_submit(p, &jobs[i].base, i % 3 == 0);
		}
		mfs_pool_free(p);
		cr_assert_eq(atomic_load(&done), 256, "round %d: %d of 256 jobs ran", round,
			     atomic_load(&done));
	}
}
