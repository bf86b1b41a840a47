/* SPDX-License-Identifier: MIT */
/*
 * pin.c - pinned chunks: stored (compressed) chunk bytes an open container
 * keeps in memory, so that they are not read from the disk again.
 *
 * Inference reads every weight once per token, in a cycle: with less memory
 * than the model, an LRU (the page cache, or ours) evicts each chunk just
 * before it is needed again and saves nothing. A fixed set saves its size in
 * disk reads every token, and stored bytes are the densest form to keep
 * (decoding costs far less than the disk read). So the first stored chunks
 * read that fit in the pin budget (pin_size, or auto's choice: memgov.h)
 * stay in memory while the container is open; they are decoded and checked
 * again on every use. The governor lets go of them, last first, when the
 * budget falls (mfs_cfile_unpin).
 */
#include "fs_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int mfs_pin_init(struct mfs_cfile *cf)
{
	uint32_t n = mfs_archive_nchunks(cf->ar);

	cf->pinned = calloc(n ? n : 1, sizeof(*cf->pinned));
	if (!cf->pinned)
		return -ENOMEM;
	pthread_rwlock_init(&cf->pin_lock, NULL);
	return 0;
}

static size_t page_round(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (len + pg - 1) / pg * pg;
}

/*
 * A pinned copy of @len stored bytes: its own anonymous mapping, MADV_FREE
 * once filled, so the kernel may take its pages back under memory pressure
 * (they then read as zeros; the chunk checksum catches that on use). Never
 * written again after the advice: a write would cancel it.
 */
static uint8_t *pin_map(const uint8_t *in, size_t len)
{
	size_t cap = page_round(len ? len : 1);
	uint8_t *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, in, len);
	madvise(p, cap, MADV_FREE);
	return p;
}

/* Are all pages of a pinned copy still there? */
static bool pin_resident(const uint8_t *p, size_t len)
{
	unsigned char vec[64];
	size_t pages = page_round(len ? len : 1) / (size_t)sysconf(_SC_PAGESIZE);

	if (pages > sizeof(vec))
		return true; /* large chunk: let the checksum tell */
	if (mincore((void *)p, pages * (size_t)sysconf(_SC_PAGESIZE), vec) < 0)
		return true; /* not allowed here (seccomp): the checksum decides */
	for (size_t i = 0; i < pages; i++)
		if (!(vec[i] & 1))
			return false;
	return true;
}

/* Drops chunk @idx's pinned copy, if any; returns the bytes it held. Caller excludes users. */
static uint64_t unpin_one(struct mfs_cfile *cf, uint32_t idx)
{
	uint8_t *b = atomic_exchange(&cf->pinned[idx], NULL);
	uint32_t plen = mfs_archive_chunk(cf->ar, idx)->plen;

	if (!b)
		return 0;
	munmap(b, page_round(plen ? plen : 1));
	atomic_fetch_sub(&cf->fs->pinned_bytes, plen);
	return plen;
}

uint64_t mfs_cfile_unpin(struct mfs_cfile *cf, uint64_t want)
{
	uint64_t freed = 0;

	if (!cf->pinned)
		return 0;
	pthread_rwlock_wrlock(&cf->pin_lock);
	for (uint32_t i = mfs_archive_nchunks(cf->ar); i-- > 0 && freed < want;)
		freed += unpin_one(cf, i);
	pthread_rwlock_unlock(&cf->pin_lock);
	return freed;
}

void mfs_pin_release(struct mfs_cfile *cf)
{
	if (!cf->pinned)
		return;
	for (uint32_t i = 0; i < mfs_archive_nchunks(cf->ar); i++)
		unpin_one(cf, i);
	free((void *)cf->pinned);
	cf->pinned = NULL;
	pthread_rwlock_destroy(&cf->pin_lock);
}

/*
 * Only tensor chunks the plan reads every token are kept (not metadata, not
 * the sparse embeddings).
 */
static bool pinnable(const struct mfs_cfile *cf, uint32_t idx)
{
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);
	uint32_t p;

	if (c->tensor == MFS_TENSOR_NONE)
		return false;
	if (!cf->plan.n)
		return true;
	p = cf->plan.pos[idx];
	return p != MFS_PLAN_NONE && !cf->plan.sparse[p];
}

/*
 * A pinned copy the kernel took back (or partly) reads as zeros: it fails to
 * decode or fails its checksum. Either way the copy goes, and the chunk is
 * read from the disk as if it had never been pinned.
 */
static int decode_pinned(struct mfs_cfile *cf, uint32_t idx, void *dst, struct mfs_dctx *dctx)
{
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);
	struct mfs_err ignored = {{0}};
	const uint8_t *in;
	int r = -ENOENT;

	pthread_rwlock_rdlock(&cf->pin_lock);
	in = atomic_load(&cf->pinned[idx]);
	if (in && pin_resident(in, c->plen))
		r = mfs_archive_decode_stored(cf->ar, idx, in, dst, c->llen, dctx, &ignored);
	else if (in)
		r = -EAGAIN;
	pthread_rwlock_unlock(&cf->pin_lock);
	if (r == 0 || r == -ENOENT || r == -ENOMEM)
		return r;
	pthread_rwlock_wrlock(&cf->pin_lock);
	if (atomic_load(&cf->pinned[idx]) == in && unpin_one(cf, idx))
		mfs_stat_add(&cf->fs->stats.pin_reclaimed, 1);
	pthread_rwlock_unlock(&cf->pin_lock);
	return -ENOENT;
}

int mfs_pin_read(struct mfs_cfile *cf, uint32_t idx, void *dst, struct mfs_dctx *dctx,
		 bool *from_disk, struct mfs_err *err)
{
	struct mfs_fs *fs = cf->fs;
	const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, idx);
	const uint8_t *in;
	uint8_t *copy, *expected = NULL;
	int r;

	r = decode_pinned(cf, idx, dst, dctx);
	*from_disk = r != 0;
	if (r == 0) {
		mfs_stat_add(&fs->stats.pinned_hits, 1);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	r = mfs_archive_read_stored(cf->ar, idx, &in, dctx, err);
	if (!r)
		r = mfs_archive_decode_stored(cf->ar, idx, in, dst, c->llen, dctx, err);
	if (r || !pinnable(cf, idx))
		return r;
	/* Good bytes: keep them if they fit. */
	if (atomic_fetch_add(&fs->pinned_bytes, c->plen) + c->plen > atomic_load(&fs->pin_budget)) {
		atomic_fetch_sub(&fs->pinned_bytes, c->plen);
		return 0;
	}
	copy = pin_map(in, c->plen);
	if (copy) {
		if (atomic_compare_exchange_strong(&cf->pinned[idx], &expected, copy))
			return 0;
		munmap(copy,
		       page_round(c->plen ? c->plen : 1)); /* another worker pinned it first */
	}
	atomic_fetch_sub(&fs->pinned_bytes, c->plen);
	return 0;
}
