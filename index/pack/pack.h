/* SPDX-License-Identifier: MIT */
/*
 * pack.h - turn a model file into a container.
 *
 * mfs_pack_file() parses the model (model.h), plans its chunks (layout.h),
 * picks a coding method per tensor (method.h; with MFS_PACK_CODEC_AUTO by
 * trying the candidates on samples of the tensor), compresses the chunks on a
 * pool of threads (pipe.h) and streams them into an atomic output file
 * (outfile.h), hashing the original as it goes. Chunks that a method shrinks
 * by less than 1% are stored raw: reading them costs no decompression. The
 * prefetch plan comes from tensor names (plan.h). The source must not change
 * while it is packed; if its size
 * or mtime moved, the output is dropped and -EAGAIN returned.
 */
#ifndef MFS_PACK_H
#define MFS_PACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"

#define MFS_PACK_CODEC_AUTO (-1)

struct mfs_pack_opts {
	int codec;	       /* enum mfs_codec_id, or MFS_PACK_CODEC_AUTO */
	int level;	       /* 0 for the codec's default (with auto: zstd's level) */
	double min_decode_mbs; /* auto: slowest acceptable decode, MB/s per core; 0: default */
	uint32_t chunk_target; /* 0 for MFS_CHUNK_TARGET_DEFAULT */
	unsigned int threads;  /* 0 for one per CPU */
	bool replace;	       /* overwrite an existing output */
	uint32_t source;       /* the format the input must be; MFS_SOURCE_NR to detect */
	/* Called on the packing thread after each chunk; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total, uint64_t stored);
	void *progress_arg;
	/*
	 * When packing a file found by walking a tree: the file lstat() saw.
	 * The source is opened without following a final symlink and must be
	 * that very file (device and inode), so a name swapped for a symlink
	 * or another file meanwhile is refused, not packed. May be NULL.
	 */
	const struct stat *same_as;
};

struct mfs_pack_result {
	uint32_t source;
	uint32_t ntensors;
	uint32_t nchunks;
	uint32_t raw_chunks; /* chunks stored without compression */
	uint32_t nplan;	     /* runs in the prefetch plan (plan.h) */
	uint64_t original_size;
	uint64_t container_size;
};

/* Pack @src_path into @dst_path. */
int mfs_pack_file(const char *src_path, const char *dst_path, const struct mfs_pack_opts *o,
		  struct mfs_pack_result *res, struct mfs_err *err);


#endif
