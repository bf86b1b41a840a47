/* SPDX-License-Identifier: MIT */
/*
 * pool.c - decode workers (see pool.h). Two FIFO queues under one lock: the
 * queue operations are a few pointer moves, far below the cost of a chunk.
 * Each job costs two getrusage() calls when the limit adapts.
 */
#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>

struct queue {
	struct mfs_pool_job *head, *tail;
	unsigned int len;
};

/*
 * An idle worker sleeps on its own condition variable, on a stack: a job wakes
 * the worker that went idle last, whose scratch buffers and stack are still in
 * the CPU's caches, and a burst of jobs wakes no more workers than may run.
 * (With one shared condition variable, every job of a burst woke a worker,
 * and 8 workers held to 2 at once read no faster than 8 free ones: 740 MB/s
 * against 2 workers' 1000, a cold read from tmpfs.)
 */
struct worker {
	struct mfs_pool *pool;
	pthread_t thread;
	pthread_cond_t wake;
	bool woken;	     /* protected by the pool's lock */
	struct worker *next; /* on the idle stack; protected by the pool's lock */
};

struct mfs_pool {
	pthread_mutex_t lock;
	struct queue urgent;	 /* protected by lock */
	struct queue background; /* protected by lock */
	struct worker *idle;	 /* idle workers, last idle first; protected by lock */
	bool stop;		 /* protected by lock */
	unsigned int running;	 /* jobs being run; protected by lock */
	unsigned int waking;	 /* woken, not yet back to the queues; protected by lock */
	unsigned int limit;	 /* at most this many at once; protected by lock */
	unsigned int cores;	 /* the least limit; 0: the limit stays nthreads */
	unsigned int blocked;	 /* moving average of jobs that blocked, 1/4096ths; lock */
	unsigned int nthreads;
	struct worker *workers;
};

#define BLOCKED_ONE 4096u

/* Voluntary context switches of the calling thread so far. */
static long voluntary_switches(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_nvcsw;
}

/*
 * Called with the lock held after a job ran: the average moves 1/16 towards
 * whether it blocked, and the limit is @cores while a quarter of the jobs or
 * fewer block, all threads from half on, in proportion between. Jobs that
 * only compute still block now and then (a lock, a page allocation): on
 * tmpfs 2-13% of them did; reads from a disk block every time.
 */
static void account(struct mfs_pool *p, bool blocked)
{
	unsigned int spare = p->nthreads - p->cores, over, extra;

	p->blocked = p->blocked - p->blocked / 16 + (blocked ? BLOCKED_ONE / 16 : 0);
	over = p->blocked > BLOCKED_ONE / 4 ? p->blocked - BLOCKED_ONE / 4 : 0;
	extra = (unsigned int)(((uint64_t)spare * over + BLOCKED_ONE / 8) / (BLOCKED_ONE / 4));
	p->limit = p->cores + (extra < spare ? extra : spare);
}

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

static bool queued(const struct mfs_pool *p)
{
	return p->urgent.head || p->background.head;
}

/* With the lock held: wake the worker that went idle last. */
static void wake_one(struct mfs_pool *p)
{
	struct worker *w = p->idle;

	p->idle = w->next;
	w->woken = true;
	p->waking++;
	pthread_cond_signal(&w->wake);
}

/*
 * With the lock held: wake idle workers for the queued jobs the limit allows,
 * less @mine, the jobs (and places under the limit) the caller takes itself.
 * Woken workers count as running: a burst of jobs wakes no more than may run.
 */
static void wake(struct mfs_pool *p, unsigned int mine)
{
	unsigned int n = p->urgent.len + p->background.len;

	for (unsigned int room = p->running + p->waking + mine;
	     p->idle && n > mine && room < p->limit; n--, room++)
		wake_one(p);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mfs_pool *p = w->pool;
	struct mfs_dctx *dctx = mfs_dctx_new();

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct mfs_pool_job *j;
		long switches;

		/*
		 * Stopping, every worker runs what is queued whatever the limit:
		 * free() woke the idle ones once, and nothing wakes them again.
		 */
		if (!queued(p) || (p->running >= p->limit && !p->stop)) {
			if (p->stop)
				break; /* stopping, and nothing left to run */
			w->woken = false;
			w->next = p->idle;
			p->idle = w;
			while (!w->woken)
				pthread_cond_wait(&w->wake, &p->lock);
			p->waking--;
			continue;
		}
		j = pop(&p->urgent);
		if (!j)
			j = pop(&p->background);
		p->running++;
		pthread_mutex_unlock(&p->lock);
		/* Without a context the job still runs: the codec allocates on demand. */
		if (!dctx)
			dctx = mfs_dctx_new();
		switches = p->cores ? voluntary_switches() : 0;
		j->run(j, dctx);
		/*
		 * A worker keeps scratch for chunks of the usual size (256 KiB);
		 * one that decoded a 16 MiB chunk gives those buffers back, so
		 * idle workers do not each hold the largest chunk twice.
		 */
		mfs_dctx_trim(dctx, SCRATCH_KEEP);
		pthread_mutex_lock(&p->lock);
		p->running--;
		if (p->cores && !p->stop) /* stopping: the limit stays lifted */
			account(p, voluntary_switches() != switches);
		/* This worker takes the next job itself; others only if the limit rose. */
		wake(p, 1);
	}
	pthread_mutex_unlock(&p->lock);
	mfs_dctx_free(dctx);
	return NULL;
}

struct mfs_pool *mfs_pool_new(unsigned int nthreads, unsigned int cores)
{
	struct mfs_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (nthreads == 0)
		nthreads = 1;
	p->workers = calloc(nthreads, sizeof(*p->workers));
	if (!p->workers) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->cores = cores;
	p->blocked = BLOCKED_ONE; /* as if jobs block until they show otherwise */
	pthread_mutex_lock(&p->lock);
	for (; p->nthreads < nthreads; p->nthreads++) {
		struct worker *w = &p->workers[p->nthreads];

		w->pool = p;
		pthread_cond_init(&w->wake, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			pthread_cond_destroy(&w->wake);
			break;
		}
	}
	/* Fewer threads than asked: the limit and its floor follow. */
	p->limit = p->nthreads;
	if (p->cores >= p->nthreads)
		p->cores = 0;
	pthread_mutex_unlock(&p->lock);
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
	wake(p, 0);
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
	p->limit = p->nthreads; /* what is queued runs on every worker */
	while (p->idle)
		wake_one(p);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++) {
		pthread_join(p->workers[i].thread, NULL);
		pthread_cond_destroy(&p->workers[i].wake);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p);
}

unsigned int mfs_pool_active_limit(struct mfs_pool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->limit;
	pthread_mutex_unlock(&p->lock);
	return n;
}
