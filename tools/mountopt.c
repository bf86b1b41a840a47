/* SPDX-License-Identifier: MIT */
/*
 * mountopt.c - mount option parsing (see mountopt.h).
 */
#include "mountopt.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "source.h"

/* mount(8) and fstab options that mean nothing to FUSE. */
static const char *const fstab_only[] = {
	"defaults", "auto",  "noauto", "user",	  "users",	"nouser",     "owner",
	"group",    "_netdev", "nofail", "exec",   "noexec",	"suid",	      "nosuid",
	"dev",	    "nodev", "async",  "sync",	  "atime",	"noatime",    "relatime",
	"norelatime", "strictatime", "diratime", "nodiratime", "lazytime", "nolazytime",
	"rw",	    "ro",    "loud",   "silent",  NULL,
};

/* The trace= value outlives the parsed copy of the list; the process owns it. */
static char *trace_path, *store_path, *cafile_path, *cred_path, *pin_val;

static bool is_fstab_only(const char *opt)
{
	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
		return true;
	for (size_t i = 0; fstab_only[i]; i++)
		if (strcmp(opt, fstab_only[i]) == 0)
			return true;
	return false;
}

void mountopt_defaults(struct mfs_daemon_opts *d)
{
	memset(d, 0, sizeof(*d));
	d->cache_size = MFS_CACHE_SIZE_DEFAULT;
	d->cache_auto = true;
	d->pin_auto = true;
	d->max_threads = MFS_MAX_THREADS_DEFAULT;
	d->prefetch = MFS_PREFETCH_PLAN;
	d->drop_behind = true;
	d->backing = MFS_BACKING_DIRECT;
	d->kernel_readahead = MFS_KERNEL_READAHEAD_DEFAULT;
}

static int add_fuse_opt(char **list, const char *opt)
{
	size_t a = *list ? strlen(*list) : 0, b = strlen(opt);
	char *p = realloc(*list, a + b + 2);

	if (!p)
		return -1;
	if (a)
		p[a++] = ',';
	memcpy(p + a, opt, b + 1);
	*list = p;
	return 0;
}

int mountopt_parse(const char *cmd, const char *list, bool fstab, struct mfs_daemon_opts *d,
		   char **fuse_opts)
{
	char *copy = strdup(list), *save = NULL, *opt;
	int r = 0;

	if (!copy)
		return cli_usage_error(cmd, "out of memory");
	for (opt = strtok_r(copy, ",", &save); opt && !r; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		const char *val = eq ? eq + 1 : NULL;
		uint64_t v;

		if (eq)
			*eq = '\0';
		if (strcmp(opt, "cache_size") == 0 && val && strcmp(val, "auto") == 0) {
			d->cache_auto = true;
		} else if (strcmp(opt, "cache_size") == 0) {
			if (!val || !cli_parse_size(val, &v) || v < (1u << 20) || v > (1ull << 40))
				r = cli_usage_error(cmd, "cache_size '%s' is not auto or a size of 1M or more",
						    val ? val : "");
			else
				d->cache_size = (size_t)v;
			d->cache_auto = false;
		} else if (strcmp(opt, "pin_size") == 0 && val && strcmp(val, "auto") == 0) {
			d->pin_auto = true;
		} else if (strcmp(opt, "pin_size") == 0) {
			if (!val || !cli_parse_size(val, &v) || v > (1ull << 40))
				r = cli_usage_error(cmd, "pin_size '%s' is not auto or a size",
						    val ? val : "");
			else
				d->pin_size = (size_t)v;
			d->pin_auto = false;
		} else if (strcmp(opt, "workers") == 0) {
			if (!val || !cli_parse_uint(val, 256, &v) || v == 0)
				r = cli_usage_error(cmd, "workers '%s' is not 1 to 256", val ? val : "");
			else
				d->workers = (unsigned int)v;
		} else if (strcmp(opt, "max_threads") == 0) {
			if (!val || !cli_parse_uint(val, 1024, &v) || v == 0)
				r = cli_usage_error(cmd, "max_threads '%s' is not 1 to 1024",
						    val ? val : "");
			else
				d->max_threads = (unsigned int)v;
		} else if (strcmp(opt, "prefetch") == 0) {
			if (val && strcmp(val, "plan") == 0)
				d->prefetch = MFS_PREFETCH_PLAN;
			else if (val && strcmp(val, "sequential") == 0)
				d->prefetch = MFS_PREFETCH_SEQUENTIAL;
			else if (val && strcmp(val, "off") == 0)
				d->prefetch = MFS_PREFETCH_OFF;
			else
				r = cli_usage_error(cmd, "prefetch is plan, sequential or off");
		} else if (strcmp(opt, "drop_behind") == 0) {
			if (val && strcmp(val, "auto") == 0)
				d->drop_behind = true;
			else if (val && strcmp(val, "off") == 0)
				d->drop_behind = false;
			else
				r = cli_usage_error(cmd, "drop_behind is auto or off");
		} else if (strcmp(opt, "readahead") == 0) { /* before prefetch= existed */
			if (val && strcmp(val, "on") == 0)
				d->prefetch = MFS_PREFETCH_PLAN;
			else if (val && strcmp(val, "off") == 0)
				d->prefetch = MFS_PREFETCH_OFF;
			else
				r = cli_usage_error(cmd, "readahead is on or off");
		} else if (strcmp(opt, "trace") == 0) {
			free(trace_path);
			trace_path = val && *val ? strdup(val) : NULL;
			d->trace = trace_path;
			if (!d->trace)
				r = cli_usage_error(cmd, "trace needs a file name");
		} else if (strcmp(opt, "kernel_readahead") == 0) {
			if (!val || !cli_parse_size(val, &v) || v > (64u << 20))
				r = cli_usage_error(cmd, "kernel_readahead '%s' is not a size up to 64M",
						    val ? val : "");
			else
				d->kernel_readahead = (size_t)v;
		} else if (strcmp(opt, "backing") == 0) {
			if (val && strcmp(val, "direct") == 0)
				d->backing = MFS_BACKING_DIRECT;
			else if (val && strcmp(val, "dontneed") == 0)
				d->backing = MFS_BACKING_DONTNEED;
			else if (val && strcmp(val, "cached") == 0)
				d->backing = MFS_BACKING_CACHED;
			else
				r = cli_usage_error(cmd, "backing is cached, dontneed or direct");
		} else if (strcmp(opt, "store") == 0) {
			free(store_path);
			store_path = val && *val == '/' ? strdup(val) : NULL;
			d->store = store_path;
			if (!d->store)
				r = cli_usage_error(cmd, "store needs an absolute directory name");
		} else if (strcmp(opt, "store_size") == 0) {
			if (!val || !cli_parse_size(val, &v) || v < (16u << 20))
				r = cli_usage_error(cmd, "store_size '%s' is not a size of 16M or more",
						    val ? val : "");
			else
				d->store_size = v;
		} else if (strcmp(opt, "cafile") == 0) {
			free(cafile_path);
			cafile_path = val && *val ? strdup(val) : NULL;
			d->cafile = cafile_path;
			if (!d->cafile)
				r = cli_usage_error(cmd, "cafile needs a file name");
		} else if (strcmp(opt, "timeout") == 0) {
			if (!val || !cli_parse_uint(val, 3600, &v) || v == 0)
				r = cli_usage_error(cmd, "timeout '%s' is not 1 to 3600 seconds",
						    val ? val : "");
			else
				d->timeout = (unsigned int)v;
		} else if (strcmp(opt, "pin") == 0) {
			free(pin_val);
			pin_val = val ? strdup(val) : NULL;
			d->pin = pin_val;
			if (!val || !source_digest_ok(val))
				r = cli_usage_error(cmd, "pin '%s' is not sha256:<64 hex digits> (the "
						    "list's digest, as the mount's pin= shows it)",
						    val ? val : "");
		} else if (strcmp(opt, "requests") == 0) {
			if (!val || !cli_parse_uint(val, 64, &v) || v == 0)
				r = cli_usage_error(cmd, "requests '%s' is not 1 to 64", val ? val : "");
			else
				d->requests = (unsigned int)v;
		} else if (strcmp(opt, "credentials") == 0) {
			free(cred_path);
			cred_path = val && *val ? strdup(val) : NULL;
			d->credentials = cred_path;
			if (!d->credentials)
				r = cli_usage_error(cmd, "credentials needs a file name");
		} else if (strcmp(opt, "allow_http") == 0 && !val) {
			d->allow_http = true;
		} else if (strcmp(opt, "debug") == 0 && !val) {
			d->debug = true;
		} else if (!val && strcmp(opt, "rw") == 0 && !fstab) {
			r = cli_usage_error(cmd, "modelfs mounts are read-only");
		} else if (fstab && !val && is_fstab_only(opt)) {
			continue;
		} else if (fstab && val && is_fstab_only(opt)) {
			continue; /* comment=..., x-systemd.requires=... */
		} else {
			if (eq)
				*eq = '=';
			if (add_fuse_opt(fuse_opts, opt))
				r = cli_usage_error(cmd, "out of memory");
		}
	}
	free(copy);
	return r;
}

void mountopt_source_opts(struct source_opts *so, const struct mfs_daemon_opts *d)
{
	long ms = (long)(d->timeout ? d->timeout : 30) * 1000;

	*so = (struct source_opts){.store = d->store, .store_size = d->store_size,
				   .credentials = d->credentials, .requests = d->requests,
				   .tell = cli_tell};
	so->http.allow_http = d->allow_http;
	so->pin = d->pin;
	so->http.ca_file = d->cafile;
	so->http.deadline_ms = ms;
	so->http.attempt_timeout_ms = ms;
	so->http.connect_timeout_ms = ms < 10000 ? ms : 10000;
}
