// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Each connection's staged calls in their numbered order (stage_order.h). A connection's next
 * number is kept from its first staged call to its close; an event that comes early waits in a
 * flat array, which is short (a thread's move between CPUs leaves at most a stage, 16 calls,
 * behind) and scanned only for a connection that has some waiting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stage_order.h"
#include "tt_u64map.h"
#include "tt_util.h"

struct conn {
	uint32_t next;	  /* the number expected next */
	uint32_t waiting; /* its events in wait */
};

struct early {
	uint32_t seq;
	struct tt_event ev;
};

struct tt_stage_order {
	struct tt_u64map conns; /* conn_id -> struct conn */
	struct early *wait;
	size_t n_wait, cap_wait;
};

int tt_stage_order_new(struct tt_stage_order **out)
{
	struct tt_stage_order *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o || tt_u64map_init(&o->conns, sizeof(struct conn), 64)) {
		free(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

void tt_stage_order_free(struct tt_stage_order *o)
{
	if (!o)
		return;
	tt_u64map_free(&o->conns);
	free(o->wait);
	free(o);
}

/* Numbers compare modulo 2^32: a connection may make more calls than that. */
static int before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Emit what waits of connection id from c->next on, while it follows without a gap. */
static void release(struct tt_stage_order *o, uint64_t id, struct conn *c, tt_stage_emit_fn emit,
		    void *ctx)
{
	size_t i = 0;

	while (c->waiting && i < o->n_wait) {
		struct early *e = &o->wait[i];

		if (e->ev.conn_id != id || e->seq != c->next) {
			i++;
			continue;
		}
		emit(ctx, &e->ev);
		c->next++;
		c->waiting--;
		/* the last one fills its place; the scan starts over for the next number */
		*e = o->wait[--o->n_wait];
		i = 0;
	}
}

void tt_stage_order_offer(struct tt_stage_order *o, const struct tt_event *ev, uint32_t seq,
			  tt_stage_emit_fn emit, void *ctx)
{
	struct conn *c;

	if (tt_u64map_put(&o->conns, ev->conn_id, (void **)&c) < 0) {
		emit(ctx, ev);
		return;
	}
	if (before(c->next, seq)) {
		if (!tt_grow(&o->wait, &o->cap_wait, o->n_wait + 1, sizeof(*o->wait), 16)) {
			o->wait[o->n_wait].seq = seq;
			o->wait[o->n_wait++].ev = *ev;
			c->waiting++;
			return;
		}
		emit(ctx, ev); /* no memory to wait: now, out of order */
		return;
	}
	emit(ctx, ev);
	/* one of a number already passed (its place was given up at a settle) moves nothing on */
	if (seq == c->next) {
		c->next++;
		release(o, ev->conn_id, c, emit, ctx);
	}
}

static int by_conn_seq(const void *a, const void *b)
{
	const struct early *x = a, *y = b;

	if (x->ev.conn_id != y->ev.conn_id)
		return x->ev.conn_id < y->ev.conn_id ? -1 : 1;
	return before(x->seq, y->seq) ? -1 : x->seq != y->seq;
}

void tt_stage_order_settle(struct tt_stage_order *o, tt_stage_emit_fn emit, void *ctx)
{
	if (!o->n_wait)
		return;
	/* the numbers still missing were lost: each connection's waiting ones go in order */
	qsort(o->wait, o->n_wait, sizeof(*o->wait), by_conn_seq);
	for (size_t i = 0; i < o->n_wait; i++) {
		struct conn *c = tt_u64map_get(&o->conns, o->wait[i].ev.conn_id);

		emit(ctx, &o->wait[i].ev);
		if (c) {
			c->next = o->wait[i].seq + 1;
			c->waiting = 0;
		}
	}
	o->n_wait = 0;
}

void tt_stage_order_forget(struct tt_stage_order *o, uint64_t conn_id)
{
	struct conn *c = tt_u64map_get(&o->conns, conn_id);

	/* one with events waiting keeps its place until they go */
	if (c && !c->waiting)
		tt_u64map_del(&o->conns, conn_id);
}

size_t tt_stage_order_waiting(const struct tt_stage_order *o)
{
	return o->n_wait;
}
