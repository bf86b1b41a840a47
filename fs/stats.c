/* SPDX-License-Identifier: MIT */
/*
 * stats.c - JSON rendering of the counters (see stats.h).
 */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>

#define LOAD(f) ((uint64_t)atomic_load_explicit(&s->f, memory_order_relaxed))

size_t mfs_stats_json(const struct mfs_stats *s, const struct mfs_stats_gauges *g, char *buf,
		      size_t cap)
{
	int n = snprintf(
		buf, cap,
		"{\"read_requests\":%" PRIu64 ",\"bytes_served\":%" PRIu64
		",\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 ",\"cache_waits\":%" PRIu64
		",\"cache_evictions\":%" PRIu64 ",\"chunks_decompressed\":%" PRIu64
		",\"bytes_decompressed\":%" PRIu64 ",\"backing_bytes_read\":%" PRIu64
		",\"decompress_ns\":%" PRIu64 ",\"checksum_failures\":%" PRIu64
		",\"read_errors\":%" PRIu64 ",\"prefetch_chunks\":%" PRIu64
		",\"prefetch_hits\":%" PRIu64 ",\"prefetch_waste\":%" PRIu64
		",\"prefetch_waits\":%" PRIu64 ",\"prefetch_pending\":%" PRIu64
		",\"pinned_hits\":%" PRIu64 ",\"pinned_bytes\":%" PRIu64
		",\"passthrough_bytes\":%" PRIu64 ",\"cache_bytes\":%" PRIu64
		",\"cache_entries\":%" PRIu64 ",\"cache_budget\":%" PRIu64 "}\n",
		LOAD(read_requests), LOAD(bytes_served), LOAD(cache_hits), LOAD(cache_misses),
		LOAD(cache_waits), LOAD(cache_evictions), LOAD(chunks_decompressed),
		LOAD(bytes_decompressed), LOAD(backing_bytes_read), LOAD(decompress_ns),
		LOAD(checksum_failures), LOAD(read_errors), LOAD(prefetch_chunks),
		LOAD(prefetch_hits), LOAD(prefetch_waste), LOAD(prefetch_waits), g->prefetch_pending,
		LOAD(pinned_hits), g->pinned_bytes,
		LOAD(passthrough_bytes), g->cache_bytes, g->cache_entries, g->cache_budget);

	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}
