/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's log: stderr in the foreground, syslog once daemonized.
 *
 * One line per event, "modelfs: FILE: what happened". Thread-safe (each line
 * is written with a single call). mfs_log_once() helpers live with the data
 * they are about (per chunk bitmaps in cfile.c), not here.
 */
#ifndef MFS_LOG_H
#define MFS_LOG_H

#include <stdbool.h>

#include "err.h"

enum mfs_log_level {
	MFS_LOG_ERR = 0,
	MFS_LOG_WARN = 1,
	MFS_LOG_INFO = 2,
	MFS_LOG_DEBUG = 3,
};

/* Choose the sink and the most verbose level shown (default: stderr, INFO). */
void mfs_log_init(bool use_syslog, int max_level);
void mfs_log(int level, const char *fmt, ...) MFS_PRINTF(2, 3);

#endif
