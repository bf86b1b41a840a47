/* SPDX-License-Identifier: MIT */
/*
 * test_memgov.c - the budgets auto sizing derives from what the daemon sees
 * (fs/memgov.h), over a table of limits, neighbours and models, and the
 * reader of /proc and /sys on this machine.
 */
#include <criterion/criterion.h>

#include "memgov.h"

#include <string.h>

#define MIB (1ull << 20)
#define GIB (1ull << 30)

struct row {
	const char *what;
	uint64_t limit, others, own_base, models_size, models_stored;
	uint64_t cache, pin;
};

/*
 * reserve = max(limit/8, 16M); room = limit - others - own - reserve; cache = room/8 in
 * [4M, 64M], at most 8M while the models fit
 */
static const struct row rows[] = {
	{"edge device, llama.cpp loaded, BF16 model larger than the cap",
	 160 * MIB, 80 * MIB, 8 * MIB, 269 * MIB, 180 * MIB, 52 * MIB / 8, 52 * MIB - 52 * MIB / 8},
	{"same cap before llama.cpp starts: more room, a larger cache",
	 160 * MIB, 4 * MIB, 8 * MIB, 269 * MIB, 180 * MIB, 16 * MIB, 128 * MIB - 16 * MIB},
	{"room for more than the whole model: pins stop at its stored size",
	 512 * MIB, 80 * MIB, 8 * MIB, 700 * MIB, 100 * MIB, 45 * MIB, 100 * MIB},
	{"the model fits beside everything else: no pins, a cache for what is in flight",
	 512 * MIB, 80 * MIB, 8 * MIB, 143 * MIB, 135 * MIB, 8 * MIB, 0},
	{"big machine, nothing open: nothing to pin, a cache for what is in flight",
	 24 * GIB, 1 * GIB, 16 * MIB, 0, 0, 8 * MIB, 0},
	{"others fill the cap: the smallest cache, nothing pinned",
	 160 * MIB, 150 * MIB, 8 * MIB, 269 * MIB, 180 * MIB, 4 * MIB, 0},
	{"others above the cap (a cgroup over its limit): no underflow",
	 160 * MIB, 400 * MIB, 8 * MIB, 269 * MIB, 180 * MIB, 4 * MIB, 0},
	{"no limit known", UINT64_MAX, 0, 0, 1 * GIB, 1 * GIB, 8 * MIB, 0},
	/* Fits with room to spare for the cache and 16M of programs' files: MFS_MEMGOV_CACHE_FIT. */
	{"a model that fits with room to spare", 256 * MIB, 80 * MIB, 20 * MIB, 120 * MIB,
	 115 * MIB, 8 * MIB, 0},
	/* Fits, but 8M would push its pages out: the cache takes what is left. */
	{"a model that fits only with a smaller cache", 256 * MIB, 80 * MIB, 20 * MIB, 133 * MIB,
	 125 * MIB, 7 * MIB, 0},
	/*
	 * Q8_0 beside llama.cpp at -c 256 in 160M: 143 MB against 160 - 12 - 8 - 4 =
	 * 136 available; the kernel keeps most of it: no pins, no drop-behind.
	 */
	{"a model a little larger than what is available fits as well as the kernel can make it",
	 160 * MIB, 12 * MIB, 8 * MIB, 143 * MIB, 136 * MIB, 4 * MIB, 0},
	/* 1.5x what is available and more: pins and drop-behind (the 160M BF16 row above). */
	/* Q8_0 beside llama.cpp in 256M (the edge sweep): the smallest cache, no pins. */
	{"a model that fits only just", 256 * MIB, 80 * MIB, 20 * MIB, 137 * MIB, 130 * MIB,
	 4 * MIB, 0},
};

Test(memgov, sizing_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct mfs_memgov_in in = {r->limit, r->others, r->own_base, r->models_size,
					   r->models_stored, false};
		struct mfs_memgov_out out;

		mfs_memgov_size(&in, &out);
		cr_assert_eq(out.cache, r->cache, "%s: cache %llu MiB, expected %llu", r->what,
			     (unsigned long long)(out.cache / MIB), (unsigned long long)(r->cache / MIB));
		cr_assert_eq(out.pin, r->pin, "%s: pin %llu MiB, expected %llu", r->what,
			     (unsigned long long)(out.pin / MIB), (unsigned long long)(r->pin / MIB));
		/* Drop-behind exactly where pins are considered: the models do not fit. */
		if (r->pin)
			cr_assert_eq(out.drop_window,
				     (r->limit / 8 > 16 * MIB ? r->limit / 8 : 16 * MIB) / 2,
				     "%s: drop window %llu", r->what,
				     (unsigned long long)out.drop_window);
		if (strstr(r->what, "fit") && (!strstr(r->what, "larger") || strstr(r->what, "little")) &&
		    !strstr(r->what, "more than the whole"))
			cr_assert_eq(out.drop_window, 0, "%s: the page cache does the job", r->what);
		/* The page cache gets what nobody else holds. */
		if (r->limit != UINT64_MAX && r->limit > r->others + r->own_base + out.cache + out.pin)
			cr_assert_eq(out.page_room,
				     r->limit - r->others - r->own_base - out.cache - out.pin,
				     "%s: page room", r->what);
		else if (r->limit != UINT64_MAX)
			cr_assert_eq(out.page_room, 0, "%s: page room", r->what);
		/* Whatever the input, what we keep leaves others and the reserve their room. */
		if (out.pin)
			cr_assert_leq(r->others + r->own_base + out.cache + out.pin + r->limit / 8,
				      r->limit, "%s: over the limit", r->what);
	}
}

Test(memgov, grows_others_shrinks_budgets)
{
	struct mfs_memgov_in in = {160 * MIB, 0, 8 * MIB, 269 * MIB, 180 * MIB, false};
	struct mfs_memgov_out prev, out;

	mfs_memgov_size(&in, &prev);
	for (in.others = 4 * MIB; in.others < 200 * MIB; in.others += 4 * MIB) {
		mfs_memgov_size(&in, &out);
		cr_assert_leq(out.cache, prev.cache, "others %llu MiB",
			      (unsigned long long)(in.others / MIB));
		cr_assert_leq(out.pin, prev.pin, "others %llu MiB", (unsigned long long)(in.others / MIB));
		prev = out;
	}
	cr_assert_eq(prev.pin, 0);
	cr_assert_eq(prev.cache, MFS_MEMGOV_CACHE_MIN);
}

/*
 * Quantized models (stored/original above 4/5): no pins. Until a reader
 * re-reads, the kernel decides; then a resident set of pages, the page room
 * less the window and the programs' slack, and a small window behind the
 * reader. Models that shrink more keep their pins whatever the reader does.
 */
struct keep_row {
	const char *what;
	uint64_t limit, others, own_base, models_size, models_stored;
	bool cycling;
	uint64_t pin, window, keep;
};

#define PAGES(limit, others, own) ((limit) - (others) - (own) - MFS_MEMGOV_CACHE_MIN)
static const struct keep_row keep_rows[] = {
	{"Q4_K_M beside llama.cpp in 176M, before any re-read: the kernel's LRU", 176 * MIB,
	 124 * MIB, 8 * MIB, 82 * MIB, 79 * MIB, false, 0, 0, 0},
	{"the same once the reader cycles: a resident set of pages", 176 * MIB, 124 * MIB, 8 * MIB,
	 82 * MIB, 79 * MIB, true, 0, MFS_MEMGOV_KEEP_WINDOW,
	 PAGES(176 * MIB, 124 * MIB, 8 * MIB) - MFS_MEMGOV_KEEP_SPARE},
	{"Q8_0 in 224M, cycling", 224 * MIB, 84 * MIB, 8 * MIB, 143 * MIB, 136 * MIB, true, 0,
	 MFS_MEMGOV_KEEP_WINDOW,
	 PAGES(224 * MIB, 84 * MIB, 8 * MIB) - MFS_MEMGOV_KEEP_SPARE},
	{"no room beside the reader: drop-behind, nothing kept", 160 * MIB, 140 * MIB, 8 * MIB,
	 82 * MIB, 79 * MIB, true, 0, MFS_MEMGOV_KEEP_WINDOW, 0},
	{"others over the limit: no underflow", 160 * MIB, 400 * MIB, 8 * MIB, 82 * MIB, 79 * MIB,
	 true, 0, MFS_MEMGOV_KEEP_WINDOW, 0},
	{"a quantized model that fits: the kernel, cycling or not", 256 * MIB, 80 * MIB, 8 * MIB,
	 82 * MIB, 79 * MIB, true, 0, 0, 0},
	{"BF16 cycling: pins and its own window, no resident set of pages", 160 * MIB, 80 * MIB,
	 8 * MIB, 269 * MIB, 180 * MIB, true, 52 * MIB - 52 * MIB / 8, 10 * MIB, 0},
	{"exactly 5/4 counts as shrinking: pins", 160 * MIB, 80 * MIB, 8 * MIB, 250 * MIB,
	 200 * MIB, true, 52 * MIB - 52 * MIB / 8, 10 * MIB, 0},
};

Test(memgov, keep_table)
{
	for (size_t i = 0; i < sizeof(keep_rows) / sizeof(keep_rows[0]); i++) {
		const struct keep_row *r = &keep_rows[i];
		struct mfs_memgov_in in = {r->limit, r->others, r->own_base, r->models_size,
					   r->models_stored, r->cycling};
		struct mfs_memgov_out out;

		mfs_memgov_size(&in, &out);
		cr_assert_eq(out.pin, r->pin, "%s: pin %llu", r->what, (unsigned long long)out.pin);
		cr_assert_eq(out.drop_window, r->window, "%s: window %llu", r->what,
			     (unsigned long long)out.drop_window);
		cr_assert_eq(out.keep, r->keep, "%s: keep %llu, expected %llu", r->what,
			     (unsigned long long)out.keep, (unsigned long long)r->keep);
		cr_assert_eq(out.cycle_only, r->window == MFS_MEMGOV_KEEP_WINDOW,
			     "%s: prefetch only what the reader came back to, once it cycles", r->what);
		/* What is kept and the window stay within what the page cache has. */
		cr_assert_leq(out.keep + (out.keep ? out.drop_window : 0), out.page_room, "%s",
			      r->what);
		if (r->models_size * 4 < r->models_stored * 5 && r->models_size > r->limit / 2)
			cr_assert_eq(out.cache, MFS_MEMGOV_CACHE_MIN, "%s: the smallest cache",
				     r->what);
	}
}

/* The keep budget grows and falls with what the neighbours hold. */
Test(memgov, keep_follows_others)
{
	struct mfs_memgov_in in = {176 * MIB, 0, 8 * MIB, 82 * MIB, 79 * MIB, true};
	struct mfs_memgov_out prev, out;

	in.others = 100 * MIB; /* 82 MiB do not fit in the 64 left */
	mfs_memgov_size(&in, &prev);
	cr_assert_eq(prev.keep, 64 * MIB - MFS_MEMGOV_KEEP_SPARE);
	for (in.others = 104 * MIB; in.others < 200 * MIB; in.others += 4 * MIB) {
		mfs_memgov_size(&in, &out);
		cr_assert_leq(out.keep, prev.keep, "others %llu MiB",
			      (unsigned long long)(in.others / MIB));
		prev = out;
	}
	cr_assert_eq(prev.keep, 0);
}

Test(memgov, reads_this_machine)
{
	struct mfs_memview v;

	mfs_memgov_read(&v, 0);
	cr_assert_gt(v.limit, 16 * MIB, "a limit was found");
	cr_assert_lt(v.others, v.limit, "others below the limit on an idle test machine");
	cr_assert_gt(v.own, 0, "our own RssAnon");
}

/*
 * The kernel took pins back: the budget falls to what survived, less a step;
 * it then grows a step per calm stretch, falls again on the next reclaim, and
 * the cap is forgotten when the arithmetic allows much more (a hog exited).
 */
Test(memgov, pin_feedback)
{
	struct mfs_pin_feedback f;
	const uint64_t want = 40 * MIB;

	mfs_memgov_feedback_init(&f);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(mfs_memgov_feedback(&f, 0, 0, 40 * MIB, want), want,
			     "the arithmetic's budget before any reclaim");
	cr_assert_eq(mfs_memgov_feedback(&f, 12, 0, 30 * MIB, want), 29 * MIB,
		     "survivors less a step");
	for (unsigned int i = 1; i < MFS_MEMGOV_CALM_PERIODS; i++)
		cr_assert_eq(mfs_memgov_feedback(&f, 12, 0, 29 * MIB, want), 29 * MIB, "calm %u", i);
	cr_assert_eq(mfs_memgov_feedback(&f, 12, 0, 29 * MIB, want), 30 * MIB,
		     "a calm stretch: one step more");
	cr_assert_eq(mfs_memgov_feedback(&f, 12, 0, 29 * MIB, 20 * MIB), 20 * MIB,
		     "never above the arithmetic's budget");
	cr_assert_eq(mfs_memgov_feedback(&f, 13, 0, 25 * MIB, want), 24 * MIB, "reclaimed again");
	cr_assert_eq(mfs_memgov_feedback(&f, 13, 0, 24 * MIB, want + 8 * MIB), 24 * MIB,
		     "a little more room: the cap holds");
	cr_assert_eq(mfs_memgov_feedback(&f, 13, 0, 24 * MIB, want + 17 * MIB), want + 17 * MIB,
		     "much more room (a neighbour exited): the cap is forgotten");
	cr_assert_eq(mfs_memgov_feedback(&f, 14, 0, MIB / 2, want), 0, "nothing survived: no underflow");
}

/*
 * Refaults of kept chunks (bytes, unit 1): the keep budget falls by what the
 * kernel evicted, at least a step, then grows a step per calm stretch.
 */
Test(memgov, keep_feedback)
{
	struct mfs_pin_feedback f;
	const uint64_t want = 30 * MIB;

	mfs_memgov_feedback_init(&f);
	cr_assert_eq(mfs_memgov_feedback(&f, 0, 1, 0, want), want, "nothing refaulted yet");
	cr_assert_eq(mfs_memgov_feedback(&f, 5 * MIB, 1, 30 * MIB, want), 25 * MIB,
		     "5 MiB evicted: 5 MiB less");
	cr_assert_eq(mfs_memgov_feedback(&f, 5 * MIB + 4096, 1, 25 * MIB, want), 24 * MIB,
		     "a page evicted: at least a step");
	/* A PSI wakeup between periods reads the cap and counts no calm period. */
	for (int i = 0; i < 100; i++)
		cr_assert_eq(mfs_memgov_feedback_cap(&f, want), 24 * MIB, "cap, look %d", i);
	cr_assert_eq(mfs_memgov_feedback_cap(&f, 20 * MIB), 20 * MIB, "never above the budget");
	for (unsigned int i = 1; i < MFS_MEMGOV_CALM_PERIODS; i++)
		cr_assert_eq(mfs_memgov_feedback(&f, 5 * MIB + 4096, 1, 24 * MIB, want), 24 * MIB,
			     "calm %u", i);
	cr_assert_eq(mfs_memgov_feedback(&f, 5 * MIB + 4096, 1, 24 * MIB, want), 25 * MIB,
		     "a calm stretch: one step more");
	cr_assert_eq(mfs_memgov_feedback(&f, 100 * MIB, 1, 24 * MIB, want), 0,
		     "more evicted than kept: no underflow");
}
