/* SPDX-License-Identifier: MIT */
/*
 * disk.h - native records for the container's on-disk structures, and the
 * functions that encode them to and decode them from bytes (format.h).
 *
 * Decoding checks everything a single record can check on its own: magic,
 * versions, checksums of header and footer, reserved fields, known ids and
 * flags, sizes within the format's caps. Checks that need more than one record
 * (chunks covering the file in order, sections not overlapping, names inside
 * the strings section) belong to archive.c.
 */
#ifndef MFS_DISK_H
#define MFS_DISK_H

#include <stdint.h>

#include "err.h"
#include "format.h"

struct mfs_header_info {
	uint16_t version_major;
	uint16_t version_minor;
	uint64_t original_size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t mode;
	uint32_t source; /* enum mfs_source */
};

struct mfs_section_info {
	uint64_t offset;
	uint64_t length;
	uint64_t checksum;
	uint32_t entry_size;
	uint32_t count;
};

struct mfs_footer_info {
	uint64_t original_size;
	uint64_t hash_lo; /* xxh3-128 of the original */
	uint64_t hash_hi;
	uint64_t data_offset;
	uint64_t data_end;
	uint32_t compat;
	uint32_t incompat;
	uint32_t chunk_target;
	uint16_t version_major;
	uint16_t version_minor;
	struct mfs_section_info sections[MFS_SEC_NR];
};

/* One chunk of the original file and where its stored bytes are. */
struct mfs_chunk {
	uint64_t loff;	   /* logical offset */
	uint64_t poff;	   /* physical offset in the container */
	uint32_t llen;	   /* logical length */
	uint32_t plen;	   /* stored length */
	uint64_t checksum; /* xxh3-64 of the original bytes */
	uint32_t tensor;   /* MFS_TENSOR_NONE or an index into the tensor table */
	uint8_t codec;
	uint8_t xform;
	uint16_t flags;
	uint32_t xparam;
};

/* A tensor of the original model. @name is NUL-terminated. */
struct mfs_tensor {
	const char *name;
	uint16_t name_len;
	uint16_t dtype; /* enum mfs_dtype */
	uint16_t layer; /* MFS_LAYER_NONE when not in a numbered block */
	uint8_t ndim;
	uint8_t role; /* enum mfs_role */
	uint32_t flags;
	uint64_t ne[4]; /* innermost first; dims >= ndim are 1 */
	uint64_t offset;
	uint64_t size;
};

struct mfs_plan_entry {
	uint32_t first;
	uint32_t count;
	uint32_t flags;
};

/* The sections' names in messages, by enum mfs_section. */
extern const char *const mfs_disk_section_names[MFS_SEC_NR];

void mfs_disk_header_encode(uint8_t out[MFS_HEADER_SIZE], const struct mfs_header_info *h);
int mfs_disk_header_decode(struct mfs_header_info *h, const uint8_t in[MFS_HEADER_SIZE],
			   struct mfs_err *err);

void mfs_disk_footer_encode(uint8_t out[MFS_FOOTER_SIZE], const struct mfs_footer_info *f);
int mfs_disk_footer_decode(struct mfs_footer_info *f, const uint8_t in[MFS_FOOTER_SIZE],
			   struct mfs_err *err);

void mfs_disk_chunk_encode(uint8_t out[MFS_CHUNK_REC_SIZE], const struct mfs_chunk *c);
int mfs_disk_chunk_decode(struct mfs_chunk *c, const uint8_t in[MFS_CHUNK_REC_SIZE],
			  struct mfs_err *err);

/* Tensor names live in the strings section: @name_offset says where. */
void mfs_disk_tensor_encode(uint8_t out[MFS_TENSOR_REC_SIZE], const struct mfs_tensor *t,
			    uint32_t name_offset);
/* Decodes all fields but the name; *@name_offset tells where it is. */
int mfs_disk_tensor_decode(struct mfs_tensor *t, uint32_t *name_offset,
			   const uint8_t in[MFS_TENSOR_REC_SIZE], struct mfs_err *err);

void mfs_disk_plan_encode(uint8_t out[MFS_PLAN_REC_SIZE], const struct mfs_plan_entry *p);
int mfs_disk_plan_decode(struct mfs_plan_entry *p, const uint8_t in[MFS_PLAN_REC_SIZE],
			 struct mfs_err *err);

/*
 * The digests trailer (format 1.2, MFS_COMPAT_DIGESTS): where the digests
 * section is. Decoding checks its own checksum, record size and length.
 */
#define MFS_DIGESTS_TRAILER_SIZE 40u
void mfs_disk_digests_encode(uint8_t out[MFS_DIGESTS_TRAILER_SIZE], const struct mfs_section_info *s);
int mfs_disk_digests_decode(struct mfs_section_info *s, const uint8_t in[MFS_DIGESTS_TRAILER_SIZE],
			    struct mfs_err *err);

/* The record size each section has in format v1 (1 for strings). */
uint32_t mfs_disk_entry_size(enum mfs_section sec);

#endif
