/* SPDX-License-Identifier: MIT */
/*
 * backing.c - the kinds of backing (see backing.h).
 */
#include "backing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "log.h"
#include "remote.h"

/* ---- cached: the page cache keeps what was read --------------------------- */

static int cached_open(struct mfs_backing_src *b)
{
	b->src = *b->meta;
	return 0;
}

/* Start the disk read now; the worker will find the bytes in the page cache. */
static void cached_will_need(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	posix_fadvise(b->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

static const struct mfs_backing_ops cached_ops = {
    .open = cached_open,
    .will_need = cached_will_need,
};

/* ---- dontneed: read through the page cache, dropped once decoded ------------ */

static int dontneed_open(struct mfs_backing_src *b)
{
	b->src = *b->meta;
	/* Dropped bytes are read exactly: the disk's readahead would fetch more to drop. */
	posix_fadvise(b->fd, 0, 0, POSIX_FADV_RANDOM);
	return 0;
}

static void dontneed_done(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	posix_fadvise(b->fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
}

static const struct mfs_backing_ops dontneed_ops = {
    .open = dontneed_open,
    .will_need = cached_will_need,
    .done = dontneed_done,
};

/* ---- direct: O_DIRECT, never in the page cache ----------------------------- */

/*
 * The device writes chunk bytes straight into the worker's buffer, the page
 * cache keeps no second copy of the compressed model (the decompressed one is
 * what the kernel caches for readers), and no CPU copy is spent on them.
 */
static int direct_open(struct mfs_backing_src *b)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", b->fd);
	b->dfd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (b->dfd < 0) {
		b->fallback = "no O_DIRECT here; reading through the page cache";
		b->ops = &cached_ops;
		return cached_open(b);
	}
	return mfs_src_init_direct(&b->src, b->dfd, b->meta);
}

static void direct_close(struct mfs_backing_src *b)
{
	close(b->dfd);
}

static const struct mfs_backing_ops direct_ops = {
    .open = direct_open,
    .close = direct_close,
};

/* ---- remote: chunks from the store or the network ---------------------------- */

/* The chunk whose stored bytes start at @off, or -1. */
static int64_t chunk_at(const struct mfs_archive *ar, uint64_t off)
{
	uint32_t lo = 0, hi = mfs_archive_nchunks(ar);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t p = mfs_archive_chunk(ar, mid)->poff;

		if (p == off)
			return mid;
		if (p < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static ssize_t remote_pread(void *priv, void *buf, size_t len, uint64_t off)
{
	struct mfs_backing_src *b = priv;
	struct mfs_err err = {{0}};
	int64_t i = chunk_at(b->ar, off);
	bool fetched;
	int r;

	/* Only whole chunks are read from the data area (archive.c). */
	if (i < 0 || mfs_archive_chunk(b->ar, (uint32_t)i)->plen != len)
		return -EINVAL;
	r = mfs_remote_read(b->rfile, (uint32_t)i, buf, &fetched, &err);
	if (r) {
		mfs_log(MFS_LOG_ERR, "%s: %s", b->path, mfs_err_msg(&err, r));
		return r;
	}
	return (ssize_t)len;
}

/* The prefetch plan's chunks are fetched ahead, several in one request. */
static void remote_will_need(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	int64_t i = chunk_at(b->ar, off);

	(void)len;
	if (i >= 0)
		mfs_remote_want(b->rfile, (uint32_t)i);
}

static void remote_urgent(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	int64_t i = chunk_at(b->ar, off), j = i;
	uint32_t n = mfs_archive_nchunks(b->ar);

	if (i < 0)
		return;
	while ((uint32_t)j + 1 < n && mfs_archive_chunk(b->ar, (uint32_t)j + 1)->poff < off + len)
		j++;
	mfs_remote_urgent(b->rfile, (uint32_t)i, (uint32_t)j);
}

/* A stored copy that decodes wrong (damaged on disk, its file hash redone) is dropped. */
static bool remote_bad(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	int64_t i = chunk_at(b->ar, off);

	(void)len;
	if (i < 0)
		return false;
	mfs_remote_bad(b->rfile, (uint32_t)i);
	return true;
}

static void remote_close(struct mfs_backing_src *b)
{
	mfs_remote_close(b->rfile);
}

static const struct mfs_backing_ops remote_ops = {
    .will_need = remote_will_need,
    .urgent = remote_urgent,
    .bad = remote_bad,
    .close = remote_close,
};

int mfs_backing_open_remote(struct mfs_backing_src *b, struct mfs_remote *remote,
			    const char *path, const struct mfs_archive *ar,
			    const struct mfs_src *meta)
{
	int r;

	*b = (struct mfs_backing_src){.fd = -1, .meta = meta, .dfd = -1, .ar = ar, .path = path};
	r = mfs_remote_open(remote, path, ar, &b->rfile);
	if (r)
		return r;
	b->ops = &remote_ops;
	b->src = (struct mfs_src){.pread = remote_pread, .priv = b, .size = meta->size};
	return 0;
}

int mfs_backing_open(struct mfs_backing_src *b, int kind, int fd, const struct mfs_src *meta)
{
	*b = (struct mfs_backing_src){.fd = fd, .meta = meta, .dfd = -1};
	b->ops = kind == MFS_BACKING_DIRECT	? &direct_ops
		 : kind == MFS_BACKING_DONTNEED ? &dontneed_ops
						: &cached_ops;
	return b->ops->open(b);
}

void mfs_backing_close(struct mfs_backing_src *b)
{
	if (b->ops && b->ops->close)
		b->ops->close(b);
	b->ops = NULL;
}
