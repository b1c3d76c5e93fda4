// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Handing events to a source's caller, for every source (source_int.h). An event the callback
 * refuses (it returned non-zero: a write error, a full table) has left its source already (the
 * ring buffer, a sock_diag pass, the capture's reader): it is kept, with every one made after
 * it, and offered again first at the next call, so that a caller that recovers loses nothing
 * and one that does not can still count what it did not take. Beyond TT_SOURCE_MAX_PENDING
 * they are dropped and counted (stats.dropped), and told to the caller as a LOST event once it
 * has taken the kept ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tt_util.h"
#include "source_int.h"

static void keep(struct tt_source *h, const struct tt_event *ev)
{
	h->pending.max = TT_SOURCE_MAX_PENDING;
	/* beyond the bound (a caller that never takes them again) or without memory: counted */
	if (tt_evq_push(&h->pending, ev))
		h->stats.dropped++;
}

/* Count EV in the stats as taken (d = 1), or take that back (d = -1: unsigned, modulo 2^64). */
static void count(struct tt_source_stat *st, const struct tt_event *ev, uint64_t d)
{
	st->events += d;
	st->conns += ev->kind == TT_EV_CONN_OPEN ? d : 0;
	st->lost += ev->kind == TT_EV_LOST ? d * ev->u.lost.count : 0;
	st->closes_inferred +=
	    ev->kind == TT_EV_CONN_CLOSE && (ev->flags & TT_F_CLOSE_INFERRED) ? d : 0;
}

/*
 * The stats are the one count of what the caller took: a recorder writes them into its files
 * (STATS) and its exit line. An event is counted as it is offered, so that a callback reading
 * them (a file that ends at this event, its STATS written from the callback) counts it too;
 * a refusal takes that back.
 */
static int offer(struct tt_source *h, const struct tt_event *ev)
{
	int ret;

	count(&h->stats, ev, 1);
	ret = h->cb ? h->cb(h->cb_ctx, ev) : 0;
	if (ret) {
		count(&h->stats, ev, (uint64_t)-1);
		return h->cb_ret = ret;
	}
	h->delivered++;
	return 0;
}

int tt_source_emit(struct tt_source *h, const struct tt_event *ev)
{
	struct tt_event e = *ev;

	/* the one place a source's clock becomes wall time (modulo 2^64, as a reader's) */
	e.ts_ns += (uint64_t)h->to_wall;
	/* behind events still waiting, or refused now: kept, in order */
	if (h->cb_ret || tt_evq_len(&h->pending) || offer(h, &e)) {
		keep(h, &e);
		return h->cb_ret;
	}
	return 0;
}

int tt_source_emit_pending(struct tt_source *h)
{
	const struct tt_event *ev;

	if (!tt_evq_len(&h->pending))
		return h->cb_ret; /* the common case */
	while ((ev = tt_evq_peek(&h->pending)) && !offer(h, ev))
		tt_evq_pop(&h->pending);
	/* what could not be kept, after what was: the capture says how many are missing there */
	if (!tt_evq_len(&h->pending) && h->stats.dropped) {
		struct tt_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = tt_source_now(h); /* wall time already */
		ev.kind = TT_EV_LOST;
		ev.u.lost.count = h->stats.dropped;
		ev.u.lost.cpu = TT_LOST_CPU_ANY;
		if (!offer(h, &ev))
			h->stats.dropped = 0;
	}
	return h->cb_ret;
}

uint64_t tt_source_now(const struct tt_source *h)
{
	if (h->ops && h->ops->now)
		return h->ops->now(h);
	return tt_now_boot_ns() + (uint64_t)h->to_wall;
}

void tt_source_emit_begin(struct tt_source *h, tt_source_cb cb, void *ctx)
{
	h->cb = cb;
	h->cb_ctx = ctx;
	h->cb_ret = 0;
	h->delivered = 0;
}

int tt_source_emit_end(const struct tt_source *h, int ret)
{
	if (h->cb_ret)
		return h->cb_ret;
	/* a signal or the capture's end after some events: those first, it again next call */
	if (ret < 0 && !(h->delivered && (ret == -EINTR || ret == -ENODATA)))
		return ret;
	return (int)(h->delivered > INT32_MAX ? INT32_MAX : h->delivered);
}

void tt_source_emit_free(struct tt_source *h)
{
	tt_evq_free(&h->pending);
}
