/* SPDX-License-Identifier: MIT */
/*
 * http.h - the HTTP client remote sources use (libcurl underneath).
 *
 * One struct mfs_http per thread: it keeps its connections alive between
 * requests and must not be used by two threads at once. Every call either
 * succeeds with exactly what was asked for or fails with a clear error after
 * a bounded time: transient failures (no connection, timeouts, 5xx, 408,
 * 429, a body cut short) are retried with backoff until the attempts or the
 * deadline run out; anything else (404, 401, a server that answers with other
 * bytes than asked for) fails at once.
 *
 * Plain http:// is refused unless the host is a loopback address (as Docker
 * treats localhost registries) or conf->allow_http says otherwise. https://
 * checks certificates against the system store (or conf->ca_file).
 */
#ifndef MFS_HTTP_H
#define MFS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct mfs_http_conf {
	long connect_timeout_ms; /* 0: 10 s */
	long attempt_timeout_ms; /* one attempt, start to end; 0: 30 s */
	long deadline_ms;	 /* one call, all attempts; 0: 60 s */
	unsigned int attempts;	 /* 0: 5 */
	bool allow_http;	 /* plain http:// to any host */
	const char *ca_file;	 /* PEM bundle to trust instead of the system's, or NULL */
	/* Credentials by host: used only for requests to their host. */
	const struct mfs_http_cred *creds;
	size_t ncreds;
	/*
	 * Set to true (by another thread): requests in flight end within about
	 * a second, without retries, and new ones fail at once, -ECANCELED.
	 * NULL: never.
	 */
	const atomic_bool *cancel;
};

/*
 * Credentials for one host ("host" or "host:port", as in URLs): basic auth
 * or a bearer token, and more header lines (an API key). None of it goes to
 * another host a redirect leads to (object storage behind a registry):
 * redirects are followed here, each request with its own host's credentials.
 */
struct mfs_http_cred {
	char host[256];
	char *userpwd;	 /* "user:password", or NULL */
	char *bearer;	 /* a token, or NULL */
	char **headers;	 /* "Name: value" lines */
	size_t nheaders;
};

/* One request (mfs_http_do). Unset fields are the defaults of a GET. */
struct mfs_http_req {
	const char *method;	    /* NULL: GET (HEAD: no body is read) */
	const char *url;
	const char *const *headers; /* more "Name: value" lines for this request, or NULL */
	/* A range: [off, off + len) of the resource, into @buf (len bytes). */
	bool range;
	uint64_t off;
	size_t len;
	void *buf;
	/* Otherwise the whole body, at most @max bytes, malloc()ed into *@body. */
	size_t max;
	char **body;
	size_t *body_len;
	/* Basic auth for this request only (a token server), or NULL. */
	const char *userpwd;
	/* What to send (PUT/POST/PATCH), or NULL. */
	const void *upload;
	size_t upload_len;
	/* Or a file to send with PUT: @upload_size bytes of @upload_fd from offset 0. */
	bool upload_file;
	int upload_fd;
	uint64_t upload_size;
	/* Out: the status; the resource's size (Content-Range or Content-Length, 0: unknown). */
	long status;
	uint64_t size;
	/* Out: response headers asked for, each a malloc()ed value or NULL. */
	char *content_type, *www_authenticate, *location, *docker_digest;
};

struct mfs_http;

/* A client with @conf (copied; the strings it points to must outlive it). NULL: ENOMEM. */
struct mfs_http *mfs_http_new(const struct mfs_http_conf *conf);
void mfs_http_free(struct mfs_http *h);

/*
 * Runs @req with retries. Returns 0 on a 2xx answer (for a range: exactly the
 * bytes asked for), or -errno with @err naming the URL and the problem:
 * -ENOENT (404, 410), -EACCES (401, 403; req->www_authenticate is kept),
 * after a registry's Bearer challenge was answered once with a token (from
 * its realm, with the host's credentials if any; kept for later requests),
 * -EPERM (plain http refused), -EPROTO (a wrong answer: other bytes than
 * asked, a body over max), -EIO (transient failures to the end),
 * -ECANCELED (conf->cancel was set), -ENOMEM.
 * Free req's out strings with mfs_http_req_release() either way.
 */
int mfs_http_do(struct mfs_http *h, struct mfs_http_req *req, struct mfs_err *err);
void mfs_http_req_release(struct mfs_http_req *req);

/* Bytes [@off, +@len) of @url into @buf; *@size (may be NULL) gets the resource's size. */
int mfs_http_range(struct mfs_http *h, const char *url, uint64_t off, size_t len, void *buf,
		   uint64_t *size, struct mfs_err *err);

/*
 * Is @host (@len bytes of a URL's authority: "name", "name:port", "[v6]:port")
 * this machine? True for the name "localhost" and numeric addresses in
 * 127.0.0.0/8 and ::1 only: decided on the address, never on a prefix of
 * the name ("127.example.com" is not). Plain http is allowed to it alone.
 */
bool mfs_http_is_loopback(const char *host, size_t len);

/* Is @url http:// or https:// (what a remote source looks like)? */
bool mfs_http_is_url(const char *url);

#endif
