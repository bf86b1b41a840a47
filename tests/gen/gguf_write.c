/* SPDX-License-Identifier: MIT */
/*
 * gguf_write.c - minimal GGUF v3 writer (see gguf_write.h).
 */
#include "gguf_write.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gguf.h"
#include "le.h"

void gw_init(struct gw *g)
{
	memset(g, 0, sizeof(*g));
	g->alignment = MFS_GGUF_DEFAULT_ALIGNMENT;
}

void gw_free(struct gw *g)
{
	free(g->kv);
	free(g->t);
	memset(g, 0, sizeof(*g));
}

static void put(struct gw *g, const void *p, size_t n)
{
	if (g->oom)
		return;
	if (g->kv_len + n > g->kv_cap) {
		size_t cap = g->kv_cap ? g->kv_cap : 4096;
		void *q;

		while (cap < g->kv_len + n)
			cap *= 2;
		q = realloc(g->kv, cap);
		if (!q) {
			g->oom = true;
			return;
		}
		g->kv = q;
		g->kv_cap = cap;
	}
	memcpy(g->kv + g->kv_len, p, n);
	g->kv_len += n;
}

static void put_u32(struct gw *g, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	put(g, b, 4);
}

static void put_u64(struct gw *g, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	put(g, b, 8);
}

static void put_str(struct gw *g, const char *s)
{
	size_t n = strlen(s);

	put_u64(g, n);
	put(g, s, n);
}

static void key(struct gw *g, const char *k, uint32_t type)
{
	put_str(g, k);
	put_u32(g, type);
	g->n_kv++;
}

void gw_kv_str(struct gw *g, const char *k, const char *v)
{
	key(g, k, MFS_GGUF_STRING);
	put_str(g, v);
}

void gw_kv_u32(struct gw *g, const char *k, uint32_t v)
{
	key(g, k, MFS_GGUF_UINT32);
	put_u32(g, v);
}

void gw_kv_f32(struct gw *g, const char *k, float v)
{
	uint32_t x;

	memcpy(&x, &v, 4);
	key(g, k, MFS_GGUF_FLOAT32);
	put_u32(g, x);
}

void gw_kv_bool(struct gw *g, const char *k, bool v)
{
	uint8_t b = v ? 1 : 0;

	key(g, k, MFS_GGUF_BOOL);
	put(g, &b, 1);
}

void gw_kv_arr_str(struct gw *g, const char *k, char *const *v, uint64_t n)
{
	key(g, k, MFS_GGUF_ARRAY);
	put_u32(g, MFS_GGUF_STRING);
	put_u64(g, n);
	for (uint64_t i = 0; i < n; i++)
		put_str(g, v[i]);
}

void gw_kv_arr_f32(struct gw *g, const char *k, const float *v, uint64_t n)
{
	key(g, k, MFS_GGUF_ARRAY);
	put_u32(g, MFS_GGUF_FLOAT32);
	put_u64(g, n);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t x;

		memcpy(&x, &v[i], 4);
		put_u32(g, x);
	}
}

void gw_kv_arr_i32(struct gw *g, const char *k, const int32_t *v, uint64_t n)
{
	key(g, k, MFS_GGUF_ARRAY);
	put_u32(g, MFS_GGUF_INT32);
	put_u64(g, n);
	for (uint64_t i = 0; i < n; i++)
		put_u32(g, (uint32_t)v[i]);
}

void gw_kv_raw(struct gw *g, const void *pair, size_t len)
{
	put(g, pair, len);
	g->n_kv++;
}

void gw_append(struct gw *g, const struct gw *src)
{
	put(g, src->kv, src->kv_len);
	g->n_kv += src->n_kv;
	g->oom |= src->oom;
}

static uint64_t pad_to(uint64_t x, uint64_t a)
{
	return (a - x % a) % a;
}

int gw_add_tensor(struct gw *g, const char *name, uint32_t type, uint32_t ndim,
		  const uint64_t *ne)
{
	const struct mfs_dtype_info *dt = mfs_dtype_from_ggml(type);
	struct gw_tensor *t;
	uint64_t nelem = 1;

	if (!dt || strlen(name) >= sizeof(t->name) || ndim > 4 || ne[0] % dt->block_elems)
		return -1;
	if (g->nt == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 64;
		void *p = realloc(g->t, cap * sizeof(*g->t));

		if (!p)
			return -1;
		g->t = p;
		g->cap = cap;
	}
	t = &g->t[g->nt];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	t->type = type;
	t->ndim = ndim;
	for (uint32_t d = 0; d < 4; d++) {
		t->ne[d] = d < ndim ? ne[d] : 1;
		nelem *= t->ne[d];
	}
	t->size = nelem / dt->block_elems * dt->block_bytes;
	if (g->nt > 0) {
		const struct gw_tensor *p = &g->t[g->nt - 1];

		t->offset = p->offset + p->size + pad_to(p->size, g->alignment);
	}
	return (int)g->nt++;
}

uint8_t *gw_header(struct gw *g, size_t *len)
{
	struct gw out;
	uint8_t *buf;
	size_t pad;

	gw_init(&out);
	put(&out, MFS_GGUF_MAGIC, 4);
	put_u32(&out, 3);
	put_u64(&out, g->nt);
	put_u64(&out, g->n_kv);
	put(&out, g->kv, g->kv_len);
	for (uint32_t i = 0; i < g->nt; i++) {
		const struct gw_tensor *t = &g->t[i];

		put_str(&out, t->name);
		put_u32(&out, t->ndim);
		for (uint32_t d = 0; d < t->ndim; d++)
			put_u64(&out, t->ne[d]);
		put_u32(&out, t->type);
		put_u64(&out, t->offset);
	}
	pad = (size_t)pad_to(out.kv_len, g->alignment);
	for (size_t i = 0; i < pad; i++)
		put(&out, "", 1);
	if (out.oom || g->oom) {
		gw_free(&out);
		return NULL;
	}
	buf = out.kv;
	*len = out.kv_len;
	free(out.t);
	return buf;
}

uint64_t gw_padding(const struct gw *g, uint32_t i)
{
	return pad_to(g->t[i].size, g->alignment);
}
