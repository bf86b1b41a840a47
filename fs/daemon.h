/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - run the modelfs FUSE daemon: mount a directory of containers
 * read-only and serve each X.mfs as X until unmounted or signalled.
 *
 * This is the only public entry point of fs/; the command line (tools/)
 * fills struct mfs_daemon_opts and calls mfs_daemon_run().
 */
#ifndef MFS_DAEMON_H
#define MFS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct mfs_remote;

#define MFS_CACHE_SIZE_DEFAULT (64u << 20)
#define MFS_MAX_THREADS_DEFAULT 10u
#define MFS_KERNEL_READAHEAD_DEFAULT (1u << 20)

/* What to decode ahead of readers (-o prefetch=). */
enum mfs_prefetch {
	MFS_PREFETCH_OFF,
	MFS_PREFETCH_SEQUENTIAL, /* the chunks after a run of sequential reads */
	MFS_PREFETCH_PLAN,	 /* along the container's plan; sequential where it has none */
};

/* How container bytes are read (-o backing=). */
enum mfs_backing {
	MFS_BACKING_CACHED,   /* through the page cache, which keeps them */
	MFS_BACKING_DONTNEED, /* through the page cache, dropped once decoded */
	MFS_BACKING_DIRECT,   /* O_DIRECT, never in the page cache */
	MFS_BACKING_REMOTE,   /* chunks from a remote source (set with remote below) */
};

struct mfs_daemon_opts {
	const char *src;	  /* directory of containers, or one .mfs file */
	const char *src_name;	  /* what the mount shows as its source (fsname), or NULL: src */
	const char *mnt;	  /* mount point */
	size_t cache_size;	  /* bytes of decoded chunks to keep (unless cache_auto) */
	size_t pin_size;	  /* bytes of stored chunks to keep (unless pin_auto) */
	bool cache_auto;	  /* size the cache from the memory seen (memgov.h) */
	bool pin_auto;		  /* size the pins likewise */
	unsigned int workers;	  /* decode threads; 0: one per CPU */
	unsigned int max_threads; /* FUSE request threads */
	int prefetch;		  /* enum mfs_prefetch */
	bool drop_behind;	  /* drop served pages while models do not fit (dropbehind.h) */
	int backing;		  /* enum mfs_backing */
	const char *trace;	  /* append each read's chunks to this file, or NULL */
	size_t kernel_readahead;  /* the mount's readahead window in bytes; 0: kernel default */
	bool foreground;	  /* do not daemonize; log to stderr */
	bool debug;		  /* libfuse request tracing (implies foreground) */
	const char *fuse_opts;	  /* more -o options for FUSE/the kernel, or NULL */
	/*
	 * A remote source (remote.h): src is then its directory of skeletons,
	 * whose chunks come from here. Owned by the daemon from the call on.
	 */
	struct mfs_remote *remote;
	/* For a remote source, read by the command line (fs/remote/source.h): */
	const char *store;	/* the chunk store's directory, or NULL: the default */
	uint64_t store_size;	/* its budget in bytes, or 0: the default */
	bool allow_http;	/* plain http:// beyond loopback */
	const char *cafile;	/* certificates to trust instead of the system's, or NULL */
	unsigned int timeout;	/* seconds a remote read may take, retries included; 0: 30 */
	const char *credentials; /* the credentials file, or NULL: the default one if it exists */
	unsigned int requests;	 /* fetch-ahead range requests in flight; 0: 4 */
	const char *pin;	 /* "sha256:...": the list must be these bytes, or NULL */
	/* Set by the command line: the SHA-256 of the list mounted (shown as pin=), or NULL. */
	const char *listed;
};

/*
 * Mount and serve until unmounted. Returns 0 after a clean unmount, or -errno
 * with @err saying why the mount could not be made. In daemon mode the
 * calling process exits inside (fuse_daemonize) once the mount is ready.
 */
int mfs_daemon_run(const struct mfs_daemon_opts *o, struct mfs_err *err);

#endif
