/* SPDX-License-Identifier: MIT */
/*
 * shim.c - injectable faults for the modelfs binaries the fault tests run.
 *
 * tests/fault/meson.build links the real modelfs sources with this file and
 * -Wl,--wrap for malloc, calloc, realloc, posix_memalign, strdup and pread64:
 * every call modelfs' own code makes (not libfuse's or libzstd's internals)
 * comes here first. With MFS_FAULT unset nothing changes. Otherwise
 *
 *   MFS_FAULT=KIND:N[:MODE[:MATCH]]
 *
 * KIND   alloc (any of the allocation functions) or pread
 * N      the Nth call of that kind fails (1-based, counted across threads)
 * MODE   once (default): only the Nth; always: the Nth and every later one
 * MATCH  pread only: count and fail only reads of files whose path contains
 *        MATCH (looked up in /proc/self/fd)
 *
 * A failed allocation returns NULL with errno ENOMEM; a failed pread returns
 * -1 with errno EIO. When the first fault fires, one line goes to stderr
 * ("mfs-fault: failing alloc #N"), so tests can tell a run that met its fault
 * from one that never got that far. With MFS_FAULT_REPORT=1 the process says
 * at exit how many calls of the faulted kind it made ("mfs-fault: 123 alloc
 * calls"; MFS_FAULT=alloc:999999999 counts without failing), which sizes a
 * sweep over N.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
char *__real_strdup(const char *s);
ssize_t __real_pread64(int fd, void *buf, size_t len, off_t off);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
char *__wrap_strdup(const char *s);
ssize_t __wrap_pread64(int fd, void *buf, size_t len, off_t off);

enum { K_ALLOC, K_PREAD, K_NONE };

static struct {
	atomic_int parsed; /* 0: not yet, 1: parsing, 2: done */
	int kind;
	unsigned long n;
	bool always;
	char match[256];
	atomic_ulong calls;
	atomic_bool told;
} f;

static void parse(void)
{
	int expect = 0;
	const char *s;
	char mode[16] = "once";

	if (!atomic_compare_exchange_strong(&f.parsed, &expect, 1)) {
		while (atomic_load(&f.parsed) != 2)
			;
		return;
	}
	f.kind = K_NONE;
	s = getenv("MFS_FAULT");
	if (s && *s) {
		char kind[16] = "";
		int k = sscanf(s, "%15[a-z]:%lu:%15[a-z]:%255s", kind, &f.n, mode, f.match);
		if (k < 2 || !f.n || (strcmp(mode, "once") && strcmp(mode, "always"))) {
			fprintf(stderr, "mfs-fault: bad MFS_FAULT '%s'\n", s);
			_exit(3);
		}
		f.kind = !strcmp(kind, "alloc") ? K_ALLOC : !strcmp(kind, "pread") ? K_PREAD : -1;
		if (f.kind < 0) {
			fprintf(stderr, "mfs-fault: bad kind in MFS_FAULT '%s'\n", s);
			_exit(3);
		}
		f.always = !strcmp(mode, "always");
	}
	atomic_store(&f.parsed, 2);
}

static bool fail(int kind)
{
	unsigned long c;

	if (atomic_load(&f.parsed) != 2)
		parse();
	if (f.kind != kind)
		return false;
	c = atomic_fetch_add(&f.calls, 1) + 1;
	if (c < f.n || (c > f.n && !f.always))
		return false;
	if (!atomic_exchange(&f.told, true)) {
		char line[64];
		int len = snprintf(line, sizeof(line), "mfs-fault: failing %s #%lu\n",
				   kind == K_ALLOC ? "alloc" : "pread", c);
		if (write(STDERR_FILENO, line, (size_t)len) < 0)
			return true;
	}
	return true;
}

__attribute__((destructor)) static void report(void)
{
	const char *r = getenv("MFS_FAULT_REPORT");

	if (r && *r == '1' && (f.kind == K_ALLOC || f.kind == K_PREAD))
		fprintf(stderr, "mfs-fault: %lu %s calls\n", atomic_load(&f.calls),
			f.kind == K_ALLOC ? "alloc" : "pread");
}

void *__wrap_malloc(size_t n)
{
	if (fail(K_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail(K_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	if (fail(K_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
	if (fail(K_ALLOC))
		return ENOMEM;
	return __real_posix_memalign(p, align, n);
}

char *__wrap_strdup(const char *s)
{
	if (fail(K_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

static bool fd_matches(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (!f.match[0])
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = 0;
	return strstr(path, f.match) != NULL;
}

ssize_t __wrap_pread64(int fd, void *buf, size_t len, off_t off)
{
	if (atomic_load(&f.parsed) != 2)
		parse();
	if (f.kind == K_PREAD && fd_matches(fd) && fail(K_PREAD)) {
		errno = EIO;
		return -1;
	}
	return __real_pread64(fd, buf, len, off);
}
