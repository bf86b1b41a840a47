/* SPDX-License-Identifier: MIT */
/*
 * plan.c - prefetch plans from tensor names or from traces (see plan.h).
 */
#include "plan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "names.h"

/* Growable list of runs; consecutive chunks with the same flags merge. */
struct runs {
	struct mfs_plan_entry *v;
	uint32_t n, cap;
};

static int runs_add(struct runs *r, uint32_t first, uint32_t count, uint32_t flags)
{
	struct mfs_plan_entry *last = r->n ? &r->v[r->n - 1] : NULL;

	if (!count)
		return 0;
	if (last && !(flags & MFS_PLAN_CYCLE) && last->first + last->count == first &&
	    (last->flags & MFS_PLAN_SPARSE) == (flags & MFS_PLAN_SPARSE)) {
		last->count += count;
		return 0;
	}
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		struct mfs_plan_entry *v = realloc(r->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct mfs_plan_entry){first, count, flags};
	return 0;
}

/* Hands the runs to the caller, leaving @r empty; returns 0. */
static int runs_take(struct runs *r, struct mfs_plan_entry **out, uint32_t *n)
{
	*out = r->v;
	*n = r->n;
	r->v = NULL;
	return 0;
}

/* ---- from names ------------------------------------------------------------ */

enum group { G_OTHER, G_EMBED, G_LAYERS, G_OUTPUT_NORM, G_OUTPUT };

struct tkey {
	uint8_t group;
	uint8_t role;
	uint16_t layer;
	uint32_t tensor; /* file order: tensors are sorted by offset */
	bool sparse;
};

static int tkey_cmp(const void *pa, const void *pb)
{
	const struct tkey *a = pa, *b = pb;

	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->layer != b->layer)
		return a->layer < b->layer ? -1 : 1;
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	return a->tensor < b->tensor ? -1 : a->tensor > b->tensor;
}

/* Sort keys for every tensor; false when no tensor is in a numbered block. */
static bool tensor_keys(const struct mfs_tensor *t, uint32_t nt, struct tkey *keys)
{
	bool layers = false, output = false;

	for (uint32_t i = 0; i < nt; i++) {
		layers |= t[i].layer != MFS_LAYER_NONE;
		output |= t[i].role == MFS_ROLE_OUTPUT;
	}
	for (uint32_t i = 0; i < nt; i++) {
		struct tkey *k = &keys[i];

		*k = (struct tkey){.group = G_OTHER, .layer = 0, .role = 0, .tensor = i};
		if (!layers)
			continue; /* file order */
		if (t[i].layer != MFS_LAYER_NONE) {
			k->group = G_LAYERS;
			k->layer = t[i].layer;
			/* Unrecognised parts of a block go after the known ones. */
			k->role = t[i].role == MFS_ROLE_OTHER ? MFS_ROLE_NR : t[i].role;
			/*
			 * A mixture of experts' feed-forward stack (GGUF ffn_*_exps:
			 * one matrix per expert): the router picks a few experts a
			 * token, so reading ahead in order would fetch the others.
			 */
			k->sparse = t[i].ndim >= 3 && t[i].ne[2] > 1 &&
				    (t[i].role == MFS_ROLE_FFN_GATE || t[i].role == MFS_ROLE_FFN_UP ||
				     t[i].role == MFS_ROLE_FFN_DOWN);
		} else if (t[i].role == MFS_ROLE_EMBED) {
			/* Without an output matrix the embeddings are the (tied) output. */
			k->group = output ? G_EMBED : G_OUTPUT;
			k->sparse = output;
		} else if (t[i].role == MFS_ROLE_OUTPUT_NORM) {
			k->group = G_OUTPUT_NORM;
		} else if (t[i].role == MFS_ROLE_OUTPUT) {
			k->group = G_OUTPUT;
		}
	}
	return layers;
}

int mfs_plan_from_names(const struct mfs_tensor *tensors, uint32_t ntensors,
			const uint32_t *chunk_tensor, uint32_t nchunks,
			struct mfs_plan_entry **out, uint32_t *n)
{
	struct runs runs = {0};
	struct tkey *keys = NULL;
	uint32_t *cfirst = NULL, *ccount = NULL;
	bool layers, cycle_done = false;
	int r = -ENOMEM;

	*out = NULL;
	*n = 0;
	keys = calloc(ntensors ? ntensors : 1, sizeof(*keys));
	cfirst = calloc(ntensors ? ntensors : 1, sizeof(*cfirst));
	ccount = calloc(ntensors ? ntensors : 1, sizeof(*ccount));
	if (!keys || !cfirst || !ccount)
		goto out;
	for (uint32_t c = 0; c < nchunks; c++) {
		uint32_t t = chunk_tensor[c];

		if (t >= ntensors)
			continue;
		if (!ccount[t]++)
			cfirst[t] = c;
	}
	layers = tensor_keys(tensors, ntensors, keys);
	qsort(keys, ntensors, sizeof(*keys), tkey_cmp);
	for (uint32_t i = 0; i < ntensors; i++) {
		const struct tkey *k = &keys[i];
		uint32_t flags = k->sparse ? MFS_PLAN_SPARSE : 0;

		if (layers && k->group == G_LAYERS && !cycle_done && ccount[k->tensor]) {
			flags |= MFS_PLAN_CYCLE; /* each token starts over at the first block */
			cycle_done = true;
		}
		r = runs_add(&runs, cfirst[k->tensor], ccount[k->tensor], flags);
		if (r)
			goto out;
	}
	r = runs_take(&runs, out, n);
out:
	free(runs.v);
	free(keys);
	free(cfirst);
	free(ccount);
	return r;
}

/* ---- from a trace ---------------------------------------------------------- */

struct last_read {
	size_t at;
	uint32_t chunk;
};

static int last_read_cmp(const void *pa, const void *pb)
{
	const struct last_read *a = pa, *b = pb;

	return a->at < b->at ? -1 : a->at > b->at;
}

int mfs_plan_from_trace(const uint32_t *seq, size_t len, uint32_t nchunks,
			struct mfs_plan_entry **out, uint32_t *n)
{
	struct runs runs = {0};
	size_t *last = NULL;
	uint8_t *count = NULL;
	struct last_read *order = NULL;
	uint32_t nread = 0, cycle = 0;
	int r = -ENOMEM;

	*out = NULL;
	*n = 0;
	last = malloc((nchunks ? nchunks : 1) * sizeof(*last));
	count = calloc(nchunks ? nchunks : 1, 1);
	if (!last || !count)
		goto out;
	for (size_t i = 0; i < len; i++) {
		uint32_t c = seq[i];

		if (c >= nchunks)
			continue;
		/* A chunk read by several requests in a row was read once. */
		if (count[c] && last[c] == i - 1) {
			last[c] = i;
			continue;
		}
		last[c] = i;
		if (count[c] < 2)
			count[c]++;
	}
	for (uint32_t c = 0; c < nchunks; c++)
		nread += count[c] != 0;
	order = calloc(nread ? nread : 1, sizeof(*order));
	if (!order)
		goto out;
	nread = 0;
	for (uint32_t c = 0; c < nchunks; c++)
		if (count[c])
			order[nread++] = (struct last_read){last[c], c};
	qsort(order, nread, sizeof(*order), last_read_cmp);
	/* The steady cycle starts with the first chunk read more than once. */
	while (cycle < nread && count[order[cycle].chunk] < 2)
		cycle++;
	if (cycle == nread)
		cycle = 0; /* one pass: it is the cycle */
	for (uint32_t i = 0; i < nread; i++) {
		r = runs_add(&runs, order[i].chunk, 1, i == cycle ? MFS_PLAN_CYCLE : 0);
		if (r)
			goto out;
	}
	r = runs_take(&runs, out, n);
out:
	free(runs.v);
	free(last);
	free(count);
	free(order);
	return r;
}
