/* SPDX-License-Identifier: MIT */
/*
 * archive.c - container reader (see archive.h).
 *
 * Open reads the last MFS_FOOTER_SIZE bytes, then each section in one read,
 * and decodes the records into native arrays. Each allocation is bounded by
 * the container's real size (a section cannot be longer than the file) and by
 * MFS_SECTION_MAX.
 */
#include "archive.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "xxh.h"

/* No metadata section may exceed this (about 22 million chunks). */
#define MFS_SECTION_MAX (1ull << 30)

struct mfs_archive {
	struct mfs_src src;
	struct mfs_src data; /* where chunk bytes are read from; src unless set */
	int fd; /* owned, or -1 */
	struct mfs_archive_info info;
	struct mfs_chunk *chunks;
	struct mfs_tensor *tensors;
	struct mfs_plan_entry *plan;
	char *strings;
	uint8_t *digests; /* MFS_DIGEST_SIZE per chunk, or NULL (before format 1.2) */
};

static int read_section_at(struct mfs_archive *ar, const struct mfs_section_info *si,
			   const char *name, uint8_t **out, struct mfs_err *err)
{
	uint8_t *buf;
	int r;

	*out = NULL;
	if (si->length > MFS_SECTION_MAX)
		return mfs_err_set(err, -EFSCORRUPTED, "%s too large", name);
	buf = malloc(si->length ? si->length : 1);
	if (!buf)
		return -ENOMEM;
	r = mfs_src_read(&ar->src, buf, si->length, si->offset, err);
	if (r) {
		free(buf);
		return mfs_err_prefix(err, r, "%s", name);
	}
	if (XXH3_64bits(buf, si->length) != si->checksum) {
		free(buf);
		return mfs_err_set(err, -EFSCORRUPTED, "%s checksum mismatch", name);
	}
	*out = buf;
	return 0;
}

static int read_section(struct mfs_archive *ar, enum mfs_section s, uint8_t **out,
			struct mfs_err *err)
{
	return read_section_at(ar, &ar->info.footer.sections[s], mfs_disk_section_names[s], out,
			       err);
}

/*
 * Format 1.2: every chunk's SHA-256, located by the trailer right before the
 * footer; within [data_end, trailer), one record per chunk, overlapping no
 * other section.
 */
static int load_digests(struct mfs_archive *ar, struct mfs_err *err)
{
	const struct mfs_footer_info *f = &ar->info.footer;
	uint8_t trailer[MFS_DIGESTS_TRAILER_SIZE];
	struct mfs_section_info si;
	uint64_t end;
	int r;

	if (!(f->compat & MFS_COMPAT_DIGESTS))
		return 0;
	if (ar->info.file_size - MFS_FOOTER_SIZE - f->data_end < MFS_DIGESTS_TRAILER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "no room for the digests trailer");
	end = ar->info.file_size - MFS_FOOTER_SIZE - MFS_DIGESTS_TRAILER_SIZE;
	r = mfs_src_read(&ar->src, trailer, sizeof(trailer), end, err);
	if (!r)
		r = mfs_disk_digests_decode(&si, trailer, err);
	if (r)
		return r;
	if (si.count != mfs_archive_nchunks(ar))
		return mfs_err_set(err, -EFSCORRUPTED, "chunk digests: %u records for %u chunks",
				   si.count, mfs_archive_nchunks(ar));
	if (si.offset < f->data_end || si.offset > end || si.length > end - si.offset)
		return mfs_err_set(err, -EFSCORRUPTED, "chunk digests lie outside the index area");
	for (unsigned int k = 0; k < MFS_SEC_NR; k++) {
		const struct mfs_section_info *b = &f->sections[k];

		if (si.length && b->length && si.offset < b->offset + b->length &&
		    b->offset < si.offset + si.length)
			return mfs_err_set(err, -EFSCORRUPTED, "chunk digests overlap %s",
					   mfs_disk_section_names[k]);
		if (b->length && b->offset + b->length > end)
			return mfs_err_set(err, -EFSCORRUPTED, "%s overlaps the digests trailer",
					   mfs_disk_section_names[k]);
	}
	return read_section_at(ar, &si, "chunk digests", &ar->digests, err);
}

/* Sections lie in [data_end, file_size - footer) and do not overlap. */
static int check_sections(struct mfs_archive *ar, struct mfs_err *err)
{
	const struct mfs_footer_info *f = &ar->info.footer;
	uint64_t meta_end = ar->info.file_size - MFS_FOOTER_SIZE;

	for (unsigned int i = 0; i < MFS_SEC_NR; i++) {
		const struct mfs_section_info *a = &f->sections[i];

		if (a->offset < f->data_end || a->offset > meta_end ||
		    a->length > meta_end - a->offset)
			return mfs_err_set(err, -EFSCORRUPTED, "%s lies outside the index area",
					   mfs_disk_section_names[i]);
		for (unsigned int k = 0; k < i; k++) {
			const struct mfs_section_info *b = &f->sections[k];

			if (a->length && b->length && a->offset < b->offset + b->length &&
			    b->offset < a->offset + a->length)
				return mfs_err_set(err, -EFSCORRUPTED, "%s overlaps %s",
						   mfs_disk_section_names[i],
						   mfs_disk_section_names[k]);
		}
	}
	return 0;
}

static int load_tensors(struct mfs_archive *ar, struct mfs_err *err)
{
	const struct mfs_section_info *ts = &ar->info.footer.sections[MFS_SEC_TENSORS];
	const struct mfs_section_info *ss = &ar->info.footer.sections[MFS_SEC_STRINGS];
	uint64_t orig = ar->info.header.original_size;
	uint8_t *buf = NULL;
	int r;

	r = read_section(ar, MFS_SEC_STRINGS, (uint8_t **)&ar->strings, err);
	if (r)
		return r;
	r = read_section(ar, MFS_SEC_TENSORS, &buf, err);
	if (r)
		return r;
	ar->tensors = calloc(ts->count ? ts->count : 1, sizeof(*ar->tensors));
	if (!ar->tensors) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < ts->count; i++) {
		struct mfs_tensor *t = &ar->tensors[i];
		uint32_t name_off;

		r = mfs_disk_tensor_decode(t, &name_off, buf + (uint64_t)i * MFS_TENSOR_REC_SIZE,
					   err);
		if (r) {
			r = mfs_err_prefix(err, r, "tensor %u", i);
			goto out;
		}
		if ((uint64_t)name_off + t->name_len >= ss->length ||
		    ar->strings[name_off + t->name_len] != '\0' ||
		    memchr(ar->strings + name_off, '\0', t->name_len)) {
			r = mfs_err_set(err, -EFSCORRUPTED, "tensor %u: bad name reference", i);
			goto out;
		}
		t->name = ar->strings + name_off;
		if (t->offset > orig || t->size > orig - t->offset) {
			r = mfs_err_set(err, -EFSCORRUPTED, "tensor %u (%s): data beyond end of file",
					i, t->name);
			goto out;
		}
	}
out:
	free(buf);
	return r;
}

static int load_plan(struct mfs_archive *ar, struct mfs_err *err)
{
	const struct mfs_section_info *ps = &ar->info.footer.sections[MFS_SEC_PLAN];
	uint32_t nchunks = ar->info.footer.sections[MFS_SEC_CHUNKS].count;
	uint64_t positions = 0;
	uint8_t *buf = NULL;
	int r;

	r = read_section(ar, MFS_SEC_PLAN, &buf, err);
	if (r)
		return r;
	ar->plan = calloc(ps->count ? ps->count : 1, sizeof(*ar->plan));
	if (!ar->plan) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < ps->count; i++) {
		struct mfs_plan_entry *p = &ar->plan[i];

		r = mfs_disk_plan_decode(p, buf + (uint64_t)i * MFS_PLAN_REC_SIZE, err);
		if (!r && (p->first >= nchunks || p->count > nchunks - p->first))
			r = mfs_err_set(err, -EFSCORRUPTED, "names chunks beyond the index");
		/* Readers expand the plan: its length must follow from the file's real size. */
		positions += p->count;
		if (!r && positions > nchunks)
			r = mfs_err_set(err, -EFSCORRUPTED,
					"the plan names more positions than there are chunks");
		if (r) {
			r = mfs_err_prefix(err, r, "plan entry %u", i);
			goto out;
		}
	}
out:
	free(buf);
	return r;
}

static int load_chunks(struct mfs_archive *ar, struct mfs_err *err)
{
	const struct mfs_section_info *cs = &ar->info.footer.sections[MFS_SEC_CHUNKS];
	const struct mfs_footer_info *f = &ar->info.footer;
	uint32_t ntensors = f->sections[MFS_SEC_TENSORS].count;
	uint64_t loff = 0, poff = f->data_offset, stored = 0;
	uint8_t *buf = NULL;
	uint32_t i;
	int r;

	r = read_section(ar, MFS_SEC_CHUNKS, &buf, err);
	if (r)
		return r;
	ar->chunks = calloc(cs->count ? cs->count : 1, sizeof(*ar->chunks));
	if (!ar->chunks) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cs->count; i++) {
		struct mfs_chunk *c = &ar->chunks[i];

		r = mfs_disk_chunk_decode(c, buf + (uint64_t)i * MFS_CHUNK_REC_SIZE, err);
		if (r)
			goto bad;
		if (c->loff != loff) {
			r = mfs_err_set(err, -EFSCORRUPTED,
					"starts at %llu, expected %llu (gap or overlap)",
					(unsigned long long)c->loff, (unsigned long long)loff);
			goto bad;
		}
		if (c->llen > ar->info.header.original_size - loff) {
			r = mfs_err_set(err, -EFSCORRUPTED, "extends beyond the original size");
			goto bad;
		}
		if (c->poff < poff || c->poff > f->data_end || c->plen > f->data_end - c->poff) {
			r = mfs_err_set(err, -EFSCORRUPTED,
					"stored bytes outside the data area or out of order");
			goto bad;
		}
		if (c->tensor != MFS_TENSOR_NONE && c->tensor >= ntensors) {
			r = mfs_err_set(err, -EFSCORRUPTED, "names tensor %u of %u", c->tensor,
					ntensors);
			goto bad;
		}
		loff += c->llen;
		poff = c->poff + c->plen;
		stored += c->plen;
		if (c->llen > ar->info.max_chunk)
			ar->info.max_chunk = c->llen;
	}
	if (loff != ar->info.header.original_size) {
		r = mfs_err_set(err, -EFSCORRUPTED, "chunk index covers %llu of %llu bytes",
				(unsigned long long)loff,
				(unsigned long long)ar->info.header.original_size);
		goto out;
	}
	ar->info.stored_bytes = stored;
	goto out;
bad:
	r = mfs_err_prefix(err, r, "chunk %u", i);
out:
	free(buf);
	return r;
}

/*
 * Header and footer. A major version this reader does not know means a newer
 * format - unless the other end is an intact record of our version (its
 * checksum matches), which a newer writer would not have written: then one
 * damaged version field would otherwise pass corruption off as "unsupported".
 */
static int decode_ends(struct mfs_archive_info *in, const uint8_t *head, const uint8_t *foot,
		       struct mfs_err *err)
{
	struct mfs_err other;
	int rh = mfs_disk_header_decode(&in->header, head, err);
	int rf;

	if (rh && rh != -EOPNOTSUPP)
		return rh;
	rf = mfs_disk_footer_decode(&in->footer, foot, rh ? &other : err);
	if (rh && !rf)
		return mfs_err_set(err, -EFSCORRUPTED,
				   "header: damaged version field %u.%u (the intact footer says "
				   "%u.%u)",
				   in->header.version_major, in->header.version_minor,
				   in->footer.version_major, in->footer.version_minor);
	if (rh)
		return rh;
	if (rf == -EOPNOTSUPP && in->footer.version_major != MFS_FORMAT_MAJOR)
		return mfs_err_set(err, -EFSCORRUPTED,
				   "footer: damaged version field %u.%u (the intact header says "
				   "%u.%u)",
				   in->footer.version_major, in->footer.version_minor,
				   in->header.version_major, in->header.version_minor);
	return rf;
}

int mfs_archive_read_header(const struct mfs_src *src, struct mfs_header_info *h,
			    struct mfs_err *err)
{
	uint8_t head[MFS_HEADER_SIZE];
	int r;

	if (src->size < MFS_HEADER_SIZE + MFS_FOOTER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "too small to be a container");
	r = mfs_src_read(src, head, sizeof(head), 0, err);
	return r ? r : mfs_disk_header_decode(h, head, err);
}

int mfs_archive_open(struct mfs_archive **out, const struct mfs_src *src, struct mfs_err *err)
{
	uint8_t head[MFS_HEADER_SIZE], foot[MFS_FOOTER_SIZE];
	struct mfs_archive *ar;
	struct mfs_archive_info *in;
	int r;

	*out = NULL;
	ar = calloc(1, sizeof(*ar));
	if (!ar)
		return -ENOMEM;
	ar->src = *src;
	ar->data = *src;
	ar->fd = -1;
	in = &ar->info;
	in->file_size = src->size;

	if (src->size < MFS_HEADER_SIZE + MFS_FOOTER_SIZE) {
		r = mfs_err_set(err, -EFSCORRUPTED, "too small to be a container (%llu bytes)",
				(unsigned long long)src->size);
		goto fail;
	}
	r = mfs_src_read(src, head, sizeof(head), 0, err);
	if (!r)
		r = mfs_src_read(src, foot, sizeof(foot), src->size - MFS_FOOTER_SIZE, err);
	if (!r)
		r = decode_ends(in, head, foot, err);
	if (r)
		goto fail;
	if (in->footer.version_major != in->header.version_major ||
	    in->footer.version_minor != in->header.version_minor) {
		r = mfs_err_set(err, -EFSCORRUPTED, "header and footer versions differ");
		goto fail;
	}
	if (in->footer.original_size != in->header.original_size) {
		r = mfs_err_set(err, -EFSCORRUPTED, "header and footer disagree on the size");
		goto fail;
	}
	if (in->footer.data_offset != MFS_HEADER_SIZE ||
	    in->footer.data_end < in->footer.data_offset ||
	    in->footer.data_end > src->size - MFS_FOOTER_SIZE) {
		r = mfs_err_set(err, -EFSCORRUPTED, "bad data area [%llu, %llu)",
				(unsigned long long)in->footer.data_offset,
				(unsigned long long)in->footer.data_end);
		goto fail;
	}
	r = check_sections(ar, err);
	if (!r)
		r = load_tensors(ar, err);
	if (!r)
		r = load_chunks(ar, err);
	if (!r)
		r = load_plan(ar, err);
	if (!r)
		r = load_digests(ar, err);
	if (r)
		goto fail;
	*out = ar;
	return 0;
fail:
	mfs_archive_close(ar);
	return r;
}

int mfs_archive_open_path(struct mfs_archive **out, const char *path, struct mfs_err *err)
{
	struct mfs_src src;
	int fd, r;

	*out = NULL;
	fd = mfs_open_regular(AT_FDCWD, path, 0, err);
	if (fd < 0)
		return fd;
	r = mfs_src_init_fd(&src, fd, err);
	if (!r)
		r = mfs_archive_open(out, &src, err);
	if (r) {
		close(fd);
		return r;
	}
	(*out)->fd = fd;
	return 0;
}

void mfs_archive_close(struct mfs_archive *ar)
{
	if (!ar)
		return;
	if (ar->fd >= 0)
		close(ar->fd);
	free(ar->chunks);
	free(ar->tensors);
	free(ar->plan);
	free(ar->strings);
	free(ar->digests);
	free(ar);
}

const struct mfs_archive_info *mfs_archive_info(const struct mfs_archive *ar)
{
	return &ar->info;
}

uint32_t mfs_archive_nchunks(const struct mfs_archive *ar)
{
	return ar->info.footer.sections[MFS_SEC_CHUNKS].count;
}

const struct mfs_chunk *mfs_archive_chunk(const struct mfs_archive *ar, uint32_t i)
{
	return &ar->chunks[i];
}

const uint8_t *mfs_archive_digest(const struct mfs_archive *ar, uint32_t i)
{
	return ar->digests ? ar->digests + (size_t)i * MFS_DIGEST_SIZE : NULL;
}

int mfs_archive_check_digest(const struct mfs_archive *ar, uint32_t i, const void *stored,
			     struct mfs_err *err)
{
	const uint8_t *want = mfs_archive_digest(ar, i);
	uint8_t got[SHA256_DIGEST_LENGTH];

	if (!want)
		return 0;
	SHA256(stored, ar->chunks[i].plen, got);
	if (memcmp(got, want, MFS_DIGEST_SIZE))
		return mfs_err_set(err, -EFSCORRUPTED, "chunk %u: its stored bytes do not have its "
				   "SHA-256", i);
	return 0;
}

uint32_t mfs_archive_ntensors(const struct mfs_archive *ar)
{
	return ar->info.footer.sections[MFS_SEC_TENSORS].count;
}

const struct mfs_tensor *mfs_archive_tensor(const struct mfs_archive *ar, uint32_t i)
{
	return &ar->tensors[i];
}

uint32_t mfs_archive_nplan(const struct mfs_archive *ar)
{
	return ar->info.footer.sections[MFS_SEC_PLAN].count;
}

const struct mfs_plan_entry *mfs_archive_plan(const struct mfs_archive *ar, uint32_t i)
{
	return &ar->plan[i];
}

const struct mfs_tensor *mfs_archive_tensors(const struct mfs_archive *ar)
{
	return ar->tensors;
}

const struct mfs_plan_entry *mfs_archive_plan_runs(const struct mfs_archive *ar)
{
	return ar->plan;
}

void mfs_archive_hash_hex(const struct mfs_archive *ar, char out[MFS_HASH_HEX_SIZE])
{
	snprintf(out, MFS_HASH_HEX_SIZE, "%016" PRIx64 "%016" PRIx64, ar->info.footer.hash_hi,
		 ar->info.footer.hash_lo);
}

void mfs_archive_set_data_source(struct mfs_archive *ar, const struct mfs_src *src)
{
	ar->data = *src;
}

int64_t mfs_archive_find(const struct mfs_archive *ar, uint64_t off)
{
	uint32_t lo = 0, hi = mfs_archive_nchunks(ar);

	if (off >= ar->info.header.original_size)
		return -1;
	/* Invariant: the chunk holding @off is in [lo, hi). */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ar->chunks[mid].loff <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The decoded chunk @i at @dst is what was packed. */
static int check_sum(const struct mfs_chunk *c, uint32_t i, const void *dst, struct mfs_err *err)
{
	if (XXH3_64bits(dst, c->llen) != c->checksum)
		return mfs_err_set(err, -EFSCORRUPTED, "chunk %u: checksum mismatch", i);
	return 0;
}

int mfs_archive_read_stored(const struct mfs_archive *ar, uint32_t i, const uint8_t **out,
			    struct mfs_dctx *dctx, struct mfs_err *err)
{
	const struct mfs_chunk *c;
	size_t skip;
	uint8_t *in;
	int r;

	*out = NULL;
	if (i >= mfs_archive_nchunks(ar))
		return mfs_err_set(err, -EINVAL, "chunk %u does not exist", i);
	c = &ar->chunks[i];
	in = mfs_dctx_scratch(dctx, MFS_SCRATCH_IO, mfs_src_envelope(&ar->data, c->poff, c->plen));
	if (!in)
		return -ENOMEM;
	r = mfs_src_read_envelope(&ar->data, in, c->plen, c->poff, &skip, err);
	if (r)
		return mfs_err_prefix(err, r, "chunk %u", i);
	*out = in + skip;
	return 0;
}

/* Chunk @i, if it exists and fits in @dst_cap bytes. */
static int chunk_for_dst(const struct mfs_archive *ar, uint32_t i, size_t dst_cap,
			 const struct mfs_chunk **c, struct mfs_err *err)
{
	if (i >= mfs_archive_nchunks(ar))
		return mfs_err_set(err, -EINVAL, "chunk %u does not exist", i);
	*c = &ar->chunks[i];
	if (dst_cap < (*c)->llen)
		return mfs_err_set(err, -EINVAL, "chunk %u: buffer too small", i);
	return 0;
}

int mfs_archive_decode_stored(const struct mfs_archive *ar, uint32_t i, const void *stored,
			      void *dst, size_t dst_cap, struct mfs_dctx *dctx, struct mfs_err *err)
{
	const struct mfs_chunk *c;
	int r;

	r = chunk_for_dst(ar, i, dst_cap, &c, err);
	if (r)
		return r;
	r = mfs_block_decode(dctx, c->codec, c->xform, c->xparam, dst, c->llen, stored, c->plen,
			     err);
	if (r)
		return mfs_err_prefix(err, r, "chunk %u", i);
	return check_sum(c, i, dst, err);
}

int mfs_archive_read_chunk(const struct mfs_archive *ar, uint32_t i, void *dst, size_t dst_cap,
			   struct mfs_dctx *dctx, struct mfs_err *err)
{
	const struct mfs_chunk *c;
	const uint8_t *in;
	int r;

	r = chunk_for_dst(ar, i, dst_cap, &c, err);
	if (r)
		return r;

	if (c->codec == MFS_CODEC_STORE && c->xform == MFS_XFORM_NONE && !ar->data.align) {
		/* Stored chunks go straight into the caller's buffer. */
		r = mfs_src_read(&ar->data, dst, c->llen, c->poff, err);
		if (r)
			return mfs_err_prefix(err, r, "chunk %u", i);
		return check_sum(c, i, dst, err);
	}
	r = mfs_archive_read_stored(ar, i, &in, dctx, err);
	if (r)
		return r;
	return mfs_archive_decode_stored(ar, i, in, dst, dst_cap, dctx, err);
}
