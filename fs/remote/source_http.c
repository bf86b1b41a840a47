/* SPDX-License-Identifier: MIT */
/*
 * source_http.c - the HTTP source kinds (source_i.h): a directory published
 * with modelfs.json, and one container's URL.
 *
 * modelfs.json, the list of an HTTP source:
 *   {"modelfs": 1, "files": [{"name": "X.gguf.mfs", "size": N, "xxh3": "32 hex",
 *                             "metadata": "sha256:64 hex"}, ...]}
 * name: a container in the same directory (no '/', ends in .mfs); size: its
 * bytes; xxh3: the xxh3-128 of the whole container, high half first;
 * metadata: the SHA-256 of its header and everything after its chunk data
 * (index, chunk digests, footer: source_meta_digest()), checked before any
 * of its chunks is fetched. Unknown keys are ignored, so later versions can
 * add some. source_publish() (source.c) writes it.
 */
#include "source_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static bool is_file(const char *url)
{
	size_t n = strlen(url);

	return mfs_http_is_url(url) && n > 4 && !strcmp(url + n - 4, ".mfs");
}

static bool is_dir(const char *url)
{
	return mfs_http_is_url(url) && !is_file(url);
}

/* What parse_list() gathers. */
struct list_parse {
	const char *what;
	struct mfs_err *err;
	struct source_entry *v, e;
	size_t n, nl;
	uint64_t version;
	bool have_name, have_size;
	bool told; /* err says what is wrong itself: not a JSON error to prefix */
};

static int file_member(struct json *j, const char *key, void *arg)
{
	struct list_parse *p = arg;
	size_t ml;

	if (!strcmp(key, "name")) {
		p->have_name = true;
		return json_string(j, p->e.name, sizeof(p->e.name), &p->nl, "name");
	}
	if (!strcmp(key, "size")) {
		p->have_size = true;
		return json_uint(j, &p->e.size, "size");
	}
	if (!strcmp(key, "metadata")) {
		if (json_string(j, p->e.meta, sizeof(p->e.meta), &ml, "metadata") < 0 ||
		    !source_digest_ok(p->e.meta))
			return json_fail(j, "metadata: not sha256:<64 hex digits>");
		return 0;
	}
	return json_skip(j);
}

static int file_element(struct json *j, void *arg)
{
	struct list_parse *p = arg;
	struct source_entry *nv;
	int r;

	memset(&p->e, 0, sizeof(p->e));
	p->have_name = p->have_size = false;
	p->nl = 0;
	r = json_members(j, file_member, p);
	if (r < 0)
		return r;
	p->told = true;
	if (!p->have_name || !p->have_size || !source_name_ok(p->e.name, p->nl))
		return mfs_err_set(p->err, -EFSCORRUPTED, "%s: file %zu: %s", p->what, p->n + 1,
				   !p->have_name || !p->have_size ? "needs a name and a size"
								 : "not a plain X.mfs name");
	if (p->n == SOURCE_FILES_MAX)
		return mfs_err_set(p->err, -EFSCORRUPTED, "%s: more than %u files", p->what,
				   SOURCE_FILES_MAX);
	nv = realloc(p->v, (p->n + 1) * sizeof(*p->v));
	if (!nv)
		return -ENOMEM;
	p->v = nv;
	p->v[p->n++] = p->e;
	p->told = false;
	return 0;
}

static int list_member(struct json *j, const char *key, void *arg)
{
	struct list_parse *p = arg;

	if (!strcmp(key, "modelfs"))
		return json_uint(j, &p->version, "version");
	if (!strcmp(key, "files"))
		return json_elements(j, file_element, p);
	return json_skip(j);
}

static int parse_list(const char *buf, size_t len, const char *what, struct source_entry **out,
		      size_t *count, struct mfs_err *err)
{
	struct list_parse p = {.what = what, .err = err};
	struct json j;
	int r;

	json_init(&j, buf, len, err);
	r = json_members(&j, list_member, &p);
	if (!r) {
		json_ws(&j);
		if (j.p != j.end)
			r = json_fail(&j, "trailing bytes");
	}
	if (!r && p.version != 1) {
		p.told = true;
		r = mfs_err_set(err, -EFSCORRUPTED, "%s: not a modelfs list (\"modelfs\": 1)", what);
	}
	if (r) {
		free(p.v);
		return p.told || r == -ENOMEM ? r : mfs_err_prefix(err, -EFSCORRUPTED, "%s", what);
	}
	*out = p.v;
	*count = p.n;
	return 0;
}

static int fetch_dir(struct mfs_http *h, const char *url, const struct source_opts *o,
		     struct source_list *l, struct mfs_err *err)
{
	size_t ul = strlen(url);
	struct mfs_http_req req = {.max = SOURCE_LIST_MAX, .body = &l->bytes, .body_len = &l->len};
	int r;

	(void)o;
	l->base = malloc(ul + 2);
	if (!l->base)
		return -ENOMEM;
	snprintf(l->base, ul + 2, "%s%s", url, url[ul - 1] == '/' ? "" : "/");
	if (asprintf(&l->what, "%s%s", l->base, MFS_MANIFEST_NAME) < 0) {
		l->what = NULL;
		return -ENOMEM;
	}
	req.url = l->what;
	r = mfs_http_do(h, &req, err);
	mfs_http_req_release(&req);
	return r;
}

/* One container: no list, one entry named by the URL's last part. */
static int fetch_file(struct mfs_http *h, const char *url, const struct source_opts *o,
		      struct source_list *l, struct mfs_err *err)
{
	const char *slash = strrchr(url, '/');

	(void)h;
	(void)o;
	l->base = strndup(url, (size_t)(slash - url + 1));
	l->files = calloc(1, sizeof(*l->files));
	if (!l->base || !l->files)
		return -ENOMEM;
	snprintf(l->files->name, sizeof(l->files->name), "%s", slash + 1);
	if (!source_name_ok(l->files->name, strlen(l->files->name)))
		return mfs_err_set(err, -EINVAL, "%s: not a plain X.mfs name", url);
	l->nfiles = 1;
	return 0;
}

const struct source_kind source_kind_http_dir = {
	.name = "published directory",
	.is = is_dir,
	.cache = MFS_MANIFEST_NAME,
	.listed = MFS_MANIFEST_NAME,
	.fetch = fetch_dir,
	.parse = parse_list,
};

const struct source_kind source_kind_http_file = {
	.name = "container",
	.is = is_file,
	.fetch = fetch_file,
};
