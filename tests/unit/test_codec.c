/* SPDX-License-Identifier: MIT */
/*
 * test_codec.c - codecs and block encode/decode: round trips at every level
 * on data of every kind and awkward lengths; exact-length decoding; corrupt
 * input is -EFSCORRUPTED and never a crash.
 */
#include <criterion/criterion.h>

#include "block.h"
#include "codec.h"
#include "helpers.h"
#include "xform.h"

static const size_t lengths[] = {1, 2, 31, 100, 4096, 65537, 262144, 1 << 20};

static void make_input(uint8_t *buf, size_t n, int kind)
{
	switch (kind) {
	case 0: /* random: incompressible */
		fill_random(buf, n, n);
		break;
	case 1: /* zeros */
		memset(buf, 0, n);
		break;
	default: /* skewed bytes, like weight exponents */
		fill_random(buf, n, n + 7);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(0x3c + (buf[i] & 3));
		break;
	}
}

static void roundtrip(unsigned int codec, int level, size_t n, int kind)
{
	struct mfs_cctx *c = mfs_cctx_new();
	struct mfs_dctx *d = mfs_dctx_new();
	size_t bound = mfs_block_bound(codec, MFS_XFORM_NONE, 0, n);
	uint8_t *in = malloc(n), *enc = malloc(bound), *out = malloc(n);
	struct mfs_err err = {{0}};
	ssize_t r;

	cr_assert(c && d && in && enc && out);
	make_input(in, n, kind);
	r = mfs_block_encode(c, codec, level, MFS_XFORM_NONE, 0, enc, bound, in, n, &err);
	cr_assert_gt(r, 0, "%s level %d len %zu: %s", mfs_codec_name(codec), level, n, err.msg);
	cr_assert_leq((size_t)r, bound);
	memset(out, 0xa5, n);
	cr_assert_eq(mfs_block_decode(d, codec, MFS_XFORM_NONE, 0, out, n, enc, (size_t)r, &err),
		     0, "%s: %s", mfs_codec_name(codec), err.msg);
	cr_assert_eq(memcmp(in, out, n), 0, "%s level %d len %zu kind %d differs",
		     mfs_codec_name(codec), level, n, kind);
	if (kind == 1 && n >= 4096 && codec != MFS_CODEC_STORE)
		cr_assert_lt((size_t)r, n / 10, "zeros should compress");
	free(in);
	free(enc);
	free(out);
	mfs_cctx_free(c);
	mfs_dctx_free(d);
}

Test(codec, roundtrip_all_codecs_levels_lengths)
{
	for (unsigned int id = 0; id < MFS_CODEC_NR; id++) {
		const struct mfs_codec *c = mfs_codec_get(id);
		int levels[] = {c->min_level, c->default_level, c->max_level};

		for (size_t li = 0; li < 3; li++)
			for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
				for (int kind = 0; kind < 3; kind++) {
					/* the slowest levels only on a few sizes */
					if (li == 2 && lengths[i] > 65537)
						continue;
					roundtrip(id, levels[li], lengths[i], kind);
				}
	}
}

Test(codec, lz4hc_levels_are_used_and_decode)
{
	roundtrip(MFS_CODEC_LZ4, 3, 100000, 2);
	roundtrip(MFS_CODEC_LZ4, 9, 100000, 2);
}

Test(codec, table_lookup)
{
	cr_assert_eq(mfs_codec_find("zstd")->id, MFS_CODEC_ZSTD);
	cr_assert_eq(mfs_codec_find("lz4")->id, MFS_CODEC_LZ4);
	cr_assert_eq(mfs_codec_find("store")->id, MFS_CODEC_STORE);
	cr_assert_null(mfs_codec_find("gzip"));
	cr_assert_null(mfs_codec_get(MFS_CODEC_NR));
	cr_assert_null(mfs_codec_get(255));
	cr_assert_str_eq(mfs_codec_name(7), "codec 7");
	cr_assert_null(mfs_xform_get(MFS_XFORM_NR));
	cr_assert_str_eq(mfs_xform_name(0), "none");
}

/* Encode 64 KiB of skewed data with @codec; returns the stored length. */
static size_t encode_sample(unsigned int codec, uint8_t *in, uint8_t *enc, size_t cap)
{
	struct mfs_cctx *c = mfs_cctx_new();
	ssize_t r;

	make_input(in, 65536, 2);
	r = mfs_block_encode(c, codec, 0, MFS_XFORM_NONE, 0, enc, cap, in, 65536, NULL);
	mfs_cctx_free(c);
	cr_assert_gt(r, 0);
	return (size_t)r;
}

Test(codec, wrong_length_is_corruption)
{
	static uint8_t in[65536], enc[70000], out[65537];
	struct mfs_dctx *d = mfs_dctx_new();
	struct mfs_err err = {{0}};

	for (unsigned int id = 0; id < MFS_CODEC_NR; id++) {
		size_t n = encode_sample(id, in, enc, sizeof(enc));

		cr_assert_eq(mfs_block_decode(d, id, 0, 0, out, 65535, enc, n, &err),
			     -EFSCORRUPTED, "%s: shorter output accepted", mfs_codec_name(id));
		cr_assert_eq(mfs_block_decode(d, id, 0, 0, out, 65537, enc, n, &err),
			     -EFSCORRUPTED, "%s: longer output accepted", mfs_codec_name(id));
		cr_assert_neq(err.msg[0], '\0');
	}
	mfs_dctx_free(d);
}

Test(codec, corrupt_input_never_crashes)
{
	static uint8_t in[65536], enc[70000], bad[70000], out[65536];
	struct mfs_dctx *d = mfs_dctx_new();
	unsigned int detected = 0, trials = 0;

	for (unsigned int id = MFS_CODEC_LZ4; id < MFS_CODEC_NR; id++) {
		size_t n = encode_sample(id, in, enc, sizeof(enc));

		for (size_t pos = 0; pos < n; pos += 1 + n / 300) {
			int r;

			memcpy(bad, enc, n);
			bad[pos] ^= (uint8_t)(1u << (pos % 8));
			r = mfs_block_decode(d, id, 0, 0, out, sizeof(out), bad, n, NULL);
			/* Either an error, or output that the caller's checksum will judge. */
			cr_assert(r == 0 || r == -EFSCORRUPTED, "%s: unexpected %d",
				  mfs_codec_name(id), r);
			trials++;
			detected += r != 0 || memcmp(out, in, sizeof(in)) != 0;
		}
		/* Truncated input. */
		cr_assert_eq(mfs_block_decode(d, id, 0, 0, out, sizeof(out), enc, n / 2, NULL),
			     -EFSCORRUPTED);
	}
	cr_assert_gt(detected, trials * 9 / 10, "bit flips mostly go unnoticed: %u/%u",
		     detected, trials);
	mfs_dctx_free(d);
}

Test(codec, unknown_ids)
{
	uint8_t buf[16] = {0}, out[16];
	struct mfs_dctx *d = mfs_dctx_new();
	struct mfs_cctx *c = mfs_cctx_new();

	cr_assert_eq(mfs_block_decode(d, 9, 0, 0, out, 16, buf, 16, NULL), -EOPNOTSUPP);
	cr_assert_eq(mfs_block_decode(d, 0, 9, 0, out, 16, buf, 16, NULL), -EOPNOTSUPP);
	cr_assert_eq(mfs_block_encode(c, 9, 1, 0, 0, out, 16, buf, 16, NULL), -EOPNOTSUPP);
	cr_assert_eq(mfs_block_decode(d, 0, 0, 1, out, 16, buf, 16, NULL), -EFSCORRUPTED,
		     "identity takes no parameter");
	cr_assert_eq(mfs_block_decode(d, 0, MFS_XFORM_BYTES, 3, out, 16, buf, 16, NULL),
		     -EFSCORRUPTED, "bytes takes 2, 4 or 8");
	cr_assert_eq(mfs_block_decode(d, 0, MFS_XFORM_FIELDS, 4, out, 16, buf, 16, NULL),
		     -EFSCORRUPTED, "fields knows no type 4");
	cr_assert_eq(mfs_block_bound(9, 0, 0, 16), 0);
	mfs_dctx_free(d);
	mfs_cctx_free(c);
}

Test(codec, scratch_grows_and_caps)
{
	struct mfs_dctx *d = mfs_dctx_new();
	void *p1 = mfs_dctx_scratch(d, MFS_SCRATCH_IO, 100);
	void *p2 = mfs_dctx_scratch(d, MFS_SCRATCH_IO, 50);

	cr_assert_not_null(p1);
	cr_assert_eq(p1, p2, "a smaller request reuses the buffer");
	cr_assert_not_null(mfs_dctx_scratch(d, MFS_SCRATCH_IO, 1 << 20));
	cr_assert_null(mfs_dctx_scratch(d, MFS_SCRATCH_IO, MFS_SCRATCH_MAX + 1));
	cr_assert_null(mfs_dctx_scratch(d, MFS_SCRATCH_NR, 10));
	mfs_dctx_free(d);
	mfs_dctx_free(NULL);
	mfs_cctx_free(NULL);
}

Test(codec, compress_reports_small_buffer)
{
	uint8_t in[4096], out[16];
	struct mfs_cctx *c = mfs_cctx_new();
	struct mfs_err err = {{0}};

	fill_random(in, sizeof(in), 1);
	for (unsigned int id = 0; id < MFS_CODEC_NR; id++) {
		err.msg[0] = '\0';
		cr_assert_eq(mfs_block_encode(c, id, 1, 0, 0, out, sizeof(out), in, sizeof(in), &err),
			     -ENOSPC, "%s", mfs_codec_name(id));
		cr_assert_neq(err.msg[0], '\0');
	}
	mfs_cctx_free(c);
}
