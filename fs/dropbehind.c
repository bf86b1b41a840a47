/* SPDX-License-Identifier: MIT */
/*
 * dropbehind.c - dropping the decoded pages readers have gone past (see
 * dropbehind.h).
 */
#include "dropbehind.h"

#include "fs_i.h"

#include <time.h>

/* served_at[] holds the running total when a chunk was last served, and this bit if hot. */
#define HOT (1ull << 63)

/* A range being gathered: adjacent chunks of one inode become one request. */
struct pending {
	uint64_t ino, off, len;
};

static void flush(struct mfs_dropper *d, struct pending *p)
{
	if (p->len) {
		d->drop(d->arg, p->ino, p->off, p->len);
		atomic_fetch_add_explicit(d->dropped, p->len, memory_order_relaxed);
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

		if ((v & HOT) || v > e->at) {
			flush(d, p); /* hot, or served again since: its pages are in use */
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
		      atomic_uint_fast64_t *dropped)
{
	int r;

	d->drop = drop;
	d->arg = arg;
	d->dropped = dropped;
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

void mfs_dropper_set_window(struct mfs_dropper *d, uint64_t window, uint64_t room)
{
	atomic_store(&d->room, room);
	atomic_store(&d->window, window);
}

void mfs_dropper_served(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t ino, uint32_t first,
			uint32_t last, uint64_t bytes)
{
	uint64_t w = atomic_load(&d->window), room = atomic_load(&d->room), at;
	bool wake;

	if (!d->started || !cf->served_at)
		return;
	at = atomic_fetch_add(&d->served, bytes) + bytes;
	for (uint32_t i = first; i <= last; i++) {
		uint64_t prev = atomic_load_explicit(&cf->served_at[i], memory_order_relaxed) & ~HOT;
		/*
		 * Within the window it is the same stream (a chunk two reads
		 * share, a read in flight twice): nothing was dropped yet.
		 */
		uint64_t hot = prev && at - prev > w && at - prev < room ? HOT : 0;

		atomic_store_explicit(&cf->served_at[i], at | hot, memory_order_relaxed);
	}
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
