/* SPDX-License-Identifier: MIT */
/*
 * gguf_write.h - a minimal GGUF v3 writer for the test model generator.
 *
 * Key-values are appended to a byte buffer as they are added (or copied raw
 * from another GGUF file), tensors are declared with their shapes, and
 * gw_header() produces everything up to the aligned start of tensor data. The
 * caller then writes each tensor's bytes in declaration order followed by
 * gw_padding() zero bytes - the layout ggml requires.
 */
#ifndef MFS_GEN_GGUF_WRITE_H
#define MFS_GEN_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_tensor {
	char name[64];
	uint32_t type;
	uint32_t ndim;
	uint64_t ne[4];
	uint64_t size;
	uint64_t offset; /* relative to the data section */
};

struct gw {
	uint8_t *kv;
	size_t kv_len, kv_cap;
	uint64_t n_kv;
	struct gw_tensor *t;
	uint32_t nt, cap;
	uint32_t alignment;
	bool oom;
};

void gw_init(struct gw *g);
void gw_free(struct gw *g);
void gw_kv_str(struct gw *g, const char *key, const char *v);
void gw_kv_u32(struct gw *g, const char *key, uint32_t v);
void gw_kv_f32(struct gw *g, const char *key, float v);
void gw_kv_bool(struct gw *g, const char *key, bool v);
void gw_kv_arr_str(struct gw *g, const char *key, char *const *v, uint64_t n);
void gw_kv_arr_f32(struct gw *g, const char *key, const float *v, uint64_t n);
void gw_kv_arr_i32(struct gw *g, const char *key, const int32_t *v, uint64_t n);
/* Append an already encoded key-value pair (key length through value). */
void gw_kv_raw(struct gw *g, const void *pair, size_t len);
/* Append all key-value pairs of @src. */
void gw_append(struct gw *g, const struct gw *src);
/* Declare a tensor; returns its index or -1 (bad type, name too long). */
int gw_add_tensor(struct gw *g, const char *name, uint32_t type, uint32_t ndim,
		  const uint64_t *ne);
/* Header, key-values, tensor infos and padding; malloc'd, caller frees. */
uint8_t *gw_header(struct gw *g, size_t *len);
/* Zero bytes to write after tensor @i. */
uint64_t gw_padding(const struct gw *g, uint32_t i);

#endif
