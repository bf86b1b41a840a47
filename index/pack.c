/* SPDX-License-Identifier: MIT */
/*
 * pack.c - packing a model file (see pack.h).
 *
 * Workers pread their chunk from the source, checksum it and compress it;
 * the calling thread takes chunks back in order, feeds the whole-file hash and
 * appends them to the container. The source is read exactly once.
 */
#include "pack.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "block.h"
#include "layout.h"
#include "model.h"
#include "outfile.h"
#include "pipe.h"
#include "writer.h"

#define STORED_RAW 1 /* pipe_buf flag: chunk kept uncompressed */

struct pack_ctx {
	const struct mfs_src *src;
	const struct mfs_layout_chunk *chunks;
	int codec;
	int level;
	struct mfs_writer *w;
	XXH3_state_t *hash;
	const struct mfs_pack_opts *o;
	struct mfs_pack_result *res;
	uint64_t done;
	struct mfs_err *err;
};

void mfs_pack_auto(int *codec, int *level)
{
	*codec = MFS_CODEC_ZSTD;
	*level = mfs_codec_get(MFS_CODEC_ZSTD)->default_level;
}

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

static int pack_work(void *vctx, void *wctx, uint64_t seq, struct mfs_pipe_buf *b,
		     struct mfs_err *err)
{
	struct pack_ctx *ctx = vctx;
	const struct mfs_layout_chunk *c = &ctx->chunks[seq];
	ssize_t n;
	int r;

	r = mfs_src_read(ctx->src, b->in, c->length, c->offset, err);
	if (r)
		return r;
	b->in_len = c->length;
	b->aux = XXH3_64bits(b->in, c->length);
	if (ctx->codec == MFS_CODEC_STORE) {
		b->flags = STORED_RAW;
		return 0;
	}
	n = mfs_block_encode(wctx, (unsigned int)ctx->codec, ctx->level, MFS_XFORM_NONE, 0, b->out,
			     mfs_block_bound((unsigned int)ctx->codec, MFS_XFORM_NONE, 0,
					     c->length),
			     b->in, c->length, err);
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
	c.codec = (uint8_t)(raw ? MFS_CODEC_STORE : ctx->codec);
	c.xform = MFS_XFORM_NONE;
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

static unsigned int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

int mfs_pack_file(const char *src_path, const char *dst_path, const struct mfs_pack_opts *o,
		  struct mfs_pack_result *res, struct mfs_err *err)
{
	struct mfs_outfile out = {.fd = -1, .dirfd = -1};
	struct mfs_layout_chunk *chunks = NULL;
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
	int codec = o->codec, level = o->level;
	int fd, r;

	memset(res, 0, sizeof(*res));
	if (codec == MFS_PACK_CODEC_AUTO)
		mfs_pack_auto(&codec, &level);
	if (!mfs_codec_get((unsigned int)codec))
		return mfs_err_set(err, -EINVAL, "unknown codec %d", codec);
	if (level == 0)
		level = mfs_codec_get((unsigned int)codec)->default_level;

	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mfs_err_set(err, -errno, "%s", mfs_strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = mfs_err_set(err, -errno, "cannot stat: %s", mfs_strerror(errno));
		goto out_close;
	}
	r = mfs_src_init_fd(&src, fd, err);
	if (r)
		goto out_close;
	r = mfs_model_load(&model, &src, o->source, err);
	if (r)
		goto out_close;
	r = mfs_layout_plan(&model, target, &chunks, &nchunks, err);
	if (r)
		goto out_model;
	for (uint32_t i = 0; i < nchunks; i++)
		if (chunks[i].length > maxlen)
			maxlen = chunks[i].length;

	hash = XXH3_createState();
	if (!hash || XXH3_128bits_reset(hash) != XXH_OK) {
		r = -ENOMEM;
		goto out_chunks;
	}
	r = mfs_outfile_open(&out, dst_path, 0644, err);
	if (r)
		goto out_chunks;
	h.original_size = src.size;
	h.mtime_sec = st.st_mtim.tv_sec;
	h.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	h.mode = st.st_mode & 07777;
	h.source = model.source;
	r = mfs_writer_new(&w, out.fd, &h, err);
	if (r)
		goto out_file;

	res->source = model.source;
	res->ntensors = model.ntensors;
	res->nchunks = nchunks;
	res->original_size = src.size;
	ctx = (struct pack_ctx){.src = &src, .chunks = chunks, .codec = codec, .level = level,
				.w = w, .hash = hash, .o = o, .res = res, .err = err};
	r = mfs_pipe_run(&pack_ops, &ctx, nchunks, o->threads ? o->threads : default_threads(),
			 maxlen, mfs_block_bound((unsigned int)codec, MFS_XFORM_NONE, 0, maxlen));
	if (r)
		goto out_file;

	digest = XXH3_128bits_digest(hash);
	r = mfs_writer_finish(w, model.tensors, model.ntensors, NULL, 0, digest.low64,
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
	free(chunks);
out_model:
	mfs_model_release(&model);
out_close:
	close(fd);
	return r;
}
