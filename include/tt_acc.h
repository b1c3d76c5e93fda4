/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_acc: what the events of one connection add up to. The one fold of
 * connection events (open, traffic, state, rtt, retrans, reset, close) that
 * both the state table (state/) and tcptop-query's connection rows
 * (query/summary.c) use, so an event kind is taught in one place. Pure C.
 *
 * Left to the caller, because the two legitimately differ there: which
 * accumulator an event goes to (the table keeps one per live id; a query row
 * ends when its id is opened again), who owns the connection (pid and name:
 * the table keeps a pid -> name cache, the query a process table), and what
 * is derived (rates, shown totals, eviction, a rotated set's shares).
 */
#ifndef TT_ACC_H
#define TT_ACC_H

#include <stdint.h>

#include "tt_event.h"

/* tt_conn_acc.flags bits the fold sets; the others belong to whoever embeds it. */
#define TT_ACC_CLOSED (1u << 0)	     /* CONN_CLOSE seen */
#define TT_ACC_PREEXISTING (1u << 2) /* opened before the capture began */
#define TT_ACC_OPENED (1u << 3)	     /* CONN_OPEN seen */
/* a reset received in SYN_SENT: the peer refused the connect() (ECONNREFUSED) */
#define TT_ACC_REFUSED (1u << 4)
/* tt_conn_acc.have: NULL in the query until known */
#define TT_ACC_HAVE_CONNECT (1u << 0)	  /* connect_us */
#define TT_ACC_HAVE_SYN_RETRANS (1u << 1) /* syn_retrans */
#define TT_ACC_HAVE_ACCEPT (1u << 2)	  /* accept_wait_us */
#define TT_ACC_FLAGS (TT_ACC_CLOSED | TT_ACC_PREEXISTING | TT_ACC_OPENED | TT_ACC_REFUSED)

/*
 * The fields, as a list, so that struct tt_conn (tt_state.h) can show them as
 * its own members and still hand them here as one struct (TT_CONN_ACC_GROUP).
 * What every TRAFFIC event touches comes first: after a 64-bit id, it fills
 * the first cache line of the state table's slot.
 */
#define TT_CONN_ACC_FIELDS                                                                         \
	uint8_t flags;                                                                             \
	uint8_t family, proto, state;                                                              \
	uint32_t rtt_us; /* last smoothed RTT */                                                   \
	uint64_t tx_bytes, rx_bytes;                                                               \
	uint64_t tx_pkts, rx_pkts;                                                                 \
	uint64_t first_ts, last_ts; /* earliest and latest event time */                           \
	uint64_t close_ts;	    /* event time of the first CONN_CLOSE, 0 while open */         \
	uint64_t cgroup_id;                                                                        \
	uint32_t max_rtt_us;                                                                       \
	uint32_t retrans;                                                                          \
	/* retransmit events by cause (TT_RETRANS_*); spurious: segments reported duplicate */     \
	uint32_t retrans_rto, retrans_fast, retrans_tlp, retrans_spurious;                         \
	uint32_t resets;                                                                           \
	uint32_t netns;                                                                            \
	uint16_t lport, rport;                                                                     \
	uint8_t direction;                                                                         \
	uint8_t laddr[TT_ADDR_LEN], raddr[TT_ADDR_LEN];                                            \
	uint8_t have;	      /* TT_ACC_HAVE_*: which of the handshake fields are known */         \
	uint8_t fail_reason;  /* TT_FAIL_* of the close */                                         \
	uint32_t connect_us;  /* HANDSHAKE */                                                      \
	uint32_t syn_retrans; /* HANDSHAKE, or a connect that failed: its close's retransmits */   \
	uint32_t accept_wait_us; /* ACCEPT */                                                      \
	uint32_t cwnd;		 /* last SAMPLE's congestion window, 0 if none */                  \
	uint32_t zero_window_ms; /* zero-window stalls ended (STALL), local and peer */

struct tt_conn_acc {
	TT_CONN_ACC_FIELDS
};

/*
 * Members of a struct that read as its own fields and are, together, `struct
 * tt_conn_acc acc`. The two structs of the union have the same members, so
 * s->tx_bytes and s->acc.tx_bytes are one object to the compiler too (C11
 * 6.5.2.3: a common initial sequence, inspected where the union is visible).
 */
#define TT_CONN_ACC_GROUP                                                                          \
	union {                                                                                    \
		struct tt_conn_acc acc;                                                            \
		struct {                                                                           \
			TT_CONN_ACC_FIELDS                                                         \
		};                                                                                 \
	}

/* A new accumulator whose first event is at ts: all zero but the times. */
void tt_acc_init(struct tt_conn_acc *a, uint64_t ts);

/*
 * Folds ev, an event of a's connection (kinds CONN_OPEN to CONN_PROC), into a.
 * fresh: a was made for this very event. An OPEN sets what it carries: all of
 * it when fresh; later, an OPEN without a family (a refresh, e.g. the reopen
 * a cut writes for a connection seen only by its traffic) keeps the addresses,
 * and a zero direction or state keeps the ones known. TRAFFIC adds its
 * deltas; CONN_CLOSE marks a closed (its time the first close's) and raises
 * every counter to the close's absolute value when that is larger. A RESET
 * counts, and one received in SYN_SENT marks it refused. HANDSHAKE sets connect_us and
 * syn_retrans, ACCEPT accept_wait_us; a close with a fail reason keeps it, and one of a connection
 * that never reached ESTABLISHED (no HANDSHAKE) gives its retransmits as syn_retrans: they were
 * SYNs. A SAMPLE sets the RTT (as an RTT event of older captures does) and the cwnd; a STALL's
 * end adds its length. CONN_PROC only moves the times: the owner is the caller's. Only TRAFFIC is
 * traffic at its event's time: what a close raises the counters by was sent before the capture
 * (or its file) began, or lost, at no known time. A caller deriving rates keeps that raise out of
 * them (the state table moves its rate baseline with it).
 */
void tt_acc_apply(struct tt_conn_acc *a, const struct tt_event *ev, int fresh);

/* The times part of tt_acc_apply(), done for every kind. */
static inline void tt_acc_time(struct tt_conn_acc *a, uint64_t ts)
{
	if (ts > a->last_ts)
		a->last_ts = ts;
	if (ts < a->first_ts)
		a->first_ts = ts;
}

/* tt_acc_apply() of a TRAFFIC event, inline for callers' hot paths. */
static inline void tt_acc_traffic(struct tt_conn_acc *a, const struct tt_event *ev)
{
	const struct tt_ev_traffic *t = &ev->u.traffic;

	a->tx_bytes += t->tx_bytes;
	a->rx_bytes += t->rx_bytes;
	a->tx_pkts += t->tx_pkts;
	a->rx_pkts += t->rx_pkts;
	tt_acc_time(a, ev->ts_ns);
}

#endif /* TT_ACC_H */
