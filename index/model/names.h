/* SPDX-License-Identifier: MIT */
/*
 * names.h - what a tensor name says about when inference reads it.
 *
 * GGUF (llama.cpp) and Hugging Face (safetensors) name the same tensors
 * differently: token_embd.weight / model.embed_tokens.weight, blk.3.attn_q /
 * model.layers.3.self_attn.q_proj. This module maps both to a layer number and
 * a role. Roles are numbered in the order a transformer block computes them,
 * so sorting by (layer, role) gives the order weights are read during a token.
 * The mapping is a heuristic for layout and prefetch, never for correctness:
 * an unrecognised name is simply MFS_ROLE_OTHER.
 */
#ifndef MFS_NAMES_H
#define MFS_NAMES_H

#include <stddef.h>
#include <stdint.h>

enum mfs_role {
	MFS_ROLE_OTHER = 0,
	MFS_ROLE_EMBED = 1, /* token embeddings: read by rows, one per token */
	MFS_ROLE_ATTN_NORM = 2,
	MFS_ROLE_ATTN_Q = 3,
	MFS_ROLE_ATTN_K = 4,
	MFS_ROLE_ATTN_V = 5,
	MFS_ROLE_ATTN_QKV = 6,
	MFS_ROLE_ATTN_OUT = 7,
	MFS_ROLE_FFN_NORM = 8,
	MFS_ROLE_FFN_ROUTER = 9,
	MFS_ROLE_FFN_GATE = 10,
	MFS_ROLE_FFN_UP = 11,
	MFS_ROLE_FFN_DOWN = 12,
	MFS_ROLE_OUTPUT_NORM = 13,
	MFS_ROLE_OUTPUT = 14,
	MFS_ROLE_NR,
};

/* Longest name the classifier looks at; longer names are MFS_ROLE_OTHER. */
#define MFS_NAME_CLASSIFY_MAX 512

/*
 * Classify a tensor name of @len bytes (need not be NUL-terminated). Sets
 * *@layer to the block number (MFS_LAYER_NONE outside blocks, or for numbers
 * that do not fit) and *@role to an enum mfs_role.
 */
void mfs_name_classify(const char *name, size_t len, uint16_t *layer, uint8_t *role);

/* "attn_q", "ffn_down", ... ; unknown values read as "other". */
const char *mfs_role_name(unsigned int role);

#endif
