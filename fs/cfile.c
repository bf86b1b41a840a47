/* SPDX-License-Identifier: MIT */
/*
 * cfile.c - reading from an opened container.
 *
 * A FUSE read becomes a range of chunks. Each chunk is looked up in the
 * cache; the first reader to miss queues a decode job on the worker pool,
 * others wait for the same entry (single flight). The read hands back the
 * cached buffers themselves, held until the caller (ops.c) has replied.
 *
 * A chunk that fails (read error, undecodable, checksum mismatch) fails the
 * requests that touch it with EIO, is logged once, and is tried again on the
 * next request: a transient read error heals itself, corrupt bytes never
 * reach a reader.
 *
 * Cache keys name the container, not this open of it: the same file with the
 * same content (dev, ino, whole-file hash, chunk index checksum) gets the same
 * key after the kernel forgot and re-looked-up the inode (it does that under
 * memory pressure), so its decoded chunks are found again; a file replaced by
 * another never is. A closed container's chunks age out of the LRU.
 *
 * Prefetch (-o prefetch=): the policy in prefetch.h says which chunks to
 * decode ahead after each read; here they are queued. What prefetch holds
 * unread - queued, decoding or decoded but not yet asked for - is capped at
 * fs->prefetch_cap, so prefetch never pushes out of the cache what is about
 * to be read. Prefetch jobs run after every demand job, and a reader that
 * finds its chunk queued as a prefetch moves the job ahead.
 *
 * With -o trace=FILE every read appends a line (index/container/trace.h) to FILE, for
 * `modelfs plan`.
 */
#include "fs_i.h"

#include "dtype.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "log.h"
#include "trace.h"

static const struct mfs_prefetch_ops prefetch_ops;

struct chunk_job {
	struct mfs_pool_job base;
	struct mfs_cfile *cf;
	struct mfs_centry *e;
	uint32_t idx;
	bool prefetch;
	uint64_t submitted; /* ns */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The cache key of a container: its file and its content, as explained above. */
static uint64_t content_id(const struct mfs_node *n, const struct mfs_archive *ar)
{
	const struct mfs_footer_info *f = &mfs_archive_info(ar)->footer;
	uint64_t key[5] = {(uint64_t)n->dev, (uint64_t)n->ino, f->hash_lo, f->hash_hi,
			   f->sections[MFS_SEC_CHUNKS].checksum};

	return XXH3_64bits(key, sizeof(key));
}

/*
 * Bytes of tensors llama.cpp repacks into its own memory at load on CPUs
 * (Q4_0, Q4_K, IQ4_NL: its CPU_REPACK buffer type) and never maps again.
 */
static uint64_t repacked_bytes(const struct mfs_archive *ar)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		const struct mfs_tensor *t = mfs_archive_tensor(ar, i);

		if (t->layer != MFS_LAYER_NONE &&
		    (t->dtype == MFS_DT_Q4_0 || t->dtype == MFS_DT_Q4_K || t->dtype == MFS_DT_IQ4_NL))
			n += t->size;
	}
	return n;
}

int mfs_cfile_open(struct mfs_fs *fs, struct mfs_node *n, struct mfs_cfile **out)
{
	struct mfs_err err = {{0}};
	struct mfs_cfile *cf = calloc(1, sizeof(*cf));
	uint32_t nchunks;
	int r;

	*out = NULL;
	if (!cf)
		return -ENOMEM;
	cf->fs = fs;
	cf->fd = mfs_fs_node_open(n, O_RDONLY); /* its own: jobs may outlive the node */
	cf->path = strdup(n->path);
	if (cf->fd < 0 || !cf->path) {
		r = cf->fd < 0 ? cf->fd : -ENOMEM;
		goto fail;
	}
	r = mfs_src_init_fd(&cf->src, cf->fd, &err);
	if (!r)
		r = mfs_archive_open(&cf->ar, &cf->src, &err);
	if (!r) {
		r = fs->opts.remote ? mfs_backing_open_remote(&cf->backing, fs->opts.remote, cf->path,
							      cf->ar, &cf->src)
				    : mfs_backing_open(&cf->backing, fs->opts.backing, cf->fd, &cf->src);
		if (!r && cf->backing.fallback)
			mfs_log_warn_once(cf->path, cf->backing.fallback);
		if (!r)
			mfs_archive_set_data_source(cf->ar, &cf->backing.src);
	}
	if (r) {
		mfs_log(MFS_LOG_ERR, "%s: %s", cf->path, mfs_err_msg(&err, r));
		r = r == -ENOMEM ? r : -EIO;
		goto fail;
	}
	if (mfs_archive_info(cf->ar)->header.original_size != n->hdr.original_size) {
		mfs_log(MFS_LOG_ERR, "%s: changed since it was looked up", cf->path);
		r = -EIO;
		goto fail;
	}
	nchunks = mfs_archive_nchunks(cf->ar);
	cf->reported = calloc(nchunks / 8 + 1, 1);
	cf->served_at = calloc(nchunks ? nchunks : 1, sizeof(*cf->served_at));
	if (!cf->reported || !cf->served_at) {
		r = -ENOMEM;
		goto fail;
	}
	if (fs->opts.prefetch == MFS_PREFETCH_PLAN) {
		r = mfs_plan_order_build(&cf->plan, mfs_archive_plan_runs(cf->ar),
					 mfs_archive_nplan(cf->ar), nchunks);
		if (r)
			goto fail;
	}
	if (fs->opts.pin_size || fs->opts.pin_auto) {
		r = mfs_pin_init(cf);
		if (r)
			goto fail;
	}
	mfs_archive_hash_hex(cf->ar, cf->trace_id);
	atomic_init(&cf->refs, 1);
	cf->id = content_id(n, cf->ar);
	mfs_prefetch_init(&cf->prefetch, nchunks, &cf->plan, &prefetch_ops, cf);
	atomic_fetch_add(&fs->open_size, mfs_archive_info(cf->ar)->header.original_size);
	cf->repacked = repacked_bytes(cf->ar);
	atomic_fetch_add(&fs->open_repacked, cf->repacked);
	atomic_fetch_add(&fs->open_stored, mfs_archive_info(cf->ar)->stored_bytes);
	pthread_mutex_lock(&fs->cfiles_lock);
	cf->next = fs->cfiles;
	if (cf->next)
		cf->next->prev = cf;
	fs->cfiles = cf;
	pthread_mutex_unlock(&fs->cfiles_lock);
	*out = cf;
	return 0;
fail:
	mfs_pin_release(cf);
	mfs_plan_order_release(&cf->plan);
	free((void *)cf->reported);
	free((void *)cf->served_at);
	mfs_archive_close(cf->ar);
	mfs_backing_close(&cf->backing);
	if (cf->fd >= 0)
		close(cf->fd);
	free(cf->path);
	free(cf);
	return r;
}

void mfs_cfile_get(struct mfs_cfile *cf)
{
	atomic_fetch_add(&cf->refs, 1);
}

bool mfs_cfile_tryget(struct mfs_cfile *cf)
{
	unsigned int r = atomic_load(&cf->refs);

	while (r) {
		if (atomic_compare_exchange_weak(&cf->refs, &r, r + 1))
			return true;
	}
	return false;
}

void mfs_cfile_put(struct mfs_cfile *cf)
{
	struct mfs_fs *fs = cf->fs;

	if (atomic_fetch_sub(&cf->refs, 1) != 1)
		return;
	pthread_mutex_lock(&fs->cfiles_lock);
	if (cf->prev)
		cf->prev->next = cf->next;
	else
		fs->cfiles = cf->next;
	if (cf->next)
		cf->next->prev = cf->prev;
	pthread_mutex_unlock(&fs->cfiles_lock);
	atomic_fetch_sub(&fs->open_size, mfs_archive_info(cf->ar)->header.original_size);
	atomic_fetch_sub(&fs->open_repacked, cf->repacked);
	atomic_fetch_sub(&fs->open_stored, mfs_archive_info(cf->ar)->stored_bytes);
	mfs_backing_close(&cf->backing);
	close(cf->fd);
	mfs_prefetch_destroy(&cf->prefetch);
	mfs_pin_release(cf);
	mfs_dropper_forget(&fs->dropper, cf);
	mfs_archive_close(cf->ar);
	mfs_plan_order_release(&cf->plan);
	free((void *)cf->reported);
	free((void *)cf->served_at);
	free(cf->path);
	free(cf);
}

/* Logs a chunk's failure the first time it happens. */
static void report_once(struct mfs_cfile *cf, uint32_t idx, int r, const struct mfs_err *err)
{
	uint8_t bit = (uint8_t)(1u << (idx % 8));

	if (atomic_fetch_or(&cf->reported[idx / 8], bit) & bit)
		return;
	mfs_log(MFS_LOG_ERR, "%s: %s (reads touching it fail with EIO)", cf->path,
		mfs_err_msg(err, r));
}

static void chunk_job_run(struct mfs_pool_job *base, struct mfs_dctx *dctx)
{
	struct chunk_job *j = (struct chunk_job *)base;
	struct mfs_cfile *cf = j->cf;
	struct mfs_fs *fs = cf->fs;
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, j->idx);
	struct mfs_err err = {{0}};
	uint64_t t0 = now_ns(), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bool from_disk = true;
	int r;

	for (int tries = 0;; tries++) {
		if (cf->pinned)
			r = mfs_pin_read(cf, j->idx, mfs_centry_data(j->e), dctx, &from_disk, &err);
		else
			r = mfs_archive_read_chunk(cf->ar, j->idx, mfs_centry_data(j->e), c->llen,
						   dctx, &err);
		/* A copy the backing can drop and get again (the chunk store's): once more. */
		if (r != -EFSCORRUPTED || !from_disk || tries ||
		    !mfs_backing_bad(&cf->backing, c->poff, c->plen))
			break;
		mfs_stat_add(&fs->stats.checksum_failures, 1);
	}
	mfs_stat_add(&fs->stats.decompress_ns, now_ns() - t0);
	/* What the CPU spent, not waits for the disk or for a core: the decode speed. */
	mfs_stat_add(&fs->stats.decode_cpu_ns, clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0);
	if (from_disk)
		mfs_backing_done(&cf->backing, c->poff, c->plen);
	if (from_disk && (r == 0 || r == -EFSCORRUPTED))
		mfs_stat_add(&fs->stats.backing_bytes_read, c->plen);
	if (r == 0) {
		mfs_stat_add(&fs->stats.chunks_decompressed, 1);
		mfs_stat_add(&fs->stats.bytes_decompressed, c->llen);
	} else {
		mfs_stat_add(r == -EFSCORRUPTED ? &fs->stats.checksum_failures
						: &fs->stats.read_errors,
			     1);
		report_once(cf, j->idx, r, &err);
	}
	if (j->prefetch) {
		/* Moving average (1/8) of how long a prefetch takes to be ready. */
		uint64_t lat = now_ns() - j->submitted, avg = atomic_load(&fs->pf_latency_ns);

		atomic_store(&fs->pf_latency_ns, avg ? avg - avg / 8 + lat / 8 : lat);
	}
	mfs_cache_complete(fs->cache, j->e, r);
	mfs_cache_put(fs->cache, j->e);
	mfs_cfile_put(cf);
	free(j);
}

/*
 * Queues a decode of chunk @idx into @e, a LOADING entry the caller created.
 * The job takes its own references on @e and @cf and is the entry's tag, so a
 * reader can find a queued prefetch job and promote it.
 */
static int submit(struct mfs_cfile *cf, uint32_t idx, struct mfs_centry *e, bool prefetch)
{
	struct chunk_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->base.run = chunk_job_run;
	j->cf = cf;
	j->idx = idx;
	j->prefetch = prefetch;
	j->e = e;
	j->submitted = now_ns();
	mfs_cfile_get(cf);
	mfs_cache_hold(cf->fs->cache, e);
	mfs_centry_set_tag(e, j);
	if (prefetch) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);

		mfs_stat_add(&cf->fs->stats.prefetch_chunks, 1);
		mfs_backing_will_need(&cf->backing, c->poff, c->plen);
	}
	mfs_pool_submit(cf->fs->pool, &j->base, !prefetch);
	return 0;
}

/* The referenced cache entry for chunk @idx; queues its decode on a miss. */
static struct mfs_centry *acquire(struct mfs_cfile *cf, uint32_t idx, unsigned int flags)
{
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);
	struct mfs_cache *cache = cf->fs->cache;
	struct mfs_centry *e;
	unsigned int got;
	int r;

	e = mfs_cache_get(cache, cf->id, idx, c->llen, flags, &got);
	if (e && (got & MFS_CACHE_CREATED)) {
		r = submit(cf, idx, e, flags & MFS_CACHE_PREFETCH);
		if (r)
			mfs_cache_complete(cache, e, r); /* waiters see the error */
	} else if (e && (got & MFS_CACHE_INFLIGHT)) {
		mfs_pool_promote(cf->fs->pool, mfs_centry_tag(e));
		if (!(flags & MFS_CACHE_PREFETCH))
			mfs_backing_urgent(&cf->backing, c->poff, c->plen);
	}
	return e;
}

/* Queues a speculative decode of chunk @idx; false if prefetch must stop here. */
static bool prefetch_one(struct mfs_cfile *cf, uint32_t idx)
{
	struct mfs_fs *fs = cf->fs;
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);
	struct mfs_centry *e;
	uint64_t seen = atomic_load_explicit(&cf->served_at[idx], memory_order_relaxed);

	/*
	 * A kept chunk's pages are in the page cache: the reader will not ask.
	 * And while a reader cycles over more than fits, only chunks it came
	 * back to are worth the disk: the plan also lists tensors it read once
	 * (llama.cpp repacks Q4_K and Q4_0 weights into its own memory at load).
	 */
	if ((seen & MFS_DROP_KEPT) ||
	    (atomic_load_explicit(&fs->prefetch_cycle_only, memory_order_relaxed) &&
	     !(seen & MFS_DROP_CYCLE)))
		return true;
	if (mfs_cache_spec_bytes(fs->cache) + c->llen > atomic_load(&fs->prefetch_cap))
		return false;
	e = acquire(cf, idx, MFS_CACHE_PREFETCH);
	if (!e)
		return false;
	mfs_cache_put(fs->cache, e); /* a job keeps its own reference */
	return true;
}

static uint32_t pf_chunk_len(void *ctx, uint32_t idx)
{
	return mfs_archive_chunk(((struct mfs_cfile *)ctx)->ar, idx)->llen;
}

static bool pf_issue(void *ctx, uint32_t idx)
{
	return prefetch_one(ctx, idx);
}

static const struct mfs_prefetch_ops prefetch_ops = {pf_chunk_len, pf_issue};

/*
 * Appends this read of [@off, @end) to the trace file, in one write so lines
 * never interleave. The kernel reads whole pages: a chunk the request touches
 * only within its first or last page is one it reached for alignment, not
 * because the reader wanted it, and is left out.
 */
static void trace_read(struct mfs_cfile *cf, uint64_t off, uint64_t end, uint32_t first,
		       uint32_t last)
{
	char line[160 + PATH_MAX];
	const struct mfs_chunk *a = mfs_archive_chunk(cf->ar, first);
	const struct mfs_chunk *b = mfs_archive_chunk(cf->ar, last);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t n;

	if (first < last && a->loff + a->llen - off < page)
		first++;
	if (first < last && end - b->loff < page)
		last--;
	n = mfs_trace_format(line, sizeof(line), cf->trace_id, first, last, cf->path);
	if (n && write(cf->fs->trace_fd, line, n) < 0)
		mfs_log_warn_once("trace", "cannot write the trace file");
}

/*
 * The bytes of a read are its chunks' decoded buffers, sent as they are. A
 * read of many tiny chunks would need more pieces than one write to
 * /dev/fuse takes (IOV_MAX); past MFS_READ_MAX_IOV they are copied into one
 * buffer instead, and the chunks released at once.
 */
static int gather(struct mfs_cread *rd, uint64_t len)
{
	uint8_t *buf = malloc(len ? len : 1), *p;

	if (!buf)
		return -ENOMEM;
	p = buf;
	for (uint32_t i = 0; i < rd->niov; i++) {
		memcpy(p, rd->iov[i].iov_base, rd->iov[i].iov_len);
		p += rd->iov[i].iov_len;
	}
	rd->bounce = buf;
	return 0;
}

static void release_entries(struct mfs_cread *rd, bool served)
{
	struct mfs_cache *cache = rd->cf->fs->cache;

	for (uint32_t i = 0; i < rd->nents; i++) {
		size_t lo;

		if (!served) {
			mfs_cache_put(cache, rd->ents[i]);
			continue;
		}
		lo = (size_t)((uint8_t *)rd->iov[i].iov_base -
			      (uint8_t *)mfs_centry_data(rd->ents[i]));
		mfs_cache_put_served(cache, rd->ents[i], lo, lo + rd->iov[i].iov_len);
	}
	rd->nents = 0;
	if (rd->ents != rd->stack_e)
		free(rd->ents);
	rd->ents = rd->stack_e;
}

int mfs_cfile_read(struct mfs_cfile *cf, size_t size, uint64_t off, struct mfs_cread *rd)
{
	struct mfs_fs *fs = cf->fs;
	const struct mfs_archive_info *info = mfs_archive_info(cf->ar);
	uint64_t end, pos;
	uint32_t first, last, n;
	int r = 0;

	memset(rd, 0, sizeof(*rd));
	rd->cf = cf;
	rd->ents = rd->stack_e;
	rd->iov = rd->stack_iov;
	mfs_stat_add(&fs->stats.read_requests, 1);
	if (off >= info->header.original_size || size == 0)
		return 0; /* end of file: no bytes */
	end = off + size;
	if (end > info->header.original_size || end < off)
		end = info->header.original_size;
	first = (uint32_t)mfs_archive_find(cf->ar, off);
	last = (uint32_t)mfs_archive_find(cf->ar, end - 1);
	n = last - first + 1;
	if (n > MFS_READ_STACK) {
		rd->ents = calloc(n, sizeof(*rd->ents));
		rd->iov = calloc(n, sizeof(*rd->iov));
		if (!rd->ents || !rd->iov) {
			r = -ENOMEM;
			goto fail;
		}
	}
	/* Several chunks at once (readahead, loading): the backing may fetch them together. */
	if (n > 1) {
		const struct mfs_chunk *a = mfs_archive_chunk(cf->ar, first);
		const struct mfs_chunk *b = mfs_archive_chunk(cf->ar, last);

		mfs_backing_urgent(&cf->backing, a->poff, b->poff + b->plen - a->poff);
	}
	for (; rd->nents < n; rd->nents++) {
		rd->ents[rd->nents] = acquire(cf, first + rd->nents, 0);
		if (!rd->ents[rd->nents]) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (fs->trace_fd >= 0)
		trace_read(cf, off, end, first, last);
	if (fs->opts.prefetch != MFS_PREFETCH_OFF) {
		struct mfs_prefetch_env env = {atomic_load(&fs->prefetch_cap),
					       atomic_load(&fs->pf_latency_ns), now_ns()};

		mfs_prefetch_read(&cf->prefetch, first, last, end - off, &env);
	}

	pos = off;
	for (uint32_t i = 0; i < n; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, first + i);
		uint64_t cend = c->loff + c->llen;

		if (mfs_cache_wait(fs->cache, rd->ents[i])) {
			r = -EIO; /* logged by the job; the reader only learns EIO */
			goto fail;
		}
		rd->iov[i].iov_base = (uint8_t *)mfs_centry_data(rd->ents[i]) + (pos - c->loff);
		rd->iov[i].iov_len = (size_t)((cend < end ? cend : end) - pos);
		pos += rd->iov[i].iov_len;
	}
	rd->niov = n;
	rd->first = first;
	rd->last = last;
	rd->bytes = end - off;
	mfs_stat_add(&fs->stats.bytes_served, end - off);
	if (n > MFS_READ_MAX_IOV) {
		r = gather(rd, end - off);
		if (r)
			goto fail;
		release_entries(rd, true);
		if (rd->iov != rd->stack_iov)
			free(rd->iov);
		rd->iov = rd->stack_iov;
		rd->iov[0].iov_base = rd->bounce;
		rd->iov[0].iov_len = (size_t)(end - off);
		rd->niov = 1;
	}
	return 0;
fail:
	release_entries(rd, false);
	if (rd->iov != rd->stack_iov)
		free(rd->iov);
	rd->iov = rd->stack_iov;
	rd->niov = 0;
	return r;
}

void mfs_cfile_read_done(struct mfs_cread *rd)
{
	release_entries(rd, true);
	if (rd->iov != rd->stack_iov)
		free(rd->iov);
	free(rd->bounce);
	memset(rd, 0, sizeof(*rd));
}
