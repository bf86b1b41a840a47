/* SPDX-License-Identifier: MIT */
/*
 * pipe.h - an ordered parallel map: items 0..count-1 are processed by worker
 * threads in any order and handed back to the calling thread in order.
 *
 * Pack, verify and unpack all have this shape: per-chunk work that is
 * independent (read + compress, or read + decode + verify) followed by a step
 * that must see chunks in file order (append to the container, feed the
 * whole-file hash, write the output). At most @depth items are in flight, so
 * memory stays at depth * (in_cap + out_cap) whatever the file size.
 *
 * Threads: work() runs on the workers, consume() on the caller's thread. A
 * worker's failure is not fatal by itself: its status goes to consume(), which
 * decides (verify keeps going, pack stops). consume() returning < 0 stops the
 * run: in-flight items finish, the rest are never started.
 */
#ifndef MFS_PIPE_H
#define MFS_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h" /* mfs_cpu_count() */

struct mfs_pipe_buf {
	void *in; /* in_cap bytes, owned by the pipe */
	void *out; /* out_cap bytes, owned by the pipe */
	size_t in_len; /* set by work() as it likes */
	size_t out_len;
	int flags;     /* free for work()/consume() to use */
	uint64_t aux;  /* likewise */
};

struct mfs_pipe_ops {
	/* Per-worker state (a codec context, say); NULL means -ENOMEM. */
	void *(*worker_new)(void *ctx);
	void (*worker_free)(void *wctx);
	/* Process item @seq; return 0 or -errno with detail in @err. */
	int (*work)(void *ctx, void *wctx, uint64_t seq, struct mfs_pipe_buf *b,
		    struct mfs_err *err);
	/* Take item @seq in order, with work()'s result; < 0 stops the run. */
	int (*consume)(void *ctx, uint64_t seq, struct mfs_pipe_buf *b, int status,
		       const struct mfs_err *err);
};

/* Worker state for decoding pipes: a mfs_dctx (codec.h). */
void *mfs_pipe_dctx_new(void *ctx);
void mfs_pipe_dctx_free(void *wctx);

/*
 * Run @count items over @threads workers (0: one per CPU). Returns 0, the first
 * negative value consume() returned, or -ENOMEM/-EAGAIN when buffers or
 * threads cannot be had.
 */
int mfs_pipe_run(const struct mfs_pipe_ops *ops, void *ctx, uint64_t count, unsigned int threads,
		 size_t in_cap, size_t out_cap);

#endif
