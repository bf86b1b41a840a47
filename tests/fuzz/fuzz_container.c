/* SPDX-License-Identifier: MIT */
/*
 * fuzz_container.c - a whole container: open (header, footer, sections,
 * tensor table, strings, plan, chunk index) and read every chunk.
 *
 * Random bytes almost never pass the metadata checksums, so before opening,
 * the target recomputes them over whatever the mutated input holds (header
 * checksum; each footer section's checksum when the section lies inside the
 * input; the footer checksum). The fuzzer then reaches the structural checks
 * behind them. Chunk payloads keep their checksums: a chunk that decodes must
 * match its xxh3, which the reader checks before handing bytes out; the
 * target checks that reading a chunk either fails or yields bytes with that
 * checksum, so a reader that returns unverified bytes would crash here.
 */
#include <string.h>
#include <xxhash.h>

#include "archive.h"
#include "fuzz.h"
#include "le.h"
#include "plan.h"

struct mem {
	const uint8_t *p;
	size_t len;
};

static ssize_t mem_pread(void *priv, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = priv;

	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	memcpy(buf, m->p + off, len);
	return (ssize_t)len;
}

static void fix_checksums(uint8_t *d, size_t size)
{
	uint8_t *f;

	if (size < MFS_HEADER_SIZE + MFS_FOOTER_SIZE)
		return;
	put_le64(d + offsetof(struct mfs_disk_header, checksum),
		 XXH3_64bits(d, offsetof(struct mfs_disk_header, checksum)));
	f = d + size - MFS_FOOTER_SIZE;
	for (int s = 0; s < MFS_SEC_NR; s++) {
		uint8_t *sec = f + offsetof(struct mfs_disk_footer, sections) + s * MFS_SECTION_SIZE;
		uint64_t off = get_le64(sec), len = get_le64(sec + 8);
		if (off <= size && len <= size - off)
			put_le64(sec + offsetof(struct mfs_disk_section, checksum),
				 XXH3_64bits(d + off, len));
	}
	put_le64(f + offsetof(struct mfs_disk_footer, checksum),
		 XXH3_64bits(f, offsetof(struct mfs_disk_footer, checksum)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *d = malloc(size ? size : 1);
	struct mem m = {d, size};
	struct mfs_src src = {.pread = mem_pread, .priv = &m, .size = size};
	struct mfs_archive *ar;
	struct mfs_dctx *dctx;
	struct mfs_plan_order o;
	struct mfs_err err;
	uint8_t *buf;

	FUZZ_CHECK(d);
	memcpy(d, data, size);
	fix_checksums(d, size);
	if (mfs_archive_open(&ar, &src, &err)) {
		free(d);
		return 0;
	}
	dctx = mfs_dctx_new();
	buf = malloc(mfs_archive_info(ar)->max_chunk + 1);
	FUZZ_CHECK(dctx && buf);
	for (uint32_t i = 0; i < mfs_archive_nchunks(ar); i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);
		FUZZ_CHECK(c->llen <= mfs_archive_info(ar)->max_chunk);
		FUZZ_CHECK(mfs_archive_find(ar, c->loff) == i);
		if (!mfs_archive_read_chunk(ar, i, buf, c->llen, dctx, &err))
			FUZZ_CHECK(XXH3_64bits(buf, c->llen) == c->checksum);
	}
	FUZZ_CHECK(mfs_archive_find(ar, mfs_archive_info(ar)->header.original_size) == -1);
	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		const struct mfs_tensor *t = mfs_archive_tensor(ar, i);
		FUZZ_CHECK(strlen(t->name) == t->name_len);
	}
	if (!mfs_plan_order_build(&o, mfs_archive_plan_runs(ar), mfs_archive_nplan(ar),
				  mfs_archive_nchunks(ar))) {
		/* Walking the order ends or cycles; it never leaves the chunk range. */
		uint32_t p = 0;
		for (uint32_t k = 0; o.n && k < 2 * o.n && p != MFS_PLAN_NONE; k++) {
			FUZZ_CHECK(p < o.n && o.chunk[p] < mfs_archive_nchunks(ar));
			p = mfs_plan_order_next(&o, p);
		}
		mfs_plan_order_release(&o);
	}
	free(buf);
	mfs_dctx_free(dctx);
	mfs_archive_close(ar);
	free(d);
	return 0;
}
