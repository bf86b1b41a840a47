/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the persistent chunk store (fs/remote/store.h): what is put comes
 * back, across a reopen; a damaged or torn file is never returned and is
 * removed; the least recently used chunks go first when over the budget;
 * files left in tmp/ by a crash are removed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mfs-store-test.XXXXXX");
	cr_assert(mkdtemp(dir));
	strcat(dir, "/s"); /* the store makes its own directory */
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 2), dir);
	cr_assert_eq(system(cmd), 0);
}


static struct mfs_store_key key_of(uint64_t checksum, uint32_t plen)
{
	struct mfs_chunk c = {.checksum = checksum, .llen = 1000, .plen = plen, .codec = 3};

	return mfs_store_key_private("http://127.0.0.1/models/", &c);
}

static void fill(uint8_t *b, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed);
}

static char *file_of(const struct mfs_store_key *k)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/chunks/%02x/", dir, k->b[0]);
	for (size_t i = 0; i < sizeof(k->b); i++)
		sprintf(path + strlen(path), "%02x", k->b[i]);
	return path;
}

Test(store, put_get_across_reopen)
{
	struct mfs_store *s;
	uint8_t in[5000], out[5000];
	struct mfs_store_key k = key_of(1, sizeof(in)), other = key_of(2, sizeof(in));
	uint64_t bytes, chunks, damaged;

	setup();

	fill(in, sizeof(in), 7);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), -ENOENT);
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0);
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0); /* again: no change */
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	cr_assert_eq(mfs_store_get(s, &other, out, sizeof(out)), -ENOENT);
	/* The key says the length: another length is another chunk. */
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out) - 1), -ENOENT);
	mfs_store_close(s);

	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_eq(chunks, 0, "the wrong-length get removed the file: %llu",
		     (unsigned long long)chunks);
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0);
	mfs_store_close(s);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_eq(chunks, 1);
	cr_assert_eq(bytes, sizeof(in) + 16);
	memset(out, 0, sizeof(out));
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	mfs_store_close(s);
	teardown();
}

Test(store, damaged_and_torn_files_are_never_returned)
{
	struct mfs_store *s;
	uint8_t in[3000], out[3000];
	struct mfs_store_key k = key_of(3, sizeof(in));
	uint64_t bytes, chunks, damaged;
	int fd;

	setup();

	fill(in, sizeof(in), 1);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0);
	/* One payload byte flipped on disk. */
	fd = open(file_of(&k), O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "\x55", 1, 16 + 1234), 1);
	close(fd);
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), -ENOENT);
	cr_assert_eq(access(file_of(&k), F_OK), -1, "the damaged file is still there");
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_eq(damaged, 1);
	cr_assert_eq(chunks, 0);
	/* Torn: the file cut short, as a crash without fsync may leave it. */
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0);
	cr_assert_eq(truncate(file_of(&k), 16 + 1000), 0);
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), -ENOENT);
	/* And stored again, good. */
	cr_assert_eq(mfs_store_put(s, &k, in, sizeof(in), NULL), 0);
	cr_assert_eq(mfs_store_get(s, &k, out, sizeof(out)), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	mfs_store_close(s);
	teardown();
}

Test(store, least_recently_used_go_first)
{
	struct mfs_store *s;
	uint8_t in[10000], out[10000];
	struct mfs_store_key k[10];
	uint64_t bytes, chunks, damaged;

	setup();

	fill(in, sizeof(in), 3);
	/* Room for 5 chunks (with headers); eviction goes down to 90%. */
	cr_assert_eq(mfs_store_open(&s, dir, 5 * (sizeof(in) + 16), NULL), 0);
	for (int i = 0; i < 5; i++) {
		k[i] = key_of(100 + (uint64_t)i, sizeof(in));
		cr_assert_eq(mfs_store_put(s, &k[i], in, sizeof(in), NULL), 0);
		usleep(20000); /* distinct file times: the kernel's clock for them is coarse */
	}
	/* Use chunk 0: chunk 1 is now the oldest. */
	cr_assert_eq(mfs_store_get(s, &k[0], out, sizeof(out)), 0);
	k[5] = key_of(105, sizeof(in));
	cr_assert_eq(mfs_store_put(s, &k[5], in, sizeof(in), NULL), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_leq(bytes, 5 * (sizeof(in) + 16));
	cr_assert_eq(mfs_store_get(s, &k[1], out, sizeof(out)), -ENOENT, "the oldest stayed");
	cr_assert_eq(mfs_store_get(s, &k[0], out, sizeof(out)), 0, "the one just used went");
	usleep(20000);
	cr_assert_eq(mfs_store_get(s, &k[5], out, sizeof(out)), 0, "the newest went");
	mfs_store_close(s);

	/* A smaller budget at the next open evicts at once, oldest first. */
	cr_assert_eq(mfs_store_open(&s, dir, 2 * (sizeof(in) + 16), NULL), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_leq(chunks, 2);
	cr_assert_eq(mfs_store_get(s, &k[5], out, sizeof(out)), 0, "the newest went at reopen");
	mfs_store_close(s);
	teardown();
}

Test(store, leftovers_of_a_crash_are_removed)
{
	struct mfs_store *s;
	char path[256];
	int fd;

	setup();

	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	mfs_store_close(s);
	snprintf(path, sizeof(path), "%s/tmp/1234.5", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "half a chunk", 12), 12);
	close(fd);
	/* A stray name in chunks/ is not a chunk. */
	snprintf(path, sizeof(path), "%s/chunks/00/not-a-key", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	snprintf(path, sizeof(path), "%s/tmp/1234.5", dir);
	cr_assert_eq(access(path, F_OK), -1, "tmp/ kept a crash's leftover");
	uint64_t bytes, chunks, damaged;

	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_assert_eq(chunks, 0);
	mfs_store_close(s);
	teardown();
}

/*
 * Files another process removed (its own budget, a cache cleaner) are
 * forgotten when found missing and stored again by the next put; the bytes
 * counted follow.
 */
Test(store, files_removed_by_another_process_are_stored_again)
{
	struct mfs_store *s;
	uint8_t in[3000], out[3000];
	struct mfs_store_key a = key_of(11, sizeof(in)), b = key_of(12, sizeof(in));
	uint64_t bytes, chunks, damaged;

	setup();
	fill(in, sizeof(in), 3);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	cr_assert_eq(mfs_store_put(s, &a, in, sizeof(in), NULL), 0);
	cr_assert_eq(mfs_store_put(s, &b, in, sizeof(in), NULL), 0);
	cr_assert_eq(unlink(file_of(&a)), 0);
	cr_assert_eq(unlink(file_of(&b)), 0);
	/* a: found missing by a read; b: by the next put of it */
	cr_assert_eq(mfs_store_get(s, &a, out, sizeof(out)), -ENOENT);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_expect_eq(chunks, 1);
	cr_expect_eq(damaged, 0, "a missing file is not damage");
	cr_assert_eq(mfs_store_put(s, &a, in, sizeof(in), NULL), 0);
	cr_assert_eq(mfs_store_put(s, &b, in, sizeof(in), NULL), 0);
	cr_assert_eq(access(file_of(&a), F_OK), 0, "a was not stored again");
	cr_assert_eq(access(file_of(&b), F_OK), 0, "b was not stored again");
	cr_assert_eq(mfs_store_get(s, &b, out, sizeof(out)), 0);
	cr_expect_eq(memcmp(in, out, sizeof(in)), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_expect_eq(chunks, 2);
	mfs_store_close(s);
	/* Files removed behind the store's back are counted again at the next open's walk. */
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_expect_eq(bytes, 2 * (sizeof(in) + 16));
	mfs_store_close(s);
	teardown();
}

/*
 * Two processes (two opens of one store, each with its own table) keep one
 * budget between them: what either puts counts against it, and eviction
 * removes the least recently used chunks whichever process put them.
 */
Test(store, one_budget_for_every_process)
{
	struct mfs_store *a, *b;
	static uint8_t in[10000];
	uint64_t bytes, chunks, damaged, files = 0;
	const uint64_t budget = 10 * (sizeof(in) + 16);
	char cmd[256];
	FILE *p;

	setup();
	fill(in, sizeof(in), 9);
	cr_assert_eq(mfs_store_open(&a, dir, budget, NULL), 0);
	cr_assert_eq(mfs_store_open(&b, dir, budget, NULL), 0);
	for (unsigned int i = 0; i < 8; i++) {
		struct mfs_store_key ka = key_of(100 + i, sizeof(in)), kb = key_of(200 + i, sizeof(in));

		cr_assert_eq(mfs_store_put(a, &ka, in, sizeof(in), NULL), 0);
		cr_assert_eq(mfs_store_put(b, &kb, in, sizeof(in), NULL), 0);
	}
	snprintf(cmd, sizeof(cmd), "find '%s/chunks' -type f | wc -l", dir);
	p = popen(cmd, "r");
	cr_assert(p);
	cr_assert_eq(fscanf(p, "%" SCNu64, &files), 1);
	pclose(p);
	cr_expect_leq(files, 10, "%" PRIu64 " chunk files for a budget of 10", files);
	cr_expect_geq(files, 8, "%" PRIu64 " chunk files: evicted far below the budget", files);
	mfs_store_usage(a, &bytes, &chunks, &damaged);
	cr_expect_leq(bytes, budget, "a counts %" PRIu64 " bytes, over the budget %" PRIu64, bytes,
		      budget);
	cr_expect_eq(bytes, files * (sizeof(in) + 16), "a counts %" PRIu64 " bytes for %" PRIu64
		     " files", bytes, files);
	mfs_store_usage(b, &bytes, &chunks, &damaged);
	cr_expect_eq(bytes, files * (sizeof(in) + 16));
	/* The oldest went first: a's first chunk, whoever evicted it. */
	{
		struct mfs_store_key k0 = key_of(100, sizeof(in));
		uint8_t out[sizeof(in)];

		cr_expect_eq(mfs_store_get(b, &k0, out, sizeof(out)), -ENOENT);
	}
	mfs_store_close(a);
	mfs_store_close(b);
	teardown();
}

/*
 * The three kinds of key never meet: a chunk by digest, the same chunk
 * private to two sources, a plain block of either source. Files named by the
 * keys of before (32 hex digits, xxh3-based) are removed at open.
 */
Test(store, keys_by_kind_and_old_keys_removed)
{
	struct mfs_chunk c = {.checksum = 5, .llen = 100, .plen = 50, .codec = 2};
	uint8_t sha[32] = {1, 2, 3};
	struct mfs_store_key k[6] = {
	    mfs_store_key_digest(sha, 50),
	    mfs_store_key_digest(sha, 51),
	    mfs_store_key_private("http://a/", &c),
	    mfs_store_key_private("http://b/", &c),
	    mfs_store_key_block("http://a/", 0, 50),
	    mfs_store_key_block("http://b/", 0, 50),
	};
	struct mfs_store *s;
	uint64_t bytes, chunks, damaged;
	char old[300];
	int fd;

	for (int i = 0; i < 6; i++)
		for (int j = 0; j < i; j++)
			cr_expect_neq(memcmp(&k[i], &k[j], sizeof(k[i])), 0, "keys %d and %d", i, j);
	setup();
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	mfs_store_close(s);
	snprintf(old, sizeof(old), "%s/chunks/ab/ab0123456789abcdef0123456789abcd", dir);
	fd = open(old, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "MFSCxxxxxxxxxxxxpayload", 23), 23);
	close(fd);
	cr_assert_eq(mfs_store_open(&s, dir, 0, NULL), 0);
	cr_expect_neq(access(old, F_OK), 0, "a file under an old key was kept");
	mfs_store_usage(s, &bytes, &chunks, &damaged);
	cr_expect_eq(chunks, 0);
	mfs_store_close(s);
	teardown();
}
