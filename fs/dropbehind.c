/* SPDX-License-Identifier: MIT */
/*
 * dropbehind.c - dropping the decoded pages readers have gone past (see
 * dropbehind.h).
 */
#include "dropbehind.h"

#include "fs_i.h"

#include <time.h>

/* served_at[] holds the running total when a chunk was last served, and MFS_DROP_FLAGS. */
#define KEPT MFS_DROP_KEPT
#define MFS_DROP_PAGE 4096u /* the smallest page size: larger ones are multiples */

/* A range being gathered: adjacent chunks of one inode become one request. */
struct pending {
	uint64_t ino, off, len;
};

/*
 * The kernel drops whole pages, and chunks do not end on page boundaries: only
 * the pages wholly inside the range are dropped, so a neighbour that is kept
 * or in use does not lose the page it shares (which it would then read again).
 */
static void flush(struct mfs_dropper *d, struct pending *p)
{
	uint64_t start = (p->off + MFS_DROP_PAGE - 1) & ~(uint64_t)(MFS_DROP_PAGE - 1);
	uint64_t end = (p->off + p->len) & ~(uint64_t)(MFS_DROP_PAGE - 1);

	if (p->len && end > start) {
		d->drop(d->arg, p->ino, start, end - start);
		atomic_fetch_add_explicit(d->dropped, end - start, memory_order_relaxed);
	}
	p->len = 0;
}

/* The chunks of @e that no later read served again, added to @p. */
static void drop_entry(struct mfs_dropper *d, const struct mfs_drop_entry *e, struct pending *p)
{
	struct mfs_cfile *cf = e->cf;

	for (uint32_t i = e->first; i <= e->last; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, i);
		uint64_t v = atomic_load_explicit(&cf->served_at[i], memory_order_relaxed);

		if ((v & KEPT) || (v & ~MFS_DROP_FLAGS) > e->at) {
			flush(d, p); /* kept, or served again since: its pages are in use */
			continue;
		}
		if (p->len && p->ino == e->ino && p->off + p->len == c->loff) {
			p->len += c->llen;
		} else if (!(p->len && p->ino == e->ino && c->loff >= p->off &&
			     c->loff + c->llen <= p->off + p->len)) {
			flush(d, p);
			*p = (struct pending){e->ino, c->loff, c->llen};
		}
		if (p->len >= MFS_DROP_BATCH)
			flush(d, p);
	}
}

static bool due(const struct mfs_dropper *d)
{
	uint64_t w = atomic_load(&d->window);

	return d->n && (w == 0 || atomic_load(&d->served) - d->q[d->head].at > w);
}

static void *run(void *arg)
{
	struct mfs_dropper *d = arg;
	struct pending p = {0, 0, 0};

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		if (!due(d)) {
			pthread_mutex_unlock(&d->lock);
			flush(d, &p);
			pthread_mutex_lock(&d->lock);
			if (d->stop || due(d))
				continue;
			mfs_cond_wait_ms(&d->cond, &d->lock, 100);
			continue;
		}
		struct mfs_drop_entry e = d->q[d->head];

		d->head = (d->head + 1) % MFS_DROP_QUEUE;
		d->n--;
		pthread_mutex_unlock(&d->lock);
		/*
		 * @p names inodes by number only: it may outlive the reference
		 * (a stale number is refused by the kernel, or drops pages that
		 * were only a re-read away anyway).
		 */
		if (atomic_load(&d->window))
			drop_entry(d, &e, &p);
		mfs_cfile_put(e.cf);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int mfs_dropper_start(struct mfs_dropper *d, mfs_drop_fn drop, void *arg,
		      atomic_uint_fast64_t *dropped, atomic_uint_fast64_t *reread,
		      atomic_uint_fast64_t *refault)
{
	int r;

	d->drop = drop;
	d->arg = arg;
	d->dropped = dropped;
	d->reread = reread;
	d->refault = refault;
	atomic_store(&d->kept, 0);
	d->head = d->n = 0;
	d->stop = false;
	pthread_mutex_init(&d->lock, NULL);
	mfs_cond_init_monotonic(&d->cond);
	r = pthread_create(&d->thread, NULL, run, d);
	d->started = r == 0;
	if (r) {
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
	}
	return -r;
}

void mfs_dropper_stop(struct mfs_dropper *d)
{
	if (!d->started)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	for (; d->n; d->n--, d->head = (d->head + 1) % MFS_DROP_QUEUE)
		mfs_cfile_put(d->q[d->head].cf);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	d->started = false;
}

void mfs_dropper_set_window(struct mfs_dropper *d, uint64_t window, uint64_t keep)
{
	atomic_store(&d->keep, keep);
	atomic_store(&d->window, window);
}

/* Takes @len bytes of the keep budget; false if they do not fit. */
static bool take_keep(struct mfs_dropper *d, uint64_t len)
{
	uint64_t budget = atomic_load(&d->keep);
	uint64_t k = atomic_load(&d->kept);

	do {
		if (k + len > budget)
			return false;
	} while (!atomic_compare_exchange_weak(&d->kept, &k, k + len));
	return true;
}

void mfs_dropper_served(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t ino, uint32_t first,
			uint32_t last, uint64_t bytes)
{
	uint64_t w = atomic_load(&d->window), at, reread = 0, refault = 0;
	uint64_t near = w > MFS_DROP_NEAR ? w : MFS_DROP_NEAR;
	bool wake;

	if (!d->started || !cf->served_at)
		return;
	if (atomic_load_explicit(&cf->drop_ino, memory_order_relaxed) != ino)
		atomic_store_explicit(&cf->drop_ino, ino, memory_order_relaxed);
	at = atomic_fetch_add(&d->served, bytes) + bytes;
	for (uint32_t i = first; i <= last; i++) {
		uint32_t len = mfs_archive_chunk(cf->ar, i)->llen;
		uint64_t old = atomic_load_explicit(&cf->served_at[i], memory_order_relaxed), prev;
		bool again, took = false;

		do {
			prev = old & ~MFS_DROP_FLAGS;
			/*
			 * Served before, and not by the same stream: its pages had
			 * left the page cache. For a kept chunk: the kernel
			 * evicted it.
			 */
			again = prev && prev < at && at - prev > near;
			if (took && (old & KEPT)) {
				atomic_fetch_sub(&d->kept, len); /* another reader kept it */
				took = false;
			}
			if (again && w && !took && !(old & KEPT))
				took = take_keep(d, len);
		} while (!atomic_compare_exchange_weak_explicit(
		    &cf->served_at[i], &old,
		    at | (took ? KEPT : old & KEPT) | (again ? MFS_DROP_CYCLE : old & MFS_DROP_CYCLE),
		    memory_order_relaxed, memory_order_relaxed));
		if (again && (old & KEPT))
			refault += len;
		else if (again)
			reread += len;
	}
	if (reread)
		atomic_fetch_add_explicit(d->reread, reread, memory_order_relaxed);
	if (refault)
		atomic_fetch_add_explicit(d->refault, refault, memory_order_relaxed);
	if (w == 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (d->n == MFS_DROP_QUEUE) {
		pthread_mutex_unlock(&d->lock);
		return; /* the thread is behind: these pages are left to the kernel */
	}
	mfs_cfile_get(cf);
	d->q[(d->head + d->n) % MFS_DROP_QUEUE] = (struct mfs_drop_entry){cf, ino, at, first, last};
	d->n++;
	wake = at - d->q[d->head].at > w + MFS_DROP_BATCH;
	pthread_mutex_unlock(&d->lock);
	if (wake)
		pthread_cond_signal(&d->cond);
}

uint64_t mfs_dropper_unkeep(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t budget)
{
	struct pending p = {0, 0, 0};
	uint64_t ino = atomic_load_explicit(&cf->drop_ino, memory_order_relaxed), freed = 0;
	uint32_t n = cf->served_at ? mfs_archive_nchunks(cf->ar) : 0;

	for (uint32_t i = n; i-- > 0 && atomic_load(&d->kept) > budget;) {
		const struct mfs_chunk *c = mfs_archive_chunk(cf->ar, i);
		uint64_t v = atomic_fetch_and(&cf->served_at[i], ~KEPT);

		if (!(v & KEPT))
			continue;
		atomic_fetch_sub(&d->kept, c->llen);
		freed += c->llen;
		if (p.len && p.off == c->loff + c->llen) {
			p.off = c->loff; /* going down: grows at the front */
			p.len += c->llen;
		} else {
			flush(d, &p);
			p = (struct pending){ino, c->loff, c->llen};
		}
	}
	flush(d, &p);
	return freed;
}

void mfs_dropper_forget(struct mfs_dropper *d, struct mfs_cfile *cf)
{
	uint32_t n = cf->served_at ? mfs_archive_nchunks(cf->ar) : 0;

	for (uint32_t i = 0; i < n; i++)
		if (atomic_fetch_and(&cf->served_at[i], ~KEPT) & KEPT)
			atomic_fetch_sub(&d->kept, mfs_archive_chunk(cf->ar, i)->llen);
}
