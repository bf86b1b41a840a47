/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what every modelfs command shares: messages, number parsing,
 * human-readable sizes, a progress line and JSON string output.
 *
 * Messages follow one shape: "modelfs: FILE: problem", lowercase, no full
 * stop, on stderr. Progress goes to stderr only when it is a terminal.
 */
#ifndef MFS_CLI_H
#define MFS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define CLI_PROG "modelfs"

/* Exit codes shared by all commands. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

void cli_error(const char *file, const char *fmt, ...) MFS_PRINTF(2, 3);
void cli_warn(const char *file, const char *fmt, ...) MFS_PRINTF(2, 3);
/*
 * The remote library's mfs_source_tell_fn: a warning as cli_warn(), progress
 * as "modelfs: WHAT: ..." with @what fit for a terminal.
 */
void cli_tell(bool warning, const char *what, const char *fmt, ...) MFS_PRINTF(3, 4);
/* "modelfs CMD: problem\nTry 'modelfs CMD --help'." and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) MFS_PRINTF(2, 3);

/* "256K", "1M", "65536" -> bytes; false on junk or overflow. */
bool cli_parse_size(const char *s, uint64_t *out);
bool cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* "269.0 MB" (decimal units, as disk vendors and dd print) into @buf. */
const char *cli_size(char *buf, size_t len, uint64_t bytes);

double cli_now(void);

/* A one-line progress display, redrawn at most ten times a second. */
struct cli_progress {
	bool enabled;
	const char *label;
	double start;
	double last;
	int width; /* characters drawn last time, to blank them */
};

void cli_progress_start(struct cli_progress *p, const char *label, bool quiet);
void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total, uint64_t stored);
void cli_progress_end(struct cli_progress *p);

/*
 * @s (a name from a file) fit for a terminal: control characters as '?', cut
 * with "..." past 200 bytes. The result lives until the 8th call after.
 */
const char *cli_shown(const char *s);

/* mkdir -p @path (0755 less the umask); 0 or -errno. */
int cli_mkdir_p(const char *path);

/* Prints "modelfs VERSION" to stdout. */
void cli_version(void);

#endif
