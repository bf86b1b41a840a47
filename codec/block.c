/* SPDX-License-Identifier: MIT */
/*
 * block.c - chunk encode/decode through transform + codec (see block.h).
 */
#include "block.h"

static int lookup(unsigned int codec, unsigned int xform, const struct mfs_codec **c,
		  const struct mfs_xform **x, struct mfs_err *err)
{
	*c = mfs_codec_get(codec);
	if (!*c)
		return mfs_err_set(err, -EOPNOTSUPP, "unknown codec id %u", codec);
	*x = mfs_xform_get(xform);
	if (!*x)
		return mfs_err_set(err, -EOPNOTSUPP, "unknown transform id %u", xform);
	return 0;
}

size_t mfs_block_bound(unsigned int codec, unsigned int xform, uint32_t xparam, size_t len)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;

	if (lookup(codec, xform, &c, &x, NULL))
		return 0;
	return c->bound(x->encoded_len(len, xparam));
}

ssize_t mfs_block_encode(struct mfs_cctx *cctx, unsigned int codec, int level, unsigned int xform,
			 uint32_t xparam, void *dst, size_t cap, const void *src, size_t len,
			 struct mfs_err *err)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;
	size_t xlen;
	void *tmp;
	ssize_t r;

	r = lookup(codec, xform, &c, &x, err);
	if (r)
		return r;
	if (!x->param_ok(xparam))
		return mfs_err_set(err, -EINVAL, "%s: bad parameter %u", x->name, xparam);
	if (xform == MFS_XFORM_NONE)
		return c->compress(cctx, level, dst, cap, src, len, err);

	xlen = x->encoded_len(len, xparam);
	tmp = mfs_cctx_scratch(cctx, MFS_SCRATCH_XFORM, xlen);
	if (!tmp)
		return -ENOMEM;
	r = x->forward(tmp, xlen, src, len, xparam, err);
	if (r < 0)
		return r;
	return c->compress(cctx, level, dst, cap, tmp, (size_t)r, err);
}

int mfs_block_decode(struct mfs_dctx *dctx, unsigned int codec, unsigned int xform,
		     uint32_t xparam, void *dst, size_t len, const void *src, size_t src_len,
		     struct mfs_err *err)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;
	size_t xlen;
	void *tmp;
	int r;

	r = lookup(codec, xform, &c, &x, err);
	if (r)
		return r;
	if (!x->param_ok(xparam))
		return mfs_err_set(err, -EFSCORRUPTED, "%s: bad parameter %u", x->name, xparam);
	if (xform == MFS_XFORM_NONE)
		return c->decompress(dctx, dst, len, src, src_len, err);

	xlen = x->encoded_len(len, xparam);
	tmp = mfs_dctx_scratch(dctx, MFS_SCRATCH_XFORM, xlen);
	if (!tmp)
		return -ENOMEM;
	r = c->decompress(dctx, tmp, xlen, src, src_len, err);
	if (r)
		return r;
	return x->inverse(dst, len, tmp, xlen, xparam, err);
}
