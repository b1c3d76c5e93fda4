/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_state: the connection state table. Pure C, no I/O: it applies events
 * from any source (ring buffer or capture file) and never knows which. The
 * view, the CSV writer and batch output only read it.
 *
 * Time is event time (tt_event.ts_ns, whatever clock the source uses; wall
 * clock for captures and for the live source alike): the table has no clock
 * of its own, so replay at any speed gives the same table as live.
 */
#ifndef TT_STATE_H
#define TT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "tt_acc.h"
#include "tt_event.h"
#include "tt_filter.h"

/* tt_conn.flags */
#define TT_CONN_CLOSED TT_ACC_CLOSED /* CONN_CLOSE seen; evicted ttl later */
/* pid attributed after the open (CONN_PROC or first traffic) */
#define TT_CONN_PID_LATE (1u << 1)
#define TT_CONN_PREEXISTING TT_ACC_PREEXISTING /* open before the capture began */
#define TT_CONN_OPENED TT_ACC_OPENED	       /* CONN_OPEN seen (else a placeholder) */
#define TT_CONN_REFUSED TT_ACC_REFUSED	       /* reset received in SYN_SENT */

/*
 * One connection. At most 256 bytes (checked at compile time in state/).
 * Its counters, times, endpoints, state and flags are a struct tt_conn_acc
 * (tt_acc.h), the fold tcptop-query's connection rows use too; they read as
 * fields of their own (c->tx_bytes) and are, together, c->acc.
 */
struct tt_conn {
	uint64_t id;
	TT_CONN_ACC_GROUP;
	uint32_t pid;
	char comm[TT_COMM_LEN];
	uint64_t tx_rate, rx_rate; /* bytes per second, see tt_state_tick() */
};

/* Sort columns, in the order the view shows them. */
enum tt_col {
	TT_COL_PID,
	TT_COL_COMM,
	TT_COL_PROTO,
	TT_COL_LOCAL,
	TT_COL_REMOTE,
	TT_COL_STATE,
	TT_COL_TX_RATE,
	TT_COL_RX_RATE,
	TT_COL_TX,
	TT_COL_RX,
	TT_COL_TX_PKTS,
	TT_COL_RX_PKTS,
	TT_COL_RTT,
	/* TCP health, hidden unless chosen (--columns, F2): after the 13 every test reads */
	TT_COL_RETR,	/* retransmitted segments, all causes */
	TT_COL_CONNECT, /* handshake time (connect_us), "-" unknown */
	TT_COL_CWND,	/* last sample's congestion window, "-" without a sample */
	TT_COL_ZWIN,	/* time in zero-window stalls that ended, "-" for UDP */
	TT_COL_FAIL,	/* fail reason of the close, "-" none */
	TT_COL_MAX
};

/* A set of columns: bit (1u << col) for each one shown. Shown in enum order. */
#define TT_COL_BIT(col) (1u << (col))
#define TT_COLS_ALL (TT_COL_BIT(TT_COL_MAX) - 1u)
/* What the view and -b show unless told otherwise: PID .. RTT, the health columns hidden */
#define TT_COLS_DEFAULT (TT_COL_BIT(TT_COL_RTT + 1) - 1u)
_Static_assert(TT_COL_MAX <= 32, "a column set is 32 bits");

struct tt_state_opts {
	uint64_t ttl_ns; /* closed connections stay this long (event time); 0 = 30 s */
	/* Filters connections out of the table entirely (e.g. the replay's --port). */
	const struct tt_filter *filter;
	/*
	 * How long a counter sample (TRAFFIC) may come after the traffic it counts: the
	 * source's sampling interval (a capture's coalesce_ms), which the deltas of a sampling
	 * pass cover (from the connection's previous sample or its open, to their stamp). 0:
	 * every delta is known by the next tick (a live source that samples on its ticks, a
	 * capture of per-call records).
	 */
	uint64_t sample_ns;
	/*
	 * Keep no timeline (tt_state_timeline() finds nothing): a reader that shows no
	 * connection's events, such as batch output. Copying every event into it was a quarter
	 * of applying one (replay --batch).
	 */
	int no_timeline;
};

struct tt_state_summary {
	uint64_t open, closed;	     /* connections in the table */
	uint64_t tx_rate, rx_rate;   /* sum over connections, bytes/s */
	uint64_t tx_bytes, rx_bytes; /* sum over connections in the table */
	uint64_t lost;		     /* events lost so far (LOST records) */
	uint64_t events;	     /* events applied */
	uint64_t now_ns;	     /* latest event time seen */
};

struct tt_state;

/* Returns 0 and a new table, or -ENOMEM. */
int tt_state_new(struct tt_state **out, const struct tt_state_opts *opts);
void tt_state_free(struct tt_state *st);

/* Deep copy (replay keyframes). Returns 0 or -ENOMEM. */
int tt_state_clone(const struct tt_state *st, struct tt_state **out);

/* Apply one event. Returns 0, or -ENOMEM when a new connection cannot be stored. */
int tt_state_apply(struct tt_state *st, const struct tt_event *ev);

/*
 * Apply n events in order, as n calls of tt_state_apply() would (faster on
 * big tables: it prefetches ahead). Returns 0, or -ENOMEM after applying the
 * events before the one that failed.
 */
int tt_state_apply_batch(struct tt_state *st, const struct tt_event *evs, size_t n);

/*
 * Advance to event time now_ns: computes rates and evicts closed connections
 * older than the TTL. A connection's rate is the bytes of its deltas spread
 * over the time they cover, over the stretch of time its samples newly cover
 * since the previous tick: up to its latest sample, or to what has passed the
 * sampling interval (opts.sample_ns, plus a quarter for a late pass) ago, as a
 * sample would have come since, or to now once it is closed. A tick's interval
 * holds one sample of a drifting sampler or two (or none): each is its own
 * span, never twice the rate (or a 0) in one interval. A tick that knows
 * nothing new of a connection keeps its rate. The first delta after a pause
 * is spread over no more than that late sampling interval before its stamp.
 * With sample_ns 0 the stretch is the tick interval.
 */
void tt_state_tick(struct tt_state *st, uint64_t now_ns);

void tt_state_summary(const struct tt_state *st, struct tt_state_summary *sum);

/* Number of connections in the table, and lookup by id (NULL if absent). */
size_t tt_state_count(const struct tt_state *st);
const struct tt_conn *tt_state_find(const struct tt_state *st, uint64_t id);

/*
 * What a reader wants to see: sort order and filters.
 * Natural orders: numbers largest first (PID, TX/s, RX/s, TX, RX, TX_PKT,
 * RX_PKT, RTT = last smoothed RTT); text A-Z by byte value (COMM; PROTO as
 * "TCP"/"UDP" then family; STATE as shown: "CLOSED", the TCP state name, or
 * "" for UDP); LOCAL/REMOTE by family, then address bytes, then port. Ties
 * go by connection id, so the order is stable across frames; reverse is the
 * exact reverse. text matches case-insensitively as a substring of the comm,
 * the pid, "addr:port" / "[addr6]:port" of either end, the STATE text, or
 * the protocol ("tcp", "udp6").
 */
struct tt_select {
	enum tt_col sort;
	int reverse; /* 0: the column's natural order (rates, bytes: largest first) */
	const struct tt_filter *filter; /* NULL = all */
	const char *text; /* free-text match on comm, addresses, ports, state; NULL = all */
};

/*
 * The rows [offset, offset + limit) of the selected, sorted order, without
 * sorting all of it (virtual scrolling). Fills rows[] and returns how many
 * were filled; *total gets the number of matching connections.
 * Pointers stay valid until the next apply/tick. Reuses a scratch array
 * kept in the table: one select at a time per table (clones have their own).
 */
size_t tt_state_select(const struct tt_state *st, const struct tt_select *sel, size_t offset,
		       size_t limit, const struct tt_conn **rows, size_t *total);

/* Call fn for every connection, in no particular order. */
void tt_state_foreach(const struct tt_state *st, void (*fn)(void *ctx, const struct tt_conn *c),
		      void *ctx);

/* Column names ("PID", "COMM", ..., "RTT") and their parsing (case-insensitive), -1 if unknown. */
const char *tt_col_name(enum tt_col col);
int tt_col_parse(const char *name);

/*
 * --columns LIST: comma-separated column names (tt_col_parse). A LIST whose first name is
 * plain sets the columns to the names given; "+NAME" adds to and "-NAME" takes from what comes
 * before (the default set, TT_COLS_DEFAULT, when LIST starts with one); "all" and "default" name
 * those sets. Columns always show in their one order (enum tt_col), whatever the order of
 * LIST. Returns 0 with *set, or -EINVAL with a one-line message in err (an unknown name, an
 * empty name, or no column left).
 */
int tt_col_list_parse(const char *list, uint32_t *set, char *err, size_t errlen);

/*
 * The sort column among the columns shown: sort, or when sort < 0 (none asked for) TX/s, or
 * the first of *set when TX/s is not in it. The sort column is always shown (a sort by a
 * column one cannot see reads as no order): it is added to *set. Returns the sort column.
 */
enum tt_col tt_col_sort_shown(uint32_t *set, int sort);

/* The next (dir 1) or previous (dir -1) column of set after col, round; col if set has no other. */
enum tt_col tt_col_next(uint32_t set, enum tt_col col, int dir);

/*
 * The row's last TCP state by name, as CSV's and the query's state columns hold it
 * ("ESTABLISHED", ..., "CLOSED"; tt_tcp_state_name()), "" for UDP.
 */
const char *tt_state_tcp_text(const struct tt_conn *c);

/*
 * The STATE column's text, which the view and the batch show and sorting and text search
 * compare: a TCP state name while open ("" for UDP); once closed "REFUSED" (a reset received
 * in SYN_SENT: connect() refused), "RESET" (any other reset) or "CLOSED".
 */
const char *tt_state_text(const struct tt_conn *c);

/*
 * The timeline: the table keeps the events about connections other than TRAFFIC (opens, state
 * changes, handshakes, retransmits, stalls, resets, closes, owners, samples and every kind the
 * table gains), of all connections, in two rings in the order applied: the latest
 * TT_STATE_TIMELINE_EVENTS of the SPORADIC kinds and, apart, the latest
 * TT_STATE_TIMELINE_SAMPLES of the PERIODIC ones (SAMPLE, RTT: cadence in tt_event_kinds.h).
 * A sampling pass writes a sample per connection, so on a busy host samples alone would push
 * a connection's rare events (its handshake, retransmits, close) out within seconds; apart,
 * those stay as long as the rare events of all connections leave them room, and the latest
 * samples are there beside them. Memory is bounded however many connections there are
 * (TT_STATE_TIMELINE_MAX events and their order, grown as the rings fill), so a busy table
 * remembers the latest of each connection's history, a quiet one all of it. Clones (replay
 * keyframes) copy it.
 */
#define TT_STATE_TIMELINE_EVENTS 65536u
#define TT_STATE_TIMELINE_SAMPLES 32768u
/* The most events a connection's timeline can have (a reader's array for all of them). */
#define TT_STATE_TIMELINE_MAX (TT_STATE_TIMELINE_EVENTS + TT_STATE_TIMELINE_SAMPLES)

/*
 * The kept events of connection id, of both rings, oldest first by event time (ties in the
 * order applied): fills evs with the first max of them and returns how many there are.
 * Pointers stay valid until the next apply.
 */
size_t tt_state_timeline(const struct tt_state *st, uint64_t id, const struct tt_event **evs,
			 size_t max);

/* Bytes the table holds allocated (slab, hash, scratch): for memory checks and display. */
size_t tt_state_memory(const struct tt_state *st);

#endif /* TT_STATE_H */
