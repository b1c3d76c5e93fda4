// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the sources' one delivery (source/deliver.c, tt_source_emit()): an event the
 * callback refuses has already left its source, so it and every later one are kept and
 * offered again, in order, none twice, and only what the callback took is counted. One line
 * per check, exit 1 on any failure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_util.h"
#include "../../source/source_int.h"
#include "check.h"

/* The caller: takes events into seen[] in order, refuses while refuse > 0. */
struct sink {
	uint64_t seen[64], ts[64];
	int n;
	int refuse;
};

static int take(void *ctx, const struct tt_event *ev)
{
	struct sink *k = ctx;

	if (k->refuse > 0) {
		k->refuse--;
		return -ENOSPC;
	}
	k->ts[k->n] = ev->ts_ns;
	k->seen[k->n++] = ev->conn_id;
	return 0;
}

/*
 * A recorder: reads the source's stats from its callback, as it does when a file ends at the
 * event it takes (the STATS event), and refuses while refuse > 0.
 */
struct reader {
	const struct tt_source *h;
	struct tt_source_stat at[8];
	int n, refuse;
};

static int read_stats(void *ctx, const struct tt_event *ev)
{
	struct reader *r = ctx;

	(void)ev;
	if (r->refuse > 0) {
		r->refuse--;
		return -ENOSPC;
	}
	r->at[r->n++] = r->h->stats;
	return 0;
}

/* A caller that counts: ids in order, and the LOST counts it was told. */
struct counter {
	uint64_t next, lost, lost_events;
	int refuse, out_of_order;
};

static int count(void *ctx, const struct tt_event *ev)
{
	struct counter *c = ctx;

	if (c->refuse)
		return -ENOSPC;
	if (ev->kind == TT_EV_LOST) {
		c->lost += ev->u.lost.count;
		c->lost_events++;
	} else if (ev->conn_id != ++c->next) {
		c->out_of_order = 1;
	}
	return 0;
}

static struct tt_event ev(uint64_t id, uint16_t kind)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.conn_id = id;
	e.kind = kind;
	return e;
}

static int in_order(const struct sink *k, int n)
{
	if (k->n != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (k->seen[i] != (uint64_t)i + 1)
			return 0;
	return 1;
}

int main(void)
{
	struct tt_source *s = calloc(1, sizeof(*s));
	struct sink k = {0};
	struct tt_event e;

	s->cb = take;
	s->cb_ctx = &k;
	for (uint64_t id = 1; id <= 2; id++) {
		e = ev(id, TT_EV_CONN_OPEN);
		check(tt_source_emit(s, &e) == 0, "event %llu taken", (unsigned long long)id);
	}
	/* the callback refuses event 3 (a drain stops there): 3, and 4 and 5 made later, wait */
	k.refuse = 1;
	e = ev(3, TT_EV_TRAFFIC);
	check(tt_source_emit(s, &e) == -ENOSPC, "a refusal is returned");
	for (uint64_t id = 4; id <= 5; id++) {
		e = ev(id, TT_EV_LOST);
		e.u.lost.count = 10;
		check(tt_source_emit(s, &e) == -ENOSPC, "event %llu after a refusal is kept",
		      (unsigned long long)id);
	}
	check(k.n == 2 && tt_evq_len(&s->pending) == 3, "two taken, three kept (%d, %zu)", k.n,
	      tt_evq_len(&s->pending));
	check(s->stats.events == 2 && s->stats.conns == 2 && s->stats.lost == 0,
	      "only what was taken is counted");

	/* the next poll offers them first */
	s->cb_ret = 0;
	check(tt_source_emit_pending(s) == 0 && tt_evq_len(&s->pending) == 0,
	      "all kept events taken at the next poll");
	check(in_order(&k, 5), "every event once, in order (%d seen)", k.n);
	check(s->stats.events == 5 && s->stats.lost == 20,
	      "counted once taken: 5 events, 20 lost (%llu, %llu)",
	      (unsigned long long)s->stats.events, (unsigned long long)s->stats.lost);

	/* a second refusal in the middle of the kept ones keeps the rest, in order */
	k.n = 0;
	k.refuse = 1;
	for (uint64_t id = 1; id <= 4; id++) {
		e = ev(id, TT_EV_TRAFFIC);
		tt_source_emit(s, &e);
	}
	s->cb_ret = 0;
	k.refuse = 0;
	tt_source_emit_pending(s);
	check(in_order(&k, 4), "refused first, all four taken in order later (%d)", k.n);
	s->cb_ret = 0;
	k.n = 0;
	e = ev(1, TT_EV_TRAFFIC);
	check(tt_source_emit(s, &e) == 0 && k.n == 1, "nothing kept: events go straight through");

	tt_source_emit_free(s);
	free(s);

	/* a caller that refuses for longer than the kept events' bound (256 here) */
	{
		struct counter c = {.refuse = 1};
		uint64_t n = TT_SOURCE_MAX_PENDING + 7;

		s = calloc(1, sizeof(*s));
		s->cb = count;
		s->cb_ctx = &c;
		for (uint64_t id = 1; id <= n; id++) {
			e = ev(id, TT_EV_TRAFFIC);
			tt_source_emit(s, &e);
		}
		check(tt_evq_len(&s->pending) == TT_SOURCE_MAX_PENDING && s->stats.dropped == 7,
		      "beyond the bound: %zu kept, %llu dropped (7)", tt_evq_len(&s->pending),
		      (unsigned long long)s->stats.dropped);
		c.refuse = 0;
		s->cb_ret = 0;
		check(tt_source_emit_pending(s) == 0 && tt_evq_len(&s->pending) == 0,
		      "the kept ones taken");
		check(c.next == TT_SOURCE_MAX_PENDING && !c.out_of_order, "in order (%llu)",
		      (unsigned long long)c.next);
		check(c.lost_events == 1 && c.lost == 7,
		      "the dropped ones told as one LOST event of 7 (%llu events, %llu)",
		      (unsigned long long)c.lost_events, (unsigned long long)c.lost);
		check(s->stats.dropped == 0 && s->stats.lost == 7,
		      "counted as lost once told (dropped %llu, lost %llu)",
		      (unsigned long long)s->stats.dropped, (unsigned long long)s->stats.lost);
		tt_source_emit_free(s);
		free(s);
	}

	/* the stats are the one count: a callback reading them sees the event it takes counted */
	{
		struct reader r = {0};

		s = calloc(1, sizeof(*s));
		r.h = s;
		s->cb = read_stats;
		s->cb_ctx = &r;
		e = ev(1, TT_EV_CONN_OPEN);
		tt_source_emit(s, &e);
		e = ev(1, TT_EV_CONN_CLOSE);
		e.flags = TT_F_CLOSE_INFERRED;
		r.refuse = 1;
		check(tt_source_emit(s, &e) == -ENOSPC, "a refusal is returned");
		check(s->stats.events == 1 && s->stats.closes_inferred == 0,
		      "a refused event's counts taken back (%llu events, %llu inferred)",
		      (unsigned long long)s->stats.events,
		      (unsigned long long)s->stats.closes_inferred);
		s->cb_ret = 0;
		tt_source_emit_pending(s);
		e = ev(2, TT_EV_LOST);
		e.u.lost.count = 5;
		tt_source_emit(s, &e);
		check(r.n == 3 && r.at[0].events == 1 && r.at[0].conns == 1,
		      "an open: counted as the callback takes it (%llu events, %llu conns)",
		      (unsigned long long)r.at[0].events, (unsigned long long)r.at[0].conns);
		check(r.at[1].events == 2 && r.at[1].closes_inferred == 1,
		      "an inferred close, taken at the next poll: counted once (%llu, %llu)",
		      (unsigned long long)r.at[1].events,
		      (unsigned long long)r.at[1].closes_inferred);
		check(r.at[2].events == 3 && r.at[2].lost == 5, "a LOST event: its count (%llu)",
		      (unsigned long long)r.at[2].lost);
		check(s->stats.events == 3 && s->stats.conns == 1 && s->stats.lost == 5 &&
			  s->stats.closes_inferred == 1,
		      "after: what the callback took, each once");
		tt_source_emit_free(s);
		free(s);
	}

	/*
	 * One clock above the sources: an event's time gets to_wall once, a kept one too (not
	 * again when offered again), and a LOST the handle makes is in the same time.
	 */
	{
		struct tt_source h;
		struct sink k3 = {0};
		uint64_t lo, hi;

		memset(&h, 0, sizeof(h));
		h.to_wall = -1000;
		tt_source_emit_begin(&h, take, &k3);
		e = ev(1, TT_EV_TRAFFIC);
		e.ts_ns = 5000;
		tt_source_emit(&h, &e);
		k3.refuse = 1;
		e = ev(2, TT_EV_TRAFFIC);
		e.ts_ns = 6000;
		tt_source_emit(&h, &e);
		e = ev(3, TT_EV_TRAFFIC);
		e.ts_ns = 7000;
		tt_source_emit(&h, &e);
		tt_source_emit_begin(&h, take, &k3);
		tt_source_emit_pending(&h);
		check(k3.n == 3 && k3.ts[0] == 4000 && k3.ts[1] == 5000 && k3.ts[2] == 6000,
		      "to_wall added once, to kept events too (%d: %llu %llu %llu)", k3.n,
		      (unsigned long long)k3.ts[0], (unsigned long long)k3.ts[1],
		      (unsigned long long)k3.ts[2]);
		tt_source_emit_free(&h);

		memset(&h, 0, sizeof(h));
		memset(&k3, 0, sizeof(k3));
		h.to_wall = (int64_t)1764000000 * 1000000000;
		k3.refuse = 1;
		tt_source_emit_begin(&h, take, &k3);
		e = ev(1, TT_EV_TRAFFIC);
		e.ts_ns = 1;
		tt_source_emit(&h, &e);
		h.stats.dropped = 3; /* as beyond the bound: told after the kept one */
		tt_source_emit_begin(&h, take, &k3);
		lo = tt_now_boot_ns() + (uint64_t)h.to_wall;
		tt_source_emit_pending(&h);
		hi = tt_now_boot_ns() + (uint64_t)h.to_wall;
		check(k3.n == 2 && k3.ts[0] == 1 + (uint64_t)h.to_wall && lo <= k3.ts[1] &&
			  k3.ts[1] <= hi,
		      "the LOST the handle makes: now in the events' time (%llu in %llu..%llu)",
		      (unsigned long long)k3.ts[1], (unsigned long long)lo, (unsigned long long)hi);
		tt_source_emit_free(&h);
	}

	/* what a poll, flush or stop returns, the same for every source */
	{
		struct tt_source h;
		struct sink k2 = {0};

		memset(&h, 0, sizeof(h));
		tt_source_emit_begin(&h, take, &k2);
		check(tt_source_emit_end(&h, -EINTR) == -EINTR,
		      "a signal before any event: -EINTR");
		check(tt_source_emit_end(&h, -ENODATA) == -ENODATA, "the end, nothing delivered");
		e = ev(1, TT_EV_TRAFFIC);
		tt_source_emit(&h, &e);
		tt_source_emit(&h, &e);
		check(tt_source_emit_end(&h, -EINTR) == 2 && tt_source_emit_end(&h, -ENODATA) == 2,
		      "after events: their count first, the signal or end at the next call");
		check(tt_source_emit_end(&h, -EPERM) == -EPERM, "a source error is said even so");
		k2.refuse = 1;
		tt_source_emit(&h, &e);
		check(tt_source_emit_end(&h, -EPERM) == -ENOSPC, "the callback's refusal first");
		tt_source_emit_begin(&h, take, &k2);
		check(h.cb_ret == 0 && h.delivered == 0 && tt_evq_len(&h.pending) == 1,
		      "a new call counts from 0 and keeps the refused event");
		check(tt_source_emit_pending(&h) == 0 && tt_source_emit_end(&h, 0) == 1,
		      "the kept event taken and counted in the next call");
		tt_source_emit_free(&h);
	}
	return failures ? 1 : 0;
}
