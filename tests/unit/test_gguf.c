/* SPDX-License-Identifier: MIT */
/*
 * test_gguf.c - the GGUF header parser against a table of files built byte by
 * byte: one valid file and one case per rule gguf.cpp enforces, plus every
 * truncation (an error, never a crash) and every prefix of a complete file
 * (-ENOBUFS until the header is whole).
 */
#include <criterion/criterion.h>

#include "dtype.h"
#include "gguf.h"
#include "helpers.h"

/* Knobs for one generated file; the defaults make a valid two-tensor file. */
struct g {
	const char *magic;
	uint32_t version;
	int64_t n_tensors_override; /* -1: the real count */
	int64_t n_kv_override;
	const char *key0, *key1; /* "general.architecture", then a second key */
	uint32_t key1_type;	 /* of the second key; u32 by default */
	int alignment_kv;	 /* add general.alignment */
	uint32_t alignment_type;
	uint32_t alignment;
	const char *name0, *name1;
	uint32_t ndim0;
	uint64_t ne0[5];
	uint32_t type0, type1;
	uint64_t off1_delta; /* added to tensor 1's offset */
	int truncate_data;   /* drop the last bytes of tensor data */
	int extra_kv;	     /* 1: nested array, 2: array too long, 3: huge string, 4: bad type */
};

static struct g valid(void)
{
	return (struct g){.magic = "GGUF", .version = 3, .n_tensors_override = -1,
			  .n_kv_override = -1, .key0 = "general.architecture",
			  .key1 = "llama.block_count", .key1_type = MFS_GGUF_UINT32,
			  .alignment_type = MFS_GGUF_UINT32, .alignment = 32, .name0 = "a",
			  .name1 = "b", .ndim0 = 2, .ne0 = {4, 2}, .type0 = MFS_DT_F32,
			  .type1 = MFS_DT_Q8_0};
}

static void build(struct bb *b, const struct g *g)
{
	/* Layout with a sane alignment even when the file declares a broken one. */
	uint32_t align = g->alignment_kv && g->alignment && !(g->alignment & (g->alignment - 1)) ? g->alignment : 32;
	uint64_t n_kv = 2 + (g->alignment_kv ? 1 : 0) + (g->extra_kv ? 1 : 0);
	uint64_t size0 = 4 * 2 * 4, size1 = 34, off1;

	if (g->type0 == MFS_DT_F32 && g->ndim0 == 2)
		size0 = g->ne0[0] * g->ne0[1] * 4;
	off1 = (size0 + align - 1) / align * align + g->off1_delta;
	memset(b, 0, sizeof(*b));
	bb_put(b, g->magic, 4);
	bb_u32(b, g->version);
	bb_u64(b, g->n_tensors_override >= 0 ? (uint64_t)g->n_tensors_override : 2);
	bb_u64(b, g->n_kv_override >= 0 ? (uint64_t)g->n_kv_override : n_kv);
	bb_str(b, g->key0);
	bb_u32(b, MFS_GGUF_STRING);
	bb_str(b, "llama");
	bb_str(b, g->key1);
	bb_u32(b, g->key1_type);
	bb_u32(b, 12);
	if (g->alignment_kv) {
		bb_str(b, "general.alignment");
		bb_u32(b, g->alignment_type);
		if (g->alignment_type == MFS_GGUF_UINT64)
			bb_u64(b, g->alignment);
		else
			bb_u32(b, g->alignment);
	}
	switch (g->extra_kv) {
	case 1:
		bb_str(b, "nested");
		bb_u32(b, MFS_GGUF_ARRAY);
		bb_u32(b, MFS_GGUF_ARRAY);
		bb_u64(b, 1);
		break;
	case 2:
		bb_str(b, "long");
		bb_u32(b, MFS_GGUF_ARRAY);
		bb_u32(b, MFS_GGUF_UINT8);
		bb_u64(b, (1ull << 30) + 1);
		break;
	case 3:
		bb_str(b, "huge");
		bb_u32(b, MFS_GGUF_STRING);
		bb_u64(b, (1ull << 30) + 1);
		break;
	case 4:
		bb_str(b, "badtype");
		bb_u32(b, 13);
		bb_u32(b, 0);
		break;
	}
	/* tensor infos */
	bb_str(b, g->name0);
	bb_u32(b, g->ndim0);
	for (uint32_t d = 0; d < g->ndim0; d++)
		bb_u64(b, g->ne0[d]);
	bb_u32(b, g->type0);
	bb_u64(b, 0);
	bb_str(b, g->name1);
	bb_u32(b, 1);
	bb_u64(b, 32);
	bb_u32(b, g->type1);
	bb_u64(b, off1);
	/* data */
	bb_zero(b, (align - b->len % align) % align);
	bb_zero(b, off1 + size1 - (g->truncate_data ? 1 : 0));
}

static int parse(const struct g *g, struct mfs_gguf *out, struct mfs_err *err)
{
	struct bb b;
	int r;

	build(&b, g);
	r = mfs_gguf_parse(out, b.p, b.len, b.len, err);
	if (r == 0) {
		/* Keys point into the buffer: test only scalar fields after freeing it. */
		for (uint64_t i = 0; i < out->n_kv; i++)
			out->kvs[i].key = NULL;
		for (uint64_t i = 0; i < out->n_tensors; i++)
			out->tensors[i].name = NULL;
	}
	bb_free(&b);
	return r;
}

Test(gguf, valid_file)
{
	struct g g = valid();
	struct mfs_gguf out;
	struct mfs_err err = {{0}};

	cr_assert_eq(parse(&g, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.version, 3);
	cr_assert_eq(out.n_tensors, 2);
	cr_assert_eq(out.n_kv, 2);
	cr_assert_eq(out.alignment, 32);
	cr_assert_eq(out.data_offset % 32, 0);
	cr_assert_eq(out.tensors[0].offset, out.data_offset);
	cr_assert_eq(out.tensors[0].size, 32);
	cr_assert_eq(out.tensors[1].offset, out.data_offset + 32);
	cr_assert_eq(out.tensors[1].size, 34);
	cr_assert_eq(out.tensors[0].ne[2], 1);
	mfs_gguf_release(&out);

	g.version = 2;
	cr_assert_eq(parse(&g, &out, &err), 0, "v2 is fine: %s", err.msg);
	mfs_gguf_release(&out);

	g = valid();
	g.alignment_kv = 1;
	g.alignment = 64;
	cr_assert_eq(parse(&g, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.alignment, 64);
	cr_assert_eq(out.data_offset % 64, 0);
	cr_assert_eq(out.tensors[1].offset - out.tensors[0].offset, 64);
	mfs_gguf_release(&out);
}

struct bad_case {
	const char *what;
	void (*mutate)(struct g *g);
	int code;
	const char *msg; /* substring expected in the message */
};

#define M(name, body)                                                                              \
	static void name(struct g *g)                                                              \
	{                                                                                          \
		body;                                                                              \
	}
M(m_magic, g->magic = "GGUG")
M(m_v0, g->version = 0)
M(m_v1, g->version = 1)
M(m_v4, g->version = 4)
M(m_swapped, g->version = 0x03000000)
M(m_empty_key, g->key1 = "")
M(m_dup_key, g->key1 = "general.architecture")
M(m_bad_type, g->extra_kv = 4)
M(m_nested, g->extra_kv = 1)
M(m_long_array, g->extra_kv = 2)
M(m_huge_string, g->extra_kv = 3)
M(m_key_type, g->key1_type = 99)
M(m_align_type, (g->alignment_kv = 1, g->alignment_type = MFS_GGUF_UINT64))
M(m_align_zero, (g->alignment_kv = 1, g->alignment = 0))
M(m_align_npot, (g->alignment_kv = 1, g->alignment = 48))
M(m_long_name, g->name0 = "0123456789012345678901234567890123456789012345678901234567890123")
M(m_dup_name, g->name1 = "a")
M(m_ndim5, (g->ndim0 = 5, g->ne0[2] = g->ne0[3] = g->ne0[4] = 1))
M(m_negative, g->ne0[1] = (uint64_t)-1)
M(m_overflow, (g->ne0[0] = 1ull << 32, g->ne0[1] = 1ull << 32))
M(m_removed_type, g->type1 = 4)
M(m_type_range, g->type1 = 40)
M(m_not_block, g->type1 = MFS_DT_Q4_K) /* 32 elements, block of 256 */
M(m_offset, g->off1_delta = 32)
M(m_misaligned, g->off1_delta = 4)
M(m_beyond_file, g->truncate_data = 1)
M(m_many_tensors, g->n_tensors_override = 1ll << 40)
M(m_many_kv, g->n_kv_override = 1ll << 40)
M(m_fewer_kv, g->n_kv_override = 1) /* the second key is then read as a tensor name */
#undef M

static const struct bad_case bad[] = {
	{"bad magic", m_magic, -EFSCORRUPTED, "magic"},
	{"version 0", m_v0, -EFSCORRUPTED, "version"},
	{"version 1", m_v1, -EFSCORRUPTED, "v1"},
	{"version 4", m_v4, -EOPNOTSUPP, "newer"},
	{"byte-swapped", m_swapped, -EFSCORRUPTED, "byte order"},
	{"empty key", m_empty_key, -EFSCORRUPTED, "empty key"},
	{"duplicate key", m_dup_key, -EFSCORRUPTED, "duplicate key"},
	{"unknown value type", m_bad_type, -EFSCORRUPTED, "invalid GGUF type"},
	{"nested array", m_nested, -EFSCORRUPTED, "array type"},
	{"array over 2^30", m_long_array, -EFSCORRUPTED, "too long"},
	{"string over 1 GiB", m_huge_string, -EFSCORRUPTED, "1 GiB"},
	{"value type 99", m_key_type, -EFSCORRUPTED, "invalid GGUF type"},
	{"alignment not u32", m_align_type, -EFSCORRUPTED, "u32"},
	{"alignment 0", m_align_zero, -EFSCORRUPTED, "power of 2"},
	{"alignment 48", m_align_npot, -EFSCORRUPTED, "power of 2"},
	{"name of 64 bytes", m_long_name, -EFSCORRUPTED, "too long"},
	{"duplicate tensor", m_dup_name, -EFSCORRUPTED, "duplicate tensor name"},
	{"5 dimensions", m_ndim5, -EFSCORRUPTED, "dimensions"},
	{"negative dimension", m_negative, -EFSCORRUPTED, "negative"},
	{"element overflow", m_overflow, -EFSCORRUPTED, "overflow"},
	{"removed type", m_removed_type, -EFSCORRUPTED, "invalid ggml type"},
	{"type out of range", m_type_range, -EFSCORRUPTED, "invalid ggml type"},
	{"row not whole blocks", m_not_block, -EFSCORRUPTED, "block size"},
	{"offset gap", m_offset, -EFSCORRUPTED, "expected"},
	{"misaligned offset", m_misaligned, -EFSCORRUPTED, "expected"},
	{"data beyond file", m_beyond_file, -EFSCORRUPTED, "bounds"},
	{"2^40 tensors", m_many_tensors, -EFSCORRUPTED, "cannot fit"},
	{"2^40 key-values", m_many_kv, -EFSCORRUPTED, "cannot fit"},
	{"count disagrees", m_fewer_kv, -EFSCORRUPTED, ""},
};

Test(gguf, rejects_what_ggml_rejects)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct g g = valid();
		struct mfs_gguf out;
		struct mfs_err err = {{0}};
		int r;

		bad[i].mutate(&g);
		r = parse(&g, &out, &err);
		cr_expect_eq(r, bad[i].code, "%s: got %d (%s)", bad[i].what, r, err.msg);
		cr_expect(strstr(err.msg, bad[i].msg) != NULL, "%s: message '%s' lacks '%s'",
			  bad[i].what, err.msg, bad[i].msg);
		if (r == 0)
			mfs_gguf_release(&out);
	}
}

Test(gguf, every_truncation_is_an_error)
{
	struct g g = valid();
	struct bb b;

	build(&b, &g);
	for (size_t n = 0; n < b.len; n++) {
		struct mfs_gguf out;
		uint8_t *copy = malloc(n ? n : 1);
		int r;

		memcpy(copy, b.p, n);
		r = mfs_gguf_parse(&out, copy, n, n, NULL);
		cr_assert_eq(r, -EFSCORRUPTED, "truncated to %zu bytes: %d", n, r);
		free(copy);
	}
	bb_free(&b);
}

Test(gguf, prefixes_ask_for_more)
{
	struct g g = valid();
	struct mfs_gguf out;
	uint64_t kv_end;
	bool whole = false;
	struct bb b;

	build(&b, &g);
	cr_assert_eq(mfs_gguf_parse(&out, b.p, b.len, b.len, NULL), 0);
	kv_end = out.kv_end;
	mfs_gguf_release(&out);
	/* Short prefixes ask for more; once the header fits, every longer prefix parses. */
	for (size_t n = 0; n <= b.len; n++) {
		int r = mfs_gguf_parse(&out, b.p, n, b.len, NULL);

		if (n < kv_end)
			cr_assert_eq(r, -ENOBUFS, "prefix %zu of %zu: %d", n, b.len, r);
		if (whole)
			cr_assert_eq(r, 0, "prefix %zu parsed before but not now: %d", n, r);
		else
			cr_assert(r == 0 || r == -ENOBUFS, "prefix %zu: %d", n, r);
		if (r == 0) {
			whole = true;
			mfs_gguf_release(&out);
		}
	}
	cr_assert(whole);
	bb_free(&b);
}

Test(gguf, no_tensors)
{
	struct bb b = {0};
	struct mfs_gguf out;

	bb_put(&b, "GGUF", 4);
	bb_u32(&b, 3);
	bb_u64(&b, 0);
	bb_u64(&b, 1);
	bb_str(&b, "tokenizer.ggml.tokens");
	bb_u32(&b, MFS_GGUF_ARRAY);
	bb_u32(&b, MFS_GGUF_STRING);
	bb_u64(&b, 3);
	bb_str(&b, "a");
	bb_str(&b, "");
	bb_str(&b, "ccc");
	cr_assert_eq(mfs_gguf_parse(&out, b.p, b.len, b.len, NULL), 0);
	cr_assert_eq(out.n_tensors, 0);
	cr_assert_eq(out.data_offset, b.len, "no padding without tensors, as in ggml");
	cr_assert_not_null(mfs_gguf_find(&out, "tokenizer.ggml.tokens"));
	cr_assert_eq(mfs_gguf_find(&out, "tokenizer.ggml.tokens")->arr_n, 3);
	cr_assert_eq(mfs_gguf_find(&out, "tokenizer.ggml.tokens")->end, b.len);
	cr_assert_null(mfs_gguf_find(&out, "tokenizer"));
	mfs_gguf_release(&out);
	bb_free(&b);
}
