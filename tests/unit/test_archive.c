/* SPDX-License-Identifier: MIT */
/*
 * test_archive.c - the container reader and writer together: round trips,
 * lookups at every boundary, every single-bit flip anywhere in a container
 * (never wrong bytes served), every truncation, forged indexes that keep
 * valid checksums but break an invariant, and failing reads.
 */
#include <criterion/criterion.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <xxhash.h>

#include "archive.h"
#include "block.h"
#include "disk.h"
#include "dtype.h"
#include "helpers.h"
#include "writer.h"

#define ORIG_SIZE 300000

struct built {
	uint8_t orig[ORIG_SIZE];
	struct bb file;
	uint32_t nchunks;
};

/* Original bytes: a compressible half and a random half. */
static void make_original(uint8_t *p)
{
	fill_random(p, ORIG_SIZE, 42);
	for (size_t i = 0; i < ORIG_SIZE / 2; i++)
		p[i] = (uint8_t)(i / 100);
}

/* Packs @b->orig with the real writer: chunk sizes vary, codecs rotate. */
static void build(struct built *b)
{
	static const uint32_t sizes[] = {1000, 65536, 7, 40000, 100000};
	struct mfs_header_info h = {.original_size = ORIG_SIZE, .mode = 0644,
				    .source = MFS_SOURCE_GGUF};
	struct mfs_tensor tensors[2] = {
		{.name = "token_embd.weight", .name_len = 17, .dtype = MFS_DT_BF16, .ndim = 2,
		 .ne = {100, 500, 1, 1}, .offset = 1000, .size = 100000, .layer = MFS_LAYER_NONE},
		{.name = "blk.0.attn_q.weight", .name_len = 19, .dtype = MFS_DT_F32, .ndim = 1,
		 .ne = {100, 1, 1, 1}, .offset = 101000, .size = 400},
	};
	struct mfs_plan_entry plan = {.first = 1, .count = 2};
	struct mfs_cctx *cc = mfs_cctx_new();
	struct mfs_writer *w;
	uint8_t enc[200000];
	uint64_t off = 0;
	XXH128_hash_t hh;
	int fd = memfd_create("container", 0);
	struct stat st;

	make_original(b->orig);
	cr_assert_geq(fd, 0);
	cr_assert_eq(mfs_writer_new(&w, fd, NULL, &h, NULL), 0);
	b->nchunks = 0;
	for (unsigned int i = 0; off < ORIG_SIZE; i++) {
		uint32_t len = sizes[i % 5];
		struct mfs_chunk c = {0};
		ssize_t n;

		if (len > ORIG_SIZE - off)
			len = (uint32_t)(ORIG_SIZE - off);
		c.loff = off;
		c.llen = len;
		c.codec = (uint8_t)(i % MFS_CODEC_NR);
		c.checksum = XXH3_64bits(b->orig + off, len);
		c.tensor = i == 1 ? 0 : MFS_TENSOR_NONE;
		c.flags = i == 0 ? MFS_CHUNK_META : 0;
		n = mfs_block_encode(cc, c.codec, 0, 0, 0, enc, sizeof(enc), b->orig + off, len,
				     NULL);
		cr_assert_gt(n, 0);
		cr_assert_eq(mfs_writer_add(w, &c, enc, (size_t)n, NULL), 0);
		off += len;
		b->nchunks++;
	}
	hh = XXH3_128bits(b->orig, ORIG_SIZE);
	cr_assert_eq(mfs_writer_finish(w, tensors, 2, &plan, 1, hh.low64, hh.high64, 65536, NULL),
		     0);
	mfs_writer_free(w);
	mfs_cctx_free(cc);
	fstat(fd, &st);
	memset(&b->file, 0, sizeof(b->file));
	bb_zero(&b->file, (size_t)st.st_size);
	cr_assert_eq(pread(fd, b->file.p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
}

/* Reads every chunk; returns how many failed; asserts none returned wrong bytes. */
static unsigned int read_all(const struct mfs_archive *ar, const uint8_t *orig)
{
	static uint8_t buf[MFS_CHUNK_MAX < 200000 ? MFS_CHUNK_MAX : 200000];
	struct mfs_dctx *d = mfs_dctx_new();
	unsigned int failed = 0;

	for (uint32_t i = 0; i < mfs_archive_nchunks(ar); i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
		int r = mfs_archive_read_chunk(ar, i, buf, sizeof(buf), d, NULL);

		if (r) {
			cr_assert(r == -EFSCORRUPTED || r == -EIO, "chunk %u: %d", i, r);
			failed++;
			continue;
		}
		cr_assert_eq(memcmp(buf, orig + c->loff, c->llen), 0,
			     "chunk %u returned wrong bytes", i);
	}
	mfs_dctx_free(d);
	return failed;
}

Test(archive, roundtrip_and_lookup)
{
	static struct built b;
	struct mfs_archive *ar;
	struct memsrc ms;
	struct mfs_src src;
	struct mfs_err err = {{0}};
	const struct mfs_archive_info *in;

	build(&b);
	src = memsrc_make(&ms, b.file.p, b.file.len);
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), 0, "%s", err.msg);
	in = mfs_archive_info(ar);
	cr_assert_eq(in->header.original_size, ORIG_SIZE);
	cr_assert_eq(in->header.mode, 0644);
	cr_assert_eq(mfs_archive_nchunks(ar), b.nchunks);
	cr_assert_eq(mfs_archive_ntensors(ar), 2);
	cr_assert_str_eq(mfs_archive_tensor(ar, 1)->name, "blk.0.attn_q.weight");
	cr_assert_eq(mfs_archive_tensor(ar, 0)->ne[1], 500);
	cr_assert_eq(mfs_archive_nplan(ar), 1);
	cr_assert_eq(mfs_archive_plan(ar, 0)->count, 2);
	cr_assert_eq(in->max_chunk, 100000);
	cr_assert_eq(read_all(ar, b.orig), 0);

	for (uint32_t i = 0; i < b.nchunks; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

		cr_assert_eq(mfs_archive_find(ar, c->loff), i);
		cr_assert_eq(mfs_archive_find(ar, c->loff + c->llen - 1), i);
		if (c->llen > 2)
			cr_assert_eq(mfs_archive_find(ar, c->loff + c->llen / 2), i);
	}
	cr_assert_eq(mfs_archive_find(ar, ORIG_SIZE), -1);
	cr_assert_eq(mfs_archive_find(ar, UINT64_MAX), -1);
	cr_assert_eq(mfs_archive_read_chunk(ar, b.nchunks, NULL, 0, NULL, NULL), -EINVAL);
	mfs_archive_close(ar);
	mfs_archive_close(NULL);
}

Test(archive, every_bit_flip_is_caught_or_harmless)
{
	static struct built b;
	unsigned int open_failed = 0, read_failed = 0, harmless = 0;

	build(&b);
	for (size_t pos = 0; pos < b.file.len; pos += (pos < 70000 || pos > b.file.len - 2000) ? 1 : 97) {
		struct mfs_archive *ar;
		struct memsrc ms;
		struct mfs_src src;
		uint8_t save = b.file.p[pos];

		b.file.p[pos] ^= (uint8_t)(1u << (pos % 8));
		src = memsrc_make(&ms, b.file.p, b.file.len);
		if (mfs_archive_open(&ar, &src, NULL) != 0) {
			open_failed++;
		} else {
			if (read_all(ar, b.orig) > 0)
				read_failed++;
			else
				harmless++;
			mfs_archive_close(ar);
		}
		b.file.p[pos] = save;
	}
	cr_log_info("flips: %u caught at open, %u at read, %u harmless", open_failed, read_failed,
		    harmless);
	cr_assert_gt(open_failed, 0);
	cr_assert_gt(read_failed, 0);
	/* A flip may be harmless only inside compressed framing that does not change output. */
	cr_assert_lt(harmless, (open_failed + read_failed) / 50 + 1);
}

Test(archive, every_truncation_fails_to_open)
{
	static struct built b;

	build(&b);
	for (size_t n = 0; n < b.file.len; n += n < 300 ? 1 : 997) {
		struct mfs_archive *ar;
		struct memsrc ms;
		struct mfs_src src = memsrc_make(&ms, b.file.p, n);
		int r = mfs_archive_open(&ar, &src, NULL);

		cr_assert_eq(r, -EFSCORRUPTED, "truncated to %zu: %d", n, r);
	}
}

Test(archive, read_errors_are_reported)
{
	static struct built b;
	struct mfs_archive *ar;
	struct memsrc ms;
	struct mfs_src src;
	struct mfs_err err = {{0}};
	uint8_t buf[200000];
	struct mfs_dctx *d = mfs_dctx_new();

	build(&b);
	src = memsrc_make(&ms, b.file.p, b.file.len);
	ms.fail_at = (int64_t)b.file.len - 10;
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), -EIO);
	cr_assert(strstr(err.msg, "read error"), "%s", err.msg);

	ms.fail_at = -1;
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), 0);
	ms.fail_at = (int64_t)mfs_archive_chunk(ar, 2)->poff;
	cr_assert_eq(mfs_archive_read_chunk(ar, 2, buf, sizeof(buf), d, &err), -EIO);
	cr_assert(strstr(err.msg, "chunk 2"), "%s", err.msg);
	cr_assert_eq(mfs_archive_read_chunk(ar, 1, buf, sizeof(buf), d, &err), 0,
		     "other chunks still read");
	cr_assert_eq(mfs_archive_read_chunk(ar, 1, buf, 10, d, &err), -EINVAL, "small buffer");
	mfs_archive_close(ar);
	mfs_dctx_free(d);
}

/*
 * Forge a container from native records, with correct checksums everywhere,
 * so that only the invariant under test is broken.
 */
struct forge {
	struct mfs_chunk chunks[4];
	uint32_t nchunks;
	struct mfs_tensor tensors[2];
	uint32_t ntensors;
	uint32_t name_off[2];
	const char *strings;
	uint32_t strings_len;
	struct mfs_plan_entry plan[1];
	uint32_t nplan;
	uint64_t original_size;
	uint64_t data_len;
	int swap_sections; /* put two sections on top of each other */
	int64_t data_end_delta;
};

static void forge_valid(struct forge *f)
{
	memset(f, 0, sizeof(*f));
	f->data_len = 300;
	f->original_size = 300;
	f->nchunks = 3;
	for (uint32_t i = 0; i < 3; i++)
		f->chunks[i] = (struct mfs_chunk){.loff = 100 * i, .poff = 64 + 100 * i, .llen = 100,
						  .plen = 100, .codec = MFS_CODEC_STORE,
						  .tensor = MFS_TENSOR_NONE};
	f->chunks[1].tensor = 0;
	f->ntensors = 1;
	f->tensors[0] = (struct mfs_tensor){.name_len = 3, .dtype = MFS_DT_F32, .ndim = 1,
					    .ne = {25, 1, 1, 1}, .offset = 100, .size = 100};
	f->strings = "abc";
	f->strings_len = 4;
	f->nplan = 1;
	f->plan[0] = (struct mfs_plan_entry){.first = 0, .count = 3};
}

static void forge_build(const struct forge *f, struct bb *out)
{
	struct mfs_header_info h = {.version_major = 1, .original_size = f->original_size,
				    .mode = 0600};
	struct mfs_footer_info ft = {.original_size = f->original_size, .version_major = 1,
				     .data_offset = 64};
	uint8_t head[MFS_HEADER_SIZE], foot[MFS_FOOTER_SIZE], rec[64];
	struct bb sec[MFS_SEC_NR] = {{0}};

	memset(out, 0, sizeof(*out));
	mfs_disk_header_encode(head, &h);
	bb_put(out, head, sizeof(head));
	bb_zero(out, f->data_len);
	ft.data_end = (uint64_t)((int64_t)out->len + f->data_end_delta);
	for (uint32_t i = 0; i < f->ntensors; i++) {
		mfs_disk_tensor_encode(rec, &f->tensors[i], f->name_off[i]);
		bb_put(&sec[MFS_SEC_TENSORS], rec, MFS_TENSOR_REC_SIZE);
	}
	bb_put(&sec[MFS_SEC_STRINGS], f->strings, f->strings_len);
	for (uint32_t i = 0; i < f->nplan; i++) {
		mfs_disk_plan_encode(rec, &f->plan[i]);
		bb_put(&sec[MFS_SEC_PLAN], rec, MFS_PLAN_REC_SIZE);
	}
	for (uint32_t i = 0; i < f->nchunks; i++) {
		mfs_disk_chunk_encode(rec, &f->chunks[i]);
		bb_put(&sec[MFS_SEC_CHUNKS], rec, MFS_CHUNK_REC_SIZE);
	}
	for (unsigned int s = 0; s < MFS_SEC_NR; s++) {
		ft.sections[s].offset = out->len;
		ft.sections[s].length = sec[s].len;
		ft.sections[s].checksum = XXH3_64bits(sec[s].p, sec[s].len);
		ft.sections[s].entry_size = mfs_disk_entry_size(s);
		ft.sections[s].count = (uint32_t)(sec[s].len / mfs_disk_entry_size(s));
		bb_put(out, sec[s].p, sec[s].len);
		bb_free(&sec[s]);
	}
	if (f->swap_sections)
		ft.sections[MFS_SEC_PLAN].offset = ft.sections[MFS_SEC_STRINGS].offset;
	mfs_disk_footer_encode(foot, &ft);
	bb_put(out, foot, sizeof(foot));
}

static int forge_open(const struct forge *f, struct mfs_err *err)
{
	struct mfs_archive *ar;
	struct memsrc ms;
	struct mfs_src src;
	struct bb file;
	int r;

	forge_build(f, &file);
	src = memsrc_make(&ms, file.p, file.len);
	r = mfs_archive_open(&ar, &src, err);
	mfs_archive_close(ar);
	bb_free(&file);
	return r;
}

#define M(name, body)                                                                              \
	static void name(struct forge *f)                                                          \
	{                                                                                          \
		body;                                                                              \
	}
M(f_valid, (void)f)
M(f_gap, f->chunks[1].loff = 101)
M(f_overlap, f->chunks[1].loff = 99)
M(f_short, f->original_size = 301)
M(f_order, (f->chunks[1].poff = 64, f->chunks[0].poff = 164))
M(f_past_data, f->chunks[2].poff = 300)
M(f_data_end, f->data_end_delta = 1000000)
M(f_data_end_sections, f->data_end_delta = 8)
M(f_tensor_range, f->chunks[1].tensor = 1)
M(f_name_past, f->name_off[0] = 2)
M(f_name_unterminated, f->strings = "abcd")
M(f_tensor_past, f->tensors[0].offset = 250)
M(f_plan_past, f->plan[0].count = 4)
M(f_sections, f->swap_sections = 1)
#undef M

Test(archive, forged_indexes_are_rejected)
{
	static const struct {
		const char *what;
		void (*mutate)(struct forge *f);
		const char *msg;
	} cases[] = {
		{"valid", f_valid, NULL},
		{"gap", f_gap, "gap or overlap"},
		{"overlap", f_overlap, "gap or overlap"},
		{"short coverage", f_short, "covers"},
		{"stored bytes out of order", f_order, "out of order"},
		{"stored bytes past data end", f_past_data, "outside"},
		{"data end past file", f_data_end, "data area"},
		{"data end into sections", f_data_end_sections, "outside the index area"},
		{"tensor out of range", f_tensor_range, "names tensor"},
		{"name past strings", f_name_past, "bad name reference"},
		{"name not terminated", f_name_unterminated, "bad name reference"},
		{"tensor past end", f_tensor_past, "beyond end"},
		{"plan past chunks", f_plan_past, "beyond the index"},
		{"sections overlap", f_sections, "overlaps"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct forge f;
		struct mfs_err err = {{0}};
		int r;

		forge_valid(&f);
		cases[i].mutate(&f);
		r = forge_open(&f, &err);
		if (!cases[i].msg) {
			cr_assert_eq(r, 0, "%s: %s", cases[i].what, err.msg);
			continue;
		}
		cr_expect_eq(r, -EFSCORRUPTED, "%s: opened (%d)", cases[i].what, r);
		cr_expect(strstr(err.msg, cases[i].msg) != NULL, "%s: message '%s' lacks '%s'",
			  cases[i].what, err.msg, cases[i].msg);
	}
}

Test(archive, empty_original)
{
	struct forge f;
	struct mfs_err err = {{0}};

	forge_valid(&f);
	f.nchunks = 0;
	f.ntensors = 0;
	f.nplan = 0;
	f.original_size = 0;
	f.data_len = 0;
	f.strings_len = 0;
	cr_assert_eq(forge_open(&f, &err), 0, "%s", err.msg);
}

/*
 * Format 1.2: the writer puts every chunk's SHA-256 in the digests section;
 * a digest that does not match its stored bytes is reported; a reader that
 * ignores the flag (or a container without it) reads the chunks all the same;
 * a damaged trailer fails the open.
 */
Test(archive, chunk_digests)
{
	static struct built b;
	struct mfs_archive *ar;
	struct memsrc ms;
	struct mfs_src src;
	struct mfs_err err = {{0}};
	size_t foot, trailer, doff;
	uint8_t sha[32];

	build(&b);
	foot = b.file.len - MFS_FOOTER_SIZE;
	trailer = foot - MFS_DIGESTS_TRAILER_SIZE;
	src = memsrc_make(&ms, b.file.p, b.file.len);
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), 0, "%s", err.msg);
	cr_assert(mfs_archive_info(ar)->footer.compat & MFS_COMPAT_DIGESTS);
	for (uint32_t i = 0; i < b.nchunks; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

		cr_assert(mfs_archive_digest(ar, i));
		SHA256(b.file.p + c->poff, c->plen, sha);
		cr_assert_eq(memcmp(sha, mfs_archive_digest(ar, i), 32), 0, "chunk %u", i);
		cr_assert_eq(mfs_archive_check_digest(ar, i, b.file.p + c->poff, NULL), 0);
	}
	mfs_archive_close(ar);

	/* A digest changed, its section's and the trailer's checksums redone. */
	doff = get_le64(b.file.p + trailer);
	b.file.p[doff + 2 * 32 + 5] ^= 1;
	put_le64(b.file.p + trailer + 16, XXH3_64bits(b.file.p + doff, (size_t)b.nchunks * 32));
	put_le64(b.file.p + trailer + 32, XXH3_64bits(b.file.p + trailer, 32));
	src = memsrc_make(&ms, b.file.p, b.file.len);
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), 0, "%s", err.msg);
	for (uint32_t i = 0; i < b.nchunks; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
		int r = mfs_archive_check_digest(ar, i, b.file.p + c->poff, &err);

		cr_assert_eq(r, i == 2 ? -EFSCORRUPTED : 0, "chunk %u: %d", i, r);
		if (r)
			cr_assert(strstr(err.msg, "SHA-256"), "%s", err.msg);
	}
	mfs_archive_close(ar);

	/* The trailer itself damaged: refused at open. */
	b.file.p[trailer + 3] ^= 0x10;
	src = memsrc_make(&ms, b.file.p, b.file.len);
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "digests"), "%s", err.msg);

	/* Without the flag (a reader of 1.1 sees the same): no digests, every chunk reads. */
	{
		uint32_t compat = get_le32(b.file.p + foot + 40) & ~MFS_COMPAT_DIGESTS;

		put_le32(b.file.p + foot + 40, compat);
		put_le64(b.file.p + foot + 192, XXH3_64bits(b.file.p + foot, 192));
	}
	src = memsrc_make(&ms, b.file.p, b.file.len);
	cr_assert_eq(mfs_archive_open(&ar, &src, &err), 0, "%s", err.msg);
	cr_assert_null(mfs_archive_digest(ar, 0));
	cr_assert_eq(read_all(ar, b.orig), 0);
	mfs_archive_close(ar);
}
