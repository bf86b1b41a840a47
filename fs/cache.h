/* SPDX-License-Identifier: MIT */
/*
 * cache.h - decoded chunks, kept under a byte budget, least recently used
 * out first.
 *
 * An entry is a chunk (@file, @chunk) and its decoded bytes. Entries are
 * reference counted: whoever holds a reference may read the bytes, and a
 * referenced entry is never freed (it can be evicted from the index, then
 * lives until the last reference goes). Lookups are single-flight: the first
 * thread to miss gets a LOADING entry to fill (created = true), everyone else
 * gets the same entry and waits for it in mfs_cache_wait(). A failed fill
 * leaves the index, so the next reader tries again.
 *
 * The budget counts every entry (its buffer and its bookkeeping), loading or
 * referenced included; it is exceeded only while more bytes are referenced
 * than it allows, and by at most one idle entry in the whole cache that is
 * larger than its shard's share (so a big chunk survives between the pieces
 * the kernel reads it in). Locks are sharded by key; no lock is held across
 * calls.
 */
#ifndef MFS_CACHE_H
#define MFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct mfs_cache;
struct mfs_centry;

/*
 * MFS_CACHE_PREFETCH: the lookup is speculative; it counts no hit or miss,
 * and an entry it creates is speculative until a reader looks it up.
 */
#define MFS_CACHE_PREFETCH 0x1u

/* What mfs_cache_get() did, in *got. */
#define MFS_CACHE_CREATED 0x1u  /* a new LOADING entry: the caller fills it */
#define MFS_CACHE_INFLIGHT 0x2u /* a reader found a prefetch still loading */

struct mfs_cache *mfs_cache_new(size_t budget, struct mfs_stats *stats);
/*
 * A cache whose budget will move between @budget and @max_budget
 * (mfs_cache_set_budget): shards sized for the first, buckets for the second.
 */
struct mfs_cache *mfs_cache_new_range(size_t budget, size_t max_budget, struct mfs_stats *stats);
/* All references must have been put. _free(NULL) is a no-op. */
void mfs_cache_free(struct mfs_cache *c);

/*
 * The entry for (@file, @chunk), referenced. If there was none, a new LOADING
 * entry with a @len-byte buffer is inserted and MFS_CACHE_CREATED set in
 * *@got: the caller must fill mfs_centry_data() and call mfs_cache_complete().
 * NULL on ENOMEM.
 */
struct mfs_centry *mfs_cache_get(struct mfs_cache *c, uint64_t file, uint32_t chunk, size_t len,
				 unsigned int flags, unsigned int *got);

/* Mark a LOADING entry filled (@error 0) or failed (-errno), and wake waiters. */
void mfs_cache_complete(struct mfs_cache *c, struct mfs_centry *e, int error);

/* Wait until the entry is no longer LOADING; 0 or the fill's error. */
int mfs_cache_wait(struct mfs_cache *c, struct mfs_centry *e);

/* Take another reference on an entry already held. */
void mfs_cache_hold(struct mfs_cache *c, struct mfs_centry *e);

/* Drop a reference. */
void mfs_cache_put(struct mfs_cache *c, struct mfs_centry *e);

/*
 * mfs_cache_put() after bytes [@lo, @hi) of the entry were sent to the
 * kernel. Once one interval of served bytes covers the whole entry, it moves
 * to the cold end of the LRU (the kernel's page cache holds it now).
 */
void mfs_cache_put_served(struct mfs_cache *c, struct mfs_centry *e, size_t lo, size_t hi);

/* Bytes of prefetched entries no reader has asked for yet (loading or ready). */
uint64_t mfs_cache_spec_bytes(struct mfs_cache *c);

/* An opaque pointer kept with the entry for its filler (the decode job). */
void mfs_centry_set_tag(struct mfs_centry *e, const void *tag);
const void *mfs_centry_tag(const struct mfs_centry *e);

/* The decoded bytes; valid while the reference is held and the entry is READY. */
void *mfs_centry_data(const struct mfs_centry *e);

/*
 * Change the budget to @budget bytes, evicting idle entries (and spares) down
 * to it at once; returns the bytes freed. Referenced entries stay until put.
 */
uint64_t mfs_cache_set_budget(struct mfs_cache *c, size_t budget);

/* The budget now. */
uint64_t mfs_cache_budget(struct mfs_cache *c);

/* Current bytes and entries held. */
void mfs_cache_usage(struct mfs_cache *c, uint64_t *bytes, uint64_t *entries);

#endif
