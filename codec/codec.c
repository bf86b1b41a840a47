/* SPDX-License-Identifier: MIT */
/*
 * codec.c - the codec table and the per-thread contexts (see codec.h).
 *
 * Library state (ZSTD_CCtx, ZSTD_DCtx, lz4 states) is created on first use and
 * kept in the context, so a thread that only ever sees stored chunks never
 * allocates a zstd context. Nothing here is shared between threads.
 */
#include "codec.h"
#include "codec_i.h"
#include "planes.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>
#include <zstd_errors.h>

struct scratch {
	void *buf;
	size_t cap;
};

struct mfs_cctx {
	ZSTD_CCtx *zstd;
	void *lz4;   /* LZ4_sizeofState() bytes */
	void *lz4hc; /* LZ4_sizeofStateHC() bytes */
	struct scratch scratch[MFS_SCRATCH_NR];
};

struct mfs_dctx {
	ZSTD_DCtx *zstd;
	struct scratch scratch[MFS_SCRATCH_NR];
};

static void *scratch_get(struct scratch *s, size_t len)
{
	void *p;

	if (len > MFS_SCRATCH_MAX)
		return NULL;
	if (len <= s->cap && s->buf)
		return s->buf;
	free(s->buf);
	/* Round up so that slowly growing requests do not reallocate each time. */
	s->cap = len < 4096 ? 4096 : len + len / 8;
	s->cap = (s->cap + 4095) & ~(size_t)4095;
	if (s->cap > MFS_SCRATCH_MAX)
		s->cap = MFS_SCRATCH_MAX;
	/* Page-aligned, so O_DIRECT reads can land in it. */
	if (posix_memalign(&p, 4096, s->cap))
		p = NULL;
	s->buf = p;
	if (!p)
		s->cap = 0;
	return p;
}

void mfs_dctx_trim(struct mfs_dctx *dctx, size_t keep)
{
	if (!dctx)
		return;
	for (unsigned int i = 0; i < MFS_SCRATCH_NR; i++) {
		if (dctx->scratch[i].cap > keep) {
			free(dctx->scratch[i].buf);
			dctx->scratch[i].buf = NULL;
			dctx->scratch[i].cap = 0;
		}
	}
}

/* ---- store ------------------------------------------------------------- */

static size_t store_bound(size_t len)
{
	return len;
}

static ssize_t store_compress(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			      const void *src, size_t len, struct mfs_err *err)
{
	if (len > cap)
		return mfs_err_set(err, -ENOSPC, "store: output buffer too small");
	memcpy(dst, src, len);
	return (ssize_t)len;
}

static int store_decompress(struct mfs_dctx *dctx, void *dst, size_t dst_len, const void *src,
			    size_t src_len, struct mfs_err *err)
{
	if (src_len != dst_len)
		return mfs_err_set(err, -EFSCORRUPTED,
				   "store: stored length %zu differs from chunk length %zu", src_len,
				   dst_len);
	memcpy(dst, src, dst_len);
	return 0;
}

/* ---- lz4 --------------------------------------------------------------- */

static size_t lz4_bound(size_t len)
{
	if (len > LZ4_MAX_INPUT_SIZE)
		return 0;
	return (size_t)LZ4_compressBound((int)len);
}

static ssize_t lz4_compress(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			    const void *src, size_t len, struct mfs_err *err)
{
	int icap = cap > INT_MAX ? INT_MAX : (int)cap;
	int r;

	if (len > LZ4_MAX_INPUT_SIZE)
		return mfs_err_set(err, -EINVAL, "lz4: input of %zu bytes is too large", len);
	if (level >= LZ4HC_CLEVEL_MIN) {
		if (!cctx->lz4hc && !(cctx->lz4hc = malloc((size_t)LZ4_sizeofStateHC())))
			return -ENOMEM;
		r = LZ4_compress_HC_extStateHC(cctx->lz4hc, src, dst, (int)len, icap, level);
	} else {
		if (!cctx->lz4 && !(cctx->lz4 = malloc((size_t)LZ4_sizeofState())))
			return -ENOMEM;
		r = LZ4_compress_fast_extState(cctx->lz4, src, dst, (int)len, icap, 1);
	}
	if (r <= 0 && len > 0)
		return mfs_err_set(err, -ENOSPC, "lz4: output buffer too small");
	return r;
}

static int lz4_decompress(struct mfs_dctx *dctx, void *dst, size_t dst_len, const void *src,
			  size_t src_len, struct mfs_err *err)
{
	int r;

	if (src_len > INT_MAX || dst_len > INT_MAX)
		return mfs_err_set(err, -EFSCORRUPTED, "lz4: chunk too large");
	r = LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_len);
	if (r < 0)
		return mfs_err_set(err, -EFSCORRUPTED, "lz4: malformed input at byte %d", -r);
	if ((size_t)r != dst_len)
		return mfs_err_set(err, -EFSCORRUPTED, "lz4: decoded %d bytes, expected %zu", r,
				   dst_len);
	return 0;
}

/* ---- zstd -------------------------------------------------------------- */

static size_t zstd_bound(size_t len)
{
	return ZSTD_compressBound(len);
}

static ssize_t zstd_compress(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			     const void *src, size_t len, struct mfs_err *err)
{
	size_t r;

	if (!cctx->zstd && !(cctx->zstd = ZSTD_createCCtx()))
		return -ENOMEM;
	r = ZSTD_compressCCtx(cctx->zstd, dst, cap, src, len, level);
	if (ZSTD_isError(r)) {
		int code = ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall  ? -ENOSPC
			   : ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -ENOMEM
										 : -EINVAL;
		return mfs_err_set(err, code, "zstd: %s", ZSTD_getErrorName(r));
	}
	return (ssize_t)r;
}

static int zstd_decompress(struct mfs_dctx *dctx, void *dst, size_t dst_len, const void *src,
			   size_t src_len, struct mfs_err *err)
{
	size_t r;

	if (!dctx->zstd && !(dctx->zstd = ZSTD_createDCtx()))
		return -ENOMEM;
	r = ZSTD_decompressDCtx(dctx->zstd, dst, dst_len, src, src_len);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
			return mfs_err_set(err, -ENOMEM, "zstd: %s", ZSTD_getErrorName(r));
		return mfs_err_set(err, -EFSCORRUPTED, "zstd: %s", ZSTD_getErrorName(r));
	}
	if (r != dst_len)
		return mfs_err_set(err, -EFSCORRUPTED, "zstd: decoded %zu bytes, expected %zu", r,
				   dst_len);
	return 0;
}

/* ---- planes, used on a whole chunk as one plane ------------------------ */

static size_t planes_bound1(size_t len)
{
	return mfs_planes_bound(&len, 1);
}

static ssize_t planes_compress1(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
				const void *src, size_t len, struct mfs_err *err)
{
	return mfs_planes_encode(cctx, level, dst, cap, src, &len, 1, err);
}

static int planes_decompress1(struct mfs_dctx *dctx, void *dst, size_t dst_len, const void *src,
			      size_t src_len, struct mfs_err *err)
{
	return mfs_planes_decode(dctx, dst, NULL, &dst_len, 1, src, src_len, err);
}

/* ---- table ------------------------------------------------------------- */

static const struct mfs_codec codecs[MFS_CODEC_NR] = {
	[MFS_CODEC_STORE] = {
		.name = "store", .id = MFS_CODEC_STORE,
		.min_level = 0, .max_level = 0, .default_level = 0,
		.bound = store_bound, .compress = store_compress, .decompress = store_decompress,
	},
	[MFS_CODEC_LZ4] = {
		.name = "lz4", .id = MFS_CODEC_LZ4,
		.min_level = 1, .max_level = LZ4HC_CLEVEL_MAX, .default_level = 1,
		.bound = lz4_bound, .compress = lz4_compress, .decompress = lz4_decompress,
	},
	[MFS_CODEC_ZSTD] = {
		.name = "zstd", .id = MFS_CODEC_ZSTD,
		.min_level = 1, .max_level = 19, .default_level = 3,
		.bound = zstd_bound, .compress = zstd_compress, .decompress = zstd_decompress,
	},
	[MFS_CODEC_PLANES] = {
		.name = "planes", .id = MFS_CODEC_PLANES,
		.min_level = MFS_PLANES_LEVEL_FAST, .max_level = MFS_PLANES_LEVEL_BEST,
		.default_level = MFS_PLANES_LEVEL_BEST,
		.bound = planes_bound1, .compress = planes_compress1,
		.decompress = planes_decompress1,
	},
};

const struct mfs_codec *mfs_codec_get(unsigned int id)
{
	return id < MFS_CODEC_NR ? &codecs[id] : NULL;
}

const struct mfs_codec *mfs_codec_find(const char *name)
{
	for (unsigned int i = 0; i < MFS_CODEC_NR; i++)
		if (strcmp(codecs[i].name, name) == 0)
			return &codecs[i];
	return NULL;
}

const char *mfs_codec_name(unsigned int id)
{
	static _Thread_local char buf[24];

	if (id < MFS_CODEC_NR)
		return codecs[id].name;
	snprintf(buf, sizeof(buf), "codec %u", id);
	return buf;
}

/* ---- contexts ---------------------------------------------------------- */

struct mfs_cctx *mfs_cctx_new(void)
{
	return calloc(1, sizeof(struct mfs_cctx));
}

void mfs_cctx_free(struct mfs_cctx *cctx)
{
	if (!cctx)
		return;
	ZSTD_freeCCtx(cctx->zstd);
	free(cctx->lz4);
	free(cctx->lz4hc);
	for (unsigned int i = 0; i < MFS_SCRATCH_NR; i++)
		free(cctx->scratch[i].buf);
	free(cctx);
}

struct mfs_dctx *mfs_dctx_new(void)
{
	return calloc(1, sizeof(struct mfs_dctx));
}

void mfs_dctx_free(struct mfs_dctx *dctx)
{
	if (!dctx)
		return;
	ZSTD_freeDCtx(dctx->zstd);
	for (unsigned int i = 0; i < MFS_SCRATCH_NR; i++)
		free(dctx->scratch[i].buf);
	free(dctx);
}

ZSTD_CCtx *mfs_cctx_zstd(struct mfs_cctx *cctx)
{
	if (!cctx->zstd)
		cctx->zstd = ZSTD_createCCtx();
	return cctx->zstd;
}

ZSTD_DCtx *mfs_dctx_zstd(struct mfs_dctx *dctx)
{
	if (!dctx->zstd)
		dctx->zstd = ZSTD_createDCtx();
	return dctx->zstd;
}

void *mfs_cctx_scratch(struct mfs_cctx *cctx, unsigned int slot, size_t len)
{
	return slot < MFS_SCRATCH_NR ? scratch_get(&cctx->scratch[slot], len) : NULL;
}

void *mfs_dctx_scratch(struct mfs_dctx *dctx, unsigned int slot, size_t len)
{
	return slot < MFS_SCRATCH_NR ? scratch_get(&dctx->scratch[slot], len) : NULL;
}
