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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- memory: budgets sized from what the daemon sees (memgov.h) ---------- */

/* Applies cache budget @cache and the prefetch cap that follows from it; bytes freed. */
static uint64_t set_cache_budget(struct mfs_fs *fs, uint64_t cache)
{
	uint64_t freed = 0;

	if (fs->cache)
		freed = mfs_cache_set_budget(fs->cache, cache);
	/* Decoding ahead may use a quarter of the cache, at most 32 MiB. */
	atomic_store(&fs->prefetch_cap, cache / 4 < (32u << 20) ? cache / 4 : (32u << 20));
	return freed;
}

/*
 * References on up to 32 open containers (all, or only those with pins) into
 * @batch; the caller puts them. Taken under the list lock and dropped outside
 * it (the last put of a container takes that lock itself).
 */
static size_t hold_cfiles(struct mfs_fs *fs, struct mfs_cfile **batch, bool pinned_only)
{
	size_t n = 0;

	pthread_mutex_lock(&fs->cfiles_lock);
	for (struct mfs_cfile *cf = fs->cfiles; cf && n < 32; cf = cf->next)
		if ((!pinned_only || cf->pinned) && mfs_cfile_tryget(cf))
			batch[n++] = cf;
	pthread_mutex_unlock(&fs->cfiles_lock);
	return n;
}

/* Unpins open containers' chunks until at most @budget bytes are pinned. */
static uint64_t trim_pins(struct mfs_fs *fs, uint64_t budget)
{
	struct mfs_cfile *batch[32];
	uint64_t freed = 0, pinned;
	size_t n = hold_cfiles(fs, batch, true);

	for (size_t i = 0; i < n; i++) {
		pinned = atomic_load(&fs->pinned_bytes);
		if (pinned > budget)
			freed += mfs_cfile_unpin(batch[i], pinned - budget);
		mfs_cfile_put(batch[i]);
	}
	return freed;
}

/* Un-keeps chunks of open containers until at most @budget bytes are kept (dropbehind.h). */
static void trim_kept(struct mfs_fs *fs, uint64_t budget)
{
	struct mfs_cfile *batch[32];
	size_t n = hold_cfiles(fs, batch, false);

	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&fs->dropper.kept) > budget)
			mfs_dropper_unkeep(&fs->dropper, batch[i], budget);
		mfs_cfile_put(batch[i]);
	}
}

/* fs->options: what `modelfs stats` shows and tests check each option by. */
static void describe_options(struct mfs_fs *fs)
{
	static const char *const prefetch[] = {"off", "sequential", "plan"};
	static const char *const backing[] = {"cached", "dontneed", "direct", "remote"};
	const struct mfs_daemon_opts *o = &fs->opts;
	char cache[32], pin[32], trace[PATH_MAX];

	if (o->cache_auto)
		snprintf(cache, sizeof(cache), "auto");
	else
		snprintf(cache, sizeof(cache), "%zu", o->cache_size);
	if (o->pin_auto)
		snprintf(pin, sizeof(pin), "auto");
	else
		snprintf(pin, sizeof(pin), "%zu", o->pin_size);
	snprintf(trace, sizeof(trace), "%s", o->trace ? o->trace : "");
	mfs_sanitize(trace);
	snprintf(fs->options, sizeof(fs->options),
		 "cache_size=%s,pin_size=%s,workers=%u,max_threads=%u,prefetch=%s,drop_behind=%s,"
		 "backing=%s,kernel_readahead=%zu%s%s%s%s",
		 cache, pin, o->workers, o->max_threads, prefetch[o->prefetch % 3],
		 o->drop_behind ? "auto" : "off",
		 backing[o->backing % 4], o->kernel_readahead, *trace ? ",trace=" : "", trace,
		 o->listed ? ",pin=" : "", o->listed ? o->listed : "");
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

/* One look at memory; budgets re-derived and applied. */
static void govern(struct mfs_fs *fs)
{
	struct mfs_memview v;
	struct mfs_memgov_in in;
	struct mfs_memgov_out out;
	uint64_t cache_bytes = 0, entries, pinned = atomic_load(&fs->pinned_bytes), freed = 0;
	uint64_t old_cache, old_pin, reread, keep_was;

	mfs_memgov_read(&v, pinned);
	if (fs->cache)
		mfs_cache_usage(fs->cache, &cache_bytes, &entries);
	in.limit = v.limit;
	in.others = v.others;
	in.own_base = v.own > cache_bytes + pinned ? v.own - cache_bytes - pinned : 0;
	in.models_size = atomic_load(&fs->open_size);
	in.models_stored = atomic_load(&fs->open_stored);
	/*
	 * A reader re-reads chunks (their pages left the page cache before it
	 * came back to them): it cycles over more than fits. Evidence kept
	 * while models are open.
	 */
	reread = atomic_load(&fs->stats.reread_bytes);
	if (!in.models_size)
		fs->cycling = false;
	else if (reread - fs->reread_seen >= MFS_MEMGOV_CYCLE_BYTES)
		fs->cycling = true;
	fs->reread_seen = reread;
	in.cycling = fs->cycling;
	mfs_memgov_size(&in, &out);
	atomic_store(&fs->mem_limit, v.limit);
	atomic_store(&fs->mem_others, v.others);
	old_cache = fs->cache ? mfs_cache_budget(fs->cache) : 0;
	old_pin = atomic_load(&fs->pin_budget);
	atomic_store(&fs->mem_source, v.source);
	if (fs->opts.cache_auto && !fs->cache)
		fs->opts.cache_size = (size_t)out.cache;
	else if (fs->opts.cache_auto && out.cache != old_cache)
		freed += set_cache_budget(fs, out.cache);
	if (fs->opts.pin_auto) {
		uint64_t pin = mfs_memgov_feedback(&fs->pin_feedback,
						   atomic_load(&fs->stats.pin_reclaimed), 0,
						   atomic_load(&fs->pinned_bytes), out.pin);

		out.page_room += out.pin - pin; /* what the kernel keeps instead */
		out.pin = pin;
		atomic_store(&fs->pin_budget, out.pin);
		if (pinned > out.pin)
			freed += trim_pins(fs, out.pin);
	}
	if (!fs->opts.drop_behind) {
		out.drop_window = 0;
		out.keep = 0;
	}
	/*
	 * Refaults cut the budget in force, not what is kept yet: while the
	 * resident set grows, an eviction says the budget is too large by that
	 * much, not that it should stop where it is.
	 */
	keep_was = atomic_load(&fs->dropper.keep);
	out.keep = mfs_memgov_feedback(&fs->keep_feedback, atomic_load(&fs->stats.refault_bytes), 1,
				       keep_was ? keep_was : out.keep, out.keep);
	mfs_dropper_set_window(&fs->dropper, out.drop_window, out.keep);
	atomic_store(&fs->prefetch_cycle_only, out.cycle_only && fs->opts.drop_behind);
	if (atomic_load(&fs->dropper.kept) > out.keep)
		trim_kept(fs, out.keep);
	if (freed) {
		mfs_stat_add(&fs->stats.bytes_given_back, freed);
		if ((fs->opts.cache_auto && out.cache < old_cache) ||
		    (fs->opts.pin_auto && out.pin < old_pin))
			mfs_stat_add(&fs->stats.pressure_events, 1);
	}
}

static void *governor(void *p)
{
	struct mfs_fs *fs = p;
	struct pollfd pfd[2] = {{.fd = fs->gov_wake, .events = POLLIN},
				{.fd = fs->psi_fd, .events = POLLPRI}};

	for (;;) {
		/*
		 * The period paces what only a look can see (room to grow back,
		 * re-reads per period); a fall does not wait for it when the
		 * kernel reports pressure.
		 */
		int n = poll(pfd, fs->psi_fd >= 0 ? 2 : 1, MFS_MEMGOV_PERIOD_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && pfd[0].revents)
			break;
		if (n > 0 && fs->psi_fd >= 0 && (pfd[1].revents & (POLLERR | POLLNVAL))) {
			/* The cgroup went away (or the kernel dropped the trigger): poll. */
			mfs_log(MFS_LOG_WARN, "memory pressure: the PSI trigger is gone, polling");
			close(fs->psi_fd);
			fs->psi_fd = -1;
		} else if (n > 0 && fs->psi_fd >= 0 && (pfd[1].revents & POLLPRI)) {
			mfs_stat_add(&fs->stats.pressure_wakeups, 1);
		}
		/*
		 * SIGTERM or umount: the session loop waits for the requests in
		 * flight, and those may wait for a server that does not answer.
		 */
		if (fs->opts.remote && fuse_session_exited(fs->se) && !fs->cancelled) {
			mfs_remote_cancel(fs->opts.remote);
			fs->cancelled = true;
		}
		if (atomic_load(&fs->inval_ino))
			fuse_lowlevel_notify_inval_inode(fs->se,
							 (fuse_ino_t)atomic_exchange(&fs->inval_ino, 0),
							 0, 0);
		govern(fs);
	}
	return NULL;
}

/*
 * The governor and its wakeups: an eventfd that stops it, and a PSI trigger
 * (memgov.h) unless MODELFS_PSI=0 in the environment (to measure the
 * polling alone; see fs/README.md).
 */
static int start_governor(struct mfs_fs *fs)
{
	const char *env = getenv("MODELFS_PSI");
	int r;

	fs->gov_wake = eventfd(0, EFD_CLOEXEC);
	if (fs->gov_wake < 0)
		return -errno;
	fs->psi_fd = -1;
	fs->psi_file[0] = '\0';
	if (!(env && strcmp(env, "0") == 0)) {
		fs->psi_fd = mfs_memgov_psi_open(fs->psi_file, sizeof(fs->psi_file));
		if (fs->psi_fd < 0)
			mfs_log(MFS_LOG_DEBUG, "memory pressure: no PSI trigger (%s), polling",
				mfs_strerror(fs->psi_fd));
	}
	r = pthread_create(&fs->gov, NULL, governor, fs);
	fs->gov_started = r == 0;
	if (r) {
		if (fs->psi_fd >= 0)
			close(fs->psi_fd);
		close(fs->gov_wake);
		fs->psi_fd = fs->gov_wake = -1;
	}
	return -r;
}

static void stop_governor(struct mfs_fs *fs)
{
	uint64_t one = 1;

	if (!fs->gov_started)
		return;
	if (write(fs->gov_wake, &one, sizeof(one)) != sizeof(one))
		mfs_log(MFS_LOG_WARN, "cannot wake the memory governor: %s", mfs_strerror(-errno));
	pthread_join(fs->gov, NULL);
	close(fs->gov_wake);
	if (fs->psi_fd >= 0)
		close(fs->psi_fd);
	fs->gov_wake = fs->psi_fd = -1;
	fs->gov_started = false;
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

int mfs_daemon_run(const struct mfs_daemon_opts *o, struct mfs_err *err)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg = NULL;
	struct fuse_session *se = NULL;
	struct mfs_fs *fs;
	char *opts = NULL, *esc = NULL;
	int r, mounted = 0;

	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->opts = *o;
	fs->src_fd = -1;
	fs->trace_fd = -1;
	if (o->debug)
		fs->opts.foreground = true;
	/*
	 * O_DIRECT reads block their worker: more workers keep more reads in
	 * flight. By default the pool runs only as many at once as the reads
	 * need (pool.h): on tmpfs, or from pins, they do not block, and four
	 * decoders a core were 20% slower than one (cold read from tmpfs).
	 */
	if (!fs->opts.workers) {
		fs->opts.workers = o->backing == MFS_BACKING_DIRECT || o->remote ? 4 * mfs_cpu_count()
										: mfs_cpu_count();
		fs->pool_cores = mfs_cpu_count();
	}
	if (!fs->opts.max_threads)
		fs->opts.max_threads = MFS_MAX_THREADS_DEFAULT;
	describe_options(fs);
	pthread_mutex_init(&fs->nodes_lock, NULL);
	pthread_mutex_init(&fs->cfiles_lock, NULL);
	atomic_store(&fs->pin_budget, o->pin_auto ? 0 : o->pin_size);
	mfs_memgov_feedback_init(&fs->pin_feedback);
	mfs_memgov_feedback_init(&fs->keep_feedback);
	govern(fs); /* no cache yet: the first numbers */
	set_cache_budget(fs, fs->opts.cache_size);
	fs->table_size = 4096;
	fs->table = calloc(fs->table_size, sizeof(*fs->table));
	if (!fs->table) {
		r = -ENOMEM;
		goto out;
	}
	r = open_source(fs, o->src, err);
	if (r)
		goto out;
	if (o->trace) {
		/* Opened here, before daemonizing changes the directory. */
		struct stat st;

		/*
		 * Never through a symlink, and only a file of our own: a root
		 * daemon must not append to whatever someone planted under the
		 * name (the usual place is /tmp).
		 */
		fs->trace_fd =
		    open(o->trace,
			 O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fs->trace_fd < 0) {
			r = mfs_err_set(err, -errno, "%s: cannot open the trace file: %s", o->trace,
					errno == ELOOP ? "it is a symlink" : mfs_strerror(errno));
			goto out;
		}
		if (fstat(fs->trace_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || st.st_nlink != 1) {
			r = mfs_err_set(err, -EPERM,
					"%s: the trace file must be a regular file of ours with "
					"one link",
					o->trace);
			goto out;
		}
	}

	/*
	 * Read-only, no set-id programs or device nodes, permission checks by
	 * the kernel; the user's options come last and win.
	 */
	esc = escape_opt(o->src_name ? o->src_name : o->src);
	if (!esc || asprintf(&opts,
			     "ro,nosuid,nodev,default_permissions,fsname=modelfs:%s,"
			     "subtype=modelfs%s%s",
			     esc, o->fuse_opts && *o->fuse_opts ? "," : "",
			     o->fuse_opts ? o->fuse_opts : "") < 0) {
		opts = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (fuse_opt_add_arg(&args, "modelfs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts) || (o->debug && fuse_opt_add_arg(&args, "-d"))) {
		r = -ENOMEM;
		goto out;
	}
	se = fuse_session_new(&args, &mfs_ops, sizeof(mfs_ops), fs);
	if (!se) {
		r = mfs_err_set(err, -EINVAL, "cannot start FUSE (bad mount options: %s?)", opts);
		goto out;
	}
	if (fuse_set_signal_handlers(se)) {
		r = mfs_err_set(err, -EIO, "cannot install signal handlers");
		goto out;
	}
	if (fuse_session_mount(se, o->mnt)) {
		r = mfs_err_set(err, -EIO, "%s: cannot mount (see the message above)", o->mnt);
		goto out_signals;
	}
	mounted = 1;
	find_readahead_knob(fs, o->mnt);
	if (fuse_daemonize(fs->opts.foreground)) {
		r = mfs_err_set(err, -EIO, "cannot become a daemon");
		goto out_unmount;
	}
	mfs_log_init(!fs->opts.foreground, o->debug ? MFS_LOG_DEBUG : MFS_LOG_INFO);

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
	/* Threads only now: fuse_daemonize() forked. */
	/*
	 * An auto cache starts with the shards of its smallest size: a shard
	 * must hold a few chunks whatever the budget shrinks to.
	 */
	fs->cache = fs->opts.cache_auto ? mfs_cache_new_range(MFS_MEMGOV_CACHE_MIN,
							      MFS_MEMGOV_CACHE_MAX, &fs->stats)
					: mfs_cache_new(fs->opts.cache_size, &fs->stats);
	if (fs->cache)
		mfs_cache_set_budget(fs->cache, fs->opts.cache_size);
	fs->pool = fs->cache ? mfs_pool_new(fs->opts.workers, fs->pool_cores) : NULL;
	cfg = fuse_loop_cfg_create();
	fs->se = se;
	if (mfs_dropper_start(&fs->dropper, drop_pages, fs, &fs->stats.dropped_bytes,
			      &fs->stats.reread_bytes, &fs->stats.refault_bytes))
		mfs_log(MFS_LOG_WARN, "%s: no drop-behind (cannot start its thread)", o->mnt);
	if (fs->cache && fs->pool && cfg && start_governor(fs)) {
		mfs_log(MFS_LOG_ERR, "%s: cannot start the memory governor", o->mnt);
		r = -ENOMEM;
		goto out_unmount;
	}
	if (!fs->cache || !fs->pool || !cfg) {
		mfs_log(MFS_LOG_ERR, "%s: out of memory", o->mnt);
		r = -ENOMEM;
		goto out_unmount;
	}
	fuse_loop_cfg_set_max_threads(cfg, fs->opts.max_threads);
	mfs_log(MFS_LOG_INFO,
		"%s%s%s mounted on %s (cache %s%zu MiB, pins %s, %u workers; memory %s %" PRIu64
		" MiB, others %" PRIu64 " MiB, pressure %s%s)",
		o->src_name ? o->src_name : o->src, o->listed ? ", list " : "",
		o->listed ? o->listed : "", o->mnt, o->cache_auto ? "auto: " : "", fs->opts.cache_size >> 20,
		o->pin_auto   ? "auto"
		: o->pin_size ? "fixed"
			      : "off",
		fs->opts.workers, mem_source_name(atomic_load(&fs->mem_source)),
		atomic_load(&fs->mem_limit) >> 20, atomic_load(&fs->mem_others) >> 20,
		fs->psi_fd >= 0 ? "by PSI of " : "polled", fs->psi_fd >= 0 ? fs->psi_file : "");
	start_ready_notifier(o->mnt, o->src);
	r = fuse_session_loop_mt(se, cfg);
	if (r > 0)
		r = 0; /* the number of the signal that ended the loop: a clean exit */
	stop_governor(fs);
	mfs_dropper_stop(&fs->dropper);
	mfs_notify("STOPPING=1");
	mfs_log(MFS_LOG_INFO, "%s unmounted", o->mnt);
out_unmount:
	stop_governor(fs);
	mfs_dropper_stop(&fs->dropper);
	if (mounted)
		fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(opts);
	free(esc);
	fs_free(fs);
	return r;
}
