/* SPDX-License-Identifier: MIT */
/*
 * simd.h - which vector paths the decoders take.
 *
 * Decoding has vector paths where they pay: the float inverse transforms
 * (xform.c; SSE2 on x86-64, NEON on arm64, both part of the base
 * architecture) and the 32-state rANS decoder (rans32.c; AVX2 on x86-64
 * when the CPU has it, NEON on arm64). Every one has a scalar twin that
 * other machines use, and all give the same bytes. Tests and benchmarks
 * compare them by forcing the scalar paths; that is a process-wide switch,
 * not thread-safe: set it before decoding starts.
 */
#ifndef MFS_SIMD_H
#define MFS_SIMD_H

#include <stdbool.h>

void mfs_codec_force_scalar(bool scalar);
bool mfs_codec_scalar_forced(void);

/* The paths decoding takes now, e.g. "rans32 avx2, xform sse2", for messages. */
const char *mfs_codec_paths(void);

/* Does this CPU have AVX2 (x86-64 only; false elsewhere)? */
bool mfs_cpu_avx2(void);

#endif
