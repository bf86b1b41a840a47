/* SPDX-License-Identifier: MIT */
/*
 * options.c - the table of mount options (see options.h).
 */
#include "options.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MIB (1ull << 20)
#define TIB (1ull << 40)

static const char *const prefetch_names[] = {"off", "sequential", "plan"};
/* readahead=on|off, from before prefetch= existed */
static const char *const readahead_names[] = {"off", NULL, "on"};
static const char *const drop_names[] = {"off", "auto"};
static const char *const backing_names[] = {"cached", "dontneed", "direct"};
/* what the xattr shows: a remote mount's backing too */
static const char *const backing_shown[] = {"cached", "dontneed", "direct", "remote"};

const struct mfs_mount_option mfs_mount_options[] = {
	{"cache_size", MFS_OPT_SIZE, MFS_OPT_AT(cache_size), MFS_OPT_AT(cache_auto), MIB, TIB, NULL,
	 true, "auto|SIZE", "memory for decompressed chunks"},
	{"pin_size", MFS_OPT_SIZE, MFS_OPT_AT(pin_size), MFS_OPT_AT(pin_auto), 0, TIB, NULL, true,
	 "auto|SIZE",
	 "memory for compressed chunks kept while a model is open: with less RAM than the model, "
	 "each token re-reads every weight and no LRU helps; pinned chunks are not read from "
	 "disk again.\n"
	 "auto (the default for both) sizes them from the memory the daemon sees - its memory "
	 "cgroup's limit (v1 or v2) or the RAM - less what everything else there uses, and "
	 "re-sizes them every 200 ms and when the kernel reports memory stalls: the cache is "
	 "4M-64M; pins are used for models that shrink by a quarter or more (BF16, F32) when "
	 "they do not fit in the page cache, and given back when others need the memory. A SIZE "
	 "is a fixed limit. Pinned memory is always MADV_FREE: under pressure the kernel takes "
	 "it back (the chunk is then read from disk again) rather than kill anyone; auto then "
	 "pins less. 'modelfs stats' shows the budgets."},
	{"drop_behind", MFS_OPT_CHOICE, MFS_OPT_AT(drop_behind), 0, 0, 2, drop_names, true,
	 "auto|off",
	 "auto (default): while the models do not fit, drop the pages a reader has gone past "
	 "from the page cache (each would be evicted before its next use anyway), so the pins "
	 "stay in memory; for quantized models, once the reader comes back to chunks, keep a "
	 "resident set of them instead"},
	{"workers", MFS_OPT_UINT, MFS_OPT_AT(workers), 0, 1, 256, NULL, true, "N",
	 "threads that read and decompress chunks (default: 4 per CPU with backing=direct or a "
	 "remote source, else one per CPU; of the default, only as many run at once as the "
	 "reads need: one per CPU when reads do not block, as from tmpfs)"},
	{"max_threads", MFS_OPT_UINT, MFS_OPT_AT(max_threads), 0, 1, 1024, NULL, true, "N",
	 "threads serving FUSE requests (default 10)"},
	{"prefetch", MFS_OPT_CHOICE, MFS_OPT_AT(prefetch), 0, 0, 3, prefetch_names, true,
	 "plan|sequential|off",
	 "what to decompress ahead of readers: plan (default) follows the container's prefetch "
	 "plan, the order inference reads tensors in, across layer jumps and around to the "
	 "first layer; sequential follows the file; off decodes only what is read"},
	{"readahead", MFS_OPT_CHOICE, MFS_OPT_AT(prefetch), 0, 0, 3, readahead_names, false, NULL,
	 NULL},
	{"trace", MFS_OPT_NAME, MFS_OPT_AT(trace), 0, 0, 0, NULL, true, "FILE",
	 "append the chunks of every read to FILE, for 'modelfs plan' (record under memory "
	 "pressure, where the kernel re-reads weights each token)"},
	{"kernel_readahead", MFS_OPT_SIZE, MFS_OPT_AT(kernel_readahead), 0, 0, 64 * MIB, NULL, true,
	 "SIZE",
	 "the kernel's readahead window on the mount (default 1M; 0 keeps the kernel's 128K; "
	 "needs root); 128K for Q4_0/Q4_K models opened while memory is tight"},
	{"backing", MFS_OPT_CHOICE, MFS_OPT_AT(backing), 0, 0, 3, backing_names, true,
	 "direct|dontneed|cached",
	 "how compressed bytes are read: with O_DIRECT (direct, the default), keeping no copy "
	 "in memory; through the page cache, dropped once decoded (dontneed); or through the "
	 "page cache, which keeps them (cached: fastest cold reads when RAM is plenty)"},
	{"store", MFS_OPT_NAME, MFS_OPT_AT(store), 0, 1, 0, NULL, false, "DIR",
	 "remote sources: the chunk store (default /var/cache/modelfs for root, else "
	 "~/.cache/modelfs)"},
	{"store_size", MFS_OPT_SIZE, MFS_OPT_AT(store_size), 0, 16 * MIB, UINT64_MAX, NULL, false,
	 "SIZE",
	 "its budget; least recently used chunks go first (default: half the space free there, "
	 "at least 1G)"},
	{"timeout", MFS_OPT_UINT, MFS_OPT_AT(timeout), 0, 1, 3600, NULL, false, "SECONDS",
	 "a remote read that takes longer, retries included, fails with EIO (default 30)"},
	{"requests", MFS_OPT_UINT, MFS_OPT_AT(requests), 0, 1, 64, NULL, false, "N",
	 "range requests in flight, each over many adjacent chunks the readers will need "
	 "(default 4; more for long round trips, at up to 1.3 MiB of memory each)"},
	{"cafile", MFS_OPT_NAME, MFS_OPT_AT(cafile), 0, 0, 0, NULL, false, "FILE",
	 "trust these certificates instead of the system's"},
	{"allow_http", MFS_OPT_FLAG, MFS_OPT_AT(allow_http), 0, 0, 0, NULL, false, NULL,
	 "plain http:// to other hosts than this one (it is refused otherwise: use https)"},
	{"credentials", MFS_OPT_NAME, MFS_OPT_AT(credentials), 0, 0, 0, NULL, false, "FILE",
	 "lines 'HOST basic USER:PASSWORD', 'HOST bearer TOKEN' or 'HOST header NAME: VALUE' "
	 "(more than one), sent only to HOST, never along a redirect to another host; the file "
	 "must be yours and private (default /etc/modelfs/credentials for root, else "
	 "~/.config/modelfs/credentials, if there)"},
	{"pin", MFS_OPT_DIGEST, MFS_OPT_AT(pin), 0, 0, 0, NULL, false, "sha256:HEX",
	 "the list (modelfs.json, the OCI manifest) must be exactly this, or nothing is "
	 "mounted; a mount shows the list it used as pin= in 'modelfs stats'"},
	{"debug", MFS_OPT_FLAG, MFS_OPT_AT(debug), 0, 0, 0, NULL, false, NULL,
	 "trace every FUSE request (as -d)"},
	{"allow_other", MFS_OPT_FUSE, 0, 0, 0, 0, NULL, false, NULL,
	 "let other users read (file permissions still apply)"},
	{"auto_unmount", MFS_OPT_FUSE, 0, 0, 0, 0, NULL, false, NULL,
	 "unmount when the daemon exits, even if killed"},
	{"fsname", MFS_OPT_FUSE, 0, 0, 0, 0, NULL, false, "NAME",
	 "source shown in /proc/mounts (default modelfs:SRC)"},
	{NULL, 0, 0, 0, 0, 0, NULL, false, NULL, NULL},
};

const struct mfs_mount_option *mfs_mount_option_find(const char *name, size_t len)
{
	for (const struct mfs_mount_option *m = mfs_mount_options; m->name; m++)
		if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
			return m;
	return NULL;
}

void mfs_options_defaults(struct mfs_daemon_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cache_size = MFS_CACHE_SIZE_DEFAULT;
	o->cache_auto = true;
	o->pin_auto = true;
	o->max_threads = MFS_MAX_THREADS_DEFAULT;
	o->prefetch = MFS_PREFETCH_PLAN;
	o->drop_behind = 1;
	o->backing = MFS_BACKING_DIRECT;
	o->kernel_readahead = MFS_KERNEL_READAHEAD_DEFAULT;
}

/* Appends "NAME=VALUE" (or "NAME") to @buf; the part that fits. */
static void add(char *buf, size_t len, size_t *n, const char *name, const char *val)
{
	int w;

	if (*n >= len)
		return;
	w = snprintf(buf + *n, len - *n, "%s%s%s%s", *n ? "," : "", name, val ? "=" : "",
		     val ? val : "");
	*n += w > 0 ? (size_t)w : 0;
}

void mfs_options_describe(const struct mfs_daemon_opts *o, unsigned int workers,
			  unsigned int max_threads, char *buf, size_t len)
{
	struct mfs_daemon_opts shown = *o;
	size_t n = 0;
	char val[64];

	buf[0] = '\0';
	shown.workers = workers;
	shown.max_threads = max_threads;
	for (const struct mfs_mount_option *m = mfs_mount_options; m->name; m++) {
		void *f = m->at ? mfs_option_field(&shown, m->at) : NULL;

		if (!m->shown)
			continue;
		if (m->auto_at && *(bool *)mfs_option_field(&shown, m->auto_at)) {
			add(buf, len, &n, m->name, "auto");
			continue;
		}
		switch (m->kind) {
		case MFS_OPT_SIZE:
			snprintf(val, sizeof(val), "%" PRIu64, *(uint64_t *)f);
			add(buf, len, &n, m->name, val);
			break;
		case MFS_OPT_UINT:
			snprintf(val, sizeof(val), "%u", *(unsigned int *)f);
			add(buf, len, &n, m->name, val);
			break;
		case MFS_OPT_CHOICE: {
			int i = *(int *)f;

			if (m->choices == backing_names && i >= 0 && i < 4)
				add(buf, len, &n, m->name, backing_shown[i]);
			else if (i >= 0 && (uint64_t)i < m->max && m->choices[i])
				add(buf, len, &n, m->name, m->choices[i]);
			break;
		}
		case MFS_OPT_NAME:
			/* The caller sanitizes the whole list (a name may hold anything). */
			if (*(const char **)f)
				add(buf, len, &n, m->name, *(const char **)f);
			break;
		default:
			break;
		}
	}
	if (o->listed)
		add(buf, len, &n, "pin", o->listed);
}
