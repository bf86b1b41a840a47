/* SPDX-License-Identifier: MIT */
/*
 * trace.h - the trace file's line format, written by the daemon
 * (-o trace=FILE) and read by `modelfs plan`.
 *
 * One line per read of a container: "ID FIRST LAST PATH\n", where ID is the
 * original's xxh3-128 in hex (as `modelfs inspect` prints it), FIRST and LAST
 * the first and last chunk of the read, and PATH the container's path in the
 * source, for people (control characters as '?', so no name can forge a
 * line). Readers match lines by ID and ignore PATH.
 */
#ifndef MFS_TRACE_H
#define MFS_TRACE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The line for a read of chunks [@first, @last] of container @id at @path,
 * with its newline, into @buf; its length, or 0 if it does not fit in @cap.
 */
size_t mfs_trace_format(char *buf, size_t cap, const char *id, uint32_t first, uint32_t last,
			const char *path);

/*
 * A line of the trace: 1 if it is a read of container @id (of @nchunks
 * chunks), with *@first and *@last set; 0 if it is another container's;
 * -EINVAL if it is @id's but not a read of chunks FIRST <= LAST < @nchunks.
 */
int mfs_trace_parse(const char *line, const char *id, uint32_t nchunks, uint32_t *first,
		    uint32_t *last);

#endif
