/* SPDX-License-Identifier: MIT */
/*
 * digest.h - "sha256:<64 hex>", the one form of digest remote sources use:
 * OCI digests, the list's metadata digests, pin=. The lowest floor of
 * fs/remote/: everything there may include it, it includes nothing of it.
 */
#ifndef MFS_DIGEST_H
#define MFS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is @d "sha256:" and 64 lower-case hex digits? */
bool source_digest_ok(const char *d);
/* "sha256:<hex>" of @len bytes at @buf, or of the 32-byte SHA-256 @md. */
void source_sha256(const void *buf, size_t len, char out[72]);
void source_sha256_string(const uint8_t md[32], char out[72]);

#endif
