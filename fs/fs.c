/* SPDX-License-Identifier: MIT */
/*
 * fs.c - nodes and the directory view of the mount.
 *
 * The view is computed from the source directory on every lookup and
 * readdir, so files added later appear without a remount:
 * - a regular file X.mfs is shown as X, with the original's size, mode and
 *   mtime from its header, and hides a plain X next to it (warned once);
 * - other regular files, directories and symlinks are shown as they are;
 *   symlinks are never followed by the daemon (O_NOFOLLOW everywhere), the
 *   kernel resolves them inside the mount;
 * - devices, FIFOs and sockets are not shown, so the mount cannot become a
 *   way to reach them with the daemon's rights.
 *
 * Nodes are keyed by the source object's (dev, ino): two names for one file
 * are one node, as in the source.
 */
#include "fs_i.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "remote.h"

#define MFS_SUFFIX ".mfs"
#define MFS_SUFFIX_LEN 4

static size_t slot(struct mfs_fs *fs, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;

	h ^= h >> 29;
	return (size_t)(h * 0xbf58476d1ce4e5b9ull >> 17) & (fs->table_size - 1);
}

struct mfs_node *mfs_fs_node(struct mfs_fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct mfs_node *)(uintptr_t)ino;
}

static bool ends_with_mfs(const char *name, size_t n)
{
	return n > MFS_SUFFIX_LEN && strcmp(name + n - MFS_SUFFIX_LEN, MFS_SUFFIX) == 0;
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* Reads and checks a container's header from @fd; logs why not. */
static int read_header(int fd, struct mfs_header_info *h, const char *path)
{
	struct mfs_err err = {{0}};
	struct mfs_src src;
	int r = mfs_src_init_fd(&src, fd, &err);

	if (!r)
		r = mfs_archive_read_header(&src, h, &err);
	if (r) {
		mfs_log(MFS_LOG_ERR, "%s: %s", path, mfs_err_msg(&err, r));
		return -EIO;
	}
	return 0;
}

/*
 * Finds the node for @st or adds one; bumps nlookup. A directory's node takes
 * over @fd; any other is found as @name in @dir (its last name: another link
 * to the same file may have been removed since).
 */
static struct mfs_node *node_get(struct mfs_fs *fs, const struct stat *st, int kind, int fd,
				 char *path, const struct mfs_header_info *hdr,
				 const struct mfs_remote_plain *plain, struct mfs_node *dir,
				 const char *name)
{
	struct mfs_node *n, *old_parent = NULL;
	char *dup = kind == MFS_NODE_DIR ? NULL : strdup(name), *old_name = NULL;
	size_t s;

	if (kind != MFS_NODE_DIR && !dup)
		return NULL;
	pthread_mutex_lock(&fs->nodes_lock);
	s = slot(fs, st->st_dev, st->st_ino);
	for (n = fs->table[s]; n; n = n->hnext) {
		if (n->dev == st->st_dev && n->ino == st->st_ino && n->kind == kind) {
			n->nlookup++;
			if (dup && (n->parent != dir || strcmp(n->name, dup) != 0)) {
				pthread_mutex_lock(&n->where_lock);
				old_parent = n->parent;
				old_name = n->name;
				n->parent = dir;
				n->name = dup;
				dup = NULL;
				dir->nlookup++;
				pthread_mutex_unlock(&n->where_lock);
			}
			pthread_mutex_unlock(&fs->nodes_lock);
			if (old_parent)
				mfs_fs_forget(fs, old_parent, 1);
			free(old_name);
			free(dup);
			if (fd >= 0)
				close(fd);
			free(path);
			return n;
		}
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&fs->nodes_lock);
		free(dup);
		return NULL;
	}
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->kind = kind;
	n->fd = fd;
	n->path = path;
	n->plain = plain;
	n->nlookup = 1;
	if (dup) {
		n->parent = dir;
		n->name = dup;
		dir->nlookup++;
	}
	if (hdr)
		n->hdr = *hdr;
	n->seen_ctime = st->st_ctim;
	n->seen_size = st->st_size;
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->where_lock, NULL);
	n->hnext = fs->table[s];
	fs->table[s] = n;
	fs->nnodes++;
	pthread_mutex_unlock(&fs->nodes_lock);
	return n;
}

int mfs_fs_node_open(struct mfs_node *n, int flags)
{
	struct stat st;
	int fd;

	pthread_mutex_lock(&n->where_lock);
	if (flags & O_PATH) {
		fd = openat(n->parent->fd, n->name, flags | O_NOFOLLOW | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
	} else {
		fd = mfs_open_regular(n->parent->fd, n->name, flags | O_NOFOLLOW, NULL);
	}
	pthread_mutex_unlock(&n->where_lock);
	/* Gone, or now a link or no regular file (-EINVAL): another object's name now. */
	if (fd == -ENOENT || fd == -ELOOP || fd == -EINVAL || fd == -ENOTDIR)
		return -ESTALE;
	if (fd < 0)
		return fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != n->dev ||
	    st.st_ino != n->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Takes @n out of fs->idle; nodes_lock held. */
static void idle_remove(struct mfs_fs *fs, struct mfs_node *n)
{
	for (unsigned int i = 0; i < fs->nidle; i++) {
		if (fs->idle[i] == n) {
			memmove(&fs->idle[i], &fs->idle[i + 1], (fs->nidle - i - 1) * sizeof(n));
			fs->nidle--;
			break;
		}
	}
	n->idle_queued = false;
}

void mfs_fs_opened(struct mfs_node *n)
{
	n->opens++;
}

void mfs_fs_closed(struct mfs_fs *fs, struct mfs_node *n)
{
	struct mfs_cfile *drop = NULL;
	bool idle;

	pthread_mutex_lock(&n->lock);
	idle = --n->opens == 0;
	pthread_mutex_unlock(&n->lock);
	if (!idle)
		return;
	/* Most recently closed last; the oldest beyond the limit lets go of its container. */
	pthread_mutex_lock(&fs->nodes_lock);
	if (n->idle_queued)
		idle_remove(fs, n);
	if (fs->nidle == MFS_IDLE_CFILES) {
		struct mfs_node *old = fs->idle[0];

		idle_remove(fs, old);
		pthread_mutex_lock(&old->lock);
		if (old->opens == 0) {
			drop = old->cf;
			old->cf = NULL;
		}
		pthread_mutex_unlock(&old->lock);
	}
	fs->idle[fs->nidle++] = n;
	n->idle_queued = true;
	pthread_mutex_unlock(&fs->nodes_lock);
	if (drop)
		mfs_cfile_put(drop);
}

void mfs_fs_forget(struct mfs_fs *fs, struct mfs_node *n, uint64_t nlookup)
{
	struct mfs_node **pp;

	if (n == &fs->root)
		return;
	pthread_mutex_lock(&fs->nodes_lock);
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	if (n->nlookup) {
		pthread_mutex_unlock(&fs->nodes_lock);
		return;
	}
	for (pp = &fs->table[slot(fs, n->dev, n->ino)]; *pp != n; pp = &(*pp)->hnext)
		;
	*pp = n->hnext;
	fs->nnodes--;
	if (n->idle_queued)
		idle_remove(fs, n);
	pthread_mutex_unlock(&fs->nodes_lock);

	if (n->cf)
		mfs_cfile_put(n->cf);
	if (n->fd >= 0)
		close(n->fd);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->where_lock);
	free(n->path);
	free(n->name);
	if (n->parent)
		mfs_fs_forget(fs, n->parent, 1); /* the directory it was found in */
	free(n);
}

/* mfs_fs_refresh() with the container's stat already taken. */
static int refresh(struct mfs_node *n, const struct stat *st)
{
	struct mfs_header_info hdr;

	int fd, r;

	if (st->st_size == n->seen_size && st->st_ctim.tv_sec == n->seen_ctime.tv_sec &&
	    st->st_ctim.tv_nsec == n->seen_ctime.tv_nsec)
		return 0;
	fd = mfs_fs_node_open(n, O_RDONLY);
	if (fd < 0)
		return fd;
	r = read_header(fd, &hdr, n->path);
	close(fd);
	if (r)
		return -EIO;
	n->hdr = hdr;
	n->seen_ctime = st->st_ctim;
	n->seen_size = st->st_size;
	if (n->cf) {
		n->changed = true;
		mfs_log(MFS_LOG_INFO, "%s: rewritten in place; new opens read the new container",
			n->path);
	}
	return 0;
}

/* The source object of @n, checked to be still the node's. */
static int node_stat(struct mfs_node *n, struct stat *st)
{
	int r = 0;

	if (n->fd >= 0)
		return fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	pthread_mutex_lock(&n->where_lock);
	if (fstatat(n->parent->fd, n->name, st, AT_SYMLINK_NOFOLLOW) < 0)
		r = errno == ENOENT ? -ESTALE : -errno;
	else if (st->st_dev != n->dev || st->st_ino != n->ino)
		r = -ESTALE;
	pthread_mutex_unlock(&n->where_lock);
	return r;
}

int mfs_fs_refresh(struct mfs_node *n)
{
	struct stat st;
	int r = node_stat(n, &st);

	return r ? r : refresh(n, &st);
}

int mfs_fs_stat(struct mfs_fs *fs, struct mfs_node *n, struct stat *st)
{
	int r = node_stat(n, st);

	if (r)
		return r;
	if (n->kind == MFS_NODE_MODEL) {
		pthread_mutex_lock(&n->lock); /* a refresh rewrites n->hdr */
		r = refresh(n, st);
		if (r) {
			pthread_mutex_unlock(&n->lock);
			return r;
		}
		/*
		 * The original's identity; the container's disk use, owner and
		 * times. Its permissions are the original's within the
		 * container's: a container the administrator made 0600 stays
		 * private, and no container grants set-id or sticky bits. A
		 * remote source's skeleton is the store's, private (0600): the
		 * original's permissions alone.
		 */
		st->st_mode = S_IFREG | ((mode_t)n->hdr.mode & 0777 &
					 (fs->opts.remote ? 0777 : st->st_mode));
		st->st_size = (off_t)n->hdr.original_size;
		st->st_mtim.tv_sec = n->hdr.mtime_sec;
		st->st_mtim.tv_nsec = n->hdr.mtime_nsec;
		st->st_nlink = 1;
		st->st_blksize = MFS_BLKSIZE;
		pthread_mutex_unlock(&n->lock);
	} else if (fs->opts.remote) {
		/*
		 * A remote source's skeletons live in the store, private to the
		 * daemon (0700, 0600): what the mount shows is its own, read-only.
		 */
		st->st_mode = (st->st_mode & S_IFMT) | (S_ISDIR(st->st_mode) ? 0555 : 0444);
	}
	return 0;
}

int mfs_fs_lookup(struct mfs_fs *fs, struct mfs_node *dir, const char *name,
		  struct fuse_entry_param *e)
{
	struct mfs_header_info hdr, *hdrp = NULL;
	char mfsname[NAME_MAX + 1];
	size_t n = strlen(name);
	struct mfs_node *node;
	struct stat st, plain;
	const struct mfs_remote_plain *rplain = NULL;
	int kind = -1, fd, r;
	char *path;

	if (dir->kind != MFS_NODE_DIR)
		return -ENOTDIR;
	if (fs->single && dir == &fs->root &&
	    (n + MFS_SUFFIX_LEN != strlen(fs->single) || strncmp(fs->single, name, n) != 0))
		return -ENOENT;

	/* A container X.mfs is what the name X means. */
	if (n + MFS_SUFFIX_LEN <= NAME_MAX) {
		memcpy(mfsname, name, n);
		memcpy(mfsname + n, MFS_SUFFIX, MFS_SUFFIX_LEN + 1);
		if (fstatat(dir->fd, mfsname, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			kind = MFS_NODE_MODEL;
	}
	if (kind == MFS_NODE_MODEL) {
		path = join(dir->path, mfsname);
		if (!path)
			return -ENOMEM;
		if (fstatat(dir->fd, name, &plain, AT_SYMLINK_NOFOLLOW) == 0)
			mfs_log_warn_once(path, "shown instead of the plain file next to it");
		/* Whatever is under the name now: a FIFO swapped in must not block us. */
		fd = mfs_open_regular(dir->fd, mfsname, O_NOFOLLOW, NULL);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = fd == -EINVAL ? -ENOENT : fd < 0 ? fd : -errno;
			goto fail;
		}
		r = read_header(fd, &hdr, path);
		if (r)
			goto fail;
		hdrp = &hdr;
		close(fd);
		fd = -1;
		name = mfsname;
	} else {
		/* A container is never shown under its own name. */
		if (ends_with_mfs(name, n) &&
		    fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			return -ENOENT;
		if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			kind = MFS_NODE_DIR;
		else if (S_ISREG(st.st_mode))
			kind = MFS_NODE_REG;
		else if (S_ISLNK(st.st_mode))
			kind = MFS_NODE_LNK;
		else
			return -ENOENT;
		path = join(dir->path, name);
		if (!path)
			return -ENOMEM;
		/* A remote source's plain file: its skeleton stands for it (plain.c reads it). */
		if (kind == MFS_NODE_REG && fs->opts.remote &&
		    (rplain = mfs_remote_plain(fs->opts.remote, path)))
			kind = MFS_NODE_PLAIN;
		/* Only a directory keeps a descriptor (see fs_i.h). */
		fd = kind == MFS_NODE_DIR ? openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
					  : -1;
		if (kind == MFS_NODE_DIR &&
		    (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(st.st_mode))) {
			r = fd < 0 ? -errno : -ENOENT;
			goto fail;
		}
	}
	node = node_get(fs, &st, kind, fd, path, hdrp, rplain, dir, name);
	if (!node) {
		r = -ENOMEM;
		goto fail;
	}
	memset(e, 0, sizeof(*e));
	r = mfs_fs_stat(fs, node, &e->attr);
	if (r) {
		mfs_fs_forget(fs, node, 1);
		return r;
	}
	e->ino = (fuse_ino_t)(uintptr_t)node;
	e->attr_timeout = MFS_ATTR_TIMEOUT;
	e->entry_timeout = MFS_ATTR_TIMEOUT;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

const char *mfs_fs_shown_name(struct mfs_fs *fs, struct mfs_node *dir, const char *d_name,
			      unsigned char d_type, char *buf, size_t len)
{
	size_t n = strlen(d_name);
	struct stat st;

	if (strcmp(d_name, ".") == 0 || strcmp(d_name, "..") == 0)
		return d_name;
	if (fs->single && dir == &fs->root && strcmp(d_name, fs->single) != 0)
		return NULL;
	if (d_type == DT_UNKNOWN) {
		if (fstatat(dir->fd, d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return NULL;
		d_type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR
						: S_ISLNK(st.st_mode) ? DT_LNK
								      : DT_UNKNOWN;
	}
	if (d_type != DT_REG && d_type != DT_DIR && d_type != DT_LNK)
		return NULL;
	if (d_type == DT_REG && ends_with_mfs(d_name, n)) {
		if (n - MFS_SUFFIX_LEN >= len)
			return NULL;
		memcpy(buf, d_name, n - MFS_SUFFIX_LEN);
		buf[n - MFS_SUFFIX_LEN] = '\0';
		return buf;
	}
	/* X is hidden when X.mfs is there: the container is what X means. */
	if (n + MFS_SUFFIX_LEN < len) {
		memcpy(buf, d_name, n);
		memcpy(buf + n, MFS_SUFFIX, MFS_SUFFIX_LEN + 1);
		if (fstatat(dir->fd, buf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			return NULL;
	}
	return d_name;
}
