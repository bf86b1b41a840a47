/* SPDX-License-Identifier: MIT */
/*
 * backing.h - where an open container's stored chunk bytes come from
 * (-o backing=), one implementation per kind:
 *   cached    pread() through the page cache, which keeps them;
 *   dontneed  pread(), the pages dropped once a chunk is decoded;
 *   direct    O_DIRECT into the worker's buffer, no page cache copy (where
 *             the filesystem refuses O_DIRECT: cached, with a warning);
 *   remote    the file is a skeleton of a remote container (remote.h): chunk
 *             bytes come from the chunk store or the network, verified.
 * The archive reads chunk data from backing->src; the read path tells the
 * backing what it is about to read (a prefetch) and what it has decoded, and
 * never asks which kind it is. A new kind of source is a new ops table here.
 */
#ifndef MFS_BACKING_H
#define MFS_BACKING_H

#include <stdint.h>

#include "archive.h"
#include "io.h"

struct mfs_remote;
struct mfs_remote_file;

struct mfs_backing_src;

struct mfs_backing_ops {
	/* Sets up b->src over b->fd (b->meta is the plain source); 0, or -errno. */
	int (*open)(struct mfs_backing_src *b);
	/* Stored bytes [@off, +@len) will be read soon. */
	void (*will_need)(struct mfs_backing_src *b, uint64_t off, uint64_t len);
	/*
	 * A reader waits for stored bytes [@off, +@len) now: chunks prefetch
	 * asked for (will_need), or the chunks of a read that needs several.
	 */
	void (*urgent)(struct mfs_backing_src *b, uint64_t off, uint64_t len);
	/*
	 * Stored bytes [@off, +@len) failed their check when decoded: true if
	 * reading them again may give other bytes (a copy was dropped).
	 */
	bool (*bad)(struct mfs_backing_src *b, uint64_t off, uint64_t len);
	/* Stored bytes [@off, +@len) were read and decoded. */
	void (*done)(struct mfs_backing_src *b, uint64_t off, uint64_t len);
	void (*close)(struct mfs_backing_src *b);
};

struct mfs_backing_src {
	const struct mfs_backing_ops *ops;
	int fd;			    /* the container, not owned */
	const struct mfs_src *meta; /* the source over fd the archive was opened with */
	struct mfs_src src;	    /* chunk data comes from here */
	int dfd;		    /* direct: the O_DIRECT descriptor, or -1 */
	const char *fallback;	    /* why this is not what was asked for, or NULL */
	/* remote: where the chunks are, and the archive that says which is where */
	struct mfs_remote_file *rfile;
	const struct mfs_archive *ar;
	const char *path; /* for messages */
};

/*
 * The backing of kind @kind (enum mfs_backing) over container @fd, whose
 * plain source is @meta (both outlive the backing). b->fallback says what was
 * given up, for a warning.
 */
int mfs_backing_open(struct mfs_backing_src *b, int kind, int fd, const struct mfs_src *meta);

static inline void mfs_backing_will_need(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	if (b->ops->will_need)
		b->ops->will_need(b, off, len);
}

static inline void mfs_backing_urgent(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	if (b->ops->urgent)
		b->ops->urgent(b, off, len);
}

static inline bool mfs_backing_bad(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	return b->ops->bad && b->ops->bad(b, off, len);
}

static inline void mfs_backing_done(struct mfs_backing_src *b, uint64_t off, uint64_t len)
{
	if (b->ops->done)
		b->ops->done(b, off, len);
}

/*
 * The remote backing of the skeleton at @path (relative to the source, for
 * messages and the URL) whose archive is @ar.
 */
int mfs_backing_open_remote(struct mfs_backing_src *b, struct mfs_remote *remote,
			    const char *path, const struct mfs_archive *ar,
			    const struct mfs_src *meta);

void mfs_backing_close(struct mfs_backing_src *b);

#endif
