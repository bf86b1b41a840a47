/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats.c - `modelfs stats MNT`: read the daemon's counters from the
 * xattr user.modelfs.stats on the mount root and print them, with the ratios
 * people actually want (hit rate, decode speed, bytes saved).
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "outfile.h"
#include "stats.h"

#include "cmds.h"

static const char stats_usage[] =
	"Usage: modelfs stats [--json | --prometheus] [-o FILE] MNT\n"
	"       modelfs stats --watch [SECONDS] [--count N] MNT...\n"
	"Show the counters of the modelfs daemon serving MNT (modelfs(1), 'stats', says\n"
	"what each one counts). They count since the mount was made.\n"
	"\n"
	"With --watch, a line per mount every SECONDS (default 1), like iostat: what\n"
	"happened in that interval (MB/s served to readers and read from the disk;\n"
	"MB/s one core decodes, from the workers' CPU time; cache and prefetch hit\n"
	"rates) and the memory now (decoded cache and pinned bytes\n"
	"against their budgets, the limit seen).\n"
	"\n"
	"Options:\n"
	"  -w, --watch        print what changed every SECONDS until interrupted\n"
	"  -n, --count N      with --watch: stop after N lines per mount\n"
	"      --json         print the counters as the daemon reports them (one JSON object)\n"
	"      --prometheus   print them in the Prometheus text format, as metrics\n"
	"                     modelfs_*{mountpoint=\"MNT\"} with HELP and TYPE lines\n"
	"  -o, --output FILE  write to FILE instead of standard output, atomically\n"
	"                     (a complete file or none: what node_exporter's textfile\n"
	"                     collector needs, e.g. -o /var/lib/prometheus/node-exporter/\n"
	"                     modelfs.prom from a timer)\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n";

/* Finds "key":NUMBER in a flat JSON object. */
static bool get(const char *json, const char *key, uint64_t *v)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	*v = strtoull(p + strlen(pat), NULL, 10);
	return true;
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void print_prometheus(FILE *f, const char *json, const char *mnt)
{
	for (size_t i = 0; i < mfs_stat_ndescs; i++) {
		const struct mfs_stat_desc *m = &mfs_stat_descs[i];
		const char *type = m->kind == MFS_STAT_GAUGE ? "gauge" : "counter";
		uint64_t v;

		if (!get(json, m->key, &v))
			continue;
		fprintf(f, "# HELP modelfs_%s %s.\n# TYPE modelfs_%s %s\nmodelfs_%s{mountpoint=\"",
			m->prom, m->help, m->prom, type, m->prom);
		put_label(f, mnt);
		if (m->kind == MFS_STAT_NS)
			fprintf(f, "\"} %.9f\n", (double)v / 1e9);
		else
			fprintf(f, "\"} %" PRIu64 "\n", v);
	}
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void print_human(FILE *f, const char *buf);

/* The counters --watch shows, read from one snapshot. */
struct snap {
	uint64_t served, disk, dec, ns, hits, misses, waits, pf_hits, pf_waste;
	uint64_t cache, cache_budget, pinned, pin_budget, limit;
	double t;
};

static int snap_read(const char *mnt, struct snap *s)
{
	char buf[8192];
	ssize_t n = getxattr(mnt, MFS_STATS_XATTR, buf, sizeof(buf) - 1);
	struct timespec ts;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*s = (struct snap){.t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9};
	get(buf, "bytes_served", &s->served);
	get(buf, "backing_bytes_read", &s->disk);
	get(buf, "bytes_decompressed", &s->dec);
	get(buf, "decode_cpu_ns", &s->ns);
	get(buf, "cache_hits", &s->hits);
	get(buf, "cache_misses", &s->misses);
	get(buf, "cache_waits", &s->waits);
	get(buf, "prefetch_hits", &s->pf_hits);
	get(buf, "prefetch_waste", &s->pf_waste);
	get(buf, "cache_bytes", &s->cache);
	get(buf, "cache_budget", &s->cache_budget);
	get(buf, "pinned_bytes", &s->pinned);
	get(buf, "pin_budget", &s->pin_budget);
	get(buf, "memory_limit", &s->limit);
	return 0;
}

#define MB(x) ((double)(x) / 1e6)

/* One --watch line: the interval from @a to @b. */
static void watch_line(const char *mnt, const struct snap *a, const struct snap *b)
{
	double dt = b->t > a->t ? b->t - a->t : 1;
	uint64_t look = (b->hits - a->hits) + (b->waits - a->waits) + (b->misses - a->misses);
	uint64_t pf = (b->pf_hits - a->pf_hits) + (b->pf_waste - a->pf_waste);
	uint64_t ns = b->ns - a->ns;
	char hit[16] = "-", pfr[16] = "-", work[16] = "-";

	if (look)
		snprintf(hit, sizeof(hit), "%.0f%%",
			 pct((b->hits - a->hits) + (b->waits - a->waits), look));
	if (pf)
		snprintf(pfr, sizeof(pfr), "%.0f%%", pct(b->pf_hits - a->pf_hits, pf));
	/* Bytes over the workers' CPU time: what one busy core decodes. */
	if (ns)
		snprintf(work, sizeof(work), "%.0f", MB(b->dec - a->dec) / ((double)ns / 1e9));
	printf("%-20s %9.1f %9.1f %9s %6s %6s %8.1f/%-7.1f %8.1f/%-7.1f %8.0f\n", cli_shown(mnt),
	       MB(b->served - a->served) / dt, MB(b->disk - a->disk) / dt, work, hit, pfr,
	       MB(b->cache), MB(b->cache_budget), MB(b->pinned), MB(b->pin_budget), MB(b->limit));
}

static int watch(char **mnts, int nmnt, double secs, long count)
{
	struct snap *prev = calloc((size_t)nmnt, sizeof(*prev)), cur;
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
	int status = EXIT_OK;

	if (!prev)
		return EXIT_FAIL;
	for (int i = 0; i < nmnt; i++) {
		int r = snap_read(mnts[i], &prev[i]);

		if (r) {
			cli_error(mnts[i], "%s", r == -ENODATA || r == -ENOTSUP
							 ? "not a modelfs mount (no " MFS_STATS_XATTR ")"
							 : mfs_strerror(-r));
			free(prev);
			return EXIT_FAIL;
		}
	}
	for (long line = 0; count <= 0 || line < count; line++) {
		nanosleep(&ts, NULL);
		if (line % 20 == 0)
			printf("%-20s %9s %9s %9s %6s %6s %16s %16s %8s\n", "mount", "served/s",
			       "disk/s", "dec/core", "hits", "pf-hit", "cache MB/budget",
			       "pinned MB/budget", "limit MB");
		for (int i = 0; i < nmnt; i++) {
			if (snap_read(mnts[i], &cur)) {
				cli_error(mnts[i], "the mount went away");
				status = EXIT_FAIL;
				goto out;
			}
			watch_line(mnts[i], &prev[i], &cur);
			prev[i] = cur;
		}
		if (fflush(stdout)) {
			status = EXIT_FAIL;
			break;
		}
	}
out:
	free(prev);
	return status;
}

int cmd_stats(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_PROM };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"prometheus", no_argument, NULL, OPT_PROM},
		{"output", required_argument, NULL, 'o'},
		{"watch", no_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	char buf[8192], mnt[PATH_MAX];
	bool json = false, prom = false, watching = false;
	const char *output = NULL;
	long count = 0;
	struct mfs_outfile out = {.fd = -1, .dirfd = -1};
	struct mfs_err err = {{0}};
	ssize_t n;
	FILE *f = stdout;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:wn:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			watching = true;
			break;
		case 'n': {
			char *end;

			count = strtol(optarg, &end, 10);
			if (*end || count <= 0)
				return cli_usage_error("stats", "--count needs a positive number");
			break;
		}
		case OPT_JSON:
			json = true;
			break;
		case OPT_PROM:
			prom = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(stats_usage, stdout);
			return EXIT_OK;
		case 'V':
			cli_version();
			return EXIT_OK;
		default:
			return cli_usage_error("stats", "bad option");
		}
	}
	if (watching) {
		double secs = 1;
		char *end;

		if (json || prom || output)
			return cli_usage_error("stats", "--watch prints lines; no --json, "
							"--prometheus or -o with it");
		/* An optional SECONDS before the mount points. */
		if (argc - optind >= 2) {
			double v = strtod(argv[optind], &end);

			if (!*end) {
				if (v < 0.1 || v > 3600)
					return cli_usage_error("stats", "SECONDS is 0.1 to 3600");
				secs = v;
				optind++;
			}
		}
		if (argc - optind < 1)
			return cli_usage_error("stats", "give a mount point");
		return watch(argv + optind, argc - optind, secs, count);
	}
	if (count)
		return cli_usage_error("stats", "--count goes with --watch");
	if (argc - optind != 1)
		return cli_usage_error("stats", "give one mount point");
	if (json && prom)
		return cli_usage_error("stats", "--json and --prometheus exclude each other");
	n = getxattr(argv[optind], MFS_STATS_XATTR, buf, sizeof(buf) - 1);
	if (n < 0) {
		cli_error(argv[optind], "%s", errno == ENODATA || errno == ENOTSUP
						     ? "not a modelfs mount (no " MFS_STATS_XATTR ")"
						     : mfs_strerror(errno));
		return EXIT_FAIL;
	}
	buf[n] = '\0';
	if (output) {
		r = mfs_outfile_open(&out, output, 0644, &err);
		if (!r && !(f = fdopen(dup(out.fd), "w")))
			r = mfs_err_set(&err, -errno, "%s", mfs_strerror(errno));
		if (r) {
			cli_error(output, "%s", mfs_err_msg(&err, r));
			mfs_outfile_abort(&out);
			return EXIT_FAIL;
		}
	}
	if (json) {
		fputs(buf, f);
	} else if (prom) {
		/* The path as given, made absolute: the label should name the mount. */
		if (!realpath(argv[optind], mnt))
			snprintf(mnt, sizeof(mnt), "%s", argv[optind]);
		print_prometheus(f, buf, mnt);
	} else {
		char opts[PATH_MAX + 256];
		ssize_t on = getxattr(argv[optind], MFS_OPTIONS_XATTR, opts, sizeof(opts) - 1);

		if (on > 0) {
			opts[on] = '\0';
			fprintf(f, "%-22s %s\n\n", "options", mfs_sanitize(opts));
		}
		print_human(f, buf);
	}
	if (f == stdout)
		return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
	if (fclose(f) != 0) {
		cli_error(output, "%s", mfs_strerror(errno));
		mfs_outfile_abort(&out);
		return EXIT_FAIL;
	}
	r = mfs_outfile_commit(&out, true, &err);
	if (r) {
		cli_error(output, "%s", mfs_err_msg(&err, r));
		mfs_outfile_abort(&out);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void print_human(FILE *f, const char *buf)
{
	uint64_t v, hits = 0, misses = 0, waits = 0, dec = 0, ns = 0, back = 0;

	for (size_t i = 0; i < mfs_stat_ndescs; i++)
		if (get(buf, mfs_stat_descs[i].key, &v))
			fprintf(f, "%-22s %" PRIu64 "\n", mfs_stat_descs[i].key, v);
	get(buf, "cache_hits", &hits);
	get(buf, "cache_misses", &misses);
	get(buf, "cache_waits", &waits);
	get(buf, "bytes_decompressed", &dec);
	get(buf, "decode_cpu_ns", &ns);
	get(buf, "backing_bytes_read", &back);
	fprintf(f, "\n%-22s %.1f%%\n", "cache hit rate", pct(hits + waits, hits + waits + misses));
	fprintf(f, "%-22s %.0f MB/s\n", "decode speed per core",
		ns ? (double)dec / ((double)ns / 1e9) / 1e6 : 0.0);
	fprintf(f, "%-22s %.3fx\n", "ratio of decoded bytes", back ? (double)dec / (double)back : 0.0);
}
