/* SPDX-License-Identifier: MIT */
/*
 * ops.c - the FUSE low-level handlers.
 *
 * Each handler mfs_op_<op> calls a do_<op> helper that either replies itself
 * and returns 0, or returns -errno; the handler then replies with that error.
 * Either way every request gets exactly one reply.
 *
 * The mount is read-only: the kernel already refuses writes on an "ro" mount,
 * and every modifying operation here answers EROFS as well, in case the mount
 * was remounted rw behind our back. Files open with keep_cache (the page cache
 * survives close and reopen) and never direct_io, so mmap works.
 */
#include "fs_i.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"

static struct mfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void reply_status(fuse_req_t req, int r)
{
	if (r)
		fuse_reply_err(req, -r);
}

static void mfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* No writeback cache (read-only); symlink targets can be cached. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

static int do_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct mfs_fs *fs = fs_of(req);
	int r = mfs_fs_lookup(fs, mfs_fs_node(fs, parent), name, &e);

	if (r)
		return r;
	if (fuse_reply_entry(req, &e) < 0) /* the kernel never got it: undo the lookup */
		mfs_fs_forget(fs, mfs_fs_node(fs, e.ino), 1);
	return 0;
}

static void mfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_status(req, do_lookup(req, parent, name));
}

static void mfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mfs_fs *fs = fs_of(req);

	mfs_fs_forget(fs, mfs_fs_node(fs, ino), nlookup);
	fuse_reply_none(req);
}

static void mfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct mfs_fs *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		mfs_fs_forget(fs, mfs_fs_node(fs, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static int do_getattr(fuse_req_t req, fuse_ino_t ino)
{
	struct mfs_fs *fs = fs_of(req);
	struct stat st;
	int r = mfs_fs_stat(fs, mfs_fs_node(fs, ino), &st);

	if (r)
		return r;
	fuse_reply_attr(req, &st, MFS_ATTR_TIMEOUT);
	return 0;
}

static void mfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_status(req, do_getattr(req, ino));
}

static int do_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mfs_node *n = mfs_fs_node(fs_of(req), ino);
	char buf[PATH_MAX + 1];
	ssize_t len;
	int fd;

	if (n->kind != MFS_NODE_LNK)
		return -EINVAL;
	fd = mfs_fs_node_open(n, O_PATH);
	if (fd < 0)
		return fd;
	len = readlinkat(fd, "", buf, sizeof(buf));
	close(fd);
	if (len < 0)
		return -errno;
	if ((size_t)len == sizeof(buf))
		return -ENAMETOOLONG;
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
	return 0;
}

static void mfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	reply_status(req, do_readlink(req, ino));
}

/* ---- directories -------------------------------------------------------- */

struct dirh {
	DIR *dp;
	off_t offset;
	struct dirent *entry; /* read but not yet returned */
};

static int do_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_node *n = mfs_fs_node(fs_of(req), ino);
	struct dirh *d;
	int fd;

	if (n->kind != MFS_NODE_DIR)
		return -ENOTDIR;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d->dp) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		free(d);
		return r;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) < 0) {
		closedir(d->dp);
		free(d);
	}
	return 0;
}

static void mfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_status(req, do_opendir(req, ino, fi));
}

static int do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct mfs_fs *fs = fs_of(req);
	struct mfs_node *n = mfs_fs_node(fs, ino);
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	char *buf = calloc(1, size ? size : 1), *p = buf, namebuf[NAME_MAX + 1];
	size_t rem = size;

	if (!buf)
		return -ENOMEM;
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		struct stat st = {0};
		const char *shown;
		size_t len;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno && rem == size) {
					int r = -errno;

					free(buf);
					return r;
				}
				break;
			}
		}
		shown = mfs_fs_shown_name(fs, n, d->entry->d_name, d->entry->d_type, namebuf,
					  sizeof(namebuf));
		if (shown) {
			st.st_ino = d->entry->d_ino;
			st.st_mode = (mode_t)d->entry->d_type << 12;
			len = fuse_add_direntry(req, p, rem, shown, &st, d->entry->d_off);
			if (len > rem)
				break; /* keep the entry for the next call */
			p += len;
			rem -= len;
		}
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
	return 0;
}

static void mfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	reply_status(req, do_readdir(req, ino, size, off, fi));
}

static void mfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

/* ---- files -------------------------------------------------------------- */

static int do_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_fs *fs = fs_of(req);
	struct mfs_node *n = mfs_fs_node(fs, ino);
	struct mfs_cfile *cf = NULL;
	bool fresh = false;
	int fd, r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	if (n->kind == MFS_NODE_DIR)
		return -EISDIR;
	if (n->kind == MFS_NODE_MODEL) {
		pthread_mutex_lock(&n->lock);
		r = mfs_fs_refresh(n);
		if (!r && n->changed) {
			/*
			 * Rewritten in place: handles already open keep the old
			 * container (their reads fail with EIO where it no longer
			 * matches); this one gets the new one, and the kernel drops
			 * the pages it cached of the old.
			 */
			if (n->cf)
				mfs_cfile_put(n->cf);
			n->cf = NULL;
			n->changed = false;
			fresh = true;
		}
		if (!r && !n->cf)
			r = mfs_cfile_open(fs, n, &n->cf);
		if (r) {
			pthread_mutex_unlock(&n->lock);
			return r;
		}
		cf = n->cf;
		mfs_cfile_get(cf); /* the handle's reference */
		atomic_fetch_add(&cf->handles, 1);
		mfs_fs_opened(n);
		pthread_mutex_unlock(&n->lock);
		fi->fh = (uintptr_t)cf;
	} else {
		fd = mfs_fs_node_open(n, O_RDONLY);
		if (fd < 0)
			return fd;
		fi->fh = (uint64_t)fd;
	}
	/* Before the reply: the kernel takes the file's window after it. */
	mfs_fs_apply_readahead(fs, atomic_load(&fs->open_size), atomic_load(&fs->open_repacked));
	fi->keep_cache = !fresh;
	fi->direct_io = 0;
	if (fuse_reply_open(req, fi) < 0) {
		if (cf) {
			atomic_fetch_sub(&cf->handles, 1);
			mfs_cfile_put(cf);
			mfs_fs_closed(fs, n);
		} else {
			close((int)fi->fh);
		}
	}
	return 0;
}

static void mfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_status(req, do_open(req, ino, fi));
}

/*
 * The reply goes straight from the cached buffers: one piece with
 * fuse_reply_data(), which sends a single memory buffer without copying;
 * several with fuse_reply_iov() (fuse_reply_data() would copy them into one
 * bounce buffer first). A reply that cannot be sent is gone with its request
 * (libfuse frees it either way); -ENOENT means the reader was interrupted.
 */
static int do_read_model(fuse_req_t req, fuse_ino_t ino, struct mfs_cfile *cf, size_t size,
			 uint64_t off)
{
	struct mfs_cread rd;
	int r = mfs_cfile_read(cf, size, off, &rd);

	if (r)
		return r;
	if (rd.niov == 0) {
		r = fuse_reply_buf(req, NULL, 0);
	} else if (rd.niov == 1) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(rd.iov[0].iov_len);

		bv.buf[0].mem = rd.iov[0].iov_base;
		r = fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
	} else {
		r = fuse_reply_iov(req, rd.iov, (int)rd.niov);
	}
	if (r < 0 && r != -ENOENT)
		mfs_log(MFS_LOG_WARN, "%s: cannot send a read reply: %s", cf->path,
			mfs_strerror(-r));
	else if (rd.niov)
		mfs_dropper_served(&cf->fs->dropper, cf, ino, rd.first, rd.last, rd.bytes);
	mfs_cfile_read_done(&rd);
	return 0;
}

/* A plain file of a remote source: its bytes from plain.c. */
static int do_read_plain(fuse_req_t req, fuse_ino_t ino, struct mfs_fs *fs, struct mfs_node *n,
			 size_t size, uint64_t off)
{
	uint8_t *buf = malloc(size ? size : 1);
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	got = mfs_plain_read(fs, n, (uint64_t)ino, off, size, buf);
	if (got >= 0)
		fuse_reply_buf(req, (const char *)buf, (size_t)got);
	free(buf);
	return got < 0 ? (int)got : 0;
}

static int do_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct mfs_fs *fs = fs_of(req);
	struct mfs_node *n = mfs_fs_node(fs, ino);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	if (off < 0)
		return -EINVAL;
	if (n->kind == MFS_NODE_MODEL)
		return do_read_model(req, ino, (struct mfs_cfile *)(uintptr_t)fi->fh, size,
				     (uint64_t)off);
	if (n->kind == MFS_NODE_PLAIN)
		return do_read_plain(req, ino, fs, n, size, (uint64_t)off);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = (int)fi->fh;
	bv.buf[0].pos = off;
	mfs_stat_add(&fs->stats.passthrough_bytes, size);
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
	return 0;
}

static void mfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	reply_status(req, do_read(req, ino, size, off, fi));
}

static void mfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfs_fs *fs = fs_of(req);
	struct mfs_node *n = mfs_fs_node(fs, ino);

	if (n->kind == MFS_NODE_MODEL) {
		struct mfs_cfile *cf = (struct mfs_cfile *)(uintptr_t)fi->fh;

		atomic_fetch_sub(&cf->handles, 1);
		mfs_cfile_put(cf);
		mfs_fs_closed(fs, n);
	} else
		close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void mfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	if (fstatvfs(fs_of(req)->src_fd, &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_flag |= ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes: the stats ----------------------------------- */

static int do_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct mfs_fs *fs = fs_of(req);
	struct mfs_stats_gauges g = {0};
	char buf[4096];
	size_t len;

	if (ino == FUSE_ROOT_ID && strcmp(name, MFS_OPTIONS_XATTR) == 0) {
		len = strlen(fs->options);
		if (size == 0)
			fuse_reply_xattr(req, len);
		else if (size < len)
			return -ERANGE;
		else
			fuse_reply_buf(req, fs->options, len);
		return 0;
	}
	if (ino != FUSE_ROOT_ID || strcmp(name, MFS_STATS_XATTR) != 0)
		return -ENODATA;
	mfs_fs_gauges(fs, &g);
	len = mfs_stats_json(&fs->stats, &g, buf, sizeof(buf));
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		return -ERANGE;
	else
		fuse_reply_buf(req, buf, len);
	return 0;
}

static void mfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	reply_status(req, do_getxattr(req, ino, name, size));
}

static void mfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	static const char names[] = MFS_STATS_XATTR "\0" MFS_OPTIONS_XATTR; /* with NULs */
	size_t len = ino == FUSE_ROOT_ID ? sizeof(names) : 0;

	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, names, len);
}

static void mfs_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	fuse_reply_err(req, mask & W_OK ? EROFS : 0);
}

/* ---- everything that would modify: EROFS ---------------------------------- */

static void rofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void mfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			   struct fuse_file_info *fi)
{
	rofs(req);
}

static void mfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 dev_t rdev)
{
	rofs(req);
}

static void mfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	rofs(req);
}

static void mfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	rofs(req);
}

static void mfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			   const char *name)
{
	rofs(req);
}

static void mfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	rofs(req);
}

static void mfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			const char *newname)
{
	rofs(req);
}

static void mfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	rofs(req);
}

static void mfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			  struct fuse_file_info *fi)
{
	rofs(req);
}

static void mfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			    const char *value, size_t size, int flags)
{
	rofs(req);
}

static void mfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	rofs(req);
}

static void mfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			     off_t length, struct fuse_file_info *fi)
{
	rofs(req);
}

const struct fuse_lowlevel_ops mfs_ops = {
	.init = mfs_op_init,
	.lookup = mfs_op_lookup,
	.forget = mfs_op_forget,
	.forget_multi = mfs_op_forget_multi,
	.getattr = mfs_op_getattr,
	.readlink = mfs_op_readlink,
	.opendir = mfs_op_opendir,
	.readdir = mfs_op_readdir,
	.releasedir = mfs_op_releasedir,
	.open = mfs_op_open,
	.read = mfs_op_read,
	.release = mfs_op_release,
	.statfs = mfs_op_statfs,
	.getxattr = mfs_op_getxattr,
	.listxattr = mfs_op_listxattr,
	.access = mfs_op_access,
	.setattr = mfs_op_setattr,
	.mknod = mfs_op_mknod,
	.mkdir = mfs_op_mkdir,
	.unlink = mfs_op_unlink,
	.rmdir = mfs_op_unlink,
	.symlink = mfs_op_symlink,
	.rename = mfs_op_rename,
	.link = mfs_op_link,
	.write = mfs_op_write,
	.create = mfs_op_create,
	.setxattr = mfs_op_setxattr,
	.removexattr = mfs_op_removexattr,
	.fallocate = mfs_op_fallocate,
};
