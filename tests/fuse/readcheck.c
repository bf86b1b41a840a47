/* SPDX-License-Identifier: MIT */
/*
 * readcheck.c - mfs-readcheck: compare what a program reads through a modelfs
 * mount with the original file, the ways real programs read.
 *
 *   mfs-readcheck random  ORIG FILE COUNT SEED   random (offset, length) preads
 *   mfs-readcheck mmap    ORIG FILE              whole file through mmap, then random slices
 *   mfs-readcheck threads ORIG FILE N COUNT      N threads of random preads, one fd each
 *   mfs-readcheck procs   ORIG FILE N COUNT      N processes of random preads
 *   mfs-readcheck eio     ORIG FILE LO HI COUNT  readahead off; a read that starts in a page
 *                                                overlapping [LO, HI) fails with EIO; one that
 *                                                runs into such a page returns the bytes
 *                                                before it (read(2) reports the error on the
 *                                                next call); every other read matches ORIG
 *   mfs-readcheck tolerant ORIG COUNT FILE...    each FILE (a copy of ORIG that may be damaged,
 *                                                or served by a failing daemon): opening it may
 *                                                fail with EIO; once open its size is ORIG's,
 *                                                and every read - a sequential pass, then COUNT
 *                                                random ones - returns bytes of ORIG or fails
 *                                                with EIO. Never a wrong byte.
 *   mfs-readcheck tolerant-nomem ORIG COUNT FILE...  the same, where the daemon's allocations
 *                                                are made to fail: ENOMEM is an answer too
 *
 * Exit 0 when every byte matched, 1 on the first mismatch (printed), 2 for
 * usage or setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXLEN (1u << 20)

static uint8_t *orig;
static size_t orig_size;
static const char *file;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void load_orig(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	orig_size = (size_t)st.st_size;
	orig = malloc(orig_size ? orig_size : 1);
	if (!orig)
		die("malloc");
	for (size_t done = 0; done < orig_size;) {
		ssize_t r = pread(fd, orig + done, orig_size - done, (off_t)done);

		if (r <= 0)
			die(path);
		done += (size_t)r;
	}
	close(fd);
}

/* A random read: lengths from 1 byte to 1 MiB, some ending past EOF. */
static void pick(uint64_t *s, uint64_t *off, size_t *len)
{
	uint64_t r = rnd(s);

	*off = orig_size ? rnd(s) % (orig_size + 1) : 0;
	switch (r % 4) {
	case 0:
		*len = 1 + rnd(s) % 64;
		break;
	case 1:
		*len = 1 + rnd(s) % 8192;
		break;
	case 2:
		*len = 1 + rnd(s) % MAXLEN;
		break;
	default:
		*off = orig_size > 4096 ? orig_size - rnd(s) % 4096 : 0;
		*len = 1 + rnd(s) % 8192;
		break;
	}
}

/* Random preads on a fresh descriptor; returns 0 or 1 after printing a mismatch. */
static int random_reads(unsigned long count, uint64_t seed, const char *who)
{
	uint8_t *buf = malloc(MAXLEN);
	uint64_t s = seed * 2654435761u + 1;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || !buf)
		die(file);
	for (unsigned long i = 0; i < count; i++) {
		uint64_t off;
		size_t len, want;
		ssize_t r;

		pick(&s, &off, &len);
		want = off >= orig_size ? 0 : orig_size - off < len ? orig_size - off : len;
		r = pread(fd, buf, len, (off_t)off);
		/*
		 * A read that runs into a failure returns the bytes before it
		 * and read(2) reports the error on the next call (a daemon
		 * killed mid-read): ask for the rest once, so that the error is
		 * what gets reported. A short read followed by more bytes is
		 * still a mismatch.
		 */
		if (r > 0 && (size_t)r < want && memcmp(buf, orig + off, (size_t)r) == 0 &&
		    pread(fd, buf + r, len - (size_t)r, (off_t)(off + (uint64_t)r)) < 0)
			r = -1;
		if (r < 0 || (size_t)r != want || memcmp(buf, orig + off, want) != 0) {
			fprintf(stderr, "%s: read %lu: pread(%zu at %" PRIu64 ") = %zd (%s), want %zu%s\n",
				who, i, len, off, r, r < 0 ? strerror(errno) : "ok", want,
				r == (ssize_t)want ? ", bytes differ" : "");
			return 1;
		}
	}
	close(fd);
	free(buf);
	return 0;
}

static int check_mmap(void)
{
	int fd = open(file, O_RDONLY);
	uint64_t s = 7;
	uint8_t *m;

	if (fd < 0)
		die(file);
	if (orig_size == 0)
		return 0;
	m = mmap(NULL, orig_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	if (memcmp(m, orig, orig_size) != 0) {
		for (size_t i = 0; i < orig_size; i++) {
			if (m[i] != orig[i]) {
				fprintf(stderr, "mmap: byte %zu differs\n", i);
				break;
			}
		}
		return 1;
	}
	/* Again, out of order, after dropping the pages. */
	madvise(m, orig_size, MADV_DONTNEED);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (int i = 0; i < 2000; i++) {
		uint64_t off = rnd(&s) % orig_size, len = 1 + rnd(&s) % 65536;

		if (len > orig_size - off)
			len = orig_size - off;
		if (memcmp(m + off, orig + off, len) != 0) {
			fprintf(stderr, "mmap: slice %" PRIu64 "+%" PRIu64 " differs\n", off, len);
			return 1;
		}
	}
	munmap(m, orig_size);
	close(fd);
	return 0;
}

struct tharg {
	unsigned long count;
	uint64_t seed;
	int result;
};

static void *thread_main(void *p)
{
	struct tharg *a = p;
	char who[32];

	snprintf(who, sizeof(who), "thread %" PRIu64, a->seed);
	a->result = random_reads(a->count, a->seed, who);
	return NULL;
}

static int check_eio(uint64_t lo, uint64_t hi, unsigned long count)
{
	uint8_t *buf = malloc(65536);
	uint64_t s = 99, stop;
	unsigned long failed = 0, ok = 0, shortened = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || !buf)
		die(file);
	/* No readahead: a read asks FUSE for the pages it touches, nothing more. */
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM))
		die("posix_fadvise");
	for (unsigned long i = 0; i < count; i++) {
		uint64_t off, first, last;
		size_t len, want;
		bool bad;
		ssize_t r;

		/* Half the reads near the bad range, to probe both of its edges. */
		if (i % 2 && hi > lo)
			off = (lo > 65536 ? lo - 65536 : 0) + rnd(&s) % (hi - lo + 131072);
		else
			off = rnd(&s) % orig_size;
		if (off >= orig_size)
			off = orig_size - 1;
		len = 1 + rnd(&s) % 65536;
		if (len > orig_size - off)
			len = orig_size - off;
		first = off & ~4095ull;
		last = (off + len + 4095) & ~4095ull;
		bad = first < hi && lo < last;
		/* Pages from the first one overlapping [lo, hi) on cannot be read. */
		stop = lo & ~4095ull;
		want = !bad ? len : stop > off ? (size_t)(stop - off) : 0;
		r = pread(fd, buf, len, (off_t)off);
		if (bad && want == 0) {
			if (!(r < 0 && errno == EIO)) {
				fprintf(stderr, "eio: read %zu at %" PRIu64 " starts in a page of [%" PRIu64
						", %" PRIu64 ") but returned %zd\n", len, off, lo, hi, r);
				return 1;
			}
			failed++;
			continue;
		}
		if (r < 0 || (size_t)r != want || memcmp(buf, orig + off, want) != 0) {
			fprintf(stderr, "eio: read %zu at %" PRIu64 " (bad range [%" PRIu64 ", %" PRIu64
					")) returned %zd (%s), want %zu\n",
				len, off, lo, hi, r, r < 0 ? strerror(errno) : "bytes", want);
			return 1;
		}
		if (bad)
			shortened++;
		else
			ok++;
	}
	printf("eio: %lu reads failed with EIO, %lu stopped short before the bad pages, %lu read "
	       "correctly\n", failed, shortened, ok);
	close(fd);
	free(buf);
	return failed && shortened && ok ? 0 : 1;
}

static bool allow_enomem; /* tolerant-nomem */

static bool soft_errno(int e)
{
	return e == EIO || (allow_enomem && e == ENOMEM);
}

/* One file for check_tolerant(); counts into @n: opened, refused, reads ok, reads failed. */
static int tolerant_file(const char *path, unsigned long count, unsigned long n[4])
{
	uint8_t *buf = malloc(MAXLEN);
	uint64_t s = 5;
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (!buf)
		die("malloc");
	if (fd < 0) {
		if (!soft_errno(errno)) {
			fprintf(stderr, "tolerant: open %s: %s\n", path, strerror(errno));
			return 1;
		}
		n[1]++;
		free(buf);
		return 0;
	}
	n[0]++;
	if (fstat(fd, &st) || (uint64_t)st.st_size != orig_size) {
		fprintf(stderr, "tolerant: %s: size %jd, the original has %zu\n", path,
			(intmax_t)st.st_size, orig_size);
		return 1;
	}
	for (unsigned long i = 0, off = 0; off < orig_size || i < count;) {
		uint64_t o;
		size_t len, want;
		ssize_t r;

		if (off < orig_size) { /* the sequential pass, 64 KiB at a time */
			o = off;
			len = 65536;
			off += len;
		} else {
			pick(&s, &o, &len);
			i++;
		}
		want = o >= orig_size ? 0 : orig_size - o < len ? orig_size - o : len;
		r = pread(fd, buf, len, (off_t)o);
		if (r < 0 && soft_errno(errno)) {
			n[3]++;
			continue;
		}
		if (r < 0 || (size_t)r > want || memcmp(buf, orig + o, (size_t)r) != 0 ||
		    (r == 0 && want)) {
			fprintf(stderr, "tolerant: %s: pread(%zu at %" PRIu64 ") = %zd (%s), want %zu\n",
				path, len, o, r, r < 0 ? strerror(errno) : "bytes differ", want);
			return 1;
		}
		n[2]++;
	}
	close(fd);
	free(buf);
	return 0;
}

static int check_tolerant(unsigned long count, char **files, int nfiles)
{
	const char *errs = allow_enomem ? "EIO/ENOMEM" : "EIO";
	unsigned long n[4] = {0, 0, 0, 0};

	for (int i = 0; i < nfiles; i++)
		if (tolerant_file(files[i], count, n))
			return 1;
	printf("tolerant: %d files: %lu opened, %lu refused with %s; %lu reads correct, %lu failed "
	       "with %s, 0 wrong\n", nfiles, n[0], n[1], errs, n[2], n[3], errs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: see the comment at the top of readcheck.c\n");
		return 2;
	}
	load_orig(argv[2]);
	allow_enomem = strcmp(argv[1], "tolerant-nomem") == 0;
	if ((allow_enomem || strcmp(argv[1], "tolerant") == 0) && argc >= 5)
		return check_tolerant(strtoul(argv[3], NULL, 10), argv + 4, argc - 4);
	file = argv[3];
	if (strcmp(argv[1], "random") == 0 && argc == 6)
		return random_reads(strtoul(argv[4], NULL, 10), strtoull(argv[5], NULL, 10), "random");
	if (strcmp(argv[1], "mmap") == 0 && argc == 4)
		return check_mmap();
	if (strcmp(argv[1], "threads") == 0 && argc == 6) {
		unsigned int n = (unsigned int)strtoul(argv[4], NULL, 10);
		struct tharg a[64];
		pthread_t t[64];
		int bad = 0;

		if (n == 0 || n > 64)
			return 2;
		for (unsigned int i = 0; i < n; i++) {
			a[i] = (struct tharg){strtoul(argv[5], NULL, 10), i + 1, 0};
			pthread_create(&t[i], NULL, thread_main, &a[i]);
		}
		for (unsigned int i = 0; i < n; i++) {
			pthread_join(t[i], NULL);
			bad |= a[i].result;
		}
		return bad;
	}
	if (strcmp(argv[1], "procs") == 0 && argc == 6) {
		unsigned int n = (unsigned int)strtoul(argv[4], NULL, 10);
		int bad = 0, st;

		for (unsigned int i = 0; i < n; i++) {
			pid_t p = fork();

			if (p == 0) {
				char who[32];

				snprintf(who, sizeof(who), "process %u", i);
				_exit(random_reads(strtoul(argv[5], NULL, 10), 1000 + i, who));
			}
			if (p < 0)
				die("fork");
		}
		while (wait(&st) > 0)
			bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		return bad;
	}
	if (strcmp(argv[1], "eio") == 0 && argc == 7)
		return check_eio(strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
				 strtoul(argv[6], NULL, 10));
	fprintf(stderr, "mfs-readcheck: bad arguments\n");
	return 2;
}
