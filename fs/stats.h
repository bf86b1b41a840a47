/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the daemon's counters, readable through the xattr
 * "user.modelfs.stats" on the mount root and printed by `modelfs stats`.
 *
 * Counters are monotonic since mount, updated with relaxed atomics (no
 * ordering between them is promised); gauges (cache bytes and entries) are
 * read from the cache when a snapshot is taken. Every counter is documented
 * in modelfs(1); the JSON keys are the field names.
 */
#ifndef MFS_STATS_H
#define MFS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MFS_STATS_XATTR "user.modelfs.stats"
/* The options in effect, as mount options (auto and 0 resolved where the daemon resolves them). */
#define MFS_OPTIONS_XATTR "user.modelfs.options"

/*
 * Every counter and gauge, once: the struct fields, the JSON keys and their
 * order, the Prometheus names and help texts and `modelfs stats` all come
 * from this list, and tests/unit/test_stats.c checks modelfs(1)'s list against
 * it. C() is a counter (monotonic, in struct mfs_stats), S() a counter of
 * nanoseconds (Prometheus shows seconds), G() a gauge (read when a snapshot
 * is taken, in struct mfs_stats_gauges).
 */
/* clang-format off */
#define MFS_STATS_LIST(C, S, G)                                                                  \
	C(read_requests, "read_requests_total", "FUSE read requests for container files")         \
	C(bytes_served, "served_bytes_total", "Bytes returned by those read requests")            \
	C(cache_hits, "cache_hits_total", "Chunk lookups that found the chunk decompressed")      \
	C(cache_misses, "cache_misses_total", "Chunk lookups that had to decompress the chunk")   \
	C(cache_waits, "cache_waits_total",                                                       \
	  "Chunk lookups that waited for a decompression under way")                              \
	C(cache_evictions, "cache_evictions_total",                                               \
	  "Decompressed chunks dropped to stay within the cache budget")                          \
	C(chunks_decompressed, "chunks_decompressed_total", "Chunks read, decompressed and verified") \
	C(bytes_decompressed, "decompressed_bytes_total", "Bytes of the chunks decompressed")     \
	C(backing_bytes_read, "backing_read_bytes_total",                                         \
	  "Stored (compressed) bytes read from containers")                                       \
	S(decompress_ns, "decompress_seconds_total",                                              \
	  "Worker time spent reading, decompressing and verifying chunks")                        \
	S(decode_cpu_ns, "decode_cpu_seconds_total",                                              \
	  "CPU time of those jobs: no wait for the disk or for a core")                           \
	C(checksum_failures, "checksum_failures_total",                                           \
	  "Chunks that did not decode or did not match their checksum")                           \
	C(read_errors, "read_errors_total", "Chunks whose stored bytes could not be read")        \
	C(prefetch_chunks, "prefetch_chunks_total",                                               \
	  "Chunks queued for decompression ahead of any reader")                                  \
	C(prefetch_hits, "prefetch_hits_total", "Prefetched chunks a reader then asked for")      \
	C(prefetch_waste, "prefetch_waste_total",                                                 \
	  "Prefetched chunks evicted before any reader asked for them")                           \
	C(prefetch_waits, "prefetch_waits_total", "Reads that waited for a prefetch under way")   \
	G(prefetch_pending, "prefetch_pending_bytes", "Prefetched bytes no reader has asked for yet") \
	C(pinned_hits, "pinned_hits_total", "Chunks decompressed from pinned memory instead of the disk") \
	G(pinned_bytes, "pinned_bytes", "Compressed bytes pinned in memory now")                  \
	C(pin_reclaimed, "pin_reclaimed_total",                                                   \
	  "Pinned chunks the kernel took back under memory pressure (found on use)")              \
	C(passthrough_bytes, "passthrough_bytes_total", "Bytes requested from plain (not packed) files") \
	G(cache_bytes, "cache_bytes", "Bytes of decompressed chunks in the cache")                \
	G(cache_entries, "cache_entries", "Decompressed chunks in the cache")                     \
	G(cache_budget, "cache_budget_bytes", "The cache budget now (cache_size, or auto's choice)") \
	G(pin_budget, "pin_budget_bytes", "The pin budget now (pin_size, or auto's choice)")      \
	G(memory_limit, "memory_limit_bytes",                                                     \
	  "Memory the daemon sees for itself and its neighbours (cgroup limit or RAM)")           \
	G(memory_others, "memory_others_bytes",                                                   \
	  "Unreclaimable memory of everything else charged to that limit")                        \
	G(workers_active, "workers_active",                                                       \
	  "Decode workers that may run at once now (with default workers, as many as reads need)") \
	C(pressure_events, "pressure_events_total",                                               \
	  "Times the budgets were lowered because others needed the memory")                      \
	C(pressure_wakeups, "pressure_wakeups_total",                                             \
	  "Times the kernel reported memory stalls (PSI) and woke the governor")                  \
	C(bytes_given_back, "given_back_bytes_total",                                             \
	  "Cache and pinned bytes freed to lower the budgets")                                    \
	G(drop_window, "drop_window_bytes",                                                       \
	  "Served bytes kept in the page cache while models do not fit (0: drop-behind off)")     \
	C(dropped_bytes, "dropped_bytes_total",                                                   \
	  "Served bytes whose pages the kernel was asked to drop (drop-behind)")                  \
	C(reread_bytes, "reread_bytes_total",                                                     \
	  "Bytes of chunks served again after their pages left the page cache (a reader cycling over more than fits)") \
	G(keep_budget, "keep_budget_bytes",                                                       \
	  "The resident set's budget now: re-read chunks whose pages are kept (0: none)")         \
	G(kept_bytes, "kept_bytes", "Bytes of the chunks in the resident set now")                \
	C(refault_bytes, "refault_bytes_total",                                                   \
	  "Bytes of kept chunks served again: the kernel evicted them (the budget shrinks)")     \
	G(remote_fetched_chunks, "remote_fetched_chunks",                                         \
	  "Chunks fetched from the remote source since mount (0 for a local one)")                \
	G(remote_fetched_bytes, "remote_fetched_bytes",                                           \
	  "Stored bytes of those chunks: what came over the network")                             \
	G(remote_requests, "remote_requests",                                                     \
	  "Range requests for chunks (a fetch-ahead request carries many adjacent chunks)")      \
	G(remote_store_hits, "remote_store_hits",                                                 \
	  "Chunks of the remote source read from the local chunk store instead")                  \
	G(remote_bad_fetches, "remote_bad_fetches",                                               \
	  "Fetched chunks that failed their checksum (fetched again, never kept)")                \
	G(remote_check_ns, "remote_check_ns",                                                     \
	  "Time spent checking fetched chunks: SHA-256, or a decode for containers without digests") \
	G(store_bytes, "store_bytes", "Bytes in the local chunk store now")                       \
	G(store_damaged, "store_damaged",                                                         \
	  "Store entries found damaged and removed since mount (their chunks fetched again)")
/* clang-format on */

#define MFS_STATS_FIELD(name, prom, help) atomic_uint_fast64_t name;
#define MFS_STATS_GAUGE(name, prom, help) uint64_t name;
#define MFS_STATS_NONE(name, prom, help)

struct mfs_stats {
	MFS_STATS_LIST(MFS_STATS_FIELD, MFS_STATS_FIELD, MFS_STATS_NONE)
};

struct mfs_stats_gauges {
	MFS_STATS_LIST(MFS_STATS_NONE, MFS_STATS_NONE, MFS_STATS_GAUGE)
};

/* The list as a table, for the command line and the docs test. */
enum mfs_stat_kind { MFS_STAT_COUNTER, MFS_STAT_NS, MFS_STAT_GAUGE };
struct mfs_stat_desc {
	const char *key, *prom, *help;
	enum mfs_stat_kind kind;
};
extern const struct mfs_stat_desc mfs_stat_descs[];
extern const size_t mfs_stat_ndescs;

static inline void mfs_stat_add(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* The counters as one JSON object into @buf; returns its length (without NUL). */
size_t mfs_stats_json(const struct mfs_stats *s, const struct mfs_stats_gauges *g, char *buf,
		      size_t cap);

#endif
