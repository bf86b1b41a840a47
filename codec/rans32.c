/* SPDX-License-Identifier: MIT */
/*
 * rans32.c - order-0 rANS, 32 states, one word stream (see rans32.h).
 *
 * Decode step for symbol i, state x = x[i mod 32], slot = x mod 4096:
 *   t = tab[slot]   (packed: frequency | cumulative << 12 | symbol << 24)
 *   out[i] = t >> 24, x = f * (x >> 12) + slot - cumulative
 * Every slot of a symbol holds the same entry, so the table is built by
 * filling runs, 8 slots a store pair (a 4096-entry table per plane, one
 * slot at a time, was 5% of decoding Q8_0).
 *   if x < 2^16: x = x << 16 | next word
 * One word always suffices (x >= 16 after a step). The encoder runs
 * backwards, symbol i with state i mod 32, writing words from the end of its
 * buffer towards the front, so the decoder reads them forwards in symbol
 * order. The vector decoders run groups of 32 symbols while the stream has
 * at least 64 bytes left (the most a group reads), so their loads need no
 * bounds checks; the scalar loop finishes, checking every word.
 */
#include "rans32.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include "le.h"
#include "rans.h"
#include "rans_i.h"
#include "simd.h"

#define NS MFS_RANS32_STATES
#define PROB_SCALE (1u << MFS_RANS_PROB_BITS)
#define GROUP_BYTES (NS * 2u) /* the most one group of 32 symbols reads */

size_t mfs_rans32_bound(size_t n)
{
	/* The table, the states, and 12 bits per symbol plus a word per state. */
	return MFS_RANS_TABLE_MAX + NS * 4 + 3 * (n / 2 + 1) + NS * 2;
}

ssize_t mfs_rans32_encode(void *dst, size_t cap, const uint8_t *src, size_t n,
			  struct mfs_err *err)
{
	uint32_t counts[256];

	mfs_histogram(src, n, counts);
	return mfs_rans32_encode_counted(dst, cap, src, n, counts, err);
}

ssize_t mfs_rans32_encode_counted(void *dst, size_t cap, const uint8_t *src, size_t n,
				  const uint32_t counts[256], struct mfs_err *err)
{
	uint32_t freq[256], cum[256], x[NS];
	struct mfs_rans_rcp rcp[256];
	uint8_t *out = dst, *words, *w;
	unsigned int nsym = 0;
	size_t hdr, nbytes;
	uint32_t c = 0;

	for (int s = 0; s < 256; s++)
		nsym += counts[s] != 0;
	if (nsym < 2)
		return mfs_err_set(err, -EINVAL, "rans32: a constant plane has nothing to code");
	if (cap < mfs_rans32_bound(n))
		return mfs_err_set(err, -ENOSPC, "rans32: output buffer too small");
	mfs_rans_normalize(counts, n, freq);
	for (int s = 0; s < 256; s++) {
		cum[s] = c;
		c += freq[s];
		if (freq[s])
			rcp[s] = mfs_rans_rcp(freq[s]);
	}
	hdr = mfs_rans_table_write(out, freq, nsym);
	/* Words go backwards from the end of the buffer; moved into place below. */
	words = out + cap;
	w = words;
	for (unsigned int k = 0; k < NS; k++)
		x[k] = MFS_RANS_L;
	for (size_t i = n; i-- > 0;) {
		uint32_t *xs = &x[i % NS], s = src[i], f = freq[s];
		uint32_t x_max = ((MFS_RANS_L >> MFS_RANS_PROB_BITS) << 16) * f;

		/*
		 * Once is enough: then x < 2^16 <= x_max. Arithmetic, not a
		 * branch (on flat planes it went either way at random, and
		 * its mispredictions were a third of packing): the word is
		 * written either way, and kept or not. The bound leaves room.
		 */
		uint32_t need = *xs >= x_max;

		put_le16(w - 2, (uint16_t)*xs);
		w -= need << 1;
		*xs >>= need << 4;
		uint32_t q = mfs_rans_div(*xs, rcp[s]);

		*xs = (q << MFS_RANS_PROB_BITS) + (*xs - q * f) + cum[s];
	}
	nbytes = (size_t)(words - w);
	for (unsigned int k = 0; k < NS; k++)
		put_le32(out + hdr + 4 * k, x[k]);
	memmove(out + hdr + NS * 4, w, nbytes);
	return (ssize_t)(hdr + NS * 4 + nbytes);
}

/* One decode step of state *@x; the symbol to *@out. Returns whether it needs a word. */
static inline uint32_t step(const uint32_t *restrict tab, uint32_t *x, uint8_t *out)
{
	uint32_t slot = *x & (PROB_SCALE - 1), t = tab[slot];

	*out = (uint8_t)(t >> 24);
	*x = (t & 0xfff) * (*x >> MFS_RANS_PROB_BITS) + slot - (t >> 12 & 0xfff);
	return *x < MFS_RANS_L;
}

/* Symbols from @i on, checking every word; returns -1 if the words run out. */
static int decode_scalar(const uint32_t *restrict tab, uint32_t x[NS], uint8_t *restrict dst,
			 size_t i, size_t n, const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;

	/* Whole groups while a group cannot run out of words: no check per word. */
	for (; i + NS <= n && (size_t)(end - p) >= GROUP_BYTES; i += NS) {
		for (unsigned int k = 0; k < NS; k++) {
			uint32_t need = step(tab, &x[k], dst + i + k);

			/* Arithmetic, not a branch: which states need a word is noise. */
			x[k] = x[k] << (need << 4) | (get_le16(p) & (0u - need));
			p += need << 1;
		}
	}
	for (; i < n; i++) {
		uint32_t *xs = &x[i % NS];

		if (step(tab, xs, dst + i)) {
			if (end - p < 2)
				return -1;
			*xs = *xs << 16 | get_le16(p);
			p += 2;
		}
	}
	*pp = p;
	return 0;
}

#if defined(__x86_64__)
/*
 * Lane j of a group of eight that needs a word takes word number
 * popcount(mask & ((1 << j) - 1)) of the next eight: a vpermd index per mask.
 */
static uint32_t perm8[256][8] __attribute__((aligned(32)));

__attribute__((constructor)) static void perm8_init(void)
{
	for (unsigned int m = 0; m < 256; m++)
		for (unsigned int j = 0, r = 0; j < 8; j++)
			perm8[m][j] = m >> j & 1 ? r++ : 0;
}

/* Whole groups of 32, eight states a vector; returns the symbols decoded. */
__attribute__((target("avx2"))) static size_t decode_avx2(const uint32_t *restrict tab,
							  uint32_t x[NS], uint8_t *restrict dst,
							  size_t n, const uint8_t **pp,
							  const uint8_t *end)
{
	const __m256i m12 = _mm256_set1_epi32(0xfff), slots = _mm256_set1_epi32(PROB_SCALE - 1);
	const __m256i zero = _mm256_setzero_si256();
	const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
	const uint8_t *p = *pp;
	__m256i v[4];
	size_t i = 0;

	for (int r = 0; r < 4; r++)
		v[r] = _mm256_loadu_si256((const __m256i *)(x + 8 * r));
	for (; i + NS <= n && (size_t)(end - p) >= GROUP_BYTES; i += NS) {
		__m256i sym[4], need[4];
		unsigned int mask[4];

		/*
		 * The four steps first: they do not wait for each other's words.
		 * Both loops unrolled, so that v, sym and need stay in registers:
		 * rolled, GCC 12 kept them on the stack and the decoder was 25%
		 * slower.
		 */
		_Pragma("GCC unroll 4")
		for (int r = 0; r < 4; r++) {
			/*
			 * Eight loads, not vpgatherdd: measured 15-25% faster here
			 * (AMD EPYC), where a gather is slower than its loads. The
			 * slots leave the vector two at a time (3-5% faster than
			 * one vpextrd each).
			 */
			__m256i slot = _mm256_and_si256(v[r], slots);
			__m128i s0 = _mm256_castsi256_si128(slot), s1 = _mm256_extracti128_si256(slot, 1);
			uint64_t q0 = (uint64_t)_mm_cvtsi128_si64(s0), q1 = (uint64_t)_mm_extract_epi64(s0, 1);
			uint64_t q2 = (uint64_t)_mm_cvtsi128_si64(s1), q3 = (uint64_t)_mm_extract_epi64(s1, 1);
			__m256i t = _mm256_setr_epi32((int)tab[(uint32_t)q0], (int)tab[q0 >> 32],
						      (int)tab[(uint32_t)q1], (int)tab[q1 >> 32],
						      (int)tab[(uint32_t)q2], (int)tab[q2 >> 32],
						      (int)tab[(uint32_t)q3], (int)tab[q3 >> 32]);
			__m256i f = _mm256_and_si256(t, m12);
			__m256i bias = _mm256_sub_epi32(slot, _mm256_and_si256(_mm256_srli_epi32(t, 12), m12));

			sym[r] = _mm256_srli_epi32(t, 24);
			v[r] = _mm256_add_epi32(_mm256_mullo_epi32(f, _mm256_srli_epi32(v[r], 12)), bias);
			need[r] = _mm256_cmpeq_epi32(_mm256_srli_epi32(v[r], 16), zero);
			mask[r] = (unsigned int)_mm256_movemask_ps(_mm256_castsi256_ps(need[r]));
		}
		/* Then the words, in lane order: only the stream position is a chain. */
		_Pragma("GCC unroll 4")
		for (int r = 0; r < 4; r++) {
			__m256i words = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));

			words = _mm256_permutevar8x32_epi32(
			    words, _mm256_load_si256((const __m256i *)perm8[mask[r]]));
			v[r] = _mm256_blendv_epi8(v[r], _mm256_or_si256(_mm256_slli_epi32(v[r], 16), words),
						  need[r]);
			p += 2 * (unsigned int)__builtin_popcount(mask[r]);
		}
		/* 32 symbols of 32 bits to bytes: packs work per 128-bit half, vpermd puts them in order. */
		__m256i b = _mm256_packus_epi16(_mm256_packus_epi32(sym[0], sym[1]),
						_mm256_packus_epi32(sym[2], sym[3]));

		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_permutevar8x32_epi32(b, order));
	}
	for (int r = 0; r < 4; r++)
		_mm256_storeu_si256((__m256i *)(x + 8 * r), v[r]);
	*pp = p;
	return i;
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
/* Byte indices placing word number popcount(mask & ((1 << j) - 1)) in lane j (0xff: 0). */
static uint8_t perm4[16][16];

__attribute__((constructor)) static void perm4_init(void)
{
	for (unsigned int m = 0; m < 16; m++) {
		unsigned int r = 0;

		for (unsigned int j = 0; j < 4; j++) {
			bool take = m >> j & 1;

			for (unsigned int b = 0; b < 4; b++)
				perm4[m][4 * j + b] = take && b < 2 ? (uint8_t)(2 * r + b) : 0xff;
			r += take;
		}
	}
}

/* Whole groups of 32, four states a vector (no gather: the lookups are scalar). */
static size_t decode_neon(const uint32_t *restrict tab, uint32_t x[NS], uint8_t *restrict dst,
			  size_t n, const uint8_t **pp, const uint8_t *end)
{
	const uint32x4_t m12 = vdupq_n_u32(0xfff), lim = vdupq_n_u32(MFS_RANS_L);
	const uint32x4_t bits = {1, 2, 4, 8};
	const uint8_t *p = *pp;
	uint32x4_t v[8];
	size_t i = 0;

	for (int r = 0; r < 8; r++)
		v[r] = vld1q_u32(x + 4 * r);
	for (; i + NS <= n && (size_t)(end - p) >= GROUP_BYTES; i += NS) {
		_Pragma("GCC unroll 8")
		for (int r = 0; r < 8; r++) {
			uint32_t sl[4], tl[4];
			uint32x4_t t, need, slot = vandq_u32(v[r], vdupq_n_u32(PROB_SCALE - 1));
			unsigned int mask;
			uint8x16_t words;

			vst1q_u32(sl, slot);
			for (int l = 0; l < 4; l++) {
				tl[l] = tab[sl[l]];
				dst[i + 4 * r + l] = (uint8_t)(tl[l] >> 24);
			}
			t = vld1q_u32(tl);
			v[r] = vmlaq_u32(vsubq_u32(slot, vandq_u32(vshrq_n_u32(t, 12), m12)),
					 vandq_u32(t, m12), vshrq_n_u32(v[r], 12));
			need = vcltq_u32(v[r], lim);
			mask = vaddvq_u32(vandq_u32(need, bits));
			/* Eight bytes: a group of 32 reads at most 64, which the loop checked. */
			words = vqtbl1q_u8(vcombine_u8(vld1_u8(p), vdup_n_u8(0)), vld1q_u8(perm4[mask]));
			v[r] = vbslq_u32(need, vorrq_u32(vshlq_n_u32(v[r], 16), vreinterpretq_u32_u8(words)),
					 v[r]);
			p += 2 * (unsigned int)__builtin_popcount(mask);
		}
	}
	for (int r = 0; r < 8; r++)
		vst1q_u32(x + 4 * r, v[r]);
	*pp = p;
	return i;
}
#endif

int mfs_rans32_decode(uint8_t *restrict dst, size_t n, const uint8_t *restrict src,
		      size_t src_len, struct mfs_err *err)
{
	/* 8 more slots: runs are filled 8 at a time, the next run overwrites the excess. */
	uint32_t tab[PROB_SCALE + 8] __attribute__((aligned(32))), freqs[256], x[NS], c = 0;
	uint8_t syms[256];
	unsigned int nsym;
	const uint8_t *p, *end = src + src_len;
	ssize_t hdr = mfs_rans_table_read(src, src_len, syms, freqs, &nsym, err);
	size_t i = 0;

	if (hdr < 0)
		return (int)hdr;
	for (unsigned int k = 0; k < nsym; k++) {
		uint32_t t = freqs[k] | c << 12 | (uint32_t)syms[k] << 24, run[8];

		for (unsigned int j = 0; j < 8; j++)
			run[j] = t;
		for (uint32_t slot = c; slot < c + freqs[k]; slot += 8)
			memcpy(tab + slot, run, sizeof(run));
		c += freqs[k];
	}
	if (src_len - (size_t)hdr < NS * 4)
		return mfs_err_set(err, -EFSCORRUPTED, "rans32: truncated states");
	p = src + hdr;
	for (unsigned int k = 0; k < NS; k++, p += 4) {
		x[k] = get_le32(p);
		if (x[k] < MFS_RANS_L)
			return mfs_err_set(err, -EFSCORRUPTED, "rans32: bad initial state");
	}
	if ((end - p) % 2)
		return mfs_err_set(err, -EFSCORRUPTED, "rans32: odd stream length");
	if (!mfs_codec_scalar_forced()) {
#if defined(__x86_64__)
		if (mfs_cpu_avx2())
			i = decode_avx2(tab, x, dst, n, &p, end);
#elif defined(__aarch64__) && defined(__ARM_NEON)
		i = decode_neon(tab, x, dst, n, &p, end);
#endif
	}
	if (decode_scalar(tab, x, dst, i, n, &p, end))
		return mfs_err_set(err, -EFSCORRUPTED, "rans32: truncated data");
	if (p != end)
		return mfs_err_set(err, -EFSCORRUPTED, "rans32: data does not decode");
	for (unsigned int k = 0; k < NS; k++)
		if (x[k] != MFS_RANS_L)
			return mfs_err_set(err, -EFSCORRUPTED, "rans32: data does not decode");
	return 0;
}
