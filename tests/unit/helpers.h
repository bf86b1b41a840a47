/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared by the unit tests: a growable byte builder for crafting
 * file images, an in-memory struct mfs_src that can be told to fail, and
 * deterministic random bytes. Header-only: each test binary includes it once.
 */
#ifndef MFS_TEST_HELPERS_H
#define MFS_TEST_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "le.h"

struct bb {
	uint8_t *p;
	size_t len, cap;
};

static inline void bb_put(struct bb *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void bb_u8(struct bb *b, uint8_t v)
{
	bb_put(b, &v, 1);
}

static inline void bb_u32(struct bb *b, uint32_t v)
{
	uint8_t x[4];

	put_le32(x, v);
	bb_put(b, x, 4);
}

static inline void bb_u64(struct bb *b, uint64_t v)
{
	uint8_t x[8];

	put_le64(x, v);
	bb_put(b, x, 8);
}

static inline void bb_str(struct bb *b, const char *s)
{
	bb_u64(b, strlen(s));
	bb_put(b, s, strlen(s));
}

static inline void bb_zero(struct bb *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bb_u8(b, 0);
}

static inline void bb_free(struct bb *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* An in-memory source; fail_at >= 0 makes reads touching that offset fail with -EIO. */
struct memsrc {
	const uint8_t *buf;
	size_t len;
	int64_t fail_at;
	unsigned int reads;
};

static inline ssize_t memsrc_pread(void *priv, void *dst, size_t len, uint64_t off)
{
	struct memsrc *m = priv;

	m->reads++;
	if (m->fail_at >= 0 && (uint64_t)m->fail_at >= off && (uint64_t)m->fail_at < off + len)
		return -EIO;
	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	/* Short reads on purpose: callers must loop. */
	if (len > 4096)
		len = 4096 + (off % 7);
	memcpy(dst, m->buf + off, len);
	return (ssize_t)len;
}

static inline struct mfs_src memsrc_make(struct memsrc *m, const void *buf, size_t len)
{
	m->buf = buf;
	m->len = len;
	m->fail_at = -1;
	m->reads = 0;
	return (struct mfs_src){.pread = memsrc_pread, .priv = m, .size = len};
}

static inline void fill_random(void *dst, size_t n, uint64_t seed)
{
	uint8_t *p = dst;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

#endif
