/* SPDX-License-Identifier: MIT */
/*
 * fs_i.h - state shared by the files of fs/: the mounted filesystem, its
 * nodes (one per source object the kernel knows), and opened containers.
 *
 * Lifetimes: a node lives while the kernel holds lookups on it (nlookup)
 * and while a node below it names it as its directory; the root lives as long
 * as the mount. A container's struct mfs_cfile is created on the first open
 * of its node and is reference counted: the node holds one reference, every
 * open file handle one, every queued decode job one, so a job can finish
 * after the file was closed and forgotten.
 *
 * Descriptors: a directory node holds an O_PATH descriptor (the base of
 * every lookup in it); any other node holds none and opens its name in its
 * directory when needed, checking the object is still the node's (dev, ino).
 * An opened container keeps its descriptors while it has open handles, and
 * while it is one of the MFS_IDLE_CFILES most recently closed (so a program
 * that opens a model again finds its pins): `ls -l` on a tree, or reading
 * every file once, holds no descriptor per file.
 */
#ifndef MFS_FS_I_H
#define MFS_FS_I_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "archive.h"
#include "backing.h"
#include "plan_order.h"
#include "cache.h"
#include "options.h"
#include "disk.h"
#include "dropbehind.h"
#include "io.h"
#include "memgov.h"
#include "pool.h"
#include "prefetch.h"
#include "stats.h"

/* What the kernel sees as block size: a stdio buffer of this size is one FUSE read. */
#define MFS_BLKSIZE (128u << 10)
/* Closed containers kept open (descriptors, archive, pins) for the next open. */
#define MFS_IDLE_CFILES 8u
/* Attribute and entry cache time: files added to the source show up this fast. */
#define MFS_ATTR_TIMEOUT 1.0

enum mfs_node_kind {
	MFS_NODE_DIR,
	MFS_NODE_REG,	/* a plain file, passed through */
	MFS_NODE_LNK,
	MFS_NODE_MODEL, /* X.mfs, shown as X */
	MFS_NODE_PLAIN, /* a remote source's plain model file: bytes from fs/remote (plain.c) */
};

struct mfs_cfile;
struct mfs_remote_plain;

struct mfs_node {
	struct mfs_node *hnext; /* protected by fs->nodes_lock */
	dev_t dev;		/* identity of the source object */
	ino_t ino;
	int kind;
	int fd;		  /* directories: O_PATH; others: -1 (see above) */
	uint64_t nlookup; /* protected by fs->nodes_lock */
	char *path;	  /* source path relative to SRC, for messages */
	/*
	 * Non-directories: where the object is found, the last name a lookup
	 * found it under. Written under both fs->nodes_lock and where_lock;
	 * read under either.
	 */
	struct mfs_node *parent; /* holds one nlookup on it */
	char *name;
	pthread_mutex_t where_lock;
	pthread_mutex_t lock;
	uint32_t opens;		    /* open handles; protected by lock */
	bool idle_queued;	    /* in fs->idle; protected by fs->nodes_lock */
	struct mfs_header_info hdr; /* containers: the original's size, mode, mtime; protected by lock */
	struct mfs_cfile *cf;	    /* containers: opened on first open; protected by lock */
	struct timespec seen_ctime; /* containers: the file as hdr was read; protected by lock */
	off_t seen_size;
	bool changed;		    /* rewritten in place since the last open; protected by lock */
	const struct mfs_remote_plain *plain; /* MFS_NODE_PLAIN: the remote file (remote.h) */
};

struct mfs_fs {
	struct mfs_daemon_opts opts;
	int src_fd;	/* O_PATH of the source directory */
	char *single;	/* in single-file mode, the one container's name */
	struct mfs_node root;
	pthread_mutex_t nodes_lock;
	struct mfs_node **table; /* hash of nodes by (dev, ino); protected by nodes_lock */
	size_t table_size;
	size_t nnodes;
	/* Containers closed last, whose cfile the node still holds; protected by nodes_lock. */
	struct mfs_node *idle[MFS_IDLE_CFILES];
	unsigned int nidle;
	struct mfs_cache *cache;
	struct mfs_pool *pool;
	unsigned int workers;	 /* the pool's threads: workers=, or the default (daemon.c) */
	unsigned int max_threads; /* FUSE request threads: max_threads=, or the default */
	uint64_t cache_start;	 /* the cache budget to start with: cache_size=, or auto's first */
	unsigned int pool_cores; /* workers defaulted: the least that run at once (pool.h) */
	struct mfs_stats stats;
	atomic_uint_fast64_t prefetch_cap;  /* most prefetched bytes not yet read, at once */
	atomic_bool prefetch_cycle_only;    /* prefetch only re-read chunks (memgov.h: cycling) */
	atomic_uint_fast64_t pf_latency_ns; /* prefetch submit to ready, moving average */
	int trace_fd;			    /* -o trace= file, or -1 */
	atomic_uint_fast64_t pinned_bytes;  /* stored bytes pinned in memory (cfile.c) */
	atomic_uint_fast64_t pin_budget;    /* most bytes to pin: pin_size or auto's choice */
	atomic_uint_fast64_t open_size;	    /* original bytes of the open containers */
	atomic_uint_fast64_t open_stored;   /* their stored bytes */
	atomic_uint_fast64_t open_repacked; /* their bytes llama.cpp repacks (cfile.c) */
	atomic_uint_fast64_t mem_limit;	    /* what the governor saw (memgov.h) */
	atomic_uint_fast64_t mem_others;
	atomic_int mem_source;		    /* enum mfs_mem_source; written by the governor */
	struct mfs_pin_feedback pin_feedback; /* the governor's only */
	struct mfs_pin_feedback keep_feedback; /* the governor's only */
	bool cycling;			       /* the governor's only (memgov.h) */
	uint64_t reread_seen;		       /* the governor's only */
	pthread_mutex_t cfiles_lock;
	struct mfs_cfile *cfiles;	    /* open containers; protected by cfiles_lock */
	pthread_t gov;			    /* the memory governor (daemon.c) */
	bool gov_started;
	int gov_wake;			    /* eventfd: the governor stops */
	int psi_fd;			    /* PSI trigger on memory pressure (memgov.h), or -1 */
	char psi_file[256];		    /* its file */
	bool cancelled;			    /* the remote source was told the mount ends (governor) */
	/* A plain remote file found not its digest: its cached pages go (governor), or 0. */
	atomic_uint_fast64_t inval_ino;
	char options[PATH_MAX + 256];	/* MFS_OPTIONS_XATTR's value (daemon.c) */
	char readahead_knob[96];	/* sysfs read_ahead_kb of the mount, or "" */
	struct fuse_session *se;	/* for the dropper's notifications */
	struct mfs_dropper dropper;	/* drop-behind (dropbehind.h) */
	atomic_size_t readahead_now;	/* the window last written; 0: none yet */
};

/* An opened container. */
struct mfs_cfile {
	atomic_uint refs;
	struct mfs_fs *fs;
	uint64_t id; /* cache key: this file with this content (cfile.c) */
	int fd;
	struct mfs_src src;		/* over fd: the archive's metadata */
	struct mfs_backing_src backing; /* where chunk data comes from (backing.h) */
	struct mfs_archive *ar;
	char *path;
	_Atomic uint8_t *reported; /* bit per chunk: its error was logged */
	_Atomic uint64_t *served_at; /* per chunk: the dropper's count when last served */
	_Atomic uint64_t drop_ino;   /* the inode the dropper last saw it read through */
	struct mfs_plan_order plan; /* with -o prefetch=plan; empty otherwise */
	_Atomic(uint8_t *) *pinned; /* stored bytes kept, per chunk (MADV_FREE mappings) */
	pthread_rwlock_t pin_lock;  /* held for reading while a pinned copy is used */
	struct mfs_cfile *next, *prev; /* in fs->cfiles; protected by fs->cfiles_lock */
	/* References held by open file handles (a shutdown puts those the kernel never released). */
	atomic_uint handles;
	char trace_id[MFS_HASH_HEX_SIZE]; /* the original's xxh3-128, for trace lines */
	uint64_t repacked;		  /* bytes of tensors llama.cpp repacks */
	struct mfs_prefetcher prefetch;	  /* what to decode ahead (prefetch.h) */
};

/*
 * The daemon's periodic threads (governor, dropper): a condition variable on
 * the monotonic clock, and a wait on it of at most @ms milliseconds.
 */
static inline void mfs_cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

static inline void mfs_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += ms % 1000 * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(c, m, &t);
}

/* fs.c: nodes and the directory view */
struct mfs_node *mfs_fs_node(struct mfs_fs *fs, fuse_ino_t ino);
int mfs_fs_lookup(struct mfs_fs *fs, struct mfs_node *dir, const char *name,
		  struct fuse_entry_param *e);
void mfs_fs_forget(struct mfs_fs *fs, struct mfs_node *n, uint64_t nlookup);
/*
 * A new descriptor of non-directory node @n: its name opened in its directory
 * with @flags (O_PATH, or O_RDONLY for a regular file, never following a
 * link, never blocking), checked to be the node's object. -ESTALE if the name
 * now holds another (the kernel then looks it up again).
 */
int mfs_fs_node_open(struct mfs_node *n, int flags);
/* Open handles of @n: one more, or one fewer (which may close idle containers). */
void mfs_fs_opened(struct mfs_node *n);
void mfs_fs_closed(struct mfs_fs *fs, struct mfs_node *n);
/*
 * A container rewritten in place (same inode: `cp new.mfs old.mfs`) is
 * noticed by its change time and size: its header is read again and
 * n->changed set, so the next open serves the new container. Caller holds
 * n->lock. -EIO if the new file is no container.
 */
int mfs_fs_refresh(struct mfs_node *n);
int mfs_fs_stat(struct mfs_fs *fs, struct mfs_node *n, struct stat *st);
/* The name @d_name of directory @dir has in the mount, or NULL to hide it. */
const char *mfs_fs_shown_name(struct mfs_fs *fs, struct mfs_node *dir, const char *d_name,
			      unsigned char d_type, char *buf, size_t len);

/*
 * daemon.c: the kernel's readahead window for files opened next, with
 * @models original bytes of containers open (see there).
 */
#define MFS_READAHEAD_TIGHT (128u << 10) /* the kernel's default */
#define MFS_READAHEAD_ROOM 4u
void mfs_fs_apply_readahead(struct mfs_fs *fs, uint64_t models, uint64_t repacked);

/*
 * plain.c: up to @size bytes at @off of plain node @n into @buf, from the
 * store or the server; the count, or -EIO/-ENOMEM (logged, counted; a file
 * found not its digest has its cached pages dropped by the governor).
 */
ssize_t mfs_plain_read(struct mfs_fs *fs, struct mfs_node *n, uint64_t ino, uint64_t off,
		       size_t size, void *buf);
/* plain.c: the gauges of a stats snapshot: cache, pins, budgets, memory, remote source. */
struct mfs_stats_gauges;
void mfs_fs_gauges(struct mfs_fs *fs, struct mfs_stats_gauges *g);

/* governor.c: the memory governor's thread (started after daemonizing), and one look now. */
int mfs_governor_start(struct mfs_fs *fs);
void mfs_governor_stop(struct mfs_fs *fs);
void mfs_governor_look(struct mfs_fs *fs);
/* Applies cache budget @cache and the prefetch cap that follows from it; bytes freed. */
uint64_t mfs_governor_set_cache(struct mfs_fs *fs, uint64_t cache);

/* cfile.c: opened containers and reads from them */
int mfs_cfile_open(struct mfs_fs *fs, struct mfs_node *n, struct mfs_cfile **out);
void mfs_cfile_get(struct mfs_cfile *cf);
void mfs_cfile_put(struct mfs_cfile *cf);
/* A reference on an open container found in fs->cfiles, unless it is being freed. */
bool mfs_cfile_tryget(struct mfs_cfile *cf);

/* pin.c: pinned chunks of an open container */
int mfs_pin_init(struct mfs_cfile *cf);
/* Unpins everything; safe on a container that never pinned. */
void mfs_pin_release(struct mfs_cfile *cf);
/*
 * Chunk @idx decoded into @dst: from its pinned copy if it has a good one,
 * else from the disk (*@from_disk), pinning it if it may be and fits.
 */
int mfs_pin_read(struct mfs_cfile *cf, uint32_t idx, void *dst, struct mfs_dctx *dctx,
		 bool *from_disk, struct mfs_err *err);
/* Lets go of pinned chunks, last first, until @want bytes are freed; returns those freed. */
uint64_t mfs_cfile_unpin(struct mfs_cfile *cf, uint64_t want);
/*
 * A read of a container: its bytes as @niov pieces in @iov, over cache
 * entries (or one copy) held until mfs_cfile_read_done(). The caller sends
 * them; nothing here talks to FUSE.
 */
#define MFS_READ_STACK 16
#define MFS_READ_MAX_IOV 256 /* more pieces are copied into one buffer */
struct mfs_cread {
	struct iovec *iov;
	uint32_t niov;
	uint32_t first, last; /* the chunks read, when niov > 0 */
	uint64_t bytes;
	/* private to cfile.c */
	struct mfs_cfile *cf;
	struct mfs_centry **ents;
	uint32_t nents;
	void *bounce;
	struct mfs_centry *stack_e[MFS_READ_STACK];
	struct iovec stack_iov[MFS_READ_STACK];
};
/* 0 with @rd filled (niov 0 at end of file), or -errno with nothing held. */
int mfs_cfile_read(struct mfs_cfile *cf, size_t size, uint64_t off, struct mfs_cread *rd);
/* Releases what a successful mfs_cfile_read() held. */
void mfs_cfile_read_done(struct mfs_cread *rd);

/* ops.c */
extern const struct fuse_lowlevel_ops mfs_ops;

#endif
