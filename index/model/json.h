/* SPDX-License-Identifier: MIT */
/*
 * json.h - a small strict JSON reader, for safetensors headers and the
 * remote sources' listings and OCI manifests, and a string writer.
 *
 * A cursor over a bounded buffer: no allocation, recursion only in
 * json_skip() and bounded by JSON_MAX_DEPTH. Strings are decoded (escapes,
 * surrogate pairs) into caller buffers; numbers are read only as unsigned
 * integers, which is all safetensors needs. Anything RFC 8259 does not allow
 * is an error, reported as -EFSCORRUPTED with the byte offset.
 */
#ifndef MFS_JSON_H
#define MFS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define JSON_MAX_DEPTH 64

struct json {
	const char *start;
	const char *p;
	const char *end;
	struct mfs_err *err;
};

void json_init(struct json *j, const char *buf, size_t len, struct mfs_err *err);
void json_ws(struct json *j);
/* The next non-space character, or -1 at the end. */
int json_peek(struct json *j);
/* Consumes @c (after whitespace) or fails. */
int json_expect(struct json *j, char c);
/*
 * Reads a string into @out (cap bytes, NUL-terminated on success); *@len gets
 * the decoded length. Strings longer than cap-1 are an error naming @what.
 */
int json_string(struct json *j, char *out, size_t cap, size_t *len, const char *what);
/* Reads a non-negative integer that fits in 64 bits. */
int json_uint(struct json *j, uint64_t *v, const char *what);
/* Reads "null"; returns 1 if it was there, 0 if not (nothing consumed). */
int json_null(struct json *j);
/* Skips any value. */
int json_skip(struct json *j);
/* An error at the current position. */
int json_fail(struct json *j, const char *what);
/*
 * Consumes @open ('[' or '{'); 1 if the container is empty (its @close
 * consumed as well), 0 if an element follows, or an error.
 */
int json_open(struct json *j, char open, char close);
/*
 * After an element of a container closed by @close: 1 if a ',' says another
 * follows, 0 if @close ends it (both consumed), or an error.
 */
int json_next(struct json *j, char close);

/*
 * Walks the object that follows: @member is called for each member with its
 * key (up to 127 bytes) and the cursor on the value, which it consumes
 * (json_skip() for a key it does not know). 0, an error of the JSON, or
 * the first error @member returns.
 */
int json_members(struct json *j, int (*member)(struct json *j, const char *key, void *arg),
		 void *arg);
/* The same for the array that follows: @element consumes each element. */
int json_elements(struct json *j, int (*element)(struct json *j, void *arg), void *arg);

/*
 * @s as a JSON string, quoted, to @f: escapes for quotes, backslashes and
 * control characters, U+FFFD for bytes that are not UTF-8.
 */
void json_write_str(FILE *f, const char *s);

#endif
