/* SPDX-License-Identifier: MIT */
/*
 * remote.c - chunks from a remote source through the local store (see remote.h).
 */
#include "remote.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Fetches of one chunk whose bytes fail their checksum before it is EIO. */
#define BAD_FETCHES_MAX 3

struct url_map {
	char *path, *url;
};

struct mfs_remote {
	char *base;
	struct mfs_store *store;
	struct mfs_http_conf http;
	struct url_map *map;
	size_t nmap;
	pthread_key_t tls;
	_Atomic uint64_t store_hits, fetched, fetched_bytes, bad_fetches, store_errors;
};

/* Per thread: a client (keep-alive) and a decoder for checking fetched chunks. */
struct thread_state {
	struct mfs_http *http;
	struct mfs_dctx *dctx;
	uint8_t *buf;
	size_t cap;
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
	*out = r;
	return 0;
}

void mfs_remote_free(struct mfs_remote *r)
{
	struct thread_state *t;

	if (!r)
		return;
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
	mfs_store_close(r->store);
	free(r->base);
	free(r);
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

const char *mfs_remote_url(struct mfs_remote *r, const char *path)
{
	static _Thread_local char buf[4096 + 1024];

	for (size_t i = 0; i < r->nmap; i++)
		if (!strcmp(r->map[i].path, path))
			return r->map[i].url;
	snprintf(buf, sizeof(buf), "%s%s", r->base, path);
	return buf;
}

int mfs_remote_chunk(struct mfs_remote *r, const char *url, const struct mfs_archive *ar,
		     uint32_t i, void *buf, bool *fetched, struct mfs_err *err)
{
	const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
	struct mfs_store_key key = mfs_store_key(c);
	struct thread_state *t;
	int rc;

	*fetched = false;
	if (mfs_store_get(r->store, &key, buf, c->plen) == 0) {
		atomic_fetch_add(&r->store_hits, 1);
		return 0;
	}
	t = thread_state(r, c->llen ? c->llen : 1);
	if (!t)
		return -ENOMEM;
	for (unsigned int bad = 0;;) {
		rc = mfs_http_range(t->http, url, c->poff, c->plen, buf, NULL, err);
		if (rc)
			return mfs_err_prefix(err, rc == -ENOMEM ? rc : -EIO, "chunk %u", i);
		atomic_fetch_add(&r->fetched, 1);
		atomic_fetch_add(&r->fetched_bytes, c->plen);
		*fetched = true;
		/* Checked before it is kept or served: the reader decodes it again. */
		rc = mfs_archive_decode_stored(ar, i, buf, t->buf, t->cap, t->dctx, err);
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

void mfs_remote_stats(struct mfs_remote *r, struct mfs_remote_stats *st)
{
	st->store_hits = atomic_load(&r->store_hits);
	st->fetched = atomic_load(&r->fetched);
	st->fetched_bytes = atomic_load(&r->fetched_bytes);
	st->bad_fetches = atomic_load(&r->bad_fetches);
	st->store_errors = atomic_load(&r->store_errors);
}

struct mfs_store *mfs_remote_store(struct mfs_remote *r)
{
	return r->store;
}
