/* SPDX-License-Identifier: MIT */
/*
 * decbench.c - in-memory decode speed of a container against zstd -3, same
 * chunks, same core (tests/bench/codec.sh runs it).
 *
 *   modelfs-decbench [-r ROUNDS] [-s] [-Z] FILE.mfs
 *
 * Every chunk's stored bytes are read into memory first; then, best of
 * ROUNDS (default 3), the two alternating:
 *   modelfs  mfs_archive_decode_stored() of every chunk into one buffer:
 *            entropy decoding, the inverse transform and the xxh3 check, as
 *            a worker does it, minus the read;
 *   zstd     ZSTD_decompressDCtx() of every chunk's original bytes compressed
 *            at level 3 (the library, one frame per chunk: the same chunk
 *            boundaries as the container);
 * in MB/s of original bytes. -s forces the scalar decoding paths; -Z
 * leaves zstd out (for profiling modelfs alone).
 * One line: "modelfs MBPS zstd MBPS speedup X paths P".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "archive.h"
#include "codec.h"
#include "simd.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct mfs_err *err)
{
	fprintf(stderr, "modelfs-decbench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory", NULL);
	return p;
}

int main(int argc, char **argv)
{
	int rounds = 3, opt;
	bool with_zstd = true;

	while ((opt = getopt(argc, argv, "r:sZ")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 's')
			mfs_codec_force_scalar(true);
		else if (opt == 'Z')
			with_zstd = false;
		else
			return 2;
	}
	if (optind + 1 != argc || rounds < 1) {
		fprintf(stderr, "usage: modelfs-decbench [-r ROUNDS] [-s] [-Z] FILE.mfs\n");
		return 2;
	}

	struct mfs_err err = { 0 };
	struct mfs_archive *ar;

	if (mfs_archive_open_path(&ar, argv[optind], &err) < 0)
		die(argv[optind], &err);
	uint32_t n = mfs_archive_nchunks(ar);
	uint64_t total = 0;
	size_t max = mfs_archive_info(ar)->max_chunk;
	struct mfs_dctx *dctx = mfs_dctx_new();
	uint8_t **stored = xmalloc(n * sizeof(*stored));
	uint8_t **zframe = xmalloc(n * sizeof(*zframe));
	size_t *zlen = xmalloc(n * sizeof(*zlen));
	uint8_t *out = xmalloc(max);

	if (!dctx)
		die("out of memory", NULL);
	for (uint32_t i = 0; i < n; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
		const uint8_t *p;

		if (mfs_archive_read_stored(ar, i, &p, dctx, &err) < 0)
			die(argv[optind], &err);
		stored[i] = xmalloc(c->plen);
		memcpy(stored[i], p, c->plen);
		total += c->llen;
	}

	/* The same chunks' original bytes, each a zstd -3 frame. */
	ZSTD_CCtx *zc = ZSTD_createCCtx();
	ZSTD_DCtx *zd = ZSTD_createDCtx();

	if (!zc || !zd)
		die("out of memory", NULL);
	for (uint32_t i = 0; with_zstd && i < n; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
		size_t cap = ZSTD_compressBound(c->llen);

		if (mfs_archive_decode_stored(ar, i, stored[i], out, max, dctx, &err) < 0)
			die(argv[optind], &err);
		zframe[i] = xmalloc(cap);
		zlen[i] = ZSTD_compressCCtx(zc, zframe[i], cap, out, c->llen, 3);
		if (ZSTD_isError(zlen[i]))
			die(ZSTD_getErrorName(zlen[i]), NULL);
	}

	/*
	 * Rounds alternate between the two, best of each: on a shared machine
	 * the load changes within seconds, and a ratio of two bests taken
	 * minutes apart would measure that.
	 */
	double best = 1e30, zbest = 1e30;

	for (int r = 0; r < rounds; r++) {
		double t = now();

		for (uint32_t i = 0; i < n; i++)
			if (mfs_archive_decode_stored(ar, i, stored[i], out, max, dctx, &err) < 0)
				die(argv[optind], &err);
		t = now() - t;
		best = t < best ? t : best;
		if (!with_zstd)
			continue;
		t = now();
		for (uint32_t i = 0; i < n; i++) {
			size_t len = mfs_archive_chunk(ar, i)->llen;
			size_t got = ZSTD_decompressDCtx(zd, out, max, zframe[i], zlen[i]);

			if (got != len)
				die("zstd decode", NULL);
		}
		t = now() - t;
		zbest = t < zbest ? t : zbest;
	}

	if (!with_zstd)
		printf("modelfs %.0f paths %s\n", total / best / 1e6, mfs_codec_paths());
	else
		printf("modelfs %.0f zstd %.0f speedup %.2f paths %s\n", total / best / 1e6,
		       total / zbest / 1e6, zbest / best, mfs_codec_paths());
	for (uint32_t i = 0; i < n; i++) {
		free(stored[i]);
		if (with_zstd)
			free(zframe[i]);
	}
	free(stored);
	free(zframe);
	free(zlen);
	free(out);
	ZSTD_freeCCtx(zc);
	ZSTD_freeDCtx(zd);
	mfs_dctx_free(dctx);
	mfs_archive_close(ar);
	return 0;
}
