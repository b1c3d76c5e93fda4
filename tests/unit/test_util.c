// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the command-line value parsers and helpers (common/util.c). One line per
 * check, exit 1 on any failure. Oracle: the values written out by hand.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_util.h"
#include "check.h"

static void u64_is(const char *s, uint64_t min, uint64_t max, int want_ret, uint64_t want)
{
	uint64_t v = 12345;
	int ret = tt_parse_u64(s, min, max, &v);

	if (want_ret)
		check(ret == want_ret, "u64 '%s' in [%llu, %llu] is refused (%d, got %d)", s,
		      (unsigned long long)min, (unsigned long long)max, want_ret, ret);
	else
		check(ret == 0 && v == want, "u64 '%s' is %llu (got %d, %llu)", s,
		      (unsigned long long)want, ret, (unsigned long long)v);
}

static void dur_is(const char *s, int ok, uint64_t want)
{
	uint64_t v = 12345;
	int ret = tt_parse_duration_ns(s, &v);

	if (!ok)
		check(ret < 0, "duration '%s' is refused (got %d, %llu)", s, ret,
		      (unsigned long long)v);
	else
		check(ret == 0 && v == want, "duration '%s' is %llu ns (got %d, %llu)", s,
		      (unsigned long long)want, ret, (unsigned long long)v);
}

static void dbl_is(const char *s, int ok, double want)
{
	double v = -1;
	int ret = tt_parse_double(s, 0.1, 10000, &v);

	if (!ok)
		check(ret < 0, "number '%s' is refused (got %d, %g)", s, ret, v);
	else
		check(ret == 0 && v == want, "number '%s' is %g (got %d, %g)", s, want, ret, v);
}

/* the capture of the examples starts 2026-11-25T23:05:00Z (calendar.timegm in Python) */
#define START_S 1795647900ull
#define DAY_S 1795564800ull /* 2026-11-25T00:00:00Z */
#define SEC 1000000000ull

static void time_is(const char *s, int ok, uint64_t want)
{
	uint64_t v = 12345;
	int ret = tt_parse_time(s, START_S * SEC + 250000000ull, &v);

	if (!ok)
		check(ret < 0, "time '%s' is refused (got %d, %llu)", s, ret,
		      (unsigned long long)v);
	else
		check(ret == 0 && v == want, "time '%s' is %llu ns (got %d, %llu)", s,
		      (unsigned long long)want, ret, (unsigned long long)v);
}

/* The three UTC spellings of one instant: the view's, the text dump's and JSON's. */
static void test_utc_strings(void)
{
	uint64_t ns = 1764067200123456789ull; /* 2025-11-25 10:40:00.123456789 UTC */
	char b[64];

	tt_wall_str(ns, b, sizeof(b));
	check(!strcmp(b, "2025-11-25 10:40:00.123 UTC"), "tt_wall_str: %s", b);
	tt_wall_us_str(ns, b, sizeof(b));
	check(!strcmp(b, "2025-11-25 10:40:00.123456Z"), "tt_wall_us_str: %s", b);
	tt_iso_str(ns, b, sizeof(b));
	check(!strcmp(b, "2025-11-25T10:40:00.123456789Z"), "tt_iso_str: %s", b);
	tt_iso_str(1764067200000000007ull, b, sizeof(b));
	check(!strcmp(b, "2025-11-25T10:40:00.000000007Z"), "tt_iso_str, leading zeros: %s", b);
}

/* The thread's CPU clock: it moves while the thread computes, and not faster than the wall. */
static void test_thread_cpu(void)
{
	uint64_t c0 = tt_now_thread_cpu_ns(), m0 = tt_now_mono_ns(), c1, m1;
	volatile uint64_t x = 0;

	do
		x += 1;
	while (tt_now_mono_ns() - m0 < 20000000);
	c1 = tt_now_thread_cpu_ns();
	m1 = tt_now_mono_ns();
	check(c1 > c0 && c1 - c0 <= m1 - m0 + 1000000,
	      "thread CPU: %llu ns over %llu ns of a busy loop", (unsigned long long)(c1 - c0),
	      (unsigned long long)(m1 - m0));
}

/*
 * tt_grow: appending one at a time keeps every element and doubles from FIRST; a need past
 * the current capacity jumps to the first power of two times FIRST that holds it; a size
 * that would overflow is refused with the array as it was.
 */
static void test_grow(void)
{
	struct pair {
		uint32_t a, b;
	} *v = NULL;
	size_t n = 0, cap = 0, grows = 0, last = 0;
	int ok = 1;

	for (uint32_t i = 0; i < 1000; i++) {
		if (tt_grow(&v, &cap, n + 1, sizeof(*v), 16) != 0) {
			ok = 0;
			break;
		}
		grows += cap != last;
		last = cap;
		v[n++] = (struct pair){i, ~i};
	}
	check(ok && cap == 1024 && grows == 7, "1000 appends from 16: cap %zu after %zu growths",
	      cap, grows);
	for (size_t i = 0; i < n; i++)
		ok &= v[i].a == i && v[i].b == ~(uint32_t)i;
	check(ok, "every appended element kept across 7 reallocs");
	check(tt_grow(&v, &cap, 1000, sizeof(*v), 16) == 0 && cap == 1024,
	      "no growth when it fits");
	ok = tt_grow(&v, &cap, 5000, sizeof(*v), 16) == 0;
	check(ok && cap == 8192, "need 5000: cap %zu", cap);
	check(tt_grow(&v, &cap, SIZE_MAX / 4, sizeof(*v), 16) == -ENOMEM && cap == 8192 &&
		  v[999].a == 999,
	      "a size past SIZE_MAX: -ENOMEM, the array kept");
	check(tt_grow(&v, &cap, SIZE_MAX, 1, 16) == -ENOMEM && cap == 8192,
	      "a doubling past SIZE_MAX: -ENOMEM");
	free(v);

	char *s = NULL;
	size_t scap = 0;
	check(tt_grow(&s, &scap, 1, 1, 0) == 0 && scap == 1 && s, "FIRST 0 starts at 1");
	free(s);
}

int main(void)
{
	test_utc_strings();
	test_thread_cpu();
	test_grow();
	/* ports and pids: decimal, whatever the leading zeros */
	u64_is("443", 1, 65535, 0, 443);
	u64_is("0443", 1, 65535, 0, 443);
	u64_is("010", 1, 0x7fffffff, 0, 10);
	u64_is("080", 1, 65535, 0, 80);
	u64_is("00000000000000000000000001", 1, 65535, 0, 1);
	u64_is("0x1bb", 1, 65535, -EINVAL, 0);
	u64_is("0X10", 1, 65535, -EINVAL, 0);
	u64_is("1e3", 1, 65535, -EINVAL, 0);
	u64_is("", 1, 65535, -EINVAL, 0);
	u64_is(" 1", 1, 65535, -EINVAL, 0);
	u64_is("1 ", 1, 65535, -EINVAL, 0);
	u64_is("+1", 1, 65535, -EINVAL, 0);
	u64_is("-1", 1, 65535, -EINVAL, 0);
	u64_is("12abc", 1, 65535, -EINVAL, 0);
	u64_is("0", 1, 65535, -ERANGE, 0);
	u64_is("65536", 1, 65535, -ERANGE, 0);
	u64_is("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX);
	u64_is("18446744073709551616", 0, UINT64_MAX, -ERANGE, 0);
	check(tt_parse_u64(NULL, 0, 1, &(uint64_t){0}) == -EINVAL, "u64 NULL is refused");

	/* durations keep their units; the number is decimal */
	dur_is("10", 1, 10000000000ull);
	dur_is("010", 1, 10000000000ull);
	dur_is("1.5s", 1, 1500000000ull);
	dur_is("250ms", 1, 250000000ull);
	dur_is("0250ms", 1, 250000000ull);
	dur_is(".5s", 1, 500000000ull);
	dur_is("2m", 1, 120000000000ull);
	dur_is("2min", 1, 120000000000ull);
	dur_is("1h", 1, 3600000000000ull);
	dur_is("500us", 1, 500000ull);
	dur_is("7ns", 1, 7ull);
	dur_is("0x10", 0, 0);
	dur_is("0x10s", 0, 0);
	dur_is("1e3", 0, 0);
	dur_is("1e3ms", 0, 0);
	dur_is("inf", 0, 0);
	dur_is("nan", 0, 0);
	dur_is("-1", 0, 0);
	dur_is("", 0, 0);
	dur_is(".", 0, 0);
	dur_is("s", 0, 0);
	dur_is("1.2.3s", 0, 0);
	dur_is("10 s", 0, 0);
	dur_is("5x", 0, 0);

	/* --speed */
	dbl_is("2", 1, 2);
	dbl_is("0.5", 1, 0.5);
	dbl_is("02.50", 1, 2.5);
	dbl_is("0x10", 0, 0);
	dbl_is("1e2", 0, 0);
	dbl_is("infinity", 0, 0);
	dbl_is("-1", 0, 0);
	dbl_is("20000", 0, 0);

	/* --from/--to: offsets, epoch ns, ISO 8601 with or without a zone, clock times */
	time_is("+30s", 1, START_S * SEC + 250000000ull + 30 * SEC);
	time_is("90", 1, START_S * SEC + 250000000ull + 90 * SEC);
	time_is("1795648019123456789", 1, 1795648019123456789ull); /* tcptop-query's ts */
	time_is("1795648019", 0, 0); /* epoch seconds: as an offset, 57 years; refused */
	time_is("2026-11-25T23:06:59Z", 1, (START_S + 119) * SEC);
	time_is("2026-11-25T23:06:59.5", 1, (START_S + 119) * SEC + 500000000ull);
	time_is("2026-11-25 23:06:59Z", 1, (START_S + 119) * SEC);
	time_is("2026-11-25T23:06", 1, (START_S + 60) * SEC);
	time_is("2026-11-26T08:06:59+09:00", 1, (START_S + 119) * SEC);
	time_is("2026-11-26T08:06:59.25+0900", 1, (START_S + 119) * SEC + 250000000ull);
	time_is("2026-11-25T18:06:59-05", 1, (START_S + 119) * SEC);
	time_is("2026-11-25T18:06:59-05:30", 1, (START_S + 119 + 1800) * SEC);
	time_is("23:05", 1, START_S * SEC);
	time_is("23:05:19Z", 1, (START_S + 19) * SEC);
	time_is("23:05:19", 1, (START_S + 19) * SEC);
	time_is("00:10", 1, DAY_S * SEC + 600 * SEC);
	/* 08:05 in Tokyo on the start's day there (the 26th): 23:05 UTC on the 25th */
	time_is("08:05+09:00", 1, START_S * SEC);
	time_is("18:05-05:00", 1, START_S * SEC);
	time_is("24:00", 0, 0);
	time_is("23:60", 0, 0);
	time_is("23:05:19+25:00", 0, 0);
	time_is("23:05:19+9", 0, 0);
	time_is("23:05:19 UTC", 0, 0);
	time_is("23:05:+5", 0, 0);
	time_is("2026-13-01T00:00", 0, 0);
	time_is("2026-11-25T", 0, 0);
	time_is("", 0, 0);

	/* the boot -> wall offset: an event stamped now in the boot clock reads as now */
	int64_t off = tt_boot_to_wall_ns(), off2 = tt_boot_to_wall_ns();
	struct timespec b, w;

	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &w);
	int64_t direct = ((int64_t)w.tv_sec - b.tv_sec) * 1000000000ll + (w.tv_nsec - b.tv_nsec);
	check(llabs(direct - off) < 1000000, "boot->wall offset %lld is the clocks' (%lld)",
	      (long long)off, (long long)direct);
	check(llabs(off2 - off) < 1000000, "boot->wall offset is stable (%lld, %lld)",
	      (long long)off, (long long)off2);
	return failures ? 1 : 0;
}
