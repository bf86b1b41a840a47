/* SPDX-License-Identifier: MIT */
/*
 * pack.c - packing a model file (see pack.h).
 *
 * Two passes over the thread pool. With --codec auto, the first picks each
 * tensor's method: workers read a chunk of it and try every
 * candidate on one of them (method.h). The second packs: workers pread their chunk,
 * checksum it and encode it with its tensor's method; the calling thread
 * takes chunks back in order, feeds the whole-file hash and appends them to
 * the container. Only the sampled chunks are read twice.
 */
#include "pack.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "dtype.h"
#include "layout.h"
#include "method.h"
#include "model.h"
#include "outfile.h"
#include "pipe.h"
#include "plan.h"
#include "writer.h"
#include "xxh.h"

#define STORED_RAW 1 /* pipe_buf flag: chunk kept uncompressed */

struct pack_ctx {
	const struct mfs_src *src;
	const struct mfs_layout_chunk *chunks;
	const struct mfs_method *methods; /* per tensor */
	struct mfs_method plain;	  /* for chunks of no tensor */
	struct mfs_writer *w;
	XXH3_state_t *hash;
	const struct mfs_pack_opts *o;
	struct mfs_pack_result *res;
	uint64_t done;
	struct mfs_err *err;
};

static void *worker_new(void *ctx)
{
	return mfs_cctx_new();
}

static void worker_free(void *wctx)
{
	mfs_cctx_free(wctx);
}

/* Is @stored bytes for @len worth a decompression on every read? */
static int worth_it(size_t stored, size_t len)
{
	return stored * 100 < len * 99;
}

static const struct mfs_method *method_of(const struct pack_ctx *ctx,
					 const struct mfs_layout_chunk *c)
{
	return c->tensor == MFS_TENSOR_NONE ? &ctx->plain : &ctx->methods[c->tensor];
}

static int pack_work(void *vctx, void *wctx, uint64_t seq, struct mfs_pipe_buf *b,
		     struct mfs_err *err)
{
	struct pack_ctx *ctx = vctx;
	const struct mfs_layout_chunk *c = &ctx->chunks[seq];
	const struct mfs_method *m = method_of(ctx, c);
	ssize_t n;
	int r;

	r = mfs_src_read(ctx->src, b->in, c->length, c->offset, err);
	if (r)
		return r;
	b->in_len = c->length;
	b->aux = XXH3_64bits(b->in, c->length);
	if (m->codec == MFS_CODEC_STORE) {
		b->flags = STORED_RAW;
		return 0;
	}
	n = mfs_block_encode(wctx, m->codec, m->level, m->xform, m->xparam, b->out,
			     mfs_block_bound(m->codec, m->xform, m->xparam, c->length), b->in,
			     c->length, err);
	if (n < 0)
		return (int)n;
	if (!worth_it((size_t)n, c->length))
		b->flags = STORED_RAW;
	b->out_len = (size_t)n;
	return 0;
}

static int pack_consume(void *vctx, uint64_t seq, struct mfs_pipe_buf *b, int status,
			const struct mfs_err *werr)
{
	struct pack_ctx *ctx = vctx;
	const struct mfs_layout_chunk *lc = &ctx->chunks[seq];
	const struct mfs_method *m = method_of(ctx, lc);
	struct mfs_chunk c = {0};
	int raw = b->flags & STORED_RAW;
	int r;

	if (status) {
		*ctx->err = *werr;
		return mfs_err_prefix(ctx->err, status, "chunk %llu at offset %llu",
				      (unsigned long long)seq, (unsigned long long)lc->offset);
	}
	XXH3_128bits_update(ctx->hash, b->in, b->in_len);
	c.loff = lc->offset;
	c.llen = lc->length;
	c.checksum = b->aux;
	c.tensor = lc->tensor;
	c.flags = lc->flags;
	c.codec = raw ? MFS_CODEC_STORE : m->codec;
	c.xform = raw ? MFS_XFORM_NONE : m->xform;
	c.xparam = raw ? 0 : m->xparam;
	r = mfs_writer_add(ctx->w, &c, raw ? b->in : b->out, raw ? b->in_len : b->out_len,
			   ctx->err);
	if (r)
		return r;
	ctx->res->raw_chunks += raw ? 1 : 0;
	ctx->done += lc->length;
	if (ctx->o->progress)
		ctx->o->progress(ctx->o->progress_arg, ctx->done, ctx->res->original_size,
				 mfs_writer_offset(ctx->w));
	return 0;
}

static const struct mfs_pipe_ops pack_ops = {
	.worker_new = worker_new,
	.worker_free = worker_free,
	.work = pack_work,
	.consume = pack_consume,
};

/* ---- choosing each tensor's method (--codec auto) -------------------------- */

struct coders {
	struct mfs_cctx *c;
	struct mfs_dctx *d;
};

static void *coders_new(void *ctx)
{
	struct coders *k = calloc(1, sizeof(*k));

	if (k && (!(k->c = mfs_cctx_new()) || !(k->d = mfs_dctx_new()))) {
		mfs_cctx_free(k->c);
		free(k);
		k = NULL;
	}
	return k;
}

static void coders_free(void *wctx)
{
	struct coders *k = wctx;

	mfs_cctx_free(k->c);
	mfs_dctx_free(k->d);
	free(k);
}

struct select_ctx {
	const struct mfs_src *src;
	const struct mfs_model *model;
	const struct mfs_layout_chunk *chunks;
	const uint32_t *first, *count; /* each tensor's chunks */
	int zstd_level;
	double min_decode;
	bool fast; /* also try planes at level 1 */
	struct mfs_method *methods;
	struct mfs_err *err;
};

/* Tensors smaller than this get their first candidate untried: too little to matter. */
#define SELECT_MIN_BYTES (16u << 10)

static int select_work(void *vctx, void *wctx, uint64_t t, struct mfs_pipe_buf *b,
		       struct mfs_err *err)
{
	struct select_ctx *ctx = vctx;
	struct coders *k = wctx;
	struct mfs_method cand[MFS_METHOD_MAX];
	struct mfs_method_trial trials[MFS_METHOD_MAX];
	const struct mfs_layout_chunk *c;
	const uint8_t *sample = b->in;
	size_t len;
	unsigned int n;
	int r;

	n = mfs_method_candidates(ctx->model->tensors[t].dtype, ctx->zstd_level, ctx->fast, cand);
	b->aux = 0;
	if (ctx->count[t] == 0 || ctx->model->tensors[t].size < SELECT_MIN_BYTES)
		return 0;
	/* One chunk from the middle: a tensor's weights are alike throughout. */
	c = &ctx->chunks[ctx->first[t] + ctx->count[t] / 2];
	r = mfs_src_read(ctx->src, b->in, c->length, c->offset, err);
	if (r)
		return r;
	len = c->length;
	r = mfs_method_choose(k->c, k->d, cand, n, &sample, &len, 1, ctx->min_decode, trials, err);
	if (r < 0)
		return r;
	b->aux = (uint64_t)r;
	return 0;
}

static int select_consume(void *vctx, uint64_t t, struct mfs_pipe_buf *b, int status,
			  const struct mfs_err *werr)
{
	struct select_ctx *ctx = vctx;
	struct mfs_method cand[MFS_METHOD_MAX];

	if (status) {
		*ctx->err = *werr;
		return mfs_err_prefix(ctx->err, status, "choosing a method for tensor '%s'",
				      ctx->model->tensors[t].name);
	}
	mfs_method_candidates(ctx->model->tensors[t].dtype, ctx->zstd_level, ctx->fast, cand);
	ctx->methods[t] = cand[b->aux];
	return 0;
}

static const struct mfs_pipe_ops select_ops = {
	.worker_new = coders_new,
	.worker_free = coders_free,
	.work = select_work,
	.consume = select_consume,
};

/*
 * Each tensor's method: measured (auto), the dtype's planes method (planes),
 * or the codec asked for, without a transform. @methods has ntensors entries.
 */
static int choose_methods(const struct mfs_pack_opts *o, const struct mfs_src *src,
			  const struct mfs_model *m, const struct mfs_layout_chunk *chunks,
			  uint32_t nchunks, unsigned int threads, struct mfs_method *methods,
			  struct mfs_err *err)
{
	struct select_ctx ctx = {.src = src, .model = m, .chunks = chunks, .methods = methods,
				 .err = err, .zstd_level = o->level,
				 .min_decode = o->min_decode_mbs > 0 ? o->min_decode_mbs
								     : MFS_MIN_DECODE_DEFAULT};
	ctx.fast = ctx.min_decode > MFS_MIN_DECODE_DEFAULT;
	uint32_t *first = NULL, *count = NULL, maxlen = 0;
	int r;

	for (uint32_t t = 0; t < m->ntensors; t++) {
		if (o->codec == MFS_PACK_CODEC_AUTO) {
			struct mfs_method cand[MFS_METHOD_MAX];

			mfs_method_candidates(m->tensors[t].dtype, o->level, ctx.fast, cand);
			methods[t] = cand[0];
		} else if (o->codec == MFS_CODEC_PLANES) {
			methods[t] = mfs_method_planes(m->tensors[t].dtype, o->level);
		} else {
			methods[t] = (struct mfs_method){.codec = (uint8_t)o->codec, .level = o->level};
		}
	}
	if (o->codec != MFS_PACK_CODEC_AUTO || m->ntensors == 0)
		return 0;

	first = calloc(m->ntensors, sizeof(*first));
	count = calloc(m->ntensors, sizeof(*count));
	if (!first || !count) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nchunks; i++) {
		uint32_t t = chunks[i].tensor;

		if (t == MFS_TENSOR_NONE)
			continue;
		if (count[t]++ == 0)
			first[t] = i;
		if (chunks[i].length > maxlen)
			maxlen = chunks[i].length;
	}
	ctx.first = first;
	ctx.count = count;
	r = mfs_pipe_run(&select_ops, &ctx, m->ntensors, threads, maxlen, 1);
out:
	free(first);
	free(count);
	return r;
}

/* The prefetch plan of @m from its tensor names. */
static int names_plan(const struct mfs_layout_chunk *chunks, uint32_t nchunks,
		      const struct mfs_model *m, struct mfs_plan_entry **plan, uint32_t *nplan)
{
	uint32_t *ct = malloc((nchunks ? nchunks : 1) * sizeof(*ct));
	int r;

	if (!ct)
		return -ENOMEM;
	for (uint32_t i = 0; i < nchunks; i++)
		ct[i] = chunks[i].tensor;
	r = mfs_plan_from_names(m->tensors, m->ntensors, ct, nchunks, plan, nplan);
	free(ct);
	return r;
}

int mfs_pack_file(const char *src_path, const char *dst_path, const struct mfs_pack_opts *o,
		  struct mfs_pack_result *res, struct mfs_err *err)
{
	struct mfs_outfile out = {.fd = -1, .dirfd = -1};
	struct mfs_layout_chunk *chunks = NULL;
	struct mfs_method *methods = NULL;
	struct mfs_plan_entry *plan = NULL;
	uint32_t nplan = 0;
	size_t outcap = 0;
	struct mfs_header_info h = {0};
	struct mfs_writer *w = NULL;
	struct mfs_model model = {0};
	struct pack_ctx ctx = {0};
	XXH3_state_t *hash = NULL;
	XXH128_hash_t digest;
	struct stat st, st2;
	struct mfs_src src;
	uint32_t nchunks = 0, maxlen = 0;
	uint32_t target = o->chunk_target ? o->chunk_target : MFS_CHUNK_TARGET_DEFAULT;
	unsigned int threads = o->threads ? o->threads : mfs_cpu_count();
	int fd, r;

	memset(res, 0, sizeof(*res));
	if (o->codec != MFS_PACK_CODEC_AUTO && !mfs_codec_get((unsigned int)o->codec))
		return mfs_err_set(err, -EINVAL, "unknown codec %d", o->codec);

	fd = mfs_open_regular(AT_FDCWD, src_path, o->same_as ? O_NOFOLLOW : 0, err);
	if (fd == -ELOOP)
		return mfs_err_set(err, -EAGAIN, "replaced by a symlink while the tree was walked");
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = mfs_err_set(err, -errno, "cannot stat: %s", mfs_strerror(errno));
		goto out_close;
	}
	if (o->same_as && (st.st_dev != o->same_as->st_dev || st.st_ino != o->same_as->st_ino)) {
		r = mfs_err_set(err, -EAGAIN, "replaced by another file while the tree was walked");
		goto out_close;
	}
	r = mfs_src_init_fd(&src, fd, err);
	if (r)
		goto out_close;
	r = mfs_model_load(&model, &src, o->source, err);
	if (r)
		goto out_close;
	r = mfs_layout_cut(&model, target, &chunks, &nchunks, err);
	if (r)
		goto out_model;
	for (uint32_t i = 0; i < nchunks; i++)
		if (chunks[i].length > maxlen)
			maxlen = chunks[i].length;
	methods = calloc(model.ntensors ? model.ntensors : 1, sizeof(*methods));
	if (!methods) {
		r = -ENOMEM;
		goto out_chunks;
	}
	r = choose_methods(o, &src, &model, chunks, nchunks, threads, methods, err);
	if (r)
		goto out_chunks;
	ctx.plain = o->codec == MFS_PACK_CODEC_AUTO || o->codec == MFS_CODEC_PLANES
			    ? mfs_method_zstd(o->level)
			    : (struct mfs_method){.codec = (uint8_t)o->codec, .level = o->level};
	for (uint32_t t = 0; t <= model.ntensors; t++) {
		const struct mfs_method *mm = t < model.ntensors ? &methods[t] : &ctx.plain;
		size_t b = mfs_block_bound(mm->codec, mm->xform, mm->xparam, maxlen);

		if (b > outcap)
			outcap = b;
	}

	hash = XXH3_createState();
	if (!hash || XXH3_128bits_reset(hash) != XXH_OK) {
		r = -ENOMEM;
		goto out_chunks;
	}
	r = mfs_outfile_open(&out, dst_path, st.st_mode & 0777, err);
	if (!r)
		r = mfs_outfile_like(&out, &st, err);
	if (r) {
		mfs_outfile_abort(&out);
		goto out_chunks;
	}
	h.original_size = src.size;
	h.mtime_sec = st.st_mtim.tv_sec;
	h.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	h.mode = st.st_mode & 07777;
	h.source = model.source;
	r = mfs_writer_new(&w, out.fd, dst_path, &h, err);
	if (r)
		goto out_file;

	res->source = model.source;
	res->ntensors = model.ntensors;
	res->nchunks = nchunks;
	res->original_size = src.size;
	ctx.src = &src;
	ctx.chunks = chunks;
	ctx.methods = methods;
	ctx.w = w;
	ctx.hash = hash;
	ctx.o = o;
	ctx.res = res;
	ctx.err = err;
	r = mfs_pipe_run(&pack_ops, &ctx, nchunks, threads, maxlen, outcap);
	if (r)
		goto out_file;

	r = names_plan(chunks, nchunks, &model, &plan, &nplan);
	if (r)
		goto out_file;
	res->nplan = nplan;
	digest = XXH3_128bits_digest(hash);
	r = mfs_writer_finish(w, model.tensors, model.ntensors, plan, nplan, digest.low64,
			      digest.high64, target, err);
	if (r)
		goto out_file;
	if (fstat(fd, &st2) < 0 || st2.st_size != st.st_size ||
	    st2.st_mtim.tv_sec != st.st_mtim.tv_sec || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
		r = mfs_err_set(err, -EAGAIN, "file changed while it was being packed");
		goto out_file;
	}
	res->container_size = mfs_writer_offset(w);
	r = mfs_outfile_commit(&out, o->replace, err);
out_file:
	if (r)
		mfs_outfile_abort(&out);
	mfs_writer_free(w);
out_chunks:
	XXH3_freeState(hash);
	free(plan);
	free(methods);
	free(chunks);
out_model:
	mfs_model_release(&model);
out_close:
	close(fd);
	return r;
}
