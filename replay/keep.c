// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The events of a filtered replay that go into an -o copy (see keep.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cut.h"
#include "keep.h"
#include "tt_u64map.h"

/* The connection ids and pids kept so far: sets. */
struct keep {
	struct tt_u64map conns, pids;
	int err;
};

static int set_has(const struct tt_u64map *s, uint64_t key)
{
	return tt_u64map_get(s, key) != NULL;
}

static int set_add(struct tt_u64map *s, uint64_t key)
{
	return tt_u64map_put(s, key, NULL) < 0 ? -ENOMEM : 0;
}

static int keep_conn(struct keep *k, const struct tt_conn *c)
{
	int ret = set_add(&k->conns, c->id);

	if (!ret && c->pid)
		ret = set_add(&k->pids, c->pid);
	return ret;
}

static void seed(void *ctx, const struct tt_conn *c)
{
	struct keep *k = ctx;

	if (!(c->flags & TT_CONN_CLOSED) && !k->err)
		k->err = keep_conn(k, c);
}

int keep_new(struct keep **out, const struct tt_state *st)
{
	struct keep *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	if (tt_u64map_init(&k->conns, 0, 0) || tt_u64map_init(&k->pids, 0, 0)) {
		keep_free(k);
		return -ENOMEM;
	}
	tt_state_foreach(st, seed, k);
	if (k->err) {
		keep_free(k);
		return -ENOMEM;
	}
	*out = k;
	return 0;
}

void keep_free(struct keep *k)
{
	if (!k)
		return;
	tt_u64map_free(&k->conns);
	tt_u64map_free(&k->pids);
	free(k);
}

/*
 * The first kept connection of a pid: if the table named it from a process
 * event the copy left out (the pid had no kept connection then), a PROC_NAME
 * gives the name back. Returns the events put in out (0 or 1).
 */
static int give_name(const struct tt_conn *c, const struct tt_event *ev, struct tt_event *out)
{
	const char *own = ev->kind == TT_EV_CONN_OPEN	? ev->u.open.comm
			  : ev->kind == TT_EV_CONN_PROC ? ev->u.proc.comm
							: "";

	if (!c->comm[0] || own[0])
		return 0;
	memset(out, 0, sizeof(*out));
	out->ts_ns = ev->ts_ns;
	out->pid = out->tid = c->pid;
	out->kind = TT_EV_PROC_NAME;
	memcpy(out->u.proc.comm, c->comm, TT_COMM_LEN);
	return 1;
}

int keep_event(struct keep *k, const struct tt_state *st, const struct tt_event *ev,
	       struct tt_event out[KEEP_MAX_OUT])
{
	const struct tt_conn *c;
	struct tt_event *t;
	int n = 0;

	if (!k) { /* no filter: every event as it came */
		out[0] = *ev;
		return 1;
	}
	switch (tt_event_scope(ev->kind)) {
	case TT_SCOPE_PROC:
		if (!set_has(&k->pids, ev->pid))
			return 0;
		out[0] = *ev;
		return 1;
	case TT_SCOPE_CONN: break;
	default: /* LOST, STATS, LISTENER, kinds of a newer version: about the whole capture */
		/* a drop on a connection left out is that connection's, not the host's */
		if (ev->kind == TT_EV_DROP && ev->conn_id && !set_has(&k->conns, ev->conn_id))
			return 0;
		out[0] = *ev;
		return 1;
	}
	if (!ev->conn_id)
		return 0;
	c = tt_state_find(st, ev->conn_id);
	if (!c) {
		/* Left out; or a kept connection that stopped matching (a new name by exec,
		 * for --comm): the copy keeps it as it was while it matched. */
		tt_u64map_del(&k->conns, ev->conn_id);
		return 0;
	}
	if (set_has(&k->conns, ev->conn_id)) {
		if (c->pid && !set_has(&k->pids, c->pid)) {
			if (set_add(&k->pids, c->pid))
				return -ENOMEM;
			n = give_name(c, ev, out);
		}
		out[n++] = *ev;
		return n;
	}
	if (c->pid && !set_has(&k->pids, c->pid))
		n = give_name(c, ev, out);
	if (keep_conn(k, c))
		return -ENOMEM;
	if (ev->kind != TT_EV_CONN_OPEN) {
		/* Shown only now: its open event and what it counted until now were held back
		 * (a connection first seen without its open has none to give back). */
		if (c->family)
			cut_open_event(c, ev->ts_ns, 0, &out[n++]);
		t = &out[n];
		memset(t, 0, sizeof(*t));
		t->ts_ns = ev->ts_ns;
		t->conn_id = c->id;
		t->pid = t->tid = c->pid;
		t->kind = TT_EV_TRAFFIC;
		t->u.traffic.tx_bytes = c->tx_bytes;
		t->u.traffic.rx_bytes = c->rx_bytes;
		t->u.traffic.tx_pkts = (uint32_t)c->tx_pkts;
		t->u.traffic.rx_pkts = (uint32_t)c->rx_pkts;
		if (ev->kind == TT_EV_TRAFFIC) {
			/* this event's own share follows in it */
			t->u.traffic.tx_bytes -= ev->u.traffic.tx_bytes;
			t->u.traffic.rx_bytes -= ev->u.traffic.rx_bytes;
			t->u.traffic.tx_pkts -= ev->u.traffic.tx_pkts;
			t->u.traffic.rx_pkts -= ev->u.traffic.rx_pkts;
		}
		if (t->u.traffic.tx_bytes || t->u.traffic.rx_bytes || t->u.traffic.tx_pkts ||
		    t->u.traffic.rx_pkts)
			n++;
		if (c->rtt_us && ev->kind != TT_EV_RTT) {
			t = &out[n++];
			memset(t, 0, sizeof(*t));
			t->ts_ns = ev->ts_ns;
			t->conn_id = c->id;
			t->pid = t->tid = c->pid;
			t->kind = TT_EV_RTT;
			t->u.rtt.srtt_us = c->rtt_us;
		}
		if (c->retrans - (ev->kind == TT_EV_RETRANS ? ev->u.retrans.segs : 0)) {
			t = &out[n++];
			memset(t, 0, sizeof(*t));
			t->ts_ns = ev->ts_ns;
			t->conn_id = c->id;
			t->pid = t->tid = c->pid;
			t->kind = TT_EV_RETRANS;
			t->u.retrans.segs =
			    c->retrans - (ev->kind == TT_EV_RETRANS ? ev->u.retrans.segs : 0);
			t->u.retrans.state = c->state;
		}
	}
	out[n++] = *ev;
	return n;
}
