// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A queue of events, oldest first: what a source holds between taking events and handing them
 * on (source_int.h): the events its caller refused (deliver.c) and the ring buffer's records
 * the copier moved out during an iterator's walk (src_copy.c). An array with the oldest at
 * head: a push at the end, a pop that moves head; a full array is compacted before it grows,
 * and an emptied one that grew large is given back, so a burst does not stay resident.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "source_int.h"

/* An emptied queue keeps at most this many slots allocated. */
#define EVQ_KEEP 4096

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
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct tt_event *v;

		if (cap > q->max)
			cap = q->max;
		v = realloc(q->v, cap * sizeof(*v));
		if (!v)
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
	if (q->cap > EVQ_KEEP) {
		free(q->v);
		q->v = NULL;
		q->cap = 0;
	}
}

void tt_evq_free(struct tt_evq *q)
{
	free(q->v);
	q->v = NULL;
	q->head = q->n = q->cap = 0;
}
