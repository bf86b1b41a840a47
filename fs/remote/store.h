/* SPDX-License-Identifier: MIT */
/*
 * store.h - the persistent local chunk store of remote sources.
 *
 * Compressed chunks fetched from a remote source are kept on disk, under a
 * byte budget, so a restart or a lost network does not lose them and a warm
 * device runs offline. Keys are SHA-256 hashes, in three kinds that never
 * meet:
 *   - a chunk with a digest (format 1.2) is stored by content, under its
 *     stored bytes' SHA-256: two models that share tensors share their
 *     chunks, whichever sources they come from - and no source can put
 *     bytes under another's key, since the fetcher checks that the bytes
 *     have the digest before they are put (mfs_store_key_digest());
 *   - a chunk of a container without digests is stored under a key private
 *     to its source's URL: its xxh3 names its bytes for decay, not against
 *     forgery, so it is never shared (mfs_store_key_private());
 *   - a block of a plain file (an OCI layer that is a model as it is) is
 *     stored under its source's blob URL: nothing checks a block against the
 *     blob's digest until the whole blob is read (mfs_store_key_block()).
 *
 * Layout under DIR (0700; files 0600):
 *   chunks/XY/<64 hex digits of the key>   one file per chunk: a 16-byte
 *       header ("MFSC", 4 reserved bytes, the xxh3-64 of the payload) and the
 *       stored bytes
 *   tmp/                                    files being written
 *   usage                                   8 bytes: the chunk files' bytes, all processes
 * A chunk is written to tmp/ and renamed into place: a reader sees a whole
 * file or none. A file torn by a crash or damaged on disk fails its xxh3 when
 * read and is deleted (the caller fetches the chunk again): nothing wrong is
 * ever returned. Only chunks the caller verified are put (remote.c decodes
 * them against their xxh3 first).
 *
 * Least recently used chunks go when the store is over its budget (file
 * modification times keep the order across restarts). Thread-safe. Several
 * processes may share a store and keep one budget between them: STORE/usage
 * counts every process's chunk bytes under flock(), and eviction walks the
 * directory and removes the least recently used whoever put them. Files
 * named by an
 * older key (32 hex digits: xxh3-based keys, before chunk digests) are
 * removed when the store is opened.
 */
#ifndef MFS_STORE_H
#define MFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"
#include "err.h"

struct mfs_store;

struct mfs_store_key {
	uint8_t b[32];
};

/* Opens (creating) the store at @dir with @budget bytes (0: no limit). */
int mfs_store_open(struct mfs_store **out, const char *dir, uint64_t budget, struct mfs_err *err);
void mfs_store_close(struct mfs_store *s);

/* The key of a chunk of @plen stored bytes whose SHA-256 is @digest: shared by content. */
struct mfs_store_key mfs_store_key_digest(const uint8_t digest[32], uint32_t plen);

/* The key of chunk @c of a container without digests at @source (its URL): private to it. */
struct mfs_store_key mfs_store_key_private(const char *source, const struct mfs_chunk *c);

/* The key of bytes [@off, +@len) of the plain file (not a container) at @source (its URL). */
struct mfs_store_key mfs_store_key_block(const char *source, uint64_t off, uint32_t len);

/*
 * Reads the chunk @key into @buf if it is stored with exactly @len bytes
 * and intact: 0, or -ENOENT (not there, or damaged and now deleted).
 */
int mfs_store_get(struct mfs_store *s, const struct mfs_store_key *key, void *buf, size_t len);

/* Removes @key, if stored. */
void mfs_store_remove(struct mfs_store *s, const struct mfs_store_key *key);
/* Removes @key: its bytes failed a check after mfs_store_get() (counted as damaged). */
void mfs_store_discard(struct mfs_store *s, const struct mfs_store_key *key);

/* Is @key stored with @len bytes? (A hint: only mfs_store_get() checks the bytes.) */
bool mfs_store_has(struct mfs_store *s, const struct mfs_store_key *key, size_t len);

/* Stores @len verified bytes under @key, evicting the oldest over the budget. 0 or -errno. */
int mfs_store_put(struct mfs_store *s, const struct mfs_store_key *key, const void *buf,
		  size_t len, struct mfs_err *err);

/* Bytes and chunks stored now; chunks found damaged since open. */
void mfs_store_usage(struct mfs_store *s, uint64_t *bytes, uint64_t *chunks, uint64_t *damaged);

#endif
