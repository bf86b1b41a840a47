/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what every fuzz target in tests/fuzz/ provides.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput() and nothing else global.
 * It is linked twice: with libFuzzer (clang -fsanitize=fuzzer, tests/fuzz/run.sh)
 * to search for crashes, and with replay.c (any compiler, under `meson test`) to
 * run the seed corpus and every crash ever found on each CI run. A target must
 * not abort on bad input: it exercises the code, and the sanitizers and the
 * target's own checks (a decoded chunk must match its checksum, a parsed header
 * must describe offsets inside the input) turn bugs into crashes.
 */
#ifndef MFS_FUZZ_H
#define MFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: report and crash, so both drivers flag the input. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
