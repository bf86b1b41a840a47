/* SPDX-License-Identifier: MIT */
/*
 * governor.c - the memory governor: one thread that looks at memory every
 * MFS_MEMGOV_PERIOD_MS and when a PSI trigger reports stalls (memgov.h),
 * re-derives the budgets (memgov.c's arithmetic), and applies them - the
 * cache's, the pins', the drop-behind window and the resident set - freeing
 * at once what is over them. It also tells a remote source when the session
 * has ended and asks the kernel to drop the pages of a plain remote file
 * found not its digest (both need a thread that is not a FUSE thread).
 */
#include "fs_i.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "memgov.h"
#include "remote.h"

/* Applies cache budget @cache and the prefetch cap that follows from it; bytes freed. */
uint64_t mfs_governor_set_cache(struct mfs_fs *fs, uint64_t cache)
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

/*
 * One look at memory; budgets re-derived and applied. A @wakeup (a PSI
 * trigger, between periods) only lowers them and advances nothing counted
 * in periods (the evidence of a cycle, the feedbacks' calm stretches): the
 * policy's timing stays the period's, the fall does not wait for it.
 */
static void look(struct mfs_fs *fs, bool wakeup)
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
	if (wakeup)
		;
	else if (!in.models_size)
		fs->cycling = false;
	else if (reread - fs->reread_seen >= MFS_MEMGOV_CYCLE_BYTES)
		fs->cycling = true;
	if (!wakeup)
		fs->reread_seen = reread;
	in.cycling = fs->cycling;
	mfs_memgov_size(&in, &out);
	atomic_store(&fs->mem_limit, v.limit);
	atomic_store(&fs->mem_others, v.others);
	old_cache = fs->cache ? mfs_cache_budget(fs->cache) : 0;
	old_pin = atomic_load(&fs->pin_budget);
	atomic_store(&fs->mem_source, v.source);
	if (fs->opts.cache_auto && !fs->cache)
		fs->cache_start = out.cache;
	else if (fs->opts.cache_auto && (wakeup ? out.cache < old_cache : out.cache != old_cache))
		freed += mfs_governor_set_cache(fs, out.cache);
	if (fs->opts.pin_auto) {
		uint64_t pin = wakeup ? mfs_memgov_feedback_cap(&fs->pin_feedback, out.pin)
				      : mfs_memgov_feedback(&fs->pin_feedback,
							    atomic_load(&fs->stats.pin_reclaimed), 0,
							    atomic_load(&fs->pinned_bytes), out.pin);

		if (wakeup && pin > old_pin)
			pin = old_pin;

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
	if (wakeup) {
		out.keep = mfs_memgov_feedback_cap(&fs->keep_feedback, out.keep);
		out.keep = out.keep < keep_was ? out.keep : keep_was;
		out.drop_window = atomic_load(&fs->dropper.window);
	} else {
		out.keep = mfs_memgov_feedback(&fs->keep_feedback,
					       atomic_load(&fs->stats.refault_bytes), 1,
					       keep_was ? keep_was : out.keep, out.keep);
	}
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

void mfs_governor_look(struct mfs_fs *fs)
{
	look(fs, false);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void *governor(void *p)
{
	struct mfs_fs *fs = p;
	struct pollfd pfd[2] = {{.fd = fs->gov_wake, .events = POLLIN},
				{.fd = fs->psi_fd, .events = POLLPRI}};
	uint64_t next = now_ms() + MFS_MEMGOV_PERIOD_MS, t;

	for (;;) {
		/*
		 * The period paces what only a look can see (room to grow back,
		 * re-reads per period), on its own clock; a fall does not wait
		 * for it when the kernel reports pressure.
		 */
		bool pressure = false, tick;
		int n;

		t = now_ms();
		n = poll(pfd, fs->psi_fd >= 0 ? 2 : 1, next > t ? (int)(next - t) : 0);
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
			pressure = true;
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
		t = now_ms();
		tick = t >= next;
		if (tick)
			next = next + MFS_MEMGOV_PERIOD_MS > t ? next + MFS_MEMGOV_PERIOD_MS
							       : t + MFS_MEMGOV_PERIOD_MS;
		if (tick || pressure)
			look(fs, !tick);
	}
	return NULL;
}

/*
 * The governor and its wakeups: an eventfd that stops it, and a PSI trigger
 * (memgov.h) unless MODELFS_PSI=0 in the environment (to measure the
 * polling alone; see fs/README.md).
 */
int mfs_governor_start(struct mfs_fs *fs)
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

void mfs_governor_stop(struct mfs_fs *fs)
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
