/* SPDX-License-Identifier: MIT */
/*
 * rans.c - order-0 rANS, after Fabian Giesen's rans_byte (public domain),
 * with 4 interleaved states (see rans.h for the stream format).
 *
 * State x lives in [L, 2^32), L = 2^16, probabilities are 12-bit and
 * renormalization moves 16 bits at a time (rans_word), so a symbol needs at
 * most one read, which the decoder does without a branch: a byte-wise coder
 * mispredicts about once per four symbols here and decodes 5x slower. The
 * encoder runs backwards over the input, symbol i with state i % 4, pushing
 * 16-bit words onto a stack that the decoder reads forwards, so both sides see
 * each state's words in exactly reverse order. Decode is two lookups per
 * symbol in 4096-slot tables: the symbol (4 KiB), and frequency and bias
 * packed in a uint32 (16 KiB); both fit L1. (One table packing all three
 * costs more ALU work to unpack than the extra load: measured 25% slower.)
 */
#include "rans.h"

#include <string.h>

#include "le.h"
#include "rans_i.h"

#define PROB_BITS MFS_RANS_PROB_BITS
#define PROB_SCALE (1u << PROB_BITS)
#define RANS_L MFS_RANS_L
#define NSTATES 4u
#define TABLE_MAX MFS_RANS_TABLE_MAX

void mfs_histogram(const uint8_t *src, size_t n, uint32_t counts[256])
{
	/* Four tables break the dependency chain on repeated symbols. */
	uint32_t c[4][256] = {{0}};
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		c[0][src[i]]++;
		c[1][src[i + 1]]++;
		c[2][src[i + 2]]++;
		c[3][src[i + 3]]++;
	}
	for (; i < n; i++)
		c[0][src[i]]++;
	for (int s = 0; s < 256; s++)
		counts[s] = c[0][s] + c[1][s] + c[2][s] + c[3][s];
}

double mfs_entropy0(const uint32_t counts[256], size_t n)
{
	double h = 0.0;

	if (n == 0)
		return 0.0;
	for (int s = 0; s < 256; s++) {
		if (counts[s]) {
			double p = (double)counts[s] / (double)n;

			h -= p * __builtin_log2(p);
		}
	}
	return h;
}

size_t mfs_rans_bound(size_t n)
{
	/* The table, four lengths, and per stream its state and 12 bits per symbol. */
	return TABLE_MAX + NSTATES * 4 + NSTATES * (3 * (n / NSTATES + 1) / 2 + 8);
}

/*
 * Frequencies summing to PROB_SCALE, each present symbol at least 1:
 * proportional shares rounded down, the remainder to the largest fractional
 * parts, any excess (from forcing rare symbols to 1) taken from the largest.
 */
void mfs_rans_normalize(const uint32_t counts[256], size_t n, uint32_t freq[256])
{
	uint64_t rem[256];
	uint32_t sum = 0;

	for (int s = 0; s < 256; s++) {
		uint64_t scaled = (uint64_t)counts[s] * PROB_SCALE;

		freq[s] = counts[s] ? (uint32_t)(scaled / n) : 0;
		rem[s] = counts[s] ? scaled % n : 0;
		if (counts[s] && freq[s] == 0) {
			freq[s] = 1;
			rem[s] = 0;
		}
		sum += freq[s];
	}
	while (sum < PROB_SCALE) {
		int best = -1;

		for (int s = 0; s < 256; s++)
			if (counts[s] && (best < 0 || rem[s] > rem[best]))
				best = s;
		freq[best]++;
		rem[best] = 0;
		sum++;
	}
	while (sum > PROB_SCALE) {
		int best = -1;

		for (int s = 0; s < 256; s++)
			if (freq[s] > 1 && (best < 0 || freq[s] > freq[best]))
				best = s;
		freq[best]--;
		sum--;
	}
}

static size_t put_varint(uint8_t *p, uint32_t v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	p[0] = (uint8_t)(0x80 | (v & 0x7f));
	p[1] = (uint8_t)(v >> 7);
	return 2;
}

size_t mfs_rans_table_write(uint8_t *p, const uint32_t freq[256], unsigned int nsym)
{
	size_t k = 0;

	if (nsym > 32) {
		p[k++] = 1; /* bitmap of present symbols */
		memset(p + k, 0, 32);
		for (int s = 0; s < 256; s++)
			if (freq[s])
				p[k + s / 8] |= (uint8_t)(1u << (s % 8));
		k += 32;
	} else {
		p[k++] = 0; /* count, then the symbols */
		p[k++] = (uint8_t)nsym;
		for (int s = 0; s < 256; s++)
			if (freq[s])
				p[k++] = (uint8_t)s;
	}
	for (int s = 0; s < 256; s++)
		if (freq[s])
			k += put_varint(p + k, freq[s]);
	return k;
}

ssize_t mfs_rans_encode(void *dst, size_t cap, const uint8_t *src, size_t n,
			struct mfs_err *err)
{
	uint32_t counts[256], freq[256], cum[256], x[NSTATES];
	struct mfs_rans_rcp rcp[256];
	uint8_t *out = dst, *region[NSTATES], *ptr[NSTATES], *w;
	size_t hdr, per, len[NSTATES];
	unsigned int nsym = 0;
	uint32_t c = 0;

	mfs_histogram(src, n, counts);
	for (int s = 0; s < 256; s++)
		nsym += counts[s] != 0;
	if (nsym < 2)
		return mfs_err_set(err, -EINVAL, "rans: a constant plane has nothing to code");
	mfs_rans_normalize(counts, n, freq);
	for (int s = 0; s < 256; s++) {
		cum[s] = c;
		c += freq[s];
		if (freq[s])
			rcp[s] = mfs_rans_rcp(freq[s]);
	}
	/*
	 * Each stream gets a region as large as its worst case, compacted at the
	 * end: a symbol adds at most PROB_BITS = 12 bits, 1.5 bytes, to its state.
	 */
	per = 3 * (n / NSTATES + 1) / 2 + 8;
	if (cap < TABLE_MAX + NSTATES * 4 + NSTATES * per)
		return mfs_err_set(err, -ENOSPC, "rans: output buffer too small");
	hdr = mfs_rans_table_write(out, freq, nsym);
	for (unsigned int k = 0; k < NSTATES; k++) {
		region[k] = out + TABLE_MAX + NSTATES * 4 + k * per;
		ptr[k] = region[k] + per;
		x[k] = RANS_L;
	}
	for (size_t i = n; i-- > 0;) {
		unsigned int k = (unsigned int)(i % NSTATES);
		uint32_t s = src[i], f = freq[s];
		uint32_t x_max = ((RANS_L >> PROB_BITS) << 16) * f;

		if (x[k] >= x_max) { /* once is enough: then x < 2^16 <= x_max */
			if (ptr[k] - 2 < region[k] + 4)
				return mfs_err_set(err, -ENOSPC, "rans: output buffer too small");
			ptr[k] -= 2;
			put_le16(ptr[k], (uint16_t)x[k]);
			x[k] >>= 16;
		}
		uint32_t q = mfs_rans_div(x[k], rcp[s]);

		x[k] = (q << PROB_BITS) + (x[k] - q * f) + cum[s];
	}
	/* Header: the four stream lengths; then each stream: final state, words. */
	w = out + hdr + NSTATES * 4;
	for (unsigned int k = 0; k < NSTATES; k++) {
		ptr[k] -= 4;
		put_le32(ptr[k], x[k]);
		len[k] = (size_t)(region[k] + per - ptr[k]);
		put_le32(out + hdr + k * 4, (uint32_t)len[k]);
		memmove(w, ptr[k], len[k]);
		w += len[k];
	}
	return (ssize_t)(w - out);
}

struct dec_table {
	uint8_t sym[PROB_SCALE];
	uint32_t fb[PROB_SCALE]; /* frequency | bias << 16 */
};

ssize_t mfs_rans_table_read(const uint8_t *p, size_t len, uint8_t syms[256], uint32_t freqs[256],
			    unsigned int *nsym_out, struct mfs_err *err)
{
	unsigned int nsym = 0;
	uint32_t c = 0;
	size_t k = 0;

	if (len < 1)
		goto short_table;
	if (p[k] == 1) {
		if (len < 33)
			goto short_table;
		for (int s = 0; s < 256; s++)
			if (p[1 + s / 8] & (1u << (s % 8)))
				syms[nsym++] = (uint8_t)s;
		k = 33;
	} else if (p[k] == 0) {
		if (len < 2 || len < 2u + p[1])
			goto short_table;
		nsym = p[1];
		for (unsigned int i = 0; i < nsym; i++) {
			syms[i] = p[2 + i];
			if (i && syms[i] <= syms[i - 1])
				return mfs_err_set(err, -EFSCORRUPTED, "rans: symbols not in order");
		}
		k = 2 + nsym;
	} else {
		return mfs_err_set(err, -EFSCORRUPTED, "rans: unknown table mode %u", p[0]);
	}
	if (nsym < 2)
		return mfs_err_set(err, -EFSCORRUPTED, "rans: fewer than two symbols");
	for (unsigned int i = 0; i < nsym; i++) {
		uint32_t f;

		if (k >= len)
			goto short_table;
		f = p[k] & 0x7f;
		if (p[k++] & 0x80) {
			if (k >= len)
				goto short_table;
			f |= (uint32_t)p[k++] << 7;
		}
		if (f == 0 || f >= PROB_SCALE || c + f > PROB_SCALE)
			return mfs_err_set(err, -EFSCORRUPTED, "rans: bad frequency %u", f);
		freqs[i] = f;
		c += f;
	}
	if (c != PROB_SCALE)
		return mfs_err_set(err, -EFSCORRUPTED, "rans: frequencies sum to %u", c);
	*nsym_out = nsym;
	return (ssize_t)k;
short_table:
	return mfs_err_set(err, -EFSCORRUPTED, "rans: truncated frequency table");
}

/* Parses the frequency table; fills the decode table; returns bytes used or < 0. */
static ssize_t get_table(const uint8_t *p, size_t len, struct dec_table *tab,
			 struct mfs_err *err)
{
	uint8_t syms[256];
	uint32_t freqs[256], c = 0;
	unsigned int nsym;
	ssize_t k = mfs_rans_table_read(p, len, syms, freqs, &nsym, err);

	if (k < 0)
		return k;
	for (unsigned int i = 0; i < nsym; i++) {
		for (uint32_t slot = c; slot < c + freqs[i]; slot++) {
			tab->sym[slot] = syms[i];
			tab->fb[slot] = freqs[i] | (slot - c) << 16;
		}
		c += freqs[i];
	}
	return k;
}

/*
 * The hot loop keeps the four states in locals: stores through a uint8_t
 * pointer may alias anything in memory, and states kept in an array would be
 * reloaded after every output byte.
 */
static inline uint32_t step(const struct dec_table *restrict tab, uint32_t x,
			    uint8_t *restrict out)
{
	uint32_t slot = x & (PROB_SCALE - 1), fb = tab->fb[slot];

	*out = tab->sym[slot];
	return (fb & 0xffff) * (x >> PROB_BITS) + (fb >> 16);
}

int mfs_rans_decode(uint8_t *restrict dst, size_t n, const uint8_t *restrict src, size_t src_len,
		    struct mfs_err *err)
{
	struct dec_table tab;
	uint32_t x[NSTATES];
	const uint8_t *p[NSTATES], *end[NSTATES], *q;
	ssize_t hdr;
	size_t i = 0;

	hdr = get_table(src, src_len, &tab, err);
	if (hdr < 0)
		return (int)hdr;
	if (src_len - (size_t)hdr < NSTATES * 4)
		return mfs_err_set(err, -EFSCORRUPTED, "rans: truncated stream lengths");
	q = src + hdr + NSTATES * 4;
	for (unsigned int k = 0; k < NSTATES; k++) {
		size_t len = get_le32(src + hdr + k * 4);

		if (len < 4 || len > (size_t)(src + src_len - q) || (len - 4) % 2)
			return mfs_err_set(err, -EFSCORRUPTED, "rans: bad stream length");
		x[k] = get_le32(q);
		if (x[k] < RANS_L)
			return mfs_err_set(err, -EFSCORRUPTED, "rans: bad initial state");
		p[k] = q + 4;
		end[k] = q + len;
		q += len;
	}
	if (q != src + src_len)
		return mfs_err_set(err, -EFSCORRUPTED, "rans: %zu trailing bytes",
				   (size_t)(src + src_len - q));
	{
		/* Locals, not x[]: see step(). */
		uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
		const uint8_t *p0 = p[0], *p1 = p[1], *p2 = p[2], *p3 = p[3];

		/*
		 * A symbol reads at most one 16-bit word from its own stream; while
		 * every stream has a word left, a group needs no bounds check. The
		 * read is unconditional, its use is not: no branch to mispredict.
		 */
#define RENORM(x, p)                                                                               \
	do {                                                                                       \
		uint32_t need = (x) < RANS_L; /* arithmetic, so the compiler makes no branch */   \
		(x) = (x) << (need << 4) | (get_le16(p) & (0u - need));                            \
		(p) += need << 1;                                                                  \
	} while (0)
		for (; i + NSTATES <= n && end[0] - p0 >= 2 && end[1] - p1 >= 2 &&
		       end[2] - p2 >= 2 && end[3] - p3 >= 2;
		     i += NSTATES) {
			x0 = step(&tab, x0, dst + i);
			x1 = step(&tab, x1, dst + i + 1);
			x2 = step(&tab, x2, dst + i + 2);
			x3 = step(&tab, x3, dst + i + 3);
			RENORM(x0, p0);
			RENORM(x1, p1);
			RENORM(x2, p2);
			RENORM(x3, p3);
		}
#undef RENORM
		x[0] = x0;
		x[1] = x1;
		x[2] = x2;
		x[3] = x3;
		p[0] = p0;
		p[1] = p1;
		p[2] = p2;
		p[3] = p3;
	}
	for (; i < n; i++) {
		unsigned int k = (unsigned int)(i % NSTATES);

		x[k] = step(&tab, x[k], dst + i);
		if (x[k] < RANS_L) {
			if (end[k] - p[k] < 2)
				return mfs_err_set(err, -EFSCORRUPTED, "rans: truncated data");
			x[k] = x[k] << 16 | get_le16(p[k]);
			p[k] += 2;
		}
	}
	for (unsigned int k = 0; k < NSTATES; k++)
		if (p[k] != end[k] || x[k] != RANS_L)
			return mfs_err_set(err, -EFSCORRUPTED, "rans: data does not decode");
	return 0;
}
