/* SPDX-License-Identifier: MIT */
/*
 * test_layout.c - the chunk layout: exact coverage, no chunk across two
 * tensors, cuts on row boundaries near the target, small chunks for
 * embeddings, metadata in its own chunks - on hand-made models and on many
 * random ones.
 */
#include <criterion/criterion.h>

#include "dtype.h"
#include "helpers.h"
#include "layout.h"
#include "names.h"

static void check_invariants(const struct mfs_model *m, const struct mfs_layout_chunk *c,
			     uint32_t n, uint32_t target)
{
	uint64_t pos = 0;

	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(c[i].offset, pos, "chunk %u starts at %llu, expected %llu", i,
			     (unsigned long long)c[i].offset, (unsigned long long)pos);
		cr_assert_gt(c[i].length, 0);
		cr_assert_leq(c[i].length, MFS_CHUNK_MAX);
		pos += c[i].length;
		if (c[i].flags & MFS_CHUNK_META) {
			cr_assert_leq(c[i].offset + c[i].length, m->meta_end, "meta chunk %u", i);
			cr_assert_eq(c[i].tensor, MFS_TENSOR_NONE);
		}
		if (c[i].tensor != MFS_TENSOR_NONE) {
			const struct mfs_tensor *t = &m->tensors[c[i].tensor];
			uint64_t next = c[i].tensor + 1 < m->ntensors
						? m->tensors[c[i].tensor + 1].offset
						: m->file_size;
			const struct mfs_dtype_info *dt = mfs_dtype_get(t->dtype);
			uint64_t row = t->ne[0] / dt->block_elems * dt->block_bytes;
			uint64_t rel = c[i].offset - t->offset;
			uint32_t tgt = t->role == MFS_ROLE_EMBED ? target / 8 : target;

			/* never across the next tensor */
			cr_assert_geq(c[i].offset, t->offset);
			cr_assert_leq(c[i].offset + c[i].length, next, "chunk %u crosses into the "
				      "next tensor", i);
			/* cuts at row multiples (block multiples for rows over the target),
			 * or block multiples within a page (and a block) of either end */
			cr_assert_eq(rel % dt->block_bytes, 0, "chunk %u not on a block boundary", i);
			if (row <= tgt && rel <= MFS_LAYOUT_PAGE + dt->block_bytes)
				cr_assert(rel % row == 0 || c[i - 1].length <= MFS_LAYOUT_PAGE + dt->block_bytes,
					  "chunk %u: a head edge of %u bytes", i, c[i - 1].length);
			else if (row <= tgt && rel + MFS_LAYOUT_PAGE + dt->block_bytes < t->size)
				cr_assert_eq(rel % row, 0, "chunk %u not on a row boundary", i);
			/* near the target: not more than ~1.5x, unless a single row is larger */
			if (c[i].offset + c[i].length < t->offset + t->size)
				cr_assert_leq(c[i].length, tgt + tgt / 2 + (row <= tgt ? row : 292),
					      "chunk %u of %u bytes for target %u", i, c[i].length,
					      tgt);
		}
	}
	cr_assert_eq(pos, m->file_size, "chunks cover %llu of %llu",
		     (unsigned long long)pos, (unsigned long long)m->file_size);
}

static struct mfs_tensor tensor(const char *name, unsigned int dtype, uint64_t ne0,
				uint64_t ne1, uint64_t offset)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(dtype);
	struct mfs_tensor t = {.name = name, .name_len = (uint16_t)strlen(name), .dtype = dtype,
			       .ndim = 2, .ne = {ne0, ne1, 1, 1}, .offset = offset};

	t.size = ne0 * ne1 / dt->block_elems * dt->block_bytes;
	mfs_name_classify(name, t.name_len, &t.layer, &t.role);
	return t;
}

Test(layout, raw_file_fixed_chunks)
{
	struct mfs_model m = {.source = MFS_SOURCE_RAW, .file_size = 1000000};
	struct mfs_layout_chunk *c;
	uint32_t n;

	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), 0);
	cr_assert_eq(n, 16);
	check_invariants(&m, c, n, 65536);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(c[i].tensor, MFS_TENSOR_NONE);
		cr_assert_eq(c[i].flags, 0);
	}
	free(c);

	m.file_size = 0;
	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), 0);
	cr_assert_eq(n, 0);
	free(c);
}

Test(layout, model_rules)
{
	/* metadata 5000 bytes; embeddings 4096x1000 BF16 (8 KiB rows); a Q8_0 matrix; a norm */
	struct mfs_tensor t[4];
	struct mfs_model m = {.source = MFS_SOURCE_GGUF, .meta_end = 5024, .tensors = t,
			      .ntensors = 4};
	struct mfs_layout_chunk *c;
	uint32_t n, embed_chunks = 0, meta_chunks = 0;
	uint64_t off = 5024;

	t[0] = tensor("token_embd.weight", MFS_DT_BF16, 4096, 1000, off);
	off += t[0].size;
	t[1] = tensor("blk.0.attn_q.weight", MFS_DT_Q8_0, 4096, 700, off);
	off += t[1].size + 16; /* alignment padding */
	t[2] = tensor("blk.0.attn_norm.weight", MFS_DT_F32, 4096, 1, off);
	t[2].ndim = 1;
	off += t[2].size;
	t[3] = tensor("output.weight", MFS_DT_F16, 64, 3, off);
	off += t[3].size + 20;
	m.file_size = off;

	cr_assert_eq(mfs_layout_cut(&m, 262144, &c, &n, NULL), 0);
	check_invariants(&m, c, n, 262144);
	for (uint32_t i = 0; i < n; i++) {
		if (c[i].flags & MFS_CHUNK_META)
			meta_chunks++;
		if (c[i].tensor == 0) {
			embed_chunks++;
			cr_assert_leq(c[i].length, 262144 / 8 + 8192,
				      "embedding chunks are small: %u", c[i].length);
		}
		if (c[i].tensor == 1 && c[i].offset + c[i].length > t[1].offset + t[1].size)
			cr_assert_eq(c[i].offset + c[i].length, t[2].offset,
				     "small padding joins the tensor's last chunk");
	}
	cr_assert_eq(meta_chunks, 1);
	cr_assert_geq(embed_chunks, 8192000 / (262144 / 8 + 8192));
	cr_assert_eq(c[n - 1].offset + c[n - 1].length, m.file_size);
	free(c);

	cr_assert_eq(mfs_layout_cut(&m, 100, &c, &n, NULL), -EINVAL, "target below minimum");
	cr_assert_eq(mfs_layout_cut(&m, 1u << 30, &c, &n, NULL), -EINVAL);
}

Test(layout, page_shared_by_two_tensors_is_in_small_chunks)
{
	/* Two BF16 matrices of 256 KiB, the second starting mid-page (32-byte aligned). */
	struct mfs_tensor t[2];
	struct mfs_model m = {.source = MFS_SOURCE_GGUF, .meta_end = 4000, .tensors = t,
			      .ntensors = 2};
	struct mfs_layout_chunk *c;
	uint32_t n;
	uint64_t page;

	t[0] = tensor("blk.0.attn_q.weight", MFS_DT_BF16, 512, 256, 4000);
	t[1] = tensor("blk.0.attn_k.weight", MFS_DT_BF16, 512, 256, 4000 + t[0].size);
	m.file_size = t[1].offset + t[1].size + 10;
	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), 0);
	check_invariants(&m, c, n, 65536);
	/* Every chunk touching a page that holds bytes of both tensors is at most a page and a bit. */
	page = t[1].offset / MFS_LAYOUT_PAGE * MFS_LAYOUT_PAGE;
	for (uint32_t i = 0; i < n; i++)
		if (c[i].offset < page + MFS_LAYOUT_PAGE && c[i].offset + c[i].length > page)
			cr_assert_leq(c[i].length, MFS_LAYOUT_PAGE + 2, "chunk %u of %u bytes", i,
				      c[i].length);
	/* So is the first page of the first tensor (it shares it with the metadata). */
	for (uint32_t i = 0; i < n; i++)
		if (c[i].tensor == 0 && c[i].offset < MFS_LAYOUT_PAGE)
			cr_assert_leq(c[i].length, MFS_LAYOUT_PAGE);
	/* The file's end is a tensor's end too: its last page is a small chunk. */
	cr_assert_leq(c[n - 1].length, MFS_LAYOUT_PAGE + 2 + 10);
	free(c);
}

Test(layout, rows_larger_than_target_split_at_blocks)
{
	/* one row of 1M F32 elements = 4 MiB, target 64 KiB */
	struct mfs_tensor t = tensor("blk.0.ffn_norm.weight", MFS_DT_F32, 1 << 20, 1, 64);
	struct mfs_model m = {.source = MFS_SOURCE_GGUF, .meta_end = 64, .tensors = &t,
			      .ntensors = 1, .file_size = 64 + (4u << 20)};
	struct mfs_layout_chunk *c;
	uint32_t n;

	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), 0);
	check_invariants(&m, c, n, 65536);
	cr_assert_geq(n, 60);
	free(c);
}

Test(layout, random_models)
{
	static const unsigned int types[] = {MFS_DT_F32, MFS_DT_F16, MFS_DT_BF16, MFS_DT_Q8_0,
					     MFS_DT_Q4_0, MFS_DT_Q4_K, MFS_DT_Q6_K};
	uint8_t rnd[4096];
	size_t k;
#define R8() (rnd[k++ % sizeof(rnd)])

	for (int iter = 0; iter < 300; iter++) {
		struct mfs_tensor t[20];
		struct mfs_model m = {.source = MFS_SOURCE_GGUF, .tensors = t};
		struct mfs_layout_chunk *c;
		uint32_t n, target = MFS_CHUNK_TARGET_MIN << (iter % 7);
		uint64_t off;

		fill_random(rnd, sizeof(rnd), (uint64_t)iter + 1);
		k = 0;
		m.meta_end = 1 + R8() * 97u;
		off = m.meta_end;
		m.ntensors = 1 + R8() % 20;
		for (uint32_t i = 0; i < m.ntensors; i++) {
			unsigned int dt = types[R8() % 7];
			uint64_t blk = mfs_dtype_get(dt)->block_elems;
			uint64_t ne0 = blk * (1 + R8() % 64);
			uint64_t ne1 = 0, pad;

			if (R8() % 2)
				ne0 *= 16;
			if (R8() % 3)
				ne1 = 1 + (uint64_t)R8() * 3;
			t[i] = tensor(i == 0 && iter % 2 ? "token_embd.weight" : "blk.1.attn_q.weight",
				      dt, ne0, ne1, off);
			pad = R8() % 3;
			off += t[i].size + pad * (R8() % 40) * 100;
		}
		m.file_size = off + R8() % 50;
		cr_assert_eq(mfs_layout_cut(&m, target, &c, &n, NULL), 0);
		check_invariants(&m, c, n, target);
		free(c);
	}
#undef R8
}

Test(layout, rejects_overlapping_tensors)
{
	struct mfs_tensor t[2];
	struct mfs_model m = {.source = MFS_SOURCE_GGUF, .meta_end = 32, .tensors = t,
			      .ntensors = 2, .file_size = 10000};
	struct mfs_layout_chunk *c;
	uint32_t n;

	t[0] = tensor("a", MFS_DT_F32, 32, 10, 32);
	t[1] = tensor("b", MFS_DT_F32, 32, 10, 100);
	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), -EINVAL);
	t[1].offset = 32 + t[0].size;
	t[1].size = 100000;
	cr_assert_eq(mfs_layout_cut(&m, 65536, &c, &n, NULL), -EINVAL);
}
