/* SPDX-License-Identifier: MIT */
/*
 * cmd_stats.c - `modelfs stats MNT`: read the daemon's counters from the
 * xattr user.modelfs.stats on the mount root and print them, with the ratios
 * people actually want (hit rate, decode speed, bytes saved).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "cli.h"
#include "stats.h"

#include "cmds.h"

static const char stats_usage[] =
	"Usage: modelfs stats [--json] MNT\n"
	"Show the counters of the modelfs daemon serving MNT (see README.md, 'Stats',\n"
	"for what each one counts). They count since the mount was made.\n"
	"\n"
	"Options:\n"
	"      --json         print the counters as the daemon reports them (one JSON object)\n"
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

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

int cmd_stats(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {
		"read_requests",      "bytes_served",	     "cache_hits",	  "cache_misses",
		"cache_waits",	      "cache_evictions",     "chunks_decompressed",
		"bytes_decompressed", "backing_bytes_read",  "decompress_ns",	  "checksum_failures",
		"read_errors",	      "prefetch_chunks",     "prefetch_hits",	  "prefetch_waste",
		"prefetch_waits",     "prefetch_pending",    "pinned_hits",	  "pinned_bytes",
		"passthrough_bytes",  "cache_bytes",
		"cache_entries",      "cache_budget",	     NULL,
	};
	char buf[8192];
	bool json = false;
	ssize_t n;
	uint64_t v, hits = 0, misses = 0, waits = 0, dec = 0, ns = 0, back = 0;
	int c;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
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
	if (argc - optind != 1)
		return cli_usage_error("stats", "give one mount point");
	n = getxattr(argv[optind], MFS_STATS_XATTR, buf, sizeof(buf) - 1);
	if (n < 0) {
		cli_error(argv[optind], "%s", errno == ENODATA || errno == ENOTSUP
						     ? "not a modelfs mount (no " MFS_STATS_XATTR ")"
						     : mfs_strerror(errno));
		return EXIT_FAIL;
	}
	buf[n] = '\0';
	if (json) {
		fputs(buf, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; keys[i]; i++)
		if (get(buf, keys[i], &v))
			printf("%-22s %" PRIu64 "\n", keys[i], v);
	get(buf, "cache_hits", &hits);
	get(buf, "cache_misses", &misses);
	get(buf, "cache_waits", &waits);
	get(buf, "bytes_decompressed", &dec);
	get(buf, "decompress_ns", &ns);
	get(buf, "backing_bytes_read", &back);
	printf("\n%-22s %.1f%%\n", "cache hit rate", pct(hits + waits, hits + waits + misses));
	printf("%-22s %.0f MB/s\n", "decode speed", ns ? (double)dec / ((double)ns / 1e9) / 1e6 : 0.0);
	printf("%-22s %.3fx\n", "ratio of decoded bytes", back ? (double)dec / (double)back : 0.0);
	return EXIT_OK;
}
