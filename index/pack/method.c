/* SPDX-License-Identifier: MIT */
/*
 * method.c - per-tensor coding methods (see method.h).
 */
#include "method.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block.h"
#include "dtype.h"
#include "planes.h"
#include "xform.h"

struct mfs_method mfs_method_zstd(int level)
{
	return (struct mfs_method){.codec = MFS_CODEC_ZSTD, .xform = MFS_XFORM_NONE,
				   .level = level ? level : mfs_codec_get(MFS_CODEC_ZSTD)->default_level};
}

/* The plane transform for @dtype: fields where known, else bytes by element size. */
static bool plane_xform(unsigned int dtype, uint8_t *xform, uint32_t *xparam)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(dtype);

	if (mfs_xform_fields_knows(dtype)) {
		*xform = MFS_XFORM_FIELDS;
		*xparam = dtype;
		return true;
	}
	if (dt && dt->block_elems == 1 && (dt->block_bytes == 2 || dt->block_bytes == 4 ||
					    dt->block_bytes == 8)) {
		*xform = MFS_XFORM_BYTES;
		*xparam = dt->block_bytes;
		return true;
	}
	*xform = MFS_XFORM_NONE;
	*xparam = 0;
	return false;
}

struct mfs_method mfs_method_planes(unsigned int dtype, int level)
{
	struct mfs_method m = {.codec = MFS_CODEC_PLANES,
			       .level = level ? level : MFS_PLANES_LEVEL_BEST};

	plane_xform(dtype, &m.xform, &m.xparam);
	return m;
}

unsigned int mfs_method_candidates(unsigned int dtype, int zstd_level, bool fast,
				   struct mfs_method out[MFS_METHOD_MAX])
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(dtype);
	unsigned int n = 0;

	out[n++] = mfs_method_planes(dtype, MFS_PLANES_LEVEL_BEST);
	if (fast)
		out[n++] = mfs_method_planes(dtype, MFS_PLANES_LEVEL_FAST);
	/* Floats with a field split also try plain byte planes. */
	if (out[0].xform == MFS_XFORM_FIELDS && dt && dt->block_elems == 1)
		out[n++] = (struct mfs_method){.codec = MFS_CODEC_PLANES, .level = MFS_PLANES_LEVEL_BEST,
					       .xform = MFS_XFORM_BYTES, .xparam = dt->block_bytes};
	out[n++] = mfs_method_zstd(zstd_level);
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int mfs_method_choose(struct mfs_cctx *cctx, struct mfs_dctx *dctx,
		      const struct mfs_method *cand, unsigned int n, const uint8_t *const *samples,
		      const size_t *lens, unsigned int ns, double min_decode_mbs,
		      struct mfs_method_trial *trials, struct mfs_err *err)
{
	size_t maxlen = 0, total = 0, cap;
	uint8_t **enc, *out;
	size_t *elen;
	int best = -1, fastest = 0, r = 0;

	for (unsigned int s = 0; s < ns; s++) {
		total += lens[s];
		if (lens[s] > maxlen)
			maxlen = lens[s];
	}
	cap = 0;
	for (unsigned int i = 0; i < n; i++) {
		size_t b = mfs_block_bound(cand[i].codec, cand[i].xform, cand[i].xparam, maxlen);

		if (b > cap)
			cap = b;
	}
	enc = calloc(ns, sizeof(*enc));
	elen = calloc(ns, sizeof(*elen));
	out = malloc(maxlen ? maxlen : 1);
	for (unsigned int s = 0; enc && s < ns; s++)
		if (!(enc[s] = malloc(cap)))
			r = -ENOMEM;
	if (!enc || !elen || !out || r) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct mfs_method *m = &cand[i];
		double secs = 1e30;

		trials[i].stored = 0;
		for (unsigned int s = 0; s < ns; s++) {
			ssize_t e = mfs_block_encode(cctx, m->codec, m->level, m->xform, m->xparam,
						     enc[s], cap, samples[s], lens[s], err);

			if (e < 0) {
				r = (int)e;
				goto out;
			}
			elen[s] = (size_t)e;
			trials[i].stored += (size_t)e;
		}
		/* Best of two: the machine may be busy, the code is not slower. */
		for (int rep = 0; rep < 2; rep++) {
			double t0 = now();

			for (unsigned int s = 0; s < ns; s++) {
				r = mfs_block_decode(dctx, m->codec, m->xform, m->xparam, out, lens[s],
						     enc[s], elen[s], err);
				if (r)
					goto out;
				if (rep == 0 && memcmp(out, samples[s], lens[s]) != 0) {
					r = mfs_err_set(err, -EIO, "method %u does not round-trip", i);
					goto out;
				}
			}
			if (now() - t0 < secs)
				secs = now() - t0;
		}
		trials[i].decode_mbs = secs > 0 ? (double)total / secs / 1e6 : 1e9;
		if (trials[i].decode_mbs > trials[fastest].decode_mbs)
			fastest = (int)i;
		if (trials[i].decode_mbs >= min_decode_mbs &&
		    (best < 0 || trials[i].stored < trials[best].stored))
			best = (int)i;
	}
	r = best >= 0 ? best : fastest;
out:
	for (unsigned int s = 0; enc && s < ns; s++)
		free(enc[s]);
	free(enc);
	free(elen);
	free(out);
	return r;
}

const char *mfs_method_name(char *buf, size_t len, unsigned int codec, unsigned int xform)
{
	if (xform == MFS_XFORM_NONE)
		snprintf(buf, len, "%s", mfs_codec_name(codec));
	else
		snprintf(buf, len, "%s/%s", mfs_codec_name(codec), mfs_xform_name(xform));
	return buf;
}
