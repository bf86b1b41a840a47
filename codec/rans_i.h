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
