/* SPDX-License-Identifier: MIT */
/*
 * test_prefetch.c - the prefetch policy without FUSE, cache or workers: a
 * list of reads in, the chunks it asks for out. File order with a growing
 * window, a jump that starts over, the plan across layers and around its
 * cycle, rows of the embeddings and a scan of them, a reader that follows
 * the file where file and plan part, the cap,
 * and a hostile plan whose reads stay bounded.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "prefetch.h"

#define K 1024u
#define MAXN 100000u

struct rec {
	uint32_t len; /* every chunk's length */
	uint32_t issued[4096];
	uint32_t n;
	uint32_t stop_after; /* issue() says stop after this many (0: never) */
};

static uint32_t rec_len(void *ctx, uint32_t idx)
{
	return ((struct rec *)ctx)->len;
}

static bool rec_issue(void *ctx, uint32_t idx)
{
	struct rec *r = ctx;

	if (r->stop_after && r->n >= r->stop_after)
		return false;
	cr_assert_lt(r->n, 4096, "one read asked for more than 4096 chunks");
	r->issued[r->n++] = idx;
	return true;
}

static const struct mfs_prefetch_ops ops = {rec_len, rec_issue};
static const struct mfs_prefetch_env env = {64u << 20, 0, 1};

/* A read of chunks [@a, @b]; returns how many chunks it made the policy ask for. */
static uint32_t read_(struct mfs_prefetcher *pf, struct rec *r, uint32_t a, uint32_t b)
{
	r->n = 0;
	mfs_prefetch_read(pf, a, b, (uint64_t)(b - a + 1) * r->len, &env);
	return r->n;
}

Test(prefetch, file_order_window_grows_then_a_jump_starts_over)
{
	struct rec r = {.len = 256 * K};
	struct mfs_prefetcher pf;
	uint32_t before = 0, got;

	mfs_prefetch_init(&pf, 1000, NULL, &ops, &r);
	/* Sequential reads from the start: after the first, what is asked for follows the read. */
	cr_assert_eq(read_(&pf, &r, 0, 0), 0, "one read is no streak");
	for (uint32_t i = 1; i < 6; i++) {
		got = read_(&pf, &r, i, i);
		cr_assert_gt(got + before, 0, "read %u: nothing prefetched", i);
		for (uint32_t k = 0; k < got; k++)
			cr_assert_gt(r.issued[k], i, "prefetched %u, behind read %u", r.issued[k],
				     i);
		before += got;
	}
	/* The window doubles per read: after 6 reads it reaches well past 4 chunks. */
	cr_assert_geq(before, 32, "only %u chunks ahead after 6 sequential reads", before);
	/* A jump: nothing at first (one read is no streak), then it starts small again. */
	cr_assert_eq(read_(&pf, &r, 500, 500), 0);
	got = read_(&pf, &r, 501, 501);
	cr_assert_gt(got, 0);
	cr_assert_leq(got, 2, "a new streak started with %u chunks", got);
	cr_assert_eq(r.issued[0], 502);
	mfs_prefetch_destroy(&pf);
}

Test(prefetch, the_cap_and_issue_refusing_stop_it)
{
	struct rec r = {.len = 1u << 20};
	struct mfs_prefetch_env small = {3u << 20, 0, 1};
	struct mfs_prefetcher pf;
	uint32_t furthest = 0;

	mfs_prefetch_init(&pf, 1000, NULL, &ops, &r);
	for (uint32_t i = 0; i < 20; i++) {
		r.n = 0;
		mfs_prefetch_read(&pf, i, i, r.len, &small);
		/* Never more than the cap ahead of the reader. */
		for (uint32_t k = 0; k < r.n; k++) {
			cr_assert_leq(r.issued[k], i + 3, "read %u prefetched %u", i, r.issued[k]);
			furthest = r.issued[k] > furthest ? r.issued[k] : furthest;
		}
	}
	cr_assert_eq(furthest, 19 + 3, "the window never reached the cap");
	r.stop_after = 1;
	cr_assert_leq(read_(&pf, &r, 20, 20), 1);
	mfs_prefetch_destroy(&pf);
}

/* Chunks 0-1 metadata, 2-9 embeddings (sparse), then 3 layers of 10 chunks, cycle at layer 0. */
static void layered_plan(struct mfs_plan_order *o)
{
	struct mfs_plan_entry runs[] = {
	    {2, 8, MFS_PLAN_SPARSE},
	    {10, 10, MFS_PLAN_CYCLE},
	    {20, 10, 0},
	    {30, 10, 0},
	};

	cr_assert_eq(mfs_plan_order_build(o, runs, 4, 40), 0);
}

Test(prefetch, the_plan_across_layers_and_around_the_cycle)
{
	struct rec r = {.len = 256 * K};
	struct mfs_plan_order o;
	struct mfs_prefetcher pf;
	bool wrapped = false;

	layered_plan(&o);
	mfs_prefetch_init(&pf, 40, &o, &ops, &r);
	/* A token: layers in plan order. The end of layer 2 leads back to layer 0. */
	for (uint32_t c = 10; c < 40; c++) {
		read_(&pf, &r, c, c);
		for (uint32_t k = 0; k < r.n; k++) {
			cr_assert(r.issued[k] >= 10,
				  "read %u prefetched chunk %u outside the layers", c, r.issued[k]);
			if (c >= 20 && r.issued[k] < 20)
				wrapped = true;
		}
	}
	cr_assert(wrapped, "reads past layer 0 never prefetched layer 0 again");
	mfs_prefetch_destroy(&pf);
	mfs_plan_order_release(&o);
}

Test(prefetch, rows_of_the_embeddings_alone_but_a_scan_of_them_in_file_order)
{
	struct rec r = {.len = 256 * K};
	struct mfs_plan_order o;
	struct mfs_prefetcher pf;
	bool ahead = false;

	layered_plan(&o);
	mfs_prefetch_init(&pf, 40, &o, &ops, &r);
	/* Inference: a row here and there asks for nothing. */
	read_(&pf, &r, 12, 12);
	cr_assert_eq(read_(&pf, &r, 7, 7), 0, "a row read asked for %u chunks", r.n);
	cr_assert_eq(read_(&pf, &r, 4, 4), 0, "a row read asked for %u chunks", r.n);
	cr_assert_eq(read_(&pf, &r, 5, 5), 0, "two rows in a row are no scan yet");
	/* A scan: the third row in a row asks for what follows in the file. */
	read_(&pf, &r, 6, 6);
	for (uint32_t k = 0; k < r.n; k++) {
		cr_assert_gt(r.issued[k], 6, "a scan at 6 asked for chunk %u behind it", r.issued[k]);
		ahead |= r.issued[k] == 7;
	}
	cr_assert(ahead, "a scan of the embeddings at row 6 did not ask for row 7");
	mfs_prefetch_destroy(&pf);
	mfs_plan_order_release(&o);
}

Test(prefetch, a_reader_following_the_file_gets_file_order)
{
	struct rec r = {.len = 256 * K};
	struct mfs_plan_order o;
	struct mfs_prefetcher pf;
	/* The plan reads layer 2 before layer 1. */
	struct mfs_plan_entry runs[] = {{0, 10, MFS_PLAN_CYCLE}, {20, 10, 0}, {10, 10, 0}};

	cr_assert_eq(mfs_plan_order_build(&o, runs, 3, 30), 0);
	mfs_prefetch_init(&pf, 30, &o, &ops, &r);
	/* cp reads 0..29 in file order: past chunk 9 it must ask for 10, not 20. */
	for (uint32_t c = 0; c < 12; c++)
		read_(&pf, &r, c, c);
	for (uint32_t k = 0; k < r.n; k++)
		cr_assert_lt(r.issued[k], 20, "file reader at 11 got plan chunk %u", r.issued[k]);
	mfs_prefetch_destroy(&pf);
	mfs_plan_order_release(&o);
}

/*
 * One CYCLE position and 50,000 SPARSE ones, 1-byte chunks (a container
 * verify calls ok): every read asks for at most MFS_PREFETCH_MAX_STEPS
 * chunks, plus the small neighbours of each.
 */
Test(prefetch, a_hostile_plan_costs_bounded_steps)
{
	static struct mfs_plan_entry runs[2] = {{0, 1, MFS_PLAN_CYCLE},
						{1, 50000, MFS_PLAN_SPARSE}};
	struct rec r = {.len = 1};
	struct mfs_plan_order o;
	struct mfs_prefetcher pf;

	cr_assert_eq(mfs_plan_order_build(&o, runs, 2, 50001), 0);
	mfs_prefetch_init(&pf, 50001, &o, &ops, &r);
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t c = (i * 7919u) % 50001;

		cr_assert_leq(read_(&pf, &r, c, c), 3 * MFS_PREFETCH_MAX_STEPS);
	}
	mfs_prefetch_destroy(&pf);
	mfs_plan_order_release(&o);
}
