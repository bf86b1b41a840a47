/* SPDX-License-Identifier: MIT */
/*
 * memgov.c - the memory the daemon sees, and the budgets it allows itself
 * (see memgov.h).
 *
 * Sources, all read-only and cheap (a few small files, every 200 ms):
 * - /proc/self/cgroup names our memory cgroup: "N:...memory...:/path" on
 *   cgroup v1, "0::/path" on v2.
 * - v1: memory.stat of that cgroup has hierarchical_memory_limit (the
 *   tightest limit of it and its ancestors), total_rss, total_shmem and the
 *   file pages; memory.usage_in_bytes all that is charged.
 * - v2: memory.max and memory.high of it and every ancestor (the smallest
 *   wins), memory.stat anon, shmem and the file pages, memory.current.
 * - /proc/meminfo: MemTotal, MemAvailable; /proc/self/status: RssAnon.
 * The view with the least room wins: a cgroup limit above what the machine
 * has free is no promise. Falls are not left to the polling: a PSI trigger
 * (mfs_memgov_psi_open) wakes the governor when memory starts to stall.
 */
#include "memgov.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1ull << 20)
#define CGROOT "/sys/fs/cgroup"

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void mfs_memgov_size(const struct mfs_memgov_in *in, struct mfs_memgov_out *out)
{
	uint64_t reserve = max_u64(in->limit / 8, 16 * MIB);
	uint64_t fixed = in->others + in->own_base;
	uint64_t used = fixed + reserve;
	uint64_t room = in->limit > used ? in->limit - used : 0;
	uint64_t avail = in->limit >= fixed + MFS_MEMGOV_CACHE_MIN
				 ? in->limit - fixed - MFS_MEMGOV_CACHE_MIN
				 : 0;

	out->cache = min_u64(max_u64(room / 8, MFS_MEMGOV_CACHE_MIN), MFS_MEMGOV_CACHE_MAX);
	out->pin = 0;
	out->drop_window = 0;
	out->keep = 0;
	out->cycle_only = false;
	/*
	 * The models fit in the page cache beside everything else: leave it to
	 * the kernel, with a cache no larger than what leaves them room and
	 * MFS_MEMGOV_SLACK for the programs' own files.
	 */
	if (in->models_size <= avail) {
		uint64_t spare = in->limit - fixed - in->models_size;

		out->cache = min_u64(out->cache, MFS_MEMGOV_CACHE_FIT);
		if (out->cache + MFS_MEMGOV_SLACK > spare)
			out->cache = spare > MFS_MEMGOV_CACHE_MIN + MFS_MEMGOV_SLACK
					     ? spare - MFS_MEMGOV_SLACK
					     : MFS_MEMGOV_CACHE_MIN;
	} else if ((uint64_t)in->models_size * MFS_MEMGOV_PIN_RATIO_DEN <
		   (uint64_t)in->models_stored * MFS_MEMGOV_PIN_RATIO_NUM) {
		/*
		 * Quantized: pages hold as much as pins. A cyclic reader over a
		 * little more than the page cache holds is the kernel LRU's worst
		 * case, and dropping everything behind it no better: keep a stable
		 * resident set of what it re-reads, drop the rest right behind it.
		 * Until it re-reads, the kernel decides (a program that reads once
		 * loses nothing to it).
		 */
		uint64_t pages;

		out->cache = MFS_MEMGOV_CACHE_MIN;
		pages = in->limit > fixed + out->cache ? in->limit - fixed - out->cache : 0;
		if (in->cycling) {
			out->cycle_only = true;
			out->drop_window = MFS_MEMGOV_KEEP_WINDOW;
			out->keep = pages > MFS_MEMGOV_KEEP_SPARE ? pages - MFS_MEMGOV_KEEP_SPARE : 0;
		}
	} else if (in->models_size - avail <= avail / 2) {
		/*
		 * A little too large: the kernel's LRU keeps most of them all the
		 * same (a page read again within its active list's reach is
		 * activated), while dropping pages behind the reader would make
		 * every token decode the whole model. Measured: Q8_0 (143 MB)
		 * beside llama.cpp at -c 256 in 160 MB, 0.039 s/token from the raw
		 * file, 0.305 with pins and drop-behind.
		 */
		out->cache = MFS_MEMGOV_CACHE_MIN;
	} else {
		out->pin = room > out->cache ? min_u64(room - out->cache, in->models_stored) : 0;
		out->drop_window = in->models_size ? reserve / 2 : 0;
	}
	used = fixed + out->cache + out->pin;
	out->page_room = in->limit > used ? in->limit - used : 0;
}

void mfs_memgov_feedback_init(struct mfs_pin_feedback *f)
{
	f->cap = UINT64_MAX;
	f->want_at_cut = 0;
	f->last_reclaimed = 0;
	f->calm = 0;
}

uint64_t mfs_memgov_feedback_cap(const struct mfs_pin_feedback *f, uint64_t want)
{
	return min_u64(f->cap, want);
}

uint64_t mfs_memgov_feedback(struct mfs_pin_feedback *f, uint64_t reclaimed_total, uint64_t unit,
			     uint64_t held_now, uint64_t want)
{
	if (reclaimed_total > f->last_reclaimed) {
		uint64_t cut = max_u64((reclaimed_total - f->last_reclaimed) * unit,
				       MFS_MEMGOV_PIN_STEP);

		f->last_reclaimed = reclaimed_total;
		f->cap = held_now > cut ? held_now - cut : 0;
		f->want_at_cut = want;
		f->calm = 0;
	} else if (f->cap != UINT64_MAX && want > f->want_at_cut + MFS_MEMGOV_PIN_RESET) {
		f->cap = UINT64_MAX;
	} else if (f->cap != UINT64_MAX && ++f->calm >= MFS_MEMGOV_CALM_PERIODS) {
		f->cap += MFS_MEMGOV_PIN_STEP;
		f->calm = 0;
	}
	return min_u64(f->cap, want);
}

/* The first number in file @path ("max" is no limit); false if unreadable. */
static bool read_num(const char *path, uint64_t *v)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "max", 3) == 0) {
			*v = UINT64_MAX;
			ok = true;
		} else {
			char *end;

			errno = 0;
			*v = strtoull(buf, &end, 10);
			ok = errno == 0 && end != buf;
		}
	}
	fclose(f);
	return ok;
}

/*
 * Values of "key value" lines in @path for each of @keys (NULL-terminated);
 * @unit multiplies them (1024 for kB). Keys not found are left alone.
 */
static void read_keys(const char *path, const char *const *keys, uint64_t *vals, uint64_t unit)
{
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; keys[i]; i++) {
			size_t n = strlen(keys[i]);

			if (strncmp(line, keys[i], n) == 0 && (line[n] == ' ' || line[n] == ':'))
				vals[i] =
				    strtoull(line + n + 1 + strspn(line + n + 1, " \t"), NULL, 10) *
				    unit;
		}
	}
	fclose(f);
}

/* Our cgroup paths from /proc/self/cgroup; "" where there is none. */
static void own_cgroups(char *v1, char *v2, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");

	v1[0] = v2[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path;

		if (!ctl || !(path = strchr(ctl + 1, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		ctl++;
		if (*ctl == '\0') {
			snprintf(v2, len, "%s", path);
		} else {
			/* "memory" among comma-separated controllers */
			for (char *c = strtok(ctl, ","); c; c = strtok(NULL, ","))
				if (strcmp(c, "memory") == 0)
					snprintf(v1, len, "%s", path);
		}
	}
	fclose(f);
}

/*
 * Everything charged but the page cache, less @own: processes' anonymous
 * memory and shmem, and the kernel's own (page tables, slab, sockets), which
 * the limit counts too (8-12 MiB beside llama.cpp, measured) - @usage less
 * the file pages, where @usage is known; else @anon.
 */
static uint64_t others_of(uint64_t usage, uint64_t file, uint64_t anon, uint64_t own)
{
	uint64_t charged = usage != UINT64_MAX && usage > file ? usage - file : anon;

	if (anon > charged)
		charged = anon;
	return charged > own ? charged - own : 0;
}

/* Limit and others of cgroup v1 @path; false without the memory controller. */
static bool view_v1(const char *path, uint64_t own, uint64_t *limit, uint64_t *others)
{
	static const char *const keys[] = {"hierarchical_memory_limit", "total_rss", "total_shmem",
					   "total_active_file", "total_inactive_file", NULL};
	uint64_t vals[5] = {UINT64_MAX, UINT64_MAX, 0, 0, 0}, usage = UINT64_MAX;
	char file[4200];

	snprintf(file, sizeof(file), CGROOT "/memory%s/memory.stat", path);
	read_keys(file, keys, vals, 1);
	if (vals[0] == UINT64_MAX || vals[1] == UINT64_MAX)
		return false;
	snprintf(file, sizeof(file), CGROOT "/memory%s/memory.usage_in_bytes", path);
	if (!read_num(file, &usage))
		usage = UINT64_MAX;
	*limit = vals[0];
	*others = others_of(usage, vals[3] + vals[4], vals[1] + vals[2], own);
	return true;
}

/* The same on cgroup v2: the smallest memory.max/memory.high up the tree. */
static bool view_v2(const char *path, uint64_t own, uint64_t *limit, uint64_t *others)
{
	static const char *const keys[] = {"anon", "shmem", "active_file", "inactive_file", NULL};
	uint64_t vals[4] = {UINT64_MAX, 0, 0, 0}, v, usage = UINT64_MAX;
	char dir[4200], file[4300];
	size_t n;

	snprintf(dir, sizeof(dir), CGROOT "%s", path);
	snprintf(file, sizeof(file), "%s/memory.stat", dir);
	read_keys(file, keys, vals, 1);
	if (vals[0] == UINT64_MAX)
		return false;
	snprintf(file, sizeof(file), "%s/memory.current", dir);
	if (!read_num(file, &usage))
		usage = UINT64_MAX;
	*others = others_of(usage, vals[2] + vals[3], vals[0] + vals[1], own);
	*limit = UINT64_MAX;
	for (;;) {
		snprintf(file, sizeof(file), "%s/memory.max", dir);
		if (read_num(file, &v))
			*limit = min_u64(*limit, v);
		snprintf(file, sizeof(file), "%s/memory.high", dir);
		if (read_num(file, &v))
			*limit = min_u64(*limit, v);
		n = strlen(dir);
		if (n <= sizeof(CGROOT) - 1)
			break;
		while (n > sizeof(CGROOT) - 1 && dir[n - 1] != '/')
			n--;
		dir[n > sizeof(CGROOT) - 1 ? n - 1 : n] = '\0';
	}
	return true;
}

void mfs_memgov_read(struct mfs_memview *v, uint64_t pinned)
{
	static const char *const mem_keys[] = {"MemTotal", "MemAvailable", NULL};
	static const char *const own_keys[] = {"RssAnon", NULL};
	uint64_t mem[2] = {0, 0}, own[1] = {0}, limit, others, own_unpinned;
	char v1[4096], v2[4096];

	read_keys("/proc/meminfo", mem_keys, mem, 1024);
	read_keys("/proc/self/status", own_keys, own, 1024);
	v->own = own[0];
	/* Machine: what is not available, less our own memory that is not MADV_FREE. */
	own_unpinned = own[0] > pinned ? own[0] - pinned : 0;
	v->source = MFS_MEM_MACHINE;
	v->limit = mem[0] ? mem[0] : UINT64_MAX;
	v->others = mem[0] > mem[1] + own_unpinned ? mem[0] - mem[1] - own_unpinned : 0;
	if (!mem[0])
		v->others = 0;

	own_cgroups(v1, v2, sizeof(v1));
	if ((v1[0] && view_v1(v1, own[0], &limit, &others) && (v->source = MFS_MEM_CGROUP1)) ||
	    (v2[0] && view_v2(v2, own[0], &limit, &others) && (v->source = MFS_MEM_CGROUP2))) {
		/* The view with less room wins. */
		uint64_t room_cg = limit > others ? limit - others : 0;
		uint64_t room_m = v->limit > v->others ? v->limit - v->others : 0;

		if (room_cg <= room_m) {
			v->limit = limit;
			v->others = others;
		} else {
			v->source = MFS_MEM_MACHINE;
		}
	}
}

/* Writes @trigger to a pressure file; the fd, or -errno. */
static int psi_trigger(const char *file, const char *trigger)
{
	int fd = open(file, O_RDWR | O_NONBLOCK | O_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	/* The kernel takes the trigger with its terminating NUL (psi.rst). */
	if (write(fd, trigger, strlen(trigger) + 1) >= 0)
		return fd;
	e = errno;
	close(fd);
	return -e;
}

int mfs_memgov_psi_open(char *what, size_t len)
{
	char cg_file[4200], v1[4096], v2[4096], fast[64], slow[64];
	int fd, r = -ENOENT;

	snprintf(fast, sizeof(fast), "some %u %u", MFS_PSI_STALL_US, MFS_PSI_WINDOW_US);
	/* Unprivileged: a 2 s window, the stall scaled with it. */
	snprintf(slow, sizeof(slow), "some %u %u", MFS_PSI_STALL_US * 4, 2000000u);
	own_cgroups(v1, v2, sizeof(v1));
	/* The cgroup's own file (v2, not the root: that is the machine's). */
	if (v2[0] && strcmp(v2, "/") != 0) {
		snprintf(cg_file, sizeof(cg_file), CGROOT "%s/memory.pressure", v2);
		if ((fd = psi_trigger(cg_file, fast)) >= 0 || (fd = psi_trigger(cg_file, slow)) >= 0) {
			snprintf(what, len, "%s", cg_file);
			return fd;
		}
		r = fd;
	}
	if ((fd = psi_trigger("/proc/pressure/memory", fast)) >= 0 ||
	    (fd = psi_trigger("/proc/pressure/memory", slow)) >= 0) {
		snprintf(what, len, "/proc/pressure/memory");
		return fd;
	}
	return r == -ENOENT ? fd : r;
}
