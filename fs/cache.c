/* SPDX-License-Identifier: MIT */
/*
 * cache.c - sharded LRU of decoded chunks (see cache.h).
 *
 * Each shard has its own lock, hash table, LRU list, byte count and a share
 * of the budget. A key's shard and bucket come from one 64-bit hash. Waiters
 * for a LOADING entry sleep on their shard's condition variable.
 *
 * Buffers of dropped entries are kept as spares (a few per shard) and reused
 * for new entries of about the same size: a fresh 256 KiB malloc is an mmap
 * whose pages fault in and get zeroed one by one, every time. Spares count
 * against the budget like entries and are the first thing evicted.
 *
 * Prefetched entries are "speculative" until a reader first asks for them:
 * their bytes are counted (mfs_cache_spec_bytes) so the prefetcher can cap
 * what it holds, a reader's first lookup counts a prefetch hit, and evicting
 * one unread counts prefetch waste. Entries whole served to the kernel (which
 * keeps those bytes in its page cache) move to the cold end of the LRU.
 */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHARDS 16u
#define SHARD_MIN_BUDGET (4u << 20)
#define SPARES 4u
/*
 * What an entry costs besides its buffer (the struct and two allocations'
 * headers), counted against the budget: a million 1-byte chunks must not
 * hold far more memory than the budget says.
 */
#define ENTRY_OVERHEAD (sizeof(struct mfs_centry) + 32u)

enum { LOADING, READY, FAILED };

struct mfs_centry {
	struct mfs_centry *hnext;	 /* hash chain; protected by shard->lock */
	struct mfs_centry *prev, *next; /* LRU, most recent after the sentinel */
	uint64_t file;
	uint32_t chunk;
	uint32_t refs; /* protected by shard->lock */
	int state;     /* protected by shard->lock */
	int error;
	bool hashed; /* in the index (and the LRU); protected by shard->lock */
	bool spec;   /* prefetched, no reader yet; protected by shard->lock */
	size_t served_lo, served_hi; /* bytes served, one interval; protected by shard->lock */
	_Atomic(const void *) tag;
	size_t len;
	size_t cap; /* bytes allocated at data, >= len */
	void *data;
};

struct spare {
	void *buf;
	size_t cap;
};

struct shard {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct mfs_centry **buckets;
	size_t nbuckets; /* power of two */
	struct mfs_centry lru;
	size_t bytes;	/* entries' and spares' capacity; protected by lock */
	size_t entries; /* protected by lock */
	size_t budget;
	struct spare spares[SPARES]; /* protected by lock */
	unsigned int nspares;	     /* protected by lock */
};

struct mfs_cache {
	struct mfs_stats *stats;
	/*
	 * The one idle entry allowed to keep its shard over budget: a chunk larger
	 * than a shard's budget is read by the kernel in pieces (1 MiB requests on
	 * a 16 MiB chunk) and must stay between them, but one such chunk per shard
	 * would multiply the budget. Key only; protected by over_lock, which is
	 * never taken with a shard lock held.
	 */
	pthread_mutex_t over_lock;
	bool over_set;
	uint64_t over_file;
	uint32_t over_chunk;
	atomic_uint_fast64_t spec_bytes; /* bytes of speculative entries */
	unsigned int nshards;
	struct shard shards[MAX_SHARDS];
};

static uint64_t hash_key(uint64_t file, uint32_t chunk)
{
	uint64_t h = (file * 0x9e3779b97f4a7c15ull) ^ chunk;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static struct shard *shard_of(struct mfs_cache *c, uint64_t h)
{
	return &c->shards[h % c->nshards];
}

static struct mfs_centry **bucket_of(struct shard *s, uint64_t h)
{
	return &s->buckets[(h >> 8) & (s->nbuckets - 1)];
}

struct mfs_cache *mfs_cache_new(size_t budget, struct mfs_stats *stats)
{
	return mfs_cache_new_range(budget, budget, stats);
}

struct mfs_cache *mfs_cache_new_range(size_t budget, size_t max_budget, struct mfs_stats *stats)
{
	struct mfs_cache *c = calloc(1, sizeof(*c));
	size_t nb = 64;

	if (!c)
		return NULL;
	c->stats = stats;
	pthread_mutex_init(&c->over_lock, NULL);
	c->nshards = (unsigned int)(budget / SHARD_MIN_BUDGET);
	if (c->nshards < 1)
		c->nshards = 1;
	if (c->nshards > MAX_SHARDS)
		c->nshards = MAX_SHARDS;
	/* About one bucket per 32 KiB of budget: short chains at any chunk size. */
	while (nb < max_budget / c->nshards / 32768)
		nb *= 2;
	for (unsigned int i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		pthread_cond_init(&s->done, NULL);
		s->lru.prev = s->lru.next = &s->lru;
		s->nbuckets = nb;
		s->budget = budget / c->nshards;
		s->buckets = calloc(nb, sizeof(*s->buckets));
		if (!s->buckets) {
			c->nshards = i + 1;
			mfs_cache_free(c);
			return NULL;
		}
	}
	return c;
}

static void entry_free(struct mfs_centry *e)
{
	free(e->data);
	free(e);
}

/* Frees an entry, keeping its buffer as a spare if the budget has room. Lock held. */
static void entry_retire(struct shard *s, struct mfs_centry *e)
{
	if (s->nspares < SPARES && s->bytes + e->cap <= s->budget) {
		s->spares[s->nspares++] = (struct spare){e->data, e->cap};
		s->bytes += e->cap;
		e->data = NULL;
	}
	entry_free(e);
}

/* A spare of @len to 5/4 @len bytes, taken out of the shard; lock held. */
static struct spare take_spare(struct shard *s, size_t len)
{
	for (unsigned int i = 0; i < s->nspares; i++) {
		struct spare sp = s->spares[i];

		if (sp.cap >= len && sp.cap <= len + len / 4) {
			s->spares[i] = s->spares[--s->nspares];
			s->bytes -= sp.cap;
			return sp;
		}
	}
	return (struct spare){NULL, 0};
}

static void lru_unlink(struct mfs_centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct shard *s, struct mfs_centry *e)
{
	e->next = s->lru.next;
	e->prev = &s->lru;
	s->lru.next->prev = e;
	s->lru.next = e;
}

/* The cold end: evicted first. */
static void lru_push_back(struct shard *s, struct mfs_centry *e)
{
	e->prev = s->lru.prev;
	e->next = &s->lru;
	s->lru.prev->next = e;
	s->lru.prev = e;
}

/*
 * Remove from index and LRU; frees it unless referenced, keeping the buffer as
 * a spare if @spare. Caller holds s->lock.
 */
static void unhash(struct mfs_cache *c, struct shard *s, struct mfs_centry *e, uint64_t h,
		   bool spare)
{
	struct mfs_centry **pp = bucket_of(s, h);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	e->hashed = false;
	if (e->spec) {
		e->spec = false;
		atomic_fetch_sub(&c->spec_bytes, e->len);
	}
	s->bytes -= e->cap + ENTRY_OVERHEAD;
	s->entries--;
	if (e->refs == 0) {
		if (spare)
			entry_retire(s, e);
		else
			entry_free(e);
	}
}

/*
 * Evict least recently used idle entries but @keep until @need more bytes
 * fit. If @take has no buffer, the first evicted buffer of @len to 5/4 @len
 * bytes goes there instead of back to the system (uncounted: the caller's
 * new entry counts it again).
 */
static void make_room_take(struct mfs_cache *c, struct shard *s, size_t need,
			   const struct mfs_centry *keep, struct spare *take, size_t len)
{
	struct mfs_centry *e = s->lru.prev;

	while (s->bytes + need > s->budget && s->nspares) {
		struct spare sp = s->spares[--s->nspares];

		s->bytes -= sp.cap;
		free(sp.buf);
	}
	while (s->bytes + need > s->budget && e != &s->lru) {
		struct mfs_centry *prev = e->prev;

		if (e->refs == 0 && e->state == READY && e != keep) {
			if (e->spec)
				mfs_stat_add(&c->stats->prefetch_waste, 1);
			/*
			 * Evicted for room: a spare would keep the bytes it frees,
			 * but the caller's new entry may take its buffer.
			 */
			if (take && !take->buf && e->cap >= len && e->cap <= len + len / 4) {
				take->buf = e->data;
				take->cap = e->cap;
				e->data = NULL;
			}
			unhash(c, s, e, hash_key(e->file, e->chunk), false);
			mfs_stat_add(&c->stats->cache_evictions, 1);
		}
		e = prev;
	}
}

static void make_room_but(struct mfs_cache *c, struct shard *s, size_t need,
			  const struct mfs_centry *keep)
{
	make_room_take(c, s, need, keep, NULL, 0);
}

static void make_room(struct mfs_cache *c, struct shard *s, size_t need)
{
	make_room_but(c, s, need, NULL);
}

/* A lookup found @e: reference it and count what it means. Lock held. */
static void found(struct mfs_cache *c, struct mfs_centry *e, bool prefetch, unsigned int *got)
{
	e->refs++;
	if (prefetch)
		return;
	mfs_stat_add(e->state == LOADING ? &c->stats->cache_waits : &c->stats->cache_hits, 1);
	if (e->spec) {
		e->spec = false;
		atomic_fetch_sub(&c->spec_bytes, e->len);
		mfs_stat_add(&c->stats->prefetch_hits, 1);
		if (e->state == LOADING) {
			mfs_stat_add(&c->stats->prefetch_waits, 1);
			*got |= MFS_CACHE_INFLIGHT;
		}
	}
}

struct mfs_centry *mfs_cache_get(struct mfs_cache *c, uint64_t file, uint32_t chunk, size_t len,
				 unsigned int flags, unsigned int *got)
{
	uint64_t h = hash_key(file, chunk);
	struct shard *s = shard_of(c, h);
	struct mfs_centry *e;
	struct spare sp;
	bool prefetch = flags & MFS_CACHE_PREFETCH;

	*got = 0;
	pthread_mutex_lock(&s->lock);
	for (e = *bucket_of(s, h); e; e = e->hnext) {
		if (e->file == file && e->chunk == chunk) {
			lru_unlink(e);
			lru_push_front(s, e);
			found(c, e, prefetch, got);
			pthread_mutex_unlock(&s->lock);
			return e;
		}
	}
	sp = take_spare(s, len);
	/*
	 * A full cache (a long read) would free an old buffer and fault in a
	 * new one for every chunk: the new entry takes the evicted one's.
	 */
	if (!sp.buf)
		make_room_take(c, s, len + ENTRY_OVERHEAD, NULL, &sp, len);
	pthread_mutex_unlock(&s->lock);

	/* Allocate outside the lock; a racing thread may insert the key meanwhile. */
	e = calloc(1, sizeof(*e));
	if (e) {
		e->data = sp.buf ? sp.buf : malloc(len ? len : 1);
		e->cap = sp.buf ? sp.cap : len;
	}
	if (!e || !e->data) {
		free(sp.buf);
		free(e);
		return NULL;
	}
	e->file = file;
	e->chunk = chunk;
	e->len = len;
	e->refs = 1;
	e->state = LOADING;
	e->hashed = true;

	pthread_mutex_lock(&s->lock);
	for (struct mfs_centry *o = *bucket_of(s, h); o; o = o->hnext) {
		if (o->file == file && o->chunk == chunk) {
			found(c, o, prefetch, got);
			entry_retire(s, e);
			pthread_mutex_unlock(&s->lock);
			return o;
		}
	}
	make_room(c, s, e->cap + ENTRY_OVERHEAD);
	e->hnext = *bucket_of(s, h);
	*bucket_of(s, h) = e;
	lru_push_front(s, e);
	s->bytes += e->cap + ENTRY_OVERHEAD;
	s->entries++;
	if (!prefetch) {
		mfs_stat_add(&c->stats->cache_misses, 1);
	} else {
		e->spec = true;
		atomic_fetch_add(&c->spec_bytes, len);
	}
	pthread_mutex_unlock(&s->lock);
	*got = MFS_CACHE_CREATED;
	return e;
}

void mfs_cache_complete(struct mfs_cache *c, struct mfs_centry *e, int error)
{
	uint64_t h = hash_key(e->file, e->chunk);
	struct shard *s = shard_of(c, h);

	pthread_mutex_lock(&s->lock);
	if (error) {
		e->state = FAILED;
		e->error = error;
		if (e->hashed)
			unhash(c, s, e, h, true); /* the caller's reference keeps it alive */
	} else {
		e->state = READY;
	}
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
}

int mfs_cache_wait(struct mfs_cache *c, struct mfs_centry *e)
{
	struct shard *s = shard_of(c, hash_key(e->file, e->chunk));
	int r;

	pthread_mutex_lock(&s->lock);
	while (e->state == LOADING)
		pthread_cond_wait(&s->done, &s->lock);
	r = e->state == FAILED ? e->error : 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void mfs_cache_hold(struct mfs_cache *c, struct mfs_centry *e)
{
	struct shard *s = shard_of(c, hash_key(e->file, e->chunk));

	pthread_mutex_lock(&s->lock);
	e->refs++;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Drop a reference; lock held. An entry going idle in a shard over budget
 * (several entries were held at once, or this one is larger than the budget)
 * makes room; if it still does not fit alone, it becomes the cache's one idle
 * entry over budget: returns true, and the caller calls keep_over() unlocked.
 */
static bool release(struct mfs_cache *c, struct shard *s, struct mfs_centry *e)
{
	if (--e->refs > 0)
		return false;
	if (!e->hashed) {
		entry_retire(s, e);
		return false;
	}
	if (s->bytes <= s->budget)
		return false;
	make_room_but(c, s, 0, e);
	return s->bytes > s->budget && e->state == READY;
}

/* (@file, @chunk) is now the idle entry over budget: evict the one before it. */
static void keep_over(struct mfs_cache *c, uint64_t file, uint32_t chunk)
{
	uint64_t ofile, h;
	uint32_t ochunk;
	struct shard *s;
	bool had;

	pthread_mutex_lock(&c->over_lock);
	had = c->over_set && (c->over_file != file || c->over_chunk != chunk);
	ofile = c->over_file;
	ochunk = c->over_chunk;
	c->over_set = true;
	c->over_file = file;
	c->over_chunk = chunk;
	pthread_mutex_unlock(&c->over_lock);
	if (!had)
		return;
	h = hash_key(ofile, ochunk);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	for (struct mfs_centry *e = *bucket_of(s, h); e; e = e->hnext) {
		if (e->file != ofile || e->chunk != ochunk)
			continue;
		if (e->refs == 0 && e->state == READY && s->bytes > s->budget) {
			if (e->spec)
				mfs_stat_add(&c->stats->prefetch_waste, 1);
			unhash(c, s, e, h, false);
			mfs_stat_add(&c->stats->cache_evictions, 1);
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

void mfs_cache_put(struct mfs_cache *c, struct mfs_centry *e)
{
	uint64_t file = e->file;
	uint32_t chunk = e->chunk;
	struct shard *s = shard_of(c, hash_key(file, chunk));
	bool over;

	pthread_mutex_lock(&s->lock);
	over = release(c, s, e);
	pthread_mutex_unlock(&s->lock);
	if (over)
		keep_over(c, file, chunk);
}

void mfs_cache_put_served(struct mfs_cache *c, struct mfs_centry *e, size_t lo, size_t hi)
{
	uint64_t file = e->file;
	uint32_t chunk = e->chunk;
	struct shard *s = shard_of(c, hash_key(file, chunk));
	bool over;

	pthread_mutex_lock(&s->lock);
	if (e->served_hi <= e->served_lo || hi < e->served_lo || lo > e->served_hi) {
		/* Disjoint: keep the larger interval. */
		if (hi - lo > e->served_hi - e->served_lo) {
			e->served_lo = lo;
			e->served_hi = hi;
		}
	} else {
		if (lo < e->served_lo)
			e->served_lo = lo;
		if (hi > e->served_hi)
			e->served_hi = hi;
	}
	if (e->hashed && e->served_lo == 0 && e->served_hi >= e->len) {
		/* The kernel holds all of it now: ours goes first when room is needed. */
		lru_unlink(e);
		lru_push_back(s, e);
	}
	over = release(c, s, e);
	pthread_mutex_unlock(&s->lock);
	if (over)
		keep_over(c, file, chunk);
}

uint64_t mfs_cache_set_budget(struct mfs_cache *c, size_t budget)
{
	uint64_t freed = 0;

	for (unsigned int i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		size_t before;

		pthread_mutex_lock(&s->lock);
		s->budget = budget / c->nshards;
		before = s->bytes;
		make_room(c, s, 0);
		freed += before - s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
	return freed;
}

uint64_t mfs_cache_budget(struct mfs_cache *c)
{
	uint64_t b = 0;

	for (unsigned int i = 0; i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		b += c->shards[i].budget;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	return b;
}

uint64_t mfs_cache_spec_bytes(struct mfs_cache *c)
{
	return atomic_load(&c->spec_bytes);
}

void mfs_centry_set_tag(struct mfs_centry *e, const void *tag)
{
	atomic_store(&e->tag, tag);
}

const void *mfs_centry_tag(const struct mfs_centry *e)
{
	return atomic_load(&((struct mfs_centry *)e)->tag);
}

void *mfs_centry_data(const struct mfs_centry *e)
{
	return e->data;
}

void mfs_cache_usage(struct mfs_cache *c, uint64_t *bytes, uint64_t *entries)
{
	*bytes = *entries = 0;
	for (unsigned int i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		*bytes += s->bytes;
		*entries += s->entries;
		pthread_mutex_unlock(&s->lock);
	}
}

void mfs_cache_free(struct mfs_cache *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		if (s->buckets) {
			for (size_t b = 0; b < s->nbuckets; b++) {
				struct mfs_centry *e = s->buckets[b];

				while (e) {
					struct mfs_centry *next = e->hnext;

					entry_free(e);
					e = next;
				}
			}
		}
		for (unsigned int k = 0; k < s->nspares; k++)
			free(s->spares[k].buf);
		free(s->buckets);
		pthread_cond_destroy(&s->done);
		pthread_mutex_destroy(&s->lock);
	}
	pthread_mutex_destroy(&c->over_lock);
	free(c);
}
