/* SPDX-License-Identifier: MIT */
/*
 * cli.c - shared command-line helpers (see cli.h).
 */
#include "cli.h"
#include "io.h"

#include "simd.h"
#include "err.h"
#include "log.h"
#include "mfs_config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/*
 * One line, in one write: "modelfs: [KIND: ][FILE: ]message". Under systemd
 * (`modelfs mount -f` in a unit) the journal gets "<3>" or "<4>" in place of
 * the program's name, so that errors and warnings keep their priority there.
 */
static void vmsg(const char *kind, const char *file, const char *fmt, va_list ap)
{
	static int journal = -1;
	char line[2048], pre[MFS_LOG_PREFIX_MAX];
	size_t n;

	if (journal < 0)
		journal = mfs_log_stderr_is_journal();
	n = (size_t)snprintf(line, sizeof(line), "%s",
			     mfs_log_prefix(kind ? LOG_WARNING : LOG_ERR, journal, pre));
	if (kind && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s: ", kind);
	if (file && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s: ", file);
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n] = '\0';
	mfs_sanitize(line); /* names from files: one line, no terminal escapes */
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}

void cli_error(const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(NULL, file, fmt, ap);
	va_end(ap);
}

void cli_warn(const char *file, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning", file, fmt, ap);
	va_end(ap);
}

void cli_tell(bool warning, const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (warning) {
		vmsg("warning", what, fmt, ap);
	} else {
		fprintf(stderr, "modelfs: %s: ", cli_shown(what));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", CLI_PROG, cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help' for more information.\n", CLI_PROG, cmd);
	return EXIT_USAGE;
}

bool cli_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return false;
	}
	if (*end) {
		end++;
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return false;
	}
	if (v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *cli_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1000.0 && u < 4) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_start(struct cli_progress *p, const char *label, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->enabled = !quiet && isatty(STDERR_FILENO);
	p->label = label;
	p->start = cli_now();
}

void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total, uint64_t stored)
{
	char a[32], b[32], bar[21];
	double now, secs, pct;
	int filled, n;

	if (!p->enabled)
		return;
	now = cli_now();
	if (done < total && now - p->last < 0.1)
		return;
	p->last = now;
	secs = now - p->start;
	pct = total ? 100.0 * (double)done / (double)total : 100.0;
	filled = (int)(pct / 5.0);
	for (int i = 0; i < 20; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[20] = '\0';
	n = fprintf(stderr, "\r%s [%s] %3.0f%% %s of %s", p->label, bar, pct,
		    cli_size(a, sizeof(a), done), cli_size(b, sizeof(b), total));
	if (secs > 0.2)
		n += fprintf(stderr, ", %.0f MB/s", (double)done / secs / 1e6);
	if (stored && done)
		n += fprintf(stderr, ", ratio %.3fx", (double)done / (double)stored);
	if (n < p->width)
		fprintf(stderr, "%*s", p->width - n, "");
	p->width = n;
	fflush(stderr);
}

void cli_progress_end(struct cli_progress *p)
{
	if (!p->enabled || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
}

const char *cli_shown(const char *s)
{
	static char bufs[8][208];
	static unsigned int next;
	char *b = bufs[next++ % 8];
	size_t n = strlen(s);

	if (n > 200) {
		n = 197;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* not inside a character */
		memcpy(b + n, "...", 4);
	} else {
		b[n] = '\0';
	}
	memcpy(b, s, n);
	return mfs_sanitize(b); /* only ever shortens */
}

int cli_mkdir_p(const char *path)
{
	return mfs_mkdir_p(path, 0755);
}

void cli_version(void)
{
	printf("%s %s\n", CLI_PROG, MFS_VERSION_STRING);
	printf("decoding: %s\n", mfs_codec_paths());
}
