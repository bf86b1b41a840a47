/* SPDX-License-Identifier: MIT */
/*
 * cmd_plan.c - `modelfs plan`: replace a container's prefetch plan with one
 * made from a trace recorded on a mount (-o trace=FILE), or from the tensor
 * names again.
 *
 * The trace's lines are read with mfs_trace_parse() (index/container/trace.h). Lines
 * of other containers are skipped; a malformed line of this one is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "trace.h"
#include "io.h"
#include "cli.h"
#include "plan.h"
#include "replan.h"

#include "cmds.h"

static const char plan_usage[] =
	"Usage: modelfs plan [OPTION]... FILE.mfs TRACE\n"
	"       modelfs plan --from-names FILE.mfs\n"
	"Replace the prefetch plan of a container: the order in which the daemon\n"
	"expects chunks to be read, and decodes them ahead (-o prefetch=plan).\n"
	"\n"
	"With TRACE, a file recorded by a mount with -o trace=TRACE, the plan\n"
	"becomes the chunks in the order of their last read: what was read once (at\n"
	"load) first, then the cycle each token repeats, from the first chunk read\n"
	"more than once. For models whose tensor names do not tell the order (new\n"
	"architectures, mixture-of-experts). Record under memory pressure (a memory\n"
	"cgroup smaller than the model), or the page cache answers the re-reads and\n"
	"the trace holds only the load. With --from-names, the plan pack makes.\n"
	"\n"
	"The container is rewritten atomically (a temporary file renamed over it);\n"
	"chunk data is copied as stored. Remount, or reopen the file, to use it.\n"
	"\n"
	"Options:\n"
	"      --from-names   plan from tensor names, as pack does\n"
	"  -n, --dry-run      print the new plan's size, write nothing\n"
	"  -q, --quiet        print errors only\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"Exit status: 0 on success, 1 on a bad container or trace, 2 for usage errors.\n";

struct seq {
	uint32_t *v;
	size_t n, cap;
	size_t reads;
};

static int seq_push(struct seq *s, uint32_t c)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = c;
	return 0;
}

/* The chunk sequence of container @id in @path; a one-line error on failure. */
static int read_trace(const char *path, const char *id, uint32_t nchunks, struct seq *s)
{
	struct mfs_err err = {{0}};
	int fd = mfs_open_regular(AT_FDCWD, path, 0, &err);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int r = 0;

	if (!f) {
		r = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		cli_error(path, "%s", mfs_err_msg(&err, r));
		return r;
	}
	while (!r && getline(&line, &cap, f) >= 0) {
		uint32_t first, last;
		int m = mfs_trace_parse(line, id, nchunks, &first, &last);

		lineno++;
		if (m == 0)
			continue;
		if (m < 0) {
			cli_error(path, "line %zu: not a read of chunks FIRST..LAST of this "
					"container (it has %u chunks)",
				  lineno, nchunks);
			r = -EINVAL;
			break;
		}
		s->reads++;
		for (uint64_t c = first; c <= last && !r; c++)
			r = seq_push(s, (uint32_t)c);
		if (r)
			cli_error(path, "out of memory");
	}
	if (!r && ferror(f)) {
		cli_error(path, "cannot read: %s", strerror(errno));
		r = -EIO;
	}
	free(line);
	fclose(f);
	return r;
}

int cmd_plan(int argc, char **argv)
{
	enum { OPT_NAMES = 256 };
	static const struct option longopts[] = {
		{"from-names", no_argument, NULL, OPT_NAMES},
		{"dry-run", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	bool names = false, dry = false, quiet = false;
	struct mfs_err err = {{0}};
	struct mfs_archive *ar = NULL;
	struct mfs_plan_entry *plan = NULL;
	struct seq s = {0};
	const char *file, *trace = NULL;
	uint32_t nplan = 0;
	uint64_t planned = 0;
	char id[MFS_HASH_HEX_SIZE];
	int c, r, status = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "nqhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NAMES:
			names = true;
			break;
		case 'n':
			dry = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(plan_usage, stdout);
			return EXIT_OK;
		case 'V':
			cli_version();
			return EXIT_OK;
		default:
			return cli_usage_error("plan", "bad option");
		}
	}
	if (argc - optind != (names ? 1 : 2))
		return cli_usage_error("plan", names ? "give one container with --from-names"
						     : "give a container and a trace");
	file = argv[optind];
	if (!names)
		trace = argv[optind + 1];

	r = mfs_archive_open_path(&ar, file, &err);
	if (r) {
		cli_error(file, "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	if (names) {
		r = mfs_replan_names(ar, &plan, &nplan);
		if (r) {
			cli_error(file, "%s", mfs_strerror(-r));
			goto out;
		}
	} else {
		mfs_archive_hash_hex(ar, id);
		if (read_trace(trace, id, mfs_archive_nchunks(ar), &s))
			goto out;
		if (!s.reads) {
			cli_error(trace, "no reads of %s in it (looked for id %s)", file, id);
			goto out;
		}
		r = mfs_plan_from_trace(s.v, s.n, mfs_archive_nchunks(ar), &plan, &nplan);
		if (r) {
			cli_error(file, "%s", mfs_strerror(-r));
			goto out;
		}
	}
	for (uint32_t i = 0; i < nplan; i++)
		planned += plan[i].count;
	mfs_archive_close(ar);
	ar = NULL;
	if (!dry) {
		r = mfs_replan_file(file, plan, nplan, &err);
		if (r) {
			cli_error(file, "%s", mfs_err_msg(&err, r));
			goto out;
		}
	}
	if (!quiet) {
		if (names)
			printf("%s: plan of %u runs (%" PRIu64 " chunks) from tensor names%s\n", file,
			       nplan, planned, dry ? " (dry run, not written)" : "");
		else
			printf("%s: plan of %u runs (%" PRIu64 " chunks) from %zu reads in %s%s\n",
			       file, nplan, planned, s.reads, trace,
			       dry ? " (dry run, not written)" : "");
	}
	status = EXIT_OK;
out:
	free(plan);
	free(s.v);
	mfs_archive_close(ar);
	return status;
}
