/* SPDX-License-Identifier: MIT */
/*
 * xform.c - the transform table (see xform.h). Only the identity exists so
 * far; it is never run on the hot path because block.c skips it, but it obeys
 * the same contract as every other transform so tests can treat all alike.
 */
#include "xform.h"

#include <stdio.h>
#include <string.h>

static bool none_param_ok(uint32_t param)
{
	return param == 0;
}

static size_t none_encoded_len(size_t len, uint32_t param)
{
	return len;
}

static ssize_t none_forward(void *dst, size_t cap, const void *src, size_t len, uint32_t param,
			    struct mfs_err *err)
{
	if (len > cap)
		return mfs_err_set(err, -ENOSPC, "identity: output buffer too small");
	if (len)
		memcpy(dst, src, len);
	return (ssize_t)len;
}

static int none_inverse(void *dst, size_t dst_len, const void *src, size_t src_len,
			uint32_t param, struct mfs_err *err)
{
	if (src_len != dst_len)
		return mfs_err_set(err, -EFSCORRUPTED, "identity: %zu bytes cannot encode %zu",
				   src_len, dst_len);
	if (dst_len)
		memcpy(dst, src, dst_len);
	return 0;
}

static const struct mfs_xform xforms[MFS_XFORM_NR] = {
	[MFS_XFORM_NONE] = {
		.name = "none", .id = MFS_XFORM_NONE,
		.param_ok = none_param_ok, .encoded_len = none_encoded_len,
		.forward = none_forward, .inverse = none_inverse,
	},
};

const struct mfs_xform *mfs_xform_get(unsigned int id)
{
	return id < MFS_XFORM_NR ? &xforms[id] : NULL;
}

const char *mfs_xform_name(unsigned int id)
{
	static _Thread_local char buf[24];

	if (id < MFS_XFORM_NR)
		return xforms[id].name;
	snprintf(buf, sizeof(buf), "transform %u", id);
	return buf;
}
