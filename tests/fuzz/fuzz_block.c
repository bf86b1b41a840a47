/* SPDX-License-Identifier: MIT */
/*
 * fuzz_block.c - every codec and inverse transform on hostile stored bytes.
 *
 * Input: an 8-byte header - codec id (byte 0), transform id (byte 1),
 * transform parameter (bytes 2-3, little-endian), decoded length (bytes 4-7,
 * little-endian, reduced modulo 1 MiB + 1) - then the stored bytes. Unknown
 * ids and parameters are passed through: refusing them is the decoder's job.
 * When stored bytes decode, the result goes back through the encoder and the
 * decoder, which must reproduce it: that puts the packer's encoders, which
 * read untrusted model files, under the fuzzer too. What decodes is decoded
 * again on the scalar paths (simd.h), which must give the same bytes.
 */
#include <string.h>

#include "block.h"
#include "fuzz.h"
#include "le.h"
#include "simd.h"

#define FUZZ_BLOCK_MAX (1u << 20)

static struct mfs_dctx *dctx;
static struct mfs_cctx *cctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int codec, xform;
	uint32_t param, len;
	uint8_t *out, *enc, *again;
	size_t bound;
	ssize_t n;
	struct mfs_err err;

	if (size < 8)
		return 0;
	if (!dctx) {
		dctx = mfs_dctx_new();
		cctx = mfs_cctx_new();
		FUZZ_CHECK(dctx && cctx);
	}
	codec = data[0];
	xform = data[1];
	param = (uint32_t)data[2] | (uint32_t)data[3] << 8;
	len = get_le32(data + 4) % (FUZZ_BLOCK_MAX + 1);
	out = malloc(len ? len : 1);
	FUZZ_CHECK(out);
	if (mfs_block_decode(dctx, codec, xform, param, out, len, data + 8, size - 8, &err)) {
		free(out);
		return 0;
	}
	/* The scalar inverses must give the same bytes as the vector ones. */
	again = malloc(len ? len : 1);
	FUZZ_CHECK(again);
	mfs_codec_force_scalar(true);
	FUZZ_CHECK(!mfs_block_decode(dctx, codec, xform, param, again, len, data + 8, size - 8,
				     &err));
	mfs_codec_force_scalar(false);
	FUZZ_CHECK(!memcmp(out, again, len));
	free(again);
	/* 0 means unknown ids - or nothing to store, for 0 bytes with "store". */
	bound = mfs_block_bound(codec, xform, param, len);
	FUZZ_CHECK(bound || !len);
	enc = malloc(bound ? bound : 1);
	again = malloc(len ? len : 1);
	FUZZ_CHECK(enc && again);
	n = mfs_block_encode(cctx, codec, mfs_codec_get(codec)->default_level, xform, param, enc,
			     bound, out, len, &err);
	if (n < 0) {
		fprintf(stderr, "encode: %s\n", mfs_err_msg(&err, (int)n));
		FUZZ_CHECK(!"encoding what decoded failed");
	}
	FUZZ_CHECK(!mfs_block_decode(dctx, codec, xform, param, again, len, enc, (size_t)n, &err));
	FUZZ_CHECK(!memcmp(out, again, len));
	free(again);
	free(enc);
	free(out);
	return 0;
}
