/* SPDX-License-Identifier: MIT */
/*
 * entropy.c - order-0 bounds per tensor (see entropy.h).
 *
 * Chunks are decoded on the thread pipeline and, in file order, each chunk is
 * cut into planes by every applicable transform; histograms accumulate per
 * (split, plane) until the tensor changes, then become the tensor's bounds.
 * Memory: one set of histograms (3 x 16 x 256 counters).
 */
#include "entropy.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtype.h"
#include "pipe.h"
#include "rans.h"
#include "xform.h"

struct hist {
	uint64_t count[MFS_SPLIT_NR][MFS_PLANES_MAX][256];
	uint64_t bytes[MFS_SPLIT_NR][MFS_PLANES_MAX];
	bool used[MFS_SPLIT_NR];
};

struct ent_ctx {
	const struct mfs_archive *ar;
	struct mfs_tensor_bound *out;
	struct hist *h;
	uint32_t tensor; /* the one being accumulated, MFS_TENSOR_NONE before the first */
	uint8_t *planes; /* scratch for transformed bytes */
	struct mfs_err *err;
};

/* The transform and parameter of each split for @dtype; false if it has none. */
static bool split_of(unsigned int split, unsigned int dtype, unsigned int *xform, uint32_t *param)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(dtype);

	switch (split) {
	case MFS_SPLIT_NONE:
		*xform = MFS_XFORM_NONE;
		*param = 0;
		return true;
	case MFS_SPLIT_BYTES:
		*xform = MFS_XFORM_BYTES;
		*param = dt ? dt->block_bytes : 0;
		return dt && dt->block_elems == 1 && mfs_xform_get(MFS_XFORM_BYTES)->param_ok(*param);
	default:
		*xform = MFS_XFORM_FIELDS;
		*param = dtype;
		return mfs_xform_fields_knows(dtype);
	}
}

static double h0_bytes(const uint64_t count[256], uint64_t n)
{
	uint32_t c32[256];
	uint64_t scale = 1;

	if (n == 0)
		return 0.0;
	/* mfs_entropy0 takes 32-bit counts; scaling keeps the proportions. */
	while (n / scale > UINT32_MAX)
		scale *= 2;
	for (int s = 0; s < 256; s++)
		c32[s] = (uint32_t)(count[s] / scale);
	return (double)n * mfs_entropy0(c32, (size_t)(n / scale)) / 8.0;
}

static void finish_tensor(struct ent_ctx *ctx)
{
	struct mfs_tensor_bound *b;

	if (ctx->tensor == MFS_TENSOR_NONE)
		return;
	b = &ctx->out[ctx->tensor];
	b->best = 0;
	for (unsigned int s = 0; s < MFS_SPLIT_NR; s++) {
		b->bound[s] = 0;
		if (!ctx->h->used[s])
			continue;
		for (unsigned int p = 0; p < MFS_PLANES_MAX; p++)
			b->bound[s] += h0_bytes(ctx->h->count[s][p], ctx->h->bytes[s][p]);
		if (b->best == 0 || b->bound[s] < b->best)
			b->best = b->bound[s];
	}
	memset(ctx->h, 0, sizeof(*ctx->h));
}

static int ent_work(void *vctx, void *wctx, uint64_t seq, struct mfs_pipe_buf *b,
		    struct mfs_err *err)
{
	struct ent_ctx *ctx = vctx;
	const struct mfs_chunk *c = mfs_archive_chunk(ctx->ar, (uint32_t)seq);

	if (c->tensor == MFS_TENSOR_NONE)
		return 0;
	b->out_len = c->llen;
	return mfs_archive_read_chunk(ctx->ar, (uint32_t)seq, b->out, c->llen, wctx, err);
}

static int ent_consume(void *vctx, uint64_t seq, struct mfs_pipe_buf *b, int status,
		       const struct mfs_err *werr)
{
	struct ent_ctx *ctx = vctx;
	const struct mfs_chunk *c = mfs_archive_chunk(ctx->ar, (uint32_t)seq);
	unsigned int dtype;

	if (status) {
		*ctx->err = *werr;
		return status;
	}
	if (c->tensor == MFS_TENSOR_NONE)
		return 0;
	if (c->tensor != ctx->tensor) {
		finish_tensor(ctx);
		ctx->tensor = c->tensor;
	}
	dtype = mfs_archive_tensor(ctx->ar, c->tensor)->dtype;
	ctx->out[c->tensor].bytes += c->llen;
	ctx->out[c->tensor].stored += c->plen;
	for (unsigned int s = 0; s < MFS_SPLIT_NR; s++) {
		const struct mfs_xform *x;
		size_t sizes[MFS_PLANES_MAX];
		const uint8_t *p = ctx->planes;
		unsigned int xform, np;
		uint32_t param;

		if (!split_of(s, dtype, &xform, &param))
			continue;
		x = mfs_xform_get(xform);
		x->forward(ctx->planes, b->out, c->llen, param);
		np = x->planes(c->llen, param, sizes);
		for (unsigned int k = 0; k < np; k++) {
			uint32_t h[256];

			mfs_histogram(p, sizes[k], h);
			for (int v = 0; v < 256; v++)
				ctx->h->count[s][k][v] += h[v];
			ctx->h->bytes[s][k] += sizes[k];
			p += sizes[k];
		}
		ctx->h->used[s] = true;
	}
	return 0;
}

static const struct mfs_pipe_ops ent_ops = {
    .worker_new = mfs_pipe_dctx_new,
    .worker_free = mfs_pipe_dctx_free,
    .work = ent_work,
    .consume = ent_consume,
};

int mfs_entropy_bounds(const struct mfs_archive *ar, unsigned int threads,
		       struct mfs_tensor_bound *out, struct mfs_err *err)
{
	const struct mfs_archive_info *info = mfs_archive_info(ar);
	struct ent_ctx ctx = {.ar = ar, .out = out, .tensor = MFS_TENSOR_NONE, .err = err};
	int r;

	memset(out, 0, mfs_archive_ntensors(ar) * sizeof(*out));
	ctx.h = calloc(1, sizeof(*ctx.h));
	ctx.planes = malloc(info->max_chunk ? info->max_chunk : 1);
	if (!ctx.h || !ctx.planes) {
		r = -ENOMEM;
		goto out;
	}
	r = mfs_pipe_run(&ent_ops, &ctx, mfs_archive_nchunks(ar), threads, 1, info->max_chunk);
	if (!r)
		finish_tensor(&ctx);
out:
	free(ctx.h);
	free(ctx.planes);
	return r;
}
