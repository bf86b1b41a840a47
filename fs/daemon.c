/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - set up, mount, serve, tear down (see daemon.h).
 *
 * Order matters: the session is created and mounted while the caller's
 * terminal can still see errors; then the process daemonizes (a fork: no
 * threads may exist before it), and only then are the worker pool and the
 * FUSE threads started. SIGINT, SIGTERM and SIGHUP end the loop, after which
 * the mount is taken down and everything freed.
 */
#include "fs_i.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "memgov.h"
#include "notify.h"
#include "remote.h"

static int open_source(struct mfs_fs *fs, const char *src, struct mfs_err *err)
{
	struct stat st;
	char *copy;

	if (stat(src, &st) < 0)
		return mfs_err_set(err, -errno, "%s: %s", src, mfs_strerror(errno));
	if (S_ISREG(st.st_mode)) {
		size_t n = strlen(src);
		char *base;

		if (n <= 4 || strcmp(src + n - 4, ".mfs") != 0)
			return mfs_err_set(err, -EINVAL,
					   "%s: a single file to mount must be a .mfs container",
					   src);
		copy = strdup(src);
		if (!copy)
			return -ENOMEM;
		base = basename(copy);
		fs->single = strdup(base);
		fs->src_fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(copy);
		if (!fs->single)
			return -ENOMEM;
	} else if (S_ISDIR(st.st_mode)) {
		fs->src_fd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		return mfs_err_set(err, -EINVAL, "%s: not a directory or a .mfs file", src);
	}
	if (fs->src_fd < 0)
		return mfs_err_set(err, -errno, "%s: %s", src, mfs_strerror(errno));
	if (fstat(fs->src_fd, &st) < 0)
		return mfs_err_set(err, -errno, "%s: %s", src, mfs_strerror(errno));
	fs->root.kind = MFS_NODE_DIR;
	fs->root.fd = fs->src_fd;
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.nlookup = 1;
	fs->root.path = strdup("");
	pthread_mutex_init(&fs->root.lock, NULL);
	pthread_mutex_init(&fs->root.where_lock, NULL);
	return fs->root.path ? 0 : -ENOMEM;
}

/*
 * The kernel offers a FUSE mount the default readahead (128 KiB) and the
 * daemon may only lower it at INIT; with 1 MiB the kernel asks for data in
 * 1 MiB requests, a quarter of the wakeups and round trips per byte (cold
 * sequential reads measured 24% faster). The window is a property of the
 * mount's backing device, settable in sysfs by root - but only once the
 * kernel has applied our INIT reply, which would lower it again; so here we
 * only find the sysfs file, and mfs_fs_apply_readahead() writes it on the
 * first open. The device number comes from /proc/self/mountinfo: stat() on
 * the mount point would wait for this very daemon to answer.
 */
static void find_readahead_knob(struct mfs_fs *fs, const char *mnt)
{
	char real[PATH_MAX], line[4096], point[PATH_MAX];
	unsigned int major = 0, minor = 0, mj, mn;
	FILE *f;

	if (!fs->opts.kernel_readahead || !realpath(mnt, real))
		return;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		/* "36 25 0:40 / /mnt/point rw,... - fuse.modelfs ..." (the last match is ours) */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &mj, &mn, point) == 3 &&
		    strcmp(point, real) == 0 && strstr(line, " - fuse.modelfs ")) {
			major = mj;
			minor = mn;
		}
	}
	fclose(f);
	if (major || minor)
		snprintf(fs->readahead_knob, sizeof(fs->readahead_knob),
			 "/sys/class/bdi/%u:%u/read_ahead_kb", major, minor);
}

/*
 * The window for the next open: kernel_readahead, but the kernel's own 128
 * KiB while the open models take more than a quarter of the memory left
 * beside everything else and a quarter of them is weights llama.cpp repacks
 * into its own memory (Q4_0, Q4_K: @repacked bytes). There it faults the
 * mapping in a page here and there every token (the weights it did not
 * repack), and each fault reads the window around it: 1 MiB pulls in
 * neighbouring repacked tensors it never uses again and pushes out the pages
 * it does (Q4_K_M beside llama.cpp in 176 MiB: 0.74 s per token with 1 MiB,
 * 0.32 with 128 KiB). Where every tensor is read (Q8_0), the neighbours are
 * needed and the wide window is faster (Q8_0 in 240 MiB: 16 against 23 ms
 * a token, 3 runs each). The kernel takes a file's window when it is
 * opened, after the open's reply: so this is decided per open.
 */
void mfs_fs_apply_readahead(struct mfs_fs *fs, uint64_t models, uint64_t repacked)
{
	uint64_t limit = atomic_load(&fs->mem_limit), others = atomic_load(&fs->mem_others);
	uint64_t left = limit > others ? limit - others : 0;
	size_t want = fs->opts.kernel_readahead;
	int fd;

	if (!want || !fs->readahead_knob[0])
		return;
	if (models && left / MFS_READAHEAD_ROOM < models && repacked > models / 4 &&
	    want > MFS_READAHEAD_TIGHT)
		want = MFS_READAHEAD_TIGHT;
	if (atomic_exchange(&fs->readahead_now, want) == want)
		return;
	fd = open(fs->readahead_knob, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dprintf(fd, "%zu\n", want >> 10) < 0)
		mfs_log(MFS_LOG_INFO, "%s: cannot set the readahead window (%s); keeping the "
			"kernel's", fs->opts.mnt, mfs_strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * @s as one value in a -o list: libfuse splits options at commas and takes
 * a backslash as an escape, so a source path naming ",allow_other" stays
 * part of fsname. Returns a malloc'd copy, or NULL.
 */
static char *escape_opt(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *d = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*d++ = '\\';
		*d++ = *s;
	}
	*d = '\0';
	return out;
}

/*
 * Every looked-up file holds a descriptor while the kernel remembers it, so
 * `ls -l` on a big directory needs as many as it has files: the soft limit
 * (often 1024) is raised to the hard one. Under the systemd unit, which
 * filters setrlimit, LimitNOFILE= does it instead.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			mfs_log(MFS_LOG_INFO, "cannot raise the open file limit (%s)",
				mfs_strerror(errno));
	}
}

/*
 * Handles the kernel never released (the session ended with readers still
 * holding files: SIGTERM, umount -f): their references go now.
 */
static void put_handles(struct mfs_fs *fs)
{
	for (;;) {
		struct mfs_cfile *cf = NULL;
		unsigned int n = 0;

		pthread_mutex_lock(&fs->cfiles_lock);
		for (struct mfs_cfile *c = fs->cfiles; c && !cf; c = c->next)
			if ((n = atomic_exchange(&c->handles, 0)))
				cf = c;
		pthread_mutex_unlock(&fs->cfiles_lock);
		if (!cf)
			return;
		while (n--)
			mfs_cfile_put(cf);
	}
}

static void fs_free(struct mfs_fs *fs)
{
	/*
	 * The kernel need not forget its nodes before unmount; free what it did
	 * not. Every node goes, so none may forget its directory on the way
	 * (that one may be gone already).
	 */
	put_handles(fs);
	for (size_t i = 0; fs->table && i < fs->table_size; i++)
		for (struct mfs_node *n = fs->table[i]; n; n = n->hnext)
			n->parent = NULL;
	for (size_t i = 0; fs->table && i < fs->table_size; i++) {
		while (fs->table[i]) {
			struct mfs_node *n = fs->table[i];

			n->nlookup = 1;
			mfs_fs_forget(fs, n, 1);
		}
	}
	mfs_pool_free(fs->pool); /* runs queued jobs, which release their files */
	mfs_cache_free(fs->cache);
	mfs_remote_free(fs->opts.remote);
	mfs_log_warn_once_reset();
	free(fs->table);
	free(fs->root.path);
	free(fs->single);
	if (fs->src_fd >= 0)
		close(fs->src_fd);
	if (fs->trace_fd >= 0)
		close(fs->trace_fd);
	pthread_mutex_destroy(&fs->nodes_lock);
	pthread_mutex_destroy(&fs->cfiles_lock);
	free(fs);
}

/* fs->options: what `modelfs stats` shows and tests check each option by. */
static void describe_options(struct mfs_fs *fs)
{
	mfs_options_describe(&fs->opts, fs->workers, fs->max_threads, fs->options,
			     sizeof(fs->options));
	mfs_sanitize(fs->options); /* trace= may be any name */
}

static const char *mem_source_name(int source)
{
	return source == MFS_MEM_CGROUP1   ? "cgroup v1"
	       : source == MFS_MEM_CGROUP2 ? "cgroup v2"
					   : "machine";
}

/* dropbehind.h's mfs_drop_fn: the kernel drops those pages of the file. */
static int drop_pages(void *arg, uint64_t ino, uint64_t off, uint64_t len)
{
	struct mfs_fs *fs = arg;

	return fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)ino, (off_t)off, (off_t)len);
}

/*
 * Under systemd (Type=notify): READY=1 once the mount answers, which needs
 * the session loop running. This thread stat()s the mount point - a request
 * only the loop can answer - and then notifies.
 */
struct ready_arg {
	char *mnt, *src;
};

static void *notify_when_ready(void *p)
{
	struct ready_arg *a = p;
	struct timespec pause = {0, 10 * 1000 * 1000};
	char msg[PATH_MAX + 64];
	struct stat st;
	int r;

	for (int i = 0; i < 3000 && stat(a->mnt, &st) < 0; i++) /* up to 30 s */
		nanosleep(&pause, NULL);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %s", a->src);
	r = mfs_notify(msg);
	if (r)
		mfs_log(MFS_LOG_WARN, "cannot notify systemd: %s", mfs_strerror(r));
	free(a->mnt);
	free(a->src);
	free(a);
	return NULL;
}

static void start_ready_notifier(const char *mnt, const char *src)
{
	struct ready_arg *a;
	pthread_t t;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	a = calloc(1, sizeof(*a));
	if (a && (a->mnt = strdup(mnt)) && (a->src = strdup(src)) &&
	    !pthread_create(&t, NULL, notify_when_ready, a)) {
		pthread_detach(t);
		return;
	}
	if (a) {
		free(a->mnt);
		free(a->src);
	}
	free(a);
	mfs_log(MFS_LOG_WARN, "cannot notify systemd: out of memory");
}

/* What mounting made, for teardown() to undo in reverse. */
struct session {
	struct fuse_args args;
	char *opts, *esc;
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	bool signals, mounted;
};

/*
 * The trace file, opened before daemonizing changes the directory. Never
 * through a symlink, and only a file of our own: a root daemon must not
 * append to whatever someone planted under the name (the usual place is
 * /tmp).
 */
static int open_trace(struct mfs_fs *fs, const char *trace, struct mfs_err *err)
{
	struct stat st;

	fs->trace_fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
	if (fs->trace_fd < 0)
		return mfs_err_set(err, -errno, "%s: cannot open the trace file: %s", trace,
				   errno == ELOOP ? "it is a symlink" : mfs_strerror(errno));
	if (fstat(fs->trace_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1)
		return mfs_err_set(err, -EPERM,
				   "%s: the trace file must be a regular file of ours with one link",
				   trace);
	return 0;
}

/* The daemon's state for @o, its source opened: nothing mounted, no thread yet. */
static int setup(const struct mfs_daemon_opts *o, struct mfs_fs **out, struct mfs_err *err)
{
	struct mfs_fs *fs = calloc(1, sizeof(*fs));
	int r;

	*out = fs;
	if (!fs)
		return -ENOMEM;
	fs->opts = *o;
	fs->src_fd = -1;
	fs->trace_fd = -1;
	/*
	 * O_DIRECT reads block their worker: more workers keep more reads in
	 * flight. By default the pool runs only as many at once as the reads
	 * need (pool.h): on tmpfs, or from pins, they do not block, and four
	 * decoders a core were 20% slower than one (cold read from tmpfs).
	 */
	fs->workers = o->workers;
	if (!fs->workers) {
		fs->workers = o->backing == MFS_BACKING_DIRECT || o->remote ? 4 * mfs_cpu_count()
									    : mfs_cpu_count();
		fs->pool_cores = mfs_cpu_count();
	}
	fs->max_threads = o->max_threads ? o->max_threads : MFS_MAX_THREADS_DEFAULT;
	fs->cache_start = o->cache_size;
	describe_options(fs);
	pthread_mutex_init(&fs->nodes_lock, NULL);
	pthread_mutex_init(&fs->cfiles_lock, NULL);
	atomic_store(&fs->pin_budget, o->pin_auto ? 0 : o->pin_size);
	mfs_memgov_feedback_init(&fs->pin_feedback);
	mfs_memgov_feedback_init(&fs->keep_feedback);
	mfs_governor_look(fs); /* no cache yet: the first numbers */
	mfs_governor_set_cache(fs, fs->cache_start);
	fs->table_size = 4096;
	fs->table = calloc(fs->table_size, sizeof(*fs->table));
	if (!fs->table)
		return -ENOMEM;
	r = open_source(fs, o->src, err);
	if (!r && o->trace)
		r = open_trace(fs, o->trace, err);
	return r;
}

/*
 * A FUSE session mounted at o->mnt, the process daemonized unless in the
 * foreground. Read-only, no set-id programs or device nodes, permission
 * checks by the kernel; the user's options come last and win.
 */
static int mount_session(struct mfs_fs *fs, struct session *s, struct mfs_err *err)
{
	const struct mfs_daemon_opts *o = &fs->opts;

	s->esc = escape_opt(o->src_name ? o->src_name : o->src);
	if (!s->esc || asprintf(&s->opts,
				"ro,nosuid,nodev,default_permissions,fsname=modelfs:%s,"
				"subtype=modelfs%s%s",
				s->esc, o->fuse_opts && *o->fuse_opts ? "," : "",
				o->fuse_opts ? o->fuse_opts : "") < 0) {
		s->opts = NULL;
		return -ENOMEM;
	}
	if (fuse_opt_add_arg(&s->args, "modelfs") || fuse_opt_add_arg(&s->args, "-o") ||
	    fuse_opt_add_arg(&s->args, s->opts) || (o->debug && fuse_opt_add_arg(&s->args, "-d")))
		return -ENOMEM;
	s->se = fuse_session_new(&s->args, &mfs_ops, sizeof(mfs_ops), fs);
	if (!s->se)
		return mfs_err_set(err, -EINVAL, "cannot start FUSE (bad mount options: %s?)", s->opts);
	if (fuse_set_signal_handlers(s->se))
		return mfs_err_set(err, -EIO, "cannot install signal handlers");
	s->signals = true;
	if (fuse_session_mount(s->se, o->mnt))
		return mfs_err_set(err, -EIO, "%s: cannot mount (see the message above)", o->mnt);
	s->mounted = true;
	find_readahead_knob(fs, o->mnt);
	if (fuse_daemonize(o->foreground || o->debug))
		return mfs_err_set(err, -EIO, "cannot become a daemon");
	mfs_log_init(!(o->foreground || o->debug), o->debug ? MFS_LOG_DEBUG : MFS_LOG_INFO);
	return 0;
}

/* Threads started (only now: fuse_daemonize() forked), requests served until unmounted. */
static int serve(struct mfs_fs *fs, struct session *s)
{
	const struct mfs_daemon_opts *o = &fs->opts;
	int r;

	/*
	 * Keep resident memory near cache_size: buffers of 64 KiB and more are
	 * mmap()ed and go back to the system when freed (glibc otherwise raises
	 * its mmap threshold after the first free and keeps chunk buffers in
	 * per-thread arenas), and few arenas. Measured on a 32 MiB cache: peak
	 * RSS 52 MB before, 38 MB after.
	 */
	raise_nofile();
	mallopt(M_MMAP_THRESHOLD, 64 << 10);
	mallopt(M_ARENA_MAX, 2);
	/*
	 * An auto cache starts with the shards of its smallest size: a shard
	 * must hold a few chunks whatever the budget shrinks to.
	 */
	fs->cache = o->cache_auto ? mfs_cache_new_range(MFS_MEMGOV_CACHE_MIN, MFS_MEMGOV_CACHE_MAX,
							&fs->stats)
				  : mfs_cache_new(fs->cache_start, &fs->stats);
	if (fs->cache)
		mfs_cache_set_budget(fs->cache, fs->cache_start);
	fs->pool = fs->cache ? mfs_pool_new(fs->workers, fs->pool_cores) : NULL;
	s->cfg = fuse_loop_cfg_create();
	fs->se = s->se;
	if (!fs->cache || !fs->pool || !s->cfg) {
		mfs_log(MFS_LOG_ERR, "%s: out of memory", o->mnt);
		return -ENOMEM;
	}
	if (mfs_dropper_start(&fs->dropper, drop_pages, fs, &fs->stats.dropped_bytes,
			      &fs->stats.reread_bytes, &fs->stats.refault_bytes))
		mfs_log(MFS_LOG_WARN, "%s: no drop-behind (cannot start its thread)", o->mnt);
	if (mfs_governor_start(fs)) {
		mfs_log(MFS_LOG_ERR, "%s: cannot start the memory governor", o->mnt);
		return -ENOMEM;
	}
	fuse_loop_cfg_set_max_threads(s->cfg, fs->max_threads);
	mfs_log(MFS_LOG_INFO,
		"%s%s%s mounted on %s (cache %s%" PRIu64 " MiB, pins %s, %u workers; memory %s %" PRIu64
		" MiB, others %" PRIu64 " MiB, pressure %s%s)",
		o->src_name ? o->src_name : o->src, o->listed ? ", list " : "",
		o->listed ? o->listed : "", o->mnt, o->cache_auto ? "auto: " : "", fs->cache_start >> 20,
		o->pin_auto   ? "auto"
		: o->pin_size ? "fixed"
			      : "off",
		fs->workers, mem_source_name(atomic_load(&fs->mem_source)),
		atomic_load(&fs->mem_limit) >> 20, atomic_load(&fs->mem_others) >> 20,
		fs->psi_fd >= 0 ? "by PSI of " : "polled", fs->psi_fd >= 0 ? fs->psi_file : "");
	start_ready_notifier(o->mnt, o->src);
	r = fuse_session_loop_mt(s->se, s->cfg);
	mfs_notify("STOPPING=1");
	mfs_log(MFS_LOG_INFO, "%s unmounted", o->mnt);
	return r > 0 ? 0 : r; /* > 0: the number of the signal that ended the loop, a clean exit */
}

/* Threads stopped, the mount taken down, everything freed; in reverse of the above. */
static void teardown(struct mfs_fs *fs, struct session *s)
{
	if (fs) {
		mfs_governor_stop(fs);
		mfs_dropper_stop(&fs->dropper);
	}
	if (s->mounted)
		fuse_session_unmount(s->se);
	if (s->signals)
		fuse_remove_signal_handlers(s->se);
	if (s->cfg)
		fuse_loop_cfg_destroy(s->cfg);
	if (s->se)
		fuse_session_destroy(s->se);
	fuse_opt_free_args(&s->args);
	free(s->opts);
	free(s->esc);
	if (fs)
		fs_free(fs);
}

int mfs_daemon_run(const struct mfs_daemon_opts *o, struct mfs_err *err)
{
	struct session s = {.args = FUSE_ARGS_INIT(0, NULL)};
	struct mfs_fs *fs;
	int r;

	r = setup(o, &fs, err);
	if (!r)
		r = mount_session(fs, &s, err);
	if (!r)
		r = serve(fs, &s);
	teardown(fs, &s);
	return r;
}
