// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the sources' queue of events (source/evq.c): oldest first whatever the pushes
 * and pops between them (across the compaction a full array gets before it grows), at most
 * max waiting, and an emptied queue that grew large gives its memory back. One line per check,
 * exit 1 on any failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../source/source_int.h"
#include "check.h"

static struct tt_event ev_n(uint64_t n)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.conn_id = n;
	e.kind = TT_EV_TRAFFIC;
	e.u.traffic.tx_bytes = n * 3;
	return e;
}

/* Pops k events, checking they are next, next+1, ...; returns how many were in order. */
static uint64_t pop_in_order(struct tt_evq *q, uint64_t next, uint64_t k)
{
	uint64_t good = 0;

	for (uint64_t i = 0; i < k; i++) {
		const struct tt_event *e = tt_evq_peek(q);

		if (e && e->conn_id == next + i && e->u.traffic.tx_bytes == (next + i) * 3)
			good++;
		tt_evq_pop(q);
	}
	return good;
}

int main(void)
{
	struct tt_evq q = {.max = 1000};
	struct tt_evq empty = {.max = 4};
	uint64_t pushed = 0, popped = 0, good = 0;
	int ret = 0;

	check(!tt_evq_peek(&empty) && tt_evq_len(&empty) == 0, "an empty queue has nothing");
	tt_evq_pop(&empty);
	check(tt_evq_len(&empty) == 0 && empty.head == 0, "a pop of an empty queue does nothing");

	/* pushes and pops interleaved, so that the array fills with a head > 0 (compaction) */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 37; i++) {
			struct tt_event e = ev_n(pushed);

			ret |= tt_evq_push(&q, &e);
			pushed++;
		}
		good += pop_in_order(&q, popped, 20);
		popped += 20;
	}
	check(ret == 0, "1850 pushes with at most 850 waiting: all taken");
	check(good == popped, "popped oldest first across compactions (%llu of %llu)",
	      (unsigned long long)good, (unsigned long long)popped);
	check(tt_evq_len(&q) == pushed - popped, "the rest waits (%zu)", tt_evq_len(&q));
	check(q.cap <= 1000, "the array never grows past max (%zu)", q.cap);

	/* the bound */
	while (tt_evq_len(&q) < q.max) {
		struct tt_event e = ev_n(pushed++);

		tt_evq_push(&q, &e);
	}
	{
		struct tt_event e = ev_n(pushed);

		check(tt_evq_push(&q, &e) == -ENOSPC && !tt_evq_slot(&q),
		      "at max waiting, a push is refused with ENOSPC and no slot is given");
	}
	good = pop_in_order(&q, popped, tt_evq_len(&q));
	check(good == pushed - popped, "the full queue empties in order (%llu)",
	      (unsigned long long)good);
	check(q.cap == 1000 && q.m.p && q.head == 0 && q.n == 0,
	      "emptied at 1000 slots, fewer than the 4096 kept: kept for the next (cap %zu)",
	      q.cap);
	tt_evq_free(&q);

	/* a queue that grew past the kept size gives it back once empty */
	{
		struct tt_evq big = {.max = 100000};
		int n = 0;

		for (int i = 0; i < 10000; i++) {
			struct tt_event e = ev_n((uint64_t)i);

			n += !tt_evq_push(&big, &e);
		}
		check(n == 10000 && big.cap >= 10000, "10000 pushed (cap %zu)", big.cap);
		good = pop_in_order(&big, 0, 10000);
		check(good == 10000 && big.cap == 0 && !big.m.p,
		      "emptied after growing past 4096 slots: its memory is given back");
		{
			struct tt_event e = ev_n(7);
			struct tt_event *slot;

			check(!tt_evq_push(&big, &e) && tt_evq_peek(&big)->conn_id == 7,
			      "and it takes events again");
			slot = tt_evq_slot(&big);
			check(slot && tt_evq_len(&big) == 2, "a slot is the next event, counted");
		}
		tt_evq_free(&big);
		check(!big.m.p && tt_evq_len(&big) == 0, "free leaves an empty queue");
	}
	return failures ? 1 : 0;
}
