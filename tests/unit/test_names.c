/* SPDX-License-Identifier: MIT */
/*
 * test_names.c - tensor name classification (layer, role) for GGUF and
 * Hugging Face names, and the dtype table against ggml's block layouts.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "dtype.h"
#include "format.h"
#include "names.h"

static const struct {
	const char *name;
	uint16_t layer;
	uint8_t role;
} cases[] = {
	{"token_embd.weight", MFS_LAYER_NONE, MFS_ROLE_EMBED},
	{"output_norm.weight", MFS_LAYER_NONE, MFS_ROLE_OUTPUT_NORM},
	{"output.weight", MFS_LAYER_NONE, MFS_ROLE_OUTPUT},
	{"rope_freqs.weight", MFS_LAYER_NONE, MFS_ROLE_OTHER},
	{"blk.0.attn_norm.weight", 0, MFS_ROLE_ATTN_NORM},
	{"blk.10.attn_q.weight", 10, MFS_ROLE_ATTN_Q},
	{"blk.3.attn_q_norm.weight", 3, MFS_ROLE_ATTN_Q},
	{"blk.3.attn_k.weight", 3, MFS_ROLE_ATTN_K},
	{"blk.3.attn_v.weight", 3, MFS_ROLE_ATTN_V},
	{"blk.3.attn_qkv.weight", 3, MFS_ROLE_ATTN_QKV},
	{"blk.3.attn_output.weight", 3, MFS_ROLE_ATTN_OUT},
	{"blk.3.ffn_norm.weight", 3, MFS_ROLE_FFN_NORM},
	{"blk.3.ffn_gate_inp.weight", 3, MFS_ROLE_FFN_ROUTER},
	{"blk.3.ffn_gate_exps.weight", 3, MFS_ROLE_FFN_GATE},
	{"blk.3.ffn_gate.weight", 3, MFS_ROLE_FFN_GATE},
	{"blk.3.ffn_up.weight", 3, MFS_ROLE_FFN_UP},
	{"blk.31.ffn_down.weight", 31, MFS_ROLE_FFN_DOWN},
	{"blk.3.unknown.weight", 3, MFS_ROLE_OTHER},
	{"model.embed_tokens.weight", MFS_LAYER_NONE, MFS_ROLE_EMBED},
	{"model.norm.weight", MFS_LAYER_NONE, MFS_ROLE_OUTPUT_NORM},
	{"lm_head.weight", MFS_LAYER_NONE, MFS_ROLE_OUTPUT},
	{"model.layers.2.input_layernorm.weight", 2, MFS_ROLE_ATTN_NORM},
	{"model.layers.2.self_attn.q_proj.weight", 2, MFS_ROLE_ATTN_Q},
	{"model.layers.2.self_attn.k_proj.weight", 2, MFS_ROLE_ATTN_K},
	{"model.layers.2.self_attn.v_proj.weight", 2, MFS_ROLE_ATTN_V},
	{"model.layers.2.self_attn.qkv_proj.weight", 2, MFS_ROLE_ATTN_QKV},
	{"model.layers.2.self_attn.o_proj.weight", 2, MFS_ROLE_ATTN_OUT},
	{"model.layers.2.post_attention_layernorm.weight", 2, MFS_ROLE_FFN_NORM},
	{"model.layers.2.mlp.gate_proj.weight", 2, MFS_ROLE_FFN_GATE},
	{"model.layers.2.mlp.gate_up_proj.weight", 2, MFS_ROLE_FFN_GATE},
	{"model.layers.2.mlp.up_proj.weight", 2, MFS_ROLE_FFN_UP},
	{"model.layers.27.mlp.down_proj.weight", 27, MFS_ROLE_FFN_DOWN},
	{"model.layers.2.mlp.gate.weight", 2, MFS_ROLE_FFN_ROUTER},
	{"model.layers.2.block_sparse_moe.experts.3.w1.weight", 2, MFS_ROLE_FFN_GATE},
	{"model.layers.2.block_sparse_moe.experts.3.w2.weight", 2, MFS_ROLE_FFN_DOWN},
	{"blk.99999999.attn_q.weight", MFS_LAYER_NONE, MFS_ROLE_OTHER},
	{"blk.x.attn_q.weight", MFS_LAYER_NONE, MFS_ROLE_OTHER},
	{"", MFS_LAYER_NONE, MFS_ROLE_OTHER},
};

Test(names, classify_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t layer;
		uint8_t role;

		mfs_name_classify(cases[i].name, strlen(cases[i].name), &layer, &role);
		cr_expect_eq(layer, cases[i].layer, "%s: layer %u, expected %u", cases[i].name,
			     layer, cases[i].layer);
		cr_expect_eq(role, cases[i].role, "%s: role %s, expected %s", cases[i].name,
			     mfs_role_name(role), mfs_role_name(cases[i].role));
	}
}

Test(names, roles_sort_in_compute_order)
{
	cr_assert_lt(MFS_ROLE_ATTN_NORM, MFS_ROLE_ATTN_Q);
	cr_assert_lt(MFS_ROLE_ATTN_OUT, MFS_ROLE_FFN_NORM);
	cr_assert_lt(MFS_ROLE_FFN_UP, MFS_ROLE_FFN_DOWN);
	cr_assert_str_eq(mfs_role_name(200), "other");
}

Test(names, not_nul_terminated_and_too_long)
{
	char buf[MFS_NAME_CLASSIFY_MAX + 10];
	uint16_t layer;
	uint8_t role;

	memcpy(buf, "blk.1.attn_q.weightXXXX", 23);
	mfs_name_classify(buf, 19, &layer, &role);
	cr_assert_eq(layer, 1);
	cr_assert_eq(role, MFS_ROLE_ATTN_Q);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "blk.1.", 6);
	mfs_name_classify(buf, sizeof(buf), &layer, &role);
	cr_assert_eq(role, MFS_ROLE_OTHER);
}

Test(dtype, block_layouts_match_ggml)
{
	/* sizeof(block_*) from ggml-common.h, computed from their fields. */
	struct { unsigned int id; unsigned int elems, bytes; } want[] = {
		{MFS_DT_Q4_0, 32, 2 + 16},	  {MFS_DT_Q4_1, 32, 4 + 16},
		{MFS_DT_Q5_0, 32, 2 + 4 + 16},	  {MFS_DT_Q5_1, 32, 4 + 4 + 16},
		{MFS_DT_Q8_0, 32, 2 + 32},	  {MFS_DT_Q8_1, 32, 4 + 32},
		{MFS_DT_Q2_K, 256, 16 + 64 + 4}, {MFS_DT_Q3_K, 256, 32 + 64 + 12 + 2},
		{MFS_DT_Q4_K, 256, 4 + 12 + 128}, {MFS_DT_Q5_K, 256, 4 + 12 + 32 + 128},
		{MFS_DT_Q6_K, 256, 128 + 64 + 16 + 2}, {MFS_DT_Q8_K, 256, 4 + 256 + 32},
		{MFS_DT_IQ4_NL, 32, 2 + 16},	  {MFS_DT_IQ4_XS, 256, 2 + 2 + 4 + 128},
		{MFS_DT_BF16, 1, 2},		  {MFS_DT_F32, 1, 4},
		{MFS_DT_MXFP4, 32, 1 + 16},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct mfs_dtype_info *d = mfs_dtype_get(want[i].id);

		cr_assert_not_null(d);
		cr_expect_eq(d->block_elems, want[i].elems, "%s", d->name);
		cr_expect_eq(d->block_bytes, want[i].bytes, "%s", d->name);
	}
}

Test(dtype, removed_and_foreign_types_are_rejected)
{
	static const unsigned int removed[] = {4, 5, 31, 32, 33, 36, 37, 38, 40, 63};

	for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++)
		cr_expect_null(mfs_dtype_from_ggml(removed[i]), "ggml type %u", removed[i]);
	cr_assert_null(mfs_dtype_from_ggml(MFS_DT_BOOL), "safetensors-only types are not ggml's");
	cr_assert_eq(mfs_dtype_from_safetensors("BF16", 4)->id, MFS_DT_BF16);
	cr_assert_eq(mfs_dtype_from_safetensors("F8_E4M3", 7)->id, MFS_DT_F8_E4M3);
	cr_assert_null(mfs_dtype_from_safetensors("Q8_0", 4), "not a safetensors dtype");
	cr_assert_null(mfs_dtype_from_safetensors("bf16", 4), "safetensors names are exact");
	cr_assert_eq(mfs_dtype_find("bf16")->id, MFS_DT_BF16);
}
