/* SPDX-License-Identifier: MIT */
/*
 * codec_i.h - private to codec/: the zstd contexts inside the per-thread
 * contexts, for coders (planes.c) that need zstd with their own parameters.
 * Created on first use; NULL on ENOMEM.
 */
#ifndef MFS_CODEC_I_H
#define MFS_CODEC_I_H

#include <zstd.h>

#include "codec.h"

ZSTD_CCtx *mfs_cctx_zstd(struct mfs_cctx *cctx);
ZSTD_DCtx *mfs_dctx_zstd(struct mfs_dctx *dctx);

#endif
