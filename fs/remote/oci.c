/* SPDX-License-Identifier: MIT */
/*
 * oci.c - models in OCI registries (see oci.h).
 */
#include "oci.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "model.h"
#include "remote.h"
#include "source_i.h"

#define MANIFEST_MAX (4u << 20)
#define LAYERS_MAX 4096u
#define MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define EMPTY_TYPE "application/vnd.oci.empty.v1+json"
#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

bool oci_is_url(const char *url)
{
	return !strncasecmp(url, "oci://", 6);
}

int oci_parse(const char *url, const struct mfs_http_conf *conf, struct oci_ref *r,
	      struct mfs_err *err)
{
	const char *host = url + 6, *slash = strchr(host, '/'), *repo, *sep;
	size_t hl, rl;

	memset(r, 0, sizeof(*r));
	if (!oci_is_url(url) || !slash || slash == host)
		return mfs_err_set(err, -EINVAL, "not oci://REGISTRY/REPOSITORY[:TAG]");
	hl = (size_t)(slash - host);
	repo = slash + 1;
	sep = strrchr(repo, '@');
	if (!sep) {
		sep = strrchr(repo, ':');
		if (sep && strchr(sep, '/'))
			sep = NULL;
	}
	rl = sep ? (size_t)(sep - repo) : strlen(repo);
	if (!rl || rl > 255 || hl > 255)
		return mfs_err_set(err, -EINVAL, "not oci://REGISTRY/REPOSITORY[:TAG]");
	for (size_t i = 0; i < rl; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-/", repo[i]))
			return mfs_err_set(err, -EINVAL, "a repository name is lower case letters, "
					   "digits and ._-/");
	snprintf(r->ref, sizeof(r->ref), "%s", sep ? sep + 1 : "latest");
	if (!*r->ref || strspn(r->ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") !=
			    strlen(r->ref))
		return mfs_err_set(err, -EINVAL, "a bad tag or digest");
	/* Plain http where Docker would use it: a registry on this machine. */
	snprintf(r->base, sizeof(r->base), "%s://%.*s/v2/%.*s/",
		 mfs_http_is_loopback(host, hl) || (conf && conf->allow_http) ? "http" : "https", (int)hl, host,
		 (int)rl, repo);
	snprintf(r->shown, sizeof(r->shown), "%s", url);
	return 0;
}

void oci_blob_url(const struct oci_ref *r, const char *digest, char *out, size_t cap)
{
	snprintf(out, cap, "%sblobs/%s", r->base, digest);
}

int oci_get_manifest(struct mfs_http *h, const struct oci_ref *r, char **body, size_t *len,
		     struct mfs_err *err)
{
	static const char *const accept[] = {
		"Accept: " MANIFEST_TYPE ", application/vnd.docker.distribution.manifest.v2+json",
		NULL};
	char url[800];
	struct mfs_http_req req = {.url = url, .headers = accept, .max = MANIFEST_MAX,
				   .body = body, .body_len = len};
	int rc;

	snprintf(url, sizeof(url), "%smanifests/%s", r->base, r->ref);
	rc = mfs_http_do(h, &req, err);
	mfs_http_req_release(&req);
	return rc;
}

static bool digest_ok(const char *d)
{
	const char *colon = strchr(d, ':');

	return colon && colon > d && strlen(colon + 1) >= 32 &&
	       strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789+._-") == (size_t)(colon - d) &&
	       strspn(colon + 1, "0123456789abcdef") == strlen(colon + 1);
}

/*
 * Layers that are a model file as it is: Docker Model Runner's GGUF and
 * safetensors layers, ModelPack's raw weights (named by their title).
 */
static const char *plain_suffix(const char *media_type, const char *title, size_t tl)
{
	const struct mfs_model_kind *k = mfs_model_kind_of_media(media_type);

	if (!k && !strcmp(media_type, "application/vnd.cncf.model.weight.v1.raw"))
		k = mfs_model_kind_of_name(title, tl);
	return k ? k->ext : NULL;
}

/* A name for a plain layer: its title if it is a plain file name with the right suffix. */
static bool plain_name_ok(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	if (n <= sl || n > 200 || strcasecmp(s + n - sl, suffix) || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 127 || strchr("/\\?#%\"", s[i]))
			return false;
	return true;
}

/* What oci_layers() gathers. */
struct layers_parse {
	const char *what;
	struct mfs_err *err;
	struct oci_layer *v, l;
	size_t count, seen, nl;
	char media[128];
	bool told; /* err says what is wrong itself: not a JSON error to prefix */
};

static int annotation_member(struct json *j, const char *key, void *arg)
{
	struct layers_parse *p = arg;
	size_t ml;

	if (!strcmp(key, "org.opencontainers.image.title"))
		return json_string(j, p->l.name, sizeof(p->l.name), &p->nl, "title");
	if (!strcmp(key, MFS_OCI_META_ANNOTATION)) {
		if (json_string(j, p->l.meta, sizeof(p->l.meta), &ml, "metadata") < 0 ||
		    !source_digest_ok(p->l.meta))
			return json_fail(j, "the metadata digest annotation");
		return 0;
	}
	return json_skip(j);
}

static int layer_member(struct json *j, const char *key, void *arg)
{
	struct layers_parse *p = arg;
	size_t kl;

	if (!strcmp(key, "digest"))
		return json_string(j, p->l.digest, sizeof(p->l.digest), &kl, "digest");
	if (!strcmp(key, "mediaType"))
		return json_string(j, p->media, sizeof(p->media), &kl, "mediaType");
	if (!strcmp(key, "size"))
		return json_uint(j, &p->l.size, "size");
	if (!strcmp(key, "annotations"))
		return json_members(j, annotation_member, p);
	return json_skip(j);
}

/* One layer: kept if it is a container or a plain model file. */
static int layer_element(struct json *j, void *arg)
{
	struct layers_parse *p = arg;
	struct oci_layer *l = &p->l, *nv;
	const char *suffix;
	bool keep;
	int r;

	memset(l, 0, sizeof(*l));
	p->media[0] = '\0';
	p->nl = 0;
	r = json_members(j, layer_member, p);
	if (r < 0)
		return r;
	keep = p->nl && source_name_ok(l->name, p->nl);
	suffix = keep ? NULL : plain_suffix(p->media, l->name, p->nl);
	if (suffix) {
		/* Untitled, or titled oddly: named by its digest. */
		if (!plain_name_ok(l->name, p->nl, suffix))
			snprintf(l->name, sizeof(l->name), "%.12s%s",
				 strchr(l->digest, ':') ? strchr(l->digest, ':') + 1 : l->digest, suffix);
		l->plain = keep = true;
	}
	if (keep && !digest_ok(l->digest))
		return json_fail(j, "a layer's digest");
	if (++p->seen > LAYERS_MAX) {
		p->told = true;
		return mfs_err_set(p->err, -EFSCORRUPTED, "%s: more than %u layers", p->what,
				   LAYERS_MAX);
	}
	if (!keep)
		return 0;
	nv = realloc(p->v, (p->count + 1) * sizeof(*p->v));
	if (!nv)
		return -ENOMEM;
	p->v = nv;
	p->v[p->count++] = *l;
	return 0;
}

static int manifest_member(struct json *j, const char *key, void *arg)
{
	return !strcmp(key, "layers") ? json_elements(j, layer_element, arg) : json_skip(j);
}

int oci_layers(const char *buf, size_t len, const char *what, struct oci_layer **out, size_t *n,
	       struct mfs_err *err)
{
	struct layers_parse p = {.what = what, .err = err};
	struct json j;
	int r;

	json_init(&j, buf, len, err);
	r = json_members(&j, manifest_member, &p);
	if (r) {
		free(p.v);
		return p.told || r == -ENOMEM ? r : mfs_err_prefix(err, -EFSCORRUPTED, "%s", what);
	}
	if (!p.count) {
		free(p.v);
		return mfs_err_set(err, -ENOENT, "%s: no layer is a modelfs container (titled X.mfs) "
				   "or a .gguf or .safetensors file", what);
	}
	*out = p.v;
	*n = p.count;
	return 0;
}

/* ---- a plain layer, fetched whole and checked ---------------------------------- */

int oci_fetch_plain(struct mfs_remote *r, const struct mfs_remote_plain *p,
		    void (*tick)(void *ctx, uint64_t bytes), void *ctx, struct mfs_err *err)
{
	static uint8_t buf[1 << 20];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sum[32];
	unsigned int sl = 0;
	char hex[72];
	uint64_t off = 0, size = mfs_remote_plain_size(p);
	int rc = 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	while (off < size) {
		ssize_t got = mfs_remote_plain_read(r, p, off, sizeof(buf), buf, err);

		if (got <= 0) {
			rc = got < 0 ? (int)got : mfs_err_set(err, -EIO, "a short plain layer");
			break;
		}
		EVP_DigestUpdate(md, buf, (size_t)got);
		off += (uint64_t)got;
		tick(ctx, (uint64_t)got);
	}
	EVP_DigestFinal_ex(md, sum, &sl);
	EVP_MD_CTX_free(md);
	if (rc)
		return rc;
	source_sha256_string(sum, hex);
	if (strcmp(hex, mfs_remote_plain_digest(p))) {
		/* Wrong somewhere, and no way to tell where: none of it is kept. */
		mfs_remote_plain_forget(r, p);
		return mfs_err_set(err, -EFSCORRUPTED, "the layer's bytes are not its digest %s "
				   "(the stored copy is dropped)", mfs_remote_plain_digest(p));
	}
	return 0;
}

/* ---- push ------------------------------------------------------------------- */

static int sha256_fd(int fd, uint64_t *size, char out[72])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static uint8_t buf[1 << 20];
	unsigned char md[32];
	unsigned int mdl = 0;
	uint64_t off = 0;
	ssize_t got;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while ((got = pread(fd, buf, sizeof(buf), (off_t)off)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)got);
		off += (uint64_t)got;
	}
	EVP_DigestFinal_ex(ctx, md, &mdl);
	EVP_MD_CTX_free(ctx);
	if (got < 0)
		return -errno;
	source_sha256_string(md, out);
	*size = off;
	return 0;
}

/* @loc resolved against @url into a malloc()ed URL with ?digest= (or &digest=) added. */
static char *upload_url(const char *url, const char *loc, const char *digest)
{
	CURLU *u = curl_url();
	char *abs = NULL, *out = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
	    asprintf(&out, "%s%sdigest=%s", abs, strchr(abs, '?') ? "&" : "?", digest) < 0)
		out = NULL;
	curl_free(abs);
	curl_url_cleanup(u);
	return out;
}

/* One blob, unless the registry has it: from @fd (@size bytes) or @mem. */
static int push_blob(struct mfs_http *h, const struct oci_ref *r, const char *digest, int fd,
		     uint64_t size, const char *mem, bool *sent, struct mfs_err *err)
{
	char url[800], *put;
	struct mfs_http_req head = {.method = "HEAD", .url = url}, post = {0}, req = {0};
	int rc;

	*sent = false;
	oci_blob_url(r, digest, url, sizeof(url));
	rc = mfs_http_do(h, &head, err);
	mfs_http_req_release(&head);
	if (rc == 0)
		return 0; /* the registry has it */
	if (rc != -ENOENT)
		return rc;
	snprintf(url, sizeof(url), "%sblobs/uploads/", r->base);
	post = (struct mfs_http_req){.method = "POST", .url = url};
	rc = mfs_http_do(h, &post, err);
	if (!rc && !post.location)
		rc = mfs_err_set(err, -EPROTO, "POST %s: no Location for the upload", url);
	put = rc ? NULL : upload_url(url, post.location, digest);
	mfs_http_req_release(&post);
	if (rc)
		return rc;
	if (!put)
		return -ENOMEM;
	static const char *const octets[] = {"Content-Type: application/octet-stream", NULL};

	/* Not libcurl's form type: the registry would read the body as a form. */
	req = (struct mfs_http_req){.method = "PUT", .url = put, .headers = octets};
	if (mem) {
		req.upload = mem;
		req.upload_len = strlen(mem);
	} else {
		req.upload_file = true;
		req.upload_fd = fd;
		req.upload_size = size;
	}
	rc = mfs_http_do(h, &req, err);
	mfs_http_req_release(&req);
	free(put);
	*sent = rc == 0;
	return rc;
}

int oci_push(const char *dir, const char *url, const struct mfs_http_conf *conf, mfs_source_tell_fn tell,
	     struct mfs_err *err)
{
	struct oci_ref r;
	struct mfs_http *h = NULL;
	struct dirent **names = NULL;
	int n = 0, rc, dirfd = -1;
	char *manifest = NULL;
	size_t mlen = 0;
	FILE *f = NULL;
	bool first = true, sent;

	rc = oci_parse(url, conf, &r, err);
	if (rc)
		return rc;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return mfs_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	n = scandir(dir, &names, NULL, alphasort);
	h = mfs_http_new(conf);
	f = open_memstream(&manifest, &mlen);
	if (n < 0 || !h || !f) {
		rc = n < 0 ? mfs_err_set(err, -errno, "%s: %s", dir, strerror(errno)) : -ENOMEM;
		goto out;
	}
	fprintf(f, "{\"schemaVersion\": 2, \"mediaType\": \"" MANIFEST_TYPE "\",\n"
		   " \"artifactType\": \"" MFS_OCI_LAYER_TYPE "\",\n"
		   " \"config\": {\"mediaType\": \"" EMPTY_TYPE "\", \"digest\": \"" EMPTY_DIGEST
		   "\", \"size\": 2},\n \"layers\": [");
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char digest[72], meta[72];
		uint64_t size = 0;
		struct stat st;
		int fd;

		if (!source_name_ok(name, strlen(name)) || fstatat(dirfd, name, &st, 0) ||
		    !S_ISREG(st.st_mode))
			continue;
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = mfs_err_set(err, -errno, "%s/%s: %s", dir, name, strerror(errno));
			goto out;
		}
		rc = sha256_fd(fd, &size, digest);
		if (!rc)
			rc = source_meta_digest(fd, size, meta, err);
		if (!rc)
			rc = push_blob(h, &r, digest, fd, size, NULL, &sent, err);
		close(fd);
		if (rc) {
			mfs_err_prefix(err, rc, "%s", name);
			goto out;
		}
		if (tell)
			tell(false, name, "%s (%" PRIu64 " bytes)",
				sent ? "uploaded" : "already there", size);
		fprintf(f, "%s\n  {\"mediaType\": \"" MFS_OCI_LAYER_TYPE "\", \"digest\": \"%s\", "
			   "\"size\": %" PRIu64 ", \"annotations\": "
			   "{\"org.opencontainers.image.title\": ",
			first ? "" : ",", digest, size);
		json_write_str(f, name);
		fprintf(f, ", \"" MFS_OCI_META_ANNOTATION "\": \"%s\"}}", meta);
		first = false;
	}
	fprintf(f, "\n]}\n");
	if (fclose(f)) {
		f = NULL;
		rc = -ENOMEM;
		goto out;
	}
	f = NULL;
	if (first) {
		rc = mfs_err_set(err, -ENOENT, "%s: no containers (X.mfs) to push", dir);
		goto out;
	}
	rc = push_blob(h, &r, EMPTY_DIGEST, -1, 2, "{}", &sent, err);
	if (!rc) {
		static const char *const ctype[] = {"Content-Type: " MANIFEST_TYPE, NULL};
		char murl[800];
		struct mfs_http_req req = {.method = "PUT", .url = murl, .headers = ctype,
					   .upload = manifest, .upload_len = mlen};

		snprintf(murl, sizeof(murl), "%smanifests/%s", r.base, r.ref);
		rc = mfs_http_do(h, &req, err);
		mfs_http_req_release(&req);
	}
out:
	if (f)
		fclose(f);
	free(manifest);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	mfs_http_free(h);
	close(dirfd);
	return rc;
}

/* ---- the source kind (source_i.h) ------------------------------------------ */

static int kind_fetch(struct mfs_http *h, const char *url, const struct source_opts *o,
		      struct source_list *l, struct mfs_err *err)
{
	struct oci_ref ref;
	int r = oci_parse(url, &o->http, &ref, err);

	if (r)
		return r;
	/* A reference by digest pins the manifest. */
	if (!strncmp(ref.ref, "sha256:", 7)) {
		if (!source_digest_ok(ref.ref))
			return mfs_err_set(err, -EINVAL, "%s: not sha256:<64 hex digits>", ref.ref);
		snprintf(l->url_pin, sizeof(l->url_pin), "%.71s", ref.ref); /* 71: checked just above */
	}
	l->base = strdup(ref.base);
	if (!l->base)
		return -ENOMEM;
	return oci_get_manifest(h, &ref, &l->bytes, &l->len, err);
}

static int kind_parse(const char *buf, size_t len, const char *what, struct source_entry **out,
		      size_t *n, struct mfs_err *err)
{
	struct oci_layer *l = NULL;
	size_t nl = 0;
	int r = oci_layers(buf, len, what, &l, &nl, err);

	if (!r && !(*out = calloc(nl ? nl : 1, sizeof(**out))))
		r = -ENOMEM;
	for (size_t i = 0; !r && i < nl; i++) {
		struct source_entry *e = &(*out)[i];

		snprintf(e->name, sizeof(e->name), "%s", l[i].name);
		snprintf(e->digest, sizeof(e->digest), "%s", l[i].digest);
		snprintf(e->meta, sizeof(e->meta), "%s", l[i].meta);
		e->size = l[i].size;
		e->plain = l[i].plain;
	}
	*n = r ? 0 : nl;
	free(l);
	return r;
}

const struct source_kind source_kind_oci = {
	.name = "OCI artifact",
	.is = oci_is_url,
	.cache = "oci-manifest.json",
	.listed = "the manifest",
	.fetch = kind_fetch,
	.parse = kind_parse,
};
