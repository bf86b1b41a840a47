/* SPDX-License-Identifier: MIT */
/*
 * dropbehind.h - dropping the decoded pages readers have gone past, when
 * the open models do not fit in memory.
 *
 * Inference reads every weight once per token, in the same order. When the
 * models are well beyond the memory left for the page cache (memgov.h: by
 * more than half), an LRU evicts each page just before its next use: the page cache of a mounted model
 * saves nothing there, and it fills memory. Worse, it crowds out what does
 * save reads: the pinned (stored) chunks are MADV_FREE pages, which the
 * kernel reclaims as readily as page cache, so a model streaming through
 * the page cache takes them back before their next use.
 *
 * So in that regime the daemon keeps only the last @window bytes it served
 * in the page cache: every FUSE read is noted (its chunks and the running
 * total of bytes served), and a thread asks the kernel to drop the pages of
 * reads more than @window bytes ago (FUSE_NOTIFY_INVAL_INODE, adjacent
 * ranges as one), unless a later read served the same chunk again. The
 * kernel then has little to reclaim, and the pins stay. A program mapping
 * the file (llama.cpp) simply faults a dropped page in again next time.
 *
 * A cyclic reader whose working set is a little larger than the page cache
 * is an LRU's worst case (each page is evicted just before its next use),
 * and dropping everything behind it is no better: every token reads the
 * whole model. So the daemon keeps a stable resident set instead: a chunk
 * served again from outside the stream that served it before (its pages had
 * left the page cache: a re-read, the evidence of a cycle) is *kept* while
 * the keep budget allows - never dropped, and never prefetched again, since
 * the reader finds its pages in memory - and the rest is dropped behind the
 * reader. Each pass then reads its bytes less the kept ones, instead of all.
 * Chunks read once (llama.cpp's load, tensors it repacks into its own
 * memory) are never kept. A kept chunk served again all the same (the
 * kernel evicted it: the budget was too large) is a refault; the governor
 * lowers the budget on those (memgov.h) and un-keeps the excess, last
 * chunks first, dropping their pages so the memory comes back at once.
 * A mixture-of-experts model's busy experts are re-read soonest, so they are
 * the ones kept.
 *
 * The governor sets the window and the keep budget (memgov.h: window 0
 * while the models fit, when the page cache does the job; a keep budget only
 * for low-ratio models, whose pages hold as much as pins would). Reads never
 * wait for the thread: when its queue is full, a read is not noted and its
 * pages are left to the kernel.
 */
#ifndef MFS_DROPBEHIND_H
#define MFS_DROPBEHIND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MFS_DROP_QUEUE 4096u
#define MFS_DROP_BATCH (4u << 20) /* the thread wakes when this much is due */
/*
 * Chunks served again within this many bytes (or the window, if larger) are
 * the same stream - a chunk two reads share - not a re-read.
 */
#define MFS_DROP_NEAR (4u << 20)
/* In cfile->served_at[]: the chunk is kept (in the resident set). */
#define MFS_DROP_KEPT (1ull << 63)
/* In cfile->served_at[]: the chunk was re-read, so a reader cycles over it. */
#define MFS_DROP_CYCLE (1ull << 62)
#define MFS_DROP_FLAGS (MFS_DROP_KEPT | MFS_DROP_CYCLE)

struct mfs_cfile;

/* One noted read: chunks @first..@last of @cf, served when the total reached @at. */
struct mfs_drop_entry {
	struct mfs_cfile *cf; /* holds a reference */
	uint64_t ino;
	uint64_t at;
	uint32_t first, last;
};

/*
 * Asks the kernel to drop the cached pages of [@off, @off + @len) of inode
 * @ino; returns 0 or -errno (the FUSE session's notify in the daemon).
 */
typedef int (*mfs_drop_fn)(void *arg, uint64_t ino, uint64_t off, uint64_t len);

struct mfs_dropper {
	mfs_drop_fn drop;
	void *arg;
	atomic_uint_fast64_t window; /* 0: off */
	atomic_uint_fast64_t keep;   /* keep budget: original bytes of kept chunks, at most */
	atomic_uint_fast64_t kept;   /* original bytes of the chunks kept now */
	atomic_uint_fast64_t served; /* bytes served since the start */
	/* stats counters */
	atomic_uint_fast64_t *dropped; /* bytes asked to be dropped */
	atomic_uint_fast64_t *reread;  /* bytes of chunks re-read (see above) */
	atomic_uint_fast64_t *refault; /* bytes of kept chunks served again */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mfs_drop_entry q[MFS_DROP_QUEUE]; /* protected by lock */
	uint32_t head, n;
	bool stop, started;
	pthread_t thread;
};

/*
 * Starts the thread; 0 or -errno. It adds what it drops to *@dropped, and
 * reads note re-reads and refaults in *@reread and *@refault.
 */
int mfs_dropper_start(struct mfs_dropper *d, mfs_drop_fn drop, void *arg,
		      atomic_uint_fast64_t *dropped, atomic_uint_fast64_t *reread,
		      atomic_uint_fast64_t *refault);
/* Stops it and lets go of every noted read; safe on a dropper never started. */
void mfs_dropper_stop(struct mfs_dropper *d);
/* The window (0: drop nothing) and the keep budget (0: keep nothing). */
void mfs_dropper_set_window(struct mfs_dropper *d, uint64_t window, uint64_t keep);
/* A read of chunks @first..@last of @cf (inode @ino), @bytes long, was served. */
void mfs_dropper_served(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t ino, uint32_t first,
			uint32_t last, uint64_t bytes);
/*
 * Un-keeps chunks of @cf, last first, until the dropper keeps at most
 * @budget bytes, and drops their pages; returns the bytes un-kept.
 */
uint64_t mfs_dropper_unkeep(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t budget);
/* @cf goes away: its kept chunks no longer count. */
void mfs_dropper_forget(struct mfs_dropper *d, struct mfs_cfile *cf);

#endif
