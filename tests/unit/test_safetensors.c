/* SPDX-License-Identifier: MIT */
/*
 * test_safetensors.c - the safetensors header parser against a table of
 * headers: valid ones (metadata, unknown fields, any key order, escapes,
 * folded dims) and one per rule of the reference implementation.
 */
#include <criterion/criterion.h>

#include "dtype.h"
#include "helpers.h"
#include "safetensors.h"

/* A file: 8-byte length, @json, then @data_len zero bytes. */
static void make(struct bb *b, const char *json, uint64_t data_len)
{
	memset(b, 0, sizeof(*b));
	bb_u64(b, strlen(json));
	bb_put(b, json, strlen(json));
	bb_zero(b, data_len);
}

static int parse(const char *json, uint64_t data_len, struct mfs_st *st, struct mfs_err *err)
{
	struct bb b;
	int r;

	make(&b, json, data_len);
	r = mfs_st_parse(st, b.p, b.len, b.len, err);
	bb_free(&b);
	return r;
}

Test(safetensors, valid_headers)
{
	struct mfs_st st;
	struct mfs_err err = {{0}};
	const char *j = "{\"__metadata__\":{\"format\":\"pt\"},"
			"\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[24,36]},"
			"\"a\":{\"shape\":[3],\"data_offsets\":[0,24],\"dtype\":\"F64\",\"x\":[1,{}]}}"
			"   ";

	cr_assert_eq(parse(j, 36, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.n_tensors, 2);
	cr_assert_str_eq(st.tensors[0].name, "a", "sorted by offset");
	cr_assert_eq(st.tensors[0].dtype, MFS_DT_F64);
	cr_assert_eq(st.tensors[0].offset, 8 + strlen(j));
	cr_assert_eq(st.tensors[1].size, 12);
	cr_assert_eq(st.tensors[1].ne[0], 3, "innermost first");
	cr_assert_eq(st.tensors[1].ne[1], 2);
	cr_assert_eq(st.tensors[1].ndim, 2);
	mfs_st_release(&st);

	cr_assert_eq(parse("{}", 0, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.n_tensors, 0);
	mfs_st_release(&st);

	cr_assert_eq(parse("{\"__metadata__\":null}", 0, &st, &err), 0, "%s", err.msg);
	mfs_st_release(&st);

	/* escapes in names are decoded; scalars have no dims; 6 dims fold into 4 */
	cr_assert_eq(parse("{\"caf\\u00e9\\n\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]},"
			   "\"t\":{\"dtype\":\"I8\",\"shape\":[2,2,2,2,2,3],\"data_offsets\":[1,97]}}",
			   97, &st, &err),
		     0, "%s", err.msg);
	cr_assert_str_eq(st.tensors[0].name, "caf\xc3\xa9\n");
	cr_assert_eq(st.tensors[0].ndim, 0);
	cr_assert_eq(st.tensors[1].ndim, 6);
	cr_assert_eq(st.tensors[1].ne[0], 3);
	cr_assert_eq(st.tensors[1].ne[3], 8, "outer dims 2*2*2 folded");
	mfs_st_release(&st);

	/* zero-element tensors take no bytes */
	cr_assert_eq(parse("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
			   "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
			   4, &st, &err),
		     0, "%s", err.msg);
	mfs_st_release(&st);
}

static const struct {
	const char *what;
	const char *json;
	uint64_t data;
	const char *msg;
} bad[] = {
	{"not json", "hello", 0, "JSON"},
	{"not an object", "[1,2]", 0, "expected '{'"},
	{"trailing garbage", "{} x", 0, "trailing"},
	{"unterminated", "{\"a\":{\"dtype\":\"F32\"", 0, "JSON"},
	{"missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing dtype"},
	{"missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing shape"},
	{"missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing data_offsets"},
	{"unknown dtype", "{\"a\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	 "unknown dtype"},
	{"negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
	 "non-negative"},
	{"float dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
	 "non-negative"},
	{"leading zero", "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4,
	 "non-negative"},
	{"dim overflow",
	 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
	 "overflow"},
	{"huge number",
	 "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
	 "64 bits"},
	{"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
	 "do not hold"},
	{"reversed offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
	 "do not hold"},
	{"three offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1,
	 "expected ']'"},
	{"gap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "gap"},
	{"overlap",
	 "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	 "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
	 3, "gap or overlap"},
	{"data too short", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 3,
	 "data bytes"},
	{"data too long", "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5,
	 "data bytes"},
	{"duplicate name",
	 "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
	 "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
	 2, "duplicate tensor"},
	{"duplicate field",
	 "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	 "duplicate field"},
	{"metadata not strings", "{\"__metadata__\":{\"k\":1}}", 0, "strings"},
	{"two metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate"},
	{"lone surrogate",
	 "{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "surrogate"},
	{"control char", "{\"a\tb\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	 "control"},
	{"bad escape", "{\"a\\x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	 "escape"},
	{"NUL in name", "{\"a\\u0000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
	 1, "NUL"},
	{"deep nesting",
	 "{\"a\":{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
	 "\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
	 1, "deep"},
	{"tensor not object", "{\"a\":[1]}", 0, "expected '{'"},
};

Test(safetensors, rejects_what_the_reference_rejects)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mfs_st st;
		struct mfs_err err = {{0}};
		int r = parse(bad[i].json, bad[i].data, &st, &err);

		cr_expect_eq(r, -EFSCORRUPTED, "%s: got %d", bad[i].what, r);
		cr_expect(strstr(err.msg, bad[i].msg) != NULL, "%s: message '%s' lacks '%s'",
			  bad[i].what, err.msg, bad[i].msg);
		if (r == 0)
			mfs_st_release(&st);
	}
}

Test(safetensors, header_length_rules)
{
	struct mfs_st st;
	struct mfs_err err = {{0}};
	struct bb b = {0};

	bb_u64(&b, 100000001);
	bb_put(&b, "{}", 2);
	cr_assert_eq(mfs_st_parse(&st, b.p, b.len, b.len, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "100 MB"));
	bb_free(&b);

	bb_u64(&b, 50);
	bb_put(&b, "{}", 2);
	cr_assert_eq(mfs_st_parse(&st, b.p, b.len, b.len, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "exceeds the file"));
	cr_assert_eq(mfs_st_parse(&st, b.p, b.len, 1000, &err), -ENOBUFS,
		     "a prefix of a longer file asks for more");
	bb_free(&b);

	bb_u64(&b, 4);
	bb_put(&b, "{\"\xff\"}", 4);
	cr_assert_eq(mfs_st_parse(&st, b.p, b.len, b.len, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "UTF-8"));
	bb_free(&b);

	cr_assert_eq(mfs_st_parse(&st, "1234", 4, 4, &err), -EFSCORRUPTED);
	cr_assert_eq(mfs_st_parse(&st, "1234", 4, 400, &err), -ENOBUFS);
}

Test(safetensors, every_truncation_is_an_error)
{
	const char *j = "{\"w\":{\"dtype\":\"F16\",\"shape\":[4,4],\"data_offsets\":[0,32]}}";
	struct bb b;

	make(&b, j, 32);
	for (size_t n = 0; n < b.len; n++) {
		struct mfs_st st;
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, b.p, n);
		cr_assert_eq(mfs_st_parse(&st, copy, n, n, NULL), -EFSCORRUPTED, "length %zu", n);
		free(copy);
	}
	bb_free(&b);
}

Test(safetensors, sniff)
{
	struct bb b;

	make(&b, "{}", 0);
	cr_assert(mfs_st_sniff(b.p, b.len, b.len));
	cr_assert_not(mfs_st_sniff("GGUF\3\0\0\0\0", 9, 9));
	cr_assert_not(mfs_st_sniff(b.p, 8, 8));
	bb_free(&b);
}
