// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the flight recorder ring (record/flight.c). One line per
 * check, exit 1 on any failure.
 *
 * Oracle: the ring must hold a contiguous suffix of what was pushed, in push
 * order, byte for byte, within its window and its memory; every event pushed
 * is checked against a copy kept here, so a walk past the end of the buffer
 * (which reads bytes never written) shows as a wrong event even without ASan.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../record/flight.h"
#include "check.h"

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* An event of kind with every byte of its record size set from seq, the rest zero. */
static struct tt_event make(uint16_t kind, uint64_t ts, uint64_t seq)
{
	struct tt_event e;
	unsigned char *p = (unsigned char *)&e;

	memset(&e, 0, sizeof(e));
	for (size_t i = TT_EVENT_HDR_SIZE; i < tt_event_size(kind); i++)
		p[i] = (unsigned char)(seq * 31 + i);
	e.ts_ns = ts;
	e.conn_id = seq + 1;
	e.pid = (uint32_t)seq;
	e.kind = kind;
	return e;
}

struct seen {
	struct tt_event *ev;
	size_t n, cap;
};

static int collect(void *ctx, const struct tt_event *ev)
{
	struct seen *s = ctx;

	if (s->n == s->cap)
		return 1; /* more than was ever pushed: a walk gone wrong */
	s->ev[s->n++] = *ev;
	return 0;
}

static size_t rec_bytes(uint16_t kind)
{
	return (tt_event_size(kind) + 7) & ~(size_t)7;
}

/*
 * What the ring holds must be pushed[first..n-1] for some first: returns first, or -1 with
 * *why set when it is not.
 */
static long suffix_of(const struct tt_rec_flight *f, const struct tt_event *pushed, size_t n,
		      const char **why)
{
	struct seen s = {calloc(n + 1, sizeof(struct tt_event)), 0, n + 1};
	long first = -1;
	int ret;

	*why = "";
	ret = tt_rec_flight_foreach(f, collect, &s);
	if (ret) {
		*why = "walked more records than were pushed";
		goto out;
	}
	if (s.n > n) {
		*why = "more records than pushed";
		goto out;
	}
	first = (long)(n - s.n);
	for (size_t i = 0; i < s.n; i++) {
		if (memcmp(&s.ev[i], &pushed[first + i], sizeof(struct tt_event))) {
			*why = "a record differs from what was pushed";
			first = -1;
			goto out;
		}
	}
	if (s.n && tt_rec_flight_oldest(f) != s.ev[0].ts_ns) {
		*why = "oldest() is not the first record's time";
		first = -1;
	}
out:
	free(s.ev);
	return first;
}

/* The case: 272 bytes, five 64-byte records; the fifth ends exactly at head. */
static void t_wrap_to_head(void)
{
	struct tt_rec_flight *f;
	struct tt_event pushed[25];
	const char *why;
	long first;

	check(rec_bytes(TT_EV_TRAFFIC) == 64, "a TRAFFIC record takes 64 bytes");
	check(tt_rec_flight_new(&f, 1000000000000ull, 272) == 0, "new 272-byte ring");
	for (int i = 0; i < 5; i++) {
		pushed[i] = make(TT_EV_TRAFFIC, 1000 + i, i);
		tt_rec_flight_push(f, &pushed[i]);
	}
	first = suffix_of(f, pushed, 5, &why);
	check(first == 1, "wrap ending at head: holds pushes 1..4 (got first=%ld) %s", first, why);
	check(tt_rec_flight_dropped(f) == 1, "one dropped for memory (got %llu)",
	      (unsigned long long)tt_rec_flight_dropped(f));
	/* and on from there: every later push must still walk right */
	for (int i = 5; i < 25; i++) {
		pushed[i] = make(TT_EV_TRAFFIC, 1000 + i, i);
		tt_rec_flight_push(f, &pushed[i]);
		first = suffix_of(f, pushed, i + 1, &why);
		if (first < 0 || i + 1 - first != 4)
			break;
	}
	check(first == 21, "20 more pushes: always the newest 4 (got first=%ld) %s", first, why);
	tt_rec_flight_free(f);
}

/* A full ring whose size is a multiple of the record size (the 256 MiB default is). */
static void t_exact_multiple(void)
{
	struct tt_rec_flight *f;
	struct tt_event pushed[40];
	const char *why = "";
	long first = 0;
	int i;

	tt_rec_flight_new(&f, 1000000000000ull, 8 * 64);
	for (i = 0; i < 40; i++) {
		pushed[i] = make(TT_EV_TRAFFIC, 5000 + i, i);
		tt_rec_flight_push(f, &pushed[i]);
		first = suffix_of(f, pushed, i + 1, &why);
		if (first != (i < 8 ? 0 : i + 1 - 8))
			break;
	}
	check(i == 40,
	      "512-byte ring of 64-byte records: the newest 8 after every push "
	      "(stopped at push %d, first=%ld) %s",
	      i, first, why);
	tt_rec_flight_free(f);
}

static void t_window(void)
{
	struct tt_rec_flight *f;
	struct tt_event pushed[100];
	const char *why;
	long first;

	tt_rec_flight_new(&f, 10, 1 << 16);
	check(tt_rec_flight_oldest(f) == 0, "empty: oldest is 0");
	for (int i = 0; i < 100; i++) {
		pushed[i] = make(i % 3 ? TT_EV_TRAFFIC : TT_EV_CONN_OPEN, 100 + i, i);
		tt_rec_flight_push(f, &pushed[i]);
	}
	first = suffix_of(f, pushed, 100, &why);
	/* the newest is at 199: events at 189 .. 199 are within 10 ns of it */
	check(first == 89, "window of 10 ns keeps times 189..199 (got first=%ld) %s", first, why);
	check(tt_rec_flight_dropped(f) == 0, "nothing dropped for memory");
	tt_rec_flight_free(f);
}

static int stop_after_two(void *ctx, const struct tt_event *ev)
{
	int *n = ctx;

	(void)ev;
	return ++*n == 2 ? 7 : 0;
}

static void t_foreach_stops(void)
{
	struct tt_rec_flight *f;
	struct tt_event e;
	int n = 0;

	tt_rec_flight_new(&f, 1000, 4096);
	for (int i = 0; i < 5; i++) {
		e = make(TT_EV_RTT, 10 + i, i);
		tt_rec_flight_push(f, &e);
	}
	check(tt_rec_flight_foreach(f, stop_after_two, &n) == 7 && n == 2,
	      "foreach stops on a non-zero return and returns it");
	tt_rec_flight_free(f);
}

/* A record bigger than the whole ring is not kept, and breaks nothing. */
static void t_too_big(void)
{
	struct tt_rec_flight *f;
	struct tt_event pushed[2];
	const char *why;
	long first;

	tt_rec_flight_new(&f, 1000, 64);
	pushed[0] = make(TT_EV_CONN_OPEN, 1, 0);
	tt_rec_flight_push(f, &pushed[0]);
	first = suffix_of(f, pushed, 1, &why);
	check(first == 1, "an OPEN (%zu bytes) is not kept in a 64-byte ring (first=%ld) %s",
	      rec_bytes(TT_EV_CONN_OPEN), first, why);
	pushed[1] = make(TT_EV_TRAFFIC, 2, 1);
	tt_rec_flight_push(f, &pushed[1]);
	first = suffix_of(f, pushed, 2, &why);
	check(first == 1, "a TRAFFIC fits after it (first=%ld) %s", first, why);
	tt_rec_flight_free(f);
}

/* What the ring forgot, checked against the pushes: they must be forgotten oldest first. */
struct forgot {
	const struct tt_event *pushed;
	size_t n;
	int wrong;
};

static void on_forget(void *ctx, const struct tt_event *ev)
{
	struct forgot *fg = ctx;

	if (memcmp(ev, &fg->pushed[fg->n++], sizeof(*ev)))
		fg->wrong = 1;
}

/*
 * Random kinds (records of 40 to 104 bytes), random time steps, many ring sizes: after every
 * push the ring holds a suffix of the pushes that ends with the newest, lies within the window
 * and within memory, and goes back as far as memory allows; the events it forgot (handed to the
 * forget callback) are exactly the pushes before that suffix, in order.
 */
static void t_random(void)
{
	static const uint16_t kinds[] = {TT_EV_CONN_OPEN,  TT_EV_TRAFFIC,   TT_EV_STATE, TT_EV_RTT,
					 TT_EV_CONN_CLOSE, TT_EV_CONN_PROC, TT_EV_LOST};
	const size_t n = 3000;
	struct tt_event *pushed = calloc(n, sizeof(*pushed));
	uint64_t s = 42;
	int bad = 0, runs = 0;
	const char *why = "";

	for (size_t cap = 104; cap < 1400 && !bad; cap += 8 * (1 + cap / 200)) {
		for (int w = 0; w < 2 && !bad; w++) {
			uint64_t window = w ? 50 : 1000000000, ts = 1000;
			struct tt_rec_flight *f;
			struct forgot fg = {pushed, 0, 0};

			tt_rec_flight_new(&f, window, cap);
			tt_rec_flight_on_forget(f, on_forget, &fg);
			runs++;
			for (size_t i = 0; i < n; i++) {
				uint16_t k = kinds[rnd(&s) % (sizeof(kinds) / sizeof(kinds[0]))];
				long first;
				size_t bytes = 0;

				ts += rnd(&s) % 7;
				pushed[i] = make(k, ts, i);
				tt_rec_flight_push(f, &pushed[i]);
				first = suffix_of(f, pushed, i + 1, &why);
				if (first < 0) {
					bad = 1;
				} else {
					for (size_t j = (size_t)first; j <= i; j++)
						bytes += rec_bytes(pushed[j].kind);
					if (first > (long)i)
						why = "the newest is not held", bad = 1;
					else if (fg.wrong || fg.n != (size_t)first)
						why = "forgot other events than those it no "
						      "longer holds",
						bad = 1;
					else if (bytes > cap)
						why = "holds more bytes than the ring has", bad = 1;
					else if (ts > window && pushed[first].ts_ns < ts - window)
						why = "holds an event older than the window",
						bad = 1;
					/*
					 * A record is forgotten for memory only when less than two
					 * of the biggest records' room is free (one to place, one
					 * lost at the end of the buffer to a record that did not
					 * fit there).
					 */
					else if (first > 0 &&
						 bytes + rec_bytes(pushed[first - 1].kind) +
							 2 * 104 <=
						     cap &&
						 !(ts > window &&
						   pushed[first - 1].ts_ns < ts - window))
						why = "forgot an event that fit and was in the "
						      "window",
						bad = 1;
				}
				if (bad) {
					check(0, "random: cap %zu window %llu push %zu: %s", cap,
					      (unsigned long long)window, i, why);
					break;
				}
			}
			tt_rec_flight_free(f);
		}
	}
	if (!bad)
		check(1,
		      "random pushes into %d rings of 104..1400 bytes: always a suffix, in "
		      "window and memory, the rest forgotten in order",
		      runs);
	free(pushed);
}

int main(void)
{
	t_wrap_to_head();
	t_exact_multiple();
	t_window();
	t_foreach_stops();
	t_too_big();
	t_random();
	return failures ? 1 : 0;
}
