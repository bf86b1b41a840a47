/* SPDX-License-Identifier: MIT */
/*
 * options.h - the daemon's mount options: the struct the command line fills
 * and the one table every option is described in.
 *
 * mfs_mount_options[] drives the parsing (tools/mountopt.c), `modelfs mount
 * --help` (tools/cmd_mount.c), the options shown in the stats xattr
 * (mfs_options_describe) and tests/cli/options.sh, which checks that the
 * man page and the bash completion name every option. Adding an option: a
 * field below, a row in options.c, its use, and the man page and completion
 * line the test asks for.
 *
 * The daemon reads the struct and never writes it: what it resolves or
 * adapts while running (workers by default, the budgets) lives in its own
 * state (fs_i.h, memgov.h).
 */
#ifndef MFS_OPTIONS_H
#define MFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	uint64_t cache_size;	  /* bytes of decoded chunks to keep (unless cache_auto) */
	uint64_t pin_size;	  /* bytes of stored chunks to keep (unless pin_auto) */
	bool cache_auto;	  /* size the cache from the memory seen (memgov.h) */
	bool pin_auto;		  /* size the pins likewise */
	unsigned int workers;	  /* decode threads; 0: the daemon's default (daemon.c) */
	unsigned int max_threads; /* FUSE request threads */
	int prefetch;		  /* enum mfs_prefetch */
	int drop_behind;	  /* 1 (auto): drop served pages while models do not fit; 0: off */
	int backing;		  /* enum mfs_backing */
	const char *trace;	  /* append each read's chunks to this file, or NULL */
	uint64_t kernel_readahead; /* the mount's readahead window in bytes; 0: kernel default */
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

enum mfs_opt_kind {
	MFS_OPT_SIZE,	/* a size (K, M, G, T suffixes) in [min, max]; "auto" where auto_at */
	MFS_OPT_UINT,	/* a number in [min, max] (unsigned int) */
	MFS_OPT_CHOICE, /* one of choices[0..max) (NULL: none), stored as its index (int) */
	MFS_OPT_NAME,	/* a file or directory name; absolute where min is 1 */
	MFS_OPT_DIGEST, /* "sha256:" and 64 hex digits */
	MFS_OPT_FLAG,	/* no value; sets a bool */
	MFS_OPT_FUSE,	/* FUSE's or the kernel's: passed on (listed for --help) */
};

#define MFS_OPT_AT(field) (offsetof(struct mfs_daemon_opts, field) + 1)

struct mfs_mount_option {
	const char *name;
	enum mfs_opt_kind kind;
	size_t at;			/* MFS_OPT_AT(field); 0 for MFS_OPT_FUSE */
	size_t auto_at;			/* MFS_OPT_AT(a bool "auto" sets), or 0 */
	uint64_t min, max;		/* MFS_OPT_CHOICE: max is the number of choices */
	const char *const *choices;	/* MFS_OPT_CHOICE */
	bool shown;			/* in the options xattr (mfs_options_describe) */
	const char *arg;		/* the value as --help shows it, or NULL */
	const char *help;		/* --help's text; NULL: accepted, not listed (an old name) */
};

extern const struct mfs_mount_option mfs_mount_options[];

/* The row named @name (of @len bytes), or NULL. */
const struct mfs_mount_option *mfs_mount_option_find(const char *name, size_t len);

/* The field of @o that @opt sets. */
static inline void *mfs_option_field(struct mfs_daemon_opts *o, size_t at)
{
	return (char *)o + at - 1;
}

/* Every option at its default. */
void mfs_options_defaults(struct mfs_daemon_opts *o);

/*
 * The options in effect as a mount option list (MFS_OPTIONS_XATTR): the
 * shown rows of @o, with @workers and @max_threads as the daemon resolved
 * them, and pin= the list's digest (@o->listed) when there is one.
 */
void mfs_options_describe(const struct mfs_daemon_opts *o, unsigned int workers,
			  unsigned int max_threads, char *buf, size_t len);

#endif
