/* SPDX-License-Identifier: MIT */
/*
 * store.c - the persistent chunk store (see store.h).
 *
 * In memory: an open-addressing table of every stored chunk (key, size, last
 * use), built by scanning chunks/ at open, under one mutex. Files are named
 * by their key, so the table is only a cache of the directory: a chunk
 * another process removed is simply not found when read.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "le.h"
#include "writer.h"
#include "xxh.h"

#define HDR 16u
static const uint8_t magic[4] = {'M', 'F', 'S', 'C'};

struct slot {
	struct mfs_store_key key;
	uint64_t size; /* file bytes, header included */
	uint64_t used; /* last use, ns since the epoch */
	uint8_t state; /* 0 empty, 1 used, 2 deleted */
};

struct mfs_store {
	int dfd; /* the store's directory */
	uint64_t budget;
	pthread_mutex_t lock;
	pthread_mutex_t shared; /* this process's threads, around flock(ufd) */
	int ufd;		/* STORE/usage: the bytes all processes' chunks take */
	struct slot *tab;
	size_t cap, n, dead; /* slots, used, deleted */
	uint64_t bytes;
	uint64_t meta; /* bytes of sources/ (skeletons, manifests) at open: not evicted, counted */
	uint64_t damaged;
	uint64_t seq; /* names of files in tmp/ */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* SHA-256 of a kind tag, @n bytes of fields and a string: kinds never share a key. */
static struct mfs_store_key key_of(const char tag[8], const uint8_t *fields, size_t n,
				   const char *str)
{
	struct mfs_store_key k;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 0;

	/* Only allocation can fail here: then a key no chunk has (a store miss). */
	memset(&k, 0, sizeof(k));
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, tag, 8) &&
	    EVP_DigestUpdate(c, fields, n) && (!str || EVP_DigestUpdate(c, str, strlen(str) + 1)))
		EVP_DigestFinal_ex(c, k.b, &len);
	EVP_MD_CTX_free(c);
	return k;
}

struct mfs_store_key mfs_store_key_digest(const uint8_t digest[32], uint32_t plen)
{
	uint8_t id[36];

	memcpy(id, digest, 32);
	put_le32(id + 32, plen);
	return key_of("mfs-sha\0", id, sizeof(id), NULL);
}

struct mfs_store_key mfs_store_key_private(const char *source, const struct mfs_chunk *c)
{
	uint8_t id[28];

	put_le64(id, c->checksum);
	put_le32(id + 8, c->llen);
	put_le32(id + 12, c->plen);
	put_le32(id + 16, c->codec);
	put_le32(id + 20, c->xform);
	put_le32(id + 24, c->xparam);
	return key_of("mfs-src\0", id, sizeof(id), source);
}

struct mfs_store_key mfs_store_key_block(const char *source, uint64_t off, uint32_t len)
{
	uint8_t id[12];

	put_le64(id, off);
	put_le32(id + 8, len);
	return key_of("mfs-blk\0", id, sizeof(id), source);
}

#define KEY_HEX (2 * sizeof(struct mfs_store_key))
#define PATH_MAX_LEN (16 + KEY_HEX)

static void key_path(const struct mfs_store_key *k, char out[PATH_MAX_LEN])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out + sprintf(out, "chunks/%02x/", k->b[0]);

	for (size_t i = 0; i < sizeof(k->b); i++) {
		*p++ = hex[k->b[i] >> 4];
		*p++ = hex[k->b[i] & 15];
	}
	*p = 0;
}

static bool parse_key(const char *name, struct mfs_store_key *k)
{
	if (strlen(name) != KEY_HEX)
		return false;
	for (size_t i = 0; i < sizeof(k->b); i++) {
		unsigned int v;

		if (sscanf(name + 2 * i, "%2x", &v) != 1)
			return false;
		k->b[i] = (uint8_t)v;
	}
	return true;
}

/* ---- the table ------------------------------------------------------------- */

static size_t hash_of(const struct mfs_store_key *k, size_t cap)
{
	return (size_t)(get_le64(k->b) & (cap - 1));
}

static struct slot *find(struct mfs_store *s, const struct mfs_store_key *k)
{
	if (!s->cap)
		return NULL;
	for (size_t i = hash_of(k, s->cap), n = 0; n < s->cap; i = (i + 1) & (s->cap - 1), n++) {
		struct slot *e = &s->tab[i];

		if (e->state == 0)
			return NULL;
		if (e->state == 1 && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

static int grow(struct mfs_store *s)
{
	/* Mostly tombstones: rebuild at the same size; else twice as large. */
	size_t cap = !s->cap ? 1024 : s->n * 2 < s->cap ? s->cap : s->cap * 2;
	struct slot *old = s->tab, *tab;
	size_t oldcap = s->cap;

	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	s->tab = tab;
	s->cap = cap;
	s->n = s->dead = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].state != 1)
			continue;
		size_t j = hash_of(&old[i].key, cap);

		while (tab[j].state)
			j = (j + 1) & (cap - 1);
		tab[j] = old[i];
		s->n++;
	}
	free(old);
	return 0;
}

/* Adds or refreshes @k; the bytes counted follow. */
static int insert(struct mfs_store *s, const struct mfs_store_key *k, uint64_t size, uint64_t used)
{
	struct slot *e = find(s, k);

	if (e) {
		s->bytes += size - e->size;
		e->size = size;
		e->used = used;
		return 0;
	}
	if ((s->n + s->dead + 1) * 10 >= s->cap * 7 && grow(s))
		return -ENOMEM;
	size_t i = hash_of(k, s->cap);

	while (s->tab[i].state == 1)
		i = (i + 1) & (s->cap - 1);
	if (s->tab[i].state == 2)
		s->dead--;
	s->tab[i] = (struct slot){.key = *k, .size = size, .used = used, .state = 1};
	s->n++;
	s->bytes += size;
	return 0;
}

static void forget(struct mfs_store *s, struct slot *e)
{
	s->bytes -= e->size;
	e->state = 2;
	s->n--;
	s->dead++;
}


/* Every chunk file under chunks/ (files of older keys removed on the way): @fn for each. */
static int walk(struct mfs_store *s,
		int (*fn)(void *arg, const struct mfs_store_key *k, uint64_t size, uint64_t used),
		void *arg)
{
	for (unsigned int d = 0; d < 256; d++) {
		char sub[16];
		int fd;
		DIR *dir;
		struct dirent *de;

		snprintf(sub, sizeof(sub), "chunks/%02x", d);
		if (mkdirat(s->dfd, sub, 0700) && errno != EEXIST)
			return -errno;
		fd = openat(s->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		dir = fdopendir(fd);
		if (!dir) {
			close(fd);
			return -errno;
		}
		while ((de = readdir(dir))) {
			struct mfs_store_key k;
			struct stat st;

			/* A key of before chunk digests (xxh3-based): not trusted, removed. */
			if (strlen(de->d_name) == 32 && strspn(de->d_name, "0123456789abcdef") == 32) {
				unlinkat(fd, de->d_name, 0);
				continue;
			}
			if (!parse_key(de->d_name, &k) || k.b[0] != d ||
			    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
				continue;
			if (fn(arg, &k, (uint64_t)st.st_size,
			       (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec)) {
				closedir(dir);
				return -ENOMEM;
			}
		}
		closedir(dir);
	}
	return 0;
}

static int scan_one(void *arg, const struct mfs_store_key *k, uint64_t size, uint64_t used)
{
	return insert(arg, k, size, used);
}

static int scan(struct mfs_store *s)
{
	return walk(s, scan_one, s);
}

/*
 * ---- one budget for every process sharing the store -------------------------
 *
 * STORE/usage holds the bytes of all chunk files as every process sharing the
 * store counts them (8 bytes, little-endian), changed under flock() of that
 * file (and s->shared between this process's threads): a put adds, a removal
 * that unlinked the file subtracts. Over the budget, eviction walks the
 * directory - the truth - under the lock, removes the least recently used
 * files whichever process put them, and writes the total it found.
 */
static void shared_lock(struct mfs_store *s)
{
	pthread_mutex_lock(&s->shared);
	while (s->ufd >= 0 && flock(s->ufd, LOCK_EX) && errno == EINTR)
		;
}

static void shared_unlock(struct mfs_store *s)
{
	if (s->ufd >= 0)
		flock(s->ufd, LOCK_UN);
	pthread_mutex_unlock(&s->shared);
}

static uint64_t usage_get(struct mfs_store *s)
{
	uint8_t b[8];

	return s->ufd >= 0 && pread(s->ufd, b, 8, 0) == 8 ? get_le64(b) : s->bytes;
}

static void usage_set(struct mfs_store *s, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	if (s->ufd >= 0 && pwrite(s->ufd, b, 8, 0) != 8)
		return; /* a full disk: the next eviction's walk counts again */
}

static uint64_t usage_add(struct mfs_store *s, uint64_t add, uint64_t sub)
{
	uint64_t v;

	shared_lock(s);
	v = usage_get(s) + add;
	v = v > sub ? v - sub : 0;
	usage_set(s, v);
	shared_unlock(s);
	return v;
}

/* Removes the file at @path, and its bytes from the shared count if it was there. */
static void unlink_counted(struct mfs_store *s, const char *path)
{
	struct stat st;

	if (!fstatat(s->dfd, path, &st, AT_SYMLINK_NOFOLLOW) && !unlinkat(s->dfd, path, 0))
		usage_add(s, 0, (uint64_t)st.st_size);
}

struct victims {
	struct slot *v;
	size_t n, cap;
	uint64_t total;
};

static int victim_one(void *arg, const struct mfs_store_key *k, uint64_t size, uint64_t used)
{
	struct victims *vs = arg;

	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 1024;
		struct slot *v = realloc(vs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		vs->v = v;
		vs->cap = cap;
	}
	vs->v[vs->n++] = (struct slot){.key = *k, .size = size, .used = used, .state = 1};
	vs->total += size;
	return 0;
}

static int by_used(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return x->used < y->used ? -1 : x->used > y->used;
}

/*
 * Over the budget (every process's chunks, and the sources' metadata): remove
 * the least recently used down to 90% of it. Not under s->lock.
 */
static void evict(struct mfs_store *s)
{
	struct victims vs = {0};

	if (!s->budget)
		return;
	shared_lock(s);
	if (usage_get(s) + s->meta <= s->budget || walk(s, victim_one, &vs)) {
		shared_unlock(s);
		free(vs.v);
		return;
	}
	qsort(vs.v, vs.n, sizeof(*vs.v), by_used);
	for (size_t i = 0; i < vs.n && vs.total + s->meta > s->budget / 10 * 9; i++) {
		char path[PATH_MAX_LEN];
		struct slot *e;

		key_path(&vs.v[i].key, path);
		if (unlinkat(s->dfd, path, 0))
			continue;
		vs.total -= vs.v[i].size;
		pthread_mutex_lock(&s->lock);
		e = find(s, &vs.v[i].key);
		if (e)
			forget(s, e);
		pthread_mutex_unlock(&s->lock);
	}
	usage_set(s, vs.total);
	shared_unlock(s);
	free(vs.v);
}

/* ---- open ------------------------------------------------------------------ */

/*
 * The store tells what is mounted from where (skeletons, manifests) and holds
 * private sources' chunks: its directory is 0700, as are sources/ and
 * chunks/ (a store made by an older modelfs, 0755, is closed up here).
 */
static void make_private(int dfd)
{
	static const char *const dirs[] = {".", "sources", "chunks", "tmp"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		struct stat st;

		if (!fstatat(dfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid() && (st.st_mode & 077))
			fchmodat(dfd, dirs[i], st.st_mode & 0700, 0);
	}
}

/* Disk bytes under @fd, @depth directories down (sources/ID/files/NAME: 2). */
static uint64_t disk_use(int fd, int depth)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;
	uint64_t sum = 0;

	if (!dir) {
		close(fd);
		return 0;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(st.st_mode)) {
			sum += (uint64_t)st.st_blocks * 512; /* skeletons are sparse */
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				sum += disk_use(sub, depth - 1);
		}
	}
	closedir(dir);
	return sum;
}

/* Files left in tmp/ by a crash are never whole chunks: remove them. */
static void clean_tmp(struct mfs_store *s)
{
	int fd = openat(s->dfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(dir);
}

int mfs_store_open(struct mfs_store **out, const char *dir, uint64_t budget, struct mfs_err *err)
{
	struct mfs_store *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->dfd = s->ufd = -1;
	s->budget = budget;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->shared, NULL);
	r = mfs_mkdir_p(dir, 0700);
	if (!r) {
		s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = s->dfd < 0 ? -errno : 0;
	}
	if (!r && ((mkdirat(s->dfd, "chunks", 0700) && errno != EEXIST) ||
		   (mkdirat(s->dfd, "tmp", 0700) && errno != EEXIST)))
		r = -errno;
	if (!r)
		make_private(s->dfd);
	if (!r) {
		int fd = openat(s->dfd, "sources", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		s->ufd = openat(s->dfd, "usage", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		clean_tmp(s);
		/* The walk under the lock is the count every process starts again from. */
		shared_lock(s);
		r = scan(s);
		if (!r)
			usage_set(s, s->bytes);
		shared_unlock(s);
		/* What mounts wrote there (skeletons' metadata, manifests) counts too. */
		if (fd >= 0)
			s->meta = disk_use(fd, 2);
	}
	if (r) {
		mfs_err_set(err, r, "chunk store %s: %s", dir, strerror(-r));
		mfs_store_close(s);
		return r;
	}
	evict(s);
	*out = s;
	return 0;
}

void mfs_store_close(struct mfs_store *s)
{
	if (!s)
		return;
	if (s->dfd >= 0)
		close(s->dfd);
	if (s->ufd >= 0)
		close(s->ufd);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->shared);
	free(s->tab);
	free(s);
}

/* ---- get, put -------------------------------------------------------------- */

static void drop(struct mfs_store *s, const struct mfs_store_key *k, const char *path)
{
	struct slot *e;

	unlink_counted(s, path);
	pthread_mutex_lock(&s->lock);
	e = find(s, k);
	if (e)
		forget(s, e);
	s->damaged++;
	pthread_mutex_unlock(&s->lock);
}

void mfs_store_remove(struct mfs_store *s, const struct mfs_store_key *key)
{
	char path[PATH_MAX_LEN];
	struct slot *e;

	key_path(key, path);
	unlink_counted(s, path);
	pthread_mutex_lock(&s->lock);
	e = find(s, key);
	if (e)
		forget(s, e);
	pthread_mutex_unlock(&s->lock);
}

void mfs_store_discard(struct mfs_store *s, const struct mfs_store_key *key)
{
	char path[PATH_MAX_LEN];

	key_path(key, path);
	drop(s, key, path);
}

bool mfs_store_has(struct mfs_store *s, const struct mfs_store_key *key, size_t len)
{
	char path[PATH_MAX_LEN];
	struct stat st;

	key_path(key, path);
	return !fstatat(s->dfd, path, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == len + HDR;
}

int mfs_store_get(struct mfs_store *s, const struct mfs_store_key *key, void *buf, size_t len)
{
	char path[PATH_MAX_LEN];
	uint8_t hdr[HDR];
	struct stat st;
	struct slot *e;
	ssize_t n;
	int fd;

	key_path(key, path);
	fd = openat(s->dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* Removed by another process (its budget, a cleaner): forgotten, stored again. */
		pthread_mutex_lock(&s->lock);
		e = find(s, key);
		if (e)
			forget(s, e);
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != len + HDR ||
	    pread(fd, hdr, HDR, 0) != HDR || memcmp(hdr, magic, 4) ||
	    (n = pread(fd, buf, len, HDR)) != (ssize_t)len || XXH3_64bits(buf, len) != get_le64(hdr + 8)) {
		close(fd);
		drop(s, key, path);
		return -ENOENT;
	}
	futimens(fd, NULL); /* the LRU order, kept across restarts */
	close(fd);
	pthread_mutex_lock(&s->lock);
	e = find(s, key);
	if (e)
		e->used = now_ns();
	else
		insert(s, key, len + HDR, now_ns()); /* another process put it */
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int mfs_store_put(struct mfs_store *s, const struct mfs_store_key *key, const void *buf,
		  size_t len, struct mfs_err *err)
{
	char path[PATH_MAX_LEN], tmp[64];
	uint8_t hdr[HDR] = {0};
	struct slot *e;
	uint64_t seq;
	int fd, r;

	key_path(key, path);
	pthread_mutex_lock(&s->lock);
	e = find(s, key);
	if (e) {
		struct stat st;

		/* Listed, and still there? (Another process may have removed it.) */
		if (!fstatat(s->dfd, path, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == len + HDR) {
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		forget(s, e);
	}
	seq = ++s->seq;
	pthread_mutex_unlock(&s->lock);
	snprintf(tmp, sizeof(tmp), "tmp/%ld.%llu", (long)getpid(), (unsigned long long)seq);
	memcpy(hdr, magic, 4);
	put_le64(hdr + 8, XXH3_64bits(buf, len));
	fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return mfs_err_set(err, -errno, "chunk store: %s: %s", tmp, strerror(errno));
	r = mfs_write_all(fd, hdr, HDR);
	if (!r)
		r = mfs_write_all(fd, buf, len);
	if (close(fd) && !r)
		r = -errno;
	if (!r && renameat(s->dfd, tmp, s->dfd, path))
		r = -errno;
	if (r) {
		unlinkat(s->dfd, tmp, 0);
		return mfs_err_set(err, r, "chunk store: %s", strerror(-r));
	}
	pthread_mutex_lock(&s->lock);
	r = insert(s, key, len + HDR, now_ns());
	pthread_mutex_unlock(&s->lock);
	if (s->budget && usage_add(s, len + HDR, 0) + s->meta > s->budget)
		evict(s);
	else if (!s->budget)
		usage_add(s, len + HDR, 0);
	return r;
}

void mfs_store_usage(struct mfs_store *s, uint64_t *bytes, uint64_t *chunks, uint64_t *damaged)
{
	shared_lock(s);
	*bytes = usage_get(s) + s->meta;
	shared_unlock(s);
	pthread_mutex_lock(&s->lock);
	*chunks = s->n;
	*damaged = s->damaged;
	pthread_mutex_unlock(&s->lock);
}
