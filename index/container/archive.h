/* SPDX-License-Identifier: MIT */
/*
 * archive.h - reading a modelfs container.
 *
 * mfs_archive_open() reads and validates everything but the chunk data:
 * header, footer, the checksums of all metadata sections, and every invariant
 * the readers rely on - chunks cover the original file in order without gaps
 * or overlaps, stored bytes lie inside the data area in order, names lie inside
 * the strings section, plan runs name existing chunks. After a successful open
 * the only untrusted bytes left are chunk payloads, and
 * mfs_archive_read_chunk() checks those against their xxh3 before returning
 * them: wrong bytes are never handed out.
 *
 * An open archive is immutable, so any number of threads may use it at once,
 * each with its own struct mfs_dctx.
 */
#ifndef MFS_ARCHIVE_H
#define MFS_ARCHIVE_H

#include <stdint.h>

#include "codec.h"
#include "disk.h"
#include "err.h"
#include "io.h"

struct mfs_archive;

struct mfs_archive_info {
	struct mfs_header_info header;
	struct mfs_footer_info footer;
	uint64_t file_size;    /* the container's size */
	uint64_t stored_bytes; /* sum of the chunks' stored lengths */
	uint32_t max_chunk;    /* longest logical chunk */
};

/*
 * Open the container read by @src (borrowed: it must outlive the archive).
 * Errors: -EFSCORRUPTED, -EOPNOTSUPP (newer format), -EIO, -ENOMEM.
 */
int mfs_archive_open(struct mfs_archive **out, const struct mfs_src *src, struct mfs_err *err);

/* Open a container by path; the archive owns the file descriptor. */
/*
 * Only the header of the container in @src, checked: the original's size,
 * mode and mtime, for a directory listing. Reads 64 bytes; no footer or
 * section is looked at (mfs_archive_open() checks everything).
 */
int mfs_archive_read_header(const struct mfs_src *src, struct mfs_header_info *h,
			    struct mfs_err *err);
int mfs_archive_open_path(struct mfs_archive **out, const char *path, struct mfs_err *err);

void mfs_archive_close(struct mfs_archive *ar);

const struct mfs_archive_info *mfs_archive_info(const struct mfs_archive *ar);
uint32_t mfs_archive_nchunks(const struct mfs_archive *ar);
const struct mfs_chunk *mfs_archive_chunk(const struct mfs_archive *ar, uint32_t i);
/*
 * The SHA-256 of chunk @i's stored bytes (MFS_DIGEST_SIZE bytes), or NULL if
 * the container has none (written before format 1.2).
 */
const uint8_t *mfs_archive_digest(const struct mfs_archive *ar, uint32_t i);
/*
 * 0 if @stored (chunk @i's plen stored bytes) has the chunk's SHA-256, or
 * the container has no digests; -EFSCORRUPTED (named in @err) if not.
 */
int mfs_archive_check_digest(const struct mfs_archive *ar, uint32_t i, const void *stored,
			     struct mfs_err *err);
uint32_t mfs_archive_ntensors(const struct mfs_archive *ar);
const struct mfs_tensor *mfs_archive_tensor(const struct mfs_archive *ar, uint32_t i);
uint32_t mfs_archive_nplan(const struct mfs_archive *ar);
const struct mfs_plan_entry *mfs_archive_plan(const struct mfs_archive *ar, uint32_t i);
/* The whole tensor table and plan, as arrays of ntensors / nplan entries. */
const struct mfs_tensor *mfs_archive_tensors(const struct mfs_archive *ar);
const struct mfs_plan_entry *mfs_archive_plan_runs(const struct mfs_archive *ar);

/* The original's xxh3-128 as 32 hex digits (high half first), as inspect shows it. */
#define MFS_HASH_HEX_SIZE 33
void mfs_archive_hash_hex(const struct mfs_archive *ar, char out[MFS_HASH_HEX_SIZE]);

/*
 * Read chunk data from @src instead of the source the archive was opened with
 * (which still serves nothing else): for example the same file opened with
 * O_DIRECT. @src is borrowed and must read the same file.
 */
void mfs_archive_set_data_source(struct mfs_archive *ar, const struct mfs_src *src);

/* The index of the chunk holding logical offset @off, or -1 past the end. */
int64_t mfs_archive_find(const struct mfs_archive *ar, uint64_t off);

/*
 * Read chunk @i into @dst (at least its logical length), decoding and
 * verifying it. Uses @dctx's MFS_SCRATCH_IO buffer for the stored bytes. A
 * checksum mismatch or undecodable chunk is -EFSCORRUPTED; a failed read is
 * the read's error. @dst holds garbage after any error.
 */
int mfs_archive_read_chunk(const struct mfs_archive *ar, uint32_t i, void *dst, size_t dst_cap,
			   struct mfs_dctx *dctx, struct mfs_err *err);

/*
 * The two halves of mfs_archive_read_chunk(), for callers that keep stored
 * bytes: read chunk @i's stored bytes (*@out points into @dctx's
 * MFS_SCRATCH_IO buffer, valid until @dctx is used again), and decode and
 * verify chunk @i from stored bytes held anywhere.
 */
int mfs_archive_read_stored(const struct mfs_archive *ar, uint32_t i, const uint8_t **out,
			    struct mfs_dctx *dctx, struct mfs_err *err);
int mfs_archive_decode_stored(const struct mfs_archive *ar, uint32_t i, const void *stored,
			      void *dst, size_t dst_cap, struct mfs_dctx *dctx, struct mfs_err *err);

#endif
