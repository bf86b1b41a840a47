/* SPDX-License-Identifier: MIT */
/*
 * format.h - on-disk layout of the modelfs container, format version 1.
 *
 * This header is the code half of index/FORMAT.md: change the two together.
 * The structs below describe byte layout only. Every integer is little-endian,
 * no struct has padding (checked by the static asserts at the end), and no code
 * ever casts file bytes to these structs: disk.c decodes each field with
 * get_le*() at its offsetof(), so layout, alignment and host endianness can
 * never disagree.
 *
 * File layout:
 *
 *   [header 64 B][chunk data ...][tensor table][strings][plan][chunk index][footer 208 B]
 *
 * The header says what the file is; the footer, at the very end, locates and
 * checksums everything after the chunk data, so a packer can stream chunks out
 * before it knows the index (like the zstd seekable format).
 */
#ifndef MFS_FORMAT_H
#define MFS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define MFS_FORMAT_MAJOR 1
/*
 * 1.1: plane method 4 (rans32), under MFS_INCOMPAT_RANS32.
 * 1.2: every chunk's SHA-256, under MFS_COMPAT_DIGESTS (older readers skip it).
 */
#define MFS_FORMAT_MINOR 2

/* First 8 bytes of every container, and its last 8 bytes (reversed). */
#define MFS_HEAD_MAGIC "\x8dMFS\r\n\x1a\n"
#define MFS_TAIL_MAGIC "\n\x1a\n\rSFM\x8d"
#define MFS_MAGIC_LEN 8

/* What the original file was; decides how its chunks were laid out. */
enum mfs_source {
	MFS_SOURCE_RAW = 0,	    /* unknown bytes: fixed-size chunks */
	MFS_SOURCE_GGUF = 1,	    /* GGUF v2/v3 */
	MFS_SOURCE_SAFETENSORS = 2, /* safetensors */
	MFS_SOURCE_NR,
};

struct mfs_disk_header {
	uint8_t magic[8];	/* MFS_HEAD_MAGIC */
	uint16_t version_major; /* MFS_FORMAT_MAJOR; must equal the footer's */
	uint16_t version_minor;
	uint32_t header_size;	/* sizeof(struct mfs_disk_header) */
	uint64_t original_size; /* bytes of the original file */
	int64_t mtime_sec;	/* original modification time */
	uint32_t mtime_nsec;
	uint32_t mode;		/* original permission bits (07777) */
	uint32_t source;	/* enum mfs_source */
	uint32_t reserved0;	/* 0 */
	uint64_t reserved1;	/* 0 */
	uint64_t checksum;	/* xxh3-64 of the bytes before this field */
};

/* A metadata section: where it is, how big, and its xxh3-64. */
struct mfs_disk_section {
	uint64_t offset;
	uint64_t length;     /* == entry_size * count */
	uint64_t checksum;   /* xxh3-64 of the section's bytes */
	uint32_t entry_size; /* record size; the v1 size of the record type */
	uint32_t count;	     /* number of records (bytes for the strings section) */
};

/* Footer section slots, in this order. */
enum mfs_section {
	MFS_SEC_TENSORS = 0, /* struct mfs_disk_tensor[] */
	MFS_SEC_STRINGS = 1, /* NUL-terminated tensor names */
	MFS_SEC_PLAN = 2,    /* struct mfs_disk_plan[] */
	MFS_SEC_CHUNKS = 3,  /* struct mfs_disk_chunk[], sorted by logical offset */
	MFS_SEC_NR = 4,
};

struct mfs_disk_footer {
	uint64_t original_size;	  /* must equal the header's */
	uint64_t original_hash_lo; /* xxh3-128 of the whole original file: low half */
	uint64_t original_hash_hi; /* ... high half */
	uint64_t data_offset;	  /* first byte of chunk data (== header_size) */
	uint64_t data_end;	  /* one past the last byte of chunk data */
	uint32_t compat;	  /* features a reader may ignore */
	uint32_t incompat;	  /* features a reader must understand; v1: none */
	uint32_t chunk_target;	  /* chunk size the packer aimed at (informational) */
	uint32_t reserved0;	  /* 0 */
	struct mfs_disk_section sections[MFS_SEC_NR];
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t footer_size; /* sizeof(struct mfs_disk_footer) */
	uint64_t checksum;    /* xxh3-64 of the bytes before this field */
	uint8_t magic[8];     /* MFS_TAIL_MAGIC */
};

/*
 * Format 1.2: the SHA-256 of every chunk's stored bytes, in a section the
 * digests trailer (struct mfs_disk_digests) locates, right before the footer.
 * A reader that does not know the flag sees a gap between the sections and
 * the footer, which it never reads.
 */
#define MFS_COMPAT_DIGESTS (1u << 0)
#define MFS_COMPAT_KNOWN MFS_COMPAT_DIGESTS
/* Some chunk has a plane coded with plane method 4, rans32 (format 1.1). */
#define MFS_INCOMPAT_RANS32 (1u << 0)
#define MFS_INCOMPAT_KNOWN MFS_INCOMPAT_RANS32

struct mfs_disk_tensor {
	uint64_t offset;      /* logical offset of the tensor's data */
	uint64_t size;	      /* bytes of tensor data (without alignment padding) */
	uint64_t ne[4];	      /* elements per dimension, innermost first (ggml order) */
	uint32_t name_offset; /* into the strings section */
	uint16_t name_len;    /* bytes, without the terminating NUL */
	uint16_t dtype;	      /* enum mfs_dtype (dtype.h) */
	uint16_t layer;	      /* block number, MFS_LAYER_NONE if not in a block */
	uint8_t ndim;	      /* 0..4 */
	uint8_t role;	      /* enum mfs_role (names.h); unknown values read as "other" */
	uint32_t flags;	      /* MFS_TENSOR_* */
};

#define MFS_LAYER_NONE 0xffffu
#define MFS_TENSOR_SHAPE_FOLDED 0x1u /* source had > 4 dims; outer ones folded into ne[3] */
#define MFS_TENSOR_KNOWN_FLAGS MFS_TENSOR_SHAPE_FOLDED

struct mfs_disk_chunk {
	uint64_t logical_offset;  /* offset in the original file */
	uint64_t physical_offset; /* offset of the stored bytes in the container */
	uint32_t logical_length;  /* 1..MFS_CHUNK_MAX */
	uint32_t physical_length; /* stored bytes */
	uint64_t checksum;	  /* xxh3-64 of the original bytes */
	uint32_t tensor;	  /* index into the tensor table, MFS_TENSOR_NONE if none */
	uint8_t codec;		  /* enum mfs_codec_id (codec/codec.h) */
	uint8_t xform;		  /* enum mfs_xform_id (codec/xform.h) */
	uint16_t flags;		  /* MFS_CHUNK_* */
	uint32_t xform_param;	  /* transform parameter; 0 for the identity */
	uint32_t reserved;	  /* 0 */
};

/* SHA-256 of a chunk's stored bytes: the digests section holds one per chunk, in chunk order. */
#define MFS_DIGEST_SIZE 32

/*
 * Where the digests section is (MFS_COMPAT_DIGESTS): the 40 bytes right
 * before the footer. entry_size is MFS_DIGEST_SIZE, count the chunk count;
 * the section lies in [data_end, file_size - 208 - 40) and overlaps no other.
 */
struct mfs_disk_digests {
	struct mfs_disk_section section;
	uint64_t checksum; /* xxh3-64 of the 32 bytes before this field */
};

#define MFS_TENSOR_NONE 0xffffffffu
#define MFS_CHUNK_META 0x1u /* holds the model's metadata region (header, KV, names) */
#define MFS_CHUNK_KNOWN_FLAGS MFS_CHUNK_META

/*
 * Largest logical chunk a reader accepts: caps every per-chunk allocation.
 * The packer's largest piece is 2.5x its largest target plus the padding it
 * glues to a tensor (target/16; layout.c), so 41 MiB: a container declaring
 * more was not written by a packer and is refused.
 */
#define MFS_CHUNK_MAX (41u << 20)

struct mfs_disk_plan {
	uint32_t first_chunk; /* first chunk of a run read in this order */
	uint32_t count;	      /* number of consecutive chunks in the run */
	uint32_t flags;	      /* MFS_PLAN_* */
	uint32_t reserved;    /* 0 */
};

#define MFS_PLAN_CYCLE 0x1u /* the access order wraps around to this entry */
#define MFS_PLAN_SPARSE 0x2u /* read in small pieces at unpredictable places (embeddings) */
#define MFS_PLAN_KNOWN_FLAGS (MFS_PLAN_CYCLE | MFS_PLAN_SPARSE)

#define MFS_HEADER_SIZE 64u
#define MFS_FOOTER_SIZE 208u
#define MFS_SECTION_SIZE 32u
#define MFS_TENSOR_REC_SIZE 64u
#define MFS_CHUNK_REC_SIZE 48u
#define MFS_PLAN_REC_SIZE 16u

#define MFS_ASSERT_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size")
#define MFS_ASSERT_OFF(t, f, n) _Static_assert(offsetof(struct t, f) == (n), #t "." #f " offset")

MFS_ASSERT_SIZE(mfs_disk_header, MFS_HEADER_SIZE);
MFS_ASSERT_OFF(mfs_disk_header, version_major, 8);
MFS_ASSERT_OFF(mfs_disk_header, header_size, 12);
MFS_ASSERT_OFF(mfs_disk_header, original_size, 16);
MFS_ASSERT_OFF(mfs_disk_header, mtime_sec, 24);
MFS_ASSERT_OFF(mfs_disk_header, mode, 36);
MFS_ASSERT_OFF(mfs_disk_header, source, 40);
MFS_ASSERT_OFF(mfs_disk_header, checksum, 56);

MFS_ASSERT_SIZE(mfs_disk_section, MFS_SECTION_SIZE);
MFS_ASSERT_SIZE(mfs_disk_digests, 40);
MFS_ASSERT_OFF(mfs_disk_digests, checksum, 32);
MFS_ASSERT_OFF(mfs_disk_section, checksum, 16);
MFS_ASSERT_OFF(mfs_disk_section, entry_size, 24);
MFS_ASSERT_OFF(mfs_disk_section, count, 28);

MFS_ASSERT_SIZE(mfs_disk_footer, MFS_FOOTER_SIZE);
MFS_ASSERT_OFF(mfs_disk_footer, data_offset, 24);
MFS_ASSERT_OFF(mfs_disk_footer, compat, 40);
MFS_ASSERT_OFF(mfs_disk_footer, sections, 56);
MFS_ASSERT_OFF(mfs_disk_footer, version_major, 184);
MFS_ASSERT_OFF(mfs_disk_footer, footer_size, 188);
MFS_ASSERT_OFF(mfs_disk_footer, checksum, 192);
MFS_ASSERT_OFF(mfs_disk_footer, magic, 200);

MFS_ASSERT_SIZE(mfs_disk_tensor, MFS_TENSOR_REC_SIZE);
MFS_ASSERT_OFF(mfs_disk_tensor, ne, 16);
MFS_ASSERT_OFF(mfs_disk_tensor, name_offset, 48);
MFS_ASSERT_OFF(mfs_disk_tensor, dtype, 54);
MFS_ASSERT_OFF(mfs_disk_tensor, ndim, 58);
MFS_ASSERT_OFF(mfs_disk_tensor, flags, 60);

MFS_ASSERT_SIZE(mfs_disk_chunk, MFS_CHUNK_REC_SIZE);
MFS_ASSERT_OFF(mfs_disk_chunk, logical_length, 16);
MFS_ASSERT_OFF(mfs_disk_chunk, checksum, 24);
MFS_ASSERT_OFF(mfs_disk_chunk, tensor, 32);
MFS_ASSERT_OFF(mfs_disk_chunk, codec, 36);
MFS_ASSERT_OFF(mfs_disk_chunk, flags, 38);
MFS_ASSERT_OFF(mfs_disk_chunk, xform_param, 40);

MFS_ASSERT_SIZE(mfs_disk_plan, MFS_PLAN_REC_SIZE);

#endif
