/* SPDX-License-Identifier: MIT */
/*
 * crshim.c - registry and runner for crshim (criterion/criterion.h).
 * Command-line options (Criterion's --jobs, --ascii) are accepted and ignored.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criterion/criterion.h"

static struct crshim_test *tests[1024];
static unsigned int ntests;
static bool failed;
static FILE *captured;

void crshim_register(struct crshim_test *t)
{
	if (ntests < sizeof(tests) / sizeof(tests[0]))
		tests[ntests++] = t;
}

void crshim_fail(bool fatal, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "[----] %s:%d: Assertion failed: %s", file, line, expr);
	if (*fmt) {
		fputs(": ", stdout);
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
	failed = true;
	if (fatal)
		_exit(1);
}

void cr_redirect_stderr(void)
{
	fflush(stderr);
	captured = tmpfile();
	if (!captured || dup2(fileno(captured), STDERR_FILENO) < 0) {
		perror("crshim: redirect stderr");
		_exit(2);
	}
}

bool crshim_stderr_eq(const char *want)
{
	char buf[65536];
	size_t n;

	fflush(stderr);
	if (!captured)
		return false;
	rewind(captured);
	n = fread(buf, 1, sizeof(buf) - 1, captured);
	buf[n] = 0;
	return strcmp(buf, want) == 0;
}

int main(void)
{
	unsigned int bad = 0;

	for (unsigned int i = 0; i < ntests; i++) {
		struct crshim_test *t = tests[i];
		pid_t pid;
		int st;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (t->init)
				t->init();
			t->fn();
			if (t->fini)
				t->fini();
			fflush(stdout);
			_exit(failed ? 1 : 0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0) {
			perror("crshim: fork");
			return 2;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			printf("[PASS] %s::%s\n", t->suite, t->name);
		} else {
			bad++;
			if (WIFSIGNALED(st))
				printf("[FAIL] %s::%s: crashed with signal %d\n", t->suite, t->name,
				       WTERMSIG(st));
			else
				printf("[FAIL] %s::%s\n", t->suite, t->name);
		}
	}
	printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: %u\n", ntests, ntests - bad, bad);
	return bad ? 1 : 0;
}
