/* SPDX-License-Identifier: MIT */
/*
 * rans32.h - order-0 rANS with 32 interleaved states in one word stream,
 * laid out for vector decoders (plane method 4).
 *
 * rans.h's coder keeps four states, each with its own stream: a scalar
 * decoder's best case, but four lanes are all a vector unit could share.
 * Here symbol i belongs to state i mod 32 and every state reads its
 * renormalization words from a single stream, in symbol order: eight (AVX2)
 * or four (NEON) states step at once, and the lanes that need a word take
 * the next ones, in lane order, with one shuffle. Same probabilities (12
 * bits), state range and frequency table as rans.h, so the same ratio but
 * for 28 more state words per plane (112 bytes).
 *
 * Stream: the frequency table, 32 initial states (u32 each), then 16-bit
 * words. Decoding checks every bound, that the plane decodes to exactly the
 * promised length, that the words are consumed exactly and that every state
 * ends where the encoder started; anything else is -EFSCORRUPTED.
 *
 * Paths (simd.h): AVX2 when the CPU has it, NEON on arm64, else scalar; all
 * decode the same bytes and refuse the same streams.
 */
#ifndef MFS_RANS32_H
#define MFS_RANS32_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define MFS_RANS32_STATES 32u

/* Worst-case encoded size of @n bytes. */
size_t mfs_rans32_bound(size_t n);

/*
 * Encode @n bytes (at least two distinct values). Returns the encoded size,
 * or -ENOSPC if it would exceed @cap.
 */
ssize_t mfs_rans32_encode(void *dst, size_t cap, const uint8_t *src, size_t n,
			  struct mfs_err *err);

/* The same, with the histogram of @src already made (mfs_histogram()). */
ssize_t mfs_rans32_encode_counted(void *dst, size_t cap, const uint8_t *src, size_t n,
				  const uint32_t counts[256], struct mfs_err *err);

/* Decode exactly @n bytes from @src_len bytes. */
int mfs_rans32_decode(uint8_t *dst, size_t n, const uint8_t *src, size_t src_len,
		      struct mfs_err *err);

#endif
