/* SPDX-License-Identifier: MIT */
/*
 * io.c - file-descriptor sources and the read-exactly helper (see io.h).
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t fd_pread(void *priv, void *buf, size_t len, uint64_t off)
{
	ssize_t r;

	if (off > INT64_MAX)
		return -EINVAL;
	r = pread((int)(intptr_t)priv, buf, len, (off_t)off);
	return r < 0 ? -errno : r;
}

int mfs_open_regular(int dirfd, const char *path, int flags, struct mfs_err *err)
{
	struct stat st;
	int fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | flags), e;

	if (fd < 0)
		return mfs_err_set(err, -errno, "%s", mfs_strerror(errno));
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return mfs_err_set(err, -e, "cannot stat: %s", mfs_strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mfs_err_set(err, -EINVAL, "not a regular file");
	}
	/* Regular files ignore O_NONBLOCK; clear it for whoever inherits the descriptor. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int mfs_src_init_fd(struct mfs_src *src, int fd, struct mfs_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return mfs_err_set(err, -errno, "cannot stat: %s", mfs_strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mfs_err_set(err, -EINVAL, "not a regular file");
	src->pread = fd_pread;
	src->priv = (void *)(intptr_t)fd;
	src->size = (uint64_t)st.st_size;
	src->align = 0;
	return 0;
}

#define DIRECT_ALIGN 4096u

int mfs_src_init_direct(struct mfs_src *src, int fd, const struct mfs_src *size_of)
{
	src->pread = fd_pread;
	src->priv = (void *)(intptr_t)fd;
	src->size = size_of->size;
	src->align = DIRECT_ALIGN;
	return 0;
}

size_t mfs_src_envelope(const struct mfs_src *src, uint64_t off, size_t len)
{
	uint64_t a = src->align;

	if (!a)
		return len;
	return (size_t)(((off + len + a - 1) & ~(a - 1)) - (off & ~(a - 1)));
}

int mfs_src_read_envelope(const struct mfs_src *src, void *buf, size_t len, uint64_t off,
			  size_t *skip, struct mfs_err *err)
{
	uint64_t a = src->align, start, need, have = 0;
	size_t total;
	uint8_t *p = buf;

	if (!a) {
		*skip = 0;
		return mfs_src_read(src, buf, len, off, err);
	}
	start = off & ~(a - 1);
	need = off + len - start;
	total = mfs_src_envelope(src, off, len);
	*skip = (size_t)(off - start);
	while (have < need) {
		ssize_t r = src->pread(src->priv, p + have, total - have, start + have);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return mfs_err_set(err, (int)r, "read error at offset %llu: %s",
					   (unsigned long long)(start + have), mfs_strerror((int)r));
		if (r == 0)
			return mfs_err_set(err, -EFSCORRUPTED, "unexpected end of file at offset %llu",
					   (unsigned long long)(start + have));
		have += (uint64_t)r;
		/* O_DIRECT continues only from aligned positions; a short read ends the file. */
		if (have < need && have % a)
			return mfs_err_set(err, -EFSCORRUPTED, "unexpected end of file at offset %llu",
					   (unsigned long long)(start + have));
	}
	return 0;
}

int mfs_src_read(const struct mfs_src *src, void *buf, size_t len, uint64_t off,
		 struct mfs_err *err)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t r = src->pread(src->priv, p, len, off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return mfs_err_set(err, (int)r, "read error at offset %llu: %s",
					   (unsigned long long)off, mfs_strerror((int)r));
		if (r == 0)
			return mfs_err_set(err, -EFSCORRUPTED,
					   "unexpected end of file at offset %llu",
					   (unsigned long long)off);
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

