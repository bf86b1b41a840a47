/* SPDX-License-Identifier: MIT */
/*
 * io.h - the one way index/ reads files: a positioned-read callback.
 *
 * Everything that reads a model or a container goes through a struct mfs_src,
 * so tests (and the fault-injection suite) can hand the parsers and the
 * container reader a source that fails, returns short reads or changes size,
 * without touching real files. mfs_src_read() turns the callback's partial
 * reads and EINTR into all-or-error: a read past the end of the source is
 * -EFSCORRUPTED ("unexpected end of file"), since every caller asks only for
 * bytes the format promised exist.
 */
#ifndef MFS_IO_H
#define MFS_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct mfs_src {
	/* Like pread(2): bytes read, 0 at end of file, or -errno. */
	ssize_t (*pread)(void *priv, void *buf, size_t len, uint64_t off);
	void *priv;
	uint64_t size; /* the size the source had when it was opened */
};

/* A source reading file descriptor @fd (not owned); fstat()s it for the size. */
int mfs_src_init_fd(struct mfs_src *src, int fd, struct mfs_err *err);

/* Reads exactly @len bytes at @off. */
int mfs_src_read(const struct mfs_src *src, void *buf, size_t len, uint64_t off,
		 struct mfs_err *err);

#endif
