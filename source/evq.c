// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A queue of events, oldest first: what a source holds between taking events and handing them
 * on (source_int.h): the events its caller refused (deliver.c) and the ring buffer's records
 * the copier moved out during an iterator's walk (src_copy.c). An array with the oldest at
 * head: a push at the end, a pop that moves head; a full array is compacted before it grows.
 * The array is its own mapping (mmap, grown by mremap without a copy, unmapped once emptied
 * if it grew past EVQ_KEEP): a burst queued during a walk at 200 000 sockets reaches tens of
 * MB, which malloc would keep in the heap after it is freed (at 100 000 connections the
 * recorder stayed 30 MB larger for the rest of the run, docs/BENCHMARKS.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "source_int.h"

/* An emptied queue keeps at most this many slots mapped. */
#define EVQ_KEEP 4096
/* Slots of a new array: one page or more. */
#define EVQ_FIRST 64

static size_t bytes_of(size_t slots)
{
	return slots * sizeof(struct tt_event);
}

struct tt_event *tt_evq_slot(struct tt_evq *q)
{
	if (q->n - q->head >= q->max)
		return NULL;
	if (q->n == q->cap && q->head) {
		memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(*q->v));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : EVQ_FIRST;
		void *v;

		if (cap > q->max)
			cap = q->max;
		v = q->v ? mremap(q->v, bytes_of(q->cap), bytes_of(cap), MREMAP_MAYMOVE)
			 : mmap(NULL, bytes_of(cap), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v == MAP_FAILED)
			return NULL;
		q->v = v;
		q->cap = cap;
	}
	return &q->v[q->n++];
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
	if (q->v)
		munmap(q->v, bytes_of(q->cap));
	q->v = NULL;
	q->head = q->n = q->cap = 0;
}
