/* SPDX-License-Identifier: MIT */
/*
 * crshim - the part of Criterion's API tests/unit uses, for builds where
 * Criterion cannot run: cross builds tested under qemu-user (Criterion's
 * sandbox fails there with "Could not spawn test instance", and its arm64
 * package cannot be installed next to the host's). Each test runs in a
 * forked child, as under Criterion; a failed assertion fails it; main()
 * (crshim.c) runs them all and exits 1 if any failed.
 */
#ifndef CRSHIM_CRITERION_H
#define CRSHIM_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crshim_test {
	const char *suite, *name;
	void (*fn)(void);
	void (*init)(void);
	void (*fini)(void);
	double timeout;
};

void crshim_register(struct crshim_test *t);
void crshim_fail(bool fatal, const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void cr_redirect_stderr(void);
bool crshim_stderr_eq(const char *want);

#define Test(suite, name, ...)                                                                     \
	static void suite##_##name##_fn(void);                                                     \
	static struct crshim_test suite##_##name##_test = {#suite, #name, suite##_##name##_fn,     \
							   __VA_ARGS__};                           \
	__attribute__((constructor)) static void suite##_##name##_reg(void)                        \
	{                                                                                          \
		crshim_register(&suite##_##name##_test);                                           \
	}                                                                                          \
	static void suite##_##name##_fn(void)

#define crshim_check(fatal, cond, expr, ...)                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			crshim_fail(fatal, __FILE__, __LINE__, expr, "" __VA_ARGS__);              \
	} while (0)

#define cr_assert(cond, ...) crshim_check(true, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...) crshim_check(false, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) crshim_check(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_fail(...) crshim_fail(true, __FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) crshim_check(true, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) crshim_check(false, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) crshim_check(false, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) crshim_check(false, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) crshim_check(false, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) crshim_check(true, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) crshim_check(true, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) crshim_check(true, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) crshim_check(true, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) crshim_check(true, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) crshim_check(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) crshim_check(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) crshim_check(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) crshim_check(true, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_stderr_eq_str(s, ...)                                                            \
	crshim_check(true, crshim_stderr_eq(s), "stderr == " #s, __VA_ARGS__)
#define cr_log_info(...) (fprintf(stdout, __VA_ARGS__), fputc('\n', stdout))

#endif
