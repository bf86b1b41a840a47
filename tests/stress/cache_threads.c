/* SPDX-License-Identifier: MIT */
/*
 * cache_threads.c - mfs-cache-threads: the cache and the worker pool under
 * many threads, without FUSE, for ThreadSanitizer (Criterion cannot run
 * under TSan: Snaipe/Criterion#274) and the other sanitizers.
 *
 * 8 reader threads look up random chunks of 4 files in a cache whose budget
 * holds a quarter of them, as the daemon does: a reader that creates an
 * entry queues a fill job on a 4-worker pool (urgent) or, for speculative
 * lookups, a prefetch job; other readers wait, promote queued prefetches, and
 * check every byte; one fill in 64 fails, and its waiters see the error.
 * At the end the cache holds no more than its budget. Exit 1 on a wrong byte
 * or a broken count; sanitizers report races and leaks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "pool.h"
#include "stats.h"

#define NREADERS 8
#define NFILES 4
#define NCHUNKS 64
#define LEN 4096u
#define BUDGET (NFILES * NCHUNKS * LEN / 4)

static struct mfs_cache *cache;
static struct mfs_pool *pool;
static struct mfs_stats stats;
static unsigned long ops = 20000;
static atomic_ulong filled, failed_fills, seen_errors, wrong;

struct fill_job {
	struct mfs_pool_job job;
	struct mfs_centry *e;
	uint64_t file;
	uint32_t chunk;
	int error;
};

static uint8_t byte_of(uint64_t file, uint32_t chunk, size_t i)
{
	return (uint8_t)(file * 131 + chunk * 7 + i * 13);
}

static void run_fill(struct mfs_pool_job *job, struct mfs_dctx *dctx)
{
	struct fill_job *j = (struct fill_job *)job;
	uint8_t *d = mfs_centry_data(j->e);

	(void)dctx;
	if (!j->error)
		for (size_t i = 0; i < LEN; i++)
			d[i] = byte_of(j->file, j->chunk, i);
	mfs_cache_complete(cache, j->e, j->error);
	mfs_cache_put(cache, j->e); /* the job's reference */
	atomic_fetch_add(j->error ? &failed_fills : &filled, 1);
	free(j);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *reader(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);

	for (unsigned long n = 0; n < ops; n++) {
		uint64_t file = rnd(&s) % NFILES;
		uint32_t chunk = (uint32_t)(rnd(&s) % NCHUNKS);
		unsigned int flags = rnd(&s) % 4 == 0 ? MFS_CACHE_PREFETCH : 0, got = 0;
		struct mfs_centry *e = mfs_cache_get(cache, file, chunk, LEN, flags, &got);
		const uint8_t *d;
		int r;

		if (!e) {
			fprintf(stderr, "cache_threads: get failed\n");
			exit(1);
		}
		if (got & MFS_CACHE_CREATED) {
			struct fill_job *j = calloc(1, sizeof(*j));
			if (!j)
				exit(1);
			j->job.run = run_fill;
			j->e = e;
			j->file = file;
			j->chunk = chunk;
			j->error = rnd(&s) % 64 == 0 ? -EIO : 0;
			mfs_cache_hold(cache, e); /* the job's reference */
			mfs_centry_set_tag(e, &j->job);
			mfs_pool_submit(pool, &j->job, !(flags & MFS_CACHE_PREFETCH));
		} else if (got & MFS_CACHE_INFLIGHT) {
			mfs_pool_promote(pool, mfs_centry_tag(e));
		}
		if (flags & MFS_CACHE_PREFETCH) {
			mfs_cache_put(cache, e);
			continue;
		}
		r = mfs_cache_wait(cache, e);
		if (r) {
			atomic_fetch_add(&seen_errors, 1);
			mfs_cache_put(cache, e);
			continue;
		}
		d = mfs_centry_data(e);
		for (size_t i = 0; i < LEN; i++) {
			if (d[i] != byte_of(file, chunk, i)) {
				atomic_fetch_add(&wrong, 1);
				break;
			}
		}
		if (rnd(&s) % 2)
			mfs_cache_put_served(cache, e, 0, LEN);
		else
			mfs_cache_put(cache, e);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NREADERS];
	uint64_t bytes, entries;

	if (argc > 1)
		ops = strtoul(argv[1], NULL, 10);
	cache = mfs_cache_new(BUDGET, &stats);
	pool = mfs_pool_new(4, 2);
	if (!cache || !pool)
		return 1;
	for (uintptr_t i = 0; i < NREADERS; i++)
		pthread_create(&t[i], NULL, reader, (void *)i);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(t[i], NULL);
	mfs_pool_free(pool); /* runs what is still queued */
	mfs_cache_usage(cache, &bytes, &entries);
	printf("cache_threads: %d readers x %lu lookups: %lu fills, %lu failed fills, %lu waits "
	       "saw the failure, %lu wrong; cache %llu bytes in %llu entries (budget %u)\n",
	       NREADERS, ops, atomic_load(&filled), atomic_load(&failed_fills),
	       atomic_load(&seen_errors), atomic_load(&wrong), (unsigned long long)bytes,
	       (unsigned long long)entries, BUDGET);
	mfs_cache_free(cache);
	if (atomic_load(&wrong) || bytes > BUDGET || !atomic_load(&filled) ||
	    (atomic_load(&failed_fills) && !atomic_load(&seen_errors))) {
		fprintf(stderr, "cache_threads: FAILED\n");
		return 1;
	}
	return 0;
}
