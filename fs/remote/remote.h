/* SPDX-License-Identifier: MIT */
/*
 * remote.h - chunk bytes from a remote source (an HTTP server or an OCI
 * registry's blobs), kept in the local chunk store (store.h).
 *
 * A mount of a remote source serves a local directory of skeletons: each
 * container's header and metadata, at their offsets in a sparse file of the
 * container's size (source.c writes them). The chunk data is never in
 * the skeleton: the backing of such a file (backing.h, "remote") reads each
 * chunk with mfs_remote_read() - from the store if it is there and intact,
 * else with a range request, decoded and checked against the chunk's xxh3
 * before it is stored or returned. A wrong byte from the network is fetched
 * again and never kept; after the retries it is EIO.
 */
#ifndef MFS_REMOTE_H
#define MFS_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "archive.h"
#include "err.h"
#include "http.h"
#include "store.h"

struct mfs_remote;

/*
 * A remote source whose containers are at @base + their path (for an OCI
 * registry, mfs_remote_map() gives each path's blob URL). @store (owned
 * from here on), @http: how to reach it (copied).
 */
int mfs_remote_new(struct mfs_remote **out, const char *base, struct mfs_store *store,
		   const struct mfs_http_conf *http, struct mfs_err *err);
void mfs_remote_free(struct mfs_remote *r);

/*
 * The mount is ending: every transfer in flight ends within about a second,
 * none starts, and the reads waiting for them fail (EIO). Any thread, once.
 */
void mfs_remote_cancel(struct mfs_remote *r);

/* @n fetch-ahead threads (requests in flight) instead of 4; before the first mfs_remote_want(). */
void mfs_remote_set_fetchers(struct mfs_remote *r, unsigned int n);

/*
 * A plain file at @path (an OCI layer that is a .gguf or .safetensors, not a
 * container): blob @url, @size bytes, content named @digest. Served as it is,
 * fetched in 1 MiB blocks kept in the store. Its bytes cannot be checked as a
 * container's are: no checksum covers less than the whole blob. Read from
 * start to end (in any interleaving of threads), the whole is checked against
 * @digest at the end; found not to be, every block is dropped and its reads
 * fail from then on.
 */
struct mfs_remote_plain;
int mfs_remote_map_plain(struct mfs_remote *r, const char *path, const char *url,
			 const char *digest, uint64_t size);
/* The plain file at @path, or NULL. */
const struct mfs_remote_plain *mfs_remote_plain(struct mfs_remote *r, const char *path);
uint64_t mfs_remote_plain_size(const struct mfs_remote_plain *p);
const char *mfs_remote_plain_digest(const struct mfs_remote_plain *p);
/* Was @p read whole and found not to be its digest? (Its reads fail from then on.) */
bool mfs_remote_plain_bad(const struct mfs_remote_plain *p);
/* Drops every stored block of @p (its bytes failed their digest). */
void mfs_remote_plain_forget(struct mfs_remote *r, const struct mfs_remote_plain *p);
/*
 * Bytes [@off, +@len) of plain file @p into @buf, from the store or fetched
 * and stored: how many (fewer only at its end), or -errno. Thread-safe.
 */
ssize_t mfs_remote_plain_read(struct mfs_remote *r, const struct mfs_remote_plain *p,
			      uint64_t off, size_t len, void *buf, struct mfs_err *err);

/* Maps the container at @path to @url (an OCI blob), instead of base + path. */
int mfs_remote_map(struct mfs_remote *r, const char *path, const char *url);

/*
 * One container of the source while it is open: @path's URL and archive @ar
 * (which outlives it). Its reads wait for the fetch-ahead of the same chunks
 * rather than fetching them twice.
 */
struct mfs_remote_file;
int mfs_remote_open(struct mfs_remote *r, const char *path, const struct mfs_archive *ar,
		    struct mfs_remote_file **out);
/* Drops its queued fetch-ahead and waits for its fetches in flight. */
void mfs_remote_close(struct mfs_remote_file *f);

/*
 * Chunk @i will be read soon (the prefetch plan): fetch it ahead into the
 * store, with its neighbours in the file in one request. A hint: dropped if
 * the chunk is stored or the queue is full.
 */
void mfs_remote_want(struct mfs_remote_file *f, uint32_t i);
/* A reader waits for chunks [@first, @last] now: those not stored are fetched next. */
void mfs_remote_urgent(struct mfs_remote_file *f, uint32_t first, uint32_t last);
/*
 * Chunk @i of @f into @buf (its stored bytes): from the store, or fetched,
 * verified and stored - after the fetch-ahead of it if there is one.
 * *@fetched: it came over the network for this read. 0, or -errno.
 * Thread-safe (one HTTP client and decoder per thread).
 */
int mfs_remote_read(struct mfs_remote_file *f, uint32_t i, void *buf, bool *fetched,
		    struct mfs_err *err);

/*
 * Chunk @i, as mfs_remote_read() gave it, failed its check when decoded: its
 * copy in the store is removed, so the next read fetches it again.
 */
void mfs_remote_bad(struct mfs_remote_file *f, uint32_t i);

/* Counters for stats: chunks served from the store, fetched (in requests), refetched after bad bytes. */
struct mfs_remote_stats {
	uint64_t store_hits, fetched, fetched_bytes, requests, bad_fetches, store_errors;
	uint64_t check_ns; /* spent checking fetched bytes: SHA-256, or a decode without digests */
};
void mfs_remote_stats(struct mfs_remote *r, struct mfs_remote_stats *st);
struct mfs_store *mfs_remote_store(struct mfs_remote *r);

#endif
