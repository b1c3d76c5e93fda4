// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The per-connection fold of events (see tt_acc.h). */
#include <string.h>

#include "tt_acc.h"

void tt_acc_init(struct tt_conn_acc *a, uint64_t ts)
{
	memset(a, 0, sizeof(*a));
	a->first_ts = a->last_ts = ts;
}

/*
 * Not inlined: GCC 12 with -fsanitize=address,undefined then takes a for a
 * pointer to nothing and fails the build (-Wstringop-overflow) on the memcpys
 * below. Opens are rare; the call costs nothing that shows.
 */
__attribute__((noinline)) static void apply_open(struct tt_conn_acc *a, const struct tt_event *ev,
						 int fresh)
{
	const struct tt_ev_open *o = &ev->u.open;

	a->flags |= TT_ACC_OPENED;
	if (o->family || fresh) {
		memcpy(a->laddr, o->laddr, TT_ADDR_LEN);
		memcpy(a->raddr, o->raddr, TT_ADDR_LEN);
		a->lport = o->lport;
		a->rport = o->rport;
		a->family = o->family;
		a->proto = o->proto;
		a->netns = o->netns;
		a->cgroup_id = o->cgroup_id;
	}
	if (o->direction)
		a->direction = o->direction;
	if (o->state || fresh)
		a->state = o->state;
	if (ev->flags & TT_F_PREEXISTING)
		a->flags |= TT_ACC_PREEXISTING;
}

static void rtt(struct tt_conn_acc *a, uint32_t srtt_us)
{
	a->rtt_us = srtt_us;
	if (srtt_us > a->max_rtt_us)
		a->max_rtt_us = srtt_us;
}

static uint64_t max64(uint64_t x, uint64_t y)
{
	return x > y ? x : y;
}

/* The socket's own counters are authoritative when they exceed our sums of deltas. */
static void apply_close(struct tt_conn_acc *a, const struct tt_event *ev)
{
	const struct tt_ev_close *cl = &ev->u.close;

	if (!(a->flags & TT_ACC_CLOSED)) {
		a->flags |= TT_ACC_CLOSED;
		a->close_ts = ev->ts_ns;
	}
	if (cl->state)
		a->state = cl->state;
	a->tx_bytes = max64(a->tx_bytes, cl->tx_bytes);
	a->rx_bytes = max64(a->rx_bytes, cl->rx_bytes);
	a->tx_pkts = max64(a->tx_pkts, cl->tx_pkts);
	a->rx_pkts = max64(a->rx_pkts, cl->rx_pkts);
	if (cl->retrans > a->retrans)
		a->retrans = cl->retrans;
	if (cl->srtt_us)
		rtt(a, cl->srtt_us);
	if (cl->fail_reason)
		a->fail_reason = cl->fail_reason;
	/* never established: what it retransmitted were its SYNs (or SYN-ACKs) */
	if (!(a->have & TT_ACC_HAVE_SYN_RETRANS) && cl->fail_reason >= TT_FAIL_REFUSED &&
	    cl->fail_reason <= TT_FAIL_UNREACHABLE) {
		a->syn_retrans = cl->retrans;
		a->have |= TT_ACC_HAVE_SYN_RETRANS;
	}
}

static void apply_handshake(struct tt_conn_acc *a, const struct tt_event *ev)
{
	a->connect_us = ev->u.handshake.connect_us;
	a->syn_retrans = ev->u.handshake.syn_retrans;
	a->have |= TT_ACC_HAVE_CONNECT | TT_ACC_HAVE_SYN_RETRANS;
}

/*
 * A SPURIOUS event retransmits nothing: it says earlier retransmits were needless (the peer
 * reported them as duplicates), so it adds to retrans_spurious and not to the total.
 */
static void apply_retrans(struct tt_conn_acc *a, const struct tt_ev_retrans *r)
{
	switch (r->cause) {
	case TT_RETRANS_SPURIOUS: a->retrans_spurious += r->spurious; return;
	case TT_RETRANS_RTO: a->retrans_rto += r->segs; break;
	case TT_RETRANS_FAST: a->retrans_fast += r->segs; break;
	case TT_RETRANS_TLP: a->retrans_tlp += r->segs; break;
	default: break;
	}
	a->retrans += r->segs;
}

/*
 * The reset's own state, or the one known when it has none: a refused connect() is a reset
 * received in SYN_SENT, which the STATE column shows apart from a normal close.
 */
static void apply_reset(struct tt_conn_acc *a, const struct tt_event *ev)
{
	const struct tt_ev_reset *r = &ev->u.reset;
	uint8_t st = r->state ? r->state : a->state;

	a->resets++;
	if (r->dir == TT_RST_RECEIVED && st == TT_TCP_SYN_SENT)
		a->flags |= TT_ACC_REFUSED;
}

void tt_acc_apply(struct tt_conn_acc *a, const struct tt_event *ev, int fresh)
{
	switch (ev->kind) {
	case TT_EV_TRAFFIC: tt_acc_traffic(a, ev); return;
	case TT_EV_CONN_OPEN: apply_open(a, ev, fresh); break;
	case TT_EV_STATE: a->state = ev->u.state.new_state; break;
	case TT_EV_RTT: rtt(a, ev->u.rtt.srtt_us); break;
	case TT_EV_RETRANS: apply_retrans(a, &ev->u.retrans); break;
	case TT_EV_RESET: apply_reset(a, ev); break;
	case TT_EV_CONN_CLOSE: apply_close(a, ev); break;
	case TT_EV_HANDSHAKE: apply_handshake(a, ev); break;
	case TT_EV_ACCEPT:
		a->accept_wait_us = ev->u.accept.wait_us;
		a->have |= TT_ACC_HAVE_ACCEPT;
		break;
	case TT_EV_SAMPLE:
		if (ev->u.sample.srtt_us)
			rtt(a, ev->u.sample.srtt_us);
		a->cwnd = ev->u.sample.cwnd;
		break;
	case TT_EV_STALL:
		if (ev->u.stall.phase == TT_STALL_END)
			a->zero_window_ms += (uint32_t)((ev->u.stall.dur_us + 500) / 1000);
		break;
	default: break; /* CONN_PROC: the owner is the caller's */
	}
	tt_acc_time(a, ev->ts_ns);
}
