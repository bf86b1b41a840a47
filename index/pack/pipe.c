/* SPDX-License-Identifier: MIT */
/*
 * pipe.c - ordered parallel map (see pipe.h).
 *
 * Slots form a ring of @depth entries; item seq lives in slot seq % depth.
 * Workers claim the next sequence number only while it is within @depth of the
 * oldest unconsumed item, so a slot is never reused before it was consumed.
 */
#include "pipe.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"

struct slot {
	struct mfs_pipe_buf buf;
	int status;
	bool done; /* protected by pipe->lock */
	struct mfs_err err;
};

struct pipe {
	const struct mfs_pipe_ops *ops;
	void *ctx;
	uint64_t count;
	unsigned int depth;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t can_work; /* a slot was freed, or stop */
	pthread_cond_t has_done; /* an item finished */
	uint64_t next;		 /* next seq to hand out; protected by lock */
	uint64_t consumed;	 /* items consumed; protected by lock */
	bool stop;		 /* protected by lock */
};

struct worker {
	struct pipe *p;
	void *wctx;
	pthread_t tid;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pipe *p = w->p;

	for (;;) {
		struct slot *s;
		uint64_t seq;
		int status;

		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->next < p->count && p->next - p->consumed >= p->depth)
			pthread_cond_wait(&p->can_work, &p->lock);
		if (p->stop || p->next >= p->count) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		seq = p->next++;
		s = &p->slots[seq % p->depth];
		pthread_mutex_unlock(&p->lock);

		s->err.msg[0] = '\0';
		s->buf.in_len = s->buf.out_len = 0;
		s->buf.flags = 0;
		s->buf.aux = 0;
		status = p->ops->work(p->ctx, w->wctx, seq, &s->buf, &s->err);

		pthread_mutex_lock(&p->lock);
		s->status = status;
		s->done = true;
		pthread_cond_broadcast(&p->has_done);
		pthread_mutex_unlock(&p->lock);
	}
}

void *mfs_pipe_dctx_new(void *ctx)
{
	return mfs_dctx_new();
}

void mfs_pipe_dctx_free(void *wctx)
{
	mfs_dctx_free(wctx);
}

int mfs_pipe_run(const struct mfs_pipe_ops *ops, void *ctx, uint64_t count, unsigned int threads,
		 size_t in_cap, size_t out_cap)
{
	struct pipe p = {.ops = ops, .ctx = ctx, .count = count};
	struct worker *workers = NULL;
	unsigned int started = 0;
	int r = 0;

	if (threads == 0)
		threads = mfs_cpu_count();
	p.depth = 2 * threads + 2;
	p.slots = calloc(p.depth, sizeof(*p.slots));
	workers = calloc(threads, sizeof(*workers));
	if (!p.slots || !workers) {
		r = -ENOMEM;
		goto out_free;
	}
	for (unsigned int i = 0; i < p.depth; i++) {
		p.slots[i].buf.in = malloc(in_cap ? in_cap : 1);
		p.slots[i].buf.out = malloc(out_cap ? out_cap : 1);
		if (!p.slots[i].buf.in || !p.slots[i].buf.out) {
			r = -ENOMEM;
			goto out_free;
		}
	}
	for (unsigned int i = 0; i < threads; i++) {
		workers[i].p = &p;
		workers[i].wctx = ops->worker_new ? ops->worker_new(ctx) : NULL;
		if (ops->worker_new && !workers[i].wctx) {
			r = -ENOMEM;
			goto out_free;
		}
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.can_work, NULL);
	pthread_cond_init(&p.has_done, NULL);

	/* Fewer threads than asked still do the job; none at all cannot. */
	for (; started < threads; started++)
		if (pthread_create(&workers[started].tid, NULL, worker_main, &workers[started]))
			break;
	if (started == 0) {
		r = -EAGAIN;
		goto out_sync;
	}

	while (!r && p.consumed < count) {
		struct slot *s = &p.slots[p.consumed % p.depth];
		int c;

		pthread_mutex_lock(&p.lock);
		while (!s->done)
			pthread_cond_wait(&p.has_done, &p.lock);
		pthread_mutex_unlock(&p.lock);

		c = ops->consume(ctx, p.consumed, &s->buf, s->status, &s->err);

		pthread_mutex_lock(&p.lock);
		s->done = false;
		p.consumed++;
		if (c < 0) {
			r = c;
			p.stop = true;
		}
		pthread_cond_broadcast(&p.can_work);
		pthread_mutex_unlock(&p.lock);
	}
	pthread_mutex_lock(&p.lock);
	p.stop = true;
	pthread_cond_broadcast(&p.can_work);
	pthread_mutex_unlock(&p.lock);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
out_sync:
	pthread_cond_destroy(&p.has_done);
	pthread_cond_destroy(&p.can_work);
	pthread_mutex_destroy(&p.lock);
out_free:
	if (workers)
		for (unsigned int i = 0; i < threads; i++)
			if (workers[i].wctx && ops->worker_free)
				ops->worker_free(workers[i].wctx);
	if (p.slots)
		for (unsigned int i = 0; i < p.depth; i++) {
			free(p.slots[i].buf.in);
			free(p.slots[i].buf.out);
		}
	free(p.slots);
	free(workers);
	return r;
}
