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

#if defined(__SSE2__)
#include <emmintrin.h>
#define XFORM_VECTOR "sse2"
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define XFORM_VECTOR "neon"
#endif

#include "le.h"
#include "simd.h"

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

static void none_inverse(uint8_t *restrict dst, const uint8_t *const *p, size_t len,
			 uint32_t param)
{
	copy(dst, p[0], len, param);
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

/*
 * The vector interleaves of 2 and 4 planes, 16 elements a step; they return
 * how many elements they did, and the scalar loops do the rest.
 */
#if defined(__SSE2__)
/* 16 elements of 2 bytes to @o: byte 0 of element j is b0[j], byte 1 b1[j]. */
static inline void store2(uint8_t *o, __m128i b0, __m128i b1)
{
	_mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi8(b0, b1));
	_mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi8(b0, b1));
}

/* 16 elements of 4 bytes to @o, byte k of element j from bk[j]. */
static inline void store4(uint8_t *o, __m128i b0, __m128i b1, __m128i b2, __m128i b3)
{
	__m128i l0 = _mm_unpacklo_epi8(b0, b1), l1 = _mm_unpackhi_epi8(b0, b1);
	__m128i h0 = _mm_unpacklo_epi8(b2, b3), h1 = _mm_unpackhi_epi8(b2, b3);

	_mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi16(l0, h0));
	_mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi16(l0, h0));
	_mm_storeu_si128((__m128i *)(o + 32), _mm_unpacklo_epi16(l1, h1));
	_mm_storeu_si128((__m128i *)(o + 48), _mm_unpackhi_epi16(l1, h1));
}

static inline __m128i load16(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

static size_t bytes2_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		store2(dst + 2 * i, load16(a + i), load16(b + i));
	return i;
}

static size_t bytes4_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b,
				 const uint8_t *c, const uint8_t *d, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		store4(dst + 4 * i, load16(a + i), load16(b + i), load16(c + i), load16(d + i));
	return i;
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
static size_t bytes2_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint8x16x2_t out = {{vld1q_u8(a + i), vld1q_u8(b + i)}};

		vst2q_u8(dst + 2 * i, out);
	}
	return i;
}

static size_t bytes4_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b,
				 const uint8_t *c, const uint8_t *d, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint8x16x4_t out = {{vld1q_u8(a + i), vld1q_u8(b + i), vld1q_u8(c + i), vld1q_u8(d + i)}};

		vst4q_u8(dst + 4 * i, out);
	}
	return i;
}
#endif

static void bytes_inverse(uint8_t *restrict dst, const uint8_t *const *p, size_t len, uint32_t e)
{
	size_t n = len / e, i = 0;

	/* Specialised for the common element sizes so the inner loop is unrolled. */
	if (e == 2) {
#ifdef XFORM_VECTOR
		if (!mfs_codec_scalar_forced())
			i = bytes2_inverse_vec(dst, p[0], p[1], n);
#endif
		for (; i < n; i++) {
			dst[2 * i] = p[0][i];
			dst[2 * i + 1] = p[1][i];
		}
	} else if (e == 4) {
#ifdef XFORM_VECTOR
		if (!mfs_codec_scalar_forced())
			i = bytes4_inverse_vec(dst, p[0], p[1], p[2], p[3], n);
#endif
		for (; i < n; i++) {
			dst[4 * i] = p[0][i];
			dst[4 * i + 1] = p[1][i];
			dst[4 * i + 2] = p[2][i];
			dst[4 * i + 3] = p[3][i];
		}
	} else {
		for (; i < n; i++)
			for (uint32_t k = 0; k < e; k++)
				dst[i * e + k] = p[k][i];
	}
	memcpy(dst + n * e, p[e], len % e);
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

/*
 * The vector inverses: 16 elements a step. With a the exponent plane and b
 * the sign and mantissa plane, an element's top byte is (b & 0x80) | a >> 1
 * and the byte below it (a & 1) << 7 | (b & 0x7f); interleaving bytes (and,
 * for F32, then 16-bit halves) lays them out little-endian. Return how many
 * elements they did; the scalar loop does the rest.
 */
#if defined(__SSE2__)
/*
 * The top two bytes of 16 elements from 16 bytes of each plane at @a, @b.
 * Bytes are shifted in 16-bit lanes, then masked: no bit crosses a byte.
 */
static inline void top_bytes(const uint8_t *a, const uint8_t *b, __m128i *hi, __m128i *lo)
{
	const __m128i m80 = _mm_set1_epi8((char)0x80), m7f = _mm_set1_epi8(0x7f);
	__m128i va = _mm_loadu_si128((const __m128i *)a), vb = _mm_loadu_si128((const __m128i *)b);

	*hi = _mm_or_si128(_mm_and_si128(vb, m80), _mm_and_si128(_mm_srli_epi16(va, 1), m7f));
	*lo = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(va, 7), m80), _mm_and_si128(vb, m7f));
}

static size_t bf16_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i hi, lo;

		top_bytes(a + i, b + i, &hi, &lo);
		store2(dst + 2 * i, lo, hi);
	}
	return i;
}

static size_t f32_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint8_t *c,
			      const uint8_t *d, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m128i b3, b2;

		top_bytes(a + i, b + i, &b3, &b2);
		store4(dst + 4 * i, load16(d + i), load16(c + i), b2, b3);
	}
	return i;
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
static size_t bf16_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n)
{
	const uint8x16_t m80 = vdupq_n_u8(0x80), m7f = vdupq_n_u8(0x7f);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint8x16_t va = vld1q_u8(a + i), vb = vld1q_u8(b + i);
		uint8x16x2_t out;

		out.val[1] = vorrq_u8(vandq_u8(vb, m80), vshrq_n_u8(va, 1));
		out.val[0] = vorrq_u8(vshlq_n_u8(va, 7), vandq_u8(vb, m7f));
		vst2q_u8(dst + 2 * i, out); /* interleaves: lo, hi, lo, hi, ... */
	}
	return i;
}

static size_t f32_inverse_vec(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint8_t *c,
			      const uint8_t *d, size_t n)
{
	const uint8x16_t m80 = vdupq_n_u8(0x80), m7f = vdupq_n_u8(0x7f);
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint8x16_t va = vld1q_u8(a + i), vb = vld1q_u8(b + i);
		uint8x16x4_t out;

		out.val[0] = vld1q_u8(d + i);
		out.val[1] = vld1q_u8(c + i);
		out.val[2] = vorrq_u8(vshlq_n_u8(va, 7), vandq_u8(vb, m7f));
		out.val[3] = vorrq_u8(vandq_u8(vb, m80), vshrq_n_u8(va, 1));
		vst4q_u8(dst + 4 * i, out);
	}
	return i;
}
#endif

static void float_inverse(uint8_t *restrict dst, const uint8_t *const *p, size_t len,
			  uint32_t type)
{
	size_t e = type == GT_F32 ? 4 : 2, n = len / e, i = 0;
	unsigned int np = type == GT_BF16 ? 2 : 4;
	const uint8_t *a = p[0], *b = p[1], *c = np == 4 ? p[2] : NULL, *d = np == 4 ? p[3] : NULL;

#ifdef XFORM_VECTOR
	if (!mfs_codec_scalar_forced())
		i = type == GT_BF16 ? bf16_inverse_vec(dst, a, b, n)
				    : f32_inverse_vec(dst, a, b, c, d, n);
#endif
	/* One loop per type: the type test stays out of the per-element path. */
	if (type == GT_BF16) {
		for (; i < n; i++)
			put_le16(dst + 2 * i, (uint16_t)((b[i] & 0x80) << 8 | a[i] << 7 | (b[i] & 0x7f)));
	} else {
		for (; i < n; i++)
			put_le32(dst + 4 * i, (uint32_t)(b[i] & 0x80) << 24 | (uint32_t)a[i] << 23 |
						      (uint32_t)(b[i] & 0x7f) << 16 |
						      (uint32_t)c[i] << 8 | d[i]);
	}
	memcpy(dst + n * e, p[np], len % e);
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

static void quant_inverse(uint8_t *restrict dst, const uint8_t *const *p, size_t len,
			  const struct qlayout *l)
{
	uint8_t off[MFS_PLANES_MAX], width[MFS_PLANES_MAX];
	unsigned int np = qplanes(l, off, width);
	size_t nb = len / l->block, B = l->block;

	for (unsigned int k = 0; k < np; k++) {
		size_t w = width[k];
		uint8_t *o = dst + off[k];
		const uint8_t *restrict src = p[k];

		/*
		 * A copy of a constant size is a few moves; memcpy() of a
		 * variable one is a call per block (Q8_0: 32 bytes a call).
		 */
#define FIELD_COPY(W)                                                                              \
	for (size_t b = 0; b < nb; b++)                                                            \
		memcpy(o + b * B, src + b * (W), (W));                                             \
	break
		switch (w) {
		case 1:
			for (size_t b = 0; b < nb; b++)
				o[b * B] = src[b];
			break;
		case 4: FIELD_COPY(4);
		case 12: FIELD_COPY(12);
		case 16: FIELD_COPY(16);
		case 32: FIELD_COPY(32);
		case 64: FIELD_COPY(64);
		case 128: FIELD_COPY(128);
		default: FIELD_COPY(w);
		}
#undef FIELD_COPY
	}
	memcpy(dst + nb * B, p[np], len % B);
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

static void fields_inverse(uint8_t *restrict dst, const uint8_t *const *p, size_t len,
			   uint32_t type)
{
	if (is_float(type))
		float_inverse(dst, p, len, type);
	else
		quant_inverse(dst, p, len, layout_of(type));
}

/* ---- table ----------------------------------------------------------------- */

static const struct mfs_xform xforms[MFS_XFORM_NR] = {
	[MFS_XFORM_NONE] = {
		.name = "none", .id = MFS_XFORM_NONE, .param_ok = none_param_ok,
		.planes = none_planes, .forward = copy, .inverse = none_inverse,
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

void mfs_xform_inverse(const struct mfs_xform *x, uint8_t *restrict dst,
		       const uint8_t *restrict src, size_t len, uint32_t param)
{
	size_t sizes[MFS_PLANES_MAX];
	const uint8_t *p[MFS_PLANES_MAX];
	unsigned int n = x->planes(len, param, sizes);

	for (unsigned int k = 0; k < n; k++) {
		p[k] = src;
		src += sizes[k];
	}
	x->inverse(dst, p, len, param);
}
