/* SPDX-License-Identifier: MIT */
/*
 * rans_i.h - what the two rANS stream formats share (rans.c, rans32.c):
 * 12-bit probabilities, 32-bit states in [2^16, 2^32), 16-bit words, and
 * the frequency table (index/FORMAT.md, "rANS stream").
 */
#ifndef MFS_RANS_I_H
#define MFS_RANS_I_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define MFS_RANS_PROB_BITS 12u
#define MFS_RANS_L (1u << 16)
/* Table: mode byte, symbol list or bitmap, 2 bytes per frequency at most. */
#define MFS_RANS_TABLE_MAX (1u + 32u + 256u * 2u)

/*
 * x / f for every 32-bit x by multiplies and shifts, for the encoders (a
 * division per symbol bounded packing): m = floor(2^(32+l) / f) + 1 with
 * l = ceil(log2 f) gives floor(x * m / 2^(32+l)) = floor(x / f) for all
 * x < 2^32 (Granlund and Montgomery, "Division by invariant integers using
 * multiplication", 1994). m < 2^33: its high bit times x, plus the high half
 * of x times its low 32 bits, then shifted by l, is that in 64-bit words.
 */
struct mfs_rans_rcp {
	uint32_t lo, hi; /* m's low 32 bits, its bit 32 */
	unsigned int l;
};

static inline struct mfs_rans_rcp mfs_rans_rcp(uint32_t f)
{
	unsigned int l = 0;
	uint64_t m;

	while ((1u << l) < f)
		l++;
	m = (((uint64_t)1 << (32 + l)) / f) + 1;
	return (struct mfs_rans_rcp){(uint32_t)m, (uint32_t)(m >> 32), l};
}

static inline uint32_t mfs_rans_div(uint32_t x, struct mfs_rans_rcp r)
{
	return (uint32_t)(((((uint64_t)x * r.lo) >> 32) + (uint64_t)x * r.hi) >> r.l);
}

/*
 * Frequencies summing to 4096 for a histogram of @n bytes, each present
 * symbol at least 1.
 */
void mfs_rans_normalize(const uint32_t counts[256], size_t n, uint32_t freq[256]);

/* Writes the table of @freq (@nsym symbols present); returns its size. */
size_t mfs_rans_table_write(uint8_t *p, const uint32_t freq[256], unsigned int nsym);

/*
 * Reads a table of at most @len bytes: the @nsym present symbols in
 * increasing order and their frequencies (at least two, summing to 4096).
 * Returns the bytes used, or -EFSCORRUPTED.
 */
ssize_t mfs_rans_table_read(const uint8_t *p, size_t len, uint8_t syms[256], uint32_t freqs[256],
			    unsigned int *nsym, struct mfs_err *err);

#endif
