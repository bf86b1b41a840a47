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

#include "sys.h"
#include "err.h"

struct mfs_src {
	/* Like pread(2): bytes read, 0 at end of file, or -errno. */
	ssize_t (*pread)(void *priv, void *buf, size_t len, uint64_t off);
	void *priv;
	uint64_t size;	/* the size the source had when it was opened */
	uint32_t align; /* reads must be aligned to this (O_DIRECT); 0: any read works */
};

/*
 * Opens @path (relative to @dirfd, or AT_FDCWD) for reading, if it is a
 * regular file: never blocks on a FIFO or device swapped in under the name
 * (O_NONBLOCK, the type checked on the descriptor, not the name). @flags adds
 * O_NOFOLLOW and the like. Returns the descriptor, owned by the caller, or
 * -errno (-EINVAL: not a regular file) with @err saying why.
 */
int mfs_open_regular(int dirfd, const char *path, int flags, struct mfs_err *err);

/* A source reading file descriptor @fd (not owned); fstat()s it for the size. */
int mfs_src_init_fd(struct mfs_src *src, int fd, struct mfs_err *err);

/* Reads exactly @len bytes at @off. */
int mfs_src_read(const struct mfs_src *src, void *buf, size_t len, uint64_t off,
		 struct mfs_err *err);

/*
 * For sources with an alignment: the size of the aligned envelope around
 * [@off, @off + @len), which is what mfs_src_read_envelope() needs in @buf.
 */
size_t mfs_src_envelope(const struct mfs_src *src, uint64_t off, size_t len);

/*
 * Reads [@off, @off + @len) through its aligned envelope into @buf (aligned to
 * src->align, mfs_src_envelope() bytes long); the bytes start at @buf +
 * *@skip. Without an alignment this is mfs_src_read() with *@skip = 0. The
 * file may end inside the envelope, but not before @off + @len.
 */
int mfs_src_read_envelope(const struct mfs_src *src, void *buf, size_t len, uint64_t off,
			  size_t *skip, struct mfs_err *err);

/* A source reading @fd opened with O_DIRECT; the size comes from @size_of. */
int mfs_src_init_direct(struct mfs_src *src, int fd, const struct mfs_src *size_of);



#endif
