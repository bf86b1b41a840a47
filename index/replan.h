/* SPDX-License-Identifier: MIT */
/*
 * replan.h - give an existing container a new prefetch plan.
 *
 * The container is rewritten through an atomic output file (outfile.h) at
 * the same path: header and chunk data are copied as stored, the tensor
 * table, strings, plan, chunk index and footer are written anew with fresh
 * checksums. Until the rename the old container is untouched; afterwards a
 * mount sees a new file (its cache keys change with it).
 */
#ifndef MFS_REPLAN_H
#define MFS_REPLAN_H

#include <stdint.h>

#include "archive.h"
#include "disk.h"
#include "err.h"

/* Chunk index -> tensor index (or MFS_TENSOR_NONE) of @ar, malloc'd; NULL on ENOMEM. */
uint32_t *mfs_replan_chunk_tensors(const struct mfs_archive *ar);

/* Rewrite the container at @path with @plan (runs must name existing chunks). */
int mfs_replan_file(const char *path, const struct mfs_plan_entry *plan, uint32_t nplan,
		    struct mfs_err *err);

#endif
