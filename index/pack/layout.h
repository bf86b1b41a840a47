/* SPDX-License-Identifier: MIT */
/*
 * layout.h - the chunk layout: how a model file is cut into chunks (the prefetch
 * order, which chunks are read in what order, is the plan: plan.h).
 *
 * Rules:
 * - the metadata region (GGUF header, key-values, tensor infos; safetensors
 *   JSON) gets chunks of its own, flagged MFS_CHUNK_META, never shared with
 *   tensor data;
 * - no chunk spans two tensors; a tensor is cut at multiples of its row size
 *   (ne[0] elements) into chunks near the target size, all of similar size;
 *   a row bigger than the target is cut at block multiples instead;
 * - tensors read one row at a time (token embeddings) get chunks of 1/8 of
 *   the target, so fetching one token's row decompresses little;
 * - alignment padding after a tensor joins its last chunk when small; larger
 *   gaps and files in no known format get fixed-size chunks;
 * - a tensor of 16 KiB or more whose start or end is not page aligned gets
 *   a small first or last chunk (to a block boundary past the page boundary)
 *   so that serving the page it shares with its neighbour decodes little.
 * The result covers [0, file_size) exactly, in order.
 */
#ifndef MFS_LAYOUT_H
#define MFS_LAYOUT_H

#include <stdint.h>

#include "err.h"
#include "model.h"

#define MFS_CHUNK_TARGET_DEFAULT (256u << 10)
#define MFS_CHUNK_TARGET_MIN (4u << 10)
#define MFS_CHUNK_TARGET_MAX (16u << 20)
#define MFS_EMBED_DIVISOR 8u
#define MFS_LAYOUT_PAGE 4096u /* the page size readers fetch in */

struct mfs_layout_chunk {
	uint64_t offset;
	uint32_t length;
	uint32_t tensor; /* MFS_TENSOR_NONE for metadata, padding and raw data */
	uint16_t flags;	 /* MFS_CHUNK_META */
};

/*
 * Cut model @m into chunks of about @target bytes (MFS_CHUNK_TARGET_MIN to
 * _MAX). On success *@out is a malloc'd array of *@n chunks, owned by the
 * caller (free()).
 */
int mfs_layout_cut(const struct mfs_model *m, uint32_t target, struct mfs_layout_chunk **out,
		   uint32_t *n, struct mfs_err *err);

#endif
