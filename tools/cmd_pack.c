/* SPDX-License-Identifier: MIT */
/*
 * cmd_pack.c - `modelfs pack`: options, directory walking, reporting.
 *
 * Files named on the command line are packed whatever their name. Directories
 * are walked recursively for *.gguf and *.safetensors; a symlink with such a
 * name (a Hugging Face cache's snapshots/ entry) gets its target packed when
 * the target lies inside the same directory tree (the cache's blobs/), so the
 * mounted view resolves the link to the unpacked bytes. Each file is packed
 * once however many links lead to it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "format.h"
#include "io.h"
#include "layout.h"
#include "model.h"
#include "pack.h"

#include "cmds.h"

struct seen {
	dev_t dev;
	ino_t ino;
};

struct pack_cli {
	struct mfs_pack_opts o;
	const char *outdir;
	bool quiet;
	unsigned int packed, skipped, failed;
	uint64_t in_bytes, out_bytes;
	struct seen *seen;
	size_t nseen, capseen;
};

static const char pack_usage[] =
	"Usage: modelfs pack [OPTION]... PATH...\n"
	"Compress model files into modelfs containers. Each FILE becomes FILE.mfs,\n"
	"which 'modelfs mount' serves as FILE again, byte for byte.\n"
	"\n"
	"Files named on the command line are packed whatever their format (GGUF,\n"
	"safetensors, or anything else in fixed-size chunks). Directories are searched\n"
	"recursively for *.gguf and *.safetensors, and for files without an extension\n"
	"whose content is GGUF or safetensors (the blobs of ollama and Docker Model\n"
	"Runner); other files are left alone. Symlinks to model files inside the tree\n"
	"(a Hugging Face cache's snapshots/) have their targets (blobs/) packed. The\n"
	"originals are never modified or removed.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR       write containers into DIR (mirroring directories)\n"
	"                         instead of next to each file\n"
	"  -c, --codec CODEC      auto (default): per tensor, split the weights into\n"
	"                         planes (float exponents apart from mantissas,\n"
	"                         quant scales apart from quants) and entropy-code\n"
	"                         them, or use zstd - whichever a sample of the\n"
	"                         tensor shows smaller while decoding fast enough;\n"
	"                         planes: always the dtype's planes; zstd, lz4,\n"
	"                         store: that codec, no planes\n"
	"  -l, --level N          zstd 1-19 (default 3; with auto, for what zstd\n"
	"                         codes), lz4 1-12 (default 1; 3 and up lz4hc),\n"
	"                         planes 1 (faster decoding) or 2 (smaller, default)\n"
	"      --min-decode MB/S  auto: slowest decoding accepted, MB/s on one core\n"
	"                         (default 200; measured while packing)\n"
	"  -s, --chunk-size SIZE  target chunk size, 4K to 16M (default 256K);\n"
	"                         tensors are cut at row boundaries near it\n"
	"  -j, --threads N        compression threads (default: one per CPU)\n"
	"  -f, --force            replace existing containers (default: skip them)\n"
	"  -q, --quiet            print errors only\n"
	"  -h, --help             show this help and exit\n"
	"  -V, --version          show the version and exit\n"
	"\n"
	"Exit status: 0 if every file was packed or skipped, 1 if any failed,\n"
	"2 for usage errors.\n"
	"\n"
	"Example: modelfs pack ~/models && modelfs mount ~/models /mnt/models\n";

static bool has_model_ext(const char *name)
{
	return mfs_model_kind_of_name(name, strlen(name)) != NULL;
}

static uint32_t source_for_name(const char *name)
{
	const struct mfs_model_kind *k = mfs_model_kind_of_name(name, strlen(name));

	return k ? k->source : MFS_SOURCE_NR;
}

/*
 * A file whose name says nothing (an ollama or Docker Model Runner blob,
 * sha256-HEX): a model if its content is one - GGUF or safetensors whose
 * header parses. MFS_SOURCE_NR otherwise (JSON, licenses, templates).
 */
static uint32_t source_by_content(const char *path, const struct stat *st)
{
	struct mfs_err err = {{0}};
	uint8_t head[16];
	struct mfs_model m;
	struct mfs_src src;
	uint32_t source;
	ssize_t n;
	int fd, r;

	if (st->st_size < (off_t)sizeof(head))
		return MFS_SOURCE_NR;
	fd = mfs_open_regular(AT_FDCWD, path, O_NOFOLLOW, NULL);
	if (fd < 0)
		return MFS_SOURCE_NR;
	n = pread(fd, head, sizeof(head), 0);
	source = n == (ssize_t)sizeof(head) ? mfs_model_sniff(head, sizeof(head), (uint64_t)st->st_size)
					    : MFS_SOURCE_RAW;
	if (source == MFS_SOURCE_RAW) {
		close(fd);
		return MFS_SOURCE_NR;
	}
	r = mfs_src_init_fd(&src, fd, &err);
	if (!r)
		r = mfs_model_load(&m, &src, source, &err);
	close(fd);
	if (r) {
		cli_warn(path, "looks like %s but is not one (%s), skipped",
			 source == MFS_SOURCE_GGUF ? "GGUF" : "safetensors", mfs_err_msg(&err, r));
		return MFS_SOURCE_NR;
	}
	mfs_model_release(&m);
	return source;
}

/* Records (dev, ino); false if it was already there. */
static bool mark_seen(struct pack_cli *pc, const struct stat *st)
{
	for (size_t i = 0; i < pc->nseen; i++)
		if (pc->seen[i].dev == st->st_dev && pc->seen[i].ino == st->st_ino)
			return false;
	if (pc->nseen == pc->capseen) {
		size_t ncap = pc->capseen ? pc->capseen * 2 : 64;
		void *p = realloc(pc->seen, ncap * sizeof(*pc->seen));

		if (!p)
			return true; /* worst case: a file is packed twice and skipped */
		pc->seen = p;
		pc->capseen = ncap;
	}
	pc->seen[pc->nseen++] = (struct seen){st->st_dev, st->st_ino};
	return true;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total, uint64_t stored)
{
	cli_progress_update(arg, done, total, stored);
}

static void pack_one(struct pack_cli *pc, const char *src, const char *dst, uint32_t source,
		     const struct stat *same_as)
{
	struct mfs_pack_opts o = pc->o;
	struct mfs_pack_result res;
	struct cli_progress prog;
	struct mfs_err err = {{0}};
	char a[32], b[32];
	struct stat st;
	double t0, secs;
	int r;

	if (!pc->o.replace && lstat(dst, &st) == 0) {
		if (!pc->quiet)
			fprintf(stderr, "%s: %s: skipped, %s exists (use --force to replace)\n",
				CLI_PROG, src, dst);
		pc->skipped++;
		return;
	}
	o.source = source;
	o.same_as = same_as;
	cli_progress_start(&prog, src, pc->quiet);
	o.progress = progress_cb;
	o.progress_arg = &prog;
	t0 = cli_now();
	r = mfs_pack_file(src, dst, &o, &res, &err);
	cli_progress_end(&prog);
	secs = cli_now() - t0;
	if (r == -EEXIST) {
		if (!pc->quiet)
			fprintf(stderr, "%s: %s: skipped, %s appeared meanwhile\n", CLI_PROG, src,
				dst);
		pc->skipped++;
		return;
	}
	if (r) {
		cli_error(src, "%s", mfs_err_msg(&err, r));
		pc->failed++;
		return;
	}
	pc->packed++;
	pc->in_bytes += res.original_size;
	pc->out_bytes += res.container_size;
	/* Named on the command line, packed whatever it is: never silently. */
	if (res.source == MFS_SOURCE_RAW)
		cli_warn(src, "neither GGUF nor safetensors: packed as plain bytes in fixed-size "
			 "chunks (no tensors, no read plan)");
	if (res.container_size > res.original_size)
		cli_warn(dst, "larger than the original (%.3fx): its bytes do not compress; "
			 "serve the original instead", res.container_size
			 ? (double)res.original_size / (double)res.container_size : 0.0);
	if (!pc->quiet)
		printf("%s: %s -> %s (%.3fx), %s, %u chunks, %.1f s, %.0f MB/s\n", dst,
		       cli_size(a, sizeof(a), res.original_size),
		       cli_size(b, sizeof(b), res.container_size),
		       res.container_size ? (double)res.original_size / (double)res.container_size
					  : 0.0,
		       mfs_source_name(res.source), res.nchunks, secs,
		       secs > 0 ? (double)res.original_size / secs / 1e6 : 0.0);
}

/* Output path for @rel (relative to @root) or for a plain file argument. */
static int out_path(struct pack_cli *pc, char *buf, size_t len, const char *root,
		    const char *rel)
{
	int n;

	if (pc->outdir)
		n = snprintf(buf, len, "%s/%s.mfs", pc->outdir, rel);
	else if (root)
		n = snprintf(buf, len, "%s/%s.mfs", root, rel);
	else
		n = snprintf(buf, len, "%s.mfs", rel);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (pc->outdir) {
		char dir[PATH_MAX];
		char *slash;

		memcpy(dir, buf, (size_t)n + 1);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			return cli_mkdir_p(dir);
		}
	}
	return 0;
}

/* A file reached while walking @root (real path @rroot) at relative path @rel. */
static void pack_tree_file(struct pack_cli *pc, const char *root, const char *rel,
			   const struct stat *st, uint32_t source)
{
	char src[PATH_MAX], dst[PATH_MAX];
	int r;

	if (!mark_seen(pc, st))
		return;
	if (snprintf(src, sizeof(src), "%s/%s", root, rel) >= (int)sizeof(src)) {
		cli_error(rel, "path too long");
		pc->failed++;
		return;
	}
	r = out_path(pc, dst, sizeof(dst), root, rel);
	if (r) {
		cli_error(src, "cannot prepare output: %s", mfs_strerror(r));
		pc->failed++;
		return;
	}
	pack_one(pc, src, dst, source, st);
}

/* A symlink with a model name: pack its target if it stays inside the tree. */
static void pack_tree_link(struct pack_cli *pc, const char *root, const char *rroot,
			   const char *rel)
{
	char link[PATH_MAX], target[PATH_MAX];
	size_t rlen = strlen(rroot);
	struct stat st;

	if (snprintf(link, sizeof(link), "%s/%s", root, rel) >= (int)sizeof(link))
		return;
	if (!realpath(link, target) || stat(target, &st) < 0) {
		cli_warn(link, "dangling symlink, skipped");
		return;
	}
	if (!S_ISREG(st.st_mode))
		return;
	if (strncmp(target, rroot, rlen) != 0 || target[rlen] != '/') {
		cli_warn(link, "points outside %s, skipped (pack %s itself)", root, target);
		return;
	}
	pack_tree_file(pc, root, target + rlen + 1, &st, source_for_name(rel));
}

static void walk(struct pack_cli *pc, const char *root, const char *rroot, const char *rel,
		 unsigned int depth)
{
	char path[PATH_MAX], child[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (depth > 64) {
		cli_error(rel, "directory tree too deep");
		pc->failed++;
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d) {
		cli_error(path, "%s", mfs_strerror(errno));
		pc->failed++;
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(child))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", root, child) >= (int)sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(pc, root, rroot, child, depth + 1);
		else if (S_ISLNK(st.st_mode) && has_model_ext(de->d_name))
			pack_tree_link(pc, root, rroot, child);
		else if (S_ISREG(st.st_mode) && has_model_ext(de->d_name))
			pack_tree_file(pc, root, child, &st, source_for_name(de->d_name));
		else if (S_ISREG(st.st_mode) && !strchr(de->d_name, '.')) {
			/* No extension at all: a content-addressed blob, maybe a model. */
			uint32_t source = source_by_content(path, &st);

			if (source != MFS_SOURCE_NR)
				pack_tree_file(pc, root, child, &st, source);
		}
	}
	closedir(d);
}

static void pack_arg(struct pack_cli *pc, const char *arg)
{
	char rroot[PATH_MAX], dst[PATH_MAX], root[PATH_MAX];
	struct stat st;
	size_t n;
	int r;

	if (stat(arg, &st) < 0) {
		cli_error(arg, "%s", mfs_strerror(errno));
		pc->failed++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		n = strlen(arg);
		while (n > 1 && arg[n - 1] == '/')
			n--;
		if (n >= sizeof(root) || !realpath(arg, rroot)) {
			cli_error(arg, "cannot resolve path");
			pc->failed++;
			return;
		}
		memcpy(root, arg, n);
		root[n] = '\0';
		walk(pc, root, rroot, "", 0);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error(arg, "not a regular file or directory");
		pc->failed++;
		return;
	}
	n = strlen(arg);
	if (n > 4 && strcmp(arg + n - 4, ".mfs") == 0) {
		cli_error(arg, "already a container");
		pc->failed++;
		return;
	}
	if (!mark_seen(pc, &st))
		return;
	if (pc->outdir) {
		const char *base = strrchr(arg, '/');

		r = snprintf(dst, sizeof(dst), "%s/%s.mfs", pc->outdir, base ? base + 1 : arg);
	} else {
		r = snprintf(dst, sizeof(dst), "%s.mfs", arg);
	}
	if (r < 0 || r >= (int)sizeof(dst)) {
		cli_error(arg, "path too long");
		pc->failed++;
		return;
	}
	pack_one(pc, arg, dst, source_for_name(arg), NULL);
}

int cmd_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"codec", required_argument, NULL, 'c'},
		{"level", required_argument, NULL, 'l'},
		{"chunk-size", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 'j'},
		{"min-decode", required_argument, NULL, 'D'},
		{"force", no_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct pack_cli pc = {.o = {.codec = MFS_PACK_CODEC_AUTO}};
	const struct mfs_codec *codec = NULL;
	uint64_t v;
	struct stat st;
	char a[32], b[32];
	int c;

	while ((c = getopt_long(argc, argv, "o:c:l:s:j:fqhVD:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			pc.outdir = optarg;
			break;
		case 'c':
			if (strcmp(optarg, "auto") == 0) {
				pc.o.codec = MFS_PACK_CODEC_AUTO;
				codec = NULL;
				break;
			}
			codec = mfs_codec_find(optarg);
			if (!codec)
				return cli_usage_error("pack", "unknown codec '%s' (auto, zstd, lz4, "
							       "store, planes)", optarg);
			pc.o.codec = (int)codec->id;
			break;
		case 'l':
			if (!cli_parse_uint(optarg, 100, &v) || v == 0)
				return cli_usage_error("pack", "bad level '%s'", optarg);
			pc.o.level = (int)v;
			break;
		case 's':
			if (!cli_parse_size(optarg, &v) || v < MFS_CHUNK_TARGET_MIN ||
			    v > MFS_CHUNK_TARGET_MAX)
				return cli_usage_error("pack", "chunk size '%s' is not between 4K "
							       "and 16M", optarg);
			pc.o.chunk_target = (uint32_t)v;
			break;
		case 'j':
			if (!cli_parse_uint(optarg, 1024, &v) || v == 0)
				return cli_usage_error("pack", "bad thread count '%s'", optarg);
			pc.o.threads = (unsigned int)v;
			break;
		case 'D':
			if (!cli_parse_uint(optarg, 1000000, &v) || v == 0)
				return cli_usage_error("pack", "bad --min-decode '%s' (MB/s)", optarg);
			pc.o.min_decode_mbs = (double)v;
			break;
		case 'f':
			pc.o.replace = true;
			break;
		case 'q':
			pc.quiet = true;
			break;
		case 'h':
			fputs(pack_usage, stdout);
			return EXIT_OK;
		case 'V':
			cli_version();
			return EXIT_OK;
		default:
			return cli_usage_error("pack", "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("pack", "no files or directories given");
	if (pc.o.level) {
		const struct mfs_codec *lc = codec ? codec : mfs_codec_get(MFS_CODEC_ZSTD);

		if (lc->id == MFS_CODEC_STORE)
			return cli_usage_error("pack", "codec store has no levels");
		if (pc.o.level < lc->min_level || pc.o.level > lc->max_level)
			return cli_usage_error("pack", "%s levels are %d to %d", lc->name,
					       lc->min_level, lc->max_level);
	}
	if (pc.outdir) {
		if (cli_mkdir_p(pc.outdir) < 0 || stat(pc.outdir, &st) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			cli_error(pc.outdir, "cannot use as output directory");
			return EXIT_FAIL;
		}
	}

	for (int i = optind; i < argc; i++)
		pack_arg(&pc, argv[i]);

	if (!pc.quiet && pc.packed + pc.skipped + pc.failed > 1)
		printf("packed %u file%s, %s -> %s (%.3fx); %u skipped, %u failed\n", pc.packed,
		       pc.packed == 1 ? "" : "s", cli_size(a, sizeof(a), pc.in_bytes),
		       cli_size(b, sizeof(b), pc.out_bytes),
		       pc.out_bytes ? (double)pc.in_bytes / (double)pc.out_bytes : 0.0,
		       pc.skipped, pc.failed);
	if (!pc.quiet && pc.packed + pc.skipped + pc.failed == 0)
		fprintf(stderr, "%s: no .gguf or .safetensors files found\n", CLI_PROG);
	free(pc.seen);
	return pc.failed ? EXIT_FAIL : EXIT_OK;
}
