/* SPDX-License-Identifier: MIT */
/*
 * cmd_unpack.c - `modelfs unpack` and `modelfs verify`: both decode every
 * chunk of a container through mfs_extract(); unpack also writes the result
 * (atomically, with the original mode and mtime), verify only checks.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "extract.h"
#include "format.h"
#include "outfile.h"

#include "cmds.h"

static const char unpack_usage[] =
	"Usage: modelfs unpack [OPTION]... FILE.mfs...\n"
	"Restore the original file from each container: FILE.mfs becomes FILE, with\n"
	"its original permissions (never set-id or sticky bits) and modification\n"
	"time. Every chunk and the whole file are checked against their checksums;\n"
	"nothing is written unless all match.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR   write into DIR instead of next to each container\n"
	"  -f, --force        replace existing files\n"
	"  -j, --threads N    decompression threads (default: one per CPU)\n"
	"  -q, --quiet        print errors only\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"Exit status: 0 if all files were restored, 1 if any failed, 2 for usage errors.\n";

static const char verify_usage[] =
	"Usage: modelfs verify [OPTION]... FILE.mfs...\n"
	"Check containers: header, footer and index checksums, every chunk's xxh3-64\n"
	"after decompression, and the xxh3-128 of the whole original file. Every\n"
	"problem is reported with the file and chunk it is in.\n"
	"\n"
	"Options:\n"
	"  -j, --threads N    decompression threads (default: one per CPU)\n"
	"  -q, --quiet        print problems only\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"Exit status: 0 if every container is intact, 1 if corruption was found,\n"
	"2 for usage errors, a file that could not be read, or one that is not a\n"
	"container at all (neither end has the container's magic).\n";

/* What the extract callbacks need: where to report, and the progress line. */
struct cb_ctx {
	const char *file;
	const struct mfs_archive *ar;
	struct cli_progress prog;
};

static void report_bad(void *arg, uint32_t idx, int code, const char *msg)
{
	struct cb_ctx *b = arg;
	const struct mfs_chunk *c = mfs_archive_chunk(b->ar, idx);

	/* @msg already starts with "chunk N"; add where it is in the original. */
	cli_progress_end(&b->prog);
	if (c->tensor != MFS_TENSOR_NONE)
		cli_error(b->file, "%s (offset %llu, tensor %s)", msg, (unsigned long long)c->loff,
			  mfs_archive_tensor(b->ar, c->tensor)->name);
	else
		cli_error(b->file, "%s (offset %llu%s)", msg, (unsigned long long)c->loff,
			  c->flags & MFS_CHUNK_META ? ", metadata" : "");
}

/*
 * Does @file start or end as a container does? Then it is a damaged one;
 * with neither magic it is no container at all.
 */
static bool has_magic(const char *file)
{
	char m[MFS_MAGIC_LEN];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	bool yes = false;

	if (fd < 0)
		return false;
	if (pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m))
		yes = !memcmp(m, MFS_HEAD_MAGIC, MFS_MAGIC_LEN);
	if (!yes && !fstat(fd, &st) && st.st_size >= (off_t)sizeof(m) &&
	    pread(fd, m, sizeof(m), st.st_size - (off_t)sizeof(m)) == (ssize_t)sizeof(m))
		yes = !memcmp(m, MFS_TAIL_MAGIC, MFS_MAGIC_LEN);
	close(fd);
	return yes;
}

static int open_archive(const char *file, struct mfs_archive **ar)
{
	struct mfs_err err = {{0}};
	int r = mfs_archive_open_path(ar, file, &err);

	if (r)
		cli_error(file, "%s", mfs_err_msg(&err, r));
	return r;
}

static int parse_common(const char *cmd, const char *usage, bool with_output, int argc,
			char **argv, unsigned int *threads, bool *quiet, const char **outdir,
			bool *force)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"threads", required_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, with_output ? "o:fj:qhV" : "j:qhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'o':
		case 'f':
			if (!with_output)
				return cli_usage_error(cmd, "bad option");
			if (c == 'o')
				*outdir = optarg;
			else
				*force = true;
			break;
		case 'j':
			if (!cli_parse_uint(optarg, 1024, &v) || v == 0)
				return cli_usage_error(cmd, "bad thread count '%s'", optarg);
			*threads = (unsigned int)v;
			break;
		case 'q':
			*quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'V':
			cli_version();
			return -1;
		default:
			return cli_usage_error(cmd, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "no containers given");
	return 0;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct cb_ctx *b = arg;

	cli_progress_update(&b->prog, done, total, 0);
}

static int unpack_one(const char *file, const char *outdir, bool force, unsigned int threads,
		      bool quiet)
{
	struct mfs_outfile out = {.fd = -1, .dirfd = -1};
	struct mfs_extract_result res;
	struct mfs_err err = {{0}};
	const struct mfs_archive_info *info;
	struct mfs_archive *ar;
	struct cb_ctx cb = {.file = file};
	struct mfs_extract_opts o = {.threads = threads, .bad_chunk = report_bad,
				     .progress = progress_cb, .arg = &cb};
	char dst[PATH_MAX], a[32];
	struct timespec times[2];
	size_t n = strlen(file);
	const char *base;
	struct stat st;
	mode_t mode;
	double t0;
	int r;

	if (n <= 4 || strcmp(file + n - 4, ".mfs") != 0) {
		cli_error(file, "name does not end in .mfs");
		return EXIT_FAIL;
	}
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	if (outdir)
		r = snprintf(dst, sizeof(dst), "%s/%.*s", outdir, (int)(strlen(base) - 4), base);
	else
		r = snprintf(dst, sizeof(dst), "%.*s", (int)(n - 4), file);
	if (r < 0 || r >= (int)sizeof(dst)) {
		cli_error(file, "path too long");
		return EXIT_FAIL;
	}
	if (!force && lstat(dst, &st) == 0) {
		cli_error(dst, "exists (use --force to replace)");
		return EXIT_FAIL;
	}
	if (open_archive(file, &ar))
		return EXIT_FAIL;
	info = mfs_archive_info(ar);
	/* The original's permissions, but never set-id or sticky bits from a container. */
	mode = (mode_t)info->header.mode & 0777;
	r = mfs_outfile_open(&out, dst, mode, &err);
	if (r) {
		cli_error(dst, "%s", mfs_err_msg(&err, r));
		mfs_archive_close(ar);
		return EXIT_FAIL;
	}
	cb.ar = ar;
	o.out_fd = out.fd;
	o.out_name = dst;
	cli_progress_start(&cb.prog, file, quiet);
	t0 = cli_now();
	r = mfs_extract(ar, &o, &res, &err);
	cli_progress_end(&cb.prog);
	if (r) {
		if (!res.bad_chunks) /* bad chunks were reported as they were found */
			cli_error(file, "%s", mfs_err_msg(&err, r));
		goto fail;
	}
	/* Restore mode (umask may have masked it) and mtime before the file appears. */
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_sec = info->header.mtime_sec;
	times[1].tv_nsec = info->header.mtime_nsec;
	if (fchmod(out.fd, mode) < 0 || futimens(out.fd, times) < 0) {
		cli_error(dst, "cannot set mode or time: %s", mfs_strerror(errno));
		goto fail;
	}
	r = mfs_outfile_commit(&out, force, &err);
	if (r) {
		cli_error(dst, "%s", mfs_err_msg(&err, r));
		goto fail;
	}
	if (!quiet)
		printf("%s: %s, %.1f s\n", dst, cli_size(a, sizeof(a), info->header.original_size),
		       cli_now() - t0);
	mfs_archive_close(ar);
	return EXIT_OK;
fail:
	mfs_outfile_abort(&out);
	mfs_archive_close(ar);
	return EXIT_FAIL;
}

int cmd_unpack(int argc, char **argv)
{
	const char *outdir = NULL;
	unsigned int threads = 0;
	bool quiet = false, force = false;
	int r, status = EXIT_OK;

	r = parse_common("unpack", unpack_usage, true, argc, argv, &threads, &quiet, &outdir,
			 &force);
	if (r)
		return r < 0 ? EXIT_OK : r;
	if (outdir) { /* as pack -o does */
		struct stat st;

		if (cli_mkdir_p(outdir) < 0 || stat(outdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cli_error(outdir, "cannot use as output directory");
			return EXIT_FAIL;
		}
	}
	for (int i = optind; i < argc; i++)
		if (unpack_one(argv[i], outdir, force, threads, quiet) != EXIT_OK)
			status = EXIT_FAIL;
	return status;
}

/* 0 intact, 1 corrupt, 2 could not check. */
static int verify_one(const char *file, unsigned int threads, bool quiet)
{
	struct mfs_extract_result res;
	struct mfs_err err = {{0}};
	struct mfs_archive *ar;
	struct cb_ctx cb = {.file = file};
	struct mfs_extract_opts o = {.threads = threads, .out_fd = -1, .keep_going = true,
				     .bad_chunk = report_bad, .progress = progress_cb, .arg = &cb};
	char a[32];
	int r;

	r = open_archive(file, &ar);
	if (r)
		return r == -EFSCORRUPTED && has_magic(file) ? EXIT_FAIL : EXIT_USAGE;
	cb.ar = ar;
	cli_progress_start(&cb.prog, file, quiet);
	r = mfs_extract(ar, &o, &res, &err);
	cli_progress_end(&cb.prog);
	if (r == -EFSCORRUPTED && res.bad_chunks == 0)
		cli_error(file, "%s", mfs_err_msg(&err, r)); /* whole-file hash */
	else if (r && r != -EFSCORRUPTED)
		cli_error(file, "%s", mfs_err_msg(&err, r));
	else if (r == -EFSCORRUPTED)
		cli_error(file, "%llu of %u chunks are corrupt", (unsigned long long)res.bad_chunks,
			  mfs_archive_nchunks(ar));
	if (!r && !quiet)
		printf("%s: ok, %u chunks, %s\n", file, mfs_archive_nchunks(ar),
		       cli_size(a, sizeof(a), mfs_archive_info(ar)->header.original_size));
	mfs_archive_close(ar);
	if (!r)
		return EXIT_OK;
	return r == -EFSCORRUPTED ? EXIT_FAIL : EXIT_USAGE;
}

int cmd_verify(int argc, char **argv)
{
	unsigned int threads = 0;
	bool quiet = false, corrupt = false, failed = false;
	int r;

	r = parse_common("verify", verify_usage, false, argc, argv, &threads, &quiet, NULL, NULL);
	if (r)
		return r < 0 ? EXIT_OK : r;
	for (int i = optind; i < argc; i++) {
		r = verify_one(argv[i], threads, quiet);
		corrupt |= r == EXIT_FAIL;
		failed |= r == EXIT_USAGE;
	}
	/* A definite finding of corruption outranks a file that could not be checked. */
	return corrupt ? EXIT_FAIL : failed ? EXIT_USAGE : EXIT_OK;
}
