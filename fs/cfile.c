/* SPDX-License-Identifier: MIT */
/*
 * cfile.c - reading from an opened container.
 *
 * A FUSE read becomes a range of chunks. Each chunk is looked up in the
 * cache; the first reader to miss queues a decode job on the worker pool,
 * others wait for the same entry (single flight). The reply is built straight
 * from the cached buffers: one buffer goes out with fuse_reply_data(), which
 * sends a single memory buffer without copying; several go out with
 * fuse_reply_iov() (fuse_reply_data() would copy them into one bounce buffer
 * first).
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
 * Sequential readers are detected per container (reads that start in or right
 * after the chunk the previous read ended in); the window of chunks decoded
 * ahead doubles with each sequential read, up to fs->prefetch_cap bytes in
 * flight, so readahead never pushes out of the cache what is about to be read.
 */
#include "fs_i.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "log.h"

#define STACK_CHUNKS 16
#define RA_MAX_STREAK 8 /* window = 256 KiB << streak, capped by prefetch_cap */

struct chunk_job {
	struct mfs_pool_job base;
	struct mfs_cfile *cf;
	struct mfs_centry *e;
	uint32_t idx;
	bool prefetch;
};

/* The cache key of a container: its file and its content, as explained above. */
static uint64_t content_id(const struct mfs_node *n, const struct mfs_archive *ar)
{
	const struct mfs_footer_info *f = &mfs_archive_info(ar)->footer;
	uint64_t key[5] = {(uint64_t)n->dev, (uint64_t)n->ino, f->hash_lo, f->hash_hi,
			   f->sections[MFS_SEC_CHUNKS].checksum};

	return XXH3_64bits(key, sizeof(key));
}

/*
 * Chunk bytes are read with O_DIRECT: the device writes them straight into
 * the worker's buffer, the page cache keeps no second copy of the compressed
 * model (the decompressed one is what the kernel caches for readers), and no
 * CPU copy is spent on them. Where the filesystem refuses O_DIRECT (tmpfs,
 * some FUSE filesystems) reads go through the page cache, as they do with
 * -o backing=cached.
 */
static void open_direct(struct mfs_cfile *cf)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", cf->fd);
	cf->dfd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (cf->dfd < 0) {
		mfs_fs_warn_once(cf->fs, cf->path, "no O_DIRECT here; reading through the page cache");
		return;
	}
	mfs_src_init_direct(&cf->dsrc, cf->dfd, &cf->src);
	mfs_archive_set_data_source(cf->ar, &cf->dsrc);
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
	cf->fd = dup(n->fd); /* jobs may outlive the node */
	cf->path = strdup(n->path);
	if (cf->fd < 0 || !cf->path) {
		r = cf->fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	cf->dfd = -1;
	r = mfs_src_init_fd(&cf->src, cf->fd, &err);
	if (!r)
		r = mfs_archive_open(&cf->ar, &cf->src, &err);
	if (!r && !fs->opts.backing_cached)
		open_direct(cf);
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
	if (!cf->reported) {
		r = -ENOMEM;
		goto fail;
	}
	atomic_init(&cf->refs, 1);
	cf->id = content_id(n, cf->ar);
	cf->ra_last = UINT32_MAX - 1;
	pthread_mutex_init(&cf->ra_lock, NULL);
	*out = cf;
	return 0;
fail:
	mfs_archive_close(cf->ar);
	if (cf->dfd >= 0)
		close(cf->dfd);
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

void mfs_cfile_put(struct mfs_cfile *cf)
{
	if (atomic_fetch_sub(&cf->refs, 1) != 1)
		return;
	mfs_archive_close(cf->ar);
	if (cf->dfd >= 0)
		close(cf->dfd);
	close(cf->fd);
	pthread_mutex_destroy(&cf->ra_lock);
	free((void *)cf->reported);
	free(cf->path);
	free(cf);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
	uint64_t t0 = now_ns();
	int r;

	r = mfs_archive_read_chunk(cf->ar, j->idx, mfs_centry_data(j->e), c->llen, dctx, &err);
	mfs_stat_add(&fs->stats.decompress_ns, now_ns() - t0);
	if (r == 0 || r == -EFSCORRUPTED)
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
	mfs_cache_complete(fs->cache, j->e, r);
	if (j->prefetch)
		atomic_fetch_sub(&fs->prefetch_inflight, c->llen);
	mfs_cache_put(fs->cache, j->e);
	mfs_cfile_put(cf);
	free(j);
}

/*
 * Queues a decode of chunk @idx into @e, a LOADING entry the caller created.
 * The job takes its own references on @e and @cf. Prefetch jobs count their
 * bytes in fs->prefetch_inflight until they complete.
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
	mfs_cfile_get(cf);
	mfs_cache_hold(cf->fs->cache, e);
	if (prefetch) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);

		atomic_fetch_add(&cf->fs->prefetch_inflight, c->llen);
		mfs_stat_add(&cf->fs->stats.prefetch_chunks, 1);
		/* Start the disk read now; the worker will find the bytes in the page cache. */
		if (cf->dfd < 0)
			posix_fadvise(cf->fd, (off_t)c->poff, (off_t)c->plen, POSIX_FADV_WILLNEED);
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
	bool created;
	int r;

	e = mfs_cache_get(cache, cf->id, idx, c->llen, flags, &created);
	if (e && created) {
		r = submit(cf, idx, e, flags & MFS_CACHE_PREFETCH);
		if (r)
			mfs_cache_complete(cache, e, r); /* waiters see the error */
	}
	return e;
}

static void prefetch_after(struct mfs_cfile *cf, uint32_t first, uint32_t last)
{
	struct mfs_fs *fs = cf->fs;
	uint32_t nchunks = mfs_archive_nchunks(cf->ar), start, i;
	uint64_t window, ahead = 0;

	pthread_mutex_lock(&cf->ra_lock);
	if (first == cf->ra_last || first == cf->ra_last + 1) {
		if (cf->ra_streak < RA_MAX_STREAK)
			cf->ra_streak++;
	} else {
		cf->ra_streak = 0;
		cf->ra_next = 0;
	}
	cf->ra_last = last;
	if (cf->ra_streak == 0) {
		pthread_mutex_unlock(&cf->ra_lock);
		return;
	}
	window = (uint64_t)(256u << 10) << cf->ra_streak;
	if (window > fs->prefetch_cap)
		window = fs->prefetch_cap;
	/* Chunks between the read and ra_next were prefetched already. */
	start = cf->ra_next > last + 1 ? cf->ra_next : last + 1;
	for (i = last + 1; i < start && i < nchunks; i++)
		ahead += mfs_archive_chunk(cf->ar, i)->llen;
	for (i = start; i < nchunks && ahead < window; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, i);
		struct mfs_centry *e;

		if (atomic_load(&fs->prefetch_inflight) + c->llen > fs->prefetch_cap)
			break;
		e = acquire(cf, i, MFS_CACHE_PREFETCH);
		if (!e)
			break;
		mfs_cache_put(fs->cache, e); /* the job keeps its own reference */
		ahead += c->llen;
	}
	cf->ra_next = i;
	pthread_mutex_unlock(&cf->ra_lock);
}

int mfs_cfile_read(struct mfs_cfile *cf, fuse_req_t req, size_t size, uint64_t off)
{
	struct mfs_fs *fs = cf->fs;
	const struct mfs_archive_info *info = mfs_archive_info(cf->ar);
	struct mfs_centry *stack_e[STACK_CHUNKS], **ents = stack_e;
	struct iovec stack_iov[STACK_CHUNKS], *iov = stack_iov;
	uint64_t end, pos;
	uint32_t first, last, n, got = 0;
	int r = 0;

	mfs_stat_add(&fs->stats.read_requests, 1);
	if (off >= info->header.original_size || size == 0) {
		fuse_reply_buf(req, NULL, 0); /* replied: the caller must not reply again */
		return 0;
	}
	end = off + size;
	if (end > info->header.original_size || end < off)
		end = info->header.original_size;
	first = (uint32_t)mfs_archive_find(cf->ar, off);
	last = (uint32_t)mfs_archive_find(cf->ar, end - 1);
	n = last - first + 1;
	if (n > STACK_CHUNKS) {
		ents = calloc(n, sizeof(*ents));
		iov = calloc(n, sizeof(*iov));
		if (!ents || !iov) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (got = 0; got < n; got++) {
		ents[got] = acquire(cf, first + got, 0);
		if (!ents[got]) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (fs->opts.readahead)
		prefetch_after(cf, first, last);

	pos = off;
	for (uint32_t i = 0; i < n; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, first + i);
		uint64_t cend = c->loff + c->llen;
		int w = mfs_cache_wait(fs->cache, ents[i]);

		if (w) {
			r = -EIO; /* logged by the job; the reader only learns EIO */
			goto out;
		}
		iov[i].iov_base = (uint8_t *)mfs_centry_data(ents[i]) + (pos - c->loff);
		iov[i].iov_len = (size_t)((cend < end ? cend : end) - pos);
		pos += iov[i].iov_len;
	}
	mfs_stat_add(&fs->stats.bytes_served, end - off);
	/* A failed reply means the request is gone (interrupted): nothing more to answer. */
	if (n == 1) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(iov[0].iov_len);

		bv.buf[0].mem = iov[0].iov_base;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
	} else {
		fuse_reply_iov(req, iov, (int)n);
	}
out:
	for (uint32_t i = 0; i < got; i++)
		mfs_cache_put(fs->cache, ents[i]);
	if (ents != stack_e)
		free(ents);
	if (iov != stack_iov)
		free(iov);
	return r;
}
