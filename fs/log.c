/* SPDX-License-Identifier: MIT */
/*
 * log.c - daemon logging (see log.h).
 */
#include "log.h"
#include "err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static bool to_syslog, to_journal;
static int max_level = MFS_LOG_INFO;

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int burst = MFS_LOG_BURST, interval = MFS_LOG_INTERVAL_S;
static time_t window_start = -MFS_LOG_INTERVAL_S;
static unsigned int in_window;
static unsigned long suppressed;

/* systemd sets JOURNAL_STREAM=DEV:INO when stderr is the journal. */
bool mfs_log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mfs_log_init(bool use_syslog, int level)
{
	to_syslog = use_syslog;
	to_journal = !use_syslog && mfs_log_stderr_is_journal();
	max_level = level;
	if (use_syslog)
		openlog("modelfs", LOG_PID, LOG_DAEMON);
}

/*
 * May an error or warning go out now? Sets *@dropped to the count suppressed
 * before it, to be reported with it.
 */
static bool admit(unsigned long *dropped)
{
	struct timespec now;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&limit_lock);
	if (now.tv_sec - window_start >= (time_t)interval) {
		window_start = now.tv_sec;
		in_window = 0;
	}
	ok = in_window < burst;
	if (ok) {
		in_window++;
		*dropped = suppressed;
		suppressed = 0;
	} else {
		suppressed++;
	}
	pthread_mutex_unlock(&limit_lock);
	return ok;
}

const char *mfs_log_prefix(int prio, bool journal, char buf[MFS_LOG_PREFIX_MAX])
{
	if (!journal)
		return "modelfs: ";
	snprintf(buf, MFS_LOG_PREFIX_MAX, "<%d>", prio & 7);
	return buf;
}

static void emit(int prio, const char *line)
{
	char pre[MFS_LOG_PREFIX_MAX];

	if (to_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, "%s%s\n", mfs_log_prefix(prio, to_journal, pre), line);
}

void mfs_log_limit(unsigned int b, unsigned int interval_s)
{
	pthread_mutex_lock(&limit_lock);
	burst = interval_s ? b : MFS_LOG_BURST;
	interval = interval_s ? interval_s : MFS_LOG_INTERVAL_S;
	window_start = -(time_t)interval;
	in_window = 0;
	suppressed = 0;
	pthread_mutex_unlock(&limit_lock);
}

void mfs_log(int level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	unsigned long dropped = 0;
	char line[1024];
	va_list ap;
	int p;

	if (level > max_level)
		return;
	level = level < 0 ? 0 : level > 3 ? 3 : level;
	p = prio[level];
	if (level <= MFS_LOG_WARN && !admit(&dropped))
		return;
	if (dropped) {
		char note[128];
		snprintf(note, sizeof(note),
			 "%lu error or warning messages suppressed (more than %u in %u s)", dropped,
			 burst, interval);
		emit(LOG_WARNING, note);
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(p, mfs_sanitize(line)); /* a file named with a newline forges no log line */
}

static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char **warned; /* paths already warned about; protected by warned_lock */
static size_t nwarned;

void mfs_log_warn_once(const char *path, const char *msg)
{
	char **grown;

	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; i < nwarned; i++) {
		if (strcmp(warned[i], path) == 0) {
			pthread_mutex_unlock(&warned_lock);
			return;
		}
	}
	grown = realloc(warned, (nwarned + 1) * sizeof(*warned));
	if (grown) {
		warned = grown;
		warned[nwarned] = strdup(path);
		if (warned[nwarned])
			nwarned++;
	}
	pthread_mutex_unlock(&warned_lock);
	mfs_log(MFS_LOG_WARN, "%s: %s", path, msg);
}

void mfs_log_warn_once_reset(void)
{
	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; i < nwarned; i++)
		free(warned[i]);
	free(warned);
	warned = NULL;
	nwarned = 0;
	pthread_mutex_unlock(&warned_lock);
}
