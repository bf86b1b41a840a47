/* SPDX-License-Identifier: MIT */
/*
 * cmd_inspect.c - `modelfs inspect`: what is in a container, for people
 * (tables) and programs (--json). Reads the index only; no chunk is decoded.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "cli.h"
#include "dtype.h"
#include "entropy.h"
#include "json.h"
#include "method.h"
#include "model.h"
#include "names.h"
#include "xform.h"

#include "cmds.h"

static const char inspect_usage[] =
	"Usage: modelfs inspect [OPTION]... FILE.mfs\n"
	"Show what a container holds: the original file's size, mode and time, the\n"
	"compression totals, a summary per dtype, and every tensor with its dtype,\n"
	"layer, role, shape, original and stored bytes, ratio and codecs.\n"
	"\n"
	"Options:\n"
	"      --json         machine-readable output (one JSON object)\n"
	"      --chunks       also list every chunk\n"
	"      --plan         also list the prefetch plan: the chunk runs in the order\n"
	"                     inference reads them (cycle: where each token starts\n"
	"                     over; sparse: read a row at a time, not prefetched)\n"
	"      --entropy      decode every chunk and compare each tensor's stored size\n"
	"                     with its order-0 entropy bound: bytes x H0 / 8 summed over\n"
	"                     the planes of the best split (none, byte planes, fields)\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n";

struct tensor_stat {
	uint64_t bytes;	 /* logical bytes of its chunks (data plus trailing padding) */
	uint64_t stored; /* stored bytes of its chunks */
	uint32_t chunks;
	uint32_t methods; /* bit per (codec, transform): codec * MFS_XFORM_NR + xform */
};

struct dtype_stat {
	uint32_t tensors;
	uint64_t bytes, stored;
};

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void codecs_str(char *buf, size_t len, uint32_t mask)
{
	size_t n = 0;
	char name[48];

	buf[0] = '\0';
	for (unsigned int i = 0; i < 32; i++) {
		if (!(mask & (1u << i)))
			continue;
		mfs_method_name(name, sizeof(name), i / MFS_XFORM_NR, i % MFS_XFORM_NR);
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", name);
		if (n >= len)
			break;
	}
}

static double ratio_or_zero(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

static void print_entropy_text(const struct mfs_archive *ar, const struct mfs_tensor_bound *tb)
{
	static const char *const split[MFS_SPLIT_NR] = {"none", "bytes", "fields"};
	struct { uint64_t bytes, stored; double best; uint32_t n; } d[MFS_DT_NR] = {{0}};
	uint64_t tb_bytes = 0, tb_stored = 0;
	double tb_best = 0;

	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		unsigned int dt = mfs_archive_tensor(ar, i)->dtype;

		d[dt].bytes += tb[i].bytes;
		d[dt].stored += tb[i].stored;
		d[dt].best += tb[i].best;
		d[dt].n++;
		tb_bytes += tb[i].bytes;
		tb_stored += tb[i].stored;
		tb_best += tb[i].best;
	}
	printf("\norder-0 entropy bound (best split per tensor) against what is stored:\n");
	printf("%-8s %8s %14s %14s %9s %9s %9s\n", "dtype", "tensors", "bytes", "stored", "ratio",
	       "bound", "of bound");
	for (unsigned int i = 0; i < MFS_DT_NR; i++) {
		if (!d[i].n)
			continue;
		printf("%-8s %8u %14" PRIu64 " %14" PRIu64 " %8.3fx %8.3fx %8.1f%%\n",
		       mfs_dtype_get(i)->name, d[i].n, d[i].bytes, d[i].stored,
		       ratio((uint64_t)d[i].bytes, d[i].stored),
		       ratio_or_zero((double)d[i].bytes, d[i].best),
		       100.0 * ratio_or_zero(d[i].best, (double)d[i].stored));
	}
	printf("%-8s %8u %14" PRIu64 " %14" PRIu64 " %8.3fx %8.3fx %8.1f%%\n", "all",
	       mfs_archive_ntensors(ar), tb_bytes, tb_stored, ratio(tb_bytes, tb_stored),
	       ratio_or_zero((double)tb_bytes, tb_best),
	       100.0 * ratio_or_zero(tb_best, (double)tb_stored));
	printf("\n%5s  %-40s %-7s %9s %9s %9s %9s %9s\n", "#", "tensor", "dtype", "ratio",
	       split[0], split[1], split[2], "of bound");
	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		const struct mfs_tensor_bound *b = &tb[i];
		char cols[MFS_SPLIT_NR][16];

		for (unsigned int k = 0; k < MFS_SPLIT_NR; k++) {
			if (b->bound[k] > 0)
				snprintf(cols[k], sizeof(cols[k]), "%.3fx",
					 (double)b->bytes / b->bound[k]);
			else
				snprintf(cols[k], sizeof(cols[k]), "-");
		}
		printf("%5u  %-40s %-7s %8.3fx %9s %9s %9s %8.1f%%\n", i,
		       cli_shown(mfs_archive_tensor(ar, i)->name),
		       mfs_dtype_get(mfs_archive_tensor(ar, i)->dtype)->name,
		       ratio(b->bytes, b->stored), cols[0], cols[1], cols[2],
		       100.0 * ratio_or_zero(b->best, (double)b->stored));
	}
}

static void shape_str(char *buf, size_t len, const struct mfs_tensor *t)
{
	size_t n = (size_t)snprintf(buf, len, "[");

	for (unsigned int d = 0; d < t->ndim && n < len; d++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRIu64, d ? ", " : "", t->ne[d]);
	if (n < len)
		snprintf(buf + n, len - n, "]%s", t->flags & MFS_TENSOR_SHAPE_FOLDED ? "*" : "");
}

static void print_text(const char *file, const struct mfs_archive *ar,
		       const struct tensor_stat *ts, const struct dtype_stat *ds,
		       const struct tensor_stat *meta, const struct tensor_stat *other,
		       bool chunks)
{
	const struct mfs_archive_info *in = mfs_archive_info(ar);
	const struct mfs_header_info *h = &in->header;
	char a[32], b[32], when[64], shape[96], codecs[64];
	time_t t = (time_t)h->mtime_sec;
	struct tm tm;

	/* Any value the format holds prints: one gmtime cannot represent shows as seconds. */
	if ((int64_t)t != h->mtime_sec || !gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof(when), "@%" PRId64, h->mtime_sec);
	printf("file:          %s\n", file);
	printf("format:        modelfs container v%u.%u, original is %s\n", h->version_major,
	       h->version_minor, mfs_source_name(h->source));
	printf("original:      %s (%" PRIu64 " bytes), mode %04o, mtime %s UTC\n",
	       cli_size(a, sizeof(a), h->original_size), h->original_size, h->mode, when);
	printf("container:     %s (%" PRIu64 " bytes), ratio %.3fx\n",
	       cli_size(b, sizeof(b), in->file_size), in->file_size,
	       ratio(h->original_size, in->file_size));
	printf("chunk data:    %s stored, ratio %.3fx\n", cli_size(a, sizeof(a), in->stored_bytes),
	       ratio(h->original_size, in->stored_bytes));
	printf("chunks:        %u (target %u KiB, largest %u KiB)\n", mfs_archive_nchunks(ar),
	       in->footer.chunk_target >> 10, in->max_chunk >> 10);
	printf("tensors:       %u\n", mfs_archive_ntensors(ar));
	printf("plan entries:  %u\n", mfs_archive_nplan(ar));
	printf("xxh3-128:      %016" PRIx64 "%016" PRIx64 "\n", in->footer.hash_hi,
	       in->footer.hash_lo);
	printf("digests:       %s\n",
	       in->footer.compat & MFS_COMPAT_DIGESTS
		   ? "SHA-256 of every chunk"
		   : "none (packed before format 1.2: its chunks are shared with no other source)");
	printf("metadata:      %s in %u chunks, stored %s (%.3fx)\n",
	       cli_size(a, sizeof(a), meta->bytes), meta->chunks,
	       cli_size(b, sizeof(b), meta->stored), ratio(meta->bytes, meta->stored));
	if (other->chunks)
		printf("other bytes:   %s in %u chunks, stored %s (%.3fx)\n",
		       cli_size(a, sizeof(a), other->bytes), other->chunks,
		       cli_size(b, sizeof(b), other->stored), ratio(other->bytes, other->stored));

	printf("\n%-8s %8s %14s %14s %8s\n", "dtype", "tensors", "bytes", "stored", "ratio");
	for (unsigned int i = 0; i < MFS_DT_NR; i++) {
		if (!ds[i].tensors)
			continue;
		printf("%-8s %8u %14" PRIu64 " %14" PRIu64 " %7.3fx\n", mfs_dtype_get(i)->name,
		       ds[i].tensors, ds[i].bytes, ds[i].stored, ratio(ds[i].bytes, ds[i].stored));
	}

	if (mfs_archive_ntensors(ar)) {
		printf("\n%5s  %-40s %-7s %5s %-11s %-24s %12s %12s %7s  %s\n", "#", "tensor",
		       "dtype", "layer", "role", "shape", "bytes", "stored", "ratio", "codec");
		for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
			const struct mfs_tensor *tn = mfs_archive_tensor(ar, i);
			char layer[8];

			if (tn->layer == MFS_LAYER_NONE)
				snprintf(layer, sizeof(layer), "-");
			else
				snprintf(layer, sizeof(layer), "%u", tn->layer);
			shape_str(shape, sizeof(shape), tn);
			codecs_str(codecs, sizeof(codecs), ts[i].methods);
			printf("%5u  %-40s %-7s %5s %-11s %-24s %12" PRIu64 " %12" PRIu64
			       " %6.3fx  %s\n",
			       i, cli_shown(tn->name), mfs_dtype_get(tn->dtype)->name, layer,
			       mfs_role_name(tn->role), shape, ts[i].bytes, ts[i].stored,
			       ratio(ts[i].bytes, ts[i].stored), codecs);
		}
	}
	if (chunks) {
		printf("\n%8s %14s %9s %14s %9s %-6s %-5s %s\n", "#", "offset", "length",
		       "stored at", "stored", "codec", "flags", "tensor");
		for (uint32_t i = 0; i < mfs_archive_nchunks(ar); i++) {
			const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

			printf("%8u %14" PRIu64 " %9u %14" PRIu64 " %9u %-6s %-5s %s\n", i, c->loff,
			       c->llen, c->poff, c->plen, mfs_codec_name(c->codec),
			       c->flags & MFS_CHUNK_META ? "meta" : "-",
			       c->tensor == MFS_TENSOR_NONE
				   ? "-"
				   : cli_shown(mfs_archive_tensor(ar, c->tensor)->name));
		}
	}
}

static const char *chunk_tensor_name(const struct mfs_archive *ar, uint32_t chunk)
{
	const struct mfs_chunk *c = mfs_archive_chunk(ar, chunk);

	return c->tensor == MFS_TENSOR_NONE ? "-"
					    : cli_shown(mfs_archive_tensor(ar, c->tensor)->name);
}

static void print_plan_text(const struct mfs_archive *ar)
{
	printf("\nprefetch plan, in access order:\n%6s %9s %9s %-13s %s\n", "run", "chunk",
	       "chunks", "flags", "tensors");
	for (uint32_t i = 0; i < mfs_archive_nplan(ar); i++) {
		const struct mfs_plan_entry *pe = mfs_archive_plan(ar, i);
		const char *a = chunk_tensor_name(ar, pe->first);
		const char *b = chunk_tensor_name(ar, pe->first + pe->count - 1);
		char flags[16];

		snprintf(flags, sizeof(flags), "%s%s%s", pe->flags & MFS_PLAN_CYCLE ? "cycle" : "",
			 (pe->flags & MFS_PLAN_CYCLE) && (pe->flags & MFS_PLAN_SPARSE) ? "," : "",
			 pe->flags & MFS_PLAN_SPARSE ? "sparse" : "");
		printf("%6u %9u %9u %-13s %s%s%s\n", i, pe->first, pe->count, *flags ? flags : "-",
		       a, strcmp(a, b) ? " .. " : "", strcmp(a, b) ? b : "");
	}
}

static void print_json(const char *file, const struct mfs_archive *ar,
		       const struct tensor_stat *ts, const struct dtype_stat *ds,
		       const struct tensor_stat *meta, bool chunks,
		       const struct mfs_tensor_bound *tb)
{
	const struct mfs_archive_info *in = mfs_archive_info(ar);
	const struct mfs_header_info *h = &in->header;
	char codecs[64];
	bool first = true;

	printf("{\"file\":");
	json_write_str(stdout, file);
	printf(",\"format_version\":\"%u.%u\",\"source\":\"%s\",\"original_size\":%" PRIu64
	       ",\"container_size\":%" PRIu64 ",\"stored_bytes\":%" PRIu64
	       ",\"ratio\":%.6f,\"mode\":%u,\"mtime\":%" PRId64 ".%09u,\"chunk_target\":%u"
	       ",\"chunks\":%u,\"xxh3_128\":\"%016" PRIx64 "%016" PRIx64 "\"",
	       h->version_major, h->version_minor, mfs_source_name(h->source), h->original_size,
	       in->file_size, in->stored_bytes, ratio(h->original_size, in->file_size), h->mode,
	       h->mtime_sec, h->mtime_nsec, in->footer.chunk_target, mfs_archive_nchunks(ar),
	       in->footer.hash_hi, in->footer.hash_lo);
	printf(",\"digests\":%s", in->footer.compat & MFS_COMPAT_DIGESTS ? "true" : "false");
	printf(",\"metadata\":{\"bytes\":%" PRIu64 ",\"stored\":%" PRIu64 ",\"chunks\":%u}",
	       meta->bytes, meta->stored, meta->chunks);
	printf(",\"dtypes\":[");
	for (unsigned int i = 0; i < MFS_DT_NR; i++) {
		if (!ds[i].tensors)
			continue;
		printf("%s{\"dtype\":\"%s\",\"tensors\":%u,\"bytes\":%" PRIu64 ",\"stored\":%" PRIu64
		       ",\"ratio\":%.6f}",
		       first ? "" : ",", mfs_dtype_get(i)->name, ds[i].tensors, ds[i].bytes,
		       ds[i].stored, ratio(ds[i].bytes, ds[i].stored));
		first = false;
	}
	printf("],\"tensors\":[");
	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		const struct mfs_tensor *tn = mfs_archive_tensor(ar, i);

		printf("%s{\"name\":", i ? "," : "");
		json_write_str(stdout, tn->name);
		printf(",\"dtype\":\"%s\",\"layer\":", mfs_dtype_get(tn->dtype)->name);
		if (tn->layer == MFS_LAYER_NONE)
			printf("null");
		else
			printf("%u", tn->layer);
		printf(",\"role\":\"%s\",\"shape\":[", mfs_role_name(tn->role));
		for (unsigned int d = 0; d < tn->ndim; d++)
			printf("%s%" PRIu64, d ? "," : "", tn->ne[d]);
		codecs_str(codecs, sizeof(codecs), ts[i].methods);
		printf("],\"offset\":%" PRIu64 ",\"size\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"stored\":%" PRIu64 ",\"ratio\":%.6f,\"chunks\":%u,\"codec\":\"%s\"",
		       tn->offset, tn->size, ts[i].bytes, ts[i].stored,
		       ratio(ts[i].bytes, ts[i].stored), ts[i].chunks, codecs);
		if (tb)
			printf(",\"bound\":{\"none\":%.6f,\"bytes\":%.6f,\"fields\":%.6f,"
			       "\"best\":%.6f,\"best_bytes\":%.0f}",
			       ratio_or_zero((double)tb[i].bytes, tb[i].bound[MFS_SPLIT_NONE]),
			       ratio_or_zero((double)tb[i].bytes, tb[i].bound[MFS_SPLIT_BYTES]),
			       ratio_or_zero((double)tb[i].bytes, tb[i].bound[MFS_SPLIT_FIELDS]),
			       ratio_or_zero((double)tb[i].bytes, tb[i].best), tb[i].best);
		printf("}");
	}
	printf("],\"plan\":[");
	for (uint32_t i = 0; i < mfs_archive_nplan(ar); i++) {
		const struct mfs_plan_entry *pe = mfs_archive_plan(ar, i);

		printf("%s{\"first_chunk\":%u,\"count\":%u,\"cycle\":%s,\"sparse\":%s}",
		       i ? "," : "", pe->first, pe->count,
		       pe->flags & MFS_PLAN_CYCLE ? "true" : "false",
		       pe->flags & MFS_PLAN_SPARSE ? "true" : "false");
	}
	printf("]");
	if (chunks) {
		printf(",\"chunk_list\":[");
		for (uint32_t i = 0; i < mfs_archive_nchunks(ar); i++) {
			const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

			printf("%s{\"offset\":%" PRIu64 ",\"length\":%u,\"stored_at\":%" PRIu64
			       ",\"stored\":%u,\"codec\":\"%s\",\"transform\":\"%s\",\"meta\":%s,"
			       "\"tensor\":",
			       i ? "," : "", c->loff, c->llen, c->poff, c->plen,
			       mfs_codec_name(c->codec), mfs_xform_name(c->xform),
			       c->flags & MFS_CHUNK_META ? "true" : "false");
			if (c->tensor == MFS_TENSOR_NONE)
				printf("null}");
			else
				printf("%u}", c->tensor);
		}
		printf("]");
	}
	printf("}\n");
}

int cmd_inspect(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_CHUNKS, OPT_ENTROPY, OPT_PLAN };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"chunks", no_argument, NULL, OPT_CHUNKS},
		{"entropy", no_argument, NULL, OPT_ENTROPY},
		{"plan", no_argument, NULL, OPT_PLAN},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct tensor_stat *ts, meta = {0}, other = {0};
	struct dtype_stat ds[MFS_DT_NR] = {{0}};
	struct mfs_err err = {{0}};
	struct mfs_archive *ar;
	struct mfs_tensor_bound *tb = NULL;
	bool json = false, chunks = false, entropy = false, plan = false;
	const char *file;
	int c, r;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_CHUNKS:
			chunks = true;
			break;
		case OPT_ENTROPY:
			entropy = true;
			break;
		case OPT_PLAN:
			plan = true;
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			return EXIT_OK;
		case 'V':
			cli_version();
			return EXIT_OK;
		default:
			return cli_usage_error("inspect", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("inspect", "give exactly one container");
	file = argv[optind];
	r = mfs_archive_open_path(&ar, file, &err);
	if (r) {
		cli_error(file, "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	ts = calloc(mfs_archive_ntensors(ar) + 1u, sizeof(*ts));
	if (!ts) {
		cli_error(file, "out of memory");
		mfs_archive_close(ar);
		return EXIT_FAIL;
	}
	for (uint32_t i = 0; i < mfs_archive_nchunks(ar); i++) {
		const struct mfs_chunk *ch = mfs_archive_chunk(ar, i);
		struct tensor_stat *s = ch->tensor != MFS_TENSOR_NONE ? &ts[ch->tensor]
					: ch->flags & MFS_CHUNK_META ? &meta
								     : &other;

		s->bytes += ch->llen;
		s->stored += ch->plen;
		s->chunks++;
		s->methods |= 1u << ((ch->codec * MFS_XFORM_NR + ch->xform) & 31);
	}
	for (uint32_t i = 0; i < mfs_archive_ntensors(ar); i++) {
		struct dtype_stat *d = &ds[mfs_archive_tensor(ar, i)->dtype];

		d->tensors++;
		d->bytes += ts[i].bytes;
		d->stored += ts[i].stored;
	}
	if (entropy) {
		tb = calloc(mfs_archive_ntensors(ar) + 1u, sizeof(*tb));
		r = tb ? mfs_entropy_bounds(ar, 0, tb, &err) : -ENOMEM;
		if (r) {
			cli_error(file, "%s", mfs_err_msg(&err, r));
			free(tb);
			free(ts);
			mfs_archive_close(ar);
			return EXIT_FAIL;
		}
	}
	if (json) {
		print_json(file, ar, ts, ds, &meta, chunks, tb);
	} else {
		print_text(file, ar, ts, ds, &meta, &other, chunks);
		if (tb)
			print_entropy_text(ar, tb);
		if (plan)
			print_plan_text(ar);
	}
	free(tb);
	free(ts);
	mfs_archive_close(ar);
	return EXIT_OK;
}
