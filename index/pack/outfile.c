/* SPDX-License-Identifier: MIT */
/*
 * outfile.c - atomic file creation (see outfile.h).
 */
#include "outfile.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void reset(struct mfs_outfile *o)
{
	free(o->name);
	free(o->tmpname);
	o->fd = -1;
	o->dirfd = -1;
	o->name = NULL;
	o->tmpname = NULL;
}

int mfs_outfile_open(struct mfs_outfile *o, const char *path, mode_t mode, struct mfs_err *err)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	int r = 0;

	o->fd = -1;
	o->dirfd = -1;
	o->name = NULL;
	o->tmpname = NULL;
	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	o->name = strdup(basename(bcopy));
	if (!o->name) {
		r = -ENOMEM;
		goto out;
	}
	o->dirfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0) {
		r = mfs_err_set(err, -errno, "cannot open directory: %s", mfs_strerror(errno));
		goto out;
	}
	o->fd = openat(o->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ||
			  errno == ENOENT)) {
		/* No O_TMPFILE here: fall back to a hidden temporary name. */
		size_t n = strlen(o->name) + 16;

		o->tmpname = malloc(n);
		if (!o->tmpname) {
			r = -ENOMEM;
			goto out;
		}
		for (unsigned int attempt = 0; attempt < 100; attempt++) {
			snprintf(o->tmpname, n, ".%s.%06x", o->name,
				 (unsigned int)((unsigned int)getpid() * 2654435761u + attempt) &
					 0xffffffu);
			o->fd = openat(o->dirfd, o->tmpname,
				       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
			if (o->fd >= 0 || errno != EEXIST)
				break;
		}
	}
	if (o->fd < 0)
		r = mfs_err_set(err, -errno, "cannot create: %s", mfs_strerror(errno));
out:
	free(dcopy);
	free(bcopy);
	if (r)
		mfs_outfile_abort(o);
	return r;
}

int mfs_outfile_like(struct mfs_outfile *o, const struct stat *st, struct mfs_err *err)
{
	if (geteuid() == 0 && fchown(o->fd, st->st_uid, st->st_gid) < 0)
		return mfs_err_set(err, -errno, "cannot set the owner: %s", mfs_strerror(errno));
	if (fchmod(o->fd, st->st_mode & 0777) < 0)
		return mfs_err_set(err, -errno, "cannot set the mode: %s", mfs_strerror(errno));
	return 0;
}

/* Gives the anonymous O_TMPFILE a name in the directory. */
static int link_tmpfile(struct mfs_outfile *o, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	if (linkat(AT_FDCWD, proc, o->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == ENOENT) /* no /proc: needs CAP_DAC_READ_SEARCH, which root has */
		if (linkat(o->fd, "", o->dirfd, name, AT_EMPTY_PATH) == 0)
			return 0;
	return -errno;
}

int mfs_outfile_commit(struct mfs_outfile *o, bool replace, struct mfs_err *err)
{
	char tmp[64];
	int r = 0;

	if (fsync(o->fd) < 0) {
		r = mfs_err_set(err, -errno, "fsync failed: %s", mfs_strerror(errno));
		goto out;
	}
	if (!o->tmpname) {
		if (!replace) {
			r = link_tmpfile(o, o->name);
		} else {
			/* linkat cannot replace: link under a temporary name, then rename. */
			for (unsigned int attempt = 0; attempt < 100; attempt++) {
				snprintf(tmp, sizeof(tmp), ".mfs-tmp.%d.%u", (int)getpid(),
					 attempt);
				r = link_tmpfile(o, tmp);
				if (r != -EEXIST)
					break;
			}
			if (!r && renameat(o->dirfd, tmp, o->dirfd, o->name) < 0) {
				r = -errno;
				unlinkat(o->dirfd, tmp, 0);
			}
		}
	} else if (replace) {
		if (renameat(o->dirfd, o->tmpname, o->dirfd, o->name) < 0)
			r = -errno;
	} else {
		if (renameat2(o->dirfd, o->tmpname, o->dirfd, o->name, RENAME_NOREPLACE) < 0) {
			r = -errno;
			if (r == -EINVAL || r == -ENOSYS) {
				/* No RENAME_NOREPLACE: link() refuses to replace too. */
				r = linkat(o->dirfd, o->tmpname, o->dirfd, o->name, 0) < 0 ? -errno
											    : 0;
				if (!r)
					unlinkat(o->dirfd, o->tmpname, 0);
			}
		}
	}
	if (r) {
		mfs_err_set(err, r, r == -EEXIST ? "already exists" : "cannot create: %s",
			    mfs_strerror(r));
		goto out;
	}
	free(o->tmpname);
	o->tmpname = NULL; /* committed: nothing to clean up */
	fsync(o->dirfd);   /* make the new name durable too */
out:
	if (r)
		mfs_outfile_abort(o);
	else {
		close(o->fd);
		close(o->dirfd);
		reset(o);
	}
	return r;
}

void mfs_outfile_abort(struct mfs_outfile *o)
{
	if (o->tmpname && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmpname, 0);
	if (o->fd >= 0)
		close(o->fd);
	if (o->dirfd >= 0)
		close(o->dirfd);
	reset(o);
}
