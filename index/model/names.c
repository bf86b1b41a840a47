/* SPDX-License-Identifier: MIT */
/*
 * names.c - tensor name classification (see names.h). Pure string work on a
 * bounded copy of the name; no allocation.
 */
#include "names.h"

#include <string.h>

#include "format.h"

struct rule {
	const char *key;
	uint8_t role;
};

/* GGUF block components (the text between "blk.N." and the next '.'). Longest key wins. */
static const struct rule gguf_block_rules[] = {
	{"attn_norm", MFS_ROLE_ATTN_NORM},
	{"attn_q", MFS_ROLE_ATTN_Q},
	{"attn_k", MFS_ROLE_ATTN_K},
	{"attn_v", MFS_ROLE_ATTN_V},
	{"attn_qkv", MFS_ROLE_ATTN_QKV},
	{"attn_kv", MFS_ROLE_ATTN_QKV},
	{"attn_output", MFS_ROLE_ATTN_OUT},
	{"post_attention_norm", MFS_ROLE_ATTN_OUT},
	{"ffn_norm", MFS_ROLE_FFN_NORM},
	{"ffn_gate_inp", MFS_ROLE_FFN_ROUTER},
	{"ffn_gate", MFS_ROLE_FFN_GATE},
	{"ffn_up", MFS_ROLE_FFN_UP},
	{"ffn_down", MFS_ROLE_FFN_DOWN},
	{"post_ffw_norm", MFS_ROLE_FFN_DOWN},
};

/* Hugging Face names: first key contained in the part after the layer number wins. */
static const struct rule hf_block_rules[] = {
	{"qkv_proj", MFS_ROLE_ATTN_QKV},
	{"q_proj", MFS_ROLE_ATTN_Q},
	{"k_proj", MFS_ROLE_ATTN_K},
	{"v_proj", MFS_ROLE_ATTN_V},
	{"o_proj", MFS_ROLE_ATTN_OUT},
	{"q_norm", MFS_ROLE_ATTN_Q},
	{"k_norm", MFS_ROLE_ATTN_K},
	{"input_layernorm", MFS_ROLE_ATTN_NORM},
	{"post_attention_layernorm", MFS_ROLE_FFN_NORM},
	{"pre_feedforward_layernorm", MFS_ROLE_FFN_NORM},
	{"post_feedforward_layernorm", MFS_ROLE_FFN_DOWN},
	{"gate_up_proj", MFS_ROLE_FFN_GATE},
	{"gate_proj", MFS_ROLE_FFN_GATE},
	{"up_proj", MFS_ROLE_FFN_UP},
	{"down_proj", MFS_ROLE_FFN_DOWN},
	{".gate.", MFS_ROLE_FFN_ROUTER},
	{".w1.", MFS_ROLE_FFN_GATE},
	{".w3.", MFS_ROLE_FFN_UP},
	{".w2.", MFS_ROLE_FFN_DOWN},
};

/* Whole-name (or prefix) matches outside blocks. */
static const struct rule global_rules[] = {
	{"token_embd.", MFS_ROLE_EMBED},
	{"model.embed_tokens.", MFS_ROLE_EMBED},
	{"embed_tokens.", MFS_ROLE_EMBED},
	{"transformer.wte.", MFS_ROLE_EMBED},
	{"output_norm.", MFS_ROLE_OUTPUT_NORM},
	{"model.norm.", MFS_ROLE_OUTPUT_NORM},
	{"norm.", MFS_ROLE_OUTPUT_NORM},
	{"transformer.ln_f.", MFS_ROLE_OUTPUT_NORM},
	{"output.", MFS_ROLE_OUTPUT},
	{"lm_head.", MFS_ROLE_OUTPUT},
};

/* Layer prefixes: the block number follows immediately. */
static const char *const layer_prefixes[] = {"blk.", "model.layers.", "layers.", "transformer.h.",
					     "model.language_model.layers."};

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Parses "123." at @s; returns the text after the dot, or NULL. */
static const char *parse_layer(const char *s, uint16_t *layer)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= MFS_LAYER_NONE)
			return NULL;
	}
	if (*p != '.')
		return NULL;
	*layer = (uint16_t)v;
	return p + 1;
}

static uint8_t classify_gguf_block(const char *rest)
{
	size_t comp = strcspn(rest, ".");
	size_t best_len = 0;
	uint8_t role = MFS_ROLE_OTHER;

	for (size_t i = 0; i < sizeof(gguf_block_rules) / sizeof(gguf_block_rules[0]); i++) {
		size_t klen = strlen(gguf_block_rules[i].key);

		if (klen <= comp && klen > best_len &&
		    strncmp(rest, gguf_block_rules[i].key, klen) == 0) {
			best_len = klen;
			role = gguf_block_rules[i].role;
		}
	}
	return role;
}

static uint8_t classify_hf_block(const char *rest)
{
	for (size_t i = 0; i < sizeof(hf_block_rules) / sizeof(hf_block_rules[0]); i++)
		if (strstr(rest, hf_block_rules[i].key))
			return hf_block_rules[i].role;
	return MFS_ROLE_OTHER;
}

void mfs_name_classify(const char *name, size_t len, uint16_t *layer, uint8_t *role)
{
	char buf[MFS_NAME_CLASSIFY_MAX + 2];

	*layer = MFS_LAYER_NONE;
	*role = MFS_ROLE_OTHER;
	if (len > MFS_NAME_CLASSIFY_MAX || memchr(name, '\0', len))
		return;
	memcpy(buf, name, len);
	/* A trailing dot lets "x." rules match the bare name "x" too. */
	buf[len] = '.';
	buf[len + 1] = '\0';

	for (size_t i = 0; i < sizeof(layer_prefixes) / sizeof(layer_prefixes[0]); i++) {
		const char *rest;

		if (!starts_with(buf, layer_prefixes[i]))
			continue;
		rest = parse_layer(buf + strlen(layer_prefixes[i]), layer);
		if (!rest)
			continue;
		*role = i == 0 ? classify_gguf_block(rest) : classify_hf_block(rest - 1);
		return;
	}
	for (size_t i = 0; i < sizeof(global_rules) / sizeof(global_rules[0]); i++) {
		if (starts_with(buf, global_rules[i].key)) {
			*role = global_rules[i].role;
			return;
		}
	}
}

const char *mfs_role_name(unsigned int role)
{
	static const char *const names[MFS_ROLE_NR] = {
		[MFS_ROLE_OTHER] = "other",	     [MFS_ROLE_EMBED] = "embed",
		[MFS_ROLE_ATTN_NORM] = "attn_norm",   [MFS_ROLE_ATTN_Q] = "attn_q",
		[MFS_ROLE_ATTN_K] = "attn_k",	     [MFS_ROLE_ATTN_V] = "attn_v",
		[MFS_ROLE_ATTN_QKV] = "attn_qkv",     [MFS_ROLE_ATTN_OUT] = "attn_out",
		[MFS_ROLE_FFN_NORM] = "ffn_norm",     [MFS_ROLE_FFN_ROUTER] = "ffn_router",
		[MFS_ROLE_FFN_GATE] = "ffn_gate",     [MFS_ROLE_FFN_UP] = "ffn_up",
		[MFS_ROLE_FFN_DOWN] = "ffn_down",     [MFS_ROLE_OUTPUT_NORM] = "output_norm",
		[MFS_ROLE_OUTPUT] = "output",
	};
	return role < MFS_ROLE_NR ? names[role] : "other";
}
