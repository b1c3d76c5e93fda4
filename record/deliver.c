// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Handing events to the live source's caller. An event the callback refuses (it returned
 * non-zero: a write error, a full table) has left the ring buffer already: it is kept, with
 * every one made after it, and offered again first at the next poll, so that a caller that
 * recovers loses nothing and one that does not can still count what it did not take. Beyond
 * TT_SRC_MAX_PENDING they are dropped and counted (stats.dropped), and told to the caller as a
 * LOST event once it has taken the kept ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tt_util.h"
#include "src_int.h"

static int keep(struct tt_src *s, const struct tt_event *ev)
{
	if (s->n_pending == s->cap_pending) {
		size_t ncap = s->cap_pending ? s->cap_pending * 2 : 64;
		struct tt_event *n;

		if (ncap > TT_SRC_MAX_PENDING) {
			s->stats.dropped++; /* a caller that never takes them again: bounded */
			return 0;
		}
		n = realloc(s->pending, ncap * sizeof(*n));
		if (!n) {
			s->stats.dropped++;
			return 0;
		}
		s->pending = n;
		s->cap_pending = ncap;
	}
	s->pending[s->n_pending++] = *ev;
	return 0;
}

static int offer(struct tt_src *s, const struct tt_event *ev)
{
	int ret = s->cb ? s->cb(s->cb_ctx, ev) : 0;

	if (ret)
		return s->cb_ret = ret;
	s->stats.events++;
	s->delivered++;
	if (ev->kind == TT_EV_CONN_OPEN)
		s->stats.conns++;
	else if (ev->kind == TT_EV_LOST)
		s->stats.lost += ev->u.lost.count;
	return 0;
}

int tt_src_deliver(struct tt_src *s, const struct tt_event *ev)
{
	/* behind events still waiting, or refused now: kept, in order */
	if (s->cb_ret || s->n_pending || offer(s, ev)) {
		keep(s, ev);
		return s->cb_ret;
	}
	return 0;
}

int tt_src_deliver_pending(struct tt_src *s)
{
	size_t i = 0;

	if (!s->n_pending)
		return s->cb_ret; /* the common case, and memmove() wants a buffer even for 0 */
	while (i < s->n_pending && !offer(s, &s->pending[i]))
		i++;
	memmove(s->pending, s->pending + i, (s->n_pending - i) * sizeof(*s->pending));
	s->n_pending -= i;
	/* what could not be kept, after what was: the capture says how many are missing there */
	if (!s->n_pending && s->stats.dropped) {
		struct tt_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = tt_now_boot_ns();
		ev.kind = TT_EV_LOST;
		ev.u.lost.count = s->stats.dropped;
		ev.u.lost.cpu = TT_LOST_CPU_ANY;
		if (!offer(s, &ev))
			s->stats.dropped = 0;
	}
	return s->cb_ret;
}

void tt_src_deliver_free(struct tt_src *s)
{
	free(s->pending);
	s->pending = NULL;
	s->n_pending = s->cap_pending = 0;
}
