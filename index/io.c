/* SPDX-License-Identifier: MIT */
/*
 * io.c - file-descriptor sources and the read-exactly helper (see io.h).
 */
#include "io.h"

#include <stdint.h>
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
