/* SPDX-License-Identifier: MIT */
/*
 * writer.h - writing a container front to back in one pass.
 *
 * The header goes out first, then each chunk's stored bytes as they come, in
 * logical order; mfs_writer_finish() appends the tensor table, strings, plan
 * and chunk index, and the footer that locates them. Nothing is ever
 * rewritten, so the output can be a pipe-like temporary file that is renamed
 * into place only once complete (see outfile.h). The writer does not fsync:
 * the caller decides about durability.
 */
#ifndef MFS_WRITER_H
#define MFS_WRITER_H

#include <stdint.h>

#include "sys.h"
#include "disk.h"
#include "err.h"

struct mfs_writer;

/*
 * Start a container on @fd (borrowed; written from its current offset, which
 * must be 0). @name (borrowed, may be NULL) names the file in write errors.
 */
int mfs_writer_new(struct mfs_writer **out, int fd, const char *name,
		   const struct mfs_header_info *h, struct mfs_err *err);

/*
 * Append one chunk: @c describes it (all fields but poff and plen, which the
 * writer fills in) and @data holds its @len stored bytes. Chunks must come in
 * logical order without gaps.
 */
int mfs_writer_add(struct mfs_writer *w, const struct mfs_chunk *c, const void *data, size_t len,
		   struct mfs_err *err);

/* Bytes written so far. */
uint64_t mfs_writer_offset(const struct mfs_writer *w);

/*
 * Write the metadata sections and the footer. @tensors' names are copied into
 * the strings section. The chunks must cover the original size exactly.
 */
int mfs_writer_finish(struct mfs_writer *w, const struct mfs_tensor *tensors, uint32_t ntensors,
		      const struct mfs_plan_entry *plan, uint32_t nplan, uint64_t hash_lo,
		      uint64_t hash_hi, uint32_t chunk_target, struct mfs_err *err);

void mfs_writer_free(struct mfs_writer *w);


#endif
