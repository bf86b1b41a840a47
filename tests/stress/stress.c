/* SPDX-License-Identifier: MIT */
/*
 * stress.c - mfs-stress: many readers on mounted models, checked byte for
 * byte, while the daemon's memory and every read's latency are watched.
 *
 *   mfs-stress SECONDS DAEMON_PID RSS_LIMIT_KB ORIG MOUNTED [ORIG MOUNTED]...
 *
 * Runs 16 readers for SECONDS: reader i reads model i % NMODELS, as a thread
 * with pread (i % 4 == 0), a process with pread (1), a thread through mmap
 * (2) or a process through mmap (3), at random offsets and lengths, and every
 * 64th read it drops the file's pages from the page cache so that reads keep
 * reaching the daemon. Every byte is compared with the original. A monitor
 * samples the daemon's VmRSS (/proc/PID/status) every 50 ms and watches every
 * reader's read in flight.
 *
 * Fails (exit 1) on a wrong byte, a read error, a read in flight for over 10 s
 * (a stuck request), or a sample of VmRSS over RSS_LIMIT_KB. Prints reads,
 * bytes, the slowest read and the RSS samples' maximum either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NREADERS 16
#define MAXMODELS 8
#define MAXLEN (1u << 20)
#define STUCK_NS (10ull * 1000000000ull)

struct model {
	const char *path;
	uint8_t *orig;
	size_t size;
};

/* Shared with the reader processes (MAP_SHARED). */
struct shared {
	atomic_uint_fast64_t started[NREADERS]; /* ns when the read in flight began; 0 if none */
	atomic_uint_fast64_t reads[NREADERS];
	atomic_uint_fast64_t bytes[NREADERS];
	atomic_uint_fast64_t slowest_ns;
	atomic_bool stop;
	atomic_int failed;
	char why[512];
};

static struct model models[MAXMODELS];
static unsigned int nmodels;
static struct shared *sh;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
	va_list ap;
	int expect = 0;

	if (atomic_compare_exchange_strong(&sh->failed, &expect, 1)) {
		va_start(ap, fmt);
		vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
		va_end(ap);
	}
	atomic_store(&sh->stop, true);
}

/* @m's original bytes, from @orig (not from the mount under test). */
static void load(struct model *m, const char *orig)
{
	int fd = open(orig, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		perror(orig);
		exit(2);
	}
	m->size = (size_t)st.st_size;
	m->orig = malloc(m->size);
	if (!m->orig) {
		perror("malloc");
		exit(2);
	}
	for (size_t done = 0; done < m->size;) {
		ssize_t r = pread(fd, m->orig + done, m->size - done, (off_t)done);
		if (r <= 0) {
			perror(orig);
			exit(2);
		}
		done += (size_t)r;
	}
	close(fd);
}

static void pick(uint64_t *s, size_t size, uint64_t *off, size_t *len)
{
	uint64_t r = rnd(s);

	*off = rnd(s) % size;
	*len = r % 3 == 0 ? 1 + rnd(s) % 4096 : r % 3 == 1 ? 1 + rnd(s) % 131072 : 1 + rnd(s) % MAXLEN;
	if (*len > size - *off)
		*len = size - *off;
}

static void note_read(unsigned int id, uint64_t t0, size_t len)
{
	uint64_t dt = now_ns() - t0, prev = atomic_load(&sh->slowest_ns);

	atomic_store(&sh->started[id], 0);
	while (dt > prev && !atomic_compare_exchange_weak(&sh->slowest_ns, &prev, dt))
		;
	atomic_fetch_add(&sh->reads[id], 1);
	atomic_fetch_add(&sh->bytes[id], len);
}

static void reader(unsigned int id)
{
	const struct model *m = &models[id % nmodels];
	bool use_mmap = (id % 4) >= 2;
	uint64_t s = 0x9e3779b97f4a7c15ull * (id + 1);
	uint8_t *buf = malloc(MAXLEN), *map = NULL;
	int fd = open(m->path, O_RDONLY);

	if (fd < 0 || !buf) {
		failf("reader %u: open %s: %s", id, m->path, strerror(errno));
		return;
	}
	if (use_mmap) {
		map = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			failf("reader %u: mmap %s: %s", id, m->path, strerror(errno));
			return;
		}
	}
	for (unsigned long i = 0; !atomic_load(&sh->stop); i++) {
		uint64_t off, t0;
		size_t len;

		if (i % 64 == 63) { /* make later reads reach the daemon again */
			if (map)
				madvise(map, m->size, MADV_DONTNEED);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		}
		pick(&s, m->size, &off, &len);
		t0 = now_ns();
		atomic_store(&sh->started[id], t0);
		if (map) {
			/* Touch the pages first, so a failure shows as the read, not the compare. */
			if (memcmp(map + off, m->orig + off, len)) {
				failf("reader %u (mmap): wrong bytes in %s at %" PRIu64 "+%zu", id,
				      m->path, off, len);
				return;
			}
		} else {
			ssize_t r = pread(fd, buf, len, (off_t)off);
			if (r != (ssize_t)len) {
				failf("reader %u: pread(%zu at %" PRIu64 ") of %s = %zd (%s)", id, len,
				      off, m->path, r, r < 0 ? strerror(errno) : "short");
				return;
			}
			if (memcmp(buf, m->orig + off, len)) {
				failf("reader %u: wrong bytes in %s at %" PRIu64 "+%zu", id, m->path, off,
				      len);
				return;
			}
		}
		note_read(id, t0, len);
	}
	if (map)
		munmap(map, m->size);
	close(fd);
	free(buf);
}

static void *reader_thread(void *p)
{
	reader((unsigned int)(uintptr_t)p);
	return NULL;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	pthread_t threads[NREADERS];
	pid_t procs[NREADERS];
	unsigned int nthreads = 0, nprocs = 0;
	double seconds;
	pid_t daemon;
	long limit_kb, max_kb = 0, samples = 0;
	uint64_t end, reads = 0, bytes = 0;
	int st, ret;

	if (argc < 6 || (argc - 4) % 2 || (argc - 4) / 2 > MAXMODELS) {
		fprintf(stderr, "usage: mfs-stress SECONDS DAEMON_PID RSS_LIMIT_KB ORIG MOUNTED...\n");
		return 2;
	}
	seconds = atof(argv[1]);
	daemon = (pid_t)atoi(argv[2]);
	limit_kb = atol(argv[3]);
	for (int i = 4; i < argc; i += 2) {
		models[nmodels].path = argv[i + 1];
		load(&models[nmodels++], argv[i]);
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memset(sh, 0, sizeof(*sh));
	if (rss_kb(daemon) < 0) {
		fprintf(stderr, "mfs-stress: no process %d\n", (int)daemon);
		return 2;
	}
	/* Processes first (fork before any thread exists), then threads. */
	for (unsigned int i = 0; i < NREADERS; i++) {
		if (i % 2 == 0)
			continue;
		procs[nprocs] = fork();
		if (procs[nprocs] == 0) {
			reader(i);
			_exit(0);
		}
		if (procs[nprocs] < 0) {
			perror("fork");
			return 2;
		}
		nprocs++;
	}
	for (unsigned int i = 0; i < NREADERS; i += 2)
		pthread_create(&threads[nthreads++], NULL, reader_thread, (void *)(uintptr_t)i);

	end = now_ns() + (uint64_t)(seconds * 1e9);
	while (!atomic_load(&sh->stop)) {
		uint64_t t = now_ns();
		long kb = rss_kb(daemon);

		if (kb < 0)
			failf("the daemon (pid %d) is gone", (int)daemon);
		samples++;
		if (kb > max_kb)
			max_kb = kb;
		if (kb > limit_kb)
			failf("daemon VmRSS %ld kB over the limit of %ld kB", kb, limit_kb);
		for (unsigned int i = 0; i < NREADERS; i++) {
			uint64_t s0 = atomic_load(&sh->started[i]);
			if (s0 && t > s0 && t - s0 > STUCK_NS)
				failf("reader %u: a read has been in flight for over 10 s", i);
		}
		if (t >= end)
			atomic_store(&sh->stop, true);
		usleep(50000);
	}
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	for (unsigned int i = 0; i < nprocs; i++)
		waitpid(procs[i], &st, 0);
	for (unsigned int i = 0; i < NREADERS; i++) {
		reads += atomic_load(&sh->reads[i]);
		bytes += atomic_load(&sh->bytes[i]);
	}
	ret = atomic_load(&sh->failed);
	printf("stress: %u readers (8 threads, 8 processes; half pread, half mmap) on %u models for "
	       "%.0f s: %" PRIu64 " reads, %.1f MiB checked, %s; slowest read %.0f ms; daemon VmRSS max "
	       "%ld kB over %ld samples (limit %ld kB)\n",
	       NREADERS, nmodels, seconds, reads, (double)bytes / (1 << 20),
	       ret ? "FAILED" : "0 wrong bytes, 0 errors", (double)atomic_load(&sh->slowest_ns) / 1e6,
	       max_kb, samples, limit_kb);
	if (ret)
		fprintf(stderr, "mfs-stress: %s\n", sh->why);
	return ret ? 1 : 0;
}
