/* SPDX-License-Identifier: MIT */
/*
 * err.h - error detail that travels with a -errno return.
 *
 * Every library function returns 0 (or a count) on success and -errno on
 * failure. The errno says what kind of failure it is (-EFSCORRUPTED for bad
 * bytes from disk, -EOPNOTSUPP for a newer format, -ENOMEM, -EIO...); an
 * optional struct mfs_err says which one, in words, for the one-line message
 * the tools print. Messages are lowercase, without a trailing full stop, and do
 * not name the file: the caller that knows the file name prefixes it.
 */
#ifndef MFS_ERR_H
#define MFS_ERR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef EFSCORRUPTED
#define EFSCORRUPTED EUCLEAN /* as in the kernel's xfs/ext4/erofs */
#endif

#define MFS_ERR_MSG_MAX 256

struct mfs_err {
	char msg[MFS_ERR_MSG_MAX];
};

#define MFS_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * Record a message in @err (which may be NULL) and return @code, so that
 * "return mfs_err_set(err, -EFSCORRUPTED, "chunk %u: bad codec", i);" reads as
 * one statement. @code is returned unchanged.
 */
int mfs_err_set(struct mfs_err *err, int code, const char *fmt, ...) MFS_PRINTF(3, 4);

/* Prepend "<prefix>: " to the message already in @err; returns @code. */
int mfs_err_prefix(struct mfs_err *err, int code, const char *fmt, ...) MFS_PRINTF(3, 4);

/*
 * The message for a failure: @err's text when one was recorded, otherwise a
 * description of @code that reads well to users (-EFSCORRUPTED becomes
 * "corrupt data", not "structure needs cleaning").
 */
const char *mfs_err_msg(const struct mfs_err *err, int code);

/*
 * In place: control characters of the NUL-terminated @s (C0, DEL, C1) and
 * bytes that are not UTF-8 become '?', so a name taken from a file (a
 * tensor, a container's file name) can neither break a message into forged
 * lines nor send a terminal escape sequence, and a log line stays UTF-8.
 * Returns @s.
 */
char *mfs_sanitize(char *s);

/*
 * Length of the valid UTF-8 sequence at @p (1-4; no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0 if none starts there within
 * @avail bytes. In a NUL-terminated string @avail may be 4: a NUL is never a
 * continuation byte, so nothing past it is read.
 */
unsigned int mfs_utf8_len(const unsigned char *p, size_t avail);
/* Is @s[0..@len) valid UTF-8? */
bool mfs_utf8_valid(const uint8_t *s, size_t len);

/* strerror() with the same user-facing wording for modelfs' own codes. */
const char *mfs_strerror(int code);

#endif
