/* SPDX-License-Identifier: MIT */
/*
 * cmd_remote.c - `modelfs publish DIR`, `modelfs push DIR URL` and `modelfs
 * fetch URL`: options and printing over fs/remote/.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "cli.h"
#include "mountopt.h"
#include "plan_order.h"
#include "oci.h"
#include "remote.h"
#include "source.h"

#include "cmds.h"

static const char publish_usage[] =
	"Usage: modelfs publish [-q] DIR\n"
	"Write DIR/" MFS_MANIFEST_NAME ", the list of the containers (X.mfs) in DIR with\n"
	"their sizes and hashes, so that DIR served by any web server (nginx, an\n"
	"object store, a CDN: anything that answers range requests) can be mounted\n"
	"with 'modelfs mount https://HOST/PATH/ MNT'. Run it again after the\n"
	"containers change; the list is replaced atomically.\n"
	"\n"
	"  -q, --quiet   print nothing but errors\n"
	"  -h, --help    show this help and exit\n";

int cmd_publish(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mfs_err err = {{0}};
	bool quiet = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'h')
			return fputs(publish_usage, stdout), EXIT_OK;
		else
			return cli_usage_error("publish", "bad option");
	}
	if (argc - optind != 1)
		return cli_usage_error("publish", "give one directory");
	r = source_publish(argv[optind], quiet ? NULL : cli_tell, &err);
	if (r) {
		cli_error(NULL, "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr, "modelfs: wrote %s/%s\n", argv[optind], MFS_MANIFEST_NAME);
	return EXIT_OK;
}

static const char push_usage[] =
	"Usage: modelfs push [-q] [-o OPT[,OPT...]] DIR oci://REGISTRY/REPOSITORY[:TAG]\n"
	"Upload the containers (X.mfs) in DIR to an OCI registry as one artifact:\n"
	"each container a layer (media type " MFS_OCI_LAYER_TYPE ",\n"
	"named by its org.opencontainers.image.title annotation), then the manifest\n"
	"under TAG (default latest). Blobs the registry already has are not sent\n"
	"again. Mount it with 'modelfs mount oci://REGISTRY/REPOSITORY:TAG MNT'.\n"
	"The registry is reached over https; over plain http on this machine\n"
	"(localhost, 127.0.0.1) or with -o allow_http.\n"
	"\n"
	"  -o OPTS       cafile=FILE, allow_http, credentials=FILE: as for mount\n"
	"  -q, --quiet   print nothing but errors\n"
	"  -h, --help    show this help and exit\n";

int cmd_push(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mfs_daemon_opts d;
	struct source_opts so;
	struct mfs_err err = {{0}};
	char *fuse_opts = NULL;
	bool quiet = false;
	int c, r;

	mountopt_defaults(&d);
	while ((c = getopt_long(argc, argv, "qo:h", longopts, NULL)) != -1) {
		if (c == 'q') {
			quiet = true;
		} else if (c == 'o') {
			r = mountopt_parse("push", optarg, false, &d, &fuse_opts);
			free(fuse_opts);
			fuse_opts = NULL;
			if (r)
				return r;
		} else if (c == 'h') {
			return fputs(push_usage, stdout), EXIT_OK;
		} else {
			return cli_usage_error("push", "bad option");
		}
	}
	if (argc - optind != 2 || !oci_is_url(argv[optind + 1]))
		return cli_usage_error("push", "give a directory and an oci:// reference");
	mountopt_source_opts(&so, &d);
	/* An upload of gigabytes takes as long as it takes: no deadline but progress. */
	so.http.deadline_ms = so.http.attempt_timeout_ms = 24L * 3600 * 1000;
	r = source_load_credentials(&so, &err);
	if (!r)
		r = oci_push(argv[optind], argv[optind + 1], &so.http, quiet ? NULL : cli_tell, &err);
	if (r) {
		cli_error(argv[optind + 1], "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr, "modelfs: pushed %s\n", argv[optind + 1]);
	return EXIT_OK;
}

static const char fetch_usage[] =
	"Usage: modelfs fetch [-q] [-j N] [-o OPT[,OPT...]] URL\n"
	"Fill the local chunk store with every chunk of the remote source URL (as\n"
	"'modelfs mount URL MNT' takes it), in the order inference reads them, so\n"
	"that a later mount runs without the network. Chunks already stored are not\n"
	"fetched again; every chunk is checked against its checksum before it is\n"
	"stored.\n"
	"\n"
	"  -j, --jobs N  requests in flight, each over many adjacent chunks\n"
	"                (default 8)\n"
	"  -o OPTS       store=DIR, store_size=SIZE, timeout=SECONDS, cafile=FILE,\n"
	"                allow_http, credentials=FILE: as for 'modelfs mount'\n"
	"  -q, --quiet   no progress, only errors\n"
	"  -h, --help    show this help and exit\n";

struct fetch_file {
	struct mfs_archive *ar;
	int fd;
	struct mfs_src src;
	struct mfs_remote_file *rf;
	uint32_t *order; /* chunks in plan order, then the rest */
	uint32_t n;
	uint32_t wanted; /* order[] up to here went to the fetch-ahead */
};

/* Chunks handed to the fetch-ahead before their reader waits for them. */
#define FETCH_WINDOW 512u

struct fetch_ctx {
	struct mfs_remote *remote;
	struct fetch_file *files;
	size_t nfiles;
	const struct mfs_remote_plain **plain; /* plain layers, fetched after the containers */
	size_t nplain;
	struct cli_progress *prog;
	pthread_mutex_t lock;
	size_t file; /* next chunk to hand out: files[file].order[pos] */
	uint32_t pos;
	_Atomic uint64_t done, total, fetched;
	int error;
	struct mfs_err err;
};

static void *fetch_worker(void *priv)
{
	struct fetch_ctx *x = priv;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (;;) {
		struct fetch_file *f;
		uint32_t idx;
		struct mfs_err err = {{0}};
		bool fetched;
		int r;

		pthread_mutex_lock(&x->lock);
		while (x->file < x->nfiles && x->pos >= x->files[x->file].n) {
			x->file++;
			x->pos = 0;
		}
		if (x->error || x->file >= x->nfiles) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		f = &x->files[x->file];
		idx = f->order[x->pos++];
		/* The fetchers take what is queued beside each other in one request. */
		for (; f->wanted < f->n && f->wanted < x->pos + FETCH_WINDOW; f->wanted++)
			mfs_remote_want(f->rf, f->order[f->wanted]);
		pthread_mutex_unlock(&x->lock);

		const struct mfs_chunk *c = mfs_archive_chunk(f->ar, idx);

		if (cap < c->plen) {
			uint8_t *b = realloc(buf, c->plen);

			if (!b) {
				r = -ENOMEM;
				goto fail;
			}
			buf = b;
			cap = c->plen;
		}
		r = mfs_remote_read(f->rf, idx, buf, &fetched, &err);
		if (r)
			goto fail;
		atomic_fetch_add(&x->done, c->plen);
		if (fetched)
			atomic_fetch_add(&x->fetched, c->plen);
		continue;
fail:
		pthread_mutex_lock(&x->lock);
		if (!x->error) {
			x->error = r;
			x->err = err;
		}
		pthread_mutex_unlock(&x->lock);
		break;
	}
	free(buf);
	return NULL;
}

static void plain_tick(void *ctx, uint64_t bytes)
{
	struct fetch_ctx *x = ctx;

	atomic_fetch_add(&x->done, bytes);
	cli_progress_update(x->prog, atomic_load(&x->done), atomic_load(&x->total),
			    atomic_load(&x->fetched));
}

/* Chunks in the order of the container's plan, then those it does not name. */
static int plan_order(struct fetch_file *f)
{
	uint32_t n = mfs_archive_nchunks(f->ar), k = 0;
	struct mfs_plan_order po;
	uint8_t *seen;
	int r;

	f->order = malloc((n ? n : 1) * sizeof(*f->order));
	seen = calloc(n ? n : 1, 1);
	if (!f->order || !seen) {
		free(seen);
		return -ENOMEM;
	}
	r = mfs_plan_order_build(&po, mfs_archive_plan_runs(f->ar), mfs_archive_nplan(f->ar), n);
	if (!r) {
		for (uint32_t p = 0; p < po.n; p++) {
			uint32_t c = po.chunk[p];

			if (c < n && !seen[c]) {
				seen[c] = 1;
				f->order[k++] = c;
			}
		}
		mfs_plan_order_release(&po);
	}
	for (uint32_t c = 0; c < n; c++)
		if (!seen[c])
			f->order[k++] = c;
	f->n = n;
	free(seen);
	return 0;
}

int cmd_fetch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mfs_daemon_opts d;
	struct source_opts so = {0};
	struct fetch_ctx x = {0};
	struct mfs_err err = {{0}};
	char *dir = NULL, *fuse_opts = NULL;
	pthread_t th[64];
	uint64_t jobs = 8;
	unsigned int started = 0;
	struct cli_progress prog;
	DIR *dd = NULL;
	struct dirent *de;
	int c, r, rc = EXIT_FAIL;

	mountopt_defaults(&d);
	while ((c = getopt_long(argc, argv, "qj:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			so.quiet = true;
			break;
		case 'j':
			if (!cli_parse_uint(optarg, 64, &jobs) || !jobs)
				return cli_usage_error("fetch", "--jobs '%s' is not 1 to 64", optarg);
			break;
		case 'o':
			r = mountopt_parse("fetch", optarg, false, &d, &fuse_opts);
			free(fuse_opts);
			fuse_opts = NULL;
			if (r)
				return r;
			break;
		case 'h':
			return fputs(fetch_usage, stdout), EXIT_OK;
		default:
			return cli_usage_error("fetch", "bad option");
		}
	}
	if (argc - optind != 1 || !source_is_url(argv[optind]))
		return cli_usage_error("fetch", "give one https://, http:// or oci:// URL");
	bool quiet = so.quiet;

	mountopt_source_opts(&so, &d);
	so.quiet = quiet;
	r = source_prepare(argv[optind], &so, &dir, &x.remote, &err);
	if (r) {
		cli_error(argv[optind], "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	pthread_mutex_init(&x.lock, NULL);
	dd = opendir(dir);
	while (dd && (de = readdir(dd))) {
		size_t l = strlen(de->d_name);
		struct fetch_file *f, *nf;
		char path[4096];

		if (de->d_name[0] != '.') {
			const struct mfs_remote_plain *p = mfs_remote_plain(x.remote, de->d_name);
			const struct mfs_remote_plain **np;

			if (p) {
				np = realloc(x.plain, (x.nplain + 1) * sizeof(*np));
				if (!np)
					goto out;
				x.plain = np;
				x.plain[x.nplain++] = p;
				atomic_fetch_add(&x.total, mfs_remote_plain_size(p));
				continue;
			}
		}
		if (l < 5 || de->d_name[0] == '.' || strcmp(de->d_name + l - 4, ".mfs"))
			continue;
		nf = realloc(x.files, (x.nfiles + 1) * sizeof(*nf));
		if (!nf)
			goto out;
		x.files = nf;
		f = &x.files[x.nfiles];
		memset(f, 0, sizeof(*f));
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0 || mfs_src_init_fd(&f->src, f->fd, &err) ||
		    mfs_archive_open(&f->ar, &f->src, &err) || plan_order(f) ||
		    mfs_remote_open(x.remote, de->d_name, f->ar, &f->rf)) {
			cli_error(path, "%s", err.msg[0] ? err.msg : "cannot open");
			if (f->fd >= 0)
				close(f->fd);
			mfs_archive_close(f->ar);
			free(f->order);
			goto out;
		}
		x.nfiles++;
		atomic_fetch_add(&x.total, mfs_archive_info(f->ar)->stored_bytes);
	}
	cli_progress_start(&prog, "fetch", so.quiet);
	mfs_remote_set_fetchers(x.remote, (unsigned int)jobs);
	/* Readers wait for the fetchers: as many as there are requests in flight. */
	for (; started < jobs; started++)
		if (pthread_create(&th[started], NULL, fetch_worker, &x))
			break;
	while (started) {
		struct timespec ts = {0, 200000000};
		bool busy;

		pthread_mutex_lock(&x.lock);
		busy = !x.error && x.file < x.nfiles;
		pthread_mutex_unlock(&x.lock);
		cli_progress_update(&prog, atomic_load(&x.done), atomic_load(&x.total),
				    atomic_load(&x.fetched));
		if (!busy)
			break;
		nanosleep(&ts, NULL);
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	/* Plain layers, one after the other: each is checked against its digest whole. */
	x.prog = &prog;
	for (size_t i = 0; i < x.nplain && !x.error; i++) {
		struct mfs_remote_stats before, after;

		mfs_remote_stats(x.remote, &before);
		r = oci_fetch_plain(x.remote, x.plain[i], plain_tick, &x, &x.err);
		mfs_remote_stats(x.remote, &after);
		atomic_fetch_add(&x.fetched, after.fetched_bytes - before.fetched_bytes);
		if (r)
			x.error = r;
	}
	cli_progress_end(&prog);
	if (x.error) {
		cli_error(argv[optind], "%s", mfs_err_msg(&x.err, x.error));
		goto out;
	}
	if (!so.quiet) {
		char a[32], b[32];

		fprintf(stderr, "modelfs: %zu containers, %zu plain files, %s stored, %s of it "
			"fetched now\n", x.nfiles, x.nplain, cli_size(a, sizeof(a), atomic_load(&x.done)),
			cli_size(b, sizeof(b), atomic_load(&x.fetched)));
	}
	rc = EXIT_OK;
out:
	if (dd)
		closedir(dd);
	for (size_t i = 0; i < x.nfiles; i++) {
		mfs_remote_close(x.files[i].rf);
		mfs_archive_close(x.files[i].ar);
		close(x.files[i].fd);
		free(x.files[i].order);
	}
	free(x.files);
	free(x.plain);
	mfs_remote_free(x.remote);
	free(dir);
	pthread_mutex_destroy(&x.lock);
	return rc;
}
