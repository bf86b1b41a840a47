/* SPDX-License-Identifier: MIT */
/*
 * test_pipe.c - the ordered parallel map: items come back in order whatever
 * the worker timing, worker errors reach consume(), consume() can stop the
 * run early, and zero items or one thread work.
 */
#include <criterion/criterion.h>

#include <stdatomic.h>
#include <unistd.h>

#include "pipe.h"

struct ctx {
	uint64_t expect;
	uint64_t stop_at;
	uint64_t fail_at;
	atomic_uint workers;
	atomic_uint started;
	unsigned int errors_seen;
};

static void *wnew(void *c)
{
	struct ctx *x = c;

	atomic_fetch_add(&x->workers, 1);
	return x;
}

static void wfree(void *w)
{
	struct ctx *x = w;

	atomic_fetch_sub(&x->workers, 1);
}

static int work(void *c, void *w, uint64_t seq, struct mfs_pipe_buf *b, struct mfs_err *err)
{
	struct ctx *x = c;

	atomic_fetch_add(&x->started, 1);
	if (seq % 7 == 3)
		usleep(200); /* let later items overtake this one */
	*(uint64_t *)b->out = seq * 3;
	b->out_len = 8;
	if (seq == x->fail_at)
		return mfs_err_set(err, -EIO, "item %llu failed", (unsigned long long)seq);
	return 0;
}

static int consume(void *c, uint64_t seq, struct mfs_pipe_buf *b, int status,
		   const struct mfs_err *err)
{
	struct ctx *x = c;

	cr_assert_eq(seq, x->expect, "out of order: %llu before %llu", (unsigned long long)seq,
		     (unsigned long long)x->expect);
	x->expect++;
	if (status) {
		cr_assert_eq(status, -EIO);
		cr_assert(strstr(err->msg, "failed"));
		x->errors_seen++;
		return 0;
	}
	cr_assert_eq(*(uint64_t *)b->out, seq * 3);
	if (seq == x->stop_at)
		return -ECANCELED;
	return 0;
}

static const struct mfs_pipe_ops ops = {wnew, wfree, work, consume};

Test(pipe, in_order_with_any_thread_count)
{
	for (unsigned int threads = 1; threads <= 8; threads *= 2) {
		struct ctx x = {.stop_at = UINT64_MAX, .fail_at = 500};

		cr_assert_eq(mfs_pipe_run(&ops, &x, 1000, threads, 16, 16), 0);
		cr_assert_eq(x.expect, 1000);
		cr_assert_eq(x.errors_seen, 1);
		cr_assert_eq(atomic_load(&x.workers), 0, "worker state freed");
	}
}

Test(pipe, consume_stops_the_run)
{
	struct ctx x = {.stop_at = 10, .fail_at = UINT64_MAX};

	cr_assert_eq(mfs_pipe_run(&ops, &x, 100000, 4, 16, 16), -ECANCELED);
	cr_assert_eq(x.expect, 11);
	cr_assert_lt(atomic_load(&x.started), 11 + 2 * 4 + 2 + 1,
		     "no more than the window was started: %u", atomic_load(&x.started));
}

Test(pipe, zero_items)
{
	struct ctx x = {.stop_at = UINT64_MAX, .fail_at = UINT64_MAX};

	cr_assert_eq(mfs_pipe_run(&ops, &x, 0, 3, 16, 16), 0);
	cr_assert_eq(x.expect, 0);
}
