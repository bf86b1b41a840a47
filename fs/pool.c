/* SPDX-License-Identifier: MIT */
/*
 * pool.c - decode workers (see pool.h). Two FIFO queues under one lock: the
 * queue operations are a few pointer moves, far below the cost of a chunk.
 */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

struct queue {
	struct mfs_pool_job *head, *tail;
	unsigned int len;
};

struct mfs_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct queue urgent;	/* protected by lock */
	struct queue background; /* protected by lock */
	bool stop;		 /* protected by lock */
	unsigned int nthreads;
	pthread_t *threads;
};

static void push(struct queue *q, struct mfs_pool_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->len++;
}

static struct mfs_pool_job *pop(struct queue *q)
{
	struct mfs_pool_job *j = q->head;

	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
	}
	return j;
}

#define SCRATCH_KEEP (2u << 20)

static void *worker(void *arg)
{
	struct mfs_pool *p = arg;
	struct mfs_dctx *dctx = mfs_dctx_new();

	for (;;) {
		struct mfs_pool_job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->stop && !p->urgent.head && !p->background.head)
			pthread_cond_wait(&p->work, &p->lock);
		j = pop(&p->urgent);
		if (!j)
			j = pop(&p->background);
		pthread_mutex_unlock(&p->lock);
		if (!j)
			break; /* stopping, and nothing left to run */
		/* Without a context the job still runs: the codec allocates on demand. */
		if (!dctx)
			dctx = mfs_dctx_new();
		j->run(j, dctx);
		/*
		 * A worker keeps scratch for chunks of the usual size (256 KiB);
		 * one that decoded a 16 MiB chunk gives those buffers back, so
		 * idle workers do not each hold the largest chunk twice.
		 */
		mfs_dctx_trim(dctx, SCRATCH_KEEP);
	}
	mfs_dctx_free(dctx);
	return NULL;
}

struct mfs_pool *mfs_pool_new(unsigned int nthreads)
{
	struct mfs_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (nthreads == 0)
		nthreads = 1;
	p->threads = calloc(nthreads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker, p))
			break;
	if (p->nthreads == 0) {
		mfs_pool_free(p);
		return NULL;
	}
	return p;
}

void mfs_pool_submit(struct mfs_pool *p, struct mfs_pool_job *job, bool urgent)
{
	pthread_mutex_lock(&p->lock);
	push(urgent ? &p->urgent : &p->background, job);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

bool mfs_pool_promote(struct mfs_pool *p, const struct mfs_pool_job *job)
{
	struct mfs_pool_job **pp, *prev = NULL;
	bool found = false;

	pthread_mutex_lock(&p->lock);
	for (pp = &p->background.head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct mfs_pool_job *j = *pp;

		if (j != job)
			continue;
		*pp = j->next;
		if (p->background.tail == j)
			p->background.tail = prev;
		p->background.len--;
		push(&p->urgent, j);
		found = true;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

unsigned int mfs_pool_backlog(struct mfs_pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->background.len;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void mfs_pool_free(struct mfs_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
