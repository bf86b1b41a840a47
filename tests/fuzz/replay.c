/* SPDX-License-Identifier: MIT */
/*
 * replay.c - run a fuzz target on files, without libFuzzer.
 *
 *   fuzz-replay-NAME PATH...
 *
 * Each PATH is a file or a directory of files (not recursive); every file is
 * handed to the target once. Missing directories are fine (an empty crash
 * directory is not kept in git); a path that exists but cannot be read is an
 * error. Prints how many inputs ran; a target that finds a bug aborts, which
 * fails the test and names the input on stderr.
 *
 * Limits, as libFuzzer's -timeout and -rss_limit_mb (tests/fuzz/run.sh): an
 * input that runs longer than MFS_FUZZ_TIMEOUT seconds (default 20) or leaves
 * the process's peak RSS above MFS_FUZZ_RSS_MB (default 256) fails the run,
 * named. What a file declares must cost in proportion to its real size: these
 * inputs are at most a few hundred KB.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static const char *current; /* the input being run, for the alarm */
static unsigned int timeout_s = 20;
static long rss_limit_kb = 256L << 10;

static void on_alarm(int sig)
{
	static const char msg[] = "replay: FAIL: an input ran past the time limit: ";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
	_exit(1);
}

static unsigned long env_num(const char *name, unsigned long def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return def;
	n = strtoul(v, &end, 10);
	return *end || n == 0 ? def : n;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "replay: %s: out of memory\n", path);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (n != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		return -1;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	/* An exact-size copy, so ASan catches reads one past the end. */
	current = path;
	alarm(timeout_s);
	LLVMFuzzerTestOneInput(buf, n);
	alarm(0);
	free(buf);
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_maxrss > rss_limit_kb) {
			fprintf(stderr,
				"replay: FAIL: %s: peak RSS %ld MiB, over the %ld MiB limit\n",
				path, ru.ru_maxrss >> 10, rss_limit_kb >> 10);
			return -1;
		}
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md"))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));
			if (!nn)
				abort();
			names = nn;
		}
		if (!(names[n++] = strdup(e->d_name)))
			abort();
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);
		if (!path)
			abort();
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (run_file(path))
			ret = -1;
		else
			++*count;
		free(path);
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	timeout_s = (unsigned int)env_num("MFS_FUZZ_TIMEOUT", timeout_s);
	rss_limit_kb = (long)env_num("MFS_FUZZ_RSS_MB", (unsigned long)rss_limit_kb >> 10) << 10;
	signal(SIGALRM, on_alarm);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			ret = 1;
		} else if (S_ISDIR(st.st_mode)) {
			ret |= run_dir(argv[i], &count) ? 1 : 0;
		} else if (run_file(argv[i])) {
			ret = 1;
		} else {
			count++;
		}
	}
	printf("replay: %lu inputs, no crash\n", count);
	if (!count) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return ret;
}
