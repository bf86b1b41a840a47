/* SPDX-License-Identifier: MIT */
/*
 * seeds.c - seed inputs for fuzz_block: synthetic weights of each dtype
 * encoded with every codec and every transform that applies to them.
 *
 *   fuzz-seeds DIR
 *
 * Writes one file per (codec, transform, parameter) in the format fuzz_block.c
 * reads. tests/fuzz/seeds.sh calls it; the seeds it writes are committed in
 * tests/fuzz/corpus/block/, so run it again only when the encoders change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "dtype.h"
#include "le.h"
#include "weights.h"

#define SEED_LEN 6144u /* a multiple of every block size used here, plus a tail for some */

static int write_seed(const char *dir, struct mfs_cctx *cctx, unsigned int codec,
		      unsigned int xform, uint32_t param, const uint8_t *src, size_t len)
{
	size_t bound = mfs_block_bound(codec, xform, param, len);
	uint8_t *buf = malloc(8 + bound);
	char path[4096];
	struct mfs_err err;
	ssize_t n;
	FILE *f;

	if (!bound || !buf) {
		free(buf);
		return 0;
	}
	buf[0] = (uint8_t)codec;
	buf[1] = (uint8_t)xform;
	buf[2] = (uint8_t)param;
	buf[3] = (uint8_t)(param >> 8);
	put_le32(buf + 4, (uint32_t)len);
	n = mfs_block_encode(cctx, codec, mfs_codec_get(codec)->default_level, xform, param,
			     buf + 8, bound, src, len, &err);
	if (n < 0) {
		fprintf(stderr, "fuzz-seeds: codec %u xform %u param %u: %s\n", codec, xform, param,
			mfs_err_msg(&err, (int)n));
		free(buf);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s-%s-%u", dir, mfs_codec_name(codec),
		 mfs_xform_name(xform), param);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, 8 + (size_t)n, f) != 8 + (size_t)n || fclose(f)) {
		perror(path);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned int floats[] = {MFS_DT_F32, MFS_DT_F16, MFS_DT_BF16};
	static const unsigned int quants[] = {
		MFS_DT_Q8_0, MFS_DT_Q4_0, MFS_DT_Q4_1, MFS_DT_Q5_0, MFS_DT_Q5_1, MFS_DT_Q2_K,
		MFS_DT_Q3_K, MFS_DT_Q4_K, MFS_DT_Q5_K, MFS_DT_Q6_K, MFS_DT_IQ4_NL, MFS_DT_IQ4_XS,
	};
	float *w = malloc(SEED_LEN * sizeof(float));
	uint8_t *b = malloc(SEED_LEN * sizeof(float));
	struct mfs_cctx *cctx = mfs_cctx_new();
	int ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	if (!w || !b || !cctx)
		return 1;
	weights_fill(w, SEED_LEN / 64, 64, 0.02, 0.0, 1);
	/* Every codec on plain bytes, and byte planes of 2/4/8-byte elements. */
	weights_encode(b, w, SEED_LEN / 2, MFS_DT_BF16);
	for (unsigned int c = 0; c < MFS_CODEC_NR; c++) {
		ret |= write_seed(argv[1], cctx, c, MFS_XFORM_NONE, 0, b, SEED_LEN);
		for (uint32_t e = 2; e <= 8; e *= 2)
			ret |= write_seed(argv[1], cctx, c, MFS_XFORM_BYTES, e, b, SEED_LEN + 3);
	}
	/* Field planes of each float type, from weights of that type. */
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
		size_t esz = floats[i] == MFS_DT_F32 ? 4 : 2;
		weights_encode(b, w, SEED_LEN / esz, floats[i]);
		for (unsigned int c = 0; c < MFS_CODEC_NR; c++)
			ret |= write_seed(argv[1], cctx, c, MFS_XFORM_FIELDS, floats[i], b,
					  SEED_LEN + 1);
	}
	/* Quantized types: real Q8_0 / Q4_0 blocks; the others' fields over Q8_0 bytes. */
	for (size_t i = 0; i < sizeof(quants) / sizeof(quants[0]); i++) {
		weights_encode(b, w, SEED_LEN, quants[i] == MFS_DT_Q4_0 ? MFS_DT_Q4_0 : MFS_DT_Q8_0);
		ret |= write_seed(argv[1], cctx, MFS_CODEC_PLANES, MFS_XFORM_FIELDS, quants[i], b,
				  SEED_LEN);
		ret |= write_seed(argv[1], cctx, MFS_CODEC_ZSTD, MFS_XFORM_FIELDS, quants[i], b,
				  SEED_LEN);
	}
	mfs_cctx_free(cctx);
	free(b);
	free(w);
	return ret ? 1 : 0;
}
