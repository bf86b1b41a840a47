/* SPDX-License-Identifier: MIT */
/*
 * memgov.h - how much memory the daemon may keep: the memory it sees and
 * the budgets it derives from it.
 *
 * The daemon cannot see how much memory the program reading through it
 * needs (llama.cpp at its default context holds ~80 MB of KV cache on a
 * small model), but it can see what is charged to the same limit: the
 * memory cgroup it runs in (v1 or v2, the tightest of its ancestors'
 * limits), or the machine. Everything anonymous there that is not ours is
 * "others": it cannot be reclaimed (no swap), so our budgets are what is
 * left after it, after our own fixed needs, and after a reserve of page
 * cache for the reader to work from. mfs_memgov_size() is that arithmetic,
 * pure so that a table of cases tests it; mfs_memgov_read() gathers its
 * inputs from /proc and /sys.
 *
 * The budgets are re-derived while the mount runs (fs/daemon.c, every
 * MFS_MEMGOV_PERIOD_MS and when a PSI trigger fires): when others grow, the cache shrinks and pinned
 * chunks are let go before anyone meets the OOM killer. Pinned chunks are
 * also MADV_FREE (cfile.c), so under sudden pressure the kernel takes them
 * back itself, faster than any polling.
 */
#ifndef MFS_MEMGOV_H
#define MFS_MEMGOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFS_MEMGOV_PERIOD_MS 200
#define MFS_MEMGOV_CACHE_MIN (4u << 20)
#define MFS_MEMGOV_CACHE_MAX (64u << 20)
/*
 * While the models fit, the kernel keeps their decoded pages and the cache
 * only holds chunks in flight and decoded ahead: a cold `dd` of a BF16 model
 * reads as fast with 8 MiB as with 64 MiB (4 MiB: 10% slower), and the
 * memory is the reader's when it grows later (llama.cpp allocates its KV
 * cache after the first reads).
 */
#define MFS_MEMGOV_CACHE_FIT (8u << 20)
#define MFS_MEMGOV_SLACK (16u << 20) /* page cache for the programs themselves */
/*
 * Models that shrink less than this (original / stored, as a fraction
 * 5/4) hold about as much of themselves in memory as pages as pinned, and
 * pages cost nothing to use while a pinned chunk is decoded again on each
 * use: below it, the resident set is pages (dropbehind.h's keep budget), from
 * it pins. Per byte of memory pins save (r - 1) / r stored bytes of disk
 * reads and cost r original bytes of decoding: at 50 MB/s and ~1 GB/s of
 * decoding (quantized types) they break even near r = 1.1, at 200 MB/s near
 * r = 1.3.
 */
#define MFS_MEMGOV_PIN_RATIO_NUM 5u
#define MFS_MEMGOV_PIN_RATIO_DEN 4u
/*
 * The drop-behind window beside a resident set of pages: the reader faults
 * in what it asked for at once, so a few megabytes are enough, and every
 * byte of it is a byte less of resident set.
 */
#define MFS_MEMGOV_KEEP_WINDOW (4u << 20)
/*
 * What the page cache needs beside a resident set: the window, as much again
 * served before the dropper's next batch (dropbehind.h's MFS_DROP_BATCH), and
 * the programs' own files.
 */
#define MFS_MEMGOV_KEEP_SPARE (2 * MFS_MEMGOV_KEEP_WINDOW + MFS_MEMGOV_SLACK)
/* Re-read bytes in one governor period that show a reader cycling. */
#define MFS_MEMGOV_CYCLE_BYTES (1u << 20)

enum mfs_mem_source {
	MFS_MEM_MACHINE, /* no memory cgroup limit below RAM: /proc/meminfo */
	MFS_MEM_CGROUP1,
	MFS_MEM_CGROUP2,
};

/* What mfs_memgov_read() sees. */
struct mfs_memview {
	uint64_t limit;	 /* bytes the daemon and its neighbours may use together */
	uint64_t others; /* unreclaimable bytes charged to it that are not the daemon's */
	uint64_t own;	 /* the daemon's own anonymous resident bytes */
	int source;	 /* enum mfs_mem_source */
};

struct mfs_memgov_in {
	uint64_t limit, others;
	uint64_t own_base;	/* the daemon's anonymous memory besides cache and pins */
	uint64_t models_size;	/* original bytes of the containers open now */
	uint64_t models_stored; /* their stored bytes (what pinning all of them takes) */
	bool cycling;		/* a reader has re-read chunks (dropbehind.h): a cycle over them */
};

struct mfs_memgov_out {
	uint64_t cache;	      /* decoded chunks */
	uint64_t pin;	      /* stored chunks kept in memory */
	uint64_t drop_window; /* served bytes left in the page cache (dropbehind.h); 0: all */
	uint64_t keep;	      /* original bytes of re-read chunks kept in it (dropbehind.h) */
	bool cycle_only;      /* prefetch only re-read chunks: the rest is not read again */
	uint64_t page_room;   /* what is left for the page cache: limit - others - own - cache - pin */
};

/*
 * The budgets for @in:
 * - reserve = max(limit / 8, 16 MiB) stays free for the page cache;
 * - room = limit - others - own_base - reserve (0 if negative);
 * - cache = room / 8, within [MFS_MEMGOV_CACHE_MIN, MFS_MEMGOV_CACHE_MAX];
 * - when the open models fit in the page cache beside everything else and
 *   the smallest cache, the kernel does the job: pin = 0, the cache is at
 *   most MFS_MEMGOV_CACHE_FIT, and shrinks (to the minimum at least) so that
 *   the models, the cache and MFS_MEMGOV_SLACK of the programs' own files
 *   fit together;
 * - models that shrink by MFS_MEMGOV_PIN_RATIO or more (BF16, F32):
 *   - when they are larger than that by at most half (avail = limit -
 *     others - own_base - MFS_MEMGOV_CACHE_MIN; models <= 1.5 avail), the
 *     kernel's LRU still keeps most of their pages: no pins, the smallest
 *     cache, no drop-behind;
 *   - else pin = what is left of room after the cache, at most
 *     models_stored, and the page cache keeps only the last reserve / 2
 *     bytes served (drop_window; 0, the kernel's choice, in the other
 *     cases);
 * - models that shrink less (quantized types) get no pins and the smallest
 *   cache; until a reader is seen @cycling, the kernel's LRU decides; then
 *   the page cache holds a resident set of keep = page_room -
 *   MFS_MEMGOV_KEEP_SPARE bytes of re-read chunks and the rest is dropped
 *   behind the last MFS_MEMGOV_KEEP_WINDOW bytes served, and prefetch reads
 *   only chunks that were re-read (cycle_only);
 * - page_room = limit - others - own_base - cache - pin: the page cache's.
 */
void mfs_memgov_size(const struct mfs_memgov_in *in, struct mfs_memgov_out *out);

/*
 * What the kernel says about the pin budget. Pinned chunks are MADV_FREE: the
 * kernel may take them back, and when memory is short it does, oldest first,
 * which in a cycle over the model means each just before its next use - the
 * pins then save nothing. How much really fits cannot be computed (the page
 * cache the reader works from, the kernel's watermarks), so the budget also
 * learns it: after the kernel took pins back (@reclaimed_total grew), at most
 * what is still pinned less MFS_MEMGOV_PIN_STEP stays pinned; after
 * MFS_MEMGOV_CALM_PERIODS governor periods without, MFS_MEMGOV_PIN_STEP more
 * may be. When the arithmetic's budget @want rises by MFS_MEMGOV_PIN_RESET
 * over what it was at the last cut (a neighbour gave memory back), the cap is
 * forgotten. Returns the budget: @want, or less.
 *
 * The keep budget (dropbehind.h) learns the same way from refaults, kept
 * pages the kernel evicted: there @reclaimed_total counts bytes and @unit is
 * 1, a cut takes those bytes off as well, at least MFS_MEMGOV_PIN_STEP
 * (pins count chunks: @unit 0, a cut is MFS_MEMGOV_PIN_STEP), and @held_now
 * is the budget in force: the resident set grows for a while after the
 * budget is set, and an eviction then says the budget is that much too
 * large, not that it should stop where the set is.
 */
#define MFS_MEMGOV_PIN_STEP (1u << 20)
#define MFS_MEMGOV_PIN_RESET (16u << 20)
#define MFS_MEMGOV_CALM_PERIODS 15u /* 3 s */
struct mfs_pin_feedback {
	uint64_t cap; /* UINT64_MAX: none */
	uint64_t want_at_cut;
	uint64_t last_reclaimed;
	unsigned int calm;
};
void mfs_memgov_feedback_init(struct mfs_pin_feedback *f);
/* What mfs_memgov_feedback() allows of @want now, without counting a period. */
uint64_t mfs_memgov_feedback_cap(const struct mfs_pin_feedback *f, uint64_t want);
uint64_t mfs_memgov_feedback(struct mfs_pin_feedback *f, uint64_t reclaimed_total, uint64_t unit,
			     uint64_t held_now, uint64_t want);

/*
 * Reads the memory the calling process sees into @v. @pinned is how much of
 * our anonymous memory is MADV_FREE pins (the machine view counts those as
 * available already). Never fails: without cgroup files it falls back to
 * /proc/meminfo, without that to "no limit".
 */
void mfs_memgov_read(struct mfs_memview *v, uint64_t pinned);

/*
 * Pressure by notification: a PSI trigger (the kernel's pressure stall
 * information) on the memory of our cgroup (v2's memory.pressure) or of the
 * machine (/proc/pressure/memory), fired when tasks there stall MFS_PSI_STALL_US
 * in MFS_PSI_WINDOW_US waiting for memory - reclaim, throttling above
 * memory.high, refaults - the moment the limit starts to bite, not at the
 * governor's next look. The fd is poll()ed for POLLPRI (POLLERR: the cgroup
 * went away). A user without CAP_SYS_RESOURCE may only ask for windows of
 * whole 2 s (Linux >= 6.4): that is tried second. Returns the fd and writes
 * the file's name to @what (@len bytes), or -errno where the kernel has no PSI (built without,
 * psi=0) or no trigger may be made: the governor then only polls.
 */
#define MFS_PSI_STALL_US 1000u
#define MFS_PSI_WINDOW_US 500000u
int mfs_memgov_psi_open(char *what, size_t len);

#endif
