/* SPDX-License-Identifier: MIT */
/*
 * outfile.h - create a file so that it appears complete or not at all.
 *
 * Output is written to an unnamed O_TMPFILE in the target directory (or, where
 * the filesystem lacks O_TMPFILE, to a hidden ".NAME.XXXXXX" file), then
 * fsync()ed and linked into place atomically. A crash, a kill -9 or a full disk
 * before the commit leaves no trace under the target name - with O_TMPFILE no
 * trace at all. Without @replace the commit fails with -EEXIST rather than
 * overwrite an existing file, atomically.
 */
#ifndef MFS_OUTFILE_H
#define MFS_OUTFILE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

struct mfs_outfile {
	int fd;	   /* write here */
	int dirfd; /* the target's directory */
	char *name;	/* target name within dirfd */
	char *tmpname;	/* fallback temporary name, or NULL with O_TMPFILE */
};

/* Prepare to create @path with permission bits @mode (umask applies). */
int mfs_outfile_open(struct mfs_outfile *o, const char *path, mode_t mode, struct mfs_err *err);

/*
 * Give the output @st's permission bits (never set-id or sticky) and, when
 * run by root, its owner: a container is no more readable than its source,
 * and `modelfs plan` run by root leaves a user's container the user's.
 */
int mfs_outfile_like(struct mfs_outfile *o, const struct stat *st, struct mfs_err *err);

/* fsync and link the file into place; closes everything, success or not. */
int mfs_outfile_commit(struct mfs_outfile *o, bool replace, struct mfs_err *err);

/* Drop the output; safe after a failed commit and on a zeroed struct. */
void mfs_outfile_abort(struct mfs_outfile *o);

#endif
