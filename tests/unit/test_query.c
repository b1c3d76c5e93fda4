// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tcptop-query's own logic, below SQL and through it:
 * - the summary's rows (query/summary.c), folded from events made here: a connection's health
 *   (handshake, retransmits by cause, stalls paired from their begin and end, a failed connect),
 *   an id used again, a rotation's shares (a connection open across files counts each byte
 *   once, and only a repeated open of the same endpoints in the same recording continues one),
 *   processes that exit and come back;
 * - the tables over captures written here (the virtual tables, columns.c): the connections of a
 *   rotated set, fail_reason's names and NULLs, stalls, and a GROUP BY over events that the
 *   grouped scan (group.c) answers in several passes under a small memory budget, against sums
 *   made here;
 * - the schema's text and the dialect names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "tt_acc.h"
#include "tt_event.h"
#include "tt_fmt.h"
#include "../../query/query.h"
#include "check.h"
#include "events.h"

#define MS 1000000ull
#define T0 (1764000000ull * 1000 * MS) /* wall ns of the captures' start */

/* A TCP open from 127.0.0.1:lport to 10.0.0.2:rport. */
static struct tt_event open_of(uint64_t ts, uint64_t conn, uint32_t pid, uint16_t lport,
			       uint16_t rport, uint8_t state)
{
	struct tt_event e = ev_base(TT_EV_CONN_OPEN, ts, conn, pid);
	struct tt_ev_open *o = &e.u.open;

	o->family = TT_FAMILY_IPV4;
	o->proto = 6;
	o->direction = TT_DIR_OUTBOUND;
	o->state = state;
	o->laddr[0] = 127;
	o->laddr[3] = 1;
	o->raddr[0] = 10;
	o->raddr[3] = 2;
	o->lport = lport;
	o->rport = rport;
	snprintf(o->comm, sizeof(o->comm), "curl");
	return e;
}

static struct tt_event traffic_of(uint64_t ts, uint64_t conn, uint64_t tx, uint64_t rx)
{
	struct tt_event e = ev_base(TT_EV_TRAFFIC, ts, conn, 42);

	e.u.traffic.tx_bytes = tx;
	e.u.traffic.rx_bytes = rx;
	e.u.traffic.tx_pkts = tx ? 1 : 0;
	e.u.traffic.rx_pkts = rx ? 1 : 0;
	return e;
}

static struct tt_event retrans_of(uint64_t ts, uint64_t conn, uint8_t cause, uint32_t segs)
{
	struct tt_event e = ev_base(TT_EV_RETRANS, ts, conn, 42);

	e.u.retrans.cause = cause;
	if (cause == TT_RETRANS_SPURIOUS)
		e.u.retrans.spurious = segs;
	else
		e.u.retrans.segs = segs;
	return e;
}

static struct tt_event stall_of(uint64_t ts, uint64_t conn, uint8_t side, uint8_t phase,
				uint64_t dur_us)
{
	struct tt_event e = ev_base(TT_EV_STALL, ts, conn, 42);

	e.u.stall.side = side;
	e.u.stall.phase = phase;
	e.u.stall.dur_us = dur_us;
	return e;
}

static struct tt_event close_of(uint64_t ts, uint64_t conn, uint64_t tx, uint64_t rx,
				uint32_t retrans, uint8_t fail)
{
	struct tt_event e = ev_base(TT_EV_CONN_CLOSE, ts, conn, 42);

	e.u.close.tx_bytes = tx;
	e.u.close.rx_bytes = rx;
	e.u.close.retrans = retrans;
	e.u.close.srtt_us = 250;
	e.u.close.state = TT_TCP_CLOSE;
	e.u.close.fail_reason = fail;
	return e;
}

static struct tt_query_summary *summary_new(size_t files)
{
	struct tt_query_summary *s = calloc(1, sizeof(*s));

	if (!s || !(s->fstat = calloc(files, sizeof(*s->fstat)))) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return s;
}

/* One file's events through the aggregation: 0 or the first error. */
static int fold(struct tt_query_summary *s, uint32_t file, struct tt_query_carry *carry,
		uint32_t rec, const struct tt_event *evs, size_t n)
{
	struct tt_query_agg *a;
	int ret = tt_query_agg_new(&a, s, file, carry, rec);

	for (size_t i = 0; !ret && i < n; i++)
		ret = tt_query_agg_apply(a, &evs[i]);
	if (tt_query_agg_finish(a) && !ret)
		ret = -ENOMEM;
	return ret;
}

static void test_health_fold(void)
{
	struct tt_query_summary *s = summary_new(1);
	struct tt_event hs = ev_base(TT_EV_HANDSHAKE, T0 + 1 * MS, 7, 42);
	struct tt_event sample = ev_base(TT_EV_SAMPLE, T0 + 90 * MS, 7, 42);
	struct tt_event evs[16];
	const struct tt_query_conn *c;
	const struct tt_query_stall *st;
	size_t n = 0;

	hs.u.handshake.connect_us = 1234;
	hs.u.handshake.syn_retrans = 1;
	sample.u.sample.cwnd = 10; /* the close's own sample: srtt 0, the close carries it */
	evs[n++] = open_of(T0, 7, 42, 40000, 80, TT_TCP_SYN_SENT);
	evs[n++] = hs;
	evs[n++] = traffic_of(T0 + 10 * MS, 7, 1000, 100);
	evs[n++] = retrans_of(T0 + 20 * MS, 7, TT_RETRANS_RTO, 2);
	evs[n++] = retrans_of(T0 + 21 * MS, 7, TT_RETRANS_FAST, 1);
	evs[n++] = retrans_of(T0 + 22 * MS, 7, TT_RETRANS_TLP, 1);
	evs[n++] = retrans_of(T0 + 23 * MS, 7, TT_RETRANS_SPURIOUS, 1);
	/* a local stall a pass saw twice, then its end: one row from 30 ms to 31.5 ms */
	evs[n++] = stall_of(T0 + 31 * MS, 7, TT_STALL_LOCAL, TT_STALL_BEGIN, 1000);
	evs[n++] = stall_of(T0 + 31 * MS + MS / 2, 7, TT_STALL_LOCAL, TT_STALL_BEGIN, 1500);
	evs[n++] = stall_of(T0 + 31 * MS + MS / 2, 7, TT_STALL_LOCAL, TT_STALL_END, 1500);
	/* a peer stall whose begin no pass saw: its end alone makes the row, 3 ms long */
	evs[n++] = stall_of(T0 + 60 * MS, 7, TT_STALL_PEER, TT_STALL_END, 3000);
	evs[n++] = traffic_of(T0 + 70 * MS, 7, 500, 0);
	sample.ts_ns = T0 + 90 * MS;
	evs[n++] = sample;
	/* the socket's own counters see more than the deltas did (a coalesced pass missed some) */
	evs[n++] = close_of(T0 + 90 * MS, 7, 5000, 100, 4, TT_FAIL_NONE);

	check(fold(s, 0, NULL, 0, evs, n) == 0, "a connection's events fold");
	check(s->n_conns == 1, "one connection row (%zu)", s->n_conns);
	c = &s->conns[0];
	check(c->closed && c->have_open && c->close_ts == T0 + 90 * MS,
	      "opened and closed at 90 ms");
	check(c->tx_bytes == 5000 && c->rx_bytes == 100,
	      "bytes: the close's counters where larger than the deltas' 1500 (%llu, %llu)",
	      (unsigned long long)c->tx_bytes, (unsigned long long)c->rx_bytes);
	check(c->retrans_rto == 2 && c->retrans_fast == 1 && c->retrans_tlp == 1 &&
		  c->retrans_spurious == 1 && c->retrans == 4,
	      "retransmits by cause 2/1/1, 1 spurious, 4 in all (%u/%u/%u, %u, %u)", c->retrans_rto,
	      c->retrans_fast, c->retrans_tlp, c->retrans_spurious, c->retrans);
	check(c->connect_us == 1234 && c->syn_retrans == 1 && (c->have & TT_ACC_HAVE_CONNECT),
	      "the handshake's connect time and SYN retransmits");
	check(c->zero_window_ms == 2 + 3, "zero_window_ms: 1.5 ms rounded, and 3 (%u)",
	      c->zero_window_ms);
	check(c->fail_reason == TT_FAIL_NONE, "no failure");
	check(c->pid == 42 && !strcmp(c->comm, "curl") && c->rtt_us == 250,
	      "owner and close's srtt");
	check(s->n_stalls == 2, "two stall rows, not one per pass that saw it (%zu)", s->n_stalls);
	st = s->stalls;
	check(s->n_stalls == 2 && st[0].side == TT_STALL_LOCAL && st[0].ended &&
		  st[0].start_ns == T0 + 30 * MS && st[0].end_ns == T0 + 31 * MS + MS / 2,
	      "the local stall from 30 ms to 31.5 ms");
	check(s->n_stalls == 2 && st[1].side == TT_STALL_PEER && st[1].ended &&
		  st[1].start_ns == T0 + 57 * MS && st[1].end_ns == T0 + 60 * MS,
	      "the peer stall from its end alone: 57 ms to 60 ms");
	check(s->n_samples == 1 && s->samples[0].s.srtt_us == 250 && s->samples[0].s.cwnd == 10,
	      "the close's sample takes the close's srtt");
	check(s->fstat[0].events == n && s->fstat[0].first_ts == T0 &&
		  s->fstat[0].last_ts == T0 + 90 * MS,
	      "the file's events and time range");
	tt_query_summary_free(s);
}

static void test_failures_and_reuse(void)
{
	struct tt_query_summary *s = summary_new(1);
	struct tt_event evs[8];
	size_t n = 0;

	/* a refused connect: two SYNs resent, no handshake */
	evs[n++] = open_of(T0, 5, 42, 40001, 81, TT_TCP_SYN_SENT);
	evs[n++] = close_of(T0 + 3000 * MS, 5, 0, 0, 2, TT_FAIL_REFUSED);
	/* the same id again (a cookie, a UDP flow id): a new row, not the old one reopened */
	evs[n++] = open_of(T0 + 4000 * MS, 5, 43, 40002, 82, TT_TCP_SYN_SENT);
	evs[n++] = traffic_of(T0 + 4001 * MS, 5, 10, 20);
	/* a connection reset by its peer after some data */
	evs[n++] = open_of(T0 + 4002 * MS, 6, 42, 40003, 83, TT_TCP_SYN_SENT);
	evs[n++] = close_of(T0 + 4003 * MS, 6, 10, 0, 0, TT_FAIL_RESET);

	check(fold(s, 0, NULL, 0, evs, n) == 0, "failures fold");
	check(s->n_conns == 3, "an id opened again after its close is a new row (%zu rows)",
	      s->n_conns);
	if (s->n_conns == 3) {
		const struct tt_query_conn *a = &s->conns[0], *b = &s->conns[1], *r = &s->conns[2];

		check(a->fail_reason == TT_FAIL_REFUSED && a->closed, "refused");
		check(a->syn_retrans == 2 && (a->have & TT_ACC_HAVE_SYN_RETRANS) &&
			  !(a->have & TT_ACC_HAVE_CONNECT),
		      "a failed connect's retransmits are its SYNs; no connect time");
		check(!b->closed && b->lport == 40002 && b->tx_bytes == 10 && b->rx_bytes == 20 &&
			  b->pid == 43,
		      "the second use of the id: its own endpoints, bytes and owner");
		check(r->fail_reason == TT_FAIL_RESET && !(r->have & TT_ACC_HAVE_SYN_RETRANS),
		      "reset after data: no SYN retransmits derived");
	}
	tt_query_summary_free(s);
}

/*
 * A rotation: conn 9 open across two files counts each byte once; conn 10's id comes back with
 * other endpoints (a new connection); and a file of another recording shares nothing.
 */
static void test_rotation_shares(void)
{
	struct tt_query_summary *s = summary_new(3);
	struct tt_query_carry *carry;
	struct tt_event f0[4], f1[6], f2[3];
	struct tt_event re9 = open_of(T0 + 1000 * MS, 9, 42, 40009, 80, TT_TCP_ESTABLISHED);
	struct tt_event re10 = open_of(T0 + 1000 * MS, 10, 42, 41010, 80, TT_TCP_ESTABLISHED);
	struct tt_event other = re9;
	const struct tt_query_conn *c;

	check(tt_query_carry_new(&carry) == 0, "carry");
	f0[0] = open_of(T0, 9, 42, 40009, 80, TT_TCP_SYN_SENT);
	f0[1] = traffic_of(T0 + 500 * MS, 9, 1000, 10);
	f0[2] = open_of(T0, 10, 42, 40010, 80, TT_TCP_SYN_SENT);
	f0[3] = traffic_of(T0 + 600 * MS, 10, 70, 0);
	re9.flags = re10.flags = TT_F_PREEXISTING;
	f1[0] = re9;
	f1[1] = re10; /* other endpoints under the same id: not conn 10 of file 0 */
	f1[2] = traffic_of(T0 + 1500 * MS, 9, 500, 0);
	f1[3] = close_of(T0 + 1600 * MS, 9, 1500, 10, 0, TT_FAIL_NONE);
	f1[4] = traffic_of(T0 + 1500 * MS, 10, 30, 0);
	f1[5] = close_of(T0 + 1700 * MS, 10, 30, 0, 0, TT_FAIL_NONE);
	/* another recording (another host, or overlapping): the same id, nothing carried */
	other.flags = TT_F_PREEXISTING;
	f2[0] = other;
	f2[1] = traffic_of(T0 + 1500 * MS, 9, 500, 0);
	f2[2] = close_of(T0 + 1600 * MS, 9, 1500, 10, 0, TT_FAIL_NONE);

	check(fold(s, 0, carry, 0, f0, 4) == 0 && fold(s, 1, carry, 0, f1, 6) == 0 &&
		  fold(s, 2, carry, 1, f2, 3) == 0,
	      "three files fold");
	check(s->n_conns == 5, "rows: two per file of the rotation, one in the other (%zu)",
	      s->n_conns);
	if (s->n_conns != 5) {
		tt_query_carry_free(carry);
		tt_query_summary_free(s);
		return;
	}
	c = &s->conns[2];
	check(c->id == 9 && c->preexisting && c->base_tx == 1000 && c->base_rx == 10,
	      "file 1's conn 9 continues file 0's: what that counted is its base");
	check(c->tx_bytes == 500 && c->rx_bytes == 0,
	      "its share of the close's 1500 / 10 is what file 0 did not count (%llu / %llu)",
	      (unsigned long long)c->tx_bytes, (unsigned long long)c->rx_bytes);
	check(s->conns[0].tx_bytes + c->tx_bytes == 1500 &&
		  s->conns[0].rx_bytes + c->rx_bytes == 10,
	      "summed over the set: the connection's own counters, each byte once");
	c = &s->conns[3];
	check(c->id == 10 && c->base_tx == 0 && c->tx_bytes == 30 && c->lport == 41010,
	      "an id repeated with other endpoints starts afresh");
	c = &s->conns[4];
	check(c->id == 9 && c->base_tx == 0 && c->tx_bytes == 1500,
	      "another recording's connection carries nothing over");
	tt_query_carry_free(carry);
	tt_query_summary_free(s);
}

static void test_processes(void)
{
	struct tt_query_summary *s = summary_new(1);
	struct tt_event evs[5], ex = ev_base(TT_EV_PROC_EXIT, T0 + 2 * MS, 0, 42);
	size_t n = 0;

	snprintf(ex.u.proc.comm, sizeof(ex.u.proc.comm), "curl");
	ex.u.proc.ppid = 1;
	ex.u.proc.exit_code = 7;
	evs[n++] = open_of(T0, 1, 42, 40100, 80, TT_TCP_SYN_SENT);
	evs[n++] = open_of(T0 + 1 * MS, 2, 42, 40101, 80, TT_TCP_SYN_SENT);
	evs[n++] = ex;
	/* pid 42 used again by a new process */
	evs[n++] = open_of(T0 + 3 * MS, 3, 42, 40102, 80, TT_TCP_SYN_SENT);
	check(fold(s, 0, NULL, 0, evs, n) == 0, "processes fold");
	check(s->n_procs == 2, "an exited pid seen again is a new process (%zu rows)", s->n_procs);
	if (s->n_procs == 2) {
		check(s->procs[0].exited && s->procs[0].exit_code == 7 && s->procs[0].conns == 2 &&
			  s->procs[0].ppid == 1 && s->procs[0].exit_ts == T0 + 2 * MS,
		      "the first: two connections, its exit, code and parent");
		check(!s->procs[1].exited && s->procs[1].conns == 1 &&
			  s->procs[1].first_ts == T0 + 3 * MS,
		      "the second: its own connection, from its own first event");
	}
	tt_query_summary_free(s);
}

/* ------------------------------------------------------------- through SQL */

static int write_capture(const char *path, const char *host, uint64_t start,
			 const struct tt_event *evs, size_t n)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	char err[256];

	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "%s", host);
	snprintf(h.boot_id, sizeof(h.boot_id), "00000000-0000-0000-0000-000000000001");
	snprintf(h.mode, sizeof(h.mode), "coalesce");
	snprintf(h.clock, sizeof(h.clock), "boottime");
	h.start_ns = start;
	if (tt_fmt_writer_open(&w, path, &h, &(struct tt_fmt_wopts){.force = 1}, err,
			       sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (tt_fmt_writer_add(w, &evs[i]))
			return -1;
	return tt_fmt_writer_close(w);
}

/* Checks that the first column of sql's first row reads want as text ("NULL" for NULL). */
static void check_sql(sqlite3 *db, const char *sql, const char *want, const char *what)
{
	char got[128] = "(no row)";
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		check(0, "%s: %s: %s", what, sql, sqlite3_errmsg(db));
		return;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(got, sizeof(got), "%s",
			 sqlite3_column_type(st, 0) == SQLITE_NULL
			     ? "NULL"
			     : (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	check(!strcmp(got, want), "%s (%s)", what, got);
}

#define NCONN 3000
#define NTRAFFIC 40000

static void test_sql(void)
{
	char dir[] = "/tmp/tt_unit_query.XXXXXX", p0[64], p1[64], p2[64];
	char *paths[3] = {p0, p1, p2};
	static struct tt_event big[NTRAFFIC];
	static uint64_t want_tx[NCONN];
	struct tt_event f0[3], f1[5];
	struct tt_event re = open_of(T0 + 1000 * MS, 9, 42, 40009, 80, TT_TCP_ESTABLISHED);
	struct tt_query_set set;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	char err[256];
	uint64_t x = 88172645463325252ull;
	size_t rows = 0, right = 0;

	if (!mkdtemp(dir)) {
		check(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(p0, sizeof(p0), "%s/cap.tt", dir);
	snprintf(p1, sizeof(p1), "%s/cap.tt.1", dir);
	snprintf(p2, sizeof(p2), "%s/big.tt", dir);
	/* a rotation of two files: conn 9 across them, a refused connect in the second */
	f0[0] = open_of(T0, 9, 42, 40009, 80, TT_TCP_SYN_SENT);
	f0[1] = traffic_of(T0 + 500 * MS, 9, 1000, 10);
	f0[2] = stall_of(T0 + 600 * MS, 9, TT_STALL_PEER, TT_STALL_BEGIN, 100000);
	re.flags = TT_F_PREEXISTING;
	f1[0] = re;
	f1[1] = traffic_of(T0 + 1500 * MS, 9, 500, 0);
	f1[2] = close_of(T0 + 1600 * MS, 9, 1500, 10, 0, TT_FAIL_NONE);
	f1[3] = open_of(T0 + 1700 * MS, 11, 42, 40011, 9, TT_TCP_SYN_SENT);
	f1[4] = close_of(T0 + 1800 * MS, 11, 0, 0, 1, TT_FAIL_REFUSED);
	/* many connections' traffic in random order (xorshift), each TRAFFIC's tx known here */
	for (size_t i = 0; i < NTRAFFIC; i++) {
		uint64_t conn;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		conn = x % NCONN;
		big[i] = traffic_of(T0 + i * 1000, 1000 + conn, x >> 40, 0);
		want_tx[conn] += x >> 40;
	}
	/* big.tt from another host: no part of the rotation */
	if (write_capture(p0, "unit", T0, f0, 3) ||
	    write_capture(p1, "unit", T0 + 1000 * MS, f1, 5) ||
	    write_capture(p2, "unit-big", T0, big, NTRAFFIC)) {
		check(0, "captures written");
		return;
	}
	/* the set as tcptop-query opens it, with a grouped scan's budget far below the events' */
	if (tt_query_set_open(&set, "test_query", paths, 3)) {
		check(0, "the set opens: %s", set.err);
		return;
	}
	set.group_budget = 64 << 10; /* 77 passes (TCPTOP_QUERY_DEBUG's count) */
	check(sqlite3_open(":memory:", &db) == SQLITE_OK &&
		  tt_query_setup_virtual(db, &set, err, sizeof(err)) == SQLITE_OK,
	      "virtual tables");

	check_sql(db, "SELECT sum(tx_bytes) || '/' || sum(rx_bytes) FROM connections WHERE id = 9",
		  "1500/10", "a connection across the rotation: its counters once");
	check_sql(db, "SELECT fail_reason FROM connections WHERE id = 11", "refused",
		  "fail_reason by name");
	check_sql(db, "SELECT count(*) FROM connections WHERE id = 9 AND fail_reason IS NULL", "2",
		  "fail_reason NULL without a failure (rows)");
	check_sql(db,
		  "SELECT side || ' ' || (start_ns - 1764000000000000000) || ' ' || "
		  "coalesce(end_ns, 'open') FROM stalls",
		  "peer 500000000 open", "a stall seen begun and never ended: its start, end NULL");
	check_sql(db, "SELECT count(*) FROM connections WHERE file LIKE '%big.tt'", "3000",
		  "one row per connection of the big capture");

	if (sqlite3_prepare_v2(db,
			       "SELECT conn_id, sum(tx_bytes), count(*) FROM events "
			       "WHERE file LIKE '%big.tt' GROUP BY conn_id",
			       -1, &st, NULL) == SQLITE_OK) {
		uint64_t last = 0;
		int ordered = 1;

		while (sqlite3_step(st) == SQLITE_ROW) {
			uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
			uint64_t sum = (uint64_t)sqlite3_column_int64(st, 1);

			ordered &= rows == 0 || id > last;
			last = id;
			rows++;
			right += id >= 1000 && id < 1000 + NCONN && want_tx[id - 1000] == sum;
		}
		sqlite3_finalize(st);
		check(ordered, "GROUP BY rows come in key order");
	}
	check(rows == NCONN && right == NCONN,
	      "GROUP BY conn_id in passes of 64K: every sum as made here (%zu rows, %zu right)",
	      rows, right);
	sqlite3_close(db);
	tt_query_set_free(&set);
	unlink(p0);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

static void test_schema_text(void)
{
	enum tt_query_dialect d = TQ_SQLITE;
	char buf[256], named[256], small[24];

	check(
	    !strcmp(tt_query_table_sql(&tt_query_tables[TQ_T_STALLS], NULL, NULL, buf, sizeof(buf)),
		    "CREATE TABLE stalls(file TEXT, host TEXT, conn_id INTEGER, side TEXT, "
		    "start_ns INTEGER, end_ns INTEGER)"),
	    "stalls' CREATE TABLE (%s)", buf);
	tt_query_table_sql(&tt_query_tables[TQ_T_LOST], NULL, NULL, buf, sizeof(buf));
	tt_query_table_sql(&tt_query_tables[TQ_T_LOST], "s", "x", named, sizeof(named));
	check(!strncmp(buf, "CREATE TABLE lost(", 18) && !strncmp(named, "CREATE TABLE s.x(", 17) &&
		  !strcmp(named + 16, buf + 17),
	      "a schema and another name: the same columns (%s)", named);
	memset(small, 'z', sizeof(small));
	tt_query_table_sql(&tt_query_tables[TQ_T_CONNECTIONS], NULL, NULL, small, sizeof(small));
	check(memchr(small, 0, sizeof(small)) != NULL, "a short buffer ends in a NUL");
	check(tt_query_parse_dialect("pg", &d) == 0 && d == TQ_POSTGRESQL &&
		  tt_query_parse_dialect("postgres", &d) == 0 && d == TQ_POSTGRESQL &&
		  tt_query_parse_dialect("clickhouse", &d) == 0 && d == TQ_CLICKHOUSE &&
		  tt_query_parse_dialect("sqlite", &d) == 0 && d == TQ_SQLITE,
	      "dialect names");
	check(tt_query_parse_dialect("mysql", &d) == -EINVAL && d == TQ_SQLITE,
	      "an unknown dialect: -EINVAL, nothing set");
}

int main(void)
{
	test_health_fold();
	test_failures_and_reuse();
	test_rotation_shares();
	test_processes();
	test_sql();
	test_schema_text();
	printf("%d failures\n", failures);
	return failures != 0;
}
