/* SPDX-License-Identifier: MIT */
/*
 * block.c - chunk encode/decode through transform + codec (see block.h).
 */
#include "block.h"

#include "planes.h"

static int lookup(unsigned int codec, unsigned int xform, uint32_t xparam,
		  const struct mfs_codec **c, const struct mfs_xform **x, struct mfs_err *err)
{
	*c = mfs_codec_get(codec);
	if (!*c)
		return mfs_err_set(err, -EOPNOTSUPP, "unknown codec id %u", codec);
	*x = mfs_xform_get(xform);
	if (!*x)
		return mfs_err_set(err, -EOPNOTSUPP, "unknown transform id %u", xform);
	if (!(*x)->param_ok(xparam))
		return mfs_err_set(err, -EFSCORRUPTED, "%s: bad parameter %u", (*x)->name, xparam);
	return 0;
}

size_t mfs_block_bound(unsigned int codec, unsigned int xform, uint32_t xparam, size_t len)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;
	size_t sizes[MFS_PLANES_MAX];

	if (lookup(codec, xform, xparam, &c, &x, NULL))
		return 0;
	if (codec == MFS_CODEC_PLANES)
		return mfs_planes_bound(sizes, x->planes(len, xparam, sizes));
	return c->bound(len); /* transforms keep the length */
}

ssize_t mfs_block_encode(struct mfs_cctx *cctx, unsigned int codec, int level, unsigned int xform,
			 uint32_t xparam, void *dst, size_t cap, const void *src, size_t len,
			 struct mfs_err *err)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;
	size_t sizes[MFS_PLANES_MAX];
	const uint8_t *in = src;
	int r;

	r = lookup(codec, xform, xparam, &c, &x, err);
	if (r)
		return r == -EFSCORRUPTED ? -EINVAL : r;
	if (xform != MFS_XFORM_NONE) {
		uint8_t *tmp = mfs_cctx_scratch(cctx, MFS_SCRATCH_XFORM, len);

		if (!tmp)
			return -ENOMEM;
		x->forward(tmp, src, len, xparam);
		in = tmp;
	}
	if (codec == MFS_CODEC_PLANES)
		return mfs_planes_encode(cctx, level, dst, cap, in, sizes,
					 x->planes(len, xparam, sizes), err);
	return c->compress(cctx, level, dst, cap, in, len, err);
}

int mfs_block_decode(struct mfs_dctx *dctx, unsigned int codec, unsigned int xform,
		     uint32_t xparam, void *dst, size_t len, const void *src, size_t src_len,
		     struct mfs_err *err)
{
	const struct mfs_codec *c;
	const struct mfs_xform *x;
	size_t sizes[MFS_PLANES_MAX];
	const uint8_t *planes[MFS_PLANES_MAX];
	uint8_t *out = dst;
	int r;

	r = lookup(codec, xform, xparam, &c, &x, err);
	if (r)
		return r;
	if (xform != MFS_XFORM_NONE) {
		out = mfs_dctx_scratch(dctx, MFS_SCRATCH_XFORM, len);
		if (!out)
			return -ENOMEM;
	}
	if (codec == MFS_CODEC_PLANES) {
		/* Raw planes stay where they are stored: the inverse reads them there. */
		r = mfs_planes_decode(dctx, out, xform != MFS_XFORM_NONE ? planes : NULL, sizes,
				      x->planes(len, xparam, sizes), src, src_len, err);
		if (!r && xform != MFS_XFORM_NONE)
			x->inverse(dst, planes, len, xparam);
		return r;
	}
	r = c->decompress(dctx, out, len, src, src_len, err);
	if (!r && xform != MFS_XFORM_NONE)
		mfs_xform_inverse(x, dst, out, len, xparam);
	return r;
}
