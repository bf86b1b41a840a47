/* SPDX-License-Identifier: MIT */
/*
 * extract.c - whole-container decode for verify and unpack (see extract.h).
 */
#include "extract.h"

#include <string.h>
#include <unistd.h>

#include "pipe.h"
#include "writer.h"
#include "xxh.h"

struct extract_ctx {
	const struct mfs_archive *ar;
	const struct mfs_extract_opts *o;
	struct mfs_extract_result *res;
	XXH3_state_t *hash;
	uint64_t done, total;
	int io_error; /* first non-corruption failure */
	struct mfs_err *err;
};

static int extract_work(void *vctx, void *wctx, uint64_t seq, struct mfs_pipe_buf *b,
			struct mfs_err *err)
{
	struct extract_ctx *ctx = vctx;
	const struct mfs_chunk *c = mfs_archive_chunk(ctx->ar, (uint32_t)seq);

	const uint8_t *stored;
	int r;

	b->out_len = c->llen;
	if (!mfs_archive_digest(ctx->ar, (uint32_t)seq))
		return mfs_archive_read_chunk(ctx->ar, (uint32_t)seq, b->out, c->llen, wctx, err);
	/* Format 1.2: the stored bytes against their SHA-256 too. */
	r = mfs_archive_read_stored(ctx->ar, (uint32_t)seq, &stored, wctx, err);
	if (!r)
		r = mfs_archive_check_digest(ctx->ar, (uint32_t)seq, stored, err);
	if (!r)
		r = mfs_archive_decode_stored(ctx->ar, (uint32_t)seq, stored, b->out, c->llen, wctx,
					      err);
	return r;
}

static int extract_consume(void *vctx, uint64_t seq, struct mfs_pipe_buf *b, int status,
			   const struct mfs_err *werr)
{
	struct extract_ctx *ctx = vctx;
	int r;

	if (status) {
		const char *msg = mfs_err_msg(werr, status);

		if (status != -EFSCORRUPTED && !ctx->io_error)
			ctx->io_error = status;
		ctx->res->bad_chunks++;
		if (ctx->o->bad_chunk)
			ctx->o->bad_chunk(ctx->o->arg, (uint32_t)seq, status, msg);
		if (!ctx->o->keep_going) {
			mfs_err_set(ctx->err, status, "%s", msg);
			return status;
		}
		return 0;
	}
	if (ctx->res->bad_chunks == 0)
		XXH3_128bits_update(ctx->hash, b->out, b->out_len);
	if (ctx->o->out_fd >= 0) {
		r = mfs_write_all(ctx->o->out_fd, b->out, b->out_len);
		if (r)
			return ctx->o->out_name
				       ? mfs_err_set(ctx->err, r, "cannot write %s: %s",
						     ctx->o->out_name, mfs_strerror(r))
				       : mfs_err_set(ctx->err, r, "write failed: %s",
						     mfs_strerror(r));
	}
	ctx->done += b->out_len;
	if (ctx->o->progress)
		ctx->o->progress(ctx->o->arg, ctx->done, ctx->total);
	return 0;
}

static const struct mfs_pipe_ops extract_ops = {
    .worker_new = mfs_pipe_dctx_new,
    .worker_free = mfs_pipe_dctx_free,
    .work = extract_work,
    .consume = extract_consume,
};

int mfs_extract(const struct mfs_archive *ar, const struct mfs_extract_opts *o,
		struct mfs_extract_result *res, struct mfs_err *err)
{
	const struct mfs_archive_info *info = mfs_archive_info(ar);
	struct extract_ctx ctx = {.ar = ar, .o = o, .res = res, .err = err};
	unsigned int threads = o->threads;
	XXH128_hash_t digest;
	int r;

	memset(res, 0, sizeof(*res));
	ctx.total = info->header.original_size;
	ctx.hash = XXH3_createState();
	if (!ctx.hash || XXH3_128bits_reset(ctx.hash) != XXH_OK) {
		XXH3_freeState(ctx.hash);
		return -ENOMEM;
	}
	r = mfs_pipe_run(&extract_ops, &ctx, mfs_archive_nchunks(ar), threads, 1,
			 info->max_chunk);
	if (r)
		goto out;
	if (res->bad_chunks) {
		if (ctx.io_error)
			r = mfs_err_set(err, ctx.io_error, "%llu chunks could not be read",
					(unsigned long long)res->bad_chunks);
		else
			r = mfs_err_set(err, -EFSCORRUPTED, "%llu corrupt chunks",
					(unsigned long long)res->bad_chunks);
		goto out;
	}
	digest = XXH3_128bits_digest(ctx.hash);
	res->hash_checked = true;
	res->hash_ok = digest.low64 == info->footer.hash_lo && digest.high64 == info->footer.hash_hi;
	if (!res->hash_ok)
		r = mfs_err_set(err, -EFSCORRUPTED, "whole-file checksum mismatch");
out:
	XXH3_freeState(ctx.hash);
	return r;
}
