/* SPDX-License-Identifier: MIT */
/*
 * test_plan.c - prefetch plans: inference order from GGUF and Hugging Face
 * names in name-sorted files (blk.10 after blk.1), sparse embeddings, tied
 * output, file-order fallback, plans from traces, and walking the order
 * across layer jumps and around the cycle.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "names.h"
#include "plan.h"
#include "trace.h"

#define MAXT 256
#define CHUNKS_PER_TENSOR 2

struct fake {
	struct mfs_tensor t[MAXT];
	char names[MAXT][64];
	uint32_t nt;
	uint32_t ct[MAXT * CHUNKS_PER_TENSOR + 1]; /* chunk -> tensor; chunk 0 is metadata */
	uint32_t nc;
};

/* Tensors in the order given are the file order (as sorted by offset). */
static void add(struct fake *f, const char *name)
{
	struct mfs_tensor *t = &f->t[f->nt];

	cr_assert_lt(f->nt, MAXT);
	snprintf(f->names[f->nt], sizeof(f->names[0]), "%s", name);
	t->name = f->names[f->nt];
	t->name_len = (uint16_t)strlen(name);
	mfs_name_classify(name, strlen(name), &t->layer, &t->role);
	t->offset = f->nt;
	if (!f->nc)
		f->ct[f->nc++] = MFS_TENSOR_NONE;
	for (int k = 0; k < CHUNKS_PER_TENSOR; k++)
		f->ct[f->nc++] = f->nt;
	f->nt++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A llama model's GGUF names for @nl layers, sorted as convert_hf_to_gguf writes them. */
static void gguf_sorted(struct fake *f, int nl, bool with_output)
{
	static const char *const parts[] = {"attn_k",  "attn_norm", "attn_output",
					    "attn_q",  "attn_v",    "ffn_down",
					    "ffn_gate", "ffn_norm", "ffn_up"};
	static char buf[MAXT][64];
	const char *names[MAXT];
	int n = 0;

	for (int l = 0; l < nl; l++)
		for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
			snprintf(buf[n], sizeof(buf[0]), "blk.%d.%s.weight", l, parts[p]);
			names[n] = buf[n];
			n++;
		}
	if (with_output)
		names[n++] = "output.weight";
	names[n++] = "output_norm.weight";
	names[n++] = "token_embd.weight";
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++)
		add(f, names[i]);
}

static uint32_t find(const struct fake *f, const char *name)
{
	for (uint32_t i = 0; i < f->nt; i++)
		if (strcmp(f->names[i], name) == 0)
			return i;
	cr_assert_fail("no tensor %s", name);
	return 0;
}

static uint32_t first_chunk(const struct fake *f, const char *name)
{
	return 1 + find(f, name) * CHUNKS_PER_TENSOR;
}

/* Builds the names plan of @f and flattens it. */
static void names_order(const struct fake *f, struct mfs_plan_order *o, struct mfs_plan_entry **runs,
			uint32_t *nruns)
{
	cr_assert_eq(mfs_plan_from_names(f->t, f->nt, f->ct, f->nc, runs, nruns), 0);
	for (uint32_t i = 0; i < *nruns; i++) {
		cr_assert_gt((*runs)[i].count, 0);
		cr_assert_leq((*runs)[i].first + (*runs)[i].count, f->nc);
		cr_assert_eq((*runs)[i].flags & ~MFS_PLAN_KNOWN_FLAGS, 0);
	}
	cr_assert_eq(mfs_plan_order_build(o, *runs, *nruns, f->nc), 0);
}

/* The tensor at plan position @p. */
static const char *at(const struct fake *f, const struct mfs_plan_order *o, uint32_t p)
{
	cr_assert_lt(p, o->n);
	cr_assert_neq(f->ct[o->chunk[p]], MFS_TENSOR_NONE, "metadata in the plan");
	return f->names[f->ct[o->chunk[p]]];
}

Test(plan, gguf_name_sorted_file_gets_inference_order)
{
	static const char *const block[] = {"attn_norm", "attn_q", "attn_k",   "attn_v", "attn_output",
					    "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down"};
	static struct fake f;
	struct mfs_plan_order o;
	struct mfs_plan_entry *runs;
	uint32_t nruns, p, steps = 0;
	char want[64];

	memset(&f, 0, sizeof(f));
	gguf_sorted(&f, 12, true);
	/* The file really is name-sorted: blk.10 comes right after blk.1, before blk.2. */
	cr_assert_str_eq(f.names[18], "blk.10.attn_k.weight");
	names_order(&f, &o, &runs, &nruns);
	cr_assert_eq(o.n, f.nc - 1, "every tensor chunk once, metadata not at all");
	cr_assert_eq(o.pos[0], MFS_PLAN_NONE);

	/* Embeddings first and sparse, then the blocks in numeric order, norms, output. */
	cr_assert_str_eq(at(&f, &o, 0), "token_embd.weight");
	cr_assert(o.sparse[0] && o.sparse[1]);
	cr_assert_eq(o.cycle, 2);
	p = 2;
	for (int l = 0; l < 12; l++)
		for (int r = 0; r < 9; r++)
			for (int k = 0; k < CHUNKS_PER_TENSOR; k++, p++) {
				snprintf(want, sizeof(want), "blk.%d.%s.weight", l, block[r]);
				cr_assert_str_eq(at(&f, &o, p), want, "position %u", p);
				cr_assert_eq(o.sparse[p], 0);
			}
	cr_assert_str_eq(at(&f, &o, p), "output_norm.weight");
	cr_assert_str_eq(at(&f, &o, p + 2), "output.weight");
	cr_assert_eq(p + 4, o.n);

	/* Walking: blk.1 -> blk.2 across the file's jump over blk.10..19. */
	p = o.pos[first_chunk(&f, "blk.1.ffn_down.weight") + 1];
	p = mfs_plan_order_next(&o, p);
	cr_assert_str_eq(at(&f, &o, p), "blk.2.attn_norm.weight");
	/* A row read in the embeddings predicts block 0, not more embeddings. */
	p = mfs_plan_order_next(&o, o.pos[first_chunk(&f, "token_embd.weight")]);
	cr_assert_str_eq(at(&f, &o, p), "blk.0.attn_norm.weight");
	/* After the output matrix, the next token starts over at block 0. */
	p = mfs_plan_order_next(&o, o.n - 1);
	cr_assert_eq(p, o.cycle);
	/* The walk visits every non-sparse position once per cycle. */
	p = o.cycle;
	do {
		p = mfs_plan_order_next(&o, p);
		steps++;
	} while (p != o.cycle && steps < 10000);
	cr_assert_eq(steps, o.n - 2);
	mfs_plan_order_release(&o);
	free(runs);
}

Test(plan, runs_are_merged_where_chunks_are_consecutive)
{
	static struct fake f;
	struct mfs_plan_entry *runs;
	uint32_t nruns;

	memset(&f, 0, sizeof(f));
	/* Already in inference order: one sparse run, the blocks, the tail. */
	add(&f, "token_embd.weight");
	add(&f, "blk.0.attn_norm.weight");
	add(&f, "blk.0.attn_q.weight");
	add(&f, "blk.1.attn_norm.weight");
	add(&f, "blk.1.attn_q.weight");
	add(&f, "output_norm.weight");
	add(&f, "output.weight");
	cr_assert_eq(mfs_plan_from_names(f.t, f.nt, f.ct, f.nc, &runs, &nruns), 0);
	cr_assert_eq(nruns, 2);
	cr_assert_eq(runs[0].first, 1);
	cr_assert_eq(runs[0].count, 2);
	cr_assert_eq(runs[0].flags, MFS_PLAN_SPARSE);
	cr_assert_eq(runs[1].first, 3);
	cr_assert_eq(runs[1].count, 12);
	cr_assert_eq(runs[1].flags, MFS_PLAN_CYCLE);
	free(runs);
}

Test(plan, hugging_face_names)
{
	static const char *const names[] = {
		"lm_head.weight",
		"model.embed_tokens.weight",
		"model.layers.0.input_layernorm.weight",
		"model.layers.0.mlp.down_proj.weight",
		"model.layers.0.mlp.gate_proj.weight",
		"model.layers.0.mlp.up_proj.weight",
		"model.layers.0.post_attention_layernorm.weight",
		"model.layers.0.self_attn.k_proj.weight",
		"model.layers.0.self_attn.o_proj.weight",
		"model.layers.0.self_attn.q_proj.weight",
		"model.layers.0.self_attn.v_proj.weight",
		"model.layers.10.input_layernorm.weight",
		"model.layers.2.input_layernorm.weight",
		"model.norm.weight",
	};
	static const char *const want[] = {
		"model.embed_tokens.weight",
		"model.layers.0.input_layernorm.weight",
		"model.layers.0.self_attn.q_proj.weight",
		"model.layers.0.self_attn.k_proj.weight",
		"model.layers.0.self_attn.v_proj.weight",
		"model.layers.0.self_attn.o_proj.weight",
		"model.layers.0.post_attention_layernorm.weight",
		"model.layers.0.mlp.gate_proj.weight",
		"model.layers.0.mlp.up_proj.weight",
		"model.layers.0.mlp.down_proj.weight",
		"model.layers.2.input_layernorm.weight",
		"model.layers.10.input_layernorm.weight",
		"model.norm.weight",
		"lm_head.weight",
	};
	static struct fake f;
	struct mfs_plan_order o;
	struct mfs_plan_entry *runs;
	uint32_t nruns;

	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add(&f, names[i]);
	names_order(&f, &o, &runs, &nruns);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_str_eq(at(&f, &o, (uint32_t)i * CHUNKS_PER_TENSOR), want[i]);
	cr_assert(o.sparse[0]);
	cr_assert_eq(o.cycle, CHUNKS_PER_TENSOR);
	mfs_plan_order_release(&o);
	free(runs);
}

Test(plan, tied_embeddings_are_read_whole_as_the_output)
{
	static struct fake f;
	struct mfs_plan_order o;
	struct mfs_plan_entry *runs;
	uint32_t nruns;

	memset(&f, 0, sizeof(f));
	gguf_sorted(&f, 2, false);
	names_order(&f, &o, &runs, &nruns);
	cr_assert_str_eq(at(&f, &o, 0), "blk.0.attn_norm.weight");
	cr_assert_eq(o.cycle, 0);
	cr_assert_str_eq(at(&f, &o, o.n - 1), "token_embd.weight");
	for (uint32_t p = 0; p < o.n; p++)
		cr_assert_eq(o.sparse[p], 0);
	mfs_plan_order_release(&o);
	free(runs);
}

/*
 * A mixture of experts: the expert stacks (3-dimensional ffn_*_exps) are
 * sparse, read where the router sends each token; the router, attention and
 * norms are not.
 */
Test(plan, expert_stacks_are_sparse)
{
	static struct fake f;
	static const char *const parts[] = {"attn_norm", "attn_q", "ffn_gate_inp", "ffn_gate_exps",
					    "ffn_up_exps", "ffn_down_exps"};
	struct mfs_plan_order o;
	struct mfs_plan_entry *runs;
	uint32_t nruns, sparse = 0;
	char name[64];

	memset(&f, 0, sizeof(f));
	add(&f, "token_embd.weight");
	for (int l = 0; l < 2; l++)
		for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
			snprintf(name, sizeof(name), "blk.%d.%s.weight", l, parts[p]);
			add(&f, name);
			if (strstr(parts[p], "_exps")) {
				f.t[f.nt - 1].ndim = 3;
				f.t[f.nt - 1].ne[2] = 8;
			}
		}
	add(&f, "output_norm.weight");
	add(&f, "output.weight");
	names_order(&f, &o, &runs, &nruns);
	for (uint32_t p = 0; p < o.n; p++) {
		const char *n = at(&f, &o, p);
		bool expert = strstr(n, "_exps") != NULL;

		if (strstr(n, "token_embd"))
			continue; /* sparse too: one row a token */
		cr_assert_eq(o.sparse[p], expert, "%s: sparse %u", n, o.sparse[p]);
		sparse += o.sparse[p];
	}
	cr_assert_eq(sparse, 2 * 3 * CHUNKS_PER_TENSOR, "every chunk of the six stacks");
	mfs_plan_order_release(&o);
	free(runs);
}

Test(plan, unknown_names_keep_file_order_without_cycle)
{
	static struct fake f;
	struct mfs_plan_order o;
	struct mfs_plan_entry *runs;
	uint32_t nruns;

	memset(&f, 0, sizeof(f));
	add(&f, "zeta");
	add(&f, "alpha");
	add(&f, "token_embd.weight"); /* known, but no blocks: order unknown */
	names_order(&f, &o, &runs, &nruns);
	cr_assert_eq(nruns, 1);
	cr_assert_eq(runs[0].first, 1);
	cr_assert_eq(runs[0].count, 6);
	cr_assert_eq(runs[0].flags, 0);
	cr_assert_eq(o.cycle, MFS_PLAN_NONE);
	cr_assert_eq(mfs_plan_order_next(&o, o.n - 1), MFS_PLAN_NONE);
	cr_assert_eq(mfs_plan_order_next(&o, 0), 1);
	mfs_plan_order_release(&o);
	free(runs);

	/* No tensors at all (a raw file). */
	cr_assert_eq(mfs_plan_from_names(NULL, 0, f.ct, 1, &runs, &nruns), 0);
	cr_assert_eq(nruns, 0);
	free(runs);
}

Test(plan, from_trace_orders_by_last_read_and_marks_the_cycle)
{
	/* Load in file order, then two and a half passes of 5 3 4 7 (3 read thrice in a row). */
	static const uint32_t seq[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 3, 3, 3, 4,
				       7, 5, 3, 4, 7, 5, 3, 42};
	static const uint32_t want[] = {0, 1, 2, 6, 8, 9, 4, 7, 5, 3};
	struct mfs_plan_entry *runs;
	struct mfs_plan_order o;
	uint32_t nruns;

	cr_assert_eq(mfs_plan_from_trace(seq, sizeof(seq) / sizeof(seq[0]), 10, &runs, &nruns), 0);
	cr_assert_eq(mfs_plan_order_build(&o, runs, nruns, 10), 0);
	cr_assert_eq(o.n, 10);
	for (uint32_t i = 0; i < 10; i++)
		cr_assert_eq(o.chunk[i], want[i], "position %u: %u", i, o.chunk[i]);
	cr_assert_eq(o.cycle, 6);
	cr_assert_eq(runs[0].first, 0);
	cr_assert_eq(runs[0].count, 3, "consecutive chunks merge into one run");
	/* After the last of the cycle comes its first: 3 -> 4. */
	cr_assert_eq(o.chunk[mfs_plan_order_next(&o, o.pos[3])], 4);
	mfs_plan_order_release(&o);
	free(runs);

	/* A single pass is its own cycle; an empty trace is an empty plan. */
	cr_assert_eq(mfs_plan_from_trace(want, 4, 10, &runs, &nruns), 0);
	cr_assert_eq(nruns, 2);
	cr_assert_eq(runs[0].flags, MFS_PLAN_CYCLE);
	free(runs);
	cr_assert_eq(mfs_plan_from_trace(NULL, 0, 10, &runs, &nruns), 0);
	cr_assert_eq(nruns, 0);
	free(runs);
}

Test(plan, walking_an_all_sparse_or_empty_plan_ends)
{
	struct mfs_plan_entry runs[] = {{0, 3, MFS_PLAN_SPARSE | MFS_PLAN_CYCLE}};
	struct mfs_plan_order o;

	cr_assert_eq(mfs_plan_order_build(&o, runs, 1, 3), 0);
	cr_assert_eq(mfs_plan_order_next(&o, 1), MFS_PLAN_NONE);
	mfs_plan_order_release(&o);
	cr_assert_eq(mfs_plan_order_build(&o, NULL, 0, 3), 0);
	cr_assert_eq(o.n, 0);
	for (uint32_t c = 0; c < 3; c++)
		cr_assert_eq(o.pos[c], MFS_PLAN_NONE);
	mfs_plan_order_release(&o);
}

/*
 * Hostile plans: walking skips any number of SPARSE positions in one step
 * (each step is constant time), and a plan longer than the index is refused
 * before anything is allocated for it.
 */
Test(plan, walking_skips_sparse_runs_in_one_step_and_long_plans_are_refused)
{
	const uint32_t n = 100000;
	struct mfs_plan_entry runs[] = {
		{0, 1, MFS_PLAN_CYCLE}, {1, n - 3, MFS_PLAN_SPARSE}, {n - 2, 2, 0}};
	struct mfs_plan_entry twice[] = {{0, n, MFS_PLAN_CYCLE}, {0, 1, 0}};
	struct mfs_plan_order o;

	cr_assert_eq(mfs_plan_order_build(&o, runs, 3, n), 0);
	cr_assert_eq(mfs_plan_order_next(&o, 0), n - 2, "past the sparse run at once");
	cr_assert_eq(mfs_plan_order_next(&o, 5), n - 2, "from inside the sparse run");
	cr_assert_eq(mfs_plan_order_next(&o, n - 2), n - 1);
	cr_assert_eq(mfs_plan_order_next(&o, n - 1), 0, "around to the cycle");
	mfs_plan_order_release(&o);

	runs[2].flags = MFS_PLAN_SPARSE; /* only position 0 is dense: it follows itself */
	cr_assert_eq(mfs_plan_order_build(&o, runs, 3, n), 0);
	cr_assert_eq(mfs_plan_order_next(&o, 0), 0);
	mfs_plan_order_release(&o);

	cr_assert_eq(mfs_plan_order_build(&o, twice, 2, n), -EFSCORRUPTED);
	cr_assert_eq(o.n, 0);
}

/* The trace line: what the daemon writes, `modelfs plan` reads back; nothing else passes. */
Test(plan, trace_lines_round_trip_and_malformed_ones_are_refused)
{
	const char *id = "0123456789abcdef0123456789abcdef";
	char buf[256];
	uint32_t a = 0, b = 0;
	size_t n;

	n = mfs_trace_format(buf, sizeof(buf), id, 3, 7, "dir/x\n0123 0 0 forged.mfs");
	cr_assert_gt(n, 0);
	cr_assert_eq(strchr(buf, '\n'), buf + n - 1, "a name broke the line: %s", buf);
	cr_assert_eq(mfs_trace_parse(buf, id, 10, &a, &b), 1);
	cr_assert(a == 3 && b == 7);
	cr_assert_eq(mfs_trace_format(buf, 20, id, 3, 7, "x.mfs"), 0, "a line cut short");
	cr_assert_eq(mfs_trace_parse("fedcba 1 2 y.mfs\n", id, 10, &a, &b), 0);
	static const char *const bad[] = {
	    " 2 1 x", " 1 10 x", " 1 x", " -1 2 x", " 1 99999999999999999999 x", " 1 2x", " x 2 y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s\n", id, bad[i]);
		cr_assert_eq(mfs_trace_parse(buf, id, 10, &a, &b), -EINVAL, "'%s'", buf);
	}
}
