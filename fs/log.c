/* SPDX-License-Identifier: MIT */
/*
 * log.c - daemon logging (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static bool to_syslog;
static int max_level = MFS_LOG_INFO;

void mfs_log_init(bool use_syslog, int level)
{
	to_syslog = use_syslog;
	max_level = level;
	if (use_syslog)
		openlog("modelfs", LOG_PID, LOG_DAEMON);
}

void mfs_log(int level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog)
		syslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], "%s", line);
	else
		fprintf(stderr, "modelfs: %s\n", line);
}
