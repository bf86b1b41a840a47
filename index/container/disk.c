/* SPDX-License-Identifier: MIT */
/*
 * disk.c - record encode/decode for format v1 (see disk.h, format.h).
 *
 * Every field is read with get_le*() at offsetof() of the layout struct, so
 * format.h stays the single description of where bytes are.
 */
#include "disk.h"

#include <string.h>

#include "block.h"
#include "dtype.h"
#include "le.h"
#include "xxh.h"

#define OFF(t, f) offsetof(struct t, f)

uint32_t mfs_disk_entry_size(enum mfs_section sec)
{
	switch (sec) {
	case MFS_SEC_TENSORS:
		return MFS_TENSOR_REC_SIZE;
	case MFS_SEC_STRINGS:
		return 1;
	case MFS_SEC_PLAN:
		return MFS_PLAN_REC_SIZE;
	case MFS_SEC_CHUNKS:
		return MFS_CHUNK_REC_SIZE;
	default:
		return 0;
	}
}

/* ---- header ------------------------------------------------------------ */

void mfs_disk_header_encode(uint8_t out[MFS_HEADER_SIZE], const struct mfs_header_info *h)
{
	memset(out, 0, MFS_HEADER_SIZE);
	memcpy(out, MFS_HEAD_MAGIC, MFS_MAGIC_LEN);
	put_le16(out + OFF(mfs_disk_header, version_major), h->version_major);
	put_le16(out + OFF(mfs_disk_header, version_minor), h->version_minor);
	put_le32(out + OFF(mfs_disk_header, header_size), MFS_HEADER_SIZE);
	put_le64(out + OFF(mfs_disk_header, original_size), h->original_size);
	put_le64(out + OFF(mfs_disk_header, mtime_sec), (uint64_t)h->mtime_sec);
	put_le32(out + OFF(mfs_disk_header, mtime_nsec), h->mtime_nsec);
	put_le32(out + OFF(mfs_disk_header, mode), h->mode);
	put_le32(out + OFF(mfs_disk_header, source), h->source);
	put_le64(out + OFF(mfs_disk_header, checksum),
		 XXH3_64bits(out, OFF(mfs_disk_header, checksum)));
}

int mfs_disk_header_decode(struct mfs_header_info *h, const uint8_t in[MFS_HEADER_SIZE],
			   struct mfs_err *err)
{
	if (memcmp(in, MFS_HEAD_MAGIC, MFS_MAGIC_LEN) != 0)
		return mfs_err_set(err, -EFSCORRUPTED, "not a modelfs container (bad magic)");
	h->version_major = get_le16(in + OFF(mfs_disk_header, version_major));
	h->version_minor = get_le16(in + OFF(mfs_disk_header, version_minor));
	if (h->version_major != MFS_FORMAT_MAJOR)
		return mfs_err_set(err, -EOPNOTSUPP,
				   "container format version %u.%u is not supported (this "
				   "modelfs reads version %u)",
				   h->version_major, h->version_minor, MFS_FORMAT_MAJOR);
	if (get_le64(in + OFF(mfs_disk_header, checksum)) !=
	    XXH3_64bits(in, OFF(mfs_disk_header, checksum)))
		return mfs_err_set(err, -EFSCORRUPTED, "header checksum mismatch");
	if (get_le32(in + OFF(mfs_disk_header, header_size)) != MFS_HEADER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "bad header size %u",
				   get_le32(in + OFF(mfs_disk_header, header_size)));
	if (get_le32(in + OFF(mfs_disk_header, reserved0)) ||
	    get_le64(in + OFF(mfs_disk_header, reserved1)))
		return mfs_err_set(err, -EFSCORRUPTED, "header: reserved field is not zero");
	h->original_size = get_le64(in + OFF(mfs_disk_header, original_size));
	h->mtime_sec = (int64_t)get_le64(in + OFF(mfs_disk_header, mtime_sec));
	h->mtime_nsec = get_le32(in + OFF(mfs_disk_header, mtime_nsec));
	h->mode = get_le32(in + OFF(mfs_disk_header, mode));
	h->source = get_le32(in + OFF(mfs_disk_header, source));
	if (h->mtime_nsec >= 1000000000u)
		return mfs_err_set(err, -EFSCORRUPTED, "header: bad mtime nanoseconds %u",
				   h->mtime_nsec);
	if (h->mode & ~07777u)
		return mfs_err_set(err, -EFSCORRUPTED, "header: bad mode %o", h->mode);
	if (h->source >= MFS_SOURCE_NR)
		return mfs_err_set(err, -EFSCORRUPTED, "header: unknown source format %u",
				   h->source);
	if (h->original_size > INT64_MAX)
		return mfs_err_set(err, -EFSCORRUPTED, "header: original size too large");
	return 0;
}

/* ---- footer ------------------------------------------------------------ */

static void section_encode(uint8_t *out, const struct mfs_section_info *s)
{
	put_le64(out + OFF(mfs_disk_section, offset), s->offset);
	put_le64(out + OFF(mfs_disk_section, length), s->length);
	put_le64(out + OFF(mfs_disk_section, checksum), s->checksum);
	put_le32(out + OFF(mfs_disk_section, entry_size), s->entry_size);
	put_le32(out + OFF(mfs_disk_section, count), s->count);
}

/* A section descriptor at @p, whose records must be @entry_size bytes. */
static int section_decode(struct mfs_section_info *s, const uint8_t *p, uint32_t entry_size,
			  const char *name, struct mfs_err *err)
{
	s->offset = get_le64(p + OFF(mfs_disk_section, offset));
	s->length = get_le64(p + OFF(mfs_disk_section, length));
	s->checksum = get_le64(p + OFF(mfs_disk_section, checksum));
	s->entry_size = get_le32(p + OFF(mfs_disk_section, entry_size));
	s->count = get_le32(p + OFF(mfs_disk_section, count));
	if (s->entry_size != entry_size)
		return mfs_err_set(err, -EFSCORRUPTED, "%s: bad record size %u", name,
				   s->entry_size);
	if ((uint64_t)s->entry_size * s->count != s->length)
		return mfs_err_set(err, -EFSCORRUPTED, "%s: length %llu does not match %u records",
				   name, (unsigned long long)s->length, s->count);
	return 0;
}

void mfs_disk_footer_encode(uint8_t out[MFS_FOOTER_SIZE], const struct mfs_footer_info *f)
{
	memset(out, 0, MFS_FOOTER_SIZE);
	put_le64(out + OFF(mfs_disk_footer, original_size), f->original_size);
	put_le64(out + OFF(mfs_disk_footer, original_hash_lo), f->hash_lo);
	put_le64(out + OFF(mfs_disk_footer, original_hash_hi), f->hash_hi);
	put_le64(out + OFF(mfs_disk_footer, data_offset), f->data_offset);
	put_le64(out + OFF(mfs_disk_footer, data_end), f->data_end);
	put_le32(out + OFF(mfs_disk_footer, compat), f->compat);
	put_le32(out + OFF(mfs_disk_footer, incompat), f->incompat);
	put_le32(out + OFF(mfs_disk_footer, chunk_target), f->chunk_target);
	for (unsigned int i = 0; i < MFS_SEC_NR; i++)
		section_encode(out + OFF(mfs_disk_footer, sections) + i * MFS_SECTION_SIZE,
			       &f->sections[i]);
	put_le16(out + OFF(mfs_disk_footer, version_major), f->version_major);
	put_le16(out + OFF(mfs_disk_footer, version_minor), f->version_minor);
	put_le32(out + OFF(mfs_disk_footer, footer_size), MFS_FOOTER_SIZE);
	put_le64(out + OFF(mfs_disk_footer, checksum),
		 XXH3_64bits(out, OFF(mfs_disk_footer, checksum)));
	memcpy(out + OFF(mfs_disk_footer, magic), MFS_TAIL_MAGIC, MFS_MAGIC_LEN);
}

const char *const mfs_disk_section_names[MFS_SEC_NR] = {"tensor table", "strings", "plan",
							"chunk index"};

int mfs_disk_footer_decode(struct mfs_footer_info *f, const uint8_t in[MFS_FOOTER_SIZE],
			   struct mfs_err *err)
{
	uint32_t unknown;

	if (memcmp(in + OFF(mfs_disk_footer, magic), MFS_TAIL_MAGIC, MFS_MAGIC_LEN) != 0)
		return mfs_err_set(err, -EFSCORRUPTED,
				   "footer magic missing (truncated or not a container)");
	f->version_major = get_le16(in + OFF(mfs_disk_footer, version_major));
	f->version_minor = get_le16(in + OFF(mfs_disk_footer, version_minor));
	if (f->version_major != MFS_FORMAT_MAJOR)
		return mfs_err_set(err, -EOPNOTSUPP,
				   "container format version %u.%u is not supported (this "
				   "modelfs reads version %u)",
				   f->version_major, f->version_minor, MFS_FORMAT_MAJOR);
	if (get_le32(in + OFF(mfs_disk_footer, footer_size)) != MFS_FOOTER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "bad footer size %u",
				   get_le32(in + OFF(mfs_disk_footer, footer_size)));
	if (get_le64(in + OFF(mfs_disk_footer, checksum)) !=
	    XXH3_64bits(in, OFF(mfs_disk_footer, checksum)))
		return mfs_err_set(err, -EFSCORRUPTED, "footer checksum mismatch");
	if (get_le32(in + OFF(mfs_disk_footer, reserved0)))
		return mfs_err_set(err, -EFSCORRUPTED, "footer: reserved field is not zero");

	f->original_size = get_le64(in + OFF(mfs_disk_footer, original_size));
	f->hash_lo = get_le64(in + OFF(mfs_disk_footer, original_hash_lo));
	f->hash_hi = get_le64(in + OFF(mfs_disk_footer, original_hash_hi));
	f->data_offset = get_le64(in + OFF(mfs_disk_footer, data_offset));
	f->data_end = get_le64(in + OFF(mfs_disk_footer, data_end));
	f->compat = get_le32(in + OFF(mfs_disk_footer, compat));
	f->incompat = get_le32(in + OFF(mfs_disk_footer, incompat));
	f->chunk_target = get_le32(in + OFF(mfs_disk_footer, chunk_target));

	unknown = f->incompat & ~MFS_INCOMPAT_KNOWN;
	if (unknown)
		return mfs_err_set(err, -EOPNOTSUPP,
				   "container needs features this modelfs lacks (incompat 0x%x)",
				   unknown);

	for (unsigned int i = 0; i < MFS_SEC_NR; i++) {
		int r = section_decode(&f->sections[i],
				       in + OFF(mfs_disk_footer, sections) + i * MFS_SECTION_SIZE,
				       mfs_disk_entry_size(i), mfs_disk_section_names[i], err);

		if (r)
			return r;
	}
	return 0;
}

/* ---- digests trailer ---------------------------------------------------- */

void mfs_disk_digests_encode(uint8_t out[MFS_DIGESTS_TRAILER_SIZE], const struct mfs_section_info *s)
{
	memset(out, 0, MFS_DIGESTS_TRAILER_SIZE);
	section_encode(out + OFF(mfs_disk_digests, section), s);
	put_le64(out + OFF(mfs_disk_digests, checksum),
		 XXH3_64bits(out, OFF(mfs_disk_digests, checksum)));
}

int mfs_disk_digests_decode(struct mfs_section_info *s, const uint8_t in[MFS_DIGESTS_TRAILER_SIZE],
			    struct mfs_err *err)
{
	if (get_le64(in + OFF(mfs_disk_digests, checksum)) !=
	    XXH3_64bits(in, OFF(mfs_disk_digests, checksum)))
		return mfs_err_set(err, -EFSCORRUPTED, "digests trailer checksum mismatch");
	return section_decode(s, in + OFF(mfs_disk_digests, section), MFS_DIGEST_SIZE,
			      "chunk digests", err);
}

/* ---- chunk ------------------------------------------------------------- */

void mfs_disk_chunk_encode(uint8_t out[MFS_CHUNK_REC_SIZE], const struct mfs_chunk *c)
{
	memset(out, 0, MFS_CHUNK_REC_SIZE);
	put_le64(out + OFF(mfs_disk_chunk, logical_offset), c->loff);
	put_le64(out + OFF(mfs_disk_chunk, physical_offset), c->poff);
	put_le32(out + OFF(mfs_disk_chunk, logical_length), c->llen);
	put_le32(out + OFF(mfs_disk_chunk, physical_length), c->plen);
	put_le64(out + OFF(mfs_disk_chunk, checksum), c->checksum);
	put_le32(out + OFF(mfs_disk_chunk, tensor), c->tensor);
	out[OFF(mfs_disk_chunk, codec)] = c->codec;
	out[OFF(mfs_disk_chunk, xform)] = c->xform;
	put_le16(out + OFF(mfs_disk_chunk, flags), c->flags);
	put_le32(out + OFF(mfs_disk_chunk, xform_param), c->xparam);
}

int mfs_disk_chunk_decode(struct mfs_chunk *c, const uint8_t in[MFS_CHUNK_REC_SIZE],
			  struct mfs_err *err)
{
	const struct mfs_xform *x;
	size_t bound;

	c->loff = get_le64(in + OFF(mfs_disk_chunk, logical_offset));
	c->poff = get_le64(in + OFF(mfs_disk_chunk, physical_offset));
	c->llen = get_le32(in + OFF(mfs_disk_chunk, logical_length));
	c->plen = get_le32(in + OFF(mfs_disk_chunk, physical_length));
	c->checksum = get_le64(in + OFF(mfs_disk_chunk, checksum));
	c->tensor = get_le32(in + OFF(mfs_disk_chunk, tensor));
	c->codec = in[OFF(mfs_disk_chunk, codec)];
	c->xform = in[OFF(mfs_disk_chunk, xform)];
	c->flags = get_le16(in + OFF(mfs_disk_chunk, flags));
	c->xparam = get_le32(in + OFF(mfs_disk_chunk, xform_param));

	if (get_le32(in + OFF(mfs_disk_chunk, reserved)))
		return mfs_err_set(err, -EFSCORRUPTED, "reserved field is not zero");
	if (c->flags & ~MFS_CHUNK_KNOWN_FLAGS)
		return mfs_err_set(err, -EFSCORRUPTED, "unknown flags 0x%x", c->flags);
	if (c->llen == 0 || c->llen > MFS_CHUNK_MAX)
		return mfs_err_set(err, -EFSCORRUPTED, "bad length %u", c->llen);
	if (!mfs_codec_get(c->codec))
		return mfs_err_set(err, -EFSCORRUPTED, "unknown codec id %u", c->codec);
	x = mfs_xform_get(c->xform);
	if (!x)
		return mfs_err_set(err, -EFSCORRUPTED, "unknown transform id %u", c->xform);
	if (!x->param_ok(c->xparam))
		return mfs_err_set(err, -EFSCORRUPTED, "bad %s parameter %u", x->name, c->xparam);
	bound = mfs_block_bound(c->codec, c->xform, c->xparam, c->llen);
	if (c->plen == 0 || c->plen > bound)
		return mfs_err_set(err, -EFSCORRUPTED,
				   "stored length %u impossible for %u bytes with %s", c->plen,
				   c->llen, mfs_codec_name(c->codec));
	return 0;
}

/* ---- tensor ------------------------------------------------------------ */

void mfs_disk_tensor_encode(uint8_t out[MFS_TENSOR_REC_SIZE], const struct mfs_tensor *t,
			    uint32_t name_offset)
{
	memset(out, 0, MFS_TENSOR_REC_SIZE);
	put_le64(out + OFF(mfs_disk_tensor, offset), t->offset);
	put_le64(out + OFF(mfs_disk_tensor, size), t->size);
	for (unsigned int i = 0; i < 4; i++)
		put_le64(out + OFF(mfs_disk_tensor, ne) + 8 * i, t->ne[i]);
	put_le32(out + OFF(mfs_disk_tensor, name_offset), name_offset);
	put_le16(out + OFF(mfs_disk_tensor, name_len), t->name_len);
	put_le16(out + OFF(mfs_disk_tensor, dtype), t->dtype);
	put_le16(out + OFF(mfs_disk_tensor, layer), t->layer);
	out[OFF(mfs_disk_tensor, ndim)] = t->ndim;
	out[OFF(mfs_disk_tensor, role)] = t->role;
	put_le32(out + OFF(mfs_disk_tensor, flags), t->flags);
}

int mfs_disk_tensor_decode(struct mfs_tensor *t, uint32_t *name_offset,
			   const uint8_t in[MFS_TENSOR_REC_SIZE], struct mfs_err *err)
{
	t->name = NULL;
	t->offset = get_le64(in + OFF(mfs_disk_tensor, offset));
	t->size = get_le64(in + OFF(mfs_disk_tensor, size));
	for (unsigned int i = 0; i < 4; i++)
		t->ne[i] = get_le64(in + OFF(mfs_disk_tensor, ne) + 8 * i);
	*name_offset = get_le32(in + OFF(mfs_disk_tensor, name_offset));
	t->name_len = get_le16(in + OFF(mfs_disk_tensor, name_len));
	t->dtype = get_le16(in + OFF(mfs_disk_tensor, dtype));
	t->layer = get_le16(in + OFF(mfs_disk_tensor, layer));
	t->ndim = in[OFF(mfs_disk_tensor, ndim)];
	t->role = in[OFF(mfs_disk_tensor, role)];
	t->flags = get_le32(in + OFF(mfs_disk_tensor, flags));

	if (t->ndim > 4)
		return mfs_err_set(err, -EFSCORRUPTED, "%u dimensions", t->ndim);
	for (unsigned int i = t->ndim; i < 4; i++)
		if (t->ne[i] != 1)
			return mfs_err_set(err, -EFSCORRUPTED, "unused dimension %u is not 1", i);
	if (!mfs_dtype_get(t->dtype))
		return mfs_err_set(err, -EFSCORRUPTED, "unknown dtype %u", t->dtype);
	if (t->flags & ~MFS_TENSOR_KNOWN_FLAGS)
		return mfs_err_set(err, -EFSCORRUPTED, "unknown flags 0x%x", t->flags);
	return 0;
}

/* ---- plan -------------------------------------------------------------- */

void mfs_disk_plan_encode(uint8_t out[MFS_PLAN_REC_SIZE], const struct mfs_plan_entry *p)
{
	memset(out, 0, MFS_PLAN_REC_SIZE);
	put_le32(out + OFF(mfs_disk_plan, first_chunk), p->first);
	put_le32(out + OFF(mfs_disk_plan, count), p->count);
	put_le32(out + OFF(mfs_disk_plan, flags), p->flags);
}

int mfs_disk_plan_decode(struct mfs_plan_entry *p, const uint8_t in[MFS_PLAN_REC_SIZE],
			 struct mfs_err *err)
{
	p->first = get_le32(in + OFF(mfs_disk_plan, first_chunk));
	p->count = get_le32(in + OFF(mfs_disk_plan, count));
	p->flags = get_le32(in + OFF(mfs_disk_plan, flags));
	if (get_le32(in + OFF(mfs_disk_plan, reserved)))
		return mfs_err_set(err, -EFSCORRUPTED, "reserved field is not zero");
	if (p->flags & ~MFS_PLAN_KNOWN_FLAGS)
		return mfs_err_set(err, -EFSCORRUPTED, "unknown flags 0x%x", p->flags);
	if (p->count == 0)
		return mfs_err_set(err, -EFSCORRUPTED, "empty run");
	return 0;
}
