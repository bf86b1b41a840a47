/* SPDX-License-Identifier: MIT */
/*
 * planes.c - per-plane coding (see planes.h).
 */
#include "planes.h"

#include <stdbool.h>
#include <string.h>

#include "codec_i.h"
#include "rans.h"
#include "rans32.h"

/* Planes whose entropy is above this (bits per byte) save < 1%: store them raw. */
#define RAW_ENTROPY 7.92
/*
 * Planes this large get the 32-state coder (vector decoders), whatever their
 * histogram; smaller ones the 4-state coder or zstd (below), whose headers are
 * 112 bytes smaller (a 1 KiB plane of an F32 norm vector would not shrink by
 * 1% otherwise). At 4 KiB the two scale-byte planes of a 256 KiB Q8_0 chunk
 * (7.7 KiB each) are in: 6% faster for Q8_0, for 0.02% of its size.
 */
#define RANS32_MIN 4096u
/* Below RANS32_MIN, rANS only where Huffman would lose more than this to the entropy. */
#define HUFFMAN_SLACK 1.01
/* A flat plane's zstd coding replaces its rans32 one if smaller by more than this. */
#define ZSTD_WINS 0.001

/*
 * Bits a Huffman code would spend on a histogram (code lengths by the usual
 * merge of the two rarest; a quadratic scan is fine for 256 symbols). On flat
 * planes (quants) Huffman is within a fraction of a percent of the entropy and,
 * for a small plane, zstd's decoder is faster than the 4-state rANS; on skewed
 * ones (exponents: one symbol near 40%) it loses 5-8%, and rANS earns its keep.
 */
static double huffman_bits(const uint32_t counts[256])
{
	uint64_t w[512];
	int parent[512], n = 0, live[512], nlive = 0;
	double bits = 0;

	for (int s = 0; s < 256; s++) {
		if (counts[s]) {
			w[n] = counts[s];
			parent[n] = -1;
			live[nlive++] = n++;
		}
	}
	if (n < 2)
		return 0;
	while (nlive > 1) {
		int a = 0, b = 1, node;

		if (w[live[b]] < w[live[a]]) {
			a = 1;
			b = 0;
		}
		for (int i = 2; i < nlive; i++) {
			if (w[live[i]] < w[live[a]]) {
				b = a;
				a = i;
			} else if (w[live[i]] < w[live[b]]) {
				b = i;
			}
		}
		node = n++;
		w[node] = w[live[a]] + w[live[b]];
		parent[node] = -1;
		parent[live[a]] = parent[live[b]] = node;
		live[a > b ? a : b] = live[--nlive];
		live[a < b ? a : b] = node;
	}
	for (int leaf = 0, s = 0; s < 256; s++) {
		int depth = 0;

		if (!counts[s])
			continue;
		for (int k = leaf++; parent[k] >= 0; k = parent[k])
			depth++;
		bits += (double)counts[s] * depth;
	}
	return bits;
}

static size_t put_leb(uint8_t *p, uint32_t v)
{
	size_t k = 0;

	while (v >= 0x80) {
		p[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[k++] = (uint8_t)v;
	return k;
}

static int get_leb(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	uint32_t x = 0;

	for (unsigned int shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*p >= end)
			return -1;
		b = *(*p)++;
		if (shift == 28 && b > 0x0f)
			return -1;
		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

size_t mfs_planes_bound(const size_t *sizes, unsigned int n)
{
	size_t b = 1 + (size_t)n * 6;

	for (unsigned int i = 0; i < n; i++) {
		size_t r = mfs_rans_bound(sizes[i]), r32 = mfs_rans32_bound(sizes[i]);
		size_t z = ZSTD_compressBound(sizes[i]);

		r = r > r32 ? r : r32;
		b += r > z ? r : z;
	}
	return b;
}

/* zstd with matches of 7 bytes or more only: practically literals-only, Huffman-coded. */
static ssize_t zstd_literals(struct mfs_cctx *cctx, void *dst, size_t cap, const uint8_t *src,
			     size_t len, struct mfs_err *err)
{
	ZSTD_CCtx *z = mfs_cctx_zstd(cctx);
	size_t r;

	if (!z)
		return -ENOMEM;
	ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(z, ZSTD_c_strategy, ZSTD_fast);
	ZSTD_CCtx_setParameter(z, ZSTD_c_minMatch, 7);
	r = ZSTD_compress2(z, dst, cap, src, len);
	ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(r))
		return mfs_err_set(err, -ENOSPC, "zstd: %s", ZSTD_getErrorName(r));
	return (ssize_t)r;
}

/*
 * Codes a plane with an entropy coder; sets *@method. Level 1: zstd. Level 2:
 * rans32 from RANS32_MIN bytes; below, rans where Huffman would lose more
 * than HUFFMAN_SLACK to the entropy, zstd where it would not. On a flat
 * plane (Huffman within the slack) of RANS32_MIN or more, zstd is tried too
 * and kept if it is smaller by more than ZSTD_WINS: its Huffman tables are
 * smaller than the rANS frequency table and adapt to each 128 KiB block, and
 * on Q6_K's planes that was 0.4% of the model.
 */
static ssize_t encode_skewed(struct mfs_cctx *cctx, int level, uint8_t *dst, size_t cap,
			     const uint8_t *src, size_t len, const uint32_t counts[256], double h0,
			     uint8_t *method, struct mfs_err *err)
{
	bool flat;
	ssize_t r, z;
	uint8_t *alt;

	*method = MFS_PLANE_ZSTD;
	if (level != MFS_PLANES_LEVEL_BEST)
		return zstd_literals(cctx, dst, cap, src, len, err);
	flat = huffman_bits(counts) <= HUFFMAN_SLACK * h0 * (double)len;
	if (len < RANS32_MIN) {
		if (flat)
			return zstd_literals(cctx, dst, cap, src, len, err);
		*method = MFS_PLANE_RANS;
		return mfs_rans_encode(dst, cap, src, len, err);
	}
	*method = MFS_PLANE_RANS32;
	r = mfs_rans32_encode_counted(dst, cap, src, len, counts, err);
	if (r < 0 || !flat)
		return r;
	alt = mfs_cctx_scratch(cctx, MFS_SCRATCH_PLANE, ZSTD_compressBound(len));
	if (!alt)
		return -ENOMEM;
	z = zstd_literals(cctx, alt, ZSTD_compressBound(len), src, len, err);
	if (z < 0 && z != -ENOSPC)
		return z;
	if (z > 0 && (double)z < (1.0 - ZSTD_WINS) * (double)r) {
		memcpy(dst, alt, (size_t)z);
		*method = MFS_PLANE_ZSTD;
		return z;
	}
	return r;
}

/* Codes one plane into @dst; sets *@method. Returns the stored length. */
static ssize_t encode_plane(struct mfs_cctx *cctx, int level, uint8_t *dst, size_t cap,
			    const uint8_t *src, size_t len, uint8_t *method, struct mfs_err *err)
{
	uint32_t counts[256];
	unsigned int nsym = 0;
	ssize_t r;

	*method = MFS_PLANE_RAW;
	if (len > 0) {
		mfs_histogram(src, len, counts);
		for (int s = 0; s < 256; s++)
			nsym += counts[s] != 0;
		if (nsym == 1) {
			if (cap < 1)
				return -ENOSPC;
			*method = MFS_PLANE_CONST;
			dst[0] = src[0];
			return 1;
		}
		double h0 = mfs_entropy0(counts, len);

		if (h0 < RAW_ENTROPY) {
			r = encode_skewed(cctx, level, dst, cap, src, len, counts, h0, method, err);
			if (r < 0 && r != -ENOSPC)
				return r;
			if (r > 0 && (size_t)r * 100 < len * 99)
				return r;
		}
	}
	*method = MFS_PLANE_RAW;
	if (len > cap)
		return mfs_err_set(err, -ENOSPC, "planes: output buffer too small");
	memcpy(dst, src, len);
	return (ssize_t)len;
}

ssize_t mfs_planes_encode(struct mfs_cctx *cctx, int level, void *dst, size_t cap,
			  const uint8_t *src, const size_t *sizes, unsigned int n,
			  struct mfs_err *err)
{
	uint8_t *out = dst, methods[MFS_PLANES_MAX], *body;
	size_t stored[MFS_PLANES_MAX], hdr = 1, used = 0;

	if (n == 0 || n > MFS_PLANES_MAX)
		return mfs_err_set(err, -EINVAL, "planes: %u planes", n);
	if (level == 0)
		level = MFS_PLANES_LEVEL_BEST;
	if (level != MFS_PLANES_LEVEL_FAST && level != MFS_PLANES_LEVEL_BEST)
		return mfs_err_set(err, -EINVAL, "planes: level %d", level);
	if (cap < 1 + (size_t)n * 6)
		return mfs_err_set(err, -ENOSPC, "planes: output buffer too small");
	/* Code the planes after room for the largest header, then close the gap. */
	body = out + 1 + n * 6;
	for (unsigned int i = 0; i < n; i++) {
		ssize_t r = encode_plane(cctx, level, body + used, cap - (size_t)(body - out) - used,
					 src, sizes[i], &methods[i], err);

		if (r < 0)
			return r;
		stored[i] = (size_t)r;
		used += (size_t)r;
		src += sizes[i];
	}
	out[0] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		out[hdr++] = methods[i];
		hdr += put_leb(out + hdr, (uint32_t)stored[i]);
	}
	memmove(out + hdr, body, used);
	return (ssize_t)(hdr + used);
}

bool mfs_planes_use(const uint8_t *src, size_t src_len, unsigned int method)
{
	const uint8_t *p = src, *end = src + src_len;
	uint32_t len;

	if (src_len < 1 || src[0] > MFS_PLANES_MAX)
		return false;
	for (unsigned int i = 0, n = *p++; i < n; i++) {
		if (p >= end)
			return false;
		if (*p++ == method)
			return true;
		if (get_leb(&p, end, &len))
			return false;
	}
	return false;
}

int mfs_planes_decode(struct mfs_dctx *dctx, uint8_t *dst, const uint8_t **planes,
		      const size_t *sizes, unsigned int n, const uint8_t *src, size_t src_len,
		      struct mfs_err *err)
{
	const uint8_t *p = src, *end = src + src_len;
	uint32_t stored[MFS_PLANES_MAX];
	uint8_t methods[MFS_PLANES_MAX];
	uint64_t total = 0;

	if (src_len < 1 || src[0] != n)
		return mfs_err_set(err, -EFSCORRUPTED, "planes: header names %u planes, expected %u",
				   src_len ? src[0] : 0, n);
	p++;
	for (unsigned int i = 0; i < n; i++) {
		if (p >= end || *p >= MFS_PLANE_METHOD_NR)
			return mfs_err_set(err, -EFSCORRUPTED, "planes: plane %u: bad method", i);
		methods[i] = *p++;
		if (get_leb(&p, end, &stored[i]))
			return mfs_err_set(err, -EFSCORRUPTED, "planes: plane %u: bad length", i);
		total += stored[i];
		if ((methods[i] == MFS_PLANE_RAW && stored[i] != sizes[i]) ||
		    (methods[i] == MFS_PLANE_CONST && (stored[i] != 1 || sizes[i] == 0)))
			return mfs_err_set(err, -EFSCORRUPTED, "planes: plane %u: length %u "
					   "impossible for %zu bytes", i, stored[i], sizes[i]);
	}
	if (total != (uint64_t)(end - p))
		return mfs_err_set(err, -EFSCORRUPTED, "planes: lengths add up to %llu of %zu bytes",
				   (unsigned long long)total, (size_t)(end - p));
	for (unsigned int i = 0; i < n; i++) {
		int r = 0;

		if (planes)
			planes[i] = methods[i] == MFS_PLANE_RAW ? p : dst;
		switch (methods[i]) {
		case MFS_PLANE_RAW:
			if (sizes[i] && !planes)
				memcpy(dst, p, sizes[i]);
			break;
		case MFS_PLANE_CONST:
			memset(dst, p[0], sizes[i]);
			break;
		case MFS_PLANE_RANS:
			r = mfs_rans_decode(dst, sizes[i], p, stored[i], err);
			break;
		case MFS_PLANE_RANS32:
			r = mfs_rans32_decode(dst, sizes[i], p, stored[i], err);
			break;
		case MFS_PLANE_ZSTD: {
			ZSTD_DCtx *z = mfs_dctx_zstd(dctx);
			size_t d;

			if (!z)
				return -ENOMEM;
			d = ZSTD_decompressDCtx(z, dst, sizes[i], p, stored[i]);
			if (ZSTD_isError(d) || d != sizes[i])
				r = mfs_err_set(err, -EFSCORRUPTED, "zstd: %s",
						ZSTD_isError(d) ? ZSTD_getErrorName(d) : "short plane");
			break;
		}
		}
		if (r)
			return mfs_err_prefix(err, r, "planes: plane %u", i);
		dst += sizes[i];
		p += stored[i];
	}
	return 0;
}
