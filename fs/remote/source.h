/* SPDX-License-Identifier: MIT */
/*
 * source.h - remote sources, for the command line's `modelfs mount URL MNT`,
 * `modelfs fetch URL` and `modelfs publish DIR`.
 *
 * An HTTP source is a directory URL whose modelfs.json (written by `modelfs
 * publish`) lists the containers, or the URL of one container (…X.mfs).
 * Preparing it fetches the list and each container's header and metadata
 * (three range requests a container) and writes them as skeletons - sparse
 * files of the containers' sizes - under STORE/sources/<id of the URL>/,
 * which the daemon then serves as its source directory with the chunks
 * coming from the store or the network (remote.h). The list and the
 * skeletons are kept: with the network down, a source prepared before is
 * mounted from them (with a warning), and the store serves what it holds.
 */
#ifndef MFS_SOURCE_H
#define MFS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "http.h"

struct mfs_remote;

#define MFS_MANIFEST_NAME "modelfs.json"

/*
 * What a remote operation tells the user, through the command line's printer
 * (the library prints nothing): @warning for what went wrong but did not
 * stop it (offline: serving the copy fetched before), else progress (a file
 * listed, a layer uploaded); @what names the URL or file. NULL: nothing.
 */
typedef void (*mfs_source_tell_fn)(bool warning, const char *what, const char *fmt, ...)
    MFS_PRINTF(3, 4);

struct source_opts {
	const char *store;	/* the chunk store's directory; NULL: the default */
	uint64_t store_size;	/* its budget; 0: the default */
	struct mfs_http_conf http;
	bool quiet;
	const char *credentials; /* the credentials file; NULL: the default, if it exists */
	unsigned int requests;	 /* fetch-ahead requests in flight; 0: the default */
	mfs_source_tell_fn tell; /* NULL: nothing is told */
	/*
	 * "sha256:<64 hex>": the list (modelfs.json, the OCI manifest) must be
	 * exactly these bytes, or nothing is mounted. NULL: any (an OCI
	 * reference by digest pins its manifest all the same).
	 */
	const char *pin;
	/* Out (source_prepare): the SHA-256 of the list used, "sha256:<64 hex>". */
	char listed[72];
};

/*
 * The credentials file: one line per host,
 *   HOST basic USER:PASSWORD
 *   HOST bearer TOKEN
 *   HOST header NAME: VALUE      (as many as needed)
 * (HOST as in URLs: name or address, ":PORT" where the URL has one; '#'
 * starts a comment). It must belong to the user and be readable by no one
 * else. Default: /etc/modelfs/credentials for root, else
 * ~/.config/modelfs/credentials. Fills so->http.creds (kept for the
 * process's life). 0, or -errno with @err naming the file and line.
 */
int source_load_credentials(struct source_opts *so, struct mfs_err *err);

/* The default store: /var/cache/modelfs for root, else $XDG_CACHE_HOME/modelfs or ~/.cache/modelfs. */
const char *source_default_store(void);

/*
 * Prepares the remote source @url: *@dir (malloc()ed) is the directory of
 * skeletons to serve, *@remote the chunk source for the daemon. 0, or -errno
 * with @err saying why (naming the URL).
 */
int source_prepare(const char *url, struct source_opts *o, char **dir,
		   struct mfs_remote **remote, struct mfs_err *err);


/*
 * The SHA-256 of container @fd's metadata (@size bytes in all): its header
 * and every byte after its chunk data. What a list names per container
 * ("metadata"; an OCI layer's MFS_OCI_META_ANNOTATION), and what a mount
 * checks the skeleton against before it fetches any chunk.
 */
int source_meta_digest(int fd, uint64_t size, char out[72], struct mfs_err *err);

/* A container name in a list: plain, printable, no path, ends in .mfs. */
bool source_name_ok(const char *s, size_t n);

/* Is @url a remote source of a kind modelfs knows (https://, http://, oci://)? */
bool source_is_url(const char *url);

/* @url without credentials (user:password@, the query), in a static buffer. */
const char *source_shown_url(const char *url);

/* Writes DIR/modelfs.json for the containers in @dir; @tell (or NULL) hears of each. */
int source_publish(const char *dir, mfs_source_tell_fn tell, struct mfs_err *err);

#endif
