/* SPDX-License-Identifier: MIT */
/*
 * safetensors.c - safetensors header parser (see safetensors.h).
 *
 * One pass over the JSON builds the tensor list (names decoded and copied),
 * then the list is sorted by offset and checked the way the reference's
 * Metadata::validate() does. Memory grows only with bytes actually parsed.
 */
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "json.h"
#include "le.h"

#define MAX_SHAPE_DIMS 1024 /* far beyond any real tensor; bounds the work per entry */

struct st_entry {
	struct mfs_st_tensor t;
	uint64_t begin, end; /* data_offsets, relative to the data section */
};

struct parse_ctx {
	struct json j;
	struct st_entry *v;
	uint64_t n, cap;
	char *name; /* scratch, MFS_ST_MAX_NAME + 1 bytes */
};

bool mfs_st_sniff(const void *buf, size_t len, uint64_t file_size)
{
	const uint8_t *b = buf;
	uint64_t n;

	if (len < 9)
		return false;
	n = get_le64(b);
	return n >= 2 && n <= MFS_ST_MAX_HEADER && n <= file_size - 8 && b[8] == '{';
}

/* "shape": [d0, d1, ...] -> ne[] innermost first, folding dims beyond the 4th. */
static int parse_shape(struct parse_ctx *pc, struct st_entry *e, uint64_t *nelem)
{
	uint64_t dims[MAX_SHAPE_DIMS];
	uint32_t n = 0;
	int r = json_open(&pc->j, '[', ']');

	if (r < 0)
		return r;
	if (r == 0) {
		do {
			if (n == MAX_SHAPE_DIMS)
				return json_fail(&pc->j, "too many dimensions");
			r = json_uint(&pc->j, &dims[n++], "shape entry");
			if (r)
				return r;
		} while ((r = json_next(&pc->j, ']')) == 1);
		if (r)
			return r;
	}
	*nelem = 1;
	for (uint32_t i = 0; i < n; i++) {
		if (dims[i] && *nelem > UINT64_MAX / dims[i])
			return mfs_err_set(pc->j.err, -EFSCORRUPTED,
					   "tensor '%s': shape overflows", pc->name);
		*nelem *= dims[i];
	}
	e->t.ndim = n;
	for (unsigned int d = 0; d < 4; d++)
		e->t.ne[d] = 1;
	for (uint32_t i = 0; i < n && i < 3; i++)
		e->t.ne[i] = dims[n - 1 - i];
	if (n >= 4) {
		/* dims[0..n-4] fold into ne[3]; cannot overflow since the full product did not */
		uint64_t outer = 1;

		for (uint32_t i = 0; i + 3 < n; i++)
			outer *= dims[i];
		e->t.ne[3] = outer;
	}
	return 0;
}

static int parse_offsets(struct parse_ctx *pc, struct st_entry *e)
{
	int r = json_expect(&pc->j, '[');

	if (!r)
		r = json_uint(&pc->j, &e->begin, "data offset");
	if (!r)
		r = json_expect(&pc->j, ',');
	if (!r)
		r = json_uint(&pc->j, &e->end, "data offset");
	if (!r)
		r = json_expect(&pc->j, ']');
	return r;
}

static int parse_tensor(struct parse_ctx *pc, struct st_entry *e)
{
	const struct mfs_dtype_info *dt = NULL;
	bool have_dtype = false, have_shape = false, have_off = false;
	char key[32], dtype[32];
	uint64_t nelem = 0;
	size_t klen, dlen;
	int r;

	r = json_open(&pc->j, '{', '}');
	if (r < 0)
		return r;
	if (r == 0) {
		do {
			struct json save = pc->j;

			r = json_string(&pc->j, key, sizeof(key), &klen, "field name");
			if (r == -EFSCORRUPTED) {
				/* A long unknown field name: skip it like any unknown field. */
				pc->j = save;
				r = json_skip(&pc->j);
				key[0] = '\0';
			}
			if (!r)
				r = json_expect(&pc->j, ':');
			if (r)
				return r;
			if (strcmp(key, "dtype") == 0) {
				if (have_dtype)
					return json_fail(&pc->j, "duplicate field 'dtype'");
				r = json_string(&pc->j, dtype, sizeof(dtype), &dlen, "dtype");
				if (r)
					return r;
				dt = mfs_dtype_from_safetensors(dtype, dlen);
				if (!dt)
					return mfs_err_set(pc->j.err, -EFSCORRUPTED,
							   "tensor '%s': unknown dtype '%s'",
							   pc->name, dtype);
				have_dtype = true;
			} else if (strcmp(key, "shape") == 0) {
				if (have_shape)
					return json_fail(&pc->j, "duplicate field 'shape'");
				r = parse_shape(pc, e, &nelem);
				have_shape = true;
			} else if (strcmp(key, "data_offsets") == 0) {
				if (have_off)
					return json_fail(&pc->j, "duplicate field 'data_offsets'");
				r = parse_offsets(pc, e);
				have_off = true;
			} else {
				r = json_skip(&pc->j);
			}
			if (r)
				return r;
		} while ((r = json_next(&pc->j, '}')) == 1);
		if (r)
			return r;
	}
	if (!have_dtype || !have_shape || !have_off)
		return mfs_err_set(pc->j.err, -EFSCORRUPTED, "tensor '%s': missing %s", pc->name,
				   !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
	e->t.dtype = dt->id;
	if (nelem > UINT64_MAX / dt->block_bytes)
		return mfs_err_set(pc->j.err, -EFSCORRUPTED, "tensor '%s': byte size overflows",
				   pc->name);
	e->t.size = nelem * dt->block_bytes;
	if (e->end < e->begin || e->end - e->begin != e->t.size)
		return mfs_err_set(pc->j.err, -EFSCORRUPTED,
				   "tensor '%s': data offsets [%llu, %llu) do not hold %llu bytes",
				   pc->name, (unsigned long long)e->begin,
				   (unsigned long long)e->end, (unsigned long long)e->t.size);
	return 0;
}

/* "__metadata__": {"k": "v", ...} or null. Values must be strings. */
static int parse_metadata(struct parse_ctx *pc)
{
	int r;

	if (json_null(&pc->j))
		return 0;
	r = json_open(&pc->j, '{', '}');
	if (r)
		return r < 0 ? r : 0;
	do {
		if (json_peek(&pc->j) != '"')
			return json_fail(&pc->j, "expected a string key in __metadata__");
		r = json_skip(&pc->j);
		if (!r)
			r = json_expect(&pc->j, ':');
		if (r)
			return r;
		if (json_peek(&pc->j) != '"')
			return json_fail(&pc->j, "__metadata__ values must be strings");
		r = json_skip(&pc->j);
		if (r)
			return r;
	} while ((r = json_next(&pc->j, '}')) == 1);
	return r;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct st_entry *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

static int name_cmp(const void *a, const void *b)
{
	const struct st_entry *x = a, *y = b;

	return strcmp(x->t.name, y->t.name);
}

static int parse_object(struct parse_ctx *pc)
{
	bool have_meta = false;
	size_t nlen;
	int r = json_open(&pc->j, '{', '}');

	if (r)
		return r < 0 ? r : 0;
	do {
		r = json_string(&pc->j, pc->name, MFS_ST_MAX_NAME + 1, &nlen, "tensor name");
		if (!r)
			r = json_expect(&pc->j, ':');
		if (r)
			return r;
		if (strcmp(pc->name, "__metadata__") == 0) {
			if (have_meta)
				return json_fail(&pc->j, "duplicate __metadata__");
			have_meta = true;
			r = parse_metadata(pc);
		} else {
			struct st_entry *e;

			if (memchr(pc->name, '\0', nlen))
				return mfs_err_set(pc->j.err, -EFSCORRUPTED,
						   "tensor name contains a NUL character");
			if (pc->n == pc->cap) {
				uint64_t ncap = pc->cap ? pc->cap * 2 : 64;
				void *p = realloc(pc->v, ncap * sizeof(*pc->v));

				if (!p)
					return -ENOMEM;
				pc->v = p;
				pc->cap = ncap;
			}
			e = &pc->v[pc->n];
			memset(e, 0, sizeof(*e));
			r = parse_tensor(pc, e);
			if (r)
				return r;
			e->t.name = strdup(pc->name);
			if (!e->t.name)
				return -ENOMEM;
			e->t.name_len = (uint16_t)nlen;
			pc->n++;
		}
		if (r)
			return r;
	} while ((r = json_next(&pc->j, '}')) == 1);
	return r;
}

int mfs_st_parse(struct mfs_st *st, const void *buf, size_t len, uint64_t file_size,
		 struct mfs_err *err)
{
	struct parse_ctx pc = {0};
	const uint8_t *b = buf;
	uint64_t n, expect;
	int r;

	memset(st, 0, sizeof(*st));
	if (file_size < 8)
		return mfs_err_set(err, -EFSCORRUPTED, "file too small for a safetensors header");
	if (len < 8)
		return -ENOBUFS;
	n = get_le64(b);
	if (n > MFS_ST_MAX_HEADER)
		return mfs_err_set(err, -EFSCORRUPTED, "header length %llu exceeds 100 MB",
				   (unsigned long long)n);
	if (n > file_size - 8)
		return mfs_err_set(err, -EFSCORRUPTED, "header length %llu exceeds the file",
				   (unsigned long long)n);
	if (n > len - 8)
		return -ENOBUFS;
	if (!mfs_utf8_valid(b + 8, n))
		return mfs_err_set(err, -EFSCORRUPTED, "header is not valid UTF-8");

	pc.name = malloc(MFS_ST_MAX_NAME + 1);
	if (!pc.name)
		return -ENOMEM;
	json_init(&pc.j, (const char *)b + 8, n, err);
	r = parse_object(&pc);
	if (!r && json_peek(&pc.j) != -1)
		r = json_fail(&pc.j, "trailing characters after the header object");
	if (r)
		goto fail;

	if (pc.n > 1) {
		/* Duplicate names: sort by name, compare neighbours, then sort by offset. */
		qsort(pc.v, pc.n, sizeof(*pc.v), name_cmp);
		for (uint64_t i = 1; i < pc.n; i++) {
			if (strcmp(pc.v[i - 1].t.name, pc.v[i].t.name) == 0) {
				r = mfs_err_set(err, -EFSCORRUPTED, "duplicate tensor name '%s'",
						pc.v[i].t.name);
				goto fail;
			}
		}
		qsort(pc.v, pc.n, sizeof(*pc.v), entry_cmp);
	}
	expect = 0;
	for (uint64_t i = 0; i < pc.n; i++) {
		struct st_entry *e = &pc.v[i];

		if (e->begin != expect) {
			r = mfs_err_set(err, -EFSCORRUPTED,
					"tensor '%s' starts at %llu, expected %llu (gap or overlap)",
					e->t.name, (unsigned long long)e->begin,
					(unsigned long long)expect);
			goto fail;
		}
		expect = e->end;
	}
	if (expect != file_size - 8 - n) {
		r = mfs_err_set(err, -EFSCORRUPTED,
				"tensor data ends at %llu but the file has %llu data bytes",
				(unsigned long long)expect,
				(unsigned long long)(file_size - 8 - n));
		goto fail;
	}

	st->header_len = n;
	st->data_offset = 8 + n;
	st->n_tensors = pc.n;
	st->tensors = calloc(pc.n ? pc.n : 1, sizeof(*st->tensors));
	if (!st->tensors) {
		r = -ENOMEM;
		goto fail;
	}
	for (uint64_t i = 0; i < pc.n; i++) {
		st->tensors[i] = pc.v[i].t;
		st->tensors[i].offset = st->data_offset + pc.v[i].begin;
	}
	free(pc.v);
	free(pc.name);
	return 0;

fail:
	for (uint64_t i = 0; i < pc.n; i++)
		free(pc.v[i].t.name);
	free(pc.v);
	free(pc.name);
	return r;
}

void mfs_st_release(struct mfs_st *st)
{
	for (uint64_t i = 0; i < st->n_tensors; i++)
		free(st->tensors[i].name);
	free(st->tensors);
	st->tensors = NULL;
	st->n_tensors = 0;
}
