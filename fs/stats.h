/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the daemon's counters, readable through the xattr
 * "user.modelfs.stats" on the mount root and printed by `modelfs stats`.
 *
 * Counters are monotonic since mount, updated with relaxed atomics (no
 * ordering between them is promised); gauges (cache bytes and entries) are
 * read from the cache when a snapshot is taken. Every counter is documented
 * in README.md; the JSON keys are the field names.
 */
#ifndef MFS_STATS_H
#define MFS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MFS_STATS_XATTR "user.modelfs.stats"

struct mfs_stats {
	atomic_uint_fast64_t read_requests;	  /* FUSE reads of container files */
	atomic_uint_fast64_t bytes_served;	  /* bytes returned by those reads */
	atomic_uint_fast64_t cache_hits;	  /* chunk lookups that found the chunk decoded */
	atomic_uint_fast64_t cache_misses;	  /* chunk lookups that had to decode it */
	atomic_uint_fast64_t cache_waits;	  /* lookups that waited for a decode under way */
	atomic_uint_fast64_t cache_evictions;	  /* decoded chunks dropped for the budget */
	atomic_uint_fast64_t chunks_decompressed; /* chunks read and decoded */
	atomic_uint_fast64_t bytes_decompressed;  /* their decoded bytes */
	atomic_uint_fast64_t backing_bytes_read;  /* stored bytes read from containers */
	atomic_uint_fast64_t decompress_ns;	  /* time spent reading and decoding chunks */
	atomic_uint_fast64_t checksum_failures;	  /* chunks that did not match their xxh3 */
	atomic_uint_fast64_t read_errors;	  /* backing reads that failed */
	atomic_uint_fast64_t prefetch_chunks;	  /* chunks queued for decoding ahead of any reader */
	atomic_uint_fast64_t prefetch_hits;	  /* prefetched chunks a reader then asked for */
	atomic_uint_fast64_t prefetch_waste;	  /* prefetched chunks evicted before any reader */
	atomic_uint_fast64_t prefetch_waits;	  /* reads that waited for a prefetch under way */
	atomic_uint_fast64_t pinned_hits;	  /* chunks decoded from pinned memory, not the disk */
	atomic_uint_fast64_t passthrough_bytes;	  /* bytes of plain files served */
};

struct mfs_stats_gauges {
	uint64_t cache_bytes;	/* decoded bytes held by the cache now */
	uint64_t cache_entries; /* chunks held by the cache now */
	uint64_t cache_budget;	/* the cache_size option */
	uint64_t prefetch_pending; /* prefetched bytes no reader has asked for yet */
	uint64_t pinned_bytes;	   /* stored bytes pinned in memory (-o pin_size) */
};

static inline void mfs_stat_add(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* The counters as one JSON object into @buf; returns its length (without NUL). */
size_t mfs_stats_json(const struct mfs_stats *s, const struct mfs_stats_gauges *g, char *buf,
		      size_t cap);

#endif
