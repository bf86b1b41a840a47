/* SPDX-License-Identifier: MIT */
/*
 * mountopt.h - the -o option list shared by `modelfs mount` and
 * mount.modelfs: modelfs' own options go into struct mfs_daemon_opts, the
 * rest is handed to FUSE. With @fstab, options that belong to mount(8) and
 * fstab (defaults, noauto, nofail, _netdev, x-systemd.*, ...) are dropped.
 */
#ifndef MFS_MOUNTOPT_H
#define MFS_MOUNTOPT_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon.h"

/* Parses @list into @d; appends FUSE options to the malloc'd *@fuse_opts. */
int mountopt_parse(const char *cmd, const char *list, bool fstab, struct mfs_daemon_opts *d,
		   char **fuse_opts);

/* Every option of options.h's table that has help, as `modelfs mount --help` lists them. */
void mountopt_help(FILE *out);

/* Defaults for every option. */
void mountopt_defaults(struct mfs_daemon_opts *d);

/*
 * The remote source settings of the options in @d (store, credentials,
 * timeouts, ...), telling the user through cli_tell().
 */
struct source_opts;
void mountopt_source_opts(struct source_opts *so, const struct mfs_daemon_opts *d);

#endif
