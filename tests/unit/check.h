/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What every unit test prints: one line per check, "ok   what" or "FAIL what", and the count
 * of failures main() exits on (tests/test_unit.py reads both). Included once per test program.
 */
#ifndef TT_UNIT_CHECK_H
#define TT_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

#endif /* TT_UNIT_CHECK_H */
