/* SPDX-License-Identifier: MIT */
/*
 * err.c - formatting of error details (see err.h). No allocation, no global
 * state: a struct mfs_err lives on the caller's stack.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mfs_err_set(struct mfs_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int mfs_err_prefix(struct mfs_err *err, int code, const char *fmt, ...)
{
	char out[MFS_ERR_MSG_MAX];
	const char *old;
	size_t n, olen;
	va_list ap;
	int w;

	if (!err)
		return code;
	va_start(ap, fmt);
	w = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w >= sizeof(out) ? sizeof(out) - 1 : (size_t)w;
	old = err->msg[0] ? err->msg : mfs_strerror(code);
	olen = strnlen(old, sizeof(err->msg));
	/* out = prefix ": " old, truncated to fit */
	if (n + 2 < sizeof(out)) {
		memcpy(out + n, ": ", 2);
		n += 2;
		if (olen > sizeof(out) - 1 - n)
			olen = sizeof(out) - 1 - n;
		memmove(out + n, old, olen);
		n += olen;
	}
	out[n] = '\0';
	memcpy(err->msg, out, n + 1);
	return code;
}

const char *mfs_strerror(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case EFSCORRUPTED:
		return "corrupt data";
	case EOPNOTSUPP:
		return "unsupported format or feature";
	default:
		return strerror(code);
	}
}

const char *mfs_err_msg(const struct mfs_err *err, int code)
{
	if (err && err->msg[0])
		return err->msg;
	return mfs_strerror(code);
}

unsigned int mfs_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned int n, lo = 0x80, hi = 0xbf;

	if (avail == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (unsigned int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

bool mfs_utf8_valid(const uint8_t *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = mfs_utf8_len((const unsigned char *)s + i, len - i)))
			return false;
	return true;
}

char *mfs_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s, *o = p;

	while (*p) {
		unsigned int n = mfs_utf8_len(p, 4) /* the NUL stops it */;

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			*o++ = '?';
			p += n ? n : 1;
			continue;
		}
		memmove(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return s;
}
