/* SPDX-License-Identifier: MIT */
/*
 * remote.c - chunks from a remote source through the local store (see remote.h).
 *
 * Fetch-ahead: the chunks readers will need soon (mfs_remote_want(), from the
 * prefetch plan) go into a queue that AHEAD_THREADS threads of their own
 * fetch into the store, each request a range over the adjacent queued chunks
 * (at most AHEAD_SPAN bytes). So the bytes in flight are several spans
 * whatever the number of decode workers, and a request carries far more than
 * one round trip's worth. Each chunk of a file has a state under r->lock:
 * NONE, QUEUED (waiting for a fetcher), BUSY (being fetched by a fetcher or
 * read by a worker) or URGENT (queued, a reader waits for it and the queue
 * is full: the worker that decodes it fetches it at once, alone). The chunks
 * a reader waits for go to the head of the queue: those prefetch queued
 * already, and all of a read that needs more than one (readahead, loading):
 * a fetcher takes them in one request. A worker that reads a
 * QUEUED or BUSY chunk waits for the fetcher, then reads the store; a chunk
 * whose bytes a fetcher could not verify the worker fetches again itself; a
 * request that failed to the end (FAILED) fails the reads that waited for it.
 */
#include "remote.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "digest.h"

/* Fetches of one chunk whose bytes fail their checksum before it is EIO. */
#define BAD_FETCHES_MAX 3

/* A plain file is fetched and stored in blocks of this size (its last one shorter). */
#define PLAIN_BLOCK (1u << 20)

#define AHEAD_THREADS 4	/* fetchers by default */
#define AHEAD_THREADS_MAX 64
#define AHEAD_SPAN (1u << 20) /* bytes one fetch-ahead request asks for, at most */
#define AHEAD_QUEUE 4096u     /* chunks waiting for a fetcher, at most (more hints are dropped) */
/* A chunk whose fetch-ahead failed fails its reads this long after, without asking again. */
#define FAILED_FRESH_NS 1000000000ull

enum { CH_NONE, CH_QUEUED, CH_BUSY, CH_URGENT, CH_FAILED };

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nobody fetches or reads it (FAILED: the last fetch-ahead of it failed). */
static bool idle(uint8_t st)
{
	return st == CH_NONE || st == CH_FAILED;
}

struct mfs_remote_file {
	struct mfs_remote *r;
	char *url;
	const struct mfs_archive *ar;
	uint32_t nchunks;
	uint8_t *state;	   /* per chunk, CH_*, under r->lock */
	unsigned int busy; /* chunks of this file a fetcher holds */
	struct mfs_err failed; /* why the last fetch-ahead failed, under r->lock */
	uint64_t *failed_ns;   /* per chunk: when it last failed (CH_FAILED) */
};

struct qent {
	struct mfs_remote_file *f; /* NULL: dropped (its file closed) */
	uint32_t idx;
};

struct url_map {
	char *path, *url;
};

/* A plain file (an OCI layer that is a .gguf or .safetensors): served as it is. */
struct mfs_remote_plain {
	char *path, *url, *digest;
	uint64_t size;
	struct plain_check *chk;
};

/*
 * A plain file read from its start to its end, in order (llama.cpp loading
 * it, cp, a checksum): its blocks hashed as they come, the whole checked
 * against its digest at the end. Read any other way, nothing is checked.
 */
struct plain_check {
	pthread_mutex_t lock;
	EVP_MD_CTX *md;	 /* NULL: not followed any more */
	uint64_t hashed; /* bytes [0, hashed) went into md */
	atomic_int state; /* 0 unchecked, 1 its digest, -1 not: reads fail */
};

struct mfs_remote {
	char *base;
	struct mfs_store *store;
	struct mfs_http_conf http;
	struct url_map *map;
	size_t nmap;
	struct mfs_remote_plain *plain;
	size_t nplain;
	pthread_key_t tls;
	/* fetch-ahead: the queue (a ring), its threads */
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct qent q[AHEAD_QUEUE];
	uint32_t qhead, qlen;
	pthread_t threads[AHEAD_THREADS_MAX];
	unsigned int nthreads, want_threads;
	bool started, stop;
	atomic_bool cancel; /* the mount is ending: transfers end, none start */
	_Atomic uint64_t store_hits, fetched, fetched_bytes, requests, bad_fetches, store_errors;
	_Atomic uint64_t check_ns; /* checking fetched bytes (SHA-256 or decode) */
};

/* Per thread: a client (keep-alive) and a decoder for checking fetched chunks. */
struct thread_state {
	struct mfs_http *http;
	struct mfs_dctx *dctx;
	uint8_t *buf;
	size_t cap;
	/* buf holds this plain-file block (the next read is likely in it too) */
	struct mfs_store_key block;
	bool have_block;
};

static void thread_state_free(void *p)
{
	struct thread_state *t = p;

	mfs_http_free(t->http);
	mfs_dctx_free(t->dctx);
	free(t->buf);
	free(t);
}

static struct thread_state *thread_state(struct mfs_remote *r, size_t need)
{
	struct thread_state *t = pthread_getspecific(r->tls);

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->http = mfs_http_new(&r->http);
		t->dctx = mfs_dctx_new();
		if (!t->http || !t->dctx || pthread_setspecific(r->tls, t)) {
			thread_state_free(t);
			return NULL;
		}
	}
	if (t->cap < need) {
		uint8_t *b = realloc(t->buf, need);

		if (!b)
			return NULL;
		t->buf = b;
		t->cap = need;
	}
	return t;
}

int mfs_remote_new(struct mfs_remote **out, const char *base, struct mfs_store *store,
		   const struct mfs_http_conf *http, struct mfs_err *err)
{
	struct mfs_remote *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->base = strdup(base))) {
		free(r);
		mfs_store_close(store);
		return -ENOMEM;
	}
	if (pthread_key_create(&r->tls, thread_state_free)) {
		free(r->base);
		free(r);
		mfs_store_close(store);
		return mfs_err_set(err, -EAGAIN, "no thread-specific key left");
	}
	r->store = store;
	if (http)
		r->http = *http;
	r->http.cancel = &r->cancel;
	r->want_threads = AHEAD_THREADS;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->done, NULL);
	*out = r;
	return 0;
}

void mfs_remote_free(struct mfs_remote *r)
{
	struct thread_state *t;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->work);
	pthread_mutex_unlock(&r->lock);
	for (unsigned int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->done);
	pthread_mutex_destroy(&r->lock);
	t = pthread_getspecific(r->tls);
	if (t) {
		pthread_setspecific(r->tls, NULL);
		thread_state_free(t);
	}
	pthread_key_delete(r->tls);
	for (size_t i = 0; i < r->nmap; i++) {
		free(r->map[i].path);
		free(r->map[i].url);
	}
	free(r->map);
	for (size_t i = 0; i < r->nplain; i++) {
		free(r->plain[i].path);
		free(r->plain[i].url);
		free(r->plain[i].digest);
		EVP_MD_CTX_free(r->plain[i].chk->md);
		pthread_mutex_destroy(&r->plain[i].chk->lock);
		free(r->plain[i].chk);
	}
	free(r->plain);
	mfs_store_close(r->store);
	free(r->base);
	free(r);
}

void mfs_remote_cancel(struct mfs_remote *r)
{
	atomic_store(&r->cancel, true);
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->work);
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
}

void mfs_remote_set_fetchers(struct mfs_remote *r, unsigned int n)
{
	pthread_mutex_lock(&r->lock);
	if (!r->started)
		r->want_threads = n < 1 ? 1 : n > AHEAD_THREADS_MAX ? AHEAD_THREADS_MAX : n;
	pthread_mutex_unlock(&r->lock);
}

int mfs_remote_map(struct mfs_remote *r, const char *path, const char *url)
{
	struct url_map *m = realloc(r->map, (r->nmap + 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	r->map = m;
	m[r->nmap].path = strdup(path);
	m[r->nmap].url = strdup(url);
	if (!m[r->nmap].path || !m[r->nmap].url) {
		free(m[r->nmap].path);
		free(m[r->nmap].url);
		return -ENOMEM;
	}
	r->nmap++;
	return 0;
}

int mfs_remote_map_plain(struct mfs_remote *r, const char *path, const char *url,
			 const char *digest, uint64_t size)
{
	struct mfs_remote_plain *v = realloc(r->plain, (r->nplain + 1) * sizeof(*v)), *p;

	if (!v)
		return -ENOMEM;
	r->plain = v;
	p = &v[r->nplain];
	*p = (struct mfs_remote_plain){.path = strdup(path), .url = strdup(url),
				       .digest = strdup(digest), .size = size,
				       .chk = calloc(1, sizeof(*p->chk))};
	if (!p->path || !p->url || !p->digest || !p->chk) {
		free(p->path);
		free(p->url);
		free(p->digest);
		free(p->chk);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->chk->lock, NULL);
	p->chk->md = EVP_MD_CTX_new();
	if (p->chk->md && !EVP_DigestInit_ex(p->chk->md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(p->chk->md);
		p->chk->md = NULL;
	}
	r->nplain++;
	return 0;
}

const struct mfs_remote_plain *mfs_remote_plain(struct mfs_remote *r, const char *path)
{
	for (size_t i = 0; i < r->nplain; i++)
		if (!strcmp(r->plain[i].path, path))
			return &r->plain[i];
	return NULL;
}

uint64_t mfs_remote_plain_size(const struct mfs_remote_plain *p)
{
	return p->size;
}

bool mfs_remote_plain_bad(const struct mfs_remote_plain *p)
{
	return atomic_load(&p->chk->state) < 0;
}

const char *mfs_remote_plain_digest(const struct mfs_remote_plain *p)
{
	return p->digest;
}

/* The key of @p's block at @boff, and its length (the last one is shorter). */
static struct mfs_store_key plain_block(const struct mfs_remote_plain *p, uint64_t boff,
					uint32_t *blen)
{
	*blen = (uint32_t)(p->size - boff < PLAIN_BLOCK ? p->size - boff : PLAIN_BLOCK);
	return mfs_store_key_block(p->url, boff, *blen);
}

void mfs_remote_plain_forget(struct mfs_remote *r, const struct mfs_remote_plain *p)
{
	for (uint64_t off = 0; off < p->size; off += PLAIN_BLOCK) {
		uint32_t blen;
		struct mfs_store_key key = plain_block(p, off, &blen);

		mfs_store_remove(r->store, &key);
	}
}

/*
 * Block @boff of @p (@len bytes at @b) was obtained: hashed if it is the next
 * in order, and then the blocks after it other threads stored meanwhile (the
 * kernel's readahead runs on several). At the end, the whole against the
 * digest: -EFSCORRUPTED (every block dropped) if it is not.
 */
static int plain_follow(struct mfs_remote *r, const struct mfs_remote_plain *p, uint64_t boff,
			const uint8_t *b, uint32_t len, struct mfs_err *err)
{
	struct plain_check *c = p->chk;
	uint8_t sum[32], *next = NULL;
	unsigned int sl = 0;
	char got[72];
	int bad = 0;

	pthread_mutex_lock(&c->lock);
	if (c->md && !atomic_load(&c->state) && boff == c->hashed) {
		EVP_DigestUpdate(c->md, b, len);
		c->hashed += len;
		while (c->hashed < p->size) {
			uint32_t blen;
			struct mfs_store_key key = plain_block(p, c->hashed, &blen);

			if (!mfs_store_has(r->store, &key, blen) ||
			    (!next && !(next = malloc(PLAIN_BLOCK))) ||
			    mfs_store_get(r->store, &key, next, blen))
				break;
			EVP_DigestUpdate(c->md, next, blen);
			c->hashed += blen;
		}
		if (c->hashed == p->size) {
			EVP_DigestFinal_ex(c->md, sum, &sl);
			EVP_MD_CTX_free(c->md);
			c->md = NULL;
			source_sha256_string(sum, got);
			atomic_store(&c->state, strcmp(got, p->digest) ? -1 : 1);
			bad = atomic_load(&c->state) < 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
	free(next);
	if (!bad)
		return 0;
	atomic_fetch_add(&r->bad_fetches, 1);
	mfs_remote_plain_forget(r, p);
	return mfs_err_set(err, -EFSCORRUPTED, "%s: read whole, its bytes are not its digest %s "
			   "(every stored block dropped; its reads fail)", p->path, p->digest);
}

ssize_t mfs_remote_plain_read(struct mfs_remote *r, const struct mfs_remote_plain *p,
			      uint64_t off, size_t len, void *buf, struct mfs_err *err)
{
	struct thread_state *t = thread_state(r, PLAIN_BLOCK);
	uint8_t *out = buf;
	size_t done = 0;

	if (!t)
		return -ENOMEM;
	if (atomic_load(&p->chk->state) < 0)
		return mfs_err_set(err, -EIO, "%s: its bytes are not its digest %s", p->path,
				   p->digest);
	if (off >= p->size)
		return 0;
	if (len > p->size - off)
		len = (size_t)(p->size - off);
	while (done < len) {
		uint64_t pos = off + done, boff = pos - pos % PLAIN_BLOCK;
		uint32_t blen;
		struct mfs_store_key key = plain_block(p, boff, &blen);
		size_t in = (size_t)(pos - boff), n = blen - in < len - done ? blen - in : len - done;
		int rc;

		/*
		 * The kernel reads a file in pieces smaller than a block, and not
		 * aligned to one: the block this thread read last is not read and
		 * hashed from the store again for each.
		 */
		bool in_buf = t->have_block && !memcmp(&t->block, &key, sizeof(key));

		if (!in_buf && mfs_store_get(r->store, &key, t->buf, blen) == 0) {
			atomic_fetch_add(&r->store_hits, 1);
		} else if (!in_buf) {
			t->have_block = false;
			rc = mfs_http_range(t->http, p->url, boff, blen, t->buf, NULL, err);
			if (rc)
				return mfs_err_prefix(err, rc == -ENOMEM ? rc : -EIO, "%s", p->path);
			atomic_fetch_add(&r->fetched, 1);
			atomic_fetch_add(&r->fetched_bytes, blen);
			atomic_fetch_add(&r->requests, 1);
			if (mfs_store_put(r->store, &key, t->buf, blen, err))
				atomic_fetch_add(&r->store_errors, 1); /* served all the same */
			/* Found bad meanwhile (by another thread): nothing of it is kept. */
			if (atomic_load(&p->chk->state) < 0)
				mfs_store_remove(r->store, &key);
		}
		if (!in_buf && (rc = plain_follow(r, p, boff, t->buf, blen, err))) {
			t->have_block = false;
			return -EIO;
		}
		t->block = key;
		t->have_block = true;
		memcpy(out + done, t->buf + in, n);
		done += n;
	}
	return (ssize_t)done;
}

/* The URL of the container at @path (static per thread until the next call). */
static const char *remote_url(struct mfs_remote *r, const char *path)
{
	static _Thread_local char buf[4096 + 1024];

	for (size_t i = 0; i < r->nmap; i++)
		if (!strcmp(r->map[i].path, path))
			return r->map[i].url;
	snprintf(buf, sizeof(buf), "%s%s", r->base, path);
	return buf;
}

/*
 * The store key of chunk @i of @ar at @url: its digest where the container
 * has one (shared with any source), else private to @url.
 */
static struct mfs_store_key chunk_key(const char *url, const struct mfs_archive *ar, uint32_t i)
{
	const uint8_t *d = mfs_archive_digest(ar, i);
	const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

	return d ? mfs_store_key_digest(d, c->plen) : mfs_store_key_private(url, c);
}

/*
 * Fetched bytes @p of chunk @i: what they must be before they are kept or
 * served. With a digest, their SHA-256 (cheaper than a decode, and what the
 * store key says); without, a decode against the chunk's xxh3 into @scratch.
 * 0, -EFSCORRUPTED (wrong bytes), or another -errno.
 */
static int check_fetched(struct mfs_remote *r, const struct mfs_archive *ar, uint32_t i,
			 const void *p, void *scratch, size_t cap, struct mfs_dctx *dctx,
			 struct mfs_err *err)
{
	uint64_t t0 = mono_ns();
	int rc = mfs_archive_digest(ar, i) ? mfs_archive_check_digest(ar, i, p, err)
					   : mfs_archive_decode_stored(ar, i, p, scratch, cap, dctx, err);

	atomic_fetch_add(&r->check_ns, mono_ns() - t0);
	return rc;
}

/*
 * Chunk @i of @ar (at @url): from the store, else fetched, verified and
 * stored. A chunk found in the store counts as a hit if @hit, else it was
 * fetched ahead for this read (*@fetched).
 */
static int get_chunk(struct mfs_remote *r, const char *url, const struct mfs_archive *ar,
		     uint32_t i, void *buf, bool *fetched, bool hit, struct mfs_err *err)
{
	const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
	struct mfs_store_key key = chunk_key(url, ar, i);
	struct thread_state *t;
	int rc;

	*fetched = false;
	if (mfs_store_get(r->store, &key, buf, c->plen) == 0) {
		if (hit)
			atomic_fetch_add(&r->store_hits, 1);
		*fetched = !hit; /* a fetcher got it for this read */
		return 0;
	}
	t = thread_state(r, c->llen ? c->llen : 1);
	if (t)
		t->have_block = false; /* buf becomes decode scratch */
	if (!t)
		return -ENOMEM;
	for (unsigned int bad = 0;;) {
		rc = mfs_http_range(t->http, url, c->poff, c->plen, buf, NULL, err);
		if (rc)
			return mfs_err_prefix(err, rc == -ENOMEM ? rc : -EIO, "chunk %u", i);
		atomic_fetch_add(&r->fetched, 1);
		atomic_fetch_add(&r->fetched_bytes, c->plen);
		atomic_fetch_add(&r->requests, 1);
		*fetched = true;
		/* Checked before it is kept or served: the reader decodes it again. */
		rc = check_fetched(r, ar, i, buf, t->buf, t->cap, t->dctx, err);
		if (rc == 0)
			break;
		if (rc != -EFSCORRUPTED)
			return rc;
		atomic_fetch_add(&r->bad_fetches, 1);
		if (++bad >= BAD_FETCHES_MAX)
			return mfs_err_prefix(err, -EIO, "the server's bytes failed their checksum %u "
						      "times", bad);
	}
	if (mfs_store_put(r->store, &key, buf, c->plen, err))
		atomic_fetch_add(&r->store_errors, 1); /* served all the same */
	return 0;
}

/* ---- fetch-ahead --------------------------------------------------------------------------- */

struct fetcher {
	struct mfs_remote *r;
	struct mfs_http *http;
	struct mfs_dctx *dctx;
	uint8_t *span, *scratch;
	size_t span_cap, scratch_cap;
};

static int grow(uint8_t **b, size_t *cap, size_t need)
{
	uint8_t *n;

	if (*cap >= need)
		return 0;
	n = realloc(*b, need);
	if (!n)
		return -ENOMEM;
	*b = n;
	*cap = need;
	return 0;
}

/*
 * Takes the first chunk still queued and the queued chunks beside it in the
 * file (half a span before it at most, a span in all), and marks them BUSY.
 * r->lock is held.
 */
static bool take_span(struct mfs_remote *r, struct mfs_remote_file **fout, uint32_t *first,
		      uint32_t *n)
{
	while (r->qlen) {
		struct qent e = r->q[r->qhead];
		const struct mfs_chunk *c;
		uint64_t start, end;
		uint32_t j, k;

		r->qhead = (r->qhead + 1) % AHEAD_QUEUE;
		r->qlen--;
		if (!e.f || e.f->state[e.idx] != CH_QUEUED)
			continue; /* taken since, by a span or a reader */
		c = mfs_archive_chunk(e.f->ar, e.idx);
		start = c->poff;
		end = c->poff + c->plen;
		e.f->state[e.idx] = CH_BUSY;
		/* The plan and the file part within a layer: neighbours either side. */
		for (j = e.idx; j > 0 && e.f->state[j - 1] == CH_QUEUED; j--) {
			const struct mfs_chunk *d = mfs_archive_chunk(e.f->ar, j - 1);

			if (d->poff + d->plen != start || end - d->poff > AHEAD_SPAN / 2)
				break;
			e.f->state[j - 1] = CH_BUSY;
			start = d->poff;
		}
		for (k = e.idx + 1; k < e.f->nchunks && e.f->state[k] == CH_QUEUED; k++) {
			const struct mfs_chunk *d = mfs_archive_chunk(e.f->ar, k);

			if (d->poff != end || end + d->plen - start > AHEAD_SPAN)
				break;
			e.f->state[k] = CH_BUSY;
			end += d->plen;
		}
		e.f->busy++;
		*fout = e.f;
		*first = j;
		*n = k - j;
		return true;
	}
	return false;
}

/*
 * Fetches chunks [@first, +@n) of @f in one request and stores those that
 * decode to their xxh3. Chunks whose bytes fail their checksum are left to
 * the readers, who fetch them again themselves; if the request fails (after
 * its retries, to the timeout), so do the reads waiting for them or for
 * chunks of the file still queued, at once.
 */
static void fetch_span(struct fetcher *ft, struct mfs_remote_file *f, uint32_t first, uint32_t n)
{
	struct mfs_remote *r = ft->r;
	const struct mfs_chunk *c0 = mfs_archive_chunk(f->ar, first);
	const struct mfs_chunk *cl = mfs_archive_chunk(f->ar, first + n - 1);
	size_t len = (size_t)(cl->poff + cl->plen - c0->poff), need = 1;
	struct mfs_err err = {{0}};
	uint8_t after = CH_NONE;
	int rc = -ENOMEM;

	for (uint32_t k = 0; k < n; k++) {
		const struct mfs_chunk *c = mfs_archive_chunk(f->ar, first + k);

		need = c->llen > need ? c->llen : need;
	}
	if (ft->http && ft->dctx && !grow(&ft->span, &ft->span_cap, len) &&
	    !grow(&ft->scratch, &ft->scratch_cap, need))
		rc = mfs_http_range(ft->http, f->url, c0->poff, len, ft->span, NULL, &err);
	if (rc && rc != -ENOMEM)
		after = CH_FAILED;
	if (rc == 0) {
		atomic_fetch_add(&r->fetched, n);
		atomic_fetch_add(&r->fetched_bytes, len);
		atomic_fetch_add(&r->requests, 1);
		for (uint32_t k = 0; k < n; k++) {
			const struct mfs_chunk *c = mfs_archive_chunk(f->ar, first + k);
			const uint8_t *p = ft->span + (c->poff - c0->poff);
			struct mfs_store_key key = chunk_key(f->url, f->ar, first + k);
			int dr = check_fetched(r, f->ar, first + k, p, ft->scratch, ft->scratch_cap,
					       ft->dctx, &err);

			if (dr == -EFSCORRUPTED)
				atomic_fetch_add(&r->bad_fetches, 1);
			else if (dr == 0 && mfs_store_put(r->store, &key, p, c->plen, &err))
				atomic_fetch_add(&r->store_errors, 1);
		}
	}
	pthread_mutex_lock(&r->lock);
	for (uint32_t k = 0; k < n; k++) {
		f->state[first + k] = after;
		f->failed_ns[first + k] = mono_ns();
	}
	if (after == CH_FAILED) {
		/*
		 * The server did not answer for a whole timeout: what is queued
		 * behind would wait for that again, one round per fetcher. Its
		 * readers fail now; the next reads ask again.
		 */
		for (uint32_t k = 0; k < f->nchunks; k++)
			if (f->state[k] == CH_QUEUED || f->state[k] == CH_URGENT) {
				f->state[k] = CH_FAILED;
				f->failed_ns[k] = mono_ns();
			}
		f->failed = err;
	}
	f->busy--;
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
}

static void *fetcher_main(void *arg)
{
	struct fetcher ft = {.r = arg};
	struct mfs_remote *r = ft.r;
	struct mfs_remote_file *f;
	uint32_t first, n;

	ft.http = mfs_http_new(&r->http);
	ft.dctx = mfs_dctx_new();
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		if (take_span(r, &f, &first, &n)) {
			pthread_mutex_unlock(&r->lock);
			fetch_span(&ft, f, first, n);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		/* Idle: no buffers held (a device short of memory pays for them). */
		if (ft.span_cap || ft.scratch_cap) {
			pthread_mutex_unlock(&r->lock);
			free(ft.span);
			free(ft.scratch);
			ft.span = ft.scratch = NULL;
			ft.span_cap = ft.scratch_cap = 0;
			pthread_mutex_lock(&r->lock);
			continue;
		}
		pthread_cond_wait(&r->work, &r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	free(ft.span);
	free(ft.scratch);
	mfs_dctx_free(ft.dctx);
	mfs_http_free(ft.http);
	return NULL;
}

int mfs_remote_open(struct mfs_remote *r, const char *path, const struct mfs_archive *ar,
		    struct mfs_remote_file **out)
{
	struct mfs_remote_file *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->r = r;
	f->ar = ar;
	f->nchunks = mfs_archive_nchunks(ar);
	f->url = strdup(remote_url(r, path));
	f->state = calloc(f->nchunks ? f->nchunks : 1, 1);
	f->failed_ns = calloc(f->nchunks ? f->nchunks : 1, sizeof(*f->failed_ns));
	if (!f->url || !f->state || !f->failed_ns) {
		free(f->url);
		free(f->state);
		free(f->failed_ns);
		free(f);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

void mfs_remote_close(struct mfs_remote_file *f)
{
	struct mfs_remote *r;

	if (!f)
		return;
	r = f->r;
	pthread_mutex_lock(&r->lock);
	for (uint32_t k = 0; k < r->qlen; k++) {
		struct qent *e = &r->q[(r->qhead + k) % AHEAD_QUEUE];

		if (e->f == f)
			e->f = NULL;
	}
	while (f->busy)
		pthread_cond_wait(&r->done, &r->lock);
	pthread_mutex_unlock(&r->lock);
	free(f->state);
	free(f->failed_ns);
	free(f->url);
	free(f);
}

/* Starts the fetchers, the first time chunks are wanted. r->lock is held. */
static void start(struct mfs_remote *r)
{
	sigset_t all, old;

	r->started = true;
	/* Signals stay with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; r->nthreads < r->want_threads; r->nthreads++)
		if (pthread_create(&r->threads[r->nthreads], NULL, fetcher_main, r))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Queues chunk @i of @f, at the head of the queue if @first (a reader waits
 * for it): unless it is stored, being fetched or read, or the queue is full.
 */
static void enqueue(struct mfs_remote_file *f, uint32_t i, bool first)
{
	struct mfs_remote *r = f->r;
	const struct mfs_chunk *c;
	struct mfs_store_key key;
	uint8_t st;

	if (i >= f->nchunks)
		return;
	c = mfs_archive_chunk(f->ar, i);
	pthread_mutex_lock(&r->lock);
	st = f->state[i];
	/* Failed just now: its reads fail at once rather than wait for the server again. */
	if (st == CH_FAILED && mono_ns() - f->failed_ns[i] < FAILED_FRESH_NS)
		st = CH_BUSY;
	pthread_mutex_unlock(&r->lock);
	if (!c->plen || (!idle(st) && !(first && st == CH_QUEUED)))
		return;
	key = chunk_key(f->url, f->ar, i);
	if (idle(st) && mfs_store_has(r->store, &key, c->plen))
		return;
	pthread_mutex_lock(&r->lock);
	if (!r->started)
		start(r);
	st = f->state[i];
	if (r->nthreads && (idle(st) || (first && st == CH_QUEUED))) {
		if (r->qlen < AHEAD_QUEUE) {
			/* A queued chunk moved to the head leaves a stale entry behind. */
			if (first)
				r->qhead = (r->qhead + AHEAD_QUEUE - 1) % AHEAD_QUEUE;
			r->q[first ? r->qhead : (r->qhead + r->qlen) % AHEAD_QUEUE] =
			    (struct qent){.f = f, .idx = i};
			r->qlen++;
			f->state[i] = CH_QUEUED;
			pthread_cond_signal(&r->work);
		} else if (st == CH_QUEUED) {
			f->state[i] = CH_URGENT; /* its reader fetches it */
			pthread_cond_broadcast(&r->done);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void mfs_remote_want(struct mfs_remote_file *f, uint32_t i)
{
	enqueue(f, i, false);
}

void mfs_remote_urgent(struct mfs_remote_file *f, uint32_t first, uint32_t last)
{
	/* The last first: the first chunk ends up at the head, the others behind it. */
	for (uint32_t i = last + 1; i-- > first;)
		enqueue(f, i, true);
}

int mfs_remote_read(struct mfs_remote_file *f, uint32_t i, void *buf, bool *fetched,
		    struct mfs_err *err)
{
	struct mfs_remote *r = f->r;
	bool waited = false;
	int rc;

	pthread_mutex_lock(&r->lock);
	while (f->state[i] == CH_QUEUED || f->state[i] == CH_BUSY) {
		waited = true;
		pthread_cond_wait(&r->done, &r->lock);
	}
	if (f->state[i] == CH_FAILED && (waited || mono_ns() - f->failed_ns[i] < FAILED_FRESH_NS)) {
		/*
		 * The server did not answer the fetch-ahead, retries and all: nor
		 * this read, which waited for it or comes right after it (a read
		 * of many chunks, started as workers free up; the kernel reading
		 * again the pages its readahead could not get). Later ones ask
		 * again.
		 */
		*err = f->failed;
		pthread_mutex_unlock(&r->lock);
		return mfs_err_prefix(err, -EIO, "chunk %u", i);
	}
	f->state[i] = CH_BUSY; /* a queue entry for it is skipped */
	pthread_mutex_unlock(&r->lock);
	/* A chunk a fetcher just stored for this read is not a hit of the store. */
	rc = get_chunk(r, f->url, f->ar, i, buf, fetched, !waited, err);
	pthread_mutex_lock(&r->lock);
	f->state[i] = CH_NONE;
	if (rc == -EIO) {
		/* As a failed fetch-ahead: the reads right after fail at once. */
		f->state[i] = CH_FAILED;
		f->failed = *err;
		f->failed_ns[i] = mono_ns();
	}
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void mfs_remote_bad(struct mfs_remote_file *f, uint32_t i)
{
	struct mfs_store_key key = chunk_key(f->url, f->ar, i);

	mfs_store_discard(f->r->store, &key);
}

void mfs_remote_stats(struct mfs_remote *r, struct mfs_remote_stats *st)
{
	st->store_hits = atomic_load(&r->store_hits);
	st->fetched = atomic_load(&r->fetched);
	st->fetched_bytes = atomic_load(&r->fetched_bytes);
	st->requests = atomic_load(&r->requests);
	st->bad_fetches = atomic_load(&r->bad_fetches);
	st->store_errors = atomic_load(&r->store_errors);
	st->check_ns = atomic_load(&r->check_ns);
}

struct mfs_store *mfs_remote_store(struct mfs_remote *r)
{
	return r->store;
}
