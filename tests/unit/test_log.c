/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - the daemon log: journald priority prefixes when stderr is the
 * journal, plain lines otherwise, and the rate limit on errors and warnings.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Make stderr "the journal": JOURNAL_STREAM names its device and inode. */
static void pretend_journal(void)
{
	struct stat st;
	char v[64];

	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

Test(log, plain_lines_on_a_terminal_or_file, .init = cr_redirect_stderr)
{
	unsetenv("JOURNAL_STREAM");
	mfs_log_init(false, MFS_LOG_INFO);
	mfs_log(MFS_LOG_ERR, "m.gguf.mfs: chunk %u: checksum mismatch", 3u);
	mfs_log(MFS_LOG_DEBUG, "not shown");
	fflush(stderr);
	cr_assert_stderr_eq_str("modelfs: m.gguf.mfs: chunk 3: checksum mismatch\n");
}

Test(log, priority_prefixes_for_the_journal, .init = cr_redirect_stderr)
{
	pretend_journal();
	mfs_log_init(false, MFS_LOG_DEBUG);
	mfs_log(MFS_LOG_ERR, "e");
	mfs_log(MFS_LOG_WARN, "w");
	mfs_log(MFS_LOG_INFO, "i");
	mfs_log(MFS_LOG_DEBUG, "d");
	fflush(stderr);
	cr_assert_stderr_eq_str("<3>e\n<4>w\n<6>i\n<7>d\n");
}

Test(log, another_stream_is_not_the_journal, .init = cr_redirect_stderr)
{
	setenv("JOURNAL_STREAM", "1:2", 1);
	mfs_log_init(false, MFS_LOG_INFO);
	mfs_log(MFS_LOG_ERR, "e");
	fflush(stderr);
	cr_assert_stderr_eq_str("modelfs: e\n");
}

Test(log, errors_are_rate_limited_and_the_suppressed_counted, .init = cr_redirect_stderr)
{
	pretend_journal();
	mfs_log_init(false, MFS_LOG_INFO);
	mfs_log_limit(3, 1);
	for (int i = 0; i < 10; i++)
		mfs_log(i % 2 ? MFS_LOG_WARN : MFS_LOG_ERR, "bad %d", i);
	mfs_log(MFS_LOG_INFO, "info is not limited");
	sleep(1);
	usleep(100000);
	mfs_log(MFS_LOG_ERR, "after");
	mfs_log_limit(0, 0);
	fflush(stderr);
	cr_assert_stderr_eq_str("<3>bad 0\n<4>bad 1\n<3>bad 2\n<6>info is not limited\n"
				"<4>7 error or warning messages suppressed (more than 3 in 1 s)\n"
				"<3>after\n");
}

/* Names from files in messages: one line, no terminal controls, UTF-8. */
Test(log, sanitize_names_from_files)
{
	char s[] = "a\nb\x1b[31m\x7f"
		   "caf\xc3\xa9 \xc2\x9b \x9b \xff\xfe \xe0\x80\x80 \xed\xa0\x80 \xf0\x9f\x98\x80 "
		   "\xe2\x82";

	mfs_sanitize(s);
	cr_assert_str_eq(s, "a?b?[31m?caf\xc3\xa9 ? ? ?? ??? ??? \xf0\x9f\x98\x80 ??");
	cr_assert_eq(mfs_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0,
		     "past U+10FFFF");
	cr_assert_eq(mfs_utf8_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	cr_assert_eq(mfs_utf8_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 3), 0, "cut short");
	cr_assert(mfs_utf8_valid((const uint8_t *)"caf\xc3\xa9\0x", 7));
	cr_assert(!mfs_utf8_valid((const uint8_t *)"caf\xc3", 4));
}

Test(log, a_warning_once_per_path, .init = cr_redirect_stderr)
{
	unsetenv("JOURNAL_STREAM");
	mfs_log_init(false, MFS_LOG_INFO);
	mfs_log_warn_once("a.mfs", "no O_DIRECT here");
	mfs_log_warn_once("a.mfs", "no O_DIRECT here");
	mfs_log_warn_once("b.mfs", "shown instead");
	mfs_log_warn_once_reset();
	mfs_log_warn_once("a.mfs", "again after a reset");
	fflush(stderr);
	cr_assert_stderr_eq_str("modelfs: a.mfs: no O_DIRECT here\nmodelfs: b.mfs: shown instead\n"
				"modelfs: a.mfs: again after a reset\n");
}
