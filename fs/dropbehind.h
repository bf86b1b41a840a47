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
 * Pages an LRU would have kept are not dropped: a chunk served again after
 * more than the window (so after its pages were dropped) but fewer bytes
 * than the page cache has room for (its reuse distance, from the running
 * total) is hot, and stays until a later reuse is a long one. So
 * a mixture-of-experts model whose busy experts fit keeps them, and a chunk
 * dropped too early (read again at once) is not dropped again.
 *
 * The governor sets the window and the room (memgov.h: window 0 while the
 * models fit, when the page cache does the job). Reads never wait for the thread: when its queue
 * is full, a read is not noted and its pages are left to the kernel.
 */
#ifndef MFS_DROPBEHIND_H
#define MFS_DROPBEHIND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MFS_DROP_QUEUE 4096u
#define MFS_DROP_BATCH (4u << 20) /* the thread wakes when this much is due */

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
	atomic_uint_fast64_t room;   /* page cache the kernel could keep: shorter reuses are hot */
	atomic_uint_fast64_t served; /* bytes served since the start */
	atomic_uint_fast64_t *dropped; /* bytes asked to be dropped (a stats counter) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mfs_drop_entry q[MFS_DROP_QUEUE]; /* protected by lock */
	uint32_t head, n;
	bool stop, started;
	pthread_t thread;
};

/* Starts the thread, which adds what it drops to *@dropped; 0 or -errno. */
int mfs_dropper_start(struct mfs_dropper *d, mfs_drop_fn drop, void *arg,
		      atomic_uint_fast64_t *dropped);
/* Stops it and lets go of every noted read; safe on a dropper never started. */
void mfs_dropper_stop(struct mfs_dropper *d);
void mfs_dropper_set_window(struct mfs_dropper *d, uint64_t window, uint64_t room);
/* A read of chunks @first..@last of @cf (inode @ino), @bytes long, was served. */
void mfs_dropper_served(struct mfs_dropper *d, struct mfs_cfile *cf, uint64_t ino, uint32_t first,
			uint32_t last, uint64_t bytes);

#endif
