// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A queue of events, oldest first: what a source holds between taking events and handing them
 * on (source_int.h): the events its caller refused (deliver.c) and the ring buffer's records
 * the copier moved out during an iterator's walk (src_copy.c). An array with the oldest at
 * head: a push at the end, a pop that moves head; a full array is compacted before it grows.
 * The array is its own mapping (tt_mapbuf: grown by mremap without a copy, unmapped once
 * emptied if it grew past EVQ_KEEP): a burst queued during a walk at 200 000 sockets reaches tens
 * of MB, which malloc would keep in the heap after it is freed (at 100 000 connections the recorder
 * stayed 30 MB larger for the rest of the run, docs/BENCHMARKS.md).
 */
#include <errno.h>
#include <string.h>

#include "source_int.h"

/* An emptied queue keeps at most this many slots mapped. */
#define EVQ_KEEP 4096
/* Slots of a new array: one page or more. */
#define EVQ_FIRST 64

struct tt_event *tt_evq_slot(struct tt_evq *q)
{
	struct tt_event *v = q->m.p;

	if (q->n - q->head >= q->max)
		return NULL;
	if (q->n == q->cap && q->head) {
		memmove(v, v + q->head, (q->n - q->head) * sizeof(*v));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		/* one slot more: the mapping doubles (tt_mapbuf); no more than max are used */
		if (tt_mapbuf_reserve(&q->m, (q->cap ? q->cap + 1 : EVQ_FIRST) * sizeof(*v)))
			return NULL;
		v = q->m.p;
		q->cap = q->m.cap / sizeof(*v) < q->max ? q->m.cap / sizeof(*v) : q->max;
	}
	return &v[q->n++];
}

int tt_evq_push(struct tt_evq *q, const struct tt_event *ev)
{
	struct tt_event *e = tt_evq_slot(q);

	if (!e)
		return q->n - q->head >= q->max ? -ENOSPC : -ENOMEM;
	*e = *ev;
	return 0;
}

void tt_evq_pop(struct tt_evq *q)
{
	if (q->head == q->n)
		return;
	if (++q->head < q->n)
		return;
	q->head = q->n = 0;
	if (q->cap > EVQ_KEEP)
		tt_evq_free(q);
}

void tt_evq_free(struct tt_evq *q)
{
	tt_mapbuf_free(&q->m);
	q->head = q->n = q->cap = 0;
}
