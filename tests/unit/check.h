/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What every unit test prints: one line per check, "ok   what" or "FAIL what", and the count
 * of failures main() exits on (tests/test_unit.py reads both). Included once per test program.
 */
#ifndef TT_UNIT_CHECK_H
#define TT_UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/*
 * The end of main(): removes SCRATCH (a directory the test made with mkdtemp, and all in it;
 * NULL: none), prints the verdict line and gives main()'s exit status.
 */
static int __attribute__((unused)) check_done(const char *scratch)
{
	char cmd[4200];

	if (scratch) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", scratch);
	}
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}

#endif /* TT_UNIT_CHECK_H */
