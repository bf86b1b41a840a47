/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's log: stderr in the foreground, syslog once daemonized.
 *
 * One line per event, "modelfs: FILE: what happened". Thread-safe (each line
 * is written with a single call). When stderr is the systemd journal
 * ($JOURNAL_STREAM names it), lines carry a "<N>" syslog priority prefix,
 * which journald turns into the entry's priority, instead of "modelfs: ".
 *
 * Errors and warnings are rate limited: at most MFS_LOG_BURST of them in
 * any MFS_LOG_INTERVAL_S seconds; the rest are counted, and the next line
 * that gets through says how many were suppressed. Information and debug
 * lines (mount, unmount, -d traces) are not limited. Once-per-chunk reports
 * live with the data they are about (per chunk bitmaps in cfile.c);
 * once-per-path warnings are here.
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

#define MFS_LOG_BURST 20
#define MFS_LOG_INTERVAL_S 10

/* Choose the sink and the most verbose level shown (default: stderr, INFO). */
void mfs_log_init(bool use_syslog, int max_level);
void mfs_log(int level, const char *fmt, ...) MFS_PRINTF(2, 3);
/* Change the rate limit (tests); @interval_s 0 restores the defaults. */
void mfs_log_limit(unsigned int burst, unsigned int interval_s);
/*
 * Is stderr the systemd journal? Then a line written there should begin with
 * "<N>" (its syslog priority) rather than the program's name, which journald
 * records by itself.
 */
bool mfs_log_stderr_is_journal(void);
/*
 * What a line on stderr starts with: "<PRIO>" (its syslog priority, which
 * journald records) when @journal, else "modelfs: ". The daemon's log and
 * the command line's messages both start their lines with it.
 */
#define MFS_LOG_PREFIX_MAX 8
const char *mfs_log_prefix(int prio, bool journal, char buf[MFS_LOG_PREFIX_MAX]);
/*
 * A warning "@path: @msg" the first time it is called for @path (a file shown
 * instead of another, a filesystem without O_DIRECT), not on every access.
 */
void mfs_log_warn_once(const char *path, const char *msg);
/* Forgets which paths were warned about (at unmount). */
void mfs_log_warn_once_reset(void);

#endif
