/* SPDX-License-Identifier: MIT */
/*
 * xxh.h - xxHash for modelfs: <xxhash.h>, and where the library has them
 * (meson.build checks), its run-time dispatching XXH3 functions under the
 * usual names: AVX2 where the CPU has it, 30 GB/s against 10 for the SSE2
 * build on the 2-core EPYC VM. Same hashes either way.
 */
#ifndef MFS_XXH_H
#define MFS_XXH_H

#include <xxhash.h>
#ifdef MFS_XXH_DISPATCH
#include <xxh_x86dispatch.h>
#endif

#endif
