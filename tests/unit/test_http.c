/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - what the HTTP client of remote sources decides without a
 * network (fs/remote/http.h): which hosts are this machine, where plain
 * http is allowed. Decided on numeric addresses and the name "localhost",
 * never on a prefix of a name.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "http.h"

static bool lo(const char *h)
{
	return mfs_http_is_loopback(h, strlen(h));
}

Test(http, loopback_by_address)
{
	static const char *const yes[] = {
	    "localhost", "LOCALHOST", "localhost:5000", "127.0.0.1", "127.0.0.1:8080",
	    "127.255.3.4", "[::1]", "[::1]:5000", "::1", "[::ffff:127.0.0.1]:80",
	};
	static const char *const no[] = {
	    "127.attacker.example", "127.0.0.1.nip.io", "127.0.0.1.nip.io:80",
	    "localhost.attacker.example", "localhostx", "128.0.0.1", "126.255.255.255",
	    "10.0.0.1", "[::2]", "[::1", "[::1]x", "::ffff:10.0.0.1", "", "127.1",
	    "0x7f.0.0.1", "127.0.0.1:80:80",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		cr_expect(lo(yes[i]), "%s is this machine", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		cr_expect(!lo(no[i]), "%s is not this machine", no[i]);
	/* only the length given counts */
	cr_expect(lo("127.0.0.1/models") == false);
	cr_expect(mfs_http_is_loopback("127.0.0.1/models", 9));
}

/* Refused before any connection: no server needed, and none is reached. */
Test(http, plain_http_refused_beyond_loopback)
{
	static const char *const urls[] = {
	    "http://127.attacker.example/m.gguf.mfs", "http://127.0.0.1.nip.io/x",
	    "http://localhost.attacker.example:81/x", "http://192.0.2.1/x",
	};
	struct mfs_http_conf conf = {.attempts = 1, .deadline_ms = 2000};
	struct mfs_http *h = mfs_http_new(&conf);
	char buf[4];

	cr_assert(h);
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
		struct mfs_err err = {{0}};
		int r = mfs_http_range(h, urls[i], 0, sizeof(buf), buf, NULL, &err);

		cr_expect_eq(r, -EPERM, "%s: %d", urls[i], r);
		cr_expect(strstr(err.msg, "plain http"), "%s: %s", urls[i], err.msg);
	}
	mfs_http_free(h);
}
