/* SPDX-License-Identifier: MIT */
/*
 * hostile.c - modelfs-hostile: writes containers whose checksums are all
 * valid but whose declared shapes are hostile, for the tests in tests/fault.
 *
 * Every container holds a raw original (no tensors) made of stored chunks;
 * the original bytes are written beside it as OUT.orig so a test can compare
 * what the mount serves. What makes each one hostile:
 *
 *   tiny N        N chunks of 1 byte: one read covers thousands of chunks
 *   sparse N      N 1-byte chunks; the plan is one CYCLE position followed by
 *                 N-1 SPARSE ones (walking it naively is quadratic)
 *   longplan N    N 1-byte chunks; a plan naming every chunk 1000 times
 *                 (more positions than chunks: must be refused)
 *   mtime N       N 1-byte chunks; the original's mtime is the largest
 *                 value the format holds (no calendar date represents it)
 *
 * It uses the library's writer, so the checksums are those a reader checks.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "codec.h"
#include "format.h"
#include "writer.h"

static int die(const char *what, const struct mfs_err *err, int r)
{
	fprintf(stderr, "modelfs-hostile: %s: %s\n", what, mfs_err_msg(err, r));
	return 1;
}

int main(int argc, char **argv)
{
	static struct mfs_header_info h;
	struct mfs_err err = {{0}};
	struct mfs_plan_entry *plan = NULL;
	struct mfs_writer *w = NULL;
	uint32_t nplan = 0, n;
	uint8_t *orig;
	XXH128_hash_t hash;
	char origpath[4096];
	int fd, r;

	if (argc != 4) {
		fprintf(stderr, "usage: modelfs-hostile tiny|sparse|longplan|mtime N OUT\n");
		return 2;
	}
	n = (uint32_t)strtoul(argv[2], NULL, 10);
	if (n < 2 || n > (1u << 24)) {
		fprintf(stderr, "modelfs-hostile: N must be 2..16M\n");
		return 2;
	}
	orig = malloc(n);
	if (!orig)
		return 1;
	for (uint32_t i = 0; i < n; i++)
		orig[i] = (uint8_t)(i * 131u + (i >> 8));
	if (strcmp(argv[1], "sparse") == 0) {
		plan = calloc(2, sizeof(*plan));
		plan[0] = (struct mfs_plan_entry){0, 1, MFS_PLAN_CYCLE};
		plan[1] = (struct mfs_plan_entry){1, n - 1, MFS_PLAN_SPARSE};
		nplan = 2;
	} else if (strcmp(argv[1], "longplan") == 0) {
		nplan = 1000;
		plan = calloc(nplan, sizeof(*plan));
		for (uint32_t i = 0; i < nplan; i++)
			plan[i] = (struct mfs_plan_entry){0, n, i ? 0 : MFS_PLAN_CYCLE};
	} else if (strcmp(argv[1], "mtime") == 0) {
		h.mtime_sec = INT64_MAX;
	} else if (strcmp(argv[1], "tiny") != 0) {
		fprintf(stderr, "modelfs-hostile: unknown kind %s\n", argv[1]);
		return 2;
	}

	snprintf(origpath, sizeof(origpath), "%s.orig", argv[3]);
	fd = open(origpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || mfs_write_all(fd, orig, n) || close(fd))
		return die(origpath, &err, -EIO);

	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return die(argv[3], &err, -errno);
	h.original_size = n;
	h.mode = 0644;
	h.source = MFS_SOURCE_RAW;
	r = mfs_writer_new(&w, fd, argv[3], &h, &err);
	for (uint32_t i = 0; !r && i < n; i++) {
		struct mfs_chunk c = {
			.loff = i,
			.llen = 1,
			.checksum = XXH3_64bits(orig + i, 1),
			.tensor = MFS_TENSOR_NONE,
			.codec = MFS_CODEC_STORE,
		};

		r = mfs_writer_add(w, &c, orig + i, 1, &err);
	}
	hash = XXH3_128bits(orig, n);
	if (!r)
		r = mfs_writer_finish(w, NULL, 0, plan, nplan, hash.low64, hash.high64, 1, &err);
	mfs_writer_free(w);
	free(plan);
	free(orig);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		return die(argv[3], &err, r);
	return 0;
}
