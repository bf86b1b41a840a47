/* SPDX-License-Identifier: MIT */
/*
 * trace.c - the trace file's line format (see trace.h).
 */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

size_t mfs_trace_format(char *buf, size_t cap, const char *id, uint32_t first, uint32_t last,
			const char *path)
{
	int n;

	if (cap < 2)
		return 0;
	n = snprintf(buf, cap - 1, "%s %u %u %s", id, first, last, path);
	if (n <= 0 || (size_t)n >= cap - 1)
		return 0;
	mfs_sanitize(buf);    /* one line whatever the container is called */
	n = (int)strlen(buf); /* sanitizing may shorten it */
	buf[n++] = '\n';
	buf[n] = '\0';
	return (size_t)n;
}

int mfs_trace_parse(const char *line, const char *id, uint32_t nchunks, uint32_t *first,
		    uint32_t *last)
{
	size_t idlen = strlen(id);
	unsigned long long a, b;
	const char *p;
	char *end;

	if (strncmp(line, id, idlen) != 0 || line[idlen] != ' ')
		return 0;
	p = line + idlen;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (end == p || *end != ' ')
		return -EINVAL;
	p = end;
	b = strtoull(p, &end, 10);
	if (errno || end == p || a > b || b >= nchunks ||
	    (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*first = (uint32_t)a;
	*last = (uint32_t)b;
	return 1;
}
