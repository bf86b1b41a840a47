/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - run the modelfs FUSE daemon: mount a directory of containers
 * read-only and serve each X.mfs as X until unmounted or signalled.
 *
 * The daemon's entry point: the command line (tools/) fills struct
 * mfs_daemon_opts (options.h, with its table of options) and calls
 * mfs_daemon_run(). fs/'s other public headers are stats.h (the counters'
 * names, which `modelfs stats` prints) and log.h (the journal's line
 * format, which the command line shares); the rest is the daemon's own.
 */
#ifndef MFS_DAEMON_H
#define MFS_DAEMON_H

#include "err.h"
#include "options.h"

/*
 * Mount and serve until unmounted. Returns 0 after a clean unmount, or -errno
 * with @err saying why the mount could not be made. In daemon mode the
 * calling process exits inside (fuse_daemonize) once the mount is ready.
 */
int mfs_daemon_run(const struct mfs_daemon_opts *o, struct mfs_err *err);

#endif
