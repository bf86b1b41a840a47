/* SPDX-License-Identifier: MIT */
/*
 * extract.h - decode a whole container: verify it, or write the original out.
 *
 * Every chunk is read, decoded and checked against its xxh3-64 on a pool of
 * threads; in file order the decoded bytes feed the whole-file xxh3-128 and,
 * when unpacking, the output file. The whole-file hash is compared only when
 * every chunk was good.
 */
#ifndef MFS_EXTRACT_H
#define MFS_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "err.h"

struct mfs_extract_opts {
	unsigned int threads; /* 0 for one per CPU */
	int out_fd;	      /* write the original here, or -1 to verify only */
	const char *out_name; /* out_fd's name, for write errors (or NULL) */
	bool keep_going;      /* report every bad chunk instead of stopping at the first */
	/* Called in order for each chunk that fails; may be NULL. */
	void (*bad_chunk)(void *arg, uint32_t index, int code, const char *msg);
	/* Called after each chunk; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct mfs_extract_result {
	uint64_t bad_chunks; /* chunks that failed to read, decode or verify */
	bool hash_checked;   /* the whole-file hash was compared... */
	bool hash_ok;	     /* ...and matched */
};

/*
 * Returns 0 when the container is intact (and written, with out_fd); an I/O
 * error's code when reading or writing failed; -EFSCORRUPTED when chunks or
 * the whole-file hash are wrong (details in @res and through bad_chunk()).
 */
int mfs_extract(const struct mfs_archive *ar, const struct mfs_extract_opts *o,
		struct mfs_extract_result *res, struct mfs_err *err);

#endif
