/* SPDX-License-Identifier: MIT */
/*
 * source.c - remote sources: the table of source kinds, the list every kind
 * gives (source_i.h) made into skeletons, publish (see source.h).
 * modelfs.json is described in source_http.c.
 *
 * The chain of trust: the list's own SHA-256 (pinned with -o pin=, or an OCI
 * manifest by digest) -> each container's metadata digest -> each chunk's
 * SHA-256 (format 1.2) -> the bytes served.
 */
#include "source_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "archive.h"
#include "disk.h"
#include "format.h"
#include "io.h"
#include "json.h"
#include "model.h"
#include "oci.h"
#include "remote.h"
#include "store.h"
#include "writer.h"
#include "xxh.h"

#define NAME_MAX_LEN SOURCE_NAME_MAX
/* The end of a container fetched at once: its footer and, mostly, all its metadata. */
#define TAIL_FETCH (64u << 10)
#define META_PIECE (4u << 20)
#define META_MAX (1ull << 30)


const char *source_default_store(void)
{
	static char buf[4096];
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0)
		return "/var/cache/modelfs";
	if (x && *x == '/')
		snprintf(buf, sizeof(buf), "%s/modelfs", x);
	else
		snprintf(buf, sizeof(buf), "%s/.cache/modelfs", home && *home ? home : "/tmp");
	return buf;
}

static struct mfs_http_cred *loaded;
static size_t nloaded;

static void free_creds(struct mfs_http_cred *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].userpwd);
		free(v[i].bearer);
		for (size_t k = 0; k < v[i].nheaders; k++)
			free(v[i].headers[k]);
		free(v[i].headers);
	}
	free(v);
}

/* A header line "Name: value": a token of letters, digits and '-', then ':'. */
static bool header_line(const char *v)
{
	size_t name = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

	return name && v[name] == ':' && !strpbrk(v, "\r\n");
}

/*
 * Adds one credentials line to the entry of @host (made if new): -EINVAL (a
 * bad line), -EEXIST (a second basic or bearer for the host), -ENOMEM.
 */
static int add_cred(struct mfs_http_cred **v, size_t *n, const char *host, const char *kind,
		    const char *val)
{
	struct mfs_http_cred *c = NULL;
	char **slot, *copy;

	if (!*val || (!strcmp(kind, "basic") && !strchr(val, ':')) ||
	    (!strcmp(kind, "header") && !header_line(val)) ||
	    (strcmp(kind, "basic") && strcmp(kind, "bearer") && strcmp(kind, "header")))
		return -EINVAL;
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].host, host))
			c = &(*v)[i];
	if (!c) {
		struct mfs_http_cred *nv = realloc(*v, (*n + 1) * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		c = &nv[(*n)++];
		memset(c, 0, sizeof(*c));
		snprintf(c->host, sizeof(c->host), "%s", host);
	}
	if (!strcmp(kind, "header")) {
		char **h = realloc(c->headers, (c->nheaders + 1) * sizeof(*h));

		if (!h)
			return -ENOMEM;
		c->headers = h;
		slot = &h[c->nheaders];
		*slot = NULL;
	} else {
		slot = !strcmp(kind, "basic") ? &c->userpwd : &c->bearer;
		if (c->userpwd || c->bearer)
			return -EEXIST; /* one way to log in per host */
	}
	copy = strdup(val);
	if (!copy)
		return -ENOMEM;
	*slot = copy;
	if (!strcmp(kind, "header"))
		c->nheaders++;
	return 0;
}

int source_load_credentials(struct source_opts *so, struct mfs_err *err)
{
	static char def[4096];
	const char *path = so->credentials;
	struct mfs_http_cred *v = NULL;
	size_t n = 0, lineno = 0, cap = 0;
	char *line = NULL;
	struct stat st;
	FILE *f;
	int r = 0;

	if (!path) {
		const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

		if (geteuid() == 0)
			snprintf(def, sizeof(def), "/etc/modelfs/credentials");
		else if (cfg && *cfg == '/')
			snprintf(def, sizeof(def), "%s/modelfs/credentials", cfg);
		else
			snprintf(def, sizeof(def), "%s/.config/modelfs/credentials", home ? home : "/");
		if (access(def, F_OK))
			return 0; /* none: anonymous */
		path = def;
	}
	f = fopen(path, "re");
	if (!f)
		return mfs_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		fclose(f);
		return mfs_err_set(err, -EPERM, "%s: must belong to you and be readable by no one "
				   "else (chmod 600)", path);
	}
	while (getline(&line, &cap, f) > 0) {
		char host[256], kind[16], *val, *end;
		int used = 0;

		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (line[strspn(line, " \t")] == '#' || !line[strspn(line, " \t")])
			continue;
		if (sscanf(line, " %255s %15s %n", host, kind, &used) != 2 || !used) {
			r = mfs_err_set(err, -EINVAL, "%s:%zu: not HOST basic|bearer|header VALUE", path,
					lineno);
			break;
		}
		val = line + used;
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		r = add_cred(&v, &n, host, kind, val);
		if (r == -EINVAL)
			mfs_err_set(err, r, "%s:%zu: not HOST basic USER:PASSWORD, HOST bearer TOKEN or "
					"HOST header 'NAME: VALUE'", path, lineno);
		else if (r == -EEXIST)
			mfs_err_set(err, -EINVAL, "%s:%zu: a second %s for %s", path, lineno, kind, host);
		if (r)
			break;
	}
	free(line);
	fclose(f);
	if (r) {
		free_creds(v, n);
		return r;
	}
	/* The process's, like the options: kept reachable here for its life. */
	free_creds(loaded, nloaded);
	loaded = v;
	nloaded = n;
	so->http.creds = v;
	so->http.ncreds = n;
	return 0;
}

const char *source_shown_url(const char *url)
{
	static char buf[1024];
	const char *host = strstr(url, "://"), *at, *end;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	snprintf(buf, sizeof(buf), "%.*s%.*s", (int)(host - url), url,
		 (int)strcspn(at ? at + 1 : host, "?#"), at ? at + 1 : host);
	return buf;
}

/* A container name from a list: plain, printable, no path, ends in .mfs. */
bool source_name_ok(const char *s, size_t n)
{
	if (n < 5 || n > NAME_MAX_LEN || strcmp(s + n - 4, ".mfs") || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 127 || strchr("/\\?#%\"", s[i]))
			return false;
	return true;
}

/* A @cap-byte buffer and a SHA-256 of a container's metadata begun with its header @hdr. */
static int meta_hash_start(const uint8_t hdr[MFS_HEADER_SIZE], size_t cap, uint8_t **buf,
			   EVP_MD_CTX **md)
{
	*buf = malloc(cap);
	*md = EVP_MD_CTX_new();
	if (!*buf || !*md || !EVP_DigestInit_ex(*md, EVP_sha256(), NULL)) {
		free(*buf);
		EVP_MD_CTX_free(*md);
		*buf = NULL;
		*md = NULL;
		return -ENOMEM;
	}
	EVP_DigestUpdate(*md, hdr, MFS_HEADER_SIZE);
	return 0;
}

int source_meta_digest(int fd, uint64_t size, char out[72], struct mfs_err *err)
{
	uint8_t hdr[MFS_HEADER_SIZE], foot[MFS_FOOTER_SIZE], *buf;
	const size_t cap = 1 << 20;
	struct mfs_footer_info fi;
	EVP_MD_CTX *md;
	uint8_t sum[32];
	unsigned int sl = 0;
	int r = 0;

	if (size < MFS_HEADER_SIZE + MFS_FOOTER_SIZE ||
	    pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    pread(fd, foot, sizeof(foot), (off_t)(size - sizeof(foot))) != (ssize_t)sizeof(foot))
		return mfs_err_set(err, -EFSCORRUPTED, "too small or unreadable for a container");
	r = mfs_disk_footer_decode(&fi, foot, err);
	if (r)
		return r;
	if (fi.data_end < MFS_HEADER_SIZE || fi.data_end > size - MFS_FOOTER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "footer: data end outside the file");
	/* Not a static or thread-local buffer: every thread of the daemon would carry it. */
	if (meta_hash_start(hdr, cap, &buf, &md))
		return -ENOMEM;
	for (uint64_t off = fi.data_end; off < size && !r;) {
		size_t n = size - off < cap ? (size_t)(size - off) : cap;

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			r = mfs_err_set(err, -EIO, "cannot read the metadata");
		else
			EVP_DigestUpdate(md, buf, n);
		off += n;
	}
	EVP_DigestFinal_ex(md, sum, &sl);
	EVP_MD_CTX_free(md);
	free(buf);
	if (!r)
		source_sha256_string(sum, out);
	return r;
}

/* ---- skeletons ------------------------------------------------------------- */

/* @len bytes at @off (mfs_write_all() there). */
static int write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	return lseek(fd, (off_t)off, SEEK_SET) < 0 ? -errno : mfs_write_all(fd, buf, len);
}

/*
 * Writes the skeleton of the container at @url (@size bytes; 0: ask the
 * server) to @path: header, metadata and footer at their offsets, the chunk
 * data a hole. Checked as a container before it is renamed into place, and
 * against @meta (the SHA-256 of its metadata the list names, or "").
 */
static int build_skeleton(struct mfs_http *h, const char *url, uint64_t size, int dirfd,
			  const char *name, const char *meta, struct mfs_err *err)
{
	uint8_t hdr[MFS_HEADER_SIZE], *buf = NULL, sum[32];
	EVP_MD_CTX *md = NULL;
	unsigned int sl = 0;
	char got[72];
	struct mfs_header_info hi;
	struct mfs_footer_info fi;
	struct mfs_archive *ar = NULL;
	struct mfs_src src;
	uint64_t total = 0, tail_off, tail_len;
	char tmp[NAME_MAX_LEN + 32];
	int fd = -1, r;

	r = mfs_http_range(h, url, 0, sizeof(hdr), hdr, &total, err);
	if (r)
		return r;
	if (!size)
		size = total;
	if (total && total != size)
		return mfs_err_set(err, -EFSCORRUPTED, "%s: %" PRIu64 " bytes, the list says %" PRIu64,
				   name, total, size);
	if (size < MFS_HEADER_SIZE + MFS_FOOTER_SIZE)
		return mfs_err_set(err, -EFSCORRUPTED, "%s: too small for a container", name);
	r = mfs_disk_header_decode(&hi, hdr, err);
	if (r)
		return mfs_err_prefix(err, r, "%s", name);
	tail_len = size < TAIL_FETCH ? size : TAIL_FETCH;
	tail_off = size - tail_len;
	if (meta_hash_start(hdr, tail_len > META_PIECE ? tail_len : META_PIECE, &buf, &md))
		return -ENOMEM;
	r = mfs_http_range(h, url, tail_off, tail_len, buf, NULL, err);
	if (r)
		goto out;
	r = mfs_disk_footer_decode(&fi, buf + tail_len - MFS_FOOTER_SIZE, err);
	if (r) {
		mfs_err_prefix(err, r, "%s", name);
		goto out;
	}
	if (fi.data_end < MFS_HEADER_SIZE || fi.data_end > size - MFS_FOOTER_SIZE) {
		r = mfs_err_set(err, -EFSCORRUPTED, "%s: footer: data end %" PRIu64 " outside the file",
				name, fi.data_end);
		goto out;
	}
	/* 48 bytes a chunk: 1 GiB is a model of 5 TB in 256 KiB chunks. */
	if (size - fi.data_end > META_MAX) {
		r = mfs_err_set(err, -EFSCORRUPTED, "%s: %" PRIu64 " bytes of metadata, more than any "
				"model has", name, size - fi.data_end);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = mfs_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (ftruncate(fd, (off_t)size) || write_at(fd, hdr, sizeof(hdr), 0) ||
	    write_at(fd, buf, tail_len, tail_off)) {
		r = mfs_err_set(err, -EIO, "%s: cannot write the skeleton", name);
		goto out;
	}
	/* Metadata before what the tail covered, in pieces: memory stays bounded. */
	for (uint64_t off = fi.data_end; off < tail_off;) {
		size_t n = tail_off - off < META_PIECE ? (size_t)(tail_off - off) : META_PIECE;

		r = mfs_http_range(h, url, off, n, buf, NULL, err);
		if (r)
			goto out;
		if (write_at(fd, buf, n, off)) {
			r = mfs_err_set(err, -EIO, "%s: cannot write the skeleton", name);
			goto out;
		}
		EVP_DigestUpdate(md, buf, n);
		off += n;
	}
	/* The tail's part from data_end on, read back (buf held the pieces since). */
	for (uint64_t off = fi.data_end > tail_off ? fi.data_end : tail_off; off < size;) {
		size_t n = size - off < META_PIECE ? (size_t)(size - off) : META_PIECE;

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
			r = mfs_err_set(err, -EIO, "%s: cannot read the skeleton back", name);
			goto out;
		}
		EVP_DigestUpdate(md, buf, n);
		off += n;
	}
	EVP_DigestFinal_ex(md, sum, &sl);
	source_sha256_string(sum, got);
	if (*meta && strcmp(meta, got)) {
		r = mfs_err_set(err, -EFSCORRUPTED, "%s: its metadata is %s, not the %s the list "
				"names", name, got, meta);
		goto out;
	}
	r = mfs_src_init_fd(&src, fd, err);
	if (!r)
		r = mfs_archive_open(&ar, &src, err);
	if (r) {
		mfs_err_prefix(err, r, "%s", name);
		goto out;
	}
	mfs_archive_close(ar);
	if (renameat(dirfd, tmp, dirfd, name))
		r = mfs_err_set(err, -errno, "%s: %s", name, strerror(errno));
out:
	if (fd >= 0) {
		close(fd);
		if (r)
			unlinkat(dirfd, tmp, 0);
	}
	free(buf);
	EVP_MD_CTX_free(md);
	return r;
}

static int write_file_at(int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	char tmp[NAME_MAX_LEN + 32];
	int fd, r;

	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = mfs_write_all(fd, buf, len);
	if (close(fd) && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, name))
		r = -errno;
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/*
 * A plain layer's skeleton: a sparse file of its size, which the daemon
 * serves from the remote source (its reads never see these zeros).
 */
static int plain_skeleton(int dirfd, const char *name, uint64_t size, struct mfs_err *err)
{
	char tmp[NAME_MAX_LEN + 32];
	struct stat st;
	int fd, r = 0;

	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == size)
		return 0;
	if (size > (uint64_t)INT64_MAX)
		return mfs_err_set(err, -EFSCORRUPTED, "%s: a size of %" PRIu64 " bytes", name, size);
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return mfs_err_set(err, -errno, "%s: %s", name, strerror(errno));
	if (ftruncate(fd, (off_t)size) || renameat(dirfd, tmp, dirfd, name))
		r = mfs_err_set(err, -errno, "%s: %s", name, strerror(errno));
	close(fd);
	if (r)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* Removes skeletons of containers and plain layers no longer listed. */
static void prune(int dirfd, const struct source_entry *v, size_t n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		bool listed = false;

		if (de->d_name[0] == '.' && l > 4 && !strcmp(de->d_name + l - 4, ".tmp")) {
			unlinkat(dirfd, de->d_name, 0); /* a skeleton cut short by a crash */
			continue;
		}
		if ((l < 5 || strcmp(de->d_name + l - 4, ".mfs")) && !mfs_model_kind_of_name(de->d_name, l))
			continue;
		for (size_t i = 0; i < n && !listed; i++)
			listed = !strcmp(v[i].name, de->d_name);
		if (!listed)
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

static int read_small_file(int dirfd, const char *name, char **out, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > SOURCE_LIST_MAX || !(b = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -EIO;
	}
	if (pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		close(fd);
		free(b);
		return -EIO;
	}
	close(fd);
	b[st.st_size] = 0;
	*out = b;
	*len = (size_t)st.st_size;
	return 0;
}

static uint64_t default_budget(const char *dir)
{
	struct statvfs vfs;

	/* Half of what is free where the store lives, at least 1 GiB. */
	if (statvfs(dir, &vfs))
		return 1ull << 30;
	uint64_t half = (uint64_t)vfs.f_bavail * vfs.f_frsize / 2;

	return half > (1ull << 30) ? half : 1ull << 30;
}

/*
 * The list of @url into *@files: modelfs.json, an OCI manifest, or the one
 * container the URL names. With the server unreachable, the copy kept in
 * @pdirfd from the last time (*@offline). *@base: where the files are.
 */
/* The kinds of source, first match wins: a new kind is a file and a line here. */
static const struct source_kind *const kinds[] = {
	&source_kind_oci,
	&source_kind_http_file,
	&source_kind_http_dir,
};

static const struct source_kind *kind_of(const char *url)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->is(url))
			return kinds[i];
	return NULL;
}

bool source_is_url(const char *url)
{
	return kind_of(url) != NULL;
}

static void list_release(struct source_list *l)
{
	free(l->bytes);
	free(l->what);
	free(l->files);
	l->bytes = l->what = NULL;
	l->files = NULL;
}

/*
 * @url's list fetched and parsed into @l's files, with its base URL; the copy
 * fetched before when the server does not answer (*@offline). @listed gets
 * the list's SHA-256, which a pin (-o pin=, a reference by digest) must be.
 */
static int get_list(struct mfs_http *h, const char *url, const struct source_opts *o,
		    int pdirfd, struct source_list *l, bool *offline, char listed[72],
		    struct mfs_err *err)
{
	const struct source_kind *k = kind_of(url);
	const char *pin = o->pin, *what;
	int r;

	*offline = false;
	if (!k)
		return mfs_err_set(err, -EINVAL, "%s: not https://, http:// or oci://", url);
	r = k->fetch(h, url, o, l, err);
	if (!r && *l->url_pin) {
		if (pin && strcmp(pin, l->url_pin))
			return mfs_err_set(err, -EINVAL, "pin=%s and the reference's %s differ", pin,
					   l->url_pin);
		pin = l->url_pin;
	}
	if (!k->cache) {
		if (!r && pin)
			r = mfs_err_set(err, -EINVAL, "pin= needs a listed source (a directory with "
					"modelfs.json, an OCI artifact), not one %s", k->name);
		return r;
	}
	if (r == -EIO && l->base && !read_small_file(pdirfd, k->cache, &l->bytes, &l->len)) {
		if (o->tell)
			o->tell(true, url, "%s; serving the copy fetched before, and the chunks the "
				"store holds", err->msg);
		*offline = true;
		r = 0;
	}
	if (r)
		return r;
	/* What the list is: shown, so it can be pinned; checked, where pinned. */
	source_sha256(l->bytes, l->len, listed);
	if (pin && strcmp(pin, listed))
		return mfs_err_set(err, -EFSCORRUPTED, "%s is %s, not the pinned %s%s", k->listed,
				   listed, pin, *offline ? " (the copy fetched before)" : "");
	what = l->what ? l->what : k->listed;
	r = k->parse(l->bytes, l->len, what, &l->files, &l->nfiles, err);
	if (!r && !*offline) {
		r = write_file_at(pdirfd, k->cache, l->bytes, l->len, 0600);
		if (r)
			mfs_err_set(err, r, "%s: cannot keep a copy: %s", k->cache, strerror(-r));
	}
	return r;
}

static void file_url(const char *base, const struct source_entry *e, char *out, size_t cap)
{
	if (*e->digest)
		snprintf(out, cap, "%sblobs/%s", base, e->digest);
	else
		snprintf(out, cap, "%s%s", base, e->name);
}

int source_prepare(const char *url, struct source_opts *opts, char **dir_out,
		   struct mfs_remote **remote_out, struct mfs_err *err)
{
	struct source_opts so = *opts;
	const struct source_opts *o = opts;
	const char *store_dir = o->store ? o->store : source_default_store();
	struct source_list list = {0};
	size_t nfiles = 0;
	char *base = NULL, *dir = NULL, furl[4096], id[72];
	struct source_entry *files = NULL;
	struct mfs_http *h = NULL;
	struct mfs_store *store = NULL;
	int dirfd = -1, pdirfd = -1, r;
	bool offline = false;

	*dir_out = NULL;
	*remote_out = NULL;
	r = source_load_credentials(&so, err);
	if (r)
		return r;
	o = &so;
	/* Named by a SHA-256 of the URL: a source cannot choose a name another's skeletons have. */
	source_sha256(url, strlen(url), id);
	if (asprintf(&dir, "%s/sources/%.32s/files", store_dir, id + 7) < 0) {
		dir = NULL;
		r = -ENOMEM;
		goto out;
	}
	/* The store says what is mounted from where: private (the store's directories 0700). */
	r = mfs_mkdir_p(dir, 0700);
	if (r) {
		mfs_err_set(err, r, "%s: %s", dir, strerror(-r));
		goto out;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pdirfd = dirfd >= 0 ? openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	h = mfs_http_new(&o->http);
	if (pdirfd < 0 || !h) {
		r = pdirfd < 0 ? mfs_err_set(err, -errno, "%s: %s", dir, strerror(errno)) : -ENOMEM;
		goto out;
	}
	r = get_list(h, url, o, pdirfd, &list, &offline, opts->listed, err);
	base = list.base;
	files = list.files;
	nfiles = list.nfiles;
	if (r)
		goto out;
	for (size_t i = 0; i < nfiles && !offline; i++) {
		file_url(base, &files[i], furl, sizeof(furl));
		if (files[i].plain) {
			r = plain_skeleton(dirfd, files[i].name, files[i].size, err);
			if (r)
				goto out;
			continue;
		}
		r = build_skeleton(h, furl, files[i].size, dirfd, files[i].name, files[i].meta, err);
		if (r == -EIO && nfiles == 1 && !*files[i].digest &&
		    !faccessat(dirfd, files[i].name, F_OK, 0)) {
			if (o->tell)
				o->tell(true, url, "%s; serving the copy fetched before, and the chunks "
					"the store holds", err->msg);
			offline = true;
			r = 0;
		}
		if (r)
			goto out;
	}
	if (!offline)
		prune(dirfd, files, nfiles);

	r = mfs_store_open(&store, store_dir, o->store_size ? o->store_size : default_budget(store_dir),
			   err);
	if (r)
		goto out;
	r = mfs_remote_new(remote_out, base, store, &o->http, err);
	if (!r && o->requests)
		mfs_remote_set_fetchers(*remote_out, o->requests);
	for (size_t i = 0; !r && i < nfiles; i++) {
		if (!*files[i].digest)
			continue;
		file_url(base, &files[i], furl, sizeof(furl));
		r = files[i].plain ? mfs_remote_map_plain(*remote_out, files[i].name, furl,
							 files[i].digest, files[i].size)
				   : mfs_remote_map(*remote_out, files[i].name, furl);
	}
	if (r) {
		mfs_remote_free(*remote_out);
		*remote_out = NULL;
		goto out;
	}
	*dir_out = dir;
	dir = NULL;
out:
	if (dirfd >= 0)
		close(dirfd);
	if (pdirfd >= 0)
		close(pdirfd);
	mfs_http_free(h);
	list_release(&list);
	free(base);
	free(dir);
	return r;
}

/* ---- publish ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct source_entry *)a)->name, ((const struct source_entry *)b)->name);
}

int source_publish(const char *dirpath, mfs_source_tell_fn tell, struct mfs_err *err)
{
	int dirfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	struct source_entry *v = NULL;
	char (*hash)[33] = NULL;
	char (*meta)[72] = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	if (dirfd < 0)
		return mfs_err_set(err, -errno, "%s: %s", dirpath, strerror(errno));
	d = fdopendir(dup(dirfd));
	if (!d) {
		close(dirfd);
		return mfs_err_set(err, -errno, "%s: %s", dirpath, strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;

		if (!source_name_ok(de->d_name, l) || fstatat(dirfd, de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		struct source_entry *nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
		v[n++].size = (uint64_t)st.st_size;
	}
	closedir(d);
	if (r || !n) {
		if (!r)
			r = mfs_err_set(err, -ENOENT, "%s: no containers (X.mfs) to publish", dirpath);
		goto out;
	}
	qsort(v, n, sizeof(*v), by_name);
	hash = calloc(n, sizeof(*hash));
	meta = calloc(n, sizeof(*meta));
	if (!hash || !meta) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int fd = openat(dirfd, v[i].name, O_RDONLY | O_CLOEXEC);
		struct mfs_header_info hi;
		uint8_t hdr[MFS_HEADER_SIZE];
		XXH3_state_t *st = XXH3_createState();
		static uint8_t buf[1 << 20];
		uint64_t done = 0;
		ssize_t got;

		if (fd < 0 || !st) {
			r = fd < 0 ? mfs_err_set(err, -errno, "%s: %s", v[i].name, strerror(errno)) : -ENOMEM;
			if (fd >= 0)
				close(fd);
			XXH3_freeState(st);
			goto out;
		}
		/* A container at least: a list must not send mounts to anything else. */
		if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
		    mfs_disk_header_decode(&hi, hdr, err)) {
			close(fd);
			XXH3_freeState(st);
			r = mfs_err_prefix(err, -EFSCORRUPTED, "%s/%s: not a modelfs container", dirpath,
					   v[i].name);
			goto out;
		}
		XXH3_128bits_reset(st);
		while ((got = pread(fd, buf, sizeof(buf), (off_t)done)) > 0) {
			XXH3_128bits_update(st, buf, (size_t)got);
			done += (uint64_t)got;
		}
		close(fd);
		XXH128_hash_t hv = XXH3_128bits_digest(st);

		XXH3_freeState(st);
		if (got < 0 || done != v[i].size) {
			r = mfs_err_set(err, -EIO, "%s/%s: changed or unreadable while hashed", dirpath,
					v[i].name);
			goto out;
		}
		snprintf(hash[i], sizeof(hash[i]), "%016" PRIx64 "%016" PRIx64, hv.high64, hv.low64);
		fd = openat(dirfd, v[i].name, O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? mfs_err_set(err, -errno, "%s: %s", v[i].name, strerror(errno))
			   : source_meta_digest(fd, v[i].size, meta[i], err);
		if (fd >= 0)
			close(fd);
		if (r) {
			mfs_err_prefix(err, r, "%s/%s", dirpath, v[i].name);
			goto out;
		}
		if (tell)
			tell(false, v[i].name, "%" PRIu64 " bytes", v[i].size);
	}
	f = open_memstream(&out, &outlen);
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	fprintf(f, "{\"modelfs\": 1, \"files\": [");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
		json_write_str(f, v[i].name);
		fprintf(f, ", \"size\": %" PRIu64 ", \"xxh3\": \"%s\", \"metadata\": \"%s\"}",
			v[i].size, hash[i], meta[i]);
	}
	fprintf(f, "\n]}\n");
	if (fclose(f)) {
		r = -ENOMEM;
		goto out;
	}
	r = write_file_at(dirfd, MFS_MANIFEST_NAME, out, outlen, 0644); /* for the web server */
	if (r)
		mfs_err_set(err, r, "%s/%s: %s", dirpath, MFS_MANIFEST_NAME, strerror(-r));
out:
	close(dirfd);
	free(out);
	free(hash);
	free(meta);
	free(v);
	return r;
}
