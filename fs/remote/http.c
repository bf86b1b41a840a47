/* SPDX-License-Identifier: MIT */
/*
 * http.c - the HTTP client of remote sources (see http.h), over libcurl's
 * easy interface: one handle per client, reset between requests, which keeps
 * its connections (keep-alive) and DNS cache.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct mfs_http {
	CURL *curl;
	struct mfs_http_conf conf;
	/* A registry's token (the Bearer challenge), for requests to token_host. */
	char *token;
	char token_host[300];
	char answered[300]; /* host[:port] of the last answer (after redirects) */
	bool in_token; /* fetching one: a challenge now is not answered again */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct mfs_http *mfs_http_new(const struct mfs_http_conf *conf)
{
	struct mfs_http *h;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (conf)
		h->conf = *conf;
	if (!h->conf.connect_timeout_ms)
		h->conf.connect_timeout_ms = 10000;
	if (!h->conf.attempt_timeout_ms)
		h->conf.attempt_timeout_ms = 30000;
	if (!h->conf.deadline_ms)
		h->conf.deadline_ms = 60000;
	if (!h->conf.attempts)
		h->conf.attempts = 5;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	return h;
}

void mfs_http_free(struct mfs_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	free(h->token);
	free(h);
}

bool mfs_http_is_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

void mfs_http_req_release(struct mfs_http_req *req)
{
	free(req->content_type);
	free(req->www_authenticate);
	free(req->location);
	free(req->docker_digest);
	req->content_type = req->www_authenticate = req->location = req->docker_digest = NULL;
}

/* The URL for messages: no query (presigned URLs carry credentials there). */
static const char *shown(const char *url, char *buf, size_t cap)
{
	size_t n = strcspn(url, "?#");

	snprintf(buf, cap, "%.*s%s", (int)(n < 200 ? n : 200), url, n > 200 ? "..." : "");
	return buf;
}

bool mfs_http_is_loopback(const char *host, size_t len)
{
	char name[INET6_ADDRSTRLEN + 8];
	const char *end = host + len;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	if (len && *host == '[') {
		/* "[v6]" or "[v6]:port" */
		const char *close = memchr(host, ']', len);

		if (!close || (close + 1 != end && close[1] != ':'))
			return false;
		n = (size_t)(close - host - 1);
		if (n >= sizeof(name))
			return false;
		memcpy(name, host + 1, n);
		name[n] = 0;
	} else {
		/* "name", "v4", "name:port", "v4:port"; a bare v6 literal has several colons */
		const char *colon = memchr(host, ':', len);

		n = colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1)) ? (size_t)(colon - host)
									       : len;
		if (n >= sizeof(name))
			return false;
		memcpy(name, host, n);
		name[n] = 0;
	}
	if (!strcasecmp(name, "localhost"))
		return true;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/*
 * Plain http allowed only to loopback: checked again on the address curl
 * connected to (a name that resolves elsewhere than its literal says).
 */
static int on_prereq(void *priv, char *ip, char *local_ip, int remote_port, int local_port)
{
	int *fail = priv;

	(void)local_ip;
	(void)remote_port;
	(void)local_port;
	if (mfs_http_is_loopback(ip, strlen(ip)))
		return CURL_PREREQFUNC_OK;
	*fail = -EPERM;
	return CURL_PREREQFUNC_ABORT;
}

/* 0 if @url may be fetched: http(s) only, plain http only to loopback or when allowed. */
static int check_url(const struct mfs_http *h, const char *url, struct mfs_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, show[256];
	int r = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		r = mfs_err_set(err, -EINVAL, "%s: not a valid URL", shown(url, show, sizeof(show)));
	else if (strcasecmp(scheme, "https") && strcasecmp(scheme, "http"))
		r = mfs_err_set(err, -EINVAL, "%s: only http and https are supported",
				shown(url, show, sizeof(show)));
	else if (!strcasecmp(scheme, "http") && !h->conf.allow_http &&
		 !mfs_http_is_loopback(host, strlen(host)))
		r = mfs_err_set(err, -EPERM,
				"%s: plain http to a host other than this one (use https, or "
				"-o allow_http if the network is trusted)",
				shown(url, show, sizeof(show)));
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

/* What the callbacks see of one attempt. */
struct xfer {
	struct mfs_http_req *req;
	long status;
	bool have_range;	/* a Content-Range header came */
	uint64_t cr_start, cr_end, cr_total;
	uint64_t clen;		/* Content-Length, 0: none */
	uint64_t skip;		/* a 200 to a range request: body bytes before ours */
	size_t got;		/* bytes of ours received */
	bool started;		/* the body's first byte was seen */
	bool done_early;	/* a 200 gave all we wanted: the rest is not read */
	int fail;		/* -EPROTO: a wrong answer (not retried) */
	size_t cap;		/* whole body: the buffer's size */
	uint64_t sent;		/* upload_file: bytes sent */
};

static char *dup_value(const char *v, size_t n)
{
	char *s;

	while (n && isspace((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	s = malloc(n + 1);
	if (s) {
		memcpy(s, v, n);
		s[n] = 0;
	}
	return s;
}

static void keep(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = dup_value(v, n);
}

static size_t on_header(char *line, size_t size, size_t n, void *priv)
{
	struct xfer *x = priv;
	size_t len = size * n;
	const char *colon = memchr(line, ':', len);
	char name[40];
	size_t nl;

	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		/* A new response (after a redirect or a 100): forget the last one's headers. */
		x->status = 0;
		x->have_range = false;
		x->clen = 0;
		mfs_http_req_release(x->req);
		sscanf(line, "HTTP/%*s %ld", &x->status);
		return len;
	}
	if (!colon || (nl = (size_t)(colon - line)) >= sizeof(name))
		return len;
	memcpy(name, line, nl);
	name[nl] = 0;
	colon++;
	if (!strcasecmp(name, "content-range")) {
		char buf[96];
		size_t vl = len - nl - 1 < sizeof(buf) - 1 ? len - nl - 1 : sizeof(buf) - 1;

		memcpy(buf, colon, vl);
		buf[vl] = 0;
		x->cr_total = 0;
		if (sscanf(buf, " bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &x->cr_start, &x->cr_end,
			   &x->cr_total) >= 2)
			x->have_range = true;
	} else if (!strcasecmp(name, "content-length")) {
		x->clen = strtoull(colon, NULL, 10);
	} else if (!strcasecmp(name, "content-type")) {
		keep(&x->req->content_type, colon, len - nl - 1);
	} else if (!strcasecmp(name, "www-authenticate")) {
		keep(&x->req->www_authenticate, colon, len - nl - 1);
	} else if (!strcasecmp(name, "location")) {
		keep(&x->req->location, colon, len - nl - 1);
	} else if (!strcasecmp(name, "docker-content-digest")) {
		keep(&x->req->docker_digest, colon, len - nl - 1);
	}
	return len;
}

/* PUT from a file: the next piece, 0 at the end, CURL_READFUNC_ABORT on errors. */
static size_t on_upload(char *buf, size_t size, size_t n, void *priv)
{
	struct xfer *x = priv;
	struct mfs_http_req *req = x->req;
	size_t want = size * n;
	ssize_t got;

	if (want > req->upload_size - x->sent)
		want = (size_t)(req->upload_size - x->sent);
	if (!want)
		return 0;
	got = pread(req->upload_fd, buf, want, (off_t)x->sent);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	x->sent += (uint64_t)got;
	return (size_t)got;
}

static bool cancelled(const struct mfs_http *h)
{
	return h->conf.cancel && atomic_load(h->conf.cancel);
}

/* Called about once a second even while nothing moves: non-zero aborts. */
static int on_progress(void *priv, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancelled(priv);
}

/* Returning less than @n aborts the transfer. */
static size_t on_body(char *data, size_t size, size_t n, void *priv)
{
	struct xfer *x = priv;
	struct mfs_http_req *req = x->req;
	size_t len = size * n;

	if (x->status < 200 || x->status > 299)
		return len; /* an error page: not ours */
	if (req->range) {
		if (!x->started) {
			x->started = true;
			if (x->status == 206) {
				if (!x->have_range || x->cr_start != req->off ||
				    x->cr_end != req->off + req->len - 1) {
					x->fail = -EPROTO;
					return 0;
				}
			} else {
				/* A server that ignores Range sends everything: skip to ours. */
				x->skip = req->off;
			}
		}
		if (x->skip) {
			size_t s = len < x->skip ? len : (size_t)x->skip;

			x->skip -= s;
			data += s;
			len -= s;
			if (!len)
				return size * n;
		}
		if (len > req->len - x->got) {
			if (x->status == 206) {
				x->fail = -EPROTO; /* more than the range */
				return 0;
			}
			len = req->len - x->got;
		}
		memcpy((char *)req->buf + x->got, data, len);
		x->got += len;
		if (x->status != 206 && x->got == req->len) {
			x->done_early = true;
			return 0;
		}
		return size * n;
	}
	if (!req->body)
		return len;
	if (x->got + len > req->max) {
		x->fail = -EPROTO;
		return 0;
	}
	if (x->got + len + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *p;

		while (cap < x->got + len + 1)
			cap *= 2;
		p = realloc(*req->body, cap);
		if (!p) {
			x->fail = -ENOMEM;
			return 0;
		}
		*req->body = p;
		x->cap = cap;
	}
	memcpy(*req->body + x->got, data, len);
	x->got += len;
	(*req->body)[x->got] = 0;
	return size * n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int http_do(struct mfs_http *h, struct mfs_http_req *req, struct mfs_err *err);

static bool transient_status(long s)
{
	return s == 408 || s == 429 || s >= 500;
}

/* @url's "host[:port]" (the port only where the URL names one) into @out; false if none. */
static bool url_hostport(const char *url, char out[300])
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	bool ok = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		snprintf(out, 300, "%s%s%s", host, port ? ":" : "", port ? port : "");
		ok = true;
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* The credentials for @url's host[:port], or NULL. */
static const struct mfs_http_cred *cred_for(const struct mfs_http *h, const char *url)
{
	char hp[300];

	if (!h->conf.ncreds || !url_hostport(url, hp))
		return NULL;
	for (size_t i = 0; i < h->conf.ncreds; i++) {
		const char *c = h->conf.creds[i].host;

		/* "host" also matches "host:port" */
		if (!strcasecmp(c, hp) || (!strchr(c, ':') && !strncasecmp(c, hp, strlen(c)) &&
					   hp[strlen(c)] == ':'))
			return &h->conf.creds[i];
	}
	return NULL;
}

#define REDIRECTED 1

/* Is @a's host[:port] @b's? */
static bool same_host(const char *a, const char *b)
{
	char ha[300], hb[300];

	return url_hostport(a, ha) && url_hostport(b, hb) && !strcasecmp(ha, hb);
}

/*
 * One request of an attempt, to @url (req->url or where it redirected to),
 * with @url's host's credentials only: 0, REDIRECTED (*@next: where to),
 * -EAGAIN (worth another attempt), or a final -errno.
 */
static int request(struct mfs_http *h, struct mfs_http_req *req, const char *url,
		   long timeout_ms, struct curl_slist *hdrs, char **next, struct mfs_err *err)
{
	const struct mfs_http_cred *cred = cred_for(h, url);
	char hp[300];
	bool token = h->token && url_hostport(url, hp) && !strcasecmp(hp, h->token_host);
	bool follow = !req->method || !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	CURL *c = h->curl;
	struct xfer x = {.req = req};
	struct curl_slist *own = NULL;
	char range[64], show[256];
	char *loc = NULL;
	CURLcode rc;

	if (req->body) {
		free(*req->body);
		*req->body = NULL;
		if (req->body_len)
			*req->body_len = 0;
	}
	/* This host's header lines beside the request's. */
	if (cred && cred->nheaders) {
		for (const struct curl_slist *l = hdrs; l; l = l->next)
			if (!(own = curl_slist_append(own, l->data)))
				return -ENOMEM;
		for (size_t i = 0; i < cred->nheaders; i++)
			if (!(own = curl_slist_append(own, cred->headers[i]))) {
				curl_slist_free_all(own);
				return -ENOMEM;
			}
		hdrs = own;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* Redirects are followed by attempt(), each hop with its own host's credentials. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!h->conf.allow_http && !strncasecmp(url, "http://", 7)) {
		curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(c, CURLOPT_PREREQDATA, &x.fail);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->conf.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "modelfs");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	if (h->conf.cancel) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	}
	if (h->conf.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->conf.ca_file);
	if (req->userpwd && same_host(url, req->url)) {
		curl_easy_setopt(c, CURLOPT_USERPWD, req->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	} else if (token) {
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, h->token);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	} else if (cred && cred->userpwd) {
		curl_easy_setopt(c, CURLOPT_USERPWD, cred->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (cred && cred->bearer && !token && !req->userpwd) {
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, cred->bearer);
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (req->range) {
		snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, req->off,
			 req->off + req->len - 1);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	if (req->method && !strcmp(req->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (req->upload_file) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_size);
	} else if (req->upload || (req->method && strcmp(req->method, "GET"))) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->upload_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->upload ? req->upload : "");
		if (req->method)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(own);
	if (!url_hostport(url, h->answered))
		h->answered[0] = 0;
	req->status = x.status;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &req->status);
	if (rc == CURLE_OK && follow &&
	    (req->status == 301 || req->status == 302 || req->status == 303 ||
	     req->status == 307 || req->status == 308) &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
		*next = strdup(loc);
		return *next ? REDIRECTED : -ENOMEM;
	}
	if (x.fail == -ENOMEM)
		return -ENOMEM;
	if (rc == CURLE_ABORTED_BY_CALLBACK && cancelled(h))
		return mfs_err_set(err, -ECANCELED, "%s %s: cancelled (the mount is ending)",
				   req->method ? req->method : "GET", shown(url, show, sizeof(show)));
	if (x.fail == -EPERM)
		return mfs_err_set(err, -EPERM, "%s: plain http to an address other than this "
				   "machine's (use https, or -o allow_http if the network is "
				   "trusted)", shown(url, show, sizeof(show)));
	if (x.fail == -EPROTO)
		return mfs_err_set(err, -EPROTO, "%s %s: %s", req->method ? req->method : "GET",
				   shown(url, show, sizeof(show)),
				   req->range ? "the server sent other bytes than the range asked for"
					      : "the answer is larger than expected");
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.done_early)) {
		mfs_err_set(err, -EIO, "%s %s: %s", req->method ? req->method : "GET",
			    shown(url, show, sizeof(show)), curl_easy_strerror(rc));
		/* Certificates and URLs do not get better by trying again. */
		return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
				       rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
				       rc == CURLE_TOO_MANY_REDIRECTS
			   ? -EIO
			   : -EAGAIN;
	}
	if (req->status < 200 || req->status > 299) {
		int r = req->status == 404 || req->status == 410	  ? -ENOENT
			: req->status == 401 || req->status == 403 ? -EACCES
			: transient_status(req->status)		  ? -EAGAIN
								  : -EIO;

		mfs_err_set(err, r == -EAGAIN ? -EIO : r, "%s %s: HTTP %ld",
			    req->method ? req->method : "GET", shown(url, show, sizeof(show)),
			    req->status);
		return r;
	}
	if (req->range && x.got != req->len) {
		mfs_err_set(err, -EIO, "GET %s: the body ended after %zu of %zu bytes",
			    shown(url, show, sizeof(show)), x.got, req->len);
		return -EAGAIN;
	}
	if (req->body && !*req->body) {
		*req->body = malloc(1); /* an empty body is still a string */
		if (!*req->body)
			return -ENOMEM;
		**req->body = 0;
	}
	if (req->body_len)
		*req->body_len = x.got;
	req->size = x.have_range && x.cr_total ? x.cr_total : x.status == 200 ? x.clen : 0;
	return 0;
}

/* Redirects followed, at most this many. */
#define MAX_REDIRECTS 8

/*
 * One attempt: the request, and the requests its redirects lead to (GET and
 * HEAD only; an https request never goes on in the clear, nor plain http to
 * where check_url() forbids it). 0, -EAGAIN (worth another), or a final -errno.
 */
static int attempt(struct mfs_http *h, struct mfs_http_req *req, long timeout_ms,
		   struct curl_slist *hdrs, struct mfs_err *err)
{
	bool https = !strncasecmp(req->url, "https://", 8);
	const char *url = req->url;
	char *owned = NULL, *next = NULL, show[256], to[256];
	int r;

	for (unsigned int hops = 0;; hops++) {
		r = request(h, req, url, timeout_ms, hdrs, &next, err);
		if (r != REDIRECTED)
			break;
		free(owned);
		url = owned = next;
		next = NULL;
		if (hops + 1 > MAX_REDIRECTS) {
			r = mfs_err_set(err, -EIO, "GET %s: more than %d redirects",
					shown(req->url, show, sizeof(show)), MAX_REDIRECTS);
			break;
		}
		if (https && strncasecmp(url, "https://", 8)) {
			r = mfs_err_set(err, -EIO, "GET %s: redirected to %s, not https",
					shown(req->url, show, sizeof(show)), shown(url, to, sizeof(to)));
			break;
		}
		r = check_url(h, url, err);
		if (r)
			break;
	}
	free(owned);
	return r;
}

/* The value of @key="..." in a challenge's parameters, into @out; false if absent. */
static bool challenge_param(const char *ch, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *p = ch; (p = strcasestr(p, key)); p += kl) {
		const char *q, *end;

		if ((p != ch && p[-1] != ' ' && p[-1] != ',') || p[kl] != '=' || p[kl + 1] != '"')
			continue;
		q = p + kl + 2;
		end = strchr(q, '"');
		if (!end || (size_t)(end - q) >= cap)
			return false;
		memcpy(out, q, (size_t)(end - q));
		out[end - q] = 0;
		return true;
	}
	return false;
}

/* The "token" (or "access_token") string of a token server's JSON answer. */
static char *token_of(const char *body)
{
	static const char *const keys[] = {"\"token\"", "\"access_token\""};

	for (size_t i = 0; i < 2; i++) {
		const char *p = strstr(body, keys[i]), *q, *end;

		if (!p)
			continue;
		p += strlen(keys[i]);
		p += strspn(p, " \t\r\n");
		if (*p != ':')
			continue;
		p++;
		p += strspn(p, " \t\r\n");
		if (*p != '"')
			continue;
		q = p + 1;
		end = q + strcspn(q, "\"\\");
		if (*end != '"' || end == q)
			continue;
		return strndup(q, (size_t)(end - q));
	}
	return NULL;
}

/*
 * The Bearer challenge of a registry (distribution's token auth) from the
 * host that answered last (h->answered, after redirects): GET the realm with
 * the service and scope it names - with the credentials written for the
 * realm's host, if any, else anonymously: never another host's (a redirect
 * target's realm must not get the registry's password) - and keep the token
 * for the host that asked for it. 0 or -errno.
 */
static int fetch_token(struct mfs_http *h, const struct mfs_http_req *denied,
		       struct mfs_err *err)
{
	const struct mfs_http_cred *cred;
	char realm[1024], service[256] = "", scope[512] = "", *url = NULL, *body = NULL;
	char *es = NULL, *esc = NULL;
	struct mfs_http_req req = {0};
	size_t len = 0;
	int r;

	char asked[300];

	snprintf(asked, sizeof(asked), "%s", h->answered);
	if (!challenge_param(denied->www_authenticate, "realm", realm, sizeof(realm)))
		return mfs_err_set(err, -EACCES, "the registry's challenge names no realm");
	cred = cred_for(h, realm);
	challenge_param(denied->www_authenticate, "service", service, sizeof(service));
	challenge_param(denied->www_authenticate, "scope", scope, sizeof(scope));
	es = curl_easy_escape(h->curl, service, 0);
	esc = curl_easy_escape(h->curl, scope, 0);
	if (!es || !esc ||
	    asprintf(&url, "%s%sservice=%s%s%s", realm, strchr(realm, '?') ? "&" : "?", es,
		     *scope ? "&scope=" : "", *scope ? esc : "") < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out;
	}
	req = (struct mfs_http_req){.url = url, .max = 1u << 16, .body = &body, .body_len = &len,
				    .userpwd = cred ? cred->userpwd : NULL};
	r = mfs_http_do(h, &req, err);
	mfs_http_req_release(&req);
	if (r)
		mfs_err_prefix(err, r, "a token from the registry's token server%s",
			       cred ? "" : " (anonymous: no credentials for the token server's host)");
	if (!r) {
		char *t = token_of(body);

		if (!t) {
			r = mfs_err_set(err, -EACCES, "the token server's answer holds no token");
		} else {
			free(h->token);
			h->token = t;
			snprintf(h->token_host, sizeof(h->token_host), "%s", asked);
		}
	}
out:
	curl_free(es);
	curl_free(esc);
	free(url);
	free(body);
	return r;
}

int mfs_http_do(struct mfs_http *h, struct mfs_http_req *req, struct mfs_err *err)
{
	int r = http_do(h, req, err);

	/*
	 * A registry that wants a token (again: tokens expire): get one and try
	 * once more. Not for the token request itself.
	 */
	if (r == -EACCES && req->status == 401 && !h->in_token && req->www_authenticate &&
	    !strncasecmp(req->www_authenticate, "Bearer ", 7)) {
		h->in_token = true;
		r = fetch_token(h, req, err);
		h->in_token = false;
		if (!r)
			r = http_do(h, req, err);
	}
	return r;
}

static int http_do(struct mfs_http *h, struct mfs_http_req *req, struct mfs_err *err)
{
	struct curl_slist *hdrs = NULL;
	uint64_t start = now_ms();
	unsigned int delay = 100;
	int r;

	if (req->range && !req->len)
		return 0;
	if (cancelled(h))
		return mfs_err_set(err, -ECANCELED, "cancelled (the mount is ending)");
	r = check_url(h, req->url, err);
	if (r)
		return r;
	for (const char *const *p = req->headers; p && *p; p++)
		if (!(hdrs = curl_slist_append(hdrs, *p)))
			return -ENOMEM;
	for (unsigned int i = 0;; i++) {
		uint64_t used = now_ms() - start;
		long left = (long)(h->conf.deadline_ms - (long)used);

		r = attempt(h, req, left < h->conf.attempt_timeout_ms ? left : h->conf.attempt_timeout_ms,
			    hdrs, err);
		if (r != -EAGAIN)
			break;
		r = -EIO;
		if (i + 1 >= h->conf.attempts || now_ms() - start + delay >= (uint64_t)h->conf.deadline_ms)
			break;
		/* The backoff, in steps a cancel does not wait behind. */
		for (unsigned int slept = 0; slept < delay && !cancelled(h); slept += 100)
			nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
		if (cancelled(h)) {
			r = mfs_err_set(err, -ECANCELED, "cancelled (the mount is ending)");
			break;
		}
		delay = delay < 3200 ? delay * 2 : delay;
	}
	curl_slist_free_all(hdrs);
	return r;
}

int mfs_http_range(struct mfs_http *h, const char *url, uint64_t off, size_t len, void *buf,
		   uint64_t *size, struct mfs_err *err)
{
	struct mfs_http_req req = {.url = url, .range = true, .off = off, .len = len, .buf = buf};
	int r = mfs_http_do(h, &req, err);

	if (size)
		*size = req.size;
	mfs_http_req_release(&req);
	return r;
}
