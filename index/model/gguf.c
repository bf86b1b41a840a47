/* SPDX-License-Identifier: MIT */
/*
 * gguf.c - GGUF header parser (see gguf.h for what it accepts).
 *
 * A cursor walks the buffer; every read first asks need(), which tells apart
 * "the file ends here" (corrupt) from "the prefix ends here" (-ENOBUFS). All
 * arithmetic on sizes from the file is done in uint64_t with explicit overflow
 * checks before use.
 */
#include "gguf.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "le.h"

struct cur {
	const uint8_t *buf;
	uint64_t len;
	uint64_t pos;
	uint64_t file_size;
	struct mfs_err *err;
};

static int need(struct cur *c, uint64_t n, const char *what)
{
	if (n > c->file_size - c->pos)
		return mfs_err_set(c->err, -EFSCORRUPTED, "truncated %s at offset %llu", what,
				   (unsigned long long)c->pos);
	if (n > c->len - c->pos)
		return -ENOBUFS;
	return 0;
}

static int rd_u32(struct cur *c, uint32_t *v, const char *what)
{
	int r = need(c, 4, what);

	if (r)
		return r;
	*v = get_le32(c->buf + c->pos);
	c->pos += 4;
	return 0;
}

static int rd_u64(struct cur *c, uint64_t *v, const char *what)
{
	int r = need(c, 8, what);

	if (r)
		return r;
	*v = get_le64(c->buf + c->pos);
	c->pos += 8;
	return 0;
}

/* A GGUF string: u64 length, then bytes. */
static int rd_str(struct cur *c, const char **s, uint64_t *n, const char *what)
{
	int r = rd_u64(c, n, what);

	if (r)
		return r;
	if (*n > MFS_GGUF_MAX_STRING)
		return mfs_err_set(c->err, -EFSCORRUPTED, "%s: string length %llu exceeds 1 GiB",
				   what, (unsigned long long)*n);
	r = need(c, *n, what);
	if (r)
		return r;
	*s = (const char *)c->buf + c->pos;
	c->pos += *n;
	return 0;
}

size_t mfs_gguf_type_size(uint32_t type)
{
	switch (type) {
	case MFS_GGUF_UINT8:
	case MFS_GGUF_INT8:
	case MFS_GGUF_BOOL:
		return 1;
	case MFS_GGUF_UINT16:
	case MFS_GGUF_INT16:
		return 2;
	case MFS_GGUF_UINT32:
	case MFS_GGUF_INT32:
	case MFS_GGUF_FLOAT32:
		return 4;
	case MFS_GGUF_UINT64:
	case MFS_GGUF_INT64:
	case MFS_GGUF_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

/* Skips one value of @type (not an array); @key for messages. */
static int skip_scalar(struct cur *c, uint32_t type, const struct mfs_gguf_kv *kv)
{
	size_t size = mfs_gguf_type_size(type);
	const char *s;
	uint64_t n;
	int r;

	if (type == MFS_GGUF_STRING)
		return rd_str(c, &s, &n, "string value");
	if (size == 0)
		return mfs_err_set(c->err, -EFSCORRUPTED, "key '%.*s' has invalid GGUF type %u",
				   (int)kv->key_len, kv->key, type);
	r = need(c, size, "value");
	if (r)
		return r;
	c->pos += size;
	return 0;
}

static int parse_kv(struct cur *c, struct mfs_gguf_kv *kv)
{
	uint64_t key_len;
	int r;

	memset(kv, 0, sizeof(*kv));
	kv->start = c->pos;
	r = rd_str(c, &kv->key, &key_len, "key");
	if (r)
		return r;
	if (key_len == 0)
		return mfs_err_set(c->err, -EFSCORRUPTED, "empty key at offset %llu",
				   (unsigned long long)kv->start);
	kv->key_len = (uint32_t)key_len;
	r = rd_u32(c, &kv->type, "value type");
	if (r)
		return r;
	if (kv->type == MFS_GGUF_ARRAY) {
		r = rd_u32(c, &kv->arr_type, "array type");
		if (!r)
			r = rd_u64(c, &kv->arr_n, "array length");
		if (r)
			return r;
		kv->value = c->pos;
		if (kv->arr_n > MFS_GGUF_MAX_ARRAY)
			return mfs_err_set(c->err, -EFSCORRUPTED,
					   "key '%.*s': array of %llu elements is too long",
					   (int)kv->key_len, kv->key,
					   (unsigned long long)kv->arr_n);
		if (kv->arr_type == MFS_GGUF_STRING) {
			/* Every string has at least its 8-byte length. */
			if (kv->arr_n * 8 > c->file_size - c->pos)
				return mfs_err_set(c->err, -EFSCORRUPTED,
						   "key '%.*s': array longer than the file",
						   (int)kv->key_len, kv->key);
			for (uint64_t i = 0; i < kv->arr_n; i++) {
				r = skip_scalar(c, MFS_GGUF_STRING, kv);
				if (r)
					return r;
			}
		} else {
			size_t size = mfs_gguf_type_size(kv->arr_type);

			if (size == 0)
				return mfs_err_set(c->err, -EFSCORRUPTED,
						   "key '%.*s' has invalid GGUF array type %u",
						   (int)kv->key_len, kv->key, kv->arr_type);
			r = need(c, kv->arr_n * size, "array");
			if (r)
				return r;
			c->pos += kv->arr_n * size;
		}
	} else {
		kv->value = c->pos;
		r = skip_scalar(c, kv->type, kv);
		if (r)
			return r;
	}
	kv->end = c->pos;
	return 0;
}

/* Sorting helpers for duplicate detection in O(n log n). */
struct name_ref {
	const char *s;
	uint32_t n;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	uint32_t n = x->n < y->n ? x->n : y->n;
	int r = memcmp(x->s, y->s, n);

	if (r)
		return r;
	return (x->n > y->n) - (x->n < y->n);
}

/* Returns the index of a duplicated name, or -1. */
static long find_duplicate(struct name_ref *refs, uint64_t n)
{
	qsort(refs, n, sizeof(*refs), name_cmp);
	for (uint64_t i = 1; i < n; i++)
		if (name_cmp(&refs[i - 1], &refs[i]) == 0)
			return (long)i;
	return -1;
}

static int grow(void **arr, uint64_t *cap, uint64_t need_n, size_t elem)
{
	uint64_t ncap = *cap ? *cap : 16;
	void *p;

	if (need_n <= *cap)
		return 0;
	while (ncap < need_n)
		ncap *= 2;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int parse_tensor(struct cur *c, struct mfs_gguf_tensor *t, uint64_t i)
{
	const struct mfs_dtype_info *dt;
	uint64_t name_len, nelem, nblocks, size;
	int r;

	memset(t, 0, sizeof(*t));
	r = rd_str(c, &t->name, &name_len, "tensor name");
	if (r)
		return r;
	if (name_len >= MFS_GGUF_MAX_NAME)
		return mfs_err_set(c->err, -EFSCORRUPTED, "tensor name %llu is too long: %llu >= %u",
				   (unsigned long long)i, (unsigned long long)name_len,
				   MFS_GGUF_MAX_NAME);
	t->name_len = (uint32_t)name_len;
	if (memchr(t->name, '\0', name_len))
		return mfs_err_set(c->err, -EFSCORRUPTED, "tensor name %llu contains a NUL byte",
				   (unsigned long long)i);
	r = rd_u32(c, &t->ndim, "tensor dims");
	if (r)
		return r;
	if (t->ndim > 4)
		return mfs_err_set(c->err, -EFSCORRUPTED,
				   "tensor '%.*s' has invalid number of dimensions: %u > 4",
				   (int)t->name_len, t->name, t->ndim);
	for (unsigned int d = 0; d < 4; d++) {
		t->ne[d] = 1;
		if (d < t->ndim) {
			r = rd_u64(c, &t->ne[d], "tensor shape");
			if (r)
				return r;
		}
		if (t->ne[d] > INT64_MAX)
			return mfs_err_set(c->err, -EFSCORRUPTED,
					   "tensor '%.*s' dimension %u is negative",
					   (int)t->name_len, t->name, d);
	}
	/* ggml: the element count must stay below INT64_MAX. */
	nelem = 1;
	for (unsigned int d = 0; d < 4; d++) {
		if (t->ne[d] == 0) {
			nelem = 0;
			break;
		}
	}
	if (nelem) {
		for (unsigned int d = 0; d < 4; d++) {
			if (d > 0 && INT64_MAX / t->ne[d] <= nelem)
				return mfs_err_set(c->err, -EFSCORRUPTED,
						   "tensor '%.*s': element count overflows",
						   (int)t->name_len, t->name);
			nelem *= t->ne[d];
		}
	}
	r = rd_u32(c, &t->type, "tensor type");
	if (r)
		return r;
	dt = mfs_dtype_from_ggml(t->type);
	if (!dt)
		return mfs_err_set(c->err, -EFSCORRUPTED, "tensor '%.*s' has invalid ggml type %u",
				   (int)t->name_len, t->name, t->type);
	if (t->ne[0] % dt->block_elems != 0)
		return mfs_err_set(c->err, -EFSCORRUPTED,
				   "tensor '%.*s' of type %s has %llu elements per row, not a "
				   "multiple of block size %u",
				   (int)t->name_len, t->name, dt->name,
				   (unsigned long long)t->ne[0], dt->block_elems);
	nblocks = nelem / dt->block_elems;
	if (nblocks > SIZE_MAX / dt->block_bytes)
		return mfs_err_set(c->err, -EFSCORRUPTED, "tensor '%.*s': byte size overflows",
				   (int)t->name_len, t->name);
	size = nblocks * dt->block_bytes;
	t->size = size;
	return rd_u64(c, &t->offset, "tensor offset");
}

static int check_alignment(struct mfs_gguf *g, struct cur *c)
{
	const struct mfs_gguf_kv *kv = mfs_gguf_find(g, "general.alignment");
	uint32_t a;

	g->alignment = MFS_GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	if (kv->type != MFS_GGUF_UINT32)
		return mfs_err_set(c->err, -EFSCORRUPTED,
				   "key 'general.alignment' must be of type u32");
	a = get_le32(c->buf + kv->value);
	if (a == 0 || (a & (a - 1)) != 0)
		return mfs_err_set(c->err, -EFSCORRUPTED, "alignment %u is not a power of 2", a);
	g->alignment = a;
	return 0;
}

/* Magic, version and the two counts, each count bounded by the bytes left. */
static int parse_preamble(struct mfs_gguf *g, struct cur *c)
{
	int r = need(c, 4, "magic");

	if (r)
		return r;
	if (memcmp(c->buf, MFS_GGUF_MAGIC, 4) != 0)
		return mfs_err_set(c->err, -EFSCORRUPTED, "not a GGUF file (bad magic)");
	c->pos = 4;
	r = rd_u32(c, &g->version, "version");
	if (r)
		return r;
	if (g->version == 0 || (g->version & 0xffffu) == 0)
		return mfs_err_set(c->err, -EFSCORRUPTED, "bad GGUF version %u (wrong byte order?)",
				   g->version);
	if (g->version == 1)
		return mfs_err_set(c->err, -EFSCORRUPTED, "GGUF v1 is no longer supported by ggml");
	if (g->version > 3)
		return mfs_err_set(c->err, -EOPNOTSUPP,
				   "GGUF version %u is newer than supported (3)", g->version);
	r = rd_u64(c, &g->n_tensors, "tensor count");
	if (!r)
		r = rd_u64(c, &g->n_kv, "key-value count");
	if (r)
		return r;
	/* Each pair takes >= 13 bytes and each tensor info >= 24: cheap sanity bounds. */
	if (g->n_kv > (c->file_size - c->pos) / 13 || g->n_tensors > (c->file_size - c->pos) / 24)
		return mfs_err_set(c->err, -EFSCORRUPTED,
				   "%llu key-values and %llu tensors cannot fit in the file",
				   (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors);
	return 0;
}

/* The @n names in @refs (malloc'd, or NULL: -ENOMEM; freed here) are unique. */
static int check_unique(struct name_ref *refs, uint64_t n, const char *what, struct mfs_err *err)
{
	long dup;
	int r = 0;

	if (!refs)
		return -ENOMEM;
	dup = find_duplicate(refs, n);
	if (dup >= 0)
		r = mfs_err_set(err, -EFSCORRUPTED, "duplicate %s '%.*s'", what, (int)refs[dup].n,
				refs[dup].s);
	free(refs);
	return r;
}

/* The key-values, each key once; then the alignment they may set. */
static int parse_kvs(struct mfs_gguf *g, struct cur *c)
{
	uint64_t cap = 0;
	struct name_ref *refs;
	int r;

	for (uint64_t i = 0; i < g->n_kv; i++) {
		r = grow((void **)&g->kvs, &cap, i + 1, sizeof(*g->kvs));
		if (!r)
			r = parse_kv(c, &g->kvs[i]);
		if (r)
			return r;
	}
	g->kv_end = c->pos;
	if (g->n_kv > 1) {
		refs = malloc(g->n_kv * sizeof(*refs));
		for (uint64_t i = 0; refs && i < g->n_kv; i++)
			refs[i] = (struct name_ref){g->kvs[i].key, g->kvs[i].key_len};
		r = check_unique(refs, g->n_kv, "key", c->err);
		if (r)
			return r;
	}
	return check_alignment(g, c);
}

/* The tensor infos, each name once. */
static int parse_tensors(struct mfs_gguf *g, struct cur *c)
{
	uint64_t cap = 0;
	struct name_ref *refs;
	int r;

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		r = grow((void **)&g->tensors, &cap, i + 1, sizeof(*g->tensors));
		if (!r)
			r = parse_tensor(c, &g->tensors[i], i);
		if (r)
			return r;
	}
	if (g->n_tensors <= 1)
		return 0;
	refs = malloc(g->n_tensors * sizeof(*refs));
	for (uint64_t i = 0; refs && i < g->n_tensors; i++)
		refs[i] = (struct name_ref){g->tensors[i].name, g->tensors[i].name_len};
	return check_unique(refs, g->n_tensors, "tensor name", c->err);
}

/*
 * The data section starts at the next multiple of the alignment, and each
 * tensor sits exactly where the previous one, padded, ended (as ggml checks);
 * offsets become absolute.
 */
static int place_tensors(struct mfs_gguf *g, struct cur *c)
{
	uint64_t expect = 0, pad;

	g->data_offset = c->pos;
	if (g->n_tensors > 0) {
		pad = (g->alignment - c->pos % g->alignment) % g->alignment;
		if (pad > c->file_size - c->pos)
			return mfs_err_set(c->err, -EFSCORRUPTED,
					   "data section starts past end of file");
		g->data_offset = c->pos + pad;
	}
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct mfs_gguf_tensor *t = &g->tensors[i];
		uint64_t padded;

		if (t->offset != expect)
			return mfs_err_set(c->err, -EFSCORRUPTED,
					   "tensor '%.*s' has offset %llu, expected %llu",
					   (int)t->name_len, t->name, (unsigned long long)t->offset,
					   (unsigned long long)expect);
		padded = t->size + (g->alignment - t->size % g->alignment) % g->alignment;
		if (padded < t->size || padded > UINT64_MAX - expect)
			return mfs_err_set(c->err, -EFSCORRUPTED, "tensor '%.*s': size overflow",
					   (int)t->name_len, t->name);
		expect += padded;
		/* Absolute position, and the loader's check that data is in the file. */
		if (t->offset > c->file_size - g->data_offset ||
		    t->size > c->file_size - g->data_offset - t->offset)
			return mfs_err_set(c->err, -EFSCORRUPTED,
					   "tensor '%.*s' data is not within the file bounds",
					   (int)t->name_len, t->name);
		t->offset += g->data_offset;
	}
	return 0;
}

int mfs_gguf_parse(struct mfs_gguf *g, const void *buf, size_t len, uint64_t file_size,
		   struct mfs_err *err)
{
	struct cur c = {.buf = buf, .len = len, .pos = 0, .file_size = file_size, .err = err};
	int r;

	memset(g, 0, sizeof(*g));
	if (c.len > c.file_size)
		c.file_size = c.len;
	r = parse_preamble(g, &c);
	if (!r)
		r = parse_kvs(g, &c);
	if (!r)
		r = parse_tensors(g, &c);
	if (!r)
		r = place_tensors(g, &c);
	if (r)
		mfs_gguf_release(g);
	return r;
}

void mfs_gguf_release(struct mfs_gguf *g)
{
	free(g->kvs);
	free(g->tensors);
	g->kvs = NULL;
	g->tensors = NULL;
}

const struct mfs_gguf_kv *mfs_gguf_find(const struct mfs_gguf *g, const char *key)
{
	size_t n = strlen(key);

	for (uint64_t i = 0; i < g->n_kv; i++)
		if (g->kvs[i].key_len == n && memcmp(g->kvs[i].key, key, n) == 0)
			return &g->kvs[i];
	return NULL;
}
