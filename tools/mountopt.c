/* SPDX-License-Identifier: MIT */
/*
 * mountopt.c - mount option parsing (see mountopt.h).
 */
#include "mountopt.h"

#include <inttypes.h>
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

static bool is_fstab_only(const char *opt)
{
	if (strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0)
		return true;
	for (size_t i = 0; fstab_only[i]; i++)
		if (strcmp(opt, fstab_only[i]) == 0)
			return true;
	return false;
}

/*
 * "      NAME=ARG" then the help from column 24 (on the same line when NAME=ARG
 * leaves room), words wrapped at 79 columns; a '\n' in the help starts a new
 * line.
 */
void mountopt_help(FILE *out)
{
	enum { INDENT = 24, WIDTH = 79 };

	for (const struct mfs_mount_option *m = mfs_mount_options; m->name; m++) {
		const char *p = m->help;
		int col;

		if (!p)
			continue;
		col = fprintf(out, "      %s%s%s", m->name, m->arg ? "=" : "", m->arg ? m->arg : "");
		if (col < INDENT - 1)
			col += fprintf(out, "%*s", INDENT - col, "");
		else
			col += fprintf(out, "  ");
		for (bool first = true; *p;) {
			size_t w;

			if (*p == ' ' || *p == '\n') {
				if (*p++ == '\n') {
					col = fprintf(out, "\n%*s", INDENT, "") - 1;
					first = true;
				}
				continue;
			}
			w = strcspn(p, " \n");
			if (!first && col + 1 + (int)w > WIDTH) {
				col = fprintf(out, "\n%*s", INDENT, "") - 1;
				first = true;
			}
			col += fprintf(out, "%s%.*s", first ? "" : " ", (int)w, p);
			p += w;
			first = false;
		}
		fputc('\n', out);
	}
}

void mountopt_defaults(struct mfs_daemon_opts *d)
{
	mfs_options_defaults(d);
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

/* What a value of @m must be, for its error message. */
static const char *expected(const struct mfs_mount_option *m, char *buf, size_t len)
{
	size_t n = 0;

	switch (m->kind) {
	case MFS_OPT_SIZE:
		if (m->min)
			snprintf(buf, len, "%sa size of %" PRIu64 "M or more", m->auto_at ? "auto or " : "",
				 m->min >> 20);
		else if (m->max < (1ull << 40))
			snprintf(buf, len, "a size up to %" PRIu64 "M", m->max >> 20);
		else
			snprintf(buf, len, "%sa size", m->auto_at ? "auto or " : "");
		break;
	case MFS_OPT_UINT:
		snprintf(buf, len, "%" PRIu64 " to %" PRIu64 "%s", m->min, m->max,
			 strcmp(m->arg, "SECONDS") == 0 ? " seconds" : "");
		break;
	case MFS_OPT_CHOICE: {
		uint64_t k = 0, count = 0;

		for (uint64_t i = 0; i < m->max; i++)
			count += m->choices[i] != NULL;
		buf[0] = '\0';
		for (uint64_t i = 0; i < m->max && n < len; i++) {
			if (!m->choices[i])
				continue;
			k++;
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      k == 1 ? "" : k == count ? " or " : ", ", m->choices[i]);
		}
		break;
	}
	case MFS_OPT_NAME:
		snprintf(buf, len, m->min ? "an absolute directory name" : "a file name");
		break;
	case MFS_OPT_DIGEST:
		snprintf(buf, len, "sha256:<64 hex digits> (the list's digest, as the mount's pin= "
				   "shows it)");
		break;
	default:
		buf[0] = '\0';
	}
	return buf;
}

/* The values of name and digest options: see set_option(). */
static char *owned[64];

/* Sets @m from @val in @d; false if @val is not one of its values. */
static bool set_option(const struct mfs_mount_option *m, const char *val, struct mfs_daemon_opts *d)
{
	void *f = mfs_option_field(d, m->at);
	size_t slot = (size_t)(m - mfs_mount_options);
	uint64_t v;

	if (m->kind == MFS_OPT_FLAG) {
		*(bool *)f = true;
		return !val;
	}
	if (!val)
		return false;
	if (m->auto_at) {
		*(bool *)mfs_option_field(d, m->auto_at) = strcmp(val, "auto") == 0;
		if (strcmp(val, "auto") == 0)
			return true;
	}
	switch (m->kind) {
	case MFS_OPT_SIZE:
		if (!cli_parse_size(val, &v) || v < m->min || v > m->max)
			return false;
		*(uint64_t *)f = v;
		return true;
	case MFS_OPT_UINT:
		if (!cli_parse_uint(val, m->max, &v) || v < m->min)
			return false;
		*(unsigned int *)f = (unsigned int)v;
		return true;
	case MFS_OPT_CHOICE:
		for (uint64_t i = 0; i < m->max; i++)
			if (m->choices[i] && strcmp(val, m->choices[i]) == 0) {
				*(int *)f = (int)i;
				return true;
			}
		return false;
	case MFS_OPT_NAME:
	case MFS_OPT_DIGEST: {
		char *copy;

		if (!*val || (m->min && *val != '/') ||
		    (m->kind == MFS_OPT_DIGEST && !source_digest_ok(val)))
			return false;
		/*
		 * The process owns the copy (the parsed list is gone after
		 * parsing): one slot per option, so a repeated option frees the
		 * value it replaces and the last stays reachable.
		 */
		if (slot >= sizeof(owned) / sizeof(owned[0]))
			return false;
		copy = strdup(val);
		if (!copy)
			return false;
		free(owned[slot]);
		owned[slot] = copy;
		*(const char **)f = copy;
		return true;
	}
	default:
		return false;
	}
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
		const struct mfs_mount_option *m =
		    mfs_mount_option_find(opt, eq ? (size_t)(eq - opt) : strlen(opt));
		char want[160];

		if (m && m->kind != MFS_OPT_FUSE) {
			if (!set_option(m, eq ? eq + 1 : NULL, d))
				r = m->kind == MFS_OPT_FLAG
					? cli_usage_error(cmd, "%s takes no value", m->name)
					: cli_usage_error(cmd, "%s '%s' is not %s", m->name,
							  eq ? eq + 1 : "", expected(m, want, sizeof(want)));
		} else if (!eq && strcmp(opt, "rw") == 0 && !fstab) {
			r = cli_usage_error(cmd, "modelfs mounts are read-only");
		} else if (fstab && is_fstab_only(opt)) {
			continue; /* defaults, noauto, comment=..., x-systemd.requires=... */
		} else if (add_fuse_opt(fuse_opts, opt)) {
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
