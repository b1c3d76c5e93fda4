// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the shared LEB128 varints and zigzag (include/tt_varint.h), which the capture
 * format and tcptop-query's grouped rows both use. One line per check, exit 1 on any failure.
 *
 * Oracle: the encoding written out by hand (LEB128: 7 bits a byte, low first, high bit set on
 * all but the last), and round trips of every power of two, its neighbours and random values
 * through the bounded reader (fast and slow path) and the padded one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "tt_varint.h"

/* libtt-core's slow path is linked in; nothing else of format/ is needed */

static int round_trip(uint64_t v)
{
	uint8_t buf[32], *e;
	const uint8_t *p;
	uint64_t got = ~v;
	size_t n;

	memset(buf, 0xee, sizeof(buf));
	e = tt_put_varint(buf, v);
	n = (size_t)(e - buf);
	/* fast path: room for 10 bytes after p */
	p = buf;
	if (tt_get_varint(&p, buf + sizeof(buf), &got) || got != v || p != e)
		return 0;
	/* slow path: the input ends right after the varint */
	p = buf;
	got = ~v;
	if (tt_get_varint(&p, e, &got) || got != v || p != e)
		return 0;
	/* ... or one byte inside it */
	p = buf;
	if (tt_get_varint(&p, e - 1, &got) != -1 || p != buf)
		return 0;
	p = buf;
	got = ~v;
	if (tt_get_varint_pad(&p, e, &got) || got != v || p != e)
		return 0;
	return n == (v ? (size_t)(64 - __builtin_clzll(v) + 6) / 7 : 1);
}

int main(int argc, char **argv)
{
	static const struct {
		uint64_t v;
		uint8_t bytes[10];
		size_t n;
	} known[] = {
	    {0, {0}, 1},
	    {1, {1}, 1},
	    {127, {0x7f}, 1},
	    {128, {0x80, 0x01}, 2},
	    {300, {0xac, 0x02}, 2},
	    {16384, {0x80, 0x80, 0x01}, 3},
	    {UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
	};
	uint8_t buf[16], *e;
	const uint8_t *p;
	uint64_t s = 88172645463325252ull, v;
	int ok = 1;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		e = tt_put_varint(buf, known[i].v);
		check((size_t)(e - buf) == known[i].n && !memcmp(buf, known[i].bytes, known[i].n),
		      "varint of %llu is its %zu LEB128 bytes", (unsigned long long)known[i].v,
		      known[i].n);
	}
	for (int b = 0; b < 64; b++)
		for (int d = -1; d <= 1; d++)
			ok &= round_trip(((uint64_t)1 << b) + (uint64_t)(int64_t)d);
	for (int i = 0; i < 100000; i++) {
		s ^= s << 13; /* xorshift64 */
		s ^= s >> 7;
		s ^= s << 17;
		ok &= round_trip(s >> (s & 63));
	}
	check(ok, "round trips: 2^b - 1, 2^b, 2^b + 1 and 100000 random values, both readers");
	memset(buf, 0x80, sizeof(buf));
	buf[10] = 1;
	p = buf;
	check(tt_get_varint(&p, buf + sizeof(buf), &v) == -1 && p == buf,
	      "an 11-byte varint is refused");
	p = buf;
	check(tt_get_varint(&p, buf, &v) == -1 && tt_get_varint_pad(&p, buf, &v) == -1,
	      "empty input is refused by both readers");
	check(tt_zigzag(0) == 0 && tt_zigzag(-1) == 1 && tt_zigzag(1) == 2 &&
		  tt_zigzag(INT64_MIN) == UINT64_MAX && tt_zigzag(INT64_MAX) == UINT64_MAX - 1,
	      "zigzag maps 0, -1, 1, ... to 0, 1, 2, ...");
	ok = 1;
	for (int64_t x = -100000; x <= 100000; x += 7)
		ok &= tt_unzigzag(tt_zigzag(x)) == x;
	ok &= tt_unzigzag(tt_zigzag(INT64_MIN)) == INT64_MIN;
	check(ok, "unzigzag undoes zigzag");
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures != 0;
}
