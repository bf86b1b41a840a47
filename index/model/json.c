/* SPDX-License-Identifier: MIT */
/*
 * json.c - strict JSON cursor (see json.h).
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

void json_init(struct json *j, const char *buf, size_t len, struct mfs_err *err)
{
	j->start = buf;
	j->p = buf;
	j->end = buf + len;
	j->err = err;
}

int json_fail(struct json *j, const char *what)
{
	return mfs_err_set(j->err, -EFSCORRUPTED, "header JSON: %s at byte %zu", what,
			   (size_t)(j->p - j->start));
}

int json_open(struct json *j, char open, char close)
{
	int r = json_expect(j, open);

	if (r)
		return r;
	if (json_peek(j) != (unsigned char)close)
		return 0;
	j->p++;
	return 1;
}

int json_next(struct json *j, char close)
{
	char what[32];
	int c = json_peek(j);

	if (c == ',' || c == (unsigned char)close) {
		j->p++;
		return c == ',';
	}
	snprintf(what, sizeof(what), "expected ',' or '%c'", close);
	return json_fail(j, what);
}

int json_members(struct json *j, int (*member)(struct json *j, const char *key, void *arg),
		 void *arg)
{
	char key[128];
	size_t kl;
	int more = json_open(j, '{', '}'), r;

	while (more == 0) {
		r = json_string(j, key, sizeof(key), &kl, "key");
		if (!r)
			r = json_expect(j, ':');
		if (!r)
			r = member(j, key, arg);
		if (r < 0)
			return r;
		more = json_next(j, '}');
		if (more >= 0)
			more = !more;
	}
	return more < 0 ? more : 0;
}

int json_elements(struct json *j, int (*element)(struct json *j, void *arg), void *arg)
{
	int more = json_open(j, '[', ']'), r;

	while (more == 0) {
		r = element(j, arg);
		if (r < 0)
			return r;
		more = json_next(j, ']');
		if (more >= 0)
			more = !more;
	}
	return more < 0 ? more : 0;
}

void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

int json_peek(struct json *j)
{
	json_ws(j);
	return j->p < j->end ? (unsigned char)*j->p : -1;
}

int json_expect(struct json *j, char c)
{
	char what[32];

	if (json_peek(j) != (unsigned char)c) {
		snprintf(what, sizeof(what), "expected '%c'", c);
		return json_fail(j, what);
	}
	j->p++;
	return 0;
}

static int hex4(struct json *j, uint32_t *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return json_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *j->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return json_fail(j, "bad \\u escape");
	}
	return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int json_string(struct json *j, char *out, size_t cap, size_t *len, const char *what)
{
	size_t n = 0;
	char tmp[4];
	int r;

	r = json_expect(j, '"');
	if (r)
		return r;
	for (;;) {
		const char *piece = tmp;
		size_t plen;
		unsigned char c;

		if (j->p >= j->end)
			return json_fail(j, "unterminated string");
		c = (unsigned char)*j->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return json_fail(j, "control character in string");
		if (c != '\\') {
			tmp[0] = (char)c;
			plen = 1;
		} else {
			uint32_t cp, lo;

			if (j->p >= j->end)
				return json_fail(j, "unterminated escape");
			c = (unsigned char)*j->p++;
			switch (c) {
			case '"': case '\\': case '/':
				tmp[0] = (char)c;
				plen = 1;
				break;
			case 'b': tmp[0] = '\b'; plen = 1; break;
			case 'f': tmp[0] = '\f'; plen = 1; break;
			case 'n': tmp[0] = '\n'; plen = 1; break;
			case 'r': tmp[0] = '\r'; plen = 1; break;
			case 't': tmp[0] = '\t'; plen = 1; break;
			case 'u':
				r = hex4(j, &cp);
				if (r)
					return r;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return json_fail(j, "lone low surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
						return json_fail(j, "lone high surrogate");
					j->p += 2;
					r = hex4(j, &lo);
					if (r)
						return r;
					if (lo < 0xdc00 || lo > 0xdfff)
						return json_fail(j, "bad surrogate pair");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				plen = put_utf8(tmp, cp);
				break;
			default:
				return json_fail(j, "bad escape");
			}
		}
		if (n + plen >= cap) {
			char msg[96];

			snprintf(msg, sizeof(msg), "%s longer than %zu bytes", what, cap - 1);
			return json_fail(j, msg);
		}
		memcpy(out + n, piece, plen);
		n += plen;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}

int json_uint(struct json *j, uint64_t *v, const char *what)
{
	char msg[96];
	uint64_t x = 0;
	const char *s;

	json_ws(j);
	s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned int d = (unsigned int)(*j->p - '0');

		if (x > (UINT64_MAX - d) / 10) {
			snprintf(msg, sizeof(msg), "%s does not fit in 64 bits", what);
			return json_fail(j, msg);
		}
		x = x * 10 + d;
		j->p++;
	}
	if (j->p == s || (j->p - s > 1 && *s == '0') ||
	    (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))) {
		snprintf(msg, sizeof(msg), "%s is not a non-negative integer", what);
		return json_fail(j, msg);
	}
	*v = x;
	return 0;
}

int json_null(struct json *j)
{
	json_ws(j);
	if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return 1;
	}
	return 0;
}

static int skip_number(struct json *j)
{
	const char *s;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	if (j->p == s || (j->p - s > 1 && *s == '0'))
		return json_fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		s = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == s)
			return json_fail(j, "bad number");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		s = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == s)
			return json_fail(j, "bad number");
	}
	return 0;
}

static int skip_literal(struct json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return json_fail(j, "unexpected token");
	j->p += n;
	return 0;
}

static int skip_string(struct json *j)
{
	int r = json_expect(j, '"');

	if (r)
		return r;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return json_fail(j, "control character in string");
		if (c == '\\') {
			if (j->p >= j->end)
				break;
			c = (unsigned char)*j->p++;
			if (c == 'u') {
				uint32_t cp;

				r = hex4(j, &cp);
				if (r)
					return r;
			} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
				return json_fail(j, "bad escape");
			}
		}
	}
	return json_fail(j, "unterminated string");
}

static int skip_depth(struct json *j, int depth)
{
	int c = json_peek(j), r;

	if (depth > JSON_MAX_DEPTH)
		return json_fail(j, "nesting too deep");
	switch (c) {
	case '"':
		return skip_string(j);
	case '{':
		r = json_open(j, '{', '}');
		if (r)
			return r < 0 ? r : 0;
		do {
			r = skip_string(j);
			if (!r)
				r = json_expect(j, ':');
			if (!r)
				r = skip_depth(j, depth + 1);
			if (r)
				return r;
		} while ((r = json_next(j, '}')) == 1);
		return r;
	case '[':
		r = json_open(j, '[', ']');
		if (r)
			return r < 0 ? r : 0;
		do {
			r = skip_depth(j, depth + 1);
			if (r)
				return r;
		} while ((r = json_next(j, ']')) == 1);
		return r;
	case 't':
		return skip_literal(j, "true");
	case 'f':
		return skip_literal(j, "false");
	case 'n':
		return skip_literal(j, "null");
	case -1:
		return json_fail(j, "unexpected end");
	default:
		return skip_number(j);
	}
}

int json_skip(struct json *j)
{
	return skip_depth(j, 0);
}

void json_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned int n = mfs_utf8_len(p, 4) /* the NUL stops it */;

		if (n == 0) {
			fputs("\\ufffd", f); /* not UTF-8: the replacement character */
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}
