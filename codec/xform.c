/* SPDX-License-Identifier: MIT */
/*
 * xform.c - the transforms (see xform.h).
 *
 * "bytes" and the float variants of "fields" are element-wise bit shuffles.
 * The quantized variants of "fields" are struct-of-arrays gathers driven by a
 * table of ggml's block layouts (ggml-common.h; tests/unit/test_xform.c checks
 * the table against the dtype sizes): every field of every block goes to the
 * field's plane; scalar fields (fp16 scales) get one plane per byte, because
 * the high byte of an fp16 scale is far more predictable than the low one.
 */
#include "xform.h"

#include <stdio.h>
#include <string.h>

#include "le.h"

/* ggml type numbers used here (ggml.h; the same ids as index/container/dtype.h). */
enum {
	GT_F32 = 0, GT_Q4_0 = 2, GT_Q4_1 = 3, GT_Q5_0 = 6, GT_Q5_1 = 7, GT_Q8_0 = 8,
	GT_Q2_K = 10, GT_Q3_K = 11, GT_Q4_K = 12, GT_Q5_K = 13, GT_Q6_K = 14, GT_IQ4_NL = 20,
	GT_IQ4_XS = 23, GT_BF16 = 30,
};

/* ---- identity ------------------------------------------------------------ */

static bool none_param_ok(uint32_t param)
{
	return param == 0;
}

static unsigned int none_planes(size_t len, uint32_t param, size_t sizes[MFS_PLANES_MAX])
{
	sizes[0] = len;
	return 1;
}

static void copy(uint8_t *restrict dst, const uint8_t *restrict src, size_t len, uint32_t param)
{
	if (len)
		memcpy(dst, src, len);
}

/* ---- bytes: plane k holds byte k of every element --------------------------- */

static bool bytes_param_ok(uint32_t param)
{
	return param == 2 || param == 4 || param == 8;
}

static unsigned int bytes_planes(size_t len, uint32_t e, size_t sizes[MFS_PLANES_MAX])
{
	for (uint32_t k = 0; k < e; k++)
		sizes[k] = len / e;
	sizes[e] = len % e;
	return e + 1;
}

static void bytes_forward(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  uint32_t e)
{
	size_t n = len / e;

	for (uint32_t k = 0; k < e; k++)
		for (size_t i = 0; i < n; i++)
			dst[k * n + i] = src[i * e + k];
	memcpy(dst + n * e, src + n * e, len % e);
}

static void bytes_inverse(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  uint32_t e)
{
	size_t n = len / e;

	/* Specialised for the common element sizes so the inner loop is unrolled. */
	if (e == 2) {
		for (size_t i = 0; i < n; i++) {
			dst[2 * i] = src[i];
			dst[2 * i + 1] = src[n + i];
		}
	} else if (e == 4) {
		for (size_t i = 0; i < n; i++) {
			dst[4 * i] = src[i];
			dst[4 * i + 1] = src[n + i];
			dst[4 * i + 2] = src[2 * n + i];
			dst[4 * i + 3] = src[3 * n + i];
		}
	} else {
		for (size_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < e; k++)
				dst[i * e + k] = src[k * n + i];
	}
	memcpy(dst + n * e, src + n * e, len % e);
}

/* ---- fields: floats ------------------------------------------------------------ */

/*
 * BF16  s eeeeeeee mmmmmmm   -> [exponent] [s mmmmmmm]
 * F32   s eeeeeeee m{23}     -> [exponent] [s m22..m16] [m15..m8] [m7..m0]
 *
 * F16 has no field split here: its high byte (sign, 5 exponent bits, 2
 * mantissa bits) already holds everything skewed, so byte planes are as good
 * (measured order-0 bounds: 1.1785x bytes, 1.1754x for a 3-plane field split
 * that is not even a permutation).
 */
static unsigned int float_planes(size_t len, uint32_t type, size_t sizes[MFS_PLANES_MAX])
{
	size_t e = type == GT_F32 ? 4 : 2, n = len / e;
	unsigned int np = type == GT_BF16 ? 2 : 4;

	for (unsigned int k = 0; k < np; k++)
		sizes[k] = n;
	sizes[np] = len % e;
	return np + 1;
}

static void float_forward(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  uint32_t type)
{
	size_t e = type == GT_F32 ? 4 : 2, n = len / e;
	uint8_t *a = dst, *b = dst + n, *c = dst + 2 * n, *d = dst + 3 * n;
	unsigned int np = type == GT_BF16 ? 2 : 4;

	if (type == GT_BF16) {
		for (size_t i = 0; i < n; i++) {
			uint32_t v = get_le16(src + 2 * i);

			a[i] = (uint8_t)(v >> 7);
			b[i] = (uint8_t)((v >> 8 & 0x80) | (v & 0x7f));
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			uint32_t v = get_le32(src + 4 * i);

			a[i] = (uint8_t)(v >> 23);
			b[i] = (uint8_t)((v >> 24 & 0x80) | (v >> 16 & 0x7f));
			c[i] = (uint8_t)(v >> 8);
			d[i] = (uint8_t)v;
		}
	}
	memcpy(dst + np * n, src + n * e, len % e);
}

static void float_inverse(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  uint32_t type)
{
	size_t e = type == GT_F32 ? 4 : 2, n = len / e;
	const uint8_t *a = src, *b = src + n, *c = src + 2 * n, *d = src + 3 * n;
	unsigned int np = type == GT_BF16 ? 2 : 4;

	/* One loop per type: the type test stays out of the per-element path. */
	if (type == GT_BF16) {
		for (size_t i = 0; i < n; i++)
			put_le16(dst + 2 * i, (uint16_t)((b[i] & 0x80) << 8 | a[i] << 7 | (b[i] & 0x7f)));
	} else {
		for (size_t i = 0; i < n; i++)
			put_le32(dst + 4 * i, (uint32_t)(b[i] & 0x80) << 24 | (uint32_t)a[i] << 23 |
						      (uint32_t)(b[i] & 0x7f) << 16 |
						      (uint32_t)c[i] << 8 | d[i]);
	}
	memcpy(dst + n * e, src + np * n, len % e);
}

/* ---- fields: quantized blocks ------------------------------------------------- */

struct qfield {
	uint8_t off;
	uint8_t size;
	bool scalar; /* one plane per byte */
};

struct qlayout {
	uint32_t type;
	uint16_t block;
	uint8_t nfields;
	struct qfield f[5];
};

/* ggml-common.h block structs, field by field. */
static const struct qlayout layouts[] = {
	{GT_Q4_0, 18, 2, {{0, 2, true}, {2, 16, false}}},
	{GT_Q4_1, 20, 3, {{0, 2, true}, {2, 2, true}, {4, 16, false}}},
	{GT_Q5_0, 22, 3, {{0, 2, true}, {2, 4, false}, {6, 16, false}}},
	{GT_Q5_1, 24, 4, {{0, 2, true}, {2, 2, true}, {4, 4, false}, {8, 16, false}}},
	{GT_Q8_0, 34, 2, {{0, 2, true}, {2, 32, false}}},
	{GT_Q2_K, 84, 4, {{0, 16, false}, {16, 64, false}, {80, 2, true}, {82, 2, true}}},
	{GT_Q3_K, 110, 4, {{0, 32, false}, {32, 64, false}, {96, 12, false}, {108, 2, true}}},
	{GT_Q4_K, 144, 4, {{0, 2, true}, {2, 2, true}, {4, 12, false}, {16, 128, false}}},
	{GT_Q5_K, 176, 5,
	 {{0, 2, true}, {2, 2, true}, {4, 12, false}, {16, 32, false}, {48, 128, false}}},
	{GT_Q6_K, 210, 4, {{0, 128, false}, {128, 64, false}, {192, 16, false}, {208, 2, true}}},
	{GT_IQ4_NL, 18, 2, {{0, 2, true}, {2, 16, false}}},
	{GT_IQ4_XS, 136, 4, {{0, 2, true}, {2, 2, true}, {4, 4, false}, {8, 128, false}}},
};

static const struct qlayout *layout_of(uint32_t type)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

/* The (offset, width) of each plane within a block: scalars split per byte. */
static unsigned int qplanes(const struct qlayout *l, uint8_t off[], uint8_t width[])
{
	unsigned int np = 0;

	for (unsigned int f = 0; f < l->nfields; f++) {
		if (l->f[f].scalar) {
			for (unsigned int k = 0; k < l->f[f].size; k++) {
				off[np] = (uint8_t)(l->f[f].off + k);
				width[np++] = 1;
			}
		} else {
			off[np] = l->f[f].off;
			width[np++] = l->f[f].size;
		}
	}
	return np;
}

static unsigned int quant_planes(size_t len, const struct qlayout *l,
				 size_t sizes[MFS_PLANES_MAX])
{
	uint8_t off[MFS_PLANES_MAX], width[MFS_PLANES_MAX];
	unsigned int np = qplanes(l, off, width);
	size_t nb = len / l->block;

	for (unsigned int k = 0; k < np; k++)
		sizes[k] = nb * width[k];
	sizes[np] = len % l->block;
	return np + 1;
}

static void quant_forward(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  const struct qlayout *l)
{
	uint8_t off[MFS_PLANES_MAX], width[MFS_PLANES_MAX];
	unsigned int np = qplanes(l, off, width);
	size_t nb = len / l->block, B = l->block;

	for (unsigned int k = 0; k < np; k++) {
		size_t w = width[k];

		if (w == 1)
			for (size_t b = 0; b < nb; b++)
				dst[b] = src[b * B + off[k]];
		else
			for (size_t b = 0; b < nb; b++)
				memcpy(dst + b * w, src + b * B + off[k], w);
		dst += nb * w;
	}
	memcpy(dst, src + nb * B, len % B);
}

static void quant_inverse(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			  const struct qlayout *l)
{
	uint8_t off[MFS_PLANES_MAX], width[MFS_PLANES_MAX];
	unsigned int np = qplanes(l, off, width);
	size_t nb = len / l->block, B = l->block;

	for (unsigned int k = 0; k < np; k++) {
		size_t w = width[k];

		if (w == 1)
			for (size_t b = 0; b < nb; b++)
				dst[b * B + off[k]] = src[b];
		else
			for (size_t b = 0; b < nb; b++)
				memcpy(dst + b * B + off[k], src + b * w, w);
		src += nb * w;
	}
	memcpy(dst + nb * B, src, len % B);
}

static bool is_float(uint32_t type)
{
	return type == GT_F32 || type == GT_BF16;
}

bool mfs_xform_fields_knows(uint32_t type)
{
	return is_float(type) || layout_of(type);
}

static bool fields_param_ok(uint32_t type)
{
	return mfs_xform_fields_knows(type);
}

static unsigned int fields_planes(size_t len, uint32_t type, size_t sizes[MFS_PLANES_MAX])
{
	return is_float(type) ? float_planes(len, type, sizes)
			      : quant_planes(len, layout_of(type), sizes);
}

static void fields_forward(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			   uint32_t type)
{
	if (is_float(type))
		float_forward(dst, src, len, type);
	else
		quant_forward(dst, src, len, layout_of(type));
}

static void fields_inverse(uint8_t *restrict dst, const uint8_t *restrict src, size_t len,
			   uint32_t type)
{
	if (is_float(type))
		float_inverse(dst, src, len, type);
	else
		quant_inverse(dst, src, len, layout_of(type));
}

/* ---- table ----------------------------------------------------------------- */

static const struct mfs_xform xforms[MFS_XFORM_NR] = {
	[MFS_XFORM_NONE] = {
		.name = "none", .id = MFS_XFORM_NONE, .param_ok = none_param_ok,
		.planes = none_planes, .forward = copy, .inverse = copy,
	},
	[MFS_XFORM_BYTES] = {
		.name = "bytes", .id = MFS_XFORM_BYTES, .param_ok = bytes_param_ok,
		.planes = bytes_planes, .forward = bytes_forward, .inverse = bytes_inverse,
	},
	[MFS_XFORM_FIELDS] = {
		.name = "fields", .id = MFS_XFORM_FIELDS, .param_ok = fields_param_ok,
		.planes = fields_planes, .forward = fields_forward, .inverse = fields_inverse,
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
