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

char *mfs_sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}
