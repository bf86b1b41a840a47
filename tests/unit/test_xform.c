/* SPDX-License-Identifier: MIT */
/*
 * test_xform.c - transforms, the rANS coder and the planes codec: every
 * transform round-trips any bytes of any length (including empty and lengths
 * that are no multiple of the element or block); the quantized layouts are
 * permutations of exactly ggml's block sizes; rANS round-trips every kind of
 * distribution within a hair of the entropy and refuses corrupt streams;
 * corrupt plane headers are -EFSCORRUPTED, never a crash.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "block.h"
#include "dtype.h"
#include "helpers.h"
#include "planes.h"
#include "rans.h"
#include "rans32.h"
#include "simd.h"
#include "xform.h"

static const uint32_t field_types[] = {
	MFS_DT_F32,  MFS_DT_BF16, MFS_DT_Q4_0, MFS_DT_Q4_1,   MFS_DT_Q5_0,
	MFS_DT_Q5_1, MFS_DT_Q8_0, MFS_DT_Q2_K, MFS_DT_Q3_K, MFS_DT_Q4_K,   MFS_DT_Q5_K,
	MFS_DT_Q6_K, MFS_DT_IQ4_NL, MFS_DT_IQ4_XS,
};

struct case_ {
	unsigned int xform;
	uint32_t param;
};

static size_t all_cases(struct case_ *out)
{
	size_t n = 0;

	out[n++] = (struct case_){MFS_XFORM_NONE, 0};
	out[n++] = (struct case_){MFS_XFORM_BYTES, 2};
	out[n++] = (struct case_){MFS_XFORM_BYTES, 4};
	out[n++] = (struct case_){MFS_XFORM_BYTES, 8};
	for (size_t i = 0; i < sizeof(field_types) / sizeof(field_types[0]); i++)
		out[n++] = (struct case_){MFS_XFORM_FIELDS, field_types[i]};
	return n;
}

Test(xform, every_transform_roundtrips_every_length)
{
	static uint8_t in[5000], mid[5000], out[5000];
	struct case_ cases[32];
	size_t nc = all_cases(cases);

	fill_random(in, sizeof(in), 11);
	for (size_t c = 0; c < nc; c++) {
		const struct mfs_xform *x = mfs_xform_get(cases[c].xform);

		cr_assert(x->param_ok(cases[c].param), "%s %u", x->name, cases[c].param);
		for (size_t len = 0; len <= sizeof(in); len += len < 700 ? 1 : 97) {
			size_t sizes[MFS_PLANES_MAX], sum = 0;
			unsigned int np = x->planes(len, cases[c].param, sizes);

			cr_assert(np >= 1 && np <= MFS_PLANES_MAX);
			for (unsigned int k = 0; k < np; k++)
				sum += sizes[k];
			cr_assert_eq(sum, len, "%s %u: planes cover %zu of %zu", x->name,
				     cases[c].param, sum, len);
			memset(mid, 0xee, sizeof(mid));
			memset(out, 0xdd, sizeof(out));
			x->forward(mid, in, len, cases[c].param);
			mfs_xform_inverse(x, out, mid, len, cases[c].param);
			cr_assert_eq(memcmp(in, out, len), 0, "%s %u: length %zu differs", x->name,
				     cases[c].param, len);
			cr_assert_eq(out[len], 0xdd, "%s wrote past the end", x->name);
		}
	}
}

/*
 * The vector inverses (SSE2, NEON) and the scalar ones give the same bytes
 * for any planes of any length, and the round trip holds on the scalar path
 * too. On arm64 this runs under qemu-user (tests/arm64.sh).
 */
Test(xform, vector_and_scalar_inverses_agree)
{
	static uint8_t in[70000], vec[70000], sca[70000], mid[70000];
	struct case_ cases[32];
	size_t nc = all_cases(cases);

	fill_random(in, sizeof(in), 23);
	cr_log_info("paths here: %s", mfs_codec_paths());
	for (size_t c = 0; c < nc; c++) {
		const struct mfs_xform *x = mfs_xform_get(cases[c].xform);

		for (size_t len = 0; len <= sizeof(in); len += len < 300 ? 1 : 4099) {
			memset(vec, 0xdd, sizeof(vec));
			memset(sca, 0xdd, sizeof(sca));
			mfs_codec_force_scalar(false);
			mfs_xform_inverse(x, vec, in, len, cases[c].param);
			mfs_codec_force_scalar(true);
			mfs_xform_inverse(x, sca, in, len, cases[c].param);
			x->forward(mid, sca, len, cases[c].param);
			mfs_codec_force_scalar(false);
			cr_assert_eq(memcmp(vec, sca, len + 1), 0, "%s %u: length %zu: paths differ",
				     x->name, cases[c].param, len);
			cr_assert_eq(memcmp(mid, in, len), 0, "%s %u: length %zu: scalar round trip",
				     x->name, cases[c].param, len);
		}
	}
}

Test(xform, quant_layouts_are_permutations_of_ggml_blocks)
{
	for (size_t i = 2; i < sizeof(field_types) / sizeof(field_types[0]); i++) {
		const struct mfs_dtype_info *dt = mfs_dtype_get(field_types[i]);
		const struct mfs_xform *x = mfs_xform_get(MFS_XFORM_FIELDS);
		size_t B = dt->block_bytes, sizes[MFS_PLANES_MAX];
		uint8_t block[256], mid[256];
		bool seen[256] = {false};
		unsigned int np;

		cr_assert_lt(B, 256);
		for (size_t k = 0; k < B; k++)
			block[k] = (uint8_t)k;
		np = x->planes(B, field_types[i], sizes);
		cr_assert_eq(sizes[np - 1], 0, "%s: a whole block leaves a tail", dt->name);
		x->forward(mid, block, B, field_types[i]);
		for (size_t k = 0; k < B; k++) {
			cr_assert(!seen[mid[k]], "%s: byte %u taken twice", dt->name, mid[k]);
			seen[mid[k]] = true;
		}
		/* Two blocks: scalar planes get one byte per block. */
		cr_assert_eq(x->planes(2 * B + 5, field_types[i], sizes), np);
		cr_assert_eq(sizes[np - 1], 5);
	}
	cr_assert_not(mfs_xform_fields_knows(MFS_DT_Q8_1), "no layout: no fields transform");
	cr_assert_not(mfs_xform_fields_knows(MFS_DT_I32));
	cr_assert_not(mfs_xform_fields_knows(MFS_DT_F16), "F16 uses byte planes");
}

Test(xform, float_fields_put_exponents_in_plane_zero)
{
	const struct mfs_xform *x = mfs_xform_get(MFS_XFORM_FIELDS);
	/* BF16 1.0 = 0x3f80: exponent 127, sign and mantissa 0; -2.5 = 0xc020 */
	uint8_t bf[4] = {0x80, 0x3f, 0x20, 0xc0}, mid[4];
	/* F32 -1.5 = 0xbfc00000: exponent 127, sign 1, mantissa high 0x40 */
	uint8_t f32[4] = {0x00, 0x00, 0xc0, 0xbf}, m32[4];

	x->forward(mid, bf, 4, MFS_DT_BF16);
	cr_assert_eq(mid[0], 127);
	cr_assert_eq(mid[1], 128);
	cr_assert_eq(mid[2], 0x00);
	cr_assert_eq(mid[3], 0x80 | 0x20);
	x->forward(m32, f32, 4, MFS_DT_F32);
	cr_assert_eq(m32[0], 127);
	cr_assert_eq(m32[1], 0x80 | 0x40);
}

/*
 * Both rANS coders go through the same tests. rans32 decodes every stream on
 * the vector path (AVX2 or NEON, as this machine has) and on the scalar one,
 * which must agree: same return, same bytes.
 */
static int rans_dec(uint8_t *out, size_t n, const uint8_t *enc, size_t len)
{
	return mfs_rans_decode(out, n, enc, len, NULL);
}

static int rans32_both(uint8_t *out, size_t n, const uint8_t *enc, size_t len)
{
	uint8_t *other = malloc(n + 64);
	int r, rs;

	memset(out, 0xaa, n);
	memset(other, 0xaa, n);
	mfs_codec_force_scalar(false);
	r = mfs_rans32_decode(out, n, enc, len, NULL);
	mfs_codec_force_scalar(true);
	rs = mfs_rans32_decode(other, n, enc, len, NULL);
	mfs_codec_force_scalar(false);
	cr_assert_eq(r, rs, "paths disagree on a stream of %zu bytes: %d, %d", len, r, rs);
	if (r == 0)
		cr_assert_eq(memcmp(out, other, n), 0, "paths decode %zu bytes differently", n);
	free(other);
	return r;
}

struct coder {
	const char *name;
	size_t (*bound)(size_t n);
	ssize_t (*encode)(void *dst, size_t cap, const uint8_t *src, size_t n, struct mfs_err *err);
	int (*decode)(uint8_t *out, size_t n, const uint8_t *enc, size_t len);
};

static const struct coder rans4 = {"rans", mfs_rans_bound, mfs_rans_encode, rans_dec};
static const struct coder rans32 = {"rans32", mfs_rans32_bound, mfs_rans32_encode, rans32_both};

static void roundtrip(const struct coder *c, const uint8_t *in, size_t n, double *ratio)
{
	size_t cap = c->bound(n);
	uint8_t *enc = malloc(cap), *out = malloc(n + 1);
	struct mfs_err err = {{0}};
	ssize_t r = c->encode(enc, cap, in, n, &err);

	cr_assert_gt(r, 0, "%s: encode %zu: %s", c->name, n, err.msg);
	cr_assert_eq(c->decode(out, n, enc, (size_t)r), 0, "%s: decode %zu", c->name, n);
	cr_assert_eq(memcmp(in, out, n), 0, "%s: %zu bytes differ", c->name, n);
	if (ratio)
		*ratio = (double)n / (double)r;
	free(enc);
	free(out);
}

static void every_distribution(const struct coder *c)
{
	static uint8_t buf[300000];
	uint32_t counts[256];
	double ratio = 0;

	/* two symbols, short and long */
	for (size_t n = 2; n < 300; n++) {
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(i % 3 == 0 ? 7 : 200);
		roundtrip(c, buf, n, NULL);
	}
	/* uniform over all 256 */
	fill_random(buf, sizeof(buf), 5);
	roundtrip(c, buf, sizeof(buf), NULL);
	/* 255 symbols, one of them rare */
	for (size_t i = 0; i < 100000; i++)
		buf[i] = (uint8_t)(i % 255);
	buf[500] = 255;
	roundtrip(c, buf, 100000, NULL);
	/* very skewed: one symbol at 99.9% */
	fill_random(buf, 131072, 9);
	for (size_t i = 0; i < 131072; i++)
		buf[i] = buf[i] < 1 ? buf[i] : 0x42;
	roundtrip(c, buf, 131072, NULL);
	/* Laplacian-like, as exponents are: within 0.5% of the order-0 bound */
	fill_random(buf, 131072, 13);
	for (size_t i = 0; i < 131072; i++) {
		unsigned int v = buf[i], e = 120;

		while (v & 1 && e > 100) {
			e--;
			v >>= 1;
		}
		buf[i] = (uint8_t)e;
	}
	for (size_t n = 131072 - 70; n <= 131072; n++) /* every tail length */
		roundtrip(c, buf, n, n == 131072 ? &ratio : NULL);
	mfs_histogram(buf, 131072, counts);
	cr_assert_gt(ratio, 0.995 * 8.0 / mfs_entropy0(counts, 131072), "%s ratio %.4f vs bound %.4f",
		     c->name, ratio, 8.0 / mfs_entropy0(counts, 131072));
	cr_assert_eq(c->encode(buf, 1000, (const uint8_t *)"aaaa", 4, NULL), -EINVAL,
		     "%s: a constant plane is not rANS's job", c->name);
}

static void corrupt_streams(const struct coder *c)
{
	static uint8_t in[20000], enc[40000], bad[40000], out[20000];
	unsigned int refused = 0, flips = 0;
	ssize_t n;

	fill_random(in, sizeof(in), 21);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(in[i] % 5 + (in[i] > 200 ? 40 : 0));
	n = c->encode(enc, sizeof(enc), in, sizeof(in), NULL);
	cr_assert_gt(n, 0);
	for (ssize_t len = 0; len < n; len += len < 300 ? 1 : 131)
		cr_assert_eq(c->decode(out, sizeof(out), enc, (size_t)len), -EFSCORRUPTED,
			     "%s: truncated to %zd", c->name, len);
	cr_assert_eq(c->decode(out, sizeof(out) - 1, enc, (size_t)n), -EFSCORRUPTED,
		     "%s: decoding fewer symbols than encoded", c->name);
	cr_assert_eq(c->decode(out, sizeof(out) - 40, enc, (size_t)n), -EFSCORRUPTED,
		     "%s: decoding a group fewer than encoded", c->name);
	for (ssize_t pos = 0; pos < n; pos += 1 + n / 500) {
		int r;

		memcpy(bad, enc, (size_t)n);
		bad[pos] ^= (uint8_t)(1u << (pos % 8));
		r = c->decode(out, sizeof(out), bad, (size_t)n);
		cr_assert(r == 0 || r == -EFSCORRUPTED);
		flips++;
		refused += r != 0 || memcmp(out, in, sizeof(in)) != 0;
	}
	cr_log_info("%s: %u of %u flips changed the outcome", c->name, refused, flips);
	cr_assert_gt(refused, flips * 9 / 10);
}

Test(rans, roundtrips_every_distribution)
{
	every_distribution(&rans4);
}

Test(rans, corrupt_streams_are_refused)
{
	corrupt_streams(&rans4);
}

Test(rans32, roundtrips_every_distribution_on_every_path)
{
	cr_log_info("paths here: %s", mfs_codec_paths());
	every_distribution(&rans32);
}

/* The bound is what the encoder needs, not less (it refuses a buffer a byte short). */
Test(rans32, bound_is_checked)
{
	static uint8_t buf[50000], enc[100000];

	fill_random(buf, sizeof(buf), 17);
	for (size_t n = 2; n < sizeof(buf); n += n < 100 ? 1 : 997)
		cr_assert_eq(mfs_rans32_encode(enc, mfs_rans32_bound(n) - 1, buf, n, NULL), -ENOSPC,
			     "length %zu", n);
}

Test(rans32, corrupt_streams_are_refused_alike_on_every_path)
{
	corrupt_streams(&rans32);
}

/* Encode BF16-like data through every (transform, planes level) and back. */
Test(planes, block_roundtrip_and_ratio)
{
	static uint8_t in[262144], enc[300000], out[262144];
	struct mfs_cctx *c = mfs_cctx_new();
	struct mfs_dctx *d = mfs_dctx_new();
	struct mfs_err err = {{0}};
	size_t zsize = 0, psize = 0;
	uint64_t s = 1;

	for (size_t i = 0; i < sizeof(in) / 2; i++) {
		/* exponent ~ 120 +- a few, random sign and mantissa */
		uint32_t r;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		r = (uint32_t)s;
		put_le16(in + 2 * i, (uint16_t)((r & 0x8000) | (118u + (r >> 20) % 5) << 7 |
						(r & 0x7f)));
	}
	for (int level = 1; level <= 2; level++) {
		for (unsigned int xf = 0; xf < MFS_XFORM_NR; xf++) {
			uint32_t param = xf == MFS_XFORM_BYTES ? 2 : xf == MFS_XFORM_FIELDS ? MFS_DT_BF16 : 0;
			ssize_t n = mfs_block_encode(c, MFS_CODEC_PLANES, level, xf, param, enc,
						     sizeof(enc), in, sizeof(in), &err);

			cr_assert_gt(n, 0, "%s: %s", mfs_xform_name(xf), err.msg);
			cr_assert_leq((size_t)n, mfs_block_bound(MFS_CODEC_PLANES, xf, param,
								 sizeof(in)));
			cr_assert_eq(mfs_block_decode(d, MFS_CODEC_PLANES, xf, param, out,
						      sizeof(out), enc, (size_t)n, &err),
				     0, "%s level %d: %s", mfs_xform_name(xf), level, err.msg);
			cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
			if (xf == MFS_XFORM_FIELDS && level == 2)
				psize = (size_t)n;
		}
	}
	zsize = (size_t)mfs_block_encode(c, MFS_CODEC_ZSTD, 3, 0, 0, enc, sizeof(enc), in,
					 sizeof(in), NULL);
	/* 3 bits of exponent entropy + 8 raw: 16/10.3 = 1.55x; zstd cannot split fields. */
	cr_assert_gt((double)sizeof(in) / (double)psize, 1.5, "fields+planes ratio %.3f",
		     (double)sizeof(in) / (double)psize);
	cr_assert_lt(psize, zsize);
	mfs_cctx_free(c);
	mfs_dctx_free(d);
}

Test(planes, corrupt_headers_are_refused)
{
	static uint8_t in[4000], enc[8000], bad[8000], out[4000];
	size_t sizes[3] = {1000, 2000, 1000};
	struct mfs_cctx *c = mfs_cctx_new();
	struct mfs_dctx *d = mfs_dctx_new();
	ssize_t n;

	fill_random(in, sizeof(in), 3);
	for (size_t i = 1000; i < 3000; i++)
		in[i] = (uint8_t)(in[i] & 3); /* a skewed middle plane */
	memset(in + 3000, 9, 1000);	      /* a constant last plane */
	n = mfs_planes_encode(c, 2, enc, sizeof(enc), in, sizes, 3, NULL);
	cr_assert_gt(n, 0);
	cr_assert_eq(enc[0], 3);
	cr_assert_eq(enc[1], MFS_PLANE_RAW, "random plane stored raw");
	cr_assert_eq(mfs_planes_decode(d, out, NULL, sizes, 3, enc, (size_t)n, NULL), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);

#define BAD(what, mutate)                                                                          \
	do {                                                                                       \
		memcpy(bad, enc, (size_t)n);                                                       \
		mutate;                                                                            \
		cr_assert_eq(mfs_planes_decode(d, out, NULL, sizes, 3, bad, (size_t)n, NULL),            \
			     -EFSCORRUPTED, what);                                                 \
	} while (0)
	BAD("plane count", bad[0] = 2);
	BAD("unknown method", bad[1] = 9);
	BAD("raw length", bad[2] ^= 1);
	BAD("method swapped", bad[1] = MFS_PLANE_CONST);
#undef BAD
	cr_assert_eq(mfs_planes_decode(d, out, NULL, sizes, 3, enc, (size_t)n - 1, NULL), -EFSCORRUPTED,
		     "lengths must add up");
	for (ssize_t len = 0; len < n; len += 1 + n / 100)
		cr_assert_eq(mfs_planes_decode(d, out, NULL, sizes, 3, enc, (size_t)len, NULL),
			     -EFSCORRUPTED, "truncated to %zd", len);
	mfs_cctx_free(c);
	mfs_dctx_free(d);
}
