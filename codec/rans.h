/* SPDX-License-Identifier: MIT */
/*
 * rans.h - an order-0 entropy coder (rANS) for byte planes.
 *
 * Planes of a transformed tensor (float exponents, quant scales, quants) have
 * skewed byte distributions and little else a dictionary coder could use, so
 * coding each byte with its own probability comes within a fraction of a
 * percent of the order-0 entropy - where Huffman (zstd's literals) loses up to
 * 8% on these distributions. Four interleaved states keep decoding fast.
 *
 * Stream: a frequency table (the symbols present and their frequencies, which
 * sum to 4096), the byte lengths of four streams, then the streams, each its
 * state's final value and its 16-bit renormalization words. Decoding checks every bound and that the stream decodes to exactly
 * the promised length, consumes all its bytes and ends in the initial state;
 * anything else is -EFSCORRUPTED. No allocation, no global state.
 */
#ifndef MFS_RANS_H
#define MFS_RANS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Worst-case encoded size of @n bytes. */
size_t mfs_rans_bound(size_t n);

/*
 * Encode @n bytes (at least two distinct values: a constant plane has nothing
 * to code). Returns the encoded size, or -ENOSPC if it would exceed @cap.
 */
ssize_t mfs_rans_encode(void *dst, size_t cap, const uint8_t *src, size_t n,
			struct mfs_err *err);

/* Decode exactly @n bytes from @src_len bytes. */
int mfs_rans_decode(uint8_t *dst, size_t n, const uint8_t *src, size_t src_len,
		    struct mfs_err *err);

/* Byte histogram of @src. */
void mfs_histogram(const uint8_t *src, size_t n, uint32_t counts[256]);

/* Order-0 entropy of a histogram, in bits per byte. */
double mfs_entropy0(const uint32_t counts[256], size_t n);

#endif
