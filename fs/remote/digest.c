/* SPDX-License-Identifier: MIT */
/*
 * digest.c - SHA-256 digests as lists, manifests and the store write them
 * (see digest.h).
 */
#include "digest.h"

#include <openssl/sha.h>
#include <string.h>

bool source_digest_ok(const char *d)
{
	return strlen(d) == 71 && !strncmp(d, "sha256:", 7) &&
	       strspn(d + 7, "0123456789abcdef") == 64;
}

void source_sha256_string(const uint8_t md[32], char out[72])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[71] = 0;
}

void source_sha256(const void *buf, size_t len, char out[72])
{
	uint8_t md[32];

	SHA256(buf, len, md);
	source_sha256_string(md, out);
}
