/* SPDX-License-Identifier: MIT */
/*
 * sys.h - small system helpers every floor uses: whole writes, mkdir -p, the
 * CPU count. With err.h (errors that name the file and the problem) and le.h
 * (little-endian fields), the base library: the lowest floor, below codec/.
 */
#ifndef MFS_SYS_H
#define MFS_SYS_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) all of @buf, retrying short writes; -errno on failure. */
int mfs_write_all(int fd, const void *buf, size_t len);

/*
 * mkdir -p @path: parents @mode | 0700, the last directory @mode (both less the
 * umask); existing ones are fine. 0 or -errno.
 */
int mfs_mkdir_p(const char *path, mode_t mode);

/* CPUs online, at least 1: what "0 threads" means everywhere (pack, verify, the daemon). */
unsigned int mfs_cpu_count(void);

#endif
