/* SPDX-License-Identifier: MIT */
/*
 * writer.c - one-pass container writer (see writer.h).
 */
#include "writer.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planes.h"
#include "xxh.h"

struct mfs_writer {
	int fd;
	const char *name;
	uint64_t offset;
	struct mfs_header_info header;
	struct mfs_chunk *chunks;
	uint8_t *digests; /* SHA-256 of each chunk's stored bytes */
	uint32_t nchunks, cap;
	uint64_t next_loff;
	uint32_t incompat; /* MFS_INCOMPAT_* the chunks added need */
};


static int emit(struct mfs_writer *w, const void *buf, size_t len, struct mfs_err *err)
{
	int r = mfs_write_all(w->fd, buf, len);

	if (r)
		return w->name ? mfs_err_set(err, r, "cannot write %s: %s", w->name, mfs_strerror(r))
			       : mfs_err_set(err, r, "write failed: %s", mfs_strerror(r));
	w->offset += len;
	return 0;
}

int mfs_writer_new(struct mfs_writer **out, int fd, const char *name,
		   const struct mfs_header_info *h, struct mfs_err *err)
{
	uint8_t head[MFS_HEADER_SIZE];
	struct mfs_writer *w;
	int r;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->name = name;
	w->header = *h;
	w->header.version_major = MFS_FORMAT_MAJOR;
	w->header.version_minor = MFS_FORMAT_MINOR;
	mfs_disk_header_encode(head, &w->header);
	r = emit(w, head, sizeof(head), err);
	if (r) {
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

uint64_t mfs_writer_offset(const struct mfs_writer *w)
{
	return w->offset;
}

int mfs_writer_add(struct mfs_writer *w, const struct mfs_chunk *c, const void *data, size_t len,
		   struct mfs_err *err)
{
	struct mfs_chunk *slot;
	int r;

	if (c->loff != w->next_loff || c->llen == 0 || c->llen > MFS_CHUNK_MAX || len == 0 ||
	    len > UINT32_MAX)
		return mfs_err_set(err, -EINVAL, "chunk at %llu out of sequence",
				   (unsigned long long)c->loff);
	if (w->nchunks == w->cap) {
		uint32_t ncap = w->cap ? w->cap * 2 : 1024;
		void *p;

		if (ncap < w->cap)
			return -EFBIG;
		p = realloc(w->chunks, (size_t)ncap * sizeof(*w->chunks));
		if (!p)
			return -ENOMEM;
		w->chunks = p;
		p = realloc(w->digests, (size_t)ncap * MFS_DIGEST_SIZE);
		if (!p)
			return -ENOMEM;
		w->digests = p;
		w->cap = ncap;
	}
	if (c->codec == MFS_CODEC_PLANES && mfs_planes_use(data, len, MFS_PLANE_RANS32))
		w->incompat |= MFS_INCOMPAT_RANS32; /* readers before 1.1 say "unsupported" */
	slot = &w->chunks[w->nchunks];
	*slot = *c;
	slot->poff = w->offset;
	slot->plen = (uint32_t)len;
	SHA256(data, len, w->digests + (size_t)w->nchunks * MFS_DIGEST_SIZE);
	r = emit(w, data, len, err);
	if (r)
		return r;
	w->nchunks++;
	w->next_loff += c->llen;
	return 0;
}

/* Writes @len bytes as section @s and records where. */
static int put_section(struct mfs_writer *w, struct mfs_footer_info *f, enum mfs_section s,
		       const void *buf, uint64_t len, uint32_t count, struct mfs_err *err)
{
	struct mfs_section_info *si = &f->sections[s];

	si->offset = w->offset;
	si->length = len;
	si->checksum = XXH3_64bits(buf, len);
	si->entry_size = mfs_disk_entry_size(s);
	si->count = count;
	return emit(w, buf, len, err);
}

int mfs_writer_finish(struct mfs_writer *w, const struct mfs_tensor *tensors, uint32_t ntensors,
		      const struct mfs_plan_entry *plan, uint32_t nplan, uint64_t hash_lo,
		      uint64_t hash_hi, uint32_t chunk_target, struct mfs_err *err)
{
	struct mfs_footer_info f = {0};
	uint8_t foot[MFS_FOOTER_SIZE];
	uint8_t *tbuf = NULL, *pbuf = NULL, *cbuf = NULL;
	char *strings = NULL;
	uint64_t slen = 0, spos = 0;
	int r = -ENOMEM;

	if (w->next_loff != w->header.original_size)
		return mfs_err_set(err, -EINVAL, "chunks cover %llu of %llu bytes",
				   (unsigned long long)w->next_loff,
				   (unsigned long long)w->header.original_size);
	for (uint32_t i = 0; i < ntensors; i++)
		slen += tensors[i].name_len + 1u;
	if (slen > UINT32_MAX)
		return mfs_err_set(err, -EFBIG, "tensor names too long");

	tbuf = calloc(ntensors ? ntensors : 1, MFS_TENSOR_REC_SIZE);
	pbuf = calloc(nplan ? nplan : 1, MFS_PLAN_REC_SIZE);
	cbuf = calloc(w->nchunks ? w->nchunks : 1, MFS_CHUNK_REC_SIZE);
	strings = malloc(slen ? slen : 1);
	if (!tbuf || !pbuf || !cbuf || !strings)
		goto out;
	for (uint32_t i = 0; i < ntensors; i++) {
		mfs_disk_tensor_encode(tbuf + (size_t)i * MFS_TENSOR_REC_SIZE, &tensors[i],
				       (uint32_t)spos);
		memcpy(strings + spos, tensors[i].name, tensors[i].name_len);
		strings[spos + tensors[i].name_len] = '\0';
		spos += tensors[i].name_len + 1u;
	}
	for (uint32_t i = 0; i < nplan; i++)
		mfs_disk_plan_encode(pbuf + (size_t)i * MFS_PLAN_REC_SIZE, &plan[i]);
	for (uint32_t i = 0; i < w->nchunks; i++)
		mfs_disk_chunk_encode(cbuf + (size_t)i * MFS_CHUNK_REC_SIZE, &w->chunks[i]);

	f.original_size = w->header.original_size;
	f.hash_lo = hash_lo;
	f.hash_hi = hash_hi;
	f.data_offset = MFS_HEADER_SIZE;
	f.data_end = w->offset;
	f.chunk_target = chunk_target;
	f.version_major = MFS_FORMAT_MAJOR;
	f.version_minor = MFS_FORMAT_MINOR;
	f.incompat = w->incompat;
	f.compat = MFS_COMPAT_DIGESTS;
	r = put_section(w, &f, MFS_SEC_TENSORS, tbuf, (uint64_t)ntensors * MFS_TENSOR_REC_SIZE,
			ntensors, err);
	if (!r)
		r = put_section(w, &f, MFS_SEC_STRINGS, strings, slen, (uint32_t)slen, err);
	if (!r)
		r = put_section(w, &f, MFS_SEC_PLAN, pbuf, (uint64_t)nplan * MFS_PLAN_REC_SIZE,
				nplan, err);
	if (!r)
		r = put_section(w, &f, MFS_SEC_CHUNKS, cbuf,
				(uint64_t)w->nchunks * MFS_CHUNK_REC_SIZE, w->nchunks, err);
	if (!r) {
		/* Format 1.2: the chunks' digests, and the trailer that says where they are. */
		struct mfs_section_info ds = {.offset = w->offset,
					      .length = (uint64_t)w->nchunks * MFS_DIGEST_SIZE,
					      .entry_size = MFS_DIGEST_SIZE,
					      .count = w->nchunks};
		uint8_t trailer[MFS_DIGESTS_TRAILER_SIZE];

		ds.checksum = XXH3_64bits(w->digests ? w->digests : (uint8_t *)"", ds.length);
		mfs_disk_digests_encode(trailer, &ds);
		r = emit(w, w->digests ? w->digests : (uint8_t *)"", ds.length, err);
		if (!r)
			r = emit(w, trailer, sizeof(trailer), err);
	}
	if (!r) {
		mfs_disk_footer_encode(foot, &f);
		r = emit(w, foot, sizeof(foot), err);
	}
out:
	free(tbuf);
	free(pbuf);
	free(cbuf);
	free(strings);
	return r;
}

void mfs_writer_free(struct mfs_writer *w)
{
	if (!w)
		return;
	free(w->chunks);
	free(w->digests);
	free(w);
}
