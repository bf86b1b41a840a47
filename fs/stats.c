/* SPDX-License-Identifier: MIT */
/*
 * stats.c - JSON rendering of the counters (see stats.h).
 */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DESC_C(n, p, h) {#n, p, h, MFS_STAT_COUNTER},
#define DESC_S(n, p, h) {#n, p, h, MFS_STAT_NS},
#define DESC_G(n, p, h) {#n, p, h, MFS_STAT_GAUGE},
const struct mfs_stat_desc mfs_stat_descs[] = {MFS_STATS_LIST(DESC_C, DESC_S, DESC_G)};
const size_t mfs_stat_ndescs = sizeof(mfs_stat_descs) / sizeof(mfs_stat_descs[0]);

/* Appends ,"key":value (or { first) at @n in @buf; returns the new length. */
static size_t put(char *buf, size_t cap, size_t n, const char *key, uint64_t v)
{
	int w;

	if (n >= cap)
		return n;
	w = snprintf(buf + n, cap - n, "%s\"%s\":%" PRIu64, n ? "," : "{", key, v);
	return w < 0 ? cap : n + (size_t)w;
}

size_t mfs_stats_json(const struct mfs_stats *s, const struct mfs_stats_gauges *g, char *buf,
		      size_t cap)
{
	size_t n = 0;

	if (!cap)
		return 0;
#define PUT_C(f, p, h) n = put(buf, cap, n, #f, (uint64_t)atomic_load_explicit(&s->f, memory_order_relaxed));
#define PUT_G(f, p, h) n = put(buf, cap, n, #f, g->f);
	MFS_STATS_LIST(PUT_C, PUT_C, PUT_G)
#undef PUT_C
#undef PUT_G
	if (n + 3 > cap) {
		buf[0] = '\0';
		return 0; /* too small: say nothing rather than half an object */
	}
	memcpy(buf + n, "}\n", 3);
	return n + 2;
}
