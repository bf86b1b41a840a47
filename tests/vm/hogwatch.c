// SPDX-License-Identifier: MIT
/*
 * hogwatch - how soon a mount's memory budgets fall when a program grows at
 * once (tests/vm/guest.sh, issue: pressure by notification).
 *
 *   mfs-hogwatch MOUNT CGROUP_DIR MIB
 *
 * Reads cache_budget + pin_budget from MOUNT's stats xattr (once they are
 * the same twice half a second apart), starts a child
 * in CGROUP_DIR that allocates and touches MIB MiB in one go and holds them,
 * and reads the stats again every millisecond until the sum is lower. Prints
 * "fell MS touched MS wakeups N": milliseconds from the child's first touch
 * to the fall, how long the touching took, the daemon's pressure_wakeups
 * meanwhile.
 * Exits 1 if nothing fell within 5 s (the child is killed either way).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A counter of the stats JSON, or -1. */
static long long stat_of(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static long long budgets(const char *mnt, long long *wakeups)
{
	static char buf[16384];
	ssize_t n = getxattr(mnt, "user.modelfs.stats", buf, sizeof(buf) - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	if (wakeups)
		*wakeups = stat_of(buf, "pressure_wakeups");
	return stat_of(buf, "cache_budget") + stat_of(buf, "pin_budget");
}

int main(int argc, char **argv)
{
	char procs[4200];
	int go[2], done[2];
	long long b0, b, wakeups0 = -1, wakeups = -1;
	double t0, t_touched = -1, fell = -1;
	size_t len;
	pid_t pid;
	char c;

	if (argc != 4) {
		fprintf(stderr, "usage: mfs-hogwatch MOUNT CGROUP_DIR MIB\n");
		return 2;
	}
	len = (size_t)strtoul(argv[3], NULL, 10) << 20;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", argv[2]);
	/* Budgets settled first: the same over half a second (at most 5 s). */
	b0 = budgets(argv[1], &wakeups0);
	for (int i = 0; i < 10 && b0 >= 0; i++) {
		usleep(500 * 1000);
		b = budgets(argv[1], &wakeups0);
		if (b == b0)
			break;
		b0 = b;
	}
	if (b0 < 0) {
		fprintf(stderr, "hogwatch: %s: no stats: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (pipe(go) || pipe2(done, O_NONBLOCK))
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		FILE *f = fopen(procs, "w");
		char *p;

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
			_exit(3);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || write(go[1], "g", 1) != 1)
			_exit(3);
		memset(p, 1, len);
		if (write(done[1], "d", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	if (read(go[0], &c, 1) != 1) {
		fprintf(stderr, "hogwatch: the child did not start\n");
		return 2;
	}
	t0 = now_ms();
	while (now_ms() - t0 < 5000) {
		if (t_touched < 0 && read(done[0], &c, 1) == 1)
			t_touched = now_ms() - t0;
		b = budgets(argv[1], &wakeups);
		if (b >= 0 && b < b0) {
			fell = now_ms() - t0;
			break;
		}
		usleep(1000);
	}
	if (t_touched < 0 && read(done[0], &c, 1) == 1)
		t_touched = now_ms() - t0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("fell %.0f touched %.0f wakeups %lld\n", fell, t_touched, wakeups - wakeups0);
	return fell < 0;
}
