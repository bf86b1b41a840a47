/* SPDX-License-Identifier: MIT */
/*
 * plan.h - the prefetch plan: the order in which inference reads chunks.
 *
 * A decoder-only transformer reads, for every token, a few rows of the token
 * embeddings, then every block in layer order (within a block: attention
 * norm, q, k, v, output, ffn norm, router, gate, up, down), then the output
 * norm and the output matrix, and starts over at block 0. Files are rarely
 * stored in that order (writers sort names: blk.0, blk.1, blk.10, blk.11, ...),
 * so the plan lists chunk runs in access order and the daemon prefetches along
 * it instead of along the file.
 *
 * Two ways to make one:
 * - from tensor names (mfs_plan_from_names), at pack time: layer number and
 *   role from names.h. Token embeddings are SPARSE (a token reads one row of
 *   them: prefetching the rest is waste) unless there is no output matrix, in
 *   which case they are the tied output and are read whole at the end. Files
 *   without a single numbered block keep file order. Metadata chunks are not
 *   in the plan (read once, at load).
 * - from a trace of a real run (mfs_plan_from_trace): chunks in the order of
 *   their last access. In a trace of several tokens that puts what was read
 *   once (at load) first and the steady per-token cycle after it, in the order
 *   of the last pass; CYCLE marks the first chunk read more than once.
 *
 * The reader walks a plan with plan_order.h.
 */
#ifndef MFS_PLAN_H
#define MFS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "disk.h"
#include "plan_order.h"

/*
 * Plan from names. Chunk i belongs to tensor @chunk_tensor[i] (an index into
 * @tensors, or MFS_TENSOR_NONE); a tensor's chunks are consecutive. On success
 * *@out is a malloc'd array of *@n runs (possibly 0), owned by the caller.
 */
int mfs_plan_from_names(const struct mfs_tensor *tensors, uint32_t ntensors,
			const uint32_t *chunk_tensor, uint32_t nchunks,
			struct mfs_plan_entry **out, uint32_t *n);

/*
 * Plan from a trace: @seq holds @len chunk indexes in the order they were
 * read (entries >= @nchunks are ignored). Chunks the trace never read are not
 * in the plan. Output as for mfs_plan_from_names().
 */
int mfs_plan_from_trace(const uint32_t *seq, size_t len, uint32_t nchunks,
			struct mfs_plan_entry **out, uint32_t *n);

#endif
