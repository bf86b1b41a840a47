/* SPDX-License-Identifier: MIT */
/*
 * simd.c - the switch between vector and scalar paths (see simd.h).
 */
#include "simd.h"

#include <stdio.h>

static bool forced;

void mfs_codec_force_scalar(bool scalar)
{
	forced = scalar;
}

bool mfs_codec_scalar_forced(void)
{
	return forced;
}

bool mfs_cpu_avx2(void)
{
#if defined(__x86_64__)
	return __builtin_cpu_supports("avx2");
#else
	return false;
#endif
}

const char *mfs_codec_paths(void)
{
	if (forced)
		return "rans32 scalar, xform scalar";
#if defined(__x86_64__)
	return mfs_cpu_avx2() ? "rans32 avx2, xform sse2" : "rans32 scalar, xform sse2";
#elif defined(__aarch64__) && defined(__ARM_NEON)
	return "rans32 neon, xform neon";
#else
	return "rans32 scalar, xform scalar";
#endif
}
