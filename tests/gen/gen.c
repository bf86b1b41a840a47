/* SPDX-License-Identifier: MIT */
/*
 * gen.c - modelfs-gen: writes synthetic llama-architecture models for tests
 * and benchmarks.
 *
 * GGUF output loads and generates in llama.cpp: it carries the llama
 * hyperparameters and a tokenizer, either a small built-in SentencePiece
 * vocabulary (the 256 byte tokens <0x00>..<0xFF>, control tokens and some
 * words) or the tokenizer.* keys copied from a real GGUF (--vocab). Weights are
 * Gaussian with per-row scale variation and rare outliers, seeded per tensor
 * name, so the same tensor has the same values whatever the file order.
 * Safetensors output uses Hugging Face names and shapes and can be sharded
 * with a model.safetensors.index.json, as transformers writes it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dtype.h"
#include "mfs_config.h"
#include "gguf.h"
#include "gguf_write.h"
#include "le.h"
#include "outfile.h"
#include "weights.h"
#include "writer.h"

enum { FMT_GGUF, FMT_ST };
enum { ORDER_LAYER, ORDER_SORTED };

struct spec {
	uint32_t layers, embd, ff, heads, kv_heads, ctx, vocab;
	unsigned int dtype;
	int format, order;
	uint32_t shards;
	uint64_t seed;
	uint32_t reseed_from; /* layers from this one get other weights; 0: none */
	uint32_t experts, experts_used; /* mixture of experts (gguf); 0: a dense model */
	const char *vocab_file;
	const char *out;
	int quiet;
};

struct tdesc {
	char name[96];
	uint32_t ndim;
	uint64_t ne[4]; /* innermost first */
	unsigned int dtype;
	double sigma, mean;
};

struct tlist {
	struct tdesc *v;
	uint32_t n, cap;
};

static const char usage[] =
	"Usage: modelfs-gen [OPTION]... -o OUTPUT\n"
	"Write a synthetic llama-architecture model for tests and benchmarks.\n"
	"\n"
	"  -o, --output PATH      file to write (a directory with --shards > 1)\n"
	"  -f, --format FMT       gguf (default) or safetensors\n"
	"  -t, --type TYPE        f32, f16, bf16 (default), q8_0, q4_0 (gguf only)\n"
	"      --order ORDER      tensor order in the file: layer (inference order,\n"
	"                         default for gguf) or sorted (by name, as\n"
	"                         convert_hf_to_gguf and safetensors writers do)\n"
	"  -p, --preset NAME      tiny (default, ~0.1 MB of weights), small (~6 MB),\n"
	"                         medium (~60 MB) or bench (134M parameters)\n"
	"      --layers N, --embd N, --ff N, --heads N, --kv-heads N, --ctx N\n"
	"                         override the preset's dimensions\n"
	"      --vocab-size N     built-in tokenizer padded to N tokens\n"
	"      --vocab FILE       copy the tokenizer from a real GGUF file\n"
	"      --shards N         safetensors: split into N files plus index json\n"
	"      --seed N           random seed (default 1)\n"
	"      --reseed-from L    layers L and up get other weights (a fine-tune of\n"
	"                         the same model: the layers below are shared)\n"
	"      --experts N        a mixture of experts (gguf): N feed-forward experts\n"
	"                         per layer (ffn_*_exps) and a router (ffn_gate_inp),\n"
	"                         as llama.cpp's llama architecture reads them\n"
	"      --experts-used K   experts each token uses (default 2)\n"
	"  -q, --quiet            print nothing on success\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "modelfs-gen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static struct tdesc *add(struct tlist *l, const char *name, uint32_t ndim, uint64_t ne0,
			 uint64_t ne1, unsigned int dtype, double sigma, double mean)
{
	struct tdesc *t;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			die("%s", "out of memory");
	}
	t = &l->v[l->n++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->ndim = ndim;
	t->ne[0] = ne0;
	t->ne[1] = ndim > 1 ? ne1 : 1;
	t->ne[2] = t->ne[3] = 1;
	t->dtype = dtype;
	t->sigma = sigma;
	t->mean = mean;
	return t;
}

/* A 3-dimensional tensor: @ne2 matrices of @ne1 rows of @ne0 (experts). */
static void add3(struct tlist *l, const char *name, uint64_t ne0, uint64_t ne1, uint64_t ne2,
		 unsigned int dtype)
{
	struct tdesc *t = add(l, name, 2, ne0, ne1, dtype, 0.02, 0);

	t->ndim = 3;
	t->ne[2] = ne2;
}

/* Tensors in inference order, with GGUF or Hugging Face names. */
static void build_tensors(const struct spec *s, struct tlist *l)
{
	uint32_t head_dim = s->embd / s->heads, kv = head_dim * s->kv_heads;
	bool hf = s->format == FMT_ST;
	unsigned int norm_t = hf ? s->dtype : MFS_DT_F32;
	char n[96];

	add(l, hf ? "model.embed_tokens.weight" : "token_embd.weight", 2, s->embd, s->vocab,
	    s->dtype, 0.02, 0);
	for (uint32_t i = 0; i < s->layers; i++) {
#define NAME(gguf, hfname) (snprintf(n, sizeof(n), hf ? "model.layers.%u." hfname : "blk.%u." gguf, i), n)
		add(l, NAME("attn_norm.weight", "input_layernorm.weight"), 1, s->embd, 0, norm_t,
		    0.05, 1.0);
		add(l, NAME("attn_q.weight", "self_attn.q_proj.weight"), 2, s->embd, s->embd,
		    s->dtype, 0.02, 0);
		add(l, NAME("attn_k.weight", "self_attn.k_proj.weight"), 2, s->embd, kv, s->dtype,
		    0.02, 0);
		add(l, NAME("attn_v.weight", "self_attn.v_proj.weight"), 2, s->embd, kv, s->dtype,
		    0.02, 0);
		add(l, NAME("attn_output.weight", "self_attn.o_proj.weight"), 2, s->embd, s->embd,
		    s->dtype, 0.02, 0);
		add(l, NAME("ffn_norm.weight", "post_attention_layernorm.weight"), 1, s->embd, 0,
		    norm_t, 0.05, 1.0);
		if (s->experts) {
			/* the router, F32 as converters write it, then the experts */
			add(l, NAME("ffn_gate_inp.weight", ""), 2, s->embd, s->experts, MFS_DT_F32,
			    0.5, 0);
			add3(l, NAME("ffn_gate_exps.weight", ""), s->embd, s->ff, s->experts,
			     s->dtype);
			add3(l, NAME("ffn_up_exps.weight", ""), s->embd, s->ff, s->experts, s->dtype);
			add3(l, NAME("ffn_down_exps.weight", ""), s->ff, s->embd, s->experts,
			     s->dtype);
			continue;
		}
		add(l, NAME("ffn_gate.weight", "mlp.gate_proj.weight"), 2, s->embd, s->ff, s->dtype,
		    0.02, 0);
		add(l, NAME("ffn_up.weight", "mlp.up_proj.weight"), 2, s->embd, s->ff, s->dtype,
		    0.02, 0);
		add(l, NAME("ffn_down.weight", "mlp.down_proj.weight"), 2, s->ff, s->embd, s->dtype,
		    0.02, 0);
#undef NAME
	}
	add(l, hf ? "model.norm.weight" : "output_norm.weight", 1, s->embd, 0, norm_t, 0.05, 1.0);
	add(l, hf ? "lm_head.weight" : "output.weight", 2, s->embd, s->vocab, s->dtype, 0.02, 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct tdesc *)a)->name, ((const struct tdesc *)b)->name);
}

static uint64_t tensor_bytes(const struct tdesc *t)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(t->dtype);
	uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];

	return n / dt->block_elems * dt->block_bytes;
}

/* Generates tensor @t's bytes into a malloc'd buffer. */
static uint8_t *tensor_data(const struct spec *s, const struct tdesc *t)
{
	uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3], n = rows * t->ne[0];
	float *f = malloc(n * sizeof(float));
	uint8_t *out = malloc(tensor_bytes(t) ? tensor_bytes(t) : 1);

	if (!f || !out)
		die("%s", "out of memory");
	unsigned int layer;
	uint64_t seed = s->seed;

	/* A "fine-tune" of the same model: the layers from --reseed-from on differ. */
	if (s->reseed_from && sscanf(t->name, "blk.%u.", &layer) == 1 && layer >= s->reseed_from)
		seed ^= 0x5eed5eedull;
	weights_fill(f, rows, t->ne[0], t->sigma, t->mean, name_seed(seed, t->name));
	if (weights_encode(out, f, n, t->dtype))
		die("%s", "cannot encode tensor");
	free(f);
	return out;
}

/* ---- tokenizer ---------------------------------------------------------- */

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's space */

static const char *const words[] = {
	SP, SP "the", SP "a", SP "and", SP "of", SP "to", SP "in", SP "is", SP "it", SP "that",
	SP "model", SP "file", SP "Hello", SP "world", SP "Once", SP "upon", SP "time", SP "there",
	SP "was", SP "little", SP "story", SP "weights", SP "compressed", SP "storage", "e", "t",
	"a", "o", "i", "n", "s", "r", "h", "l", "d", "c", "u", "m", ".", ",",
};

static void builtin_tokenizer(struct gw *g, uint32_t *vocab)
{
	uint32_t nwords = sizeof(words) / sizeof(words[0]), base = 3 + 256 + nwords;
	uint32_t n = *vocab > base ? *vocab : base;
	char **tok = calloc(n, sizeof(*tok));
	float *score = calloc(n, sizeof(*score));
	int32_t *type = calloc(n, sizeof(*type));

	if (!tok || !score || !type)
		die("%s", "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		char buf[32];

		if (i == 0) {
			snprintf(buf, sizeof(buf), "<unk>");
			type[i] = 2;
		} else if (i < 3) {
			snprintf(buf, sizeof(buf), i == 1 ? "<s>" : "</s>");
			type[i] = 3;
		} else if (i < 3 + 256) {
			snprintf(buf, sizeof(buf), "<0x%02X>", i - 3);
			type[i] = 6;
		} else if (i < base) {
			snprintf(buf, sizeof(buf), "%s", words[i - 3 - 256]);
			type[i] = 1;
			score[i] = -(float)(i - 3 - 256);
		} else {
			snprintf(buf, sizeof(buf), SP "w%u", i);
			type[i] = 1;
			score[i] = -(float)i;
		}
		tok[i] = strdup(buf);
		if (!tok[i])
			die("%s", "out of memory");
	}
	gw_kv_str(g, "tokenizer.ggml.model", "llama");
	gw_kv_arr_str(g, "tokenizer.ggml.tokens", tok, n);
	gw_kv_arr_f32(g, "tokenizer.ggml.scores", score, n);
	gw_kv_arr_i32(g, "tokenizer.ggml.token_type", type, n);
	gw_kv_u32(g, "tokenizer.ggml.bos_token_id", 1);
	gw_kv_u32(g, "tokenizer.ggml.eos_token_id", 2);
	gw_kv_u32(g, "tokenizer.ggml.unknown_token_id", 0);
	gw_kv_bool(g, "tokenizer.ggml.add_bos_token", true);
	gw_kv_bool(g, "tokenizer.ggml.add_eos_token", false);
	for (uint32_t i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	free(score);
	free(type);
	*vocab = n;
}

/* Copies every tokenizer.* pair of @path; sets *vocab to its token count. */
static void copy_tokenizer(struct gw *g, const char *path, uint32_t *vocab)
{
	struct mfs_err err = {{0}};
	const struct mfs_gguf_kv *tokens;
	struct mfs_gguf gg;
	uint8_t *buf;
	long size;
	FILE *f = fopen(path, "rb");

	if (!f)
		die("cannot open vocabulary file %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (!buf || size <= 0 || fread(buf, 1, (size_t)size, f) != (size_t)size)
		die("cannot read vocabulary file %s", path);
	fclose(f);
	if (mfs_gguf_parse(&gg, buf, (size_t)size, (uint64_t)size, &err))
		die("vocabulary file: %s", err.msg);
	tokens = mfs_gguf_find(&gg, "tokenizer.ggml.tokens");
	if (!tokens || tokens->type != MFS_GGUF_ARRAY || tokens->arr_type != MFS_GGUF_STRING)
		die("%s has no tokenizer.ggml.tokens", path);
	*vocab = (uint32_t)tokens->arr_n;
	for (uint64_t i = 0; i < gg.n_kv; i++) {
		const struct mfs_gguf_kv *kv = &gg.kvs[i];

		if (kv->key_len > 10 && memcmp(kv->key, "tokenizer.", 10) == 0)
			gw_kv_raw(g, buf + kv->start, kv->end - kv->start);
	}
	mfs_gguf_release(&gg);
	free(buf);
}

/* ---- writers ------------------------------------------------------------ */

static void write_all(int fd, const void *buf, uint64_t len, const char *path)
{
	if (mfs_write_all(fd, buf, len))
		die("write failed: %s", path);
}

static void commit(struct mfs_outfile *o, const char *path)
{
	struct mfs_err err = {{0}};

	if (mfs_outfile_commit(o, true, &err))
		die("cannot create %s", path);
}

static uint64_t write_gguf(const struct spec *sp, struct tlist *l, const struct gw *tok)
{
	struct spec s = *sp;
	struct mfs_outfile o;
	struct mfs_err err = {{0}};
	static const uint8_t zeros[64];
	uint32_t ftype;
	struct gw g;
	uint8_t *hdr;
	size_t hlen;
	uint64_t total;

	gw_init(&g);
	gw_kv_str(&g, "general.architecture", "llama");
	gw_kv_str(&g, "general.name", "modelfs synthetic");
	switch (s.dtype) {
	case MFS_DT_F32: ftype = 0; break;
	case MFS_DT_F16: ftype = 1; break;
	case MFS_DT_Q4_0: ftype = 2; break;
	case MFS_DT_Q8_0: ftype = 7; break;
	default: ftype = 32; break; /* LLAMA_FTYPE_MOSTLY_BF16 */
	}
	gw_kv_u32(&g, "general.file_type", ftype);
	gw_kv_u32(&g, "llama.context_length", s.ctx);
	gw_kv_u32(&g, "llama.embedding_length", s.embd);
	gw_kv_u32(&g, "llama.block_count", s.layers);
	gw_kv_u32(&g, "llama.feed_forward_length", s.ff);
	gw_kv_u32(&g, "llama.attention.head_count", s.heads);
	gw_kv_u32(&g, "llama.attention.head_count_kv", s.kv_heads);
	gw_kv_u32(&g, "llama.rope.dimension_count", s.embd / s.heads);
	gw_kv_f32(&g, "llama.rope.freq_base", 10000.0f);
	gw_kv_f32(&g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gw_kv_u32(&g, "llama.vocab_size", s.vocab);
	if (s.experts) {
		gw_kv_u32(&g, "llama.expert_count", s.experts);
		gw_kv_u32(&g, "llama.expert_used_count", s.experts_used);
	}
	gw_append(&g, tok);
	for (uint32_t i = 0; i < l->n; i++)
		if (gw_add_tensor(&g, l->v[i].name, l->v[i].dtype, l->v[i].ndim, l->v[i].ne) < 0)
			die("cannot add tensor %s (row not a multiple of the block size?)",
			    l->v[i].name);
	hdr = gw_header(&g, &hlen);
	if (!hdr)
		die("%s", "out of memory");
	if (mfs_outfile_open(&o, s.out, 0644, &err))
		die("cannot create %s", s.out);
	write_all(o.fd, hdr, hlen, s.out);
	total = hlen;
	for (uint32_t i = 0; i < l->n; i++) {
		uint8_t *d = tensor_data(&s, &l->v[i]);

		write_all(o.fd, d, g.t[i].size, s.out);
		write_all(o.fd, zeros, gw_padding(&g, i), s.out);
		total += g.t[i].size + gw_padding(&g, i);
		free(d);
	}
	commit(&o, s.out);
	free(hdr);
	gw_free(&g);
	return total;
}

/* Appends to a growable string. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n >= 0 && b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 + (size_t)n : 4096 + (size_t)n;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("%s", "out of memory");
	}
}

static uint64_t write_safetensors_file(const struct spec *s, const char *path,
				       const struct tdesc *t, uint32_t n)
{
	struct sbuf h = {0};
	struct mfs_outfile o;
	struct mfs_err err = {{0}};
	uint8_t len8[8];
	uint64_t off = 0;

	sb_printf(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t bytes = tensor_bytes(&t[i]);

		sb_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name,
			  mfs_dtype_get(t[i].dtype)->name);
		for (uint32_t d = 0; d < t[i].ndim; d++)
			sb_printf(&h, "%s%llu", d ? "," : "",
				  (unsigned long long)t[i].ne[t[i].ndim - 1 - d]);
		sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
			  (unsigned long long)(off + bytes));
		off += bytes;
	}
	sb_printf(&h, "}");
	while (h.len % 8)
		sb_printf(&h, " ");
	if (mfs_outfile_open(&o, path, 0644, &err))
		die("cannot create %s", path);
	put_le64(len8, h.len);
	write_all(o.fd, len8, 8, path);
	write_all(o.fd, h.p, h.len, path);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *d = tensor_data(s, &t[i]);

		write_all(o.fd, d, tensor_bytes(&t[i]), path);
		free(d);
	}
	commit(&o, path);
	free(h.p);
	return 8 + h.len + off;
}

static uint64_t write_safetensors(const struct spec *s, struct tlist *l)
{
	struct sbuf idx = {0};
	uint64_t total = 0, data = 0, per, acc = 0;
	uint32_t first = 0, shard = 0;
	char path[4096], name[64];

	if (s->shards <= 1)
		return write_safetensors_file(s, s->out, l->v, l->n);
	if (mkdir(s->out, 0755) < 0 && errno != EEXIST)
		die("cannot create directory %s", s->out);
	for (uint32_t i = 0; i < l->n; i++)
		data += tensor_bytes(&l->v[i]);
	per = (data + s->shards - 1) / s->shards;
	sb_printf(&idx, "{\n  \"metadata\": {\"total_size\": %llu},\n  \"weight_map\": {",
		  (unsigned long long)data);
	for (uint32_t i = 0; i <= l->n; i++) {
		bool last_shard = shard + 1 == s->shards;

		if (i < l->n && (acc < per || last_shard || i == first)) {
			acc += tensor_bytes(&l->v[i]);
			continue;
		}
		snprintf(name, sizeof(name), "model-%05u-of-%05u.safetensors", shard + 1, s->shards);
		snprintf(path, sizeof(path), "%s/%s", s->out, name);
		total += write_safetensors_file(s, path, l->v + first, i - first);
		for (uint32_t k = first; k < i; k++)
			sb_printf(&idx, "%s\n    \"%s\": \"%s\"", k ? "," : "", l->v[k].name, name);
		shard++;
		first = i;
		acc = i < l->n ? tensor_bytes(&l->v[i]) : 0;
		if (i == l->n)
			break;
	}
	sb_printf(&idx, "\n  }\n}\n");
	snprintf(path, sizeof(path), "%s/model.safetensors.index.json", s->out);
	{
		struct mfs_outfile o;
		struct mfs_err err = {{0}};

		if (mfs_outfile_open(&o, path, 0644, &err))
			die("cannot create %s", path);
		write_all(o.fd, idx.p, idx.len, path);
		commit(&o, path);
	}
	free(idx.p);
	if (shard != s->shards && !s->quiet)
		fprintf(stderr, "modelfs-gen: note: %u shards written (tensors are indivisible)\n",
			shard);
	return total;
}

static uint32_t opt_u32(const char *arg, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v == 0 || v > 1u << 24)
		die("bad --%s '%s'", opt, arg);
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	enum { O_ORDER = 256, O_LAYERS, O_EMBD, O_FF, O_HEADS, O_KV, O_CTX, O_VOCABN, O_VOCAB,
	       O_SHARDS, O_SEED, O_RESEED, O_EXPERTS, O_EXPERTS_USED };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
		{"type", required_argument, NULL, 't'}, {"order", required_argument, NULL, O_ORDER},
		{"preset", required_argument, NULL, 'p'},
		{"layers", required_argument, NULL, O_LAYERS},
		{"embd", required_argument, NULL, O_EMBD}, {"ff", required_argument, NULL, O_FF},
		{"heads", required_argument, NULL, O_HEADS},
		{"kv-heads", required_argument, NULL, O_KV}, {"ctx", required_argument, NULL, O_CTX},
		{"vocab-size", required_argument, NULL, O_VOCABN},
		{"vocab", required_argument, NULL, O_VOCAB},
		{"shards", required_argument, NULL, O_SHARDS},
		{"seed", required_argument, NULL, O_SEED}, {"quiet", no_argument, NULL, 'q'},
		{"reseed-from", required_argument, NULL, O_RESEED},
		{"experts", required_argument, NULL, O_EXPERTS},
		{"experts-used", required_argument, NULL, O_EXPERTS_USED},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct spec s = {.layers = 2, .embd = 64, .ff = 128, .heads = 4, .kv_heads = 2,
			 .ctx = 256, .vocab = 0, .dtype = MFS_DT_BF16, .format = FMT_GGUF,
			 .order = -1, .shards = 1, .seed = 1, .experts_used = 2};
	uint32_t o_layers = 0, o_embd = 0, o_ff = 0, o_heads = 0, o_kv = 0, o_ctx = 0;
	const struct mfs_dtype_info *dt;
	struct tlist l = {0};
	struct gw tok;
	uint64_t total, params = 0;
	int c;

	while ((c = getopt_long(argc, argv, "o:f:t:p:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': s.out = optarg; break;
		case 'f':
			if (strcmp(optarg, "gguf") == 0)
				s.format = FMT_GGUF;
			else if (strcmp(optarg, "safetensors") == 0)
				s.format = FMT_ST;
			else
				die("unknown format '%s'", optarg);
			break;
		case 't':
			dt = mfs_dtype_find(optarg);
			if (!dt || (dt->id != MFS_DT_F32 && dt->id != MFS_DT_F16 &&
				    dt->id != MFS_DT_BF16 && dt->id != MFS_DT_Q8_0 &&
				    dt->id != MFS_DT_Q4_0))
				die("unsupported type '%s' (f32, f16, bf16, q8_0, q4_0)", optarg);
			s.dtype = dt->id;
			break;
		case O_ORDER:
			if (strcmp(optarg, "layer") == 0)
				s.order = ORDER_LAYER;
			else if (strcmp(optarg, "sorted") == 0)
				s.order = ORDER_SORTED;
			else
				die("unknown order '%s' (layer, sorted)", optarg);
			break;
		case 'p':
			if (strcmp(optarg, "tiny") == 0) {
				/* the defaults */
			} else if (strcmp(optarg, "small") == 0) {
				s.layers = 4, s.embd = 256, s.ff = 704, s.heads = 4, s.kv_heads = 4;
				s.ctx = 512;
			} else if (strcmp(optarg, "medium") == 0) {
				s.layers = 8, s.embd = 512, s.ff = 1408, s.heads = 8, s.kv_heads = 8;
				s.ctx = 1024, s.vocab = 8000;
			} else if (strcmp(optarg, "bench") == 0) {
				s.layers = 12, s.embd = 768, s.ff = 2048, s.heads = 12;
				s.kv_heads = 12, s.ctx = 2048, s.vocab = 32000;
			} else {
				die("unknown preset '%s' (tiny, small, medium, bench)", optarg);
			}
			break;
		case O_LAYERS: o_layers = opt_u32(optarg, "layers"); break;
		case O_EMBD: o_embd = opt_u32(optarg, "embd"); break;
		case O_FF: o_ff = opt_u32(optarg, "ff"); break;
		case O_HEADS: o_heads = opt_u32(optarg, "heads"); break;
		case O_KV: o_kv = opt_u32(optarg, "kv-heads"); break;
		case O_CTX: o_ctx = opt_u32(optarg, "ctx"); break;
		case O_VOCABN: s.vocab = opt_u32(optarg, "vocab-size"); break;
		case O_VOCAB: s.vocab_file = optarg; break;
		case O_SHARDS: s.shards = opt_u32(optarg, "shards"); break;
		case O_SEED: s.seed = strtoull(optarg, NULL, 10); break;
		case O_RESEED: s.reseed_from = (uint32_t)strtoul(optarg, NULL, 10); break;
		case O_EXPERTS: s.experts = opt_u32(optarg, "experts"); break;
		case O_EXPERTS_USED: s.experts_used = opt_u32(optarg, "experts-used"); break;
		case 'q': s.quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': printf("modelfs-gen %s\n", MFS_VERSION_STRING); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!s.out)
		die("%s", "no output given (-o PATH); see --help");
	if (o_layers) s.layers = o_layers;
	if (o_embd) s.embd = o_embd;
	if (o_ff) s.ff = o_ff;
	if (o_heads) s.heads = o_heads;
	if (o_kv) s.kv_heads = o_kv;
	if (o_ctx) s.ctx = o_ctx;
	if (s.embd % s.heads || s.heads % s.kv_heads)
		die("%s", "embd must be a multiple of heads, heads of kv-heads");
	if (s.format == FMT_ST && s.dtype != MFS_DT_F32 && s.dtype != MFS_DT_F16 &&
	    s.dtype != MFS_DT_BF16)
		die("%s", "safetensors output supports f32, f16 and bf16");
	if (s.experts && (s.format != FMT_GGUF || s.experts_used > s.experts))
		die("%s", "--experts is for gguf, with --experts-used at most --experts");
	if (s.format == FMT_GGUF && s.shards > 1)
		die("%s", "--shards is for safetensors");
	if (s.order < 0)
		s.order = s.format == FMT_GGUF ? ORDER_LAYER : ORDER_SORTED;

	/* The tokenizer decides the vocabulary size. */
	gw_init(&tok);
	if (s.vocab_file)
		copy_tokenizer(&tok, s.vocab_file, &s.vocab);
	else
		builtin_tokenizer(&tok, &s.vocab);

	build_tensors(&s, &l);
	if (s.order == ORDER_SORTED)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	for (uint32_t i = 0; i < l.n; i++)
		params += l.v[i].ne[0] * l.v[i].ne[1] * l.v[i].ne[2];

	if (s.format == FMT_GGUF)
		total = write_gguf(&s, &l, &tok);
	else
		total = write_safetensors(&s, &l);
	if (!s.quiet)
		printf("%s: %s %s, %u tensors, %llu parameters, %u layers, vocab %u, %llu bytes\n",
		       s.out, s.format == FMT_GGUF ? "gguf" : "safetensors",
		       mfs_dtype_get(s.dtype)->name, l.n, (unsigned long long)params, s.layers,
		       s.vocab, (unsigned long long)total);
	gw_free(&tok);
	free(l.v);
	return 0;
}
