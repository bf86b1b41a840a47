/* SPDX-License-Identifier: MIT */
/*
 * test_method.c - the per-tensor method choice behind "--codec auto": which
 * candidates a dtype gets, and that the choice keeps the smallest method
 * fast enough, or the fastest when none is.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "dtype.h"
#include "helpers.h"
#include "method.h"
#include "planes.h"
#include "xform.h"

Test(method, candidates_per_dtype)
{
	struct mfs_method m[MFS_METHOD_MAX];
	unsigned int n;

	n = mfs_method_candidates(MFS_DT_BF16, 3, false, m);
	cr_assert_eq(n, 3);
	cr_assert(m[0].codec == MFS_CODEC_PLANES && m[0].xform == MFS_XFORM_FIELDS &&
		  m[0].xparam == MFS_DT_BF16 && m[0].level == MFS_PLANES_LEVEL_BEST);
	cr_assert(m[1].codec == MFS_CODEC_PLANES && m[1].xform == MFS_XFORM_BYTES &&
		  m[1].xparam == 2);
	cr_assert(m[2].codec == MFS_CODEC_ZSTD && m[2].xform == MFS_XFORM_NONE && m[2].level == 3);

	/* With a decode floor above level 2's speed, level 1 joins. */
	n = mfs_method_candidates(MFS_DT_BF16, 3, true, m);
	cr_assert_eq(n, 4);
	cr_assert(m[1].codec == MFS_CODEC_PLANES && m[1].level == MFS_PLANES_LEVEL_FAST);

	/* F16 has no field split: byte planes, then zstd. */
	n = mfs_method_candidates(MFS_DT_F16, 3, false, m);
	cr_assert_eq(n, 2);
	cr_assert(m[0].xform == MFS_XFORM_BYTES && m[0].xparam == 2);

	/* Quantized blocks: their fields, then zstd; never byte planes. */
	n = mfs_method_candidates(MFS_DT_Q4_K, 3, false, m);
	cr_assert_eq(n, 2);
	cr_assert(m[0].xform == MFS_XFORM_FIELDS && m[0].xparam == MFS_DT_Q4_K);
	cr_assert_eq(m[1].codec, MFS_CODEC_ZSTD);

	/* A dtype without planes: the plain chunk through the planes codec and zstd. */
	n = mfs_method_candidates(MFS_DT_IQ2_XXS, 3, false, m);
	cr_assert_eq(m[0].xform, MFS_XFORM_NONE);
	cr_assert_eq(m[n - 1].codec, MFS_CODEC_ZSTD);
}

/* Gaussian weights as BF16, the shape of a real tensor. */
static void bf16_weights(uint8_t *dst, size_t n, uint64_t seed)
{
	uint32_t *r = malloc(n * 2 * sizeof(*r));

	cr_assert_not_null(r);
	fill_random(r, n * 2 * sizeof(*r), seed);
	for (size_t i = 0; i < n; i++) {
		double u1 = (r[2 * i] + 1.0) / 4294967297.0, u2 = r[2 * i + 1] / 4294967296.0;
		float f = (float)(0.02 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
		uint32_t bits;

		memcpy(&bits, &f, 4);
		put_le16(dst + 2 * i, (uint16_t)(bits >> 16));
	}
	free(r);
}

static int choose(const struct mfs_method *cand, unsigned int n, const uint8_t *const *s,
		  const size_t *lens, unsigned int ns, double floor, struct mfs_method_trial *t)
{
	struct mfs_cctx *c = mfs_cctx_new();
	struct mfs_dctx *d = mfs_dctx_new();
	struct mfs_err err = {{0}};
	int r;

	cr_assert(c && d);
	r = mfs_method_choose(c, d, cand, n, s, lens, ns, floor, t, &err);
	cr_assert_geq(r, 0, "choose: %s", err.msg);
	cr_assert_lt((unsigned int)r, n);
	mfs_cctx_free(c);
	mfs_dctx_free(d);
	return r;
}

Test(method, keeps_the_smallest_fast_enough_else_the_fastest)
{
	enum { LEN = 128 * 1024 };
	struct mfs_method cand[MFS_METHOD_MAX];
	struct mfs_method_trial t[MFS_METHOD_MAX];
	uint8_t *a = malloc(LEN), *b = malloc(LEN + 7);
	const uint8_t *s[2] = {a, b};
	size_t lens[2] = {LEN, LEN + 7}; /* a length that leaves a tail */
	unsigned int n = mfs_method_candidates(MFS_DT_BF16, 3, true, cand);
	int best;

	bf16_weights(a, LEN / 2, 1);
	bf16_weights(b, (LEN + 7) / 2, 2);
	b[LEN + 6] = 0x5a;

	best = choose(cand, n, s, lens, 2, 0.0, t);
	for (unsigned int i = 0; i < n; i++) {
		cr_assert_gt(t[i].stored, 0);
		cr_assert_gt(t[i].decode_mbs, 0);
		cr_assert_leq(t[best].stored, t[i].stored, "chose %d (%zu bytes) over %u (%zu)",
			      best, t[best].stored, i, t[i].stored);
	}
	/* On Gaussian BF16 the exponent plane is what there is to gain. */
	cr_assert_eq(cand[best].codec, MFS_CODEC_PLANES);
	cr_assert_eq(cand[best].xform, MFS_XFORM_FIELDS);
	cr_assert_lt(t[best].stored, (size_t)(0.72 * (2 * LEN + 7)), "ratio only %.3f",
		     (2.0 * LEN + 7) / (double)t[best].stored);

	/* Nothing decodes at a petabyte per second: the fastest wins. */
	best = choose(cand, n, s, lens, 2, 1e9, t);
	for (unsigned int i = 0; i < n; i++)
		cr_assert_geq(t[best].decode_mbs, t[i].decode_mbs);
	free(a);
	free(b);
}
