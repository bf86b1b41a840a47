/* SPDX-License-Identifier: MIT */
/*
 * weights.c - synthetic weights (see weights.h). xoshiro256** seeded with
 * splitmix64; Box-Muller normals. Deterministic for a seed on every platform.
 */
#include "weights.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "le.h"

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_normal(struct rng *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void weights_fill(float *dst, uint64_t rows, uint64_t cols, double sigma, double mean,
		  uint64_t seed)
{
	struct rng r;

	rng_seed(&r, seed);
	for (uint64_t i = 0; i < rows; i++) {
		double scale = sigma * exp(0.3 * rng_normal(&r));
		float *row = dst + i * cols;

		for (uint64_t j = 0; j < cols; j++) {
			double v = rng_normal(&r) * scale;

			if ((rng_next(&r) & 1023) == 0)
				v *= 5.0 + 15.0 * rng_uniform(&r);
			row[j] = (float)(mean + v);
		}
	}
}

uint16_t f32_to_f16(float f)
{
	uint32_t x, sign, mant, r, rem;
	int32_t exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000u;
	mant = x & 0x7fffffu;
	if (((x >> 23) & 0xffu) == 0xffu)
		return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
	exp = (int32_t)((x >> 23) & 0xffu) - 127 + 15;
	if (exp >= 31)
		return (uint16_t)(sign | 0x7c00u);
	if (exp <= 0) {
		uint32_t shift, half;

		if (exp < -10)
			return (uint16_t)sign;
		mant |= 0x800000u;
		shift = (uint32_t)(14 - exp);
		half = 1u << (shift - 1);
		r = mant >> shift;
		rem = mant & ((1u << shift) - 1);
		if (rem > half || (rem == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	r = ((uint32_t)exp << 10) | (mant >> 13);
	rem = mant & 0x1fffu;
	if (rem > 0x1000u || (rem == 0x1000u && (r & 1)))
		r++; /* a carry into the exponent rounds up correctly, to inf at worst */
	return (uint16_t)(sign | r);
}

uint16_t f32_to_bf16(float f)
{
	uint32_t x;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
	return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void quantize_q8_0(uint8_t *dst, const float *src, uint64_t n)
{
	for (uint64_t b = 0; b < n / 32; b++, dst += 34, src += 32) {
		float amax = 0.0f, d, id;

		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(src[j]));
		d = amax / 127.0f;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		put_le16(dst, f32_to_f16(d));
		for (int j = 0; j < 32; j++)
			dst[2 + j] = (uint8_t)(int8_t)roundf(src[j] * id);
	}
}

void quantize_q4_0(uint8_t *dst, const float *src, uint64_t n)
{
	for (uint64_t b = 0; b < n / 32; b++, dst += 18, src += 32) {
		float amax = 0.0f, max = 0.0f, d, id;

		for (int j = 0; j < 32; j++) {
			if (fabsf(src[j]) > amax) {
				amax = fabsf(src[j]);
				max = src[j];
			}
		}
		d = max / -8.0f;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		put_le16(dst, f32_to_f16(d));
		for (int j = 0; j < 16; j++) {
			int x0 = (int)(int8_t)(src[j] * id + 8.5f);
			int x1 = (int)(int8_t)(src[16 + j] * id + 8.5f);

			x0 = x0 > 15 ? 15 : x0;
			x1 = x1 > 15 ? 15 : x1;
			dst[2 + j] = (uint8_t)(x0 | (x1 << 4));
		}
	}
}

int weights_encode(uint8_t *dst, const float *src, uint64_t n, unsigned int dtype)
{
	switch (dtype) {
	case MFS_DT_F32:
		for (uint64_t i = 0; i < n; i++) {
			uint32_t x;

			memcpy(&x, &src[i], 4);
			put_le32(dst + 4 * i, x);
		}
		return 0;
	case MFS_DT_F16:
		for (uint64_t i = 0; i < n; i++)
			put_le16(dst + 2 * i, f32_to_f16(src[i]));
		return 0;
	case MFS_DT_BF16:
		for (uint64_t i = 0; i < n; i++)
			put_le16(dst + 2 * i, f32_to_bf16(src[i]));
		return 0;
	case MFS_DT_Q8_0:
		if (n % 32)
			return -EINVAL;
		quantize_q8_0(dst, src, n);
		return 0;
	case MFS_DT_Q4_0:
		if (n % 32)
			return -EINVAL;
		quantize_q4_0(dst, src, n);
		return 0;
	default:
		return -EINVAL;
	}
}
