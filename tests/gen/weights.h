/* SPDX-License-Identifier: MIT */
/*
 * weights.h - synthetic weights and their encodings, for the test model
 * generator: a seeded PRNG, Gaussian rows with per-row scale variation and
 * rare outliers (what real checkpoints look like to a compressor), and
 * conversions to F16, BF16 and ggml's reference Q8_0 / Q4_0 quantization.
 */
#ifndef MFS_GEN_WEIGHTS_H
#define MFS_GEN_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_uniform(struct rng *r); /* [0, 1) */
double rng_normal(struct rng *r);

/*
 * Fill @rows rows of @cols floats: row scale sigma * exp(0.3 N(0,1)), values
 * N(0, scale), one in a thousand multiplied by 5..20. With @mean non-zero
 * (norm weights) values are mean + that.
 */
void weights_fill(float *dst, uint64_t rows, uint64_t cols, double sigma, double mean,
		  uint64_t seed);

uint16_t f32_to_f16(float f);
uint16_t f32_to_bf16(float f);

/* ggml reference quantizers: @n must be a multiple of 32. */
void quantize_q8_0(uint8_t *dst, const float *src, uint64_t n);
void quantize_q4_0(uint8_t *dst, const float *src, uint64_t n);

/* Encode @n floats as ggml/safetensors type @dtype (enum mfs_dtype) into @dst. */
int weights_encode(uint8_t *dst, const float *src, uint64_t n, unsigned int dtype);

#endif
