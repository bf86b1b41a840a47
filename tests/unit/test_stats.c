/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - the one list of counters (fs/stats.h) against what users
 * read: the JSON the daemon serves and the list of counters in modelfs(1).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc((size_t)n + 1, 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

Test(stats, every_counter_is_in_the_json_and_documented_in_the_man_page)
{
	static struct mfs_stats s;
	struct mfs_stats_gauges g = {0};
	char json[4096], key[80];
	char *man = slurp(MFS_SOURCE_ROOT "/packaging/man/modelfs.1");
	size_t len = mfs_stats_json(&s, &g, json, sizeof(json));

	cr_assert_gt(len, 0);
	cr_assert_eq(json[0], '{');
	cr_assert_eq(json[len - 1], '\n');
	for (size_t i = 0; i < mfs_stat_ndescs; i++) {
		const struct mfs_stat_desc *d = &mfs_stat_descs[i];
		char row[96], row2[96], row3[96];

		snprintf(key, sizeof(key), "\"%s\":0", d->key);
		cr_assert_not_null(strstr(json, key), "%s not in the JSON", d->key);
		/* An item of its own, or one shared with a neighbour (".B a, b"). */
		snprintf(row, sizeof(row), "\n.TP\n.B %s\n", d->key);
		snprintf(row2, sizeof(row2), "\n.TP\n.B %s, ", d->key);
		snprintf(row3, sizeof(row3), ", %s\n", d->key);
		cr_assert(strstr(man, row) || strstr(man, row2) || strstr(man, row3),
			  "modelfs(1) does not list the counter %s", d->key);
		cr_assert(d->help[0] && d->prom[0]);
		cr_assert_eq(strstr(d->prom, "_total") != NULL, d->kind != MFS_STAT_GAUGE,
			     "%s: counters and only counters end in _total", d->prom);
	}
	free(man);
}

Test(stats, a_small_buffer_gets_nothing_rather_than_half_an_object)
{
	static struct mfs_stats s;
	struct mfs_stats_gauges g = {0};
	char buf[64];

	cr_assert_eq(mfs_stats_json(&s, &g, buf, sizeof(buf)), 0);
	cr_assert_eq(buf[0], '\0');
}
