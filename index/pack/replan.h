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

/* The plan pack would make for @ar, from its tensor names (plan.h); caller frees *@out. */
int mfs_replan_names(const struct mfs_archive *ar, struct mfs_plan_entry **out, uint32_t *n);

/* Rewrite the container at @path with @plan (runs must name existing chunks). */
int mfs_replan_file(const char *path, const struct mfs_plan_entry *plan, uint32_t nplan,
		    struct mfs_err *err);

#endif
