/* SPDX-License-Identifier: MIT */
/*
 * store.h - the persistent local chunk store of remote sources.
 *
 * Compressed chunks fetched from a remote source are kept on disk, under a
 * byte budget, so a restart or a lost network does not lose them and a warm
 * device runs offline. Chunks are stored by content: the key is a hash of
 * what identifies a chunk's bytes (its original bytes' xxh3, its lengths,
 * codec and transform; mfs_store_key()), so two models that share tensors
 * share their chunks, wherever those sit in either file.
 *
 * Layout under DIR:
 *   chunks/XY/<32 hex digits of the key>   one file per chunk: a 16-byte
 *       header ("MFSC", 4 reserved bytes, the xxh3-64 of the payload) and the
 *       stored bytes
 *   tmp/                                    files being written
 * A chunk is written to tmp/ and renamed into place: a reader sees a whole
 * file or none. A file torn by a crash or damaged on disk fails its xxh3 when
 * read and is deleted (the caller fetches the chunk again): nothing wrong is
 * ever returned. Only chunks the caller verified are put (remote.c decodes
 * them against their xxh3 first).
 *
 * Least recently used chunks go when the store is over its budget (file
 * modification times keep the order across restarts). Thread-safe. Several
 * processes may share a store; each keeps its own budget.
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
	uint8_t b[16];
};

/* Opens (creating) the store at @dir with @budget bytes (0: no limit). */
int mfs_store_open(struct mfs_store **out, const char *dir, uint64_t budget, struct mfs_err *err);
void mfs_store_close(struct mfs_store *s);

/* The content key of chunk @c. */
struct mfs_store_key mfs_store_key(const struct mfs_chunk *c);

/*
 * The key of bytes [@off, +@len) of a plain file (not a container) whose
 * content is named @blob (an OCI digest: the same blob in two sources is
 * stored once).
 */
struct mfs_store_key mfs_store_key_block(const char *blob, uint64_t off, uint32_t len);

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
