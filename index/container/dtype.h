/* SPDX-License-Identifier: MIT */
/*
 * dtype.h - element types of model tensors, GGUF and safetensors in one table.
 *
 * Ids 0..39 are ggml's type numbers (ggml.h), so a GGUF tensor's type is its
 * dtype; the holes ggml left by removing types stay holes. Types only
 * safetensors has get ids from 64 up. Ids are stored in the tensor table and
 * never change meaning.
 *
 * A dtype is a block of block_elems elements stored in block_bytes bytes
 * (1 and sizeof(element) for plain types, 32/256 elements for quantized ones).
 */
#ifndef MFS_DTYPE_H
#define MFS_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mfs_dtype {
	MFS_DT_F32 = 0,
	MFS_DT_F16 = 1,
	MFS_DT_Q4_0 = 2,
	MFS_DT_Q4_1 = 3,
	MFS_DT_Q5_0 = 6,
	MFS_DT_Q5_1 = 7,
	MFS_DT_Q8_0 = 8,
	MFS_DT_Q8_1 = 9,
	MFS_DT_Q2_K = 10,
	MFS_DT_Q3_K = 11,
	MFS_DT_Q4_K = 12,
	MFS_DT_Q5_K = 13,
	MFS_DT_Q6_K = 14,
	MFS_DT_Q8_K = 15,
	MFS_DT_IQ2_XXS = 16,
	MFS_DT_IQ2_XS = 17,
	MFS_DT_IQ3_XXS = 18,
	MFS_DT_IQ1_S = 19,
	MFS_DT_IQ4_NL = 20,
	MFS_DT_IQ3_S = 21,
	MFS_DT_IQ2_S = 22,
	MFS_DT_IQ4_XS = 23,
	MFS_DT_I8 = 24,
	MFS_DT_I16 = 25,
	MFS_DT_I32 = 26,
	MFS_DT_I64 = 27,
	MFS_DT_F64 = 28,
	MFS_DT_IQ1_M = 29,
	MFS_DT_BF16 = 30,
	MFS_DT_TQ1_0 = 34,
	MFS_DT_TQ2_0 = 35,
	MFS_DT_MXFP4 = 39,
	MFS_DT_GGML_NR = 40, /* ggml's GGML_TYPE_COUNT */
	/* safetensors-only types */
	MFS_DT_BOOL = 64,
	MFS_DT_U8 = 65,
	MFS_DT_U16 = 66,
	MFS_DT_U32 = 67,
	MFS_DT_U64 = 68,
	MFS_DT_F8_E4M3 = 69,
	MFS_DT_F8_E5M2 = 70,
	MFS_DT_NR = 71,
};

struct mfs_dtype_info {
	const char *name; /* "F32", "BF16", "Q8_0", ... (safetensors spelling where it has one) */
	uint16_t id;
	uint16_t block_elems;
	uint16_t block_bytes;
	bool in_safetensors; /* a dtype a safetensors header may name */
};

/* The info for a dtype id, or NULL if the id is not a known type. */
const struct mfs_dtype_info *mfs_dtype_get(unsigned int id);

/* The dtype of a GGUF tensor type, or NULL where ggml would reject it. */
const struct mfs_dtype_info *mfs_dtype_from_ggml(uint32_t ggml_type);

/* The dtype a safetensors header names (@name is not NUL-terminated), or NULL. */
const struct mfs_dtype_info *mfs_dtype_from_safetensors(const char *name, size_t len);

/* Case-insensitive lookup by name ("bf16", "Q8_0"), for command lines. */
const struct mfs_dtype_info *mfs_dtype_find(const char *name);

#endif
