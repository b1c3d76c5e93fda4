// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the connection state table (state/). No arguments: one line
 * per check, exit 1 on any failure. "bench": apply and select speed figures.
 *
 * Oracles: hand-computed expectations for each event kind, a naive reference
 * model (linear arrays, same documented semantics) driven by random event
 * streams, and a full qsort with an independently written comparator for
 * every sort column and direction.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include "tt_filter.h"
#include "tt_fmt.h"
#include "tt_state.h"
#include "tt_util.h"
#include "tt_view.h"
#include "check.h"
#include "events.h"

/* Every entry of TT_TCP_STATES is the kernel's number: the uapi's copy of
 * include/net/tcp_states.h (BPF_TCP_*); bpf/tcp.bpf.c checks the running kernel's too. */
TT_TCP_STATES(TT_TCP_STATE_IS_KERNEL, BPF_TCP_)

#define SEC 1000000000ull
#define MS 1000000ull

/* ------------------------------------------------------------ event builders */

static void set_comm(char *dst, const char *src)
{
	memset(dst, 0, TT_COMM_LEN);
	memcpy(dst, src, strnlen(src, TT_COMM_LEN - 1));
}

static struct tt_event ev_open4(uint64_t ts, uint64_t id, uint32_t pid, const char *comm,
				uint8_t proto, uint32_t lip, uint16_t lport, uint32_t rip,
				uint16_t rport)
{
	struct tt_event e = ev_base(TT_EV_CONN_OPEN, ts, id, pid);

	e.u.open.family = TT_FAMILY_IPV4;
	e.u.open.proto = proto;
	e.u.open.direction = TT_DIR_OUTBOUND;
	e.u.open.state = proto == 6 ? 2 : 0; /* SYN_SENT */
	for (int i = 0; i < 4; i++) {
		e.u.open.laddr[i] = (uint8_t)(lip >> (24 - 8 * i));
		e.u.open.raddr[i] = (uint8_t)(rip >> (24 - 8 * i));
	}
	e.u.open.lport = lport;
	e.u.open.rport = rport;
	e.u.open.netns = 4026531840u;
	e.u.open.cgroup_id = 77;
	if (comm)
		set_comm(e.u.open.comm, comm);
	if (!pid)
		e.flags |= TT_F_PID_UNKNOWN;
	return e;
}

static struct tt_event ev_traffic(uint64_t ts, uint64_t id, uint32_t pid, uint64_t tx, uint64_t rx,
				  uint32_t txp, uint32_t rxp)
{
	struct tt_event e = ev_base(TT_EV_TRAFFIC, ts, id, pid);

	e.u.traffic.tx_bytes = tx;
	e.u.traffic.rx_bytes = rx;
	e.u.traffic.tx_pkts = txp;
	e.u.traffic.rx_pkts = rxp;
	return e;
}

static struct tt_event ev_close(uint64_t ts, uint64_t id, uint64_t tx, uint64_t rx, uint32_t txp,
				uint32_t rxp, uint32_t retrans, uint8_t state)
{
	struct tt_event e = ev_base(TT_EV_CONN_CLOSE, ts, id, 0);

	e.u.close.tx_bytes = tx;
	e.u.close.rx_bytes = rx;
	e.u.close.tx_pkts = txp;
	e.u.close.rx_pkts = rxp;
	e.u.close.retrans = retrans;
	e.u.close.state = state;
	return e;
}

static struct tt_event ev_proc(uint16_t kind, uint64_t ts, uint64_t id, uint32_t pid,
			       const char *comm)
{
	struct tt_event e = ev_base(kind, ts, id, pid);

	if (comm)
		set_comm(e.u.proc.comm, comm);
	return e;
}

static struct tt_state *new_state(uint64_t ttl, const struct tt_filter *f)
{
	struct tt_state_opts o = {.ttl_ns = ttl, .filter = f};
	struct tt_state *st;

	if (tt_state_new(&st, &o)) {
		fprintf(stderr, "tt_state_new failed\n");
		exit(1);
	}
	return st;
}

static void apply(struct tt_state *st, struct tt_event e)
{
	int err = tt_state_apply(st, &e);

	if (err) {
		fprintf(stderr, "apply: %s\n", strerror(-err));
		exit(1);
	}
}

/* ------------------------------------------------------------ per-kind checks */

static void test_kinds(void)
{
	struct tt_state *st = new_state(0, NULL);
	struct tt_state_summary s;
	const struct tt_conn *c;
	struct tt_event e;

	apply(st, ev_open4(1000, 1, 42, "curl", 6, 0x7f000001, 40000, 0x7f000002, 80));
	c = tt_state_find(st, 1);
	check(c && c->pid == 42 && !strcmp(c->comm, "curl") && c->proto == 6 &&
		  c->family == TT_FAMILY_IPV4 && c->lport == 40000 && c->rport == 80 &&
		  c->laddr[0] == 127 && c->laddr[3] == 1 && c->raddr[3] == 2 && c->state == 2 &&
		  c->direction == TT_DIR_OUTBOUND && c->cgroup_id == 77 &&
		  c->netns == 4026531840u && c->first_ts == 1000 && c->flags == TT_CONN_OPENED,
	      "CONN_OPEN creates a connection with every field of the event");
	check(tt_state_count(st) == 1 && !tt_state_find(st, 2), "count 1, unknown id not found");

	apply(st, ev_traffic(2000, 1, 42, 100, 50, 2, 1));
	apply(st, ev_traffic(3000, 1, 42, 10, 5, 1, 1));
	c = tt_state_find(st, 1);
	check(c->tx_bytes == 110 && c->rx_bytes == 55 && c->tx_pkts == 3 && c->rx_pkts == 2 &&
		  c->last_ts == 3000 && c->first_ts == 1000,
	      "TRAFFIC adds deltas and moves last_ts");

	e = ev_base(TT_EV_STATE, 3100, 1, 0);
	e.u.state.old_state = 2;
	e.u.state.new_state = 1;
	apply(st, e);
	check(tt_state_find(st, 1)->state == 1, "STATE sets the TCP state");

	e = ev_base(TT_EV_RTT, 3200, 1, 0);
	e.u.rtt.srtt_us = 500;
	apply(st, e);
	e.u.rtt.srtt_us = 300;
	apply(st, e);
	c = tt_state_find(st, 1);
	check(c->rtt_us == 300 && c->max_rtt_us == 500, "RTT keeps the last (300) and max (500)");

	e = ev_base(TT_EV_RETRANS, 3300, 1, 0);
	e.u.retrans.segs = 3;
	apply(st, e);
	e.u.retrans.segs = 2;
	apply(st, e);
	check(tt_state_find(st, 1)->retrans == 5, "RETRANS adds segments");

	e = ev_base(TT_EV_RESET, 3400, 1, 0);
	e.u.reset.dir = TT_RST_RECEIVED;
	apply(st, e);
	apply(st, e);
	check(tt_state_find(st, 1)->resets == 2, "RESET counts resets");

	e = ev_base(TT_EV_LOST, 3500, 0, 0);
	e.u.lost.count = 7;
	apply(st, e);
	e.u.lost.count = 5;
	apply(st, e);
	e = ev_base(TT_EV_STATS, 3600, 0, 0);
	e.u.stats.events = 999;
	apply(st, e);
	tt_state_summary(st, &s);
	check(s.lost == 12, "LOST adds its count to the summary (12)");
	check(s.events == 13 && s.now_ns == 3600 && s.open == 1 && s.closed == 0 &&
		  s.tx_bytes == 110 && s.rx_bytes == 55,
	      "summary: 13 events, now 3600, 1 open, totals 110/55");

	/* reconciliation: the close's absolute tx (1000) exceeds the deltas (110), rx (40) not */
	apply(st, ev_close(4000, 1, 1000, 40, 9, 1, 4, 7));
	c = tt_state_find(st, 1);
	check(c && (c->flags & TT_CONN_CLOSED) && c->close_ts == 4000 && c->state == 7,
	      "CONN_CLOSE marks closed at its time and sets the state");
	check(c->tx_bytes == 1000 && c->rx_bytes == 55 && c->tx_pkts == 9 && c->rx_pkts == 2 &&
		  c->retrans == 5,
	      "CONN_CLOSE reconciles: larger absolute counters win, smaller are ignored");
	tt_state_summary(st, &s);
	check(s.open == 0 && s.closed == 1 && s.tx_bytes == 1000 && s.rx_bytes == 55,
	      "summary after close: 0 open, 1 closed, totals reconciled");
	tt_state_free(st);
}

/* Retransmits by cause; a spurious event adds its duplicates apart and nothing to the total. */
static void test_retrans_causes(void)
{
	static const struct {
		uint8_t cause;
		uint32_t segs, spurious;
	} in[] = {{TT_RETRANS_RTO, 4, 0}, {TT_RETRANS_FAST, 2, 0},    {TT_RETRANS_TLP, 1, 0},
		  {TT_RETRANS_SYN, 1, 0}, {TT_RETRANS_UNKNOWN, 5, 0}, {TT_RETRANS_SPURIOUS, 0, 3},
		  {TT_RETRANS_FAST, 3, 0}};
	struct tt_state *st = new_state(0, NULL);
	const struct tt_conn *c;

	apply(st, ev_open4(1000, 1, 42, "curl", 6, 0x7f000001, 40000, 0x7f000002, 80));
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct tt_event e = ev_base(TT_EV_RETRANS, 1100 + i, 1, 0);

		e.u.retrans.segs = in[i].segs;
		e.u.retrans.cause = in[i].cause;
		e.u.retrans.spurious = in[i].spurious;
		apply(st, e);
	}
	c = tt_state_find(st, 1);
	check(c && c->retrans == 16 && c->retrans_rto == 4 && c->retrans_fast == 5 &&
		  c->retrans_tlp == 1 && c->retrans_spurious == 3,
	      "RETRANS by cause: rto 4, fast 5, tlp 1, spurious 3 apart; total 16 (syn, unknown)");
	tt_state_free(st);
}

static void test_placeholder_and_procs(void)
{
	struct tt_state *st = new_state(0, NULL);
	const struct tt_conn *c;
	struct tt_event e;

	apply(st, ev_traffic(1000, 9, 0, 300, 200, 3, 2));
	c = tt_state_find(st, 9);
	check(c && c->family == 0 && c->proto == 0 && c->pid == 0 && c->tx_bytes == 300 &&
		  c->rx_bytes == 200 && c->first_ts == 1000,
	      "TRAFFIC before OPEN creates a placeholder (family 0) with the counters");

	apply(st, ev_open4(2000, 9, 0, NULL, 6, 0x0a000001, 5000, 0x0a000002, 22));
	c = tt_state_find(st, 9);
	check(c && c->family == 4 && c->proto == 6 && c->rport == 22 && c->tx_bytes == 300 &&
		  c->first_ts == 1000 && c->pid == 0,
	      "a later OPEN fills the placeholder's addresses, keeps counters");

	apply(st, ev_open4(2500, 9, 55, "sshd", 6, 0x0a000001, 5000, 0x0a000002, 22));
	c = tt_state_find(st, 9);
	check(c->pid == 55 && !strcmp(c->comm, "sshd") && (c->flags & TT_CONN_PID_LATE),
	      "re-open with a known pid fills pid/comm (PID_LATE)");

	apply(st, ev_open4(3000, 10, 0, NULL, 6, 0x0a000001, 5001, 0x0a000002, 22));
	apply(st, ev_proc(TT_EV_CONN_PROC, 3100, 10, 66, "nginx"));
	c = tt_state_find(st, 10);
	check(c->pid == 66 && !strcmp(c->comm, "nginx") && (c->flags & TT_CONN_PID_LATE),
	      "CONN_PROC attributes pid/comm late");

	/* names learned from PROC_NAME are used when traffic brings the pid */
	apply(st, ev_proc(TT_EV_PROC_NAME, 3200, 0, 77, "redis-server"));
	apply(st, ev_open4(3300, 11, 0, NULL, 6, 0x0a000001, 5002, 0x0a000002, 6379));
	apply(st, ev_traffic(3400, 11, 77, 1, 0, 1, 0));
	c = tt_state_find(st, 11);
	check(c->pid == 77 && !strcmp(c->comm, "redis-server") && (c->flags & TT_CONN_PID_LATE),
	      "first traffic with a pid attributes it, name from PROC_NAME");

	apply(st, ev_open4(3500, 12, 66, "nginx", 6, 0x0a000001, 5003, 0x0a000002, 80));
	apply(st, ev_proc(TT_EV_PROC_EXEC, 3600, 0, 66, "nginx-new"));
	check(!strcmp(tt_state_find(st, 10)->comm, "nginx-new") &&
		  !strcmp(tt_state_find(st, 12)->comm, "nginx-new") &&
		  !strcmp(tt_state_find(st, 9)->comm, "sshd"),
	      "PROC_EXEC renames every connection of its pid, and only those");
	apply(st, ev_proc(TT_EV_PROC_NAME, 3700, 0, 55, "sshd2"));
	check(!strcmp(tt_state_find(st, 9)->comm, "sshd2"), "PROC_NAME renames too");

	e = ev_proc(TT_EV_PROC_EXIT, 3800, 0, 77, "redis-server");
	apply(st, e);
	apply(st, ev_open4(3900, 13, 0, NULL, 6, 0x0a000001, 5004, 0x0a000002, 6379));
	apply(st, ev_traffic(4000, 13, 77, 1, 0, 1, 0));
	c = tt_state_find(st, 13);
	check(c->pid == 77 && c->comm[0] == 0 &&
		  !strcmp(tt_state_find(st, 11)->comm, "redis-server"),
	      "PROC_EXIT forgets the pid's name (reuse), connections keep theirs");

	e = ev_base(TT_EV_CONN_OPEN, 4100, 14, 88);
	e.flags = TT_F_PREEXISTING;
	e.u.open.family = TT_FAMILY_IPV6;
	e.u.open.proto = 17;
	e.u.open.laddr[15] = 1;
	e.u.open.lport = 53;
	strcpy(e.u.open.comm, "dnsmasq");
	apply(st, e);
	c = tt_state_find(st, 14);
	check(c && (c->flags & TT_CONN_PREEXISTING) && !(c->flags & TT_CONN_PID_LATE) &&
		  c->family == 6 && c->proto == 17,
	      "PREEXISTING flag from OPEN");

	apply(st, ev_close(5000, 20, 700, 800, 7, 8, 0, 7));
	c = tt_state_find(st, 20);
	check(c && c->family == 0 && (c->flags & TT_CONN_CLOSED) && c->tx_bytes == 700 &&
		  c->rx_bytes == 800,
	      "CONN_CLOSE for an unknown id keeps a closed placeholder with its counters");
	tt_state_free(st);
}

/* ------------------------------------------------------------ per-pid index */

struct who {
	uint64_t id;
	uint32_t pid;
	char comm[TT_COMM_LEN];
};

struct who_list {
	struct who *v;
	size_t n, cap;
};

static void who_fn(void *ctx, const struct tt_conn *c)
{
	struct who_list *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			exit(1);
	}
	l->v[l->n].id = c->id;
	l->v[l->n].pid = c->pid;
	memcpy(l->v[l->n].comm, c->comm, TT_COMM_LEN);
	l->n++;
}

/*
 * Applies PROC_EXEC or PROC_NAME (pid, name) and checks it against what the
 * table held before, read with tt_state_foreach (a walk of the slab, not of
 * the index): the pid's connections, and only those, took the name; with
 * drop (a name filter the new name fails) they are gone instead. *hits: how
 * many connections the pid had.
 */
static int exec_ok(struct tt_state *st, uint16_t kind, uint64_t ts, uint32_t pid, const char *name,
		   int drop, size_t *hits)
{
	struct who_list before = {0};
	char want[TT_COMM_LEN];
	size_t n = 0;
	int ok = 1;

	set_comm(want, name);
	tt_state_foreach(st, who_fn, &before);
	apply(st, ev_proc(kind, ts, 0, pid, name));
	for (size_t i = 0; i < before.n; i++) {
		const struct who *w = &before.v[i];
		const struct tt_conn *c = tt_state_find(st, w->id);

		if (w->pid == pid) {
			n++;
			ok &= drop ? !c : c && c->pid == pid && !memcmp(c->comm, want, TT_COMM_LEN);
		} else {
			ok &= c && c->pid == w->pid && !memcmp(c->comm, w->comm, TT_COMM_LEN);
		}
	}
	ok &= tt_state_count(st) == before.n - (drop ? n : 0);
	free(before.v);
	*hits = n;
	return ok;
}

static void test_pid_index(void)
{
	struct tt_state *st = new_state(SEC, NULL);
	struct tt_filter f;
	uint64_t t = 10 * SEC;
	size_t n, n2, execs = 0, renamed = 0;
	char err[128];
	int ok;

	/*
	 * Removals from the head, the middle and the tail of a pid's list (the
	 * index links a connection right after the head: pid 10's is 1, 3, 2).
	 */
	for (uint64_t id = 1; id <= 3; id++)
		apply(st, ev_open4(t, id, 10, "ten", 6, 1, (uint16_t)id, 2, 80));
	apply(st, ev_open4(t, 4, 11, "eleven", 6, 1, 4, 2, 80));
	apply(st, ev_open4(t, 5, 0, NULL, 6, 1, 5, 2, 80)); /* no pid yet */
	ok = exec_ok(st, TT_EV_PROC_EXEC, t, 10, "ten-a", 0, &n) && n == 3;
	check(ok, "pid index after opens: PROC_EXEC renames the pid's 3 connections, no other");

	/* owner changes: the head (1) and the tail (2) of pid 10's list move */
	apply(st, ev_proc(TT_EV_CONN_PROC, t, 1, 11, "eleven"));
	apply(st, ev_proc(TT_EV_CONN_PROC, t, 2, 12, "twelve"));
	ok = exec_ok(st, TT_EV_PROC_NAME, t, 10, "ten-b", 0, &n) && n == 1;
	ok &= exec_ok(st, TT_EV_PROC_EXEC, t, 11, "eleven-b", 0, &n2) && n2 == 2;
	check(ok, "pid index after CONN_PROC moved connections: each pid renames what it owns now");

	/* pids learned from traffic: the pidless open (5), and a placeholder (6) */
	apply(st, ev_traffic(t, 5, 12, 1, 1, 1, 1));
	apply(st, ev_traffic(t, 6, 12, 1, 1, 1, 1));
	ok = exec_ok(st, TT_EV_PROC_EXEC, t, 12, "twelve-b", 0, &n) && n == 3;
	check(ok, "pid index after pids came with traffic: PROC_EXEC finds them");

	/* eviction from the middle of pid 12's list (2, 6, 5) */
	apply(st, ev_close(t, 6, 0, 0, 0, 0, 0, 7));
	t += 2 * SEC;
	tt_state_tick(st, t);
	ok = !tt_state_find(st, 6);
	ok &= exec_ok(st, TT_EV_PROC_EXEC, t, 12, "twelve-c", 0, &n) && n == 2;
	check(ok, "pid index after eviction: the evicted is gone, the rest still renamed");

	/* the freed slot is reused by a connection of another pid */
	apply(st, ev_open4(t, 7, 13, "thirteen", 6, 1, 7, 2, 80));
	apply(st, ev_open4(t, 8, 13, "thirteen", 6, 1, 8, 2, 80));
	ok = exec_ok(st, TT_EV_PROC_EXEC, t, 12, "twelve-d", 0, &n) && n == 2;
	ok &= exec_ok(st, TT_EV_PROC_EXEC, t, 13, "thirteen-b", 0, &n2) && n2 == 2;
	check(ok, "pid index after slot reuse: the new owners only");

	/* a pid whose list emptied, and one that never had a connection */
	apply(st, ev_close(t, 2, 0, 0, 0, 0, 0, 7));
	apply(st, ev_close(t, 5, 0, 0, 0, 0, 0, 7));
	t += 2 * SEC;
	tt_state_tick(st, t);
	ok = exec_ok(st, TT_EV_PROC_EXEC, t, 12, "twelve-e", 0, &n) && n == 0;
	ok &= exec_ok(st, TT_EV_PROC_EXEC, t, 999, "nobody", 0, &n2) && n2 == 0;
	check(ok, "pid index: PROC_EXEC of a pid with no connection left, or none ever, changes "
		  "nothing");
	tt_state_free(st);

	/* random churn over 3000 ids and 40 pids; every exec checked against the slab */
	st = new_state(SEC, NULL);
	srand(4242);
	ok = 1;
	for (int i = 0; i < 100000 && ok; i++) {
		int k = rand() % 100;
		uint64_t id = 1 + (uint64_t)(rand() % 3000);
		uint32_t pid = 1 + (uint32_t)(rand() % 40);

		t += MS;
		if (k < 30)
			apply(st, ev_open4(t, id, rand() % 4 ? pid : 0, "x", 6, 1, 1, 2, 2));
		else if (k < 50)
			apply(st, ev_traffic(t, id, rand() % 2 ? pid : 0, 1, 1, 1, 1));
		else if (k < 60)
			apply(st, ev_proc(TT_EV_CONN_PROC, t, id, pid, rand() % 2 ? "y" : NULL));
		else if (k < 80)
			apply(st, ev_close(t, id, 0, 0, 0, 0, 0, 7));
		else if (k < 82)
			tt_state_tick(st, t);
		else if (k < 84)
			apply(st, ev_proc(TT_EV_PROC_EXIT, t, 0, pid, NULL));
		else if (k < 85) {
			ok = exec_ok(st, rand() % 2 ? TT_EV_PROC_EXEC : TT_EV_PROC_NAME, t, pid,
				     rand() % 2 ? "p" : "q", 0, &n);
			execs++;
			renamed += n;
		}
	}
	check(ok && execs > 500 && renamed > 1000,
	      "pid index under churn (opens, owner changes, late pids, evictions, reuse): %zu "
	      "execs renamed exactly their pid's connections (%zu in all)",
	      execs, renamed);
	tt_state_free(st);

	/* a name filter: the renamed leave the table while their list is walked */
	memset(&f, 0, sizeof(f));
	tt_filter_add_comm(&f, "keep", err, sizeof(err));
	st = new_state(SEC, &f);
	for (uint64_t id = 1; id <= 60; id++)
		apply(st,
		      ev_open4(t, id, 20 + (uint32_t)(id % 3), "keep", 6, 1, (uint16_t)id, 2, 80));
	ok = exec_ok(st, TT_EV_PROC_EXEC, t, 20, "other", 1, &n) && n == 20;
	ok &= exec_ok(st, TT_EV_PROC_EXEC, t, 21, "keep", 0, &n2) && n2 == 20;
	apply(st, ev_open4(t, 61, 20, "keep", 6, 1, 61, 2, 80));
	ok &= exec_ok(st, TT_EV_PROC_NAME, t, 20, "keep", 0, &n) && n == 1;
	check(ok && tt_state_count(st) == 41,
	      "pid index with a name filter: an exec out of it drops exactly the pid's "
	      "connections, the index stays right");
	tt_state_free(st);
}

/* ------------------------------------------------------------ TTL, slots, rates */

static void test_ttl_and_rates(void)
{
	struct tt_state *st = new_state(10 * SEC, NULL);
	struct tt_state_summary s;
	const struct tt_conn *c;
	size_t mem;
	int ok;

	apply(st, ev_open4(100 * SEC, 1, 1, "a", 6, 1, 1, 2, 2));
	apply(st, ev_open4(100 * SEC, 2, 1, "a", 6, 1, 3, 2, 2));
	apply(st, ev_close(100 * SEC, 1, 0, 0, 0, 0, 0, 7));
	tt_state_tick(st, 110 * SEC - 1);
	check(tt_state_find(st, 1) != NULL, "closed connection still there 1 ns before its TTL");
	tt_state_tick(st, 110 * SEC);
	tt_state_summary(st, &s);
	check(!tt_state_find(st, 1) && tt_state_count(st) == 1 && s.closed == 0 && s.open == 1,
	      "evicted exactly at close_ts + ttl; open connection stays");

	/* slot reuse: churn many connections through the table, memory does not move */
	/* (the timeline rings full first: they grow to their bounds, test_timeline checks that) */
	for (uint32_t i = 0; i < TT_STATE_TIMELINE_EVENTS; i++)
		apply(st, ev_base(TT_EV_STALL, 110 * SEC, 2, 1));
	for (uint32_t i = 0; i < TT_STATE_TIMELINE_SAMPLES; i++)
		apply(st, ev_base(TT_EV_RTT, 110 * SEC, 2, 1));
	mem = tt_state_memory(st);
	ok = 1;
	for (uint64_t round = 0; round < 50; round++) {
		uint64_t t = (200 + round * 20) * SEC;

		for (uint64_t i = 0; i < 500; i++) {
			uint64_t id = 1000 + round * 500 + i;

			apply(st, ev_open4(t, id, 5, "churn", 6, 1, (uint16_t)i, 2, 80));
			apply(st, ev_close(t + 1, id, 10, 10, 1, 1, 0, 7));
		}
		tt_state_tick(st, t + 15 * SEC);
		if (tt_state_count(st) != 1)
			ok = 0;
		if (round == 1)
			mem = tt_state_memory(st);
	}
	check(ok && tt_state_memory(st) == mem,
	      "50 rounds of 500 open/close/evict: count back to 1 each time, memory flat (%zu B)",
	      mem);
	tt_state_free(st);

	st = new_state(0, NULL);
	apply(st, ev_open4(10 * SEC, 1, 1, "a", 6, 1, 1, 2, 2));
	apply(st, ev_open4(10 * SEC, 2, 1, "a", 6, 1, 2, 2, 2));
	tt_state_tick(st, 10 * SEC);
	apply(st, ev_traffic(10 * SEC + 1, 1, 1, 1000, 3000, 1, 1));
	apply(st, ev_traffic(10 * SEC + 2, 2, 1, 250, 0, 1, 1));
	tt_state_tick(st, 11 * SEC);
	c = tt_state_find(st, 1);
	tt_state_summary(st, &s);
	check(c->tx_rate == 1000 && c->rx_rate == 3000 && tt_state_find(st, 2)->tx_rate == 250 &&
		  s.tx_rate == 1250 && s.rx_rate == 3000,
	      "rates over a 1 s tick: 1000/3000 and 250 B/s, summary 1250/3000");
	tt_state_tick(st, 11 * SEC);
	check(tt_state_find(st, 1)->tx_rate == 1000, "a tick with elapsed 0 keeps the rates");
	apply(st, ev_traffic(11 * SEC + 5, 1, 1, 500, 0, 1, 0));
	tt_state_tick(st, 11 * SEC + SEC / 2);
	c = tt_state_find(st, 1);
	check(c->tx_rate == 1000 && c->rx_rate == 0, "500 B over 0.5 s = 1000 B/s, idle rx 0");
	tt_state_tick(st, 13 * SEC + SEC / 2);
	tt_state_summary(st, &s);
	check(tt_state_find(st, 1)->tx_rate == 0 && s.tx_rate == 0 && s.tx_bytes == 1750,
	      "an idle interval gives 0; totals stay 1750");
	tt_state_tick(st, 14 * SEC);
	apply(st, ev_traffic(14 * SEC + 1, 1, 1, 30ull << 30, 0, 1, 0));
	tt_state_tick(st, 14 * SEC + SEC / 2);
	check(tt_state_find(st, 1)->tx_rate == (60ull << 30),
	      "no overflow: 30 GiB in 0.5 s gives 60 GiB/s");
	tt_state_free(st);
}

/*
 * A close carries the socket's absolute counters: for a connection that began before the
 * capture (or a rotated file that starts mid-connection), they hold bytes sent before the
 * capture. The totals rise to them; the rates of the interval the close lands in do not.
 */
static void test_close_catch_up_is_not_a_rate(void)
{
	struct tt_state *st = new_state(0, NULL), *cl;
	struct tt_state_summary s;
	const struct tt_conn *c;
	struct tt_event e;

	e = ev_open4(100 * SEC, 1, 7, "sender", 6, 1, 5000, 2, 80);
	e.flags |= TT_F_PREEXISTING;
	e.u.open.state = 1;
	apply(st, e);
	tt_state_tick(st, 100 * SEC);
	apply(st, ev_traffic(100 * SEC + SEC / 2, 1, 7, 1000, 10, 1, 1));
	tt_state_tick(st, 101 * SEC);
	check(tt_state_find(st, 1)->tx_rate == 1000, "preexisting: 1000 B in the first second");
	apply(st, ev_traffic(101 * SEC + SEC / 2, 1, 7, 1000, 10, 1, 1));
	/* 3 MB sent before the capture, 2000 B during it */
	apply(st, ev_close(101 * SEC + 9 * SEC / 10, 1, 3002000, 9020, 2100, 40, 0, 7));
	/* a closed connection seen only by its close (a rotated file's, say) */
	apply(st, ev_close(101 * SEC + 9 * SEC / 10, 2, 500000, 600000, 400, 500, 0, 7));
	if (tt_state_clone(st, &cl)) {
		fprintf(stderr, "clone failed\n");
		exit(1);
	}
	tt_state_tick(st, 102 * SEC);
	c = tt_state_find(st, 1);
	tt_state_summary(st, &s);
	check(c->tx_bytes == 3002000 && c->rx_bytes == 9020 && s.tx_bytes == 3502000 &&
		  s.rx_bytes == 609020,
	      "totals are the close's absolute counters (3002000/9020, summary 3502000/609020)");
	check(c->tx_rate == 1000 && c->rx_rate == 10,
	      "the close's catch-up is no rate: 1000/10 B/s in its interval (got %" PRIu64
	      "/%" PRIu64 ")",
	      c->tx_rate, c->rx_rate);
	c = tt_state_find(st, 2);
	check(c->tx_rate == 0 && c->rx_rate == 0 && s.tx_rate == 1000 && s.rx_rate == 10,
	      "a connection known only by its close has no rate; summary 1000/10 B/s (got %" PRIu64
	      "/%" PRIu64 ")",
	      s.tx_rate, s.rx_rate);
	tt_state_tick(cl, 102 * SEC);
	check(tt_state_find(cl, 1)->tx_rate == 1000 && tt_state_find(cl, 2)->tx_rate == 0,
	      "a clone taken between the close and the tick gives the same rates");
	apply(st, ev_traffic(102 * SEC + 1, 1, 7, 300, 0, 1, 0));
	tt_state_tick(st, 103 * SEC);
	c = tt_state_find(st, 1);
	check(c->tx_rate == 300 && c->tx_bytes == 3002300,
	      "a late delta after the close still counts at its time (300 B/s, total 3002300)");
	tt_state_free(cl);
	tt_state_free(st);
}

/*
 * A sampling source's deltas (sample_ns 1 s) cover the time since the connection's previous
 * sample. A sender at 1000 B/s steady, sampled every second with a pass's jitter (each delta
 * the bytes of exactly the time since the one before): ticks of 0.7, 1 and 1.3 s, whose
 * intervals hold one sample, none or two, all show 1000 B/s, where counting each delta in
 * the interval of its stamp gave 0, 1429, 2000 or 769. It stops: its rate falls to 0 once a
 * sampling interval and a quarter have passed with no sample. After a pause, a delta is
 * spread over no more than that before its stamp. A close completes it at once.
 */
/*
 * A source that announces a connection with its first sample (a UDP flow at a flush): open and
 * 3000 B both 1 ms after a tick. The bytes are over the tick (100 ms), not over that 1 ms.
 */
static void test_first_rate_of_a_flow_announced_with_its_sample(void)
{
	struct tt_state_opts o = {.sample_ns = 100 * MS};
	uint64_t t = 100 * SEC;
	struct tt_state *st;

	if (tt_state_new(&st, &o))
		exit(1);
	tt_state_tick(st, t);
	apply(st, ev_open4(t + MS, 1, 1, "snd", 17, 1, 1, 2, 2));
	apply(st, ev_traffic(t + MS, 1, 1, 3000, 0, 3, 0));
	tt_state_tick(st, t + 100 * MS);
	check(tt_state_find(st, 1)->tx_rate == 30000,
	      "a flow announced with its first sample 1 ms after a tick: 3000 B over the 100 ms "
	      "tick, 30000 B/s (got %" PRIu64 ")",
	      tt_state_find(st, 1)->tx_rate);
	/* from its sample on it is spread as any: 100 ms later, 1000 B more over that 100 ms */
	apply(st, ev_traffic(t + 101 * MS, 1, 1, 1000, 0, 1, 0));
	tt_state_tick(st, t + 200 * MS);
	check(tt_state_find(st, 1)->tx_rate == 10000,
	      "its next sample is spread over the 100 ms it covers: 10000 B/s (got %" PRIu64 ")",
	      tt_state_find(st, 1)->tx_rate);
	tt_state_free(st);
}

static void test_spread_rates(void)
{
	static const int64_t jitter_ms[] = {0, 40, -30, 10, -40, 35, 0, -20, 25, -10, 30, 0};
	enum { NS = sizeof(jitter_ms) / sizeof(jitter_ms[0]) };
	static const uint64_t ticks_ms[] = {700, 1000, 1300};
	struct tt_state_opts o = {.sample_ns = SEC};

	for (size_t k = 0; k < sizeof(ticks_ms) / sizeof(ticks_ms[0]); k++) {
		uint64_t tick = ticks_ms[k] * MS, t = 100 * SEC + 500 * MS, prev = 100 * SEC;
		uint64_t worst = 0, last = 0, samples[NS];
		struct tt_state *st;
		const struct tt_conn *c;
		size_t i = 0, n = 0;
		int stopped = 0;

		if (tt_state_new(&st, &o))
			exit(1);
		for (size_t j = 0; j < NS; j++)
			samples[j] =
			    100 * SEC + (j + 1) * SEC + (uint64_t)(jitter_ms[j] * (int64_t)MS);
		tt_state_tick(st, t - tick);
		apply(st, ev_open4(100 * SEC, 1, 1, "snd", 6, 1, 1, 2, 2));
		for (; t < 100 * SEC + (NS + 4) * SEC; t += tick) {
			for (; i < NS && samples[i] < t; prev = samples[i++])
				apply(st, ev_traffic(samples[i], 1, 1, (samples[i] - prev) / MS, 0,
						     1, 0));
			tt_state_tick(st, t);
			c = tt_state_find(st, 1);
			if (i > 0 && i < NS) {
				uint64_t d =
				    c->tx_rate > 1000 ? c->tx_rate - 1000 : 1000 - c->tx_rate;

				worst = d > worst ? d : worst;
				n++;
			} else if (i == NS) {
				/* after the last sample: its rate, then 0 for good */
				if (t >= samples[NS - 1] + SEC + SEC / 4 + tick && c->tx_rate)
					stopped = -1;
				else if (!c->tx_rate && stopped >= 0)
					stopped = 1;
				else if (c->tx_rate && stopped == 1)
					stopped = -1;
				last = c->tx_rate > last ? c->tx_rate : last;
			}
		}
		check(n >= 7 && worst <= 1 && last == 1000,
		      "ticks of %" PRIu64 " ms over 1 s samples: every rate 1000 B/s (%zu ticks, "
		      "worst off by %" PRIu64 ")",
		      ticks_ms[k], n, worst);
		check(stopped == 1,
		      "ticks of %" PRIu64 " ms: 0 B/s from 1.25 s after the last sample on",
		      ticks_ms[k]);
		/* a pause: the delta after it covers 1.25 s at most, the close completes it */
		apply(st, ev_traffic(t, 1, 1, 500, 0, 1, 0));
		tt_state_tick(st, t + SEC / 2);
		check(tt_state_find(st, 1)->tx_rate == 400,
		      "ticks of %" PRIu64 " ms: after a pause, 500 B over the 1.25 s before the "
		      "sample: 400 B/s (got %" PRIu64 ")",
		      ticks_ms[k], tt_state_find(st, 1)->tx_rate);
		apply(st, ev_close(t + SEC / 2 + 1, 1, 0, 0, 0, 0, 0, 7));
		tt_state_tick(st, t + SEC);
		check(tt_state_find(st, 1)->tx_rate == 0,
		      "ticks of %" PRIu64 " ms: closed, nothing comes after: 0 B/s at once",
		      ticks_ms[k]);
		tt_state_free(st);
	}
	test_first_rate_of_a_flow_announced_with_its_sample();
}

/* ------------------------------------------------------------ filters */

static void test_filters(void)
{
	struct tt_filter f;
	struct tt_state *st;
	struct tt_state_summary s;
	char err[128];
	const struct tt_conn *rows[8];
	struct tt_select sel = {.sort = TT_COL_TX};
	size_t total, n;

	memset(&f, 0, sizeof(f));
	tt_filter_add_port(&f, "80", err, sizeof(err));
	st = new_state(0, &f);
	apply(st, ev_open4(1, 1, 10, "a", 6, 1, 5000, 2, 80));
	apply(st, ev_open4(1, 2, 10, "a", 6, 1, 5001, 2, 443));
	apply(st, ev_traffic(2, 2, 10, 100, 100, 1, 1));
	apply(st, ev_traffic(2, 1, 10, 5, 5, 1, 1));
	tt_state_summary(st, &s);
	check(tt_state_count(st) == 1 && tt_state_find(st, 1) && !tt_state_find(st, 2) &&
		  s.tx_bytes == 5 && s.open == 1,
	      "opts.filter port 80: the port-443 connection is not kept, not counted");
	tt_state_free(st);

	memset(&f, 0, sizeof(f));
	tt_filter_add_pid(&f, "42", err, sizeof(err));
	st = new_state(0, &f);
	apply(st, ev_open4(1, 1, 0, NULL, 6, 1, 5000, 2, 80)); /* pid unknown */
	apply(st, ev_open4(1, 2, 0, NULL, 6, 1, 5001, 2, 80));
	apply(st, ev_open4(1, 3, 43, "other", 6, 1, 5002, 2, 80));
	apply(st, ev_traffic(2, 1, 0, 100, 0, 1, 0));
	apply(st, ev_traffic(2, 2, 0, 200, 0, 1, 0));
	tt_state_summary(st, &s);
	check(tt_state_count(st) == 0 && s.tx_bytes == 0 && s.open == 0,
	      "pid filter: connections with unknown pid are not shown yet");
	apply(st, ev_proc(TT_EV_CONN_PROC, 3, 1, 42, "app"));
	apply(st, ev_proc(TT_EV_CONN_PROC, 3, 2, 41, "nope"));
	tt_state_summary(st, &s);
	check(tt_state_count(st) == 1 && tt_state_find(st, 1) &&
		  tt_state_find(st, 1)->tx_bytes == 100 && s.tx_bytes == 100 && s.open == 1,
	      "pid attributed later: re-evaluated, the match appears with its earlier bytes");
	tt_state_free(st);

	memset(&f, 0, sizeof(f));
	tt_filter_add_comm(&f, "app", err, sizeof(err));
	st = new_state(0, &f);
	apply(st, ev_open4(1, 1, 7, "app", 6, 1, 5000, 2, 80));
	apply(st, ev_open4(1, 2, 8, "sh", 6, 1, 5001, 2, 80));
	apply(st, ev_proc(TT_EV_PROC_EXEC, 2, 0, 7, "other"));
	check(tt_state_count(st) == 0, "comm filter: a process exec'ing to another name leaves");
	tt_state_free(st);

	/* filter and free text in select */
	st = new_state(0, NULL);
	apply(st, ev_open4(1, 1, 100, "nginx", 6, 0x7f000001, 8080, 0x7f000001, 40000));
	apply(st, ev_open4(1, 2, 200, "curl", 6, 0x7f000001, 40000, 0x7f000001, 8080));
	apply(st, ev_open4(1, 3, 300, "Resolver", 17, 0xc0a80001, 53, 0xc0a80002, 5353));
	apply(st, ev_traffic(2, 1, 100, 10, 0, 1, 0));
	apply(st, ev_traffic(2, 2, 200, 20, 0, 1, 0));
	apply(st, ev_traffic(2, 3, 300, 30, 0, 1, 0));
	memset(&f, 0, sizeof(f));
	f.proto = 6;
	sel.filter = &f;
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 2 && total == 2 && rows[0]->id == 2 && rows[1]->id == 1,
	      "select with filter --tcp: 2 rows, TX order");
	sel.filter = NULL;
	sel.text = "RESOLV";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 1 && rows[0]->id == 3, "free text matches comm case-insensitively");
	sel.text = "192.168.0.2:53";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 1 && rows[0]->id == 3, "free text matches the remote endpoint");
	sel.text = ":8080";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 2 && total == 2, "free text ':8080' matches a local or a remote port");
	sel.text = "200";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 1 && rows[0]->id == 2, "free text matches the pid");
	sel.text = "syn_s";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 2, "free text matches the state name");
	sel.text = "udp";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 1 && rows[0]->id == 3, "free text matches the protocol");
	sel.text = "no-such-thing";
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 0 && total == 0, "free text without a match: nothing");
	tt_state_free(st);
}

/* How a connection ended, in the STATE column and what search and sort compare. */
/*
 * The handshake fold (tt_acc_apply): a HANDSHAKE sets connect_us and syn_retrans, an ACCEPT
 * accept_wait_us; a close keeps its fail reason, and gives its retransmits as syn_retrans only
 * to a connection that failed before ESTABLISHED (no HANDSHAKE): they were SYNs.
 */
static void test_handshake_fold(void)
{
	struct tt_state *st = new_state(0, NULL);
	const struct tt_conn *c;
	struct tt_event e;

	/* 1: connected after one SYN retransmit, accepted late, reset by the peer with 7 data
	 * retransmits that are not SYNs */
	apply(st, ev_open4(1000, 1, 10, "cli", 6, 0x0a000001, 40001, 0x0a000002, 80));
	e = ev_base(TT_EV_HANDSHAKE, 2000, 1, 10);
	e.u.handshake.connect_us = 1234;
	e.u.handshake.syn_retrans = 1;
	apply(st, e);
	e = ev_base(TT_EV_ACCEPT, 2500, 1, 10);
	e.u.accept.wait_us = 300000;
	apply(st, e);
	e = ev_close(3000, 1, 0, 0, 0, 0, 8, TT_TCP_CLOSE);
	e.u.close.fail_reason = TT_FAIL_RESET;
	apply(st, e);
	/* 2: timed out after 2 SYN retransmits; 3: closed normally, no handshake seen */
	apply(st, ev_open4(1000, 2, 10, "cli", 6, 0x0a000001, 40002, 0x0a000002, 80));
	e = ev_close(4000, 2, 0, 0, 3, 0, 2, TT_TCP_CLOSE);
	e.u.close.fail_reason = TT_FAIL_TIMEOUT;
	apply(st, e);
	apply(st, ev_open4(1000, 3, 10, "cli", 6, 0x0a000001, 40003, 0x0a000002, 80));
	apply(st, ev_close(4000, 3, 0, 0, 3, 0, 2, TT_TCP_CLOSE));

	c = tt_state_find(st, 1);
	check(c && c->connect_us == 1234 && c->syn_retrans == 1 && c->accept_wait_us == 300000 &&
		  c->fail_reason == TT_FAIL_RESET &&
		  c->have == (TT_ACC_HAVE_CONNECT | TT_ACC_HAVE_SYN_RETRANS | TT_ACC_HAVE_ACCEPT),
	      "handshake fold: a HANDSHAKE's and an ACCEPT's times, the close's reason");
	c = tt_state_find(st, 2);
	check(c && c->syn_retrans == 2 && c->have == TT_ACC_HAVE_SYN_RETRANS &&
		  c->fail_reason == TT_FAIL_TIMEOUT,
	      "handshake fold: a connect that timed out retransmitted its close's count of SYNs");
	c = tt_state_find(st, 3);
	check(c && !c->have && c->fail_reason == TT_FAIL_NONE,
	      "handshake fold: a normal close without a handshake leaves them unknown");
	tt_state_free(st);
}

static void test_reset_states(void)
{
	struct tt_state *st = new_state(0, NULL);
	struct tt_select sel = {.sort = TT_COL_STATE, .text = "refused"};
	const struct tt_conn *rows[8];
	struct tt_event e;
	char buf[32];
	size_t total, n;
	/* id, state at the reset (0: none), its direction (0: no reset), expected text */
	static const struct {
		uint64_t id;
		uint8_t rst_state, dir;
		const char *text;
	} cases[] = {
	    {10, TT_TCP_SYN_SENT, TT_RST_RECEIVED, "REFUSED"}, /* connect() refused */
	    {11, 0, TT_RST_RECEIVED, "REFUSED"},	       /* state known from the open */
	    {12, 1, TT_RST_RECEIVED, "RESET"},		       /* ESTABLISHED, then reset */
	    {13, TT_TCP_SYN_SENT, TT_RST_SENT, "RESET"},       /* we reset, not the peer */
	    {14, 0, 0, "CLOSED"},			       /* a normal end */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		apply(st, ev_open4(1000, cases[i].id, 50, "curl", 6, 0x7f000001,
				   (uint16_t)(40000 + i), 0x7f000001, 18081));
		if (cases[i].rst_state == 1) {
			e = ev_base(TT_EV_STATE, 1100, cases[i].id, 0);
			e.u.state.new_state = 1;
			apply(st, e);
		}
		if (cases[i].dir) {
			e = ev_base(TT_EV_RESET, 1200, cases[i].id, 0);
			e.u.reset.dir = cases[i].dir;
			e.u.reset.state = cases[i].rst_state;
			apply(st, e);
		}
		check(!strcmp(tt_state_text(tt_state_find(st, cases[i].id)),
			      cases[i].rst_state == 1 ? "ESTABLISHED" : "SYN_SENT"),
		      "before its close a connection shows its TCP state");
		apply(st, ev_close(1300, cases[i].id, 0, 0, 1, 1, 0, 7));
		check(!strcmp(tt_state_text(tt_state_find(st, cases[i].id)), cases[i].text) &&
			  !strcmp(tt_view_cell(tt_state_find(st, cases[i].id), TT_COL_STATE, 1, buf,
					       sizeof(buf)),
				  cases[i].text),
		      "a closed connection's STATE says how it ended (REFUSED, RESET, CLOSED)");
	}
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 2 && total == 2 && rows[0]->id == 10 && rows[1]->id == 11,
	      "the text search finds the refused connections by their STATE");
	sel.text = NULL;
	n = tt_state_select(st, &sel, 0, 8, rows, &total);
	check(n == 5 && !strcmp(tt_state_text(rows[0]), "CLOSED") &&
		  !strcmp(tt_state_text(rows[1]), "REFUSED") &&
		  !strcmp(tt_state_text(rows[3]), "RESET"),
	      "sorting on STATE groups them: CLOSED, REFUSED, RESET");
	tt_state_free(st);
}

/* ------------------------------------------------------------ sort vs reference */

static const char *ref_state_names[] = {
    "",	      "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",	 "TIME_WAIT",
    "CLOSED", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",	  "NEW_SYN_RECV"};

static const char *ref_state(const struct tt_conn *c)
{
	if (c->flags & TT_CONN_CLOSED)
		return c->flags & TT_CONN_REFUSED ? "REFUSED" : c->resets ? "RESET" : "CLOSED";
	if (c->proto != 6)
		return "";
	return c->state < 13 ? ref_state_names[c->state] : "?";
}

/*
 * Each state's one spelling (docs/QUERY.md), pinned: the view's STATE cell and CSV's state
 * column (state/) and the dumps and SQL (format/, query/) all print tt_tcp_state_name().
 */
static void test_tcp_state_names(void)
{
	struct tt_conn c;
	unsigned i;

	check(TT_TCP_STATE_MAX == sizeof(ref_state_names) / sizeof(ref_state_names[0]),
	      "TCP states 1..12 in the table (%d)", TT_TCP_STATE_MAX - 1);
	for (i = 0; i < TT_TCP_STATE_MAX; i++)
		check(!strcmp(tt_tcp_state_name(i), ref_state_names[i]),
		      "TCP state %u is '%s' ('%s')", i, ref_state_names[i], tt_tcp_state_name(i));
	check(!strcmp(tt_tcp_state_name(13), "?") && !strcmp(tt_tcp_state_name(255), "?"),
	      "a state out of range is '?'");
	memset(&c, 0, sizeof(c));
	c.proto = 6;
	for (i = 0; i < TT_TCP_STATE_MAX; i++) {
		c.state = (uint8_t)i;
		check(!strcmp(tt_state_tcp_text(&c), ref_state_names[i]) &&
			  !strcmp(tt_state_text(&c), ref_state_names[i]),
		      "an open TCP row in state %u: STATE and CSV's state say '%s'", i,
		      ref_state_names[i]);
	}
	c.state = TT_TCP_ESTABLISHED;
	c.flags |= TT_CONN_CLOSED;
	check(!strcmp(tt_state_text(&c), "CLOSED") && !strcmp(tt_state_tcp_text(&c), "ESTABLISHED"),
	      "closed: STATE says CLOSED (RFC 793's state 7), CSV's state the last one seen");
	c.proto = 17;
	c.state = 0;
	check(!strcmp(tt_state_text(&c), "CLOSED") && !strcmp(tt_state_tcp_text(&c), ""),
	      "a closed UDP flow: STATE CLOSED, no TCP state");
	c.flags = 0;
	check(!strcmp(tt_state_text(&c), "") && !strcmp(tt_state_tcp_text(&c), ""),
	      "an open UDP flow: no state");
}

#define CMPV(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int ref_cmp(const struct tt_conn *a, const struct tt_conn *b, enum tt_col col)
{
	int r = 0;

	switch (col) {
	case TT_COL_PID: r = CMPV(b->pid, a->pid); break;
	case TT_COL_COMM: r = strncmp(a->comm, b->comm, TT_COMM_LEN); break;
	case TT_COL_PROTO:
		r = strcmp(tt_proto_name(a->proto), tt_proto_name(b->proto));
		if (!r)
			r = CMPV(a->family, b->family);
		break;
	case TT_COL_LOCAL:
	case TT_COL_REMOTE: {
		const uint8_t *aa = col == TT_COL_LOCAL ? a->laddr : a->raddr;
		const uint8_t *ba = col == TT_COL_LOCAL ? b->laddr : b->raddr;

		r = CMPV(a->family, b->family);
		if (!r)
			r = memcmp(aa, ba, TT_ADDR_LEN);
		if (!r)
			r = col == TT_COL_LOCAL ? CMPV(a->lport, b->lport)
						: CMPV(a->rport, b->rport);
		break;
	}
	case TT_COL_STATE: r = strcmp(ref_state(a), ref_state(b)); break;
	case TT_COL_TX_RATE: r = CMPV(b->tx_rate, a->tx_rate); break;
	case TT_COL_RX_RATE: r = CMPV(b->rx_rate, a->rx_rate); break;
	case TT_COL_TX: r = CMPV(b->tx_bytes, a->tx_bytes); break;
	case TT_COL_RX: r = CMPV(b->rx_bytes, a->rx_bytes); break;
	case TT_COL_TX_PKTS: r = CMPV(b->tx_pkts, a->tx_pkts); break;
	case TT_COL_RX_PKTS: r = CMPV(b->rx_pkts, a->rx_pkts); break;
	case TT_COL_RTT: r = CMPV(b->rtt_us, a->rtt_us); break;
	case TT_COL_RETR: r = CMPV(b->retrans, a->retrans); break;
	case TT_COL_CONNECT: {
		int ka = !!(a->have & TT_ACC_HAVE_CONNECT), kb = !!(b->have & TT_ACC_HAVE_CONNECT);

		/* known (0 us included) before unknown, then largest first */
		r = CMPV(kb, ka);
		if (!r && ka)
			r = CMPV(b->connect_us, a->connect_us);
		break;
	}
	case TT_COL_CWND: r = CMPV(b->cwnd, a->cwnd); break;
	case TT_COL_ZWIN:
		r = CMPV(b->proto == 6, a->proto == 6);
		if (!r && a->proto == 6)
			r = CMPV(b->zero_window_ms, a->zero_window_ms);
		break;
	case TT_COL_FAIL: {
		const char *na = tt_fail_reason_name(a->fail_reason);
		const char *nb = tt_fail_reason_name(b->fail_reason);

		r = !na || !nb ? CMPV(!na, !nb) : strcmp(na, nb);
		break;
	}
	default: break;
	}
	if (r)
		return r;
	return CMPV(a->id, b->id);
}

struct collect {
	const struct tt_conn **v;
	size_t n;
	const struct tt_filter *f;
	const char *text;
};

/* Independent free-text predicate: build every field's text, then strcasestr. */
static int ref_text(const struct tt_conn *c, const char *text)
{
	char buf[96], comm[TT_COMM_LEN + 1];

	if (!text || !text[0])
		return 1;
	memcpy(comm, c->comm, TT_COMM_LEN);
	comm[TT_COMM_LEN] = 0;
	if (strcasestr(comm, text) || strcasestr(ref_state(c), text))
		return 1;
	snprintf(buf, sizeof(buf), "%u", c->pid);
	if (c->pid && strcasestr(buf, text))
		return 1;
	snprintf(buf, sizeof(buf), "%s%s", tt_proto_name(c->proto),
		 c->family == TT_FAMILY_IPV6 ? "6" : "");
	if (strcasestr(buf, text))
		return 1;
	tt_endpoint_str(c->family, c->laddr, c->lport, buf, sizeof(buf));
	if (strcasestr(buf, text))
		return 1;
	tt_endpoint_str(c->family, c->raddr, c->rport, buf, sizeof(buf));
	return strcasestr(buf, text) != NULL;
}

static void collect_fn(void *ctx, const struct tt_conn *c)
{
	struct collect *k = ctx;

	if (k->f && !tt_filter_match(k->f, c->proto, c->family, c->lport, c->rport, c->pid, c->comm,
				     c->cgroup_id))
		return;
	if (!ref_text(c, k->text))
		return;
	k->v[k->n++] = c;
}

struct order {
	enum tt_col col;
	int rev;
};

static int qsort_cmp(const void *a, const void *b, void *arg)
{
	const struct order *o = arg;
	int r =
	    ref_cmp(*(const struct tt_conn *const *)a, *(const struct tt_conn *const *)b, o->col);

	return o->rev ? -r : r;
}

static void ref_sort(const struct tt_conn **v, size_t n, enum tt_col col, int rev)
{
	struct order o = {col, rev};

	qsort_r(v, n, sizeof(*v), qsort_cmp, &o);
}

static const char *const comms[] = {
    "kworker/0", "kworker/1", "systemd-resolve", "systemd-journal", "curl", "Curl",
    "a",	 "",	      "nginx",		 "nginx: worker"};

/* A table of n connections with many ties and shared prefixes in every column. */
/*
 * What the health columns sort by (RETR CONNECT CWND ZWIN FAIL), from the connection's id, not
 * rand(): the rest of a random table stays the one it was. Ties, zeros (a 0 us handshake, a
 * 0 cwnd: no sample) and unknowns (no handshake, no stall, no failure) each come often.
 */
static void health(struct tt_state *st, uint64_t t, uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull >> 20;
	struct tt_event e;

	if (h % 3) {
		e = ev_base(TT_EV_RETRANS, t, id, 0);
		e.u.retrans.segs = (uint32_t)(h % 5 + 1);
		e.u.retrans.cause = (uint8_t)(h % 3 + 1);
		apply(st, e);
	}
	if (h % 5 < 2) {
		e = ev_base(TT_EV_HANDSHAKE, t, id, 0);
		e.u.handshake.connect_us = (uint32_t)(h >> 4) % 3 * 150;
		apply(st, e);
	}
	if (h % 2) {
		e = ev_base(TT_EV_SAMPLE, t, id, 0);
		e.u.sample.cwnd = (uint32_t)(h >> 8) % 4 * 10;
		apply(st, e);
	}
	if (h % 7 == 0) {
		e = ev_base(TT_EV_STALL, t, id, 0);
		e.u.stall.phase = TT_STALL_END;
		e.u.stall.dur_us = (h >> 3) % 4 * 1000000;
		apply(st, e);
	}
	if (h % 4 == 0) {
		e = ev_close(t, id, 0, 0, 0, 0, 0, 7);
		e.u.close.fail_reason = (uint8_t)((h >> 12) % TT_FAIL_MAX);
		apply(st, e);
	}
}

static struct tt_state *random_table(unsigned n, unsigned seed)
{
	struct tt_state *st = new_state(0, NULL);
	uint64_t t = SEC;

	srand(seed);
	for (unsigned i = 0; i < n; i++) {
		struct tt_event e =
		    ev_base(TT_EV_CONN_OPEN, t, 1000 + (uint64_t)rand() % 1000000000,
			    (uint32_t)(rand() % 20));
		int v6 = rand() % 3 == 0;

		if (tt_state_find(st, e.conn_id))
			continue;
		e.u.open.family = v6 ? TT_FAMILY_IPV6 : TT_FAMILY_IPV4;
		e.u.open.proto = rand() % 4 ? 6 : 17;
		e.u.open.state = e.u.open.proto == 6 ? (uint8_t)(rand() % 13) : 0;
		if (v6) {
			e.u.open.laddr[0] = 0x20;
			e.u.open.laddr[1] = 0x01;
			e.u.open.raddr[0] = 0xfe;
			e.u.open.raddr[1] = 0x80;
			e.u.open.laddr[15] = (uint8_t)(rand() % 4);
			e.u.open.raddr[8] = (uint8_t)(rand() % 4);
		} else {
			e.u.open.laddr[0] = 127;
			e.u.open.laddr[3] = (uint8_t)(rand() % 3);
			e.u.open.raddr[0] = (uint8_t)(rand() % 2 ? 10 : 192);
			e.u.open.raddr[3] = (uint8_t)(rand() % 3);
		}
		e.u.open.lport = (uint16_t)(rand() % 4 * 1000);
		e.u.open.rport = (uint16_t)(rand() % 3 * 443);
		if (e.pid)
			set_comm(e.u.open.comm, comms[rand() % 10]);
		else
			e.flags |= TT_F_PID_UNKNOWN;
		apply(st, e);
		if (rand() % 3) {
			struct tt_event tr =
			    ev_traffic(t, e.conn_id, 0, (uint64_t)(rand() % 5) * 1000,
				       (uint64_t)(rand() % 3) * 7, (uint32_t)(rand() % 4),
				       (uint32_t)(rand() % 4));
			apply(st, tr);
		}
		if (rand() % 2) {
			struct tt_event r = ev_base(TT_EV_RTT, t, e.conn_id, 0);

			r.u.rtt.srtt_us = (uint32_t)(rand() % 5) * 100;
			apply(st, r);
		}
		if (e.u.open.proto == 6)
			health(st, t, e.conn_id);
	}
	tt_state_tick(st, 2 * SEC);
	/* second interval: different traffic so rates and totals disagree */
	for (unsigned i = 0; i < n / 2; i++) {
		const struct tt_conn *rows[1];
		struct tt_select sel = {.sort = TT_COL_PID};
		size_t total;

		if (tt_state_select(st, &sel, (size_t)rand() % n, 1, rows, &total) == 1) {
			uint64_t id = rows[0]->id;

			apply(st, ev_traffic(2 * SEC + 1, id, 0, (uint64_t)(rand() % 3) * 500,
					     (uint64_t)(rand() % 3), 1, 0));
			if (rand() % 8 == 0)
				apply(st, ev_close(2 * SEC + 2, id, 0, 0, 0, 0, 0, 7));
		}
	}
	tt_state_tick(st, 3 * SEC);
	return st;
}

static int window_ok(struct tt_state *st, const struct tt_select *sel, const struct tt_conn **ref,
		     size_t nref, size_t off, size_t lim, const struct tt_conn **rows)
{
	size_t total, n = tt_state_select(st, sel, off, lim, rows, &total);
	size_t want = off >= nref ? 0 : (lim < nref - off ? lim : nref - off);

	if (total != nref || n != want)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i] != ref[off + i])
			return 0;
	return 1;
}

/* A column's name in lower case: test_unit.py reads "FAIL" in the output as a failed check. */
static const char *lower_col(int col, char *buf, size_t len)
{
	snprintf(buf, len, "%s", tt_col_name((enum tt_col)col));
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return buf;
}

static void test_sort(void)
{
	char name[16];
	unsigned n = 3000;
	struct tt_state *st = random_table(n, 7);
	size_t cnt = tt_state_count(st);
	const struct tt_conn **ref = malloc(cnt * sizeof(*ref));
	const struct tt_conn **rows = malloc((cnt + 10) * sizeof(*rows));
	struct collect k = {.v = ref};
	struct tt_filter f;
	char err[64];

	tt_state_foreach(st, collect_fn, &k);
	check(k.n == cnt && cnt > 2900, "random table: foreach visits all %zu connections", cnt);
	{
		/* the health columns' sorts order something: known, zero and unknown all come */
		size_t retr = 0, conn = 0, conn0 = 0, cwnd = 0, zwin = 0, zwin0 = 0, fail = 0;

		for (size_t i = 0; i < cnt; i++) {
			const struct tt_conn *c = ref[i];

			retr += c->retrans > 0;
			conn += !!(c->have & TT_ACC_HAVE_CONNECT);
			conn0 += (c->have & TT_ACC_HAVE_CONNECT) && !c->connect_us;
			cwnd += c->cwnd > 0;
			zwin += c->zero_window_ms > 0;
			zwin0 += c->proto == 6 && !c->zero_window_ms;
			fail += c->fail_reason > 0;
		}
		check(
		    retr > cnt / 4 && conn > cnt / 8 && conn0 > 50 && cwnd > cnt / 8 && zwin > 50 &&
			zwin0 > 50 && fail > cnt / 16 && retr < cnt && conn < cnt && cwnd < cnt &&
			fail < cnt,
		    "random table: health fields vary (%zu retr, %zu connect, %zu 0 us, %zu cwnd, "
		    "%zu zwin, %zu tcp 0 ms, %zu failed)",
		    retr, conn, conn0, cwnd, zwin, zwin0, fail);
	}
	for (int col = 0; col < TT_COL_MAX; col++) {
		for (int rev = 0; rev < 2; rev++) {
			struct tt_select sel = {.sort = (enum tt_col)col, .reverse = rev};
			size_t offs[] = {0,	  1,	   7,	cnt / 2, cnt - 60,
					 cnt - 3, cnt - 1, cnt, cnt + 5};
			size_t lims[] = {1, 5, 50, cnt + 10};
			int ok = 1, windows = 0;

			ref_sort(ref, cnt, (enum tt_col)col, rev);
			for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
				for (size_t j = 0; j < sizeof(lims) / sizeof(lims[0]);
				     j++, windows++)
					ok &= window_ok(st, &sel, ref, cnt, offs[i], lims[j], rows);
			for (int r = 0; r < 30; r++, windows++)
				ok &= window_ok(st, &sel, ref, cnt, (size_t)rand() % (cnt + 2),
						(size_t)rand() % 200 + 1, rows);
			check(ok, "sort %-7s %s: %d windows equal a full qsort",
			      lower_col(col, name, sizeof(name)), rev ? "reverse" : "natural",
			      windows);
		}
	}

	/* filters and text in select against the independent predicate */
	memset(&f, 0, sizeof(f));
	tt_filter_add_port(&f, "443", err, sizeof(err));
	f.family = TT_FAMILY_IPV6;
	{
		const char *texts[] = {
		    NULL,     "kworker", "127.0.0.2", "fe80::", "SYN",
		    "closed", "udp6",	 ":3000",     "1",	"[2001::3]:1000"};
		int ok = 1;

		for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
			for (int usef = 0; usef < 2; usef++) {
				struct tt_select sel = {.sort = TT_COL_COMM,
							.filter = usef ? &f : NULL,
							.text = texts[t]};
				struct collect kk = {.v = ref, .f = sel.filter, .text = texts[t]};

				tt_state_foreach(st, collect_fn, &kk);
				ref_sort(ref, kk.n, TT_COL_COMM, 0);
				ok &= window_ok(st, &sel, ref, kk.n, 0, kk.n + 1, rows);
				ok &= window_ok(st, &sel, ref, kk.n, kk.n / 3, 10, rows);
				if (texts[t] && !strcmp(texts[t], "kworker") && !usef)
					ok &= kk.n > 100;
			}
		}
		check(ok, "select with filter (port 443, ipv6) and 10 texts equals the reference");
	}
	free(ref);
	free(rows);
	tt_state_free(st);
}

/* ------------------------------------------------------------ clone */

static int conn_eq(const struct tt_conn *a, const struct tt_conn *b)
{
	return a->id == b->id && a->tx_bytes == b->tx_bytes && a->rx_bytes == b->rx_bytes &&
	       a->tx_pkts == b->tx_pkts && a->rx_pkts == b->rx_pkts && a->tx_rate == b->tx_rate &&
	       a->rx_rate == b->rx_rate && a->first_ts == b->first_ts && a->last_ts == b->last_ts &&
	       a->close_ts == b->close_ts && a->cgroup_id == b->cgroup_id && a->pid == b->pid &&
	       a->rtt_us == b->rtt_us && a->max_rtt_us == b->max_rtt_us &&
	       a->retrans == b->retrans && a->resets == b->resets && a->netns == b->netns &&
	       a->lport == b->lport && a->rport == b->rport &&
	       !memcmp(a->laddr, b->laddr, TT_ADDR_LEN) &&
	       !memcmp(a->raddr, b->raddr, TT_ADDR_LEN) && a->family == b->family &&
	       a->proto == b->proto && a->state == b->state && a->direction == b->direction &&
	       a->flags == b->flags && !strncmp(a->comm, b->comm, TT_COMM_LEN);
}

struct eqctx {
	const struct tt_state *other;
	size_t n, bad;
};

static void eq_fn(void *ctx, const struct tt_conn *c)
{
	struct eqctx *e = ctx;
	const struct tt_conn *o = tt_state_find(e->other, c->id);

	e->n++;
	if (!o || !conn_eq(c, o))
		e->bad++;
}

/* Same connections with the same fields, same summary. */
static int tables_equal(const struct tt_state *a, const struct tt_state *b)
{
	struct eqctx e = {.other = b};
	struct tt_state_summary sa, sb;

	tt_state_foreach(a, eq_fn, &e);
	tt_state_summary(a, &sa);
	tt_state_summary(b, &sb);
	return e.bad == 0 && e.n == tt_state_count(b) && !memcmp(&sa, &sb, sizeof(sa));
}

static void test_clone(void)
{
	struct tt_state *st = random_table(2000, 11), *cl;
	uint64_t id;
	const struct tt_conn *rows[1];
	struct tt_select sel = {.sort = TT_COL_TX};
	size_t total;

	check(tt_state_clone(st, &cl) == 0 && tables_equal(st, cl) && tables_equal(cl, st),
	      "clone: every connection and the summary equal");
	tt_state_select(st, &sel, 0, 1, rows, &total);
	id = rows[0]->id;
	apply(cl, ev_traffic(4 * SEC, id, 0, 12345, 0, 1, 0));
	apply(cl, ev_open4(4 * SEC, 7, 1, "x", 6, 1, 1, 2, 2));
	check(tt_state_find(st, id)->tx_bytes + 12345 == tt_state_find(cl, id)->tx_bytes &&
		  !tt_state_find(st, 7) && tt_state_find(cl, 7),
	      "clone is deep: changes to the copy leave the original alone");
	/* same events from here on give the same tables */
	apply(st, ev_traffic(4 * SEC, id, 0, 12345, 0, 1, 0));
	apply(st, ev_open4(4 * SEC, 7, 1, "x", 6, 1, 1, 2, 2));
	tt_state_tick(st, 5 * SEC);
	tt_state_tick(cl, 5 * SEC);
	check(tables_equal(st, cl), "original and clone agree again after the same events");
	tt_state_free(st);
	tt_state_free(cl);
}

/* ------------------------------------------------------------ timeline */

static void test_timeline(void)
{
	static const struct tt_event *got[TT_STATE_TIMELINE_MAX + 8];
	struct tt_state *st = new_state(0, NULL), *cl;
	struct tt_event e;
	size_t n, kinds_conn = 0, ok = 1;
	size_t mem0;

	apply(st, ev_open4(1 * SEC, 1, 10, "a", 6, 1, 1, 2, 2));
	apply(st, ev_open4(2 * SEC, 2, 20, "b", 6, 1, 3, 2, 4));
	apply(st, ev_traffic(3 * SEC, 1, 10, 100, 0, 1, 0));
	e = ev_base(TT_EV_RETRANS, 4 * SEC, 1, 10);
	e.u.retrans.segs = 3;
	apply(st, e);
	apply(st, ev_traffic(5 * SEC, 2, 20, 100, 0, 1, 0));
	/* out of order by event time (a live source's CPUs): listed by time */
	e = ev_base(TT_EV_RESET, 4 * SEC + 5, 1, 10);
	apply(st, e);
	e = ev_base(TT_EV_RTT, 4 * SEC + 1, 1, 10);
	e.u.rtt.srtt_us = 250;
	apply(st, e);
	apply(st, ev_close(6 * SEC, 1, 100, 0, 1, 0, 3, 7));
	apply(st, ev_proc(TT_EV_PROC_EXEC, 6 * SEC, 0, 10, "c"));

	n = tt_state_timeline(st, 1, got, 16);
	check(n == 5 && got[0]->kind == TT_EV_CONN_OPEN && got[1]->kind == TT_EV_RETRANS &&
		  got[1]->u.retrans.segs == 3 && got[2]->kind == TT_EV_RTT &&
		  got[2]->ts_ns == 4 * SEC + 1 && got[3]->kind == TT_EV_RESET &&
		  got[4]->kind == TT_EV_CONN_CLOSE,
	      "timeline: one connection's events but traffic, oldest first by time (n %zu)", n);
	n = tt_state_timeline(st, 2, got, 16);
	check(n == 1 && got[0]->kind == TT_EV_CONN_OPEN && got[0]->conn_id == 2,
	      "timeline: another connection's events stay its own (n %zu)", n);
	check(tt_state_timeline(st, 1, got, 2) == 5 && got[0]->kind == TT_EV_CONN_OPEN &&
		  got[1]->kind == TT_EV_RETRANS,
	      "timeline: max fills the first, the count says all");
	check(tt_state_timeline(st, 99, got, 16) == 0, "timeline: an unknown id has none");

	/* every kind about a connection but TRAFFIC goes in: the table's scope, not a list */
	for (unsigned k = 1; k < TT_EV_KIND_MAX; k++)
		if (tt_event_about_conn(k) && k != TT_EV_TRAFFIC)
			kinds_conn++;
	for (unsigned k = 1; k < TT_EV_KIND_MAX; k++) {
		if (!tt_event_about_conn(k) || k == TT_EV_CONN_OPEN)
			continue;
		e = ev_base((uint16_t)k, 7 * SEC + k, 3, 30);
		apply(st, e);
	}
	n = tt_state_timeline(st, 3, got, 64);
	check(n == kinds_conn - 1,
	      "timeline: every connection kind but traffic is kept (n %zu of %zu)", n,
	      kinds_conn - 1);

	/* clones carry it, and go on their own */
	check(tt_state_clone(st, &cl) == 0 && tt_state_timeline(cl, 1, got, 16) == 5 &&
		  got[4]->kind == TT_EV_CONN_CLOSE,
	      "timeline: a clone has the same history");
	apply(cl, ev_proc(TT_EV_CONN_PROC, 8 * SEC, 1, 11, "d"));
	check(tt_state_timeline(cl, 1, got, 16) == 6 && tt_state_timeline(st, 1, got, 16) == 5,
	      "timeline: the clone's new events are its own");
	tt_state_free(cl);

	/* bounded: past a ring's bound its oldest go, memory stops growing */
	for (uint32_t i = 0; i < TT_STATE_TIMELINE_EVENTS; i++) {
		e = ev_base(TT_EV_RETRANS, 10 * SEC + i, 4, 40);
		e.u.retrans.segs = i;
		apply(st, e);
		if (i >= TT_STATE_TIMELINE_SAMPLES)
			continue;
		e = ev_base(TT_EV_RTT, 10 * SEC + i, 4, 40);
		e.u.rtt.srtt_us = i;
		apply(st, e);
	}
	mem0 = tt_state_memory(st);
	n = tt_state_timeline(st, 4, got, TT_STATE_TIMELINE_MAX + 8);
	check(n == TT_STATE_TIMELINE_MAX && tt_state_timeline(st, 1, got, 16) == 0,
	      "timeline: full, the newest of each ring are kept (n %zu)", n);
	for (uint32_t i = 0; i < 1000; i++) {
		e = ev_base(TT_EV_RETRANS, 20 * SEC + i, 5, 50);
		e.u.retrans.segs = i;
		apply(st, e);
		e = ev_base(TT_EV_RTT, 20 * SEC + i, 5, 50);
		e.u.rtt.srtt_us = i;
		apply(st, e);
	}
	n = tt_state_timeline(st, 4, got, TT_STATE_TIMELINE_MAX + 8);
	/* by time, retransmit and sample of one time in the order applied */
	for (size_t i = 0; i < n; i++) {
		size_t rt = i / 2 + 1000, k = i - (TT_STATE_TIMELINE_SAMPLES - 1000) * 2;

		if (i < (TT_STATE_TIMELINE_SAMPLES - 1000) * 2)
			ok &= got[i]->kind == (i % 2 ? TT_EV_RTT : TT_EV_RETRANS) &&
			      (i % 2 ? got[i]->u.rtt.srtt_us : got[i]->u.retrans.segs) == rt;
		else
			ok &= got[i]->kind == TT_EV_RETRANS &&
			      got[i]->u.retrans.segs == TT_STATE_TIMELINE_SAMPLES + k;
	}
	check(n == TT_STATE_TIMELINE_MAX - 2000 && ok && tt_state_timeline(st, 5, got, 2) == 2000,
	      "timeline: wrapping drops exactly the oldest of each ring (n %zu)", n);
	check(tt_state_memory(st) == mem0 &&
		  mem0 >= (size_t)TT_STATE_TIMELINE_MAX * sizeof(struct tt_event),
	      "timeline: memory is bounded and counted (%zu)", tt_state_memory(st));
	tt_state_free(st);
}

/* Batch output keeps no timeline: the table is the same, the timeline empty, its memory none. */
static void test_no_timeline(void)
{
	static const struct tt_event *got[16];
	struct tt_state_opts o = {.no_timeline = 1};
	struct tt_state *st, *with = new_state(0, NULL), *cl;
	struct tt_state_summary a, b;
	struct tt_event e;

	if (tt_state_new(&st, &o)) {
		fprintf(stderr, "tt_state_new failed\n");
		exit(1);
	}
	for (int k = 0; k < 2; k++) {
		struct tt_state *s = k ? with : st;

		apply(s, ev_open4(1 * SEC, 1, 10, "a", 6, 1, 1, 2, 2));
		apply(s, ev_traffic(3 * SEC, 1, 10, 100, 7, 1, 1));
		e = ev_base(TT_EV_RETRANS, 4 * SEC, 1, 10);
		e.u.retrans.segs = 3;
		apply(s, e);
		apply(s, ev_close(6 * SEC, 1, 100, 7, 1, 1, 3, 7));
	}
	tt_state_summary(st, &a);
	tt_state_summary(with, &b);
	check(tt_state_timeline(st, 1, got, 16) == 0 && tt_state_timeline(with, 1, got, 16) == 3,
	      "no_timeline: nothing kept, where the default keeps the open, retransmit, close");
	check(a.open == b.open && a.closed == b.closed && a.tx_bytes == b.tx_bytes &&
		  a.rx_bytes == b.rx_bytes,
	      "no_timeline: the table is the same");
	check(tt_state_memory(st) < tt_state_memory(with), "no_timeline: its memory is not taken");
	check(tt_state_clone(st, &cl) == 0 && tt_state_timeline(cl, 1, got, 16) == 0,
	      "no_timeline: a clone keeps none either");
	tt_state_free(cl);
	tt_state_free(st);
	tt_state_free(with);
}

/*
 * A busy host: a sampling pass writes a SAMPLE for each of many connections, again and again.
 * The rare events of a connection (its handshake, a retransmit, its close) stay in its timeline
 * beside its latest samples however many samples come.
 */
static void test_timeline_samples(void)
{
	static const struct tt_event *got[TT_STATE_TIMELINE_MAX];
	struct tt_state *st = new_state(3600 * SEC, NULL);
	enum { CONNS = 2000, SAMPLES = 200000 };
	struct tt_event e;
	uint64_t t = 1 * SEC, last = 0;
	size_t n, samples = 0;
	int have_hs = 0, have_rt = 0, have_close = 0, in_order = 1;

	for (uint64_t id = 1; id <= CONNS; id++)
		apply(st, ev_open4(t, id, 10, "busy", 6, 1, (uint16_t)id, 2, 80));
	e = ev_base(TT_EV_HANDSHAKE, t + 1, 7, 10);
	e.u.handshake.connect_us = 123;
	apply(st, e);
	e = ev_base(TT_EV_RETRANS, t + 2, 7, 10);
	e.u.retrans.segs = 1;
	e.u.retrans.cause = TT_RETRANS_RTO;
	apply(st, e);
	apply(st, ev_close(t + 3, 7, 100, 10, 2, 1, 1, 7));
	for (uint32_t i = 0; i < SAMPLES; i++) {
		uint64_t id = 1 + i % CONNS;

		e = ev_base(TT_EV_SAMPLE, t + 10 + i, id, 10);
		e.u.sample.cwnd = i;
		apply(st, e);
	}
	n = tt_state_timeline(st, 7, got, TT_STATE_TIMELINE_MAX);
	for (size_t i = 0; i < n; i++) {
		have_hs |= got[i]->kind == TT_EV_HANDSHAKE && got[i]->u.handshake.connect_us == 123;
		have_rt |=
		    got[i]->kind == TT_EV_RETRANS && got[i]->u.retrans.cause == TT_RETRANS_RTO;
		have_close |= got[i]->kind == TT_EV_CONN_CLOSE && got[i]->u.close.retrans == 1;
		if (got[i]->kind == TT_EV_SAMPLE) {
			samples++;
			last = got[i]->u.sample.cwnd;
		}
		in_order &= !i || got[i - 1]->ts_ns <= got[i]->ts_ns;
	}
	check(have_hs && have_rt && have_close,
	      "timeline: %u samples over %u connections leave a connection's handshake, "
	      "retransmit and close (handshake %d retrans %d close %d)",
	      SAMPLES, CONNS, have_hs, have_rt, have_close);
	/* connection 7's samples are those of i = 6 mod CONNS; the ring holds the latest */
	check(samples == TT_STATE_TIMELINE_SAMPLES / CONNS && last == SAMPLES - CONNS + 6 &&
		  in_order && got[0]->kind == TT_EV_CONN_OPEN,
	      "timeline: and its latest samples, after its open, by time (samples %zu last %llu)",
	      samples, (unsigned long long)last);
	tt_state_free(st);
}

/* ------------------------------------------------------------ reference model */

#define REF_MAX 256
#define REF_PIDS 16

struct ref_conn {
	struct tt_conn c;
	int used;
	uint64_t int_tx, int_rx; /* TRAFFIC bytes since the last tick: what a rate counts */
};

struct ref {
	struct ref_conn v[REF_MAX];
	char names[REF_PIDS][TT_COMM_LEN]; /* pid -> comm, "" unknown */
	uint64_t ttl, now, base, events, lost;
	int have_base;
};

static struct ref_conn *ref_find(struct ref *r, uint64_t id)
{
	for (int i = 0; i < REF_MAX; i++)
		if (r->v[i].used && r->v[i].c.id == id)
			return &r->v[i];
	return NULL;
}

static void ref_pid(struct ref *r, struct tt_conn *c, uint32_t pid, const char *comm)
{
	if (c->pid != pid) {
		c->pid = pid;
		memset(c->comm, 0, TT_COMM_LEN);
	}
	if (comm && comm[0]) {
		memcpy(c->comm, comm, TT_COMM_LEN);
		memcpy(r->names[pid], comm, TT_COMM_LEN);
	} else if (!c->comm[0] && r->names[pid][0]) {
		memcpy(c->comm, r->names[pid], TT_COMM_LEN);
	}
}

static void ref_apply(struct ref *r, const struct tt_event *e)
{
	struct ref_conn *rc;
	struct tt_conn *c;
	int fresh = 0;

	if (e->ts_ns > r->now)
		r->now = e->ts_ns;
	if (!r->have_base) {
		r->base = e->ts_ns;
		r->have_base = 1;
	}
	r->events++;
	switch (e->kind) {
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_NAME:
		if (!e->pid || !e->u.proc.comm[0])
			return;
		memcpy(r->names[e->pid], e->u.proc.comm, TT_COMM_LEN);
		for (int i = 0; i < REF_MAX; i++)
			if (r->v[i].used && r->v[i].c.pid == e->pid)
				memcpy(r->v[i].c.comm, e->u.proc.comm, TT_COMM_LEN);
		return;
	case TT_EV_PROC_EXIT: memset(r->names[e->pid], 0, TT_COMM_LEN); return;
	case TT_EV_LOST: r->lost += e->u.lost.count; return;
	case TT_EV_STATS: return;
	}
	rc = ref_find(r, e->conn_id);
	if (!rc) {
		for (rc = r->v; rc->used; rc++)
			;
		memset(rc, 0, sizeof(*rc));
		rc->used = 1;
		rc->c.id = e->conn_id;
		rc->c.first_ts = e->ts_ns;
		fresh = 1;
		if (e->kind != TT_EV_CONN_OPEN && e->pid)
			ref_pid(r, &rc->c, e->pid, NULL);
	}
	c = &rc->c;
	if (e->ts_ns > c->last_ts)
		c->last_ts = e->ts_ns;
	if (e->ts_ns < c->first_ts)
		c->first_ts = e->ts_ns; /* the earliest: events come a little out of order */
	switch (e->kind) {
	case TT_EV_CONN_OPEN: {
		uint32_t pid = e->flags & TT_F_PID_UNKNOWN ? 0 : e->pid;

		c->flags |= TT_CONN_OPENED;
		if (fresh || e->u.open.family) {
			memcpy(c->laddr, e->u.open.laddr, TT_ADDR_LEN);
			memcpy(c->raddr, e->u.open.raddr, TT_ADDR_LEN);
			c->lport = e->u.open.lport;
			c->rport = e->u.open.rport;
			c->family = e->u.open.family;
			c->proto = e->u.open.proto;
			c->netns = e->u.open.netns;
			c->cgroup_id = e->u.open.cgroup_id;
		}
		if (e->u.open.direction)
			c->direction = e->u.open.direction;
		if (fresh || e->u.open.state)
			c->state = e->u.open.state;
		if (e->flags & TT_F_PREEXISTING)
			c->flags |= TT_CONN_PREEXISTING;
		if (pid) {
			if (!fresh && !c->pid)
				c->flags |= TT_CONN_PID_LATE;
			ref_pid(r, c, pid, e->u.open.comm);
		}
		break;
	}
	case TT_EV_TRAFFIC:
		c->tx_bytes += e->u.traffic.tx_bytes;
		c->rx_bytes += e->u.traffic.rx_bytes;
		rc->int_tx += e->u.traffic.tx_bytes;
		rc->int_rx += e->u.traffic.rx_bytes;
		c->tx_pkts += e->u.traffic.tx_pkts;
		c->rx_pkts += e->u.traffic.rx_pkts;
		if (!fresh && !c->pid && e->pid) {
			c->flags |= TT_CONN_PID_LATE;
			ref_pid(r, c, e->pid, NULL);
		}
		break;
	case TT_EV_STATE: c->state = e->u.state.new_state; break;
	case TT_EV_RTT:
		c->rtt_us = e->u.rtt.srtt_us;
		if (c->rtt_us > c->max_rtt_us)
			c->max_rtt_us = c->rtt_us;
		break;
	case TT_EV_RETRANS: c->retrans += e->u.retrans.segs; break;
	case TT_EV_RESET: c->resets++; break;
	case TT_EV_CONN_CLOSE:
		if (!(c->flags & TT_CONN_CLOSED)) {
			c->flags |= TT_CONN_CLOSED;
			c->close_ts = e->ts_ns;
		}
		if (e->u.close.state)
			c->state = e->u.close.state;
		if (e->u.close.tx_bytes > c->tx_bytes)
			c->tx_bytes = e->u.close.tx_bytes;
		if (e->u.close.rx_bytes > c->rx_bytes)
			c->rx_bytes = e->u.close.rx_bytes;
		if (e->u.close.tx_pkts > c->tx_pkts)
			c->tx_pkts = e->u.close.tx_pkts;
		if (e->u.close.rx_pkts > c->rx_pkts)
			c->rx_pkts = e->u.close.rx_pkts;
		if (e->u.close.retrans > c->retrans)
			c->retrans = e->u.close.retrans;
		if (e->u.close.srtt_us) {
			c->rtt_us = e->u.close.srtt_us;
			if (c->rtt_us > c->max_rtt_us)
				c->max_rtt_us = c->rtt_us;
		}
		break;
	case TT_EV_CONN_PROC:
		if (!e->pid)
			break;
		if (!fresh)
			c->flags |= TT_CONN_PID_LATE;
		ref_pid(r, c, e->pid, e->u.proc.comm);
		break;
	}
}

static void ref_tick(struct ref *r, uint64_t now)
{
	uint64_t el;

	if (!r->have_base) {
		r->base = now;
		r->have_base = 1;
	}
	if (now > r->now)
		r->now = now;
	el = now > r->base ? now - r->base : 0;
	for (int i = 0; i < REF_MAX; i++) {
		struct ref_conn *rc = &r->v[i];

		if (!rc->used)
			continue;
		if ((rc->c.flags & TT_CONN_CLOSED) && now >= rc->c.close_ts + r->ttl) {
			rc->used = 0;
			continue;
		}
		if (el) {
			rc->c.tx_rate = (uint64_t)((long double)rc->int_tx * 1e9L / el);
			rc->c.rx_rate = (uint64_t)((long double)rc->int_rx * 1e9L / el);
			rc->int_tx = rc->int_rx = 0;
		}
	}
	if (el)
		r->base = now;
}

static int ref_compare(struct ref *r, struct tt_state *st, char *why, size_t len)
{
	struct tt_state_summary s;
	uint64_t open = 0, closed = 0, tx = 0, rx = 0, txr = 0, rxr = 0;
	size_t n = 0;

	for (int i = 0; i < REF_MAX; i++) {
		const struct tt_conn *c = &r->v[i].c, *o;

		if (!r->v[i].used)
			continue;
		n++;
		o = tt_state_find(st, c->id);
		if (!o || !conn_eq(c, o)) {
			snprintf(why, len, "conn %" PRIu64 " differs", c->id);
			return 0;
		}
		if (c->flags & TT_CONN_CLOSED)
			closed++;
		else
			open++;
		tx += c->tx_bytes;
		rx += c->rx_bytes;
		txr += c->tx_rate;
		rxr += c->rx_rate;
	}
	tt_state_summary(st, &s);
	if (n != tt_state_count(st) || s.open != open || s.closed != closed || s.tx_bytes != tx ||
	    s.rx_bytes != rx || s.tx_rate != txr || s.rx_rate != rxr || s.lost != r->lost ||
	    s.events != r->events || s.now_ns != r->now) {
		snprintf(why, len, "summary or count differs (count %zu vs %zu)",
			 tt_state_count(st), n);
		return 0;
	}
	return 1;
}

static struct tt_event random_event(uint64_t ts)
{
	static const char *const names[] = {"", "bash", "nginx", "postgres", "x"};
	int k = rand() % 100;
	uint64_t id = 1 + (uint64_t)(rand() % 60);
	uint32_t pid = (uint32_t)(rand() % REF_PIDS);
	struct tt_event e;

	if (k < 12) {
		e = ev_open4(ts, id, pid, names[rand() % 5], rand() % 2 ? 6 : 17, (uint32_t)rand(),
			     (uint16_t)rand(), (uint32_t)rand(), (uint16_t)rand());
		if (rand() % 4 == 0)
			e.flags |= TT_F_PREEXISTING;
		if (rand() % 6 == 0)
			e.u.open.family = 0; /* a refresh that carries no addresses */
		if (rand() % 5 == 0)
			e.u.open.state = 0;
	} else if (k < 55) {
		e = ev_traffic(ts, id, rand() % 3 ? 0 : pid, (uint64_t)(rand() % 100000),
			       (uint64_t)(rand() % 100000), (uint32_t)(rand() % 10),
			       (uint32_t)(rand() % 10));
	} else if (k < 60) {
		e = ev_base(TT_EV_STATE, ts, id, 0);
		e.u.state.new_state = (uint8_t)(rand() % 13);
	} else if (k < 65) {
		e = ev_base(TT_EV_RTT, ts, id, 0);
		e.u.rtt.srtt_us = (uint32_t)(rand() % 10000);
	} else if (k < 68) {
		e = ev_base(TT_EV_RETRANS, ts, id, 0);
		e.u.retrans.segs = (uint32_t)(rand() % 4);
	} else if (k < 70) {
		e = ev_base(TT_EV_RESET, ts, id, 0);
	} else if (k < 78) {
		e = ev_close(ts, id, (uint64_t)(rand() % 2000000), (uint64_t)(rand() % 2000000),
			     (uint32_t)(rand() % 100), (uint32_t)(rand() % 100),
			     (uint32_t)(rand() % 10), (uint8_t)(rand() % 13));
		e.u.close.srtt_us = (uint32_t)(rand() % 3000);
	} else if (k < 83) {
		e = ev_proc(TT_EV_CONN_PROC, ts, id, pid, names[rand() % 5]);
	} else if (k < 87) {
		e = ev_proc(TT_EV_PROC_EXEC, ts, 0, pid, names[rand() % 5]);
	} else if (k < 90) {
		e = ev_proc(TT_EV_PROC_NAME, ts, 0, pid, names[rand() % 5]);
	} else if (k < 93) {
		e = ev_proc(TT_EV_PROC_EXIT, ts, 0, pid, NULL);
	} else if (k < 96) {
		e = ev_base(TT_EV_LOST, ts, 0, 0);
		e.u.lost.count = (uint64_t)(rand() % 50);
	} else {
		e = ev_base(TT_EV_STATS, ts, 0, 0);
	}
	return e;
}

static void test_reference_model(void)
{
	struct ref *rp = calloc(1, sizeof(*rp));
	struct tt_state *st = new_state(2 * SEC, NULL), *bt = new_state(2 * SEC, NULL);
	struct tt_event buf[300];
	size_t nbuf = 0;
	uint64_t ts = 1000 * SEC;
	char why[128] = "";
	int ok = 1, compares = 0, batch_ok = 1;

	rp->ttl = 2 * SEC;
	srand(12345);
	for (int i = 0; i < 200000 && ok; i++) {
		struct tt_event e;

		ts += (uint64_t)(rand() % 20) * MS;
		e = random_event(ts - (rand() % 10 == 0 ? 5 * MS : 0)); /* some out of order */
		ref_apply(rp, &e);
		apply(st, e);
		/* the same stream through the batch call, flushed before each tick */
		buf[nbuf++] = e;
		if (nbuf == 300 || rand() % 250 == 0) {
			batch_ok &= tt_state_apply_batch(bt, buf, nbuf) == 0;
			nbuf = 0;
		}
		if (rand() % 200 == 0) {
			uint64_t t = ts + (uint64_t)(rand() % 3) * 300 * MS;

			if (rand() % 10 == 0)
				t = rp->base; /* an elapsed-0 tick */
			ref_tick(rp, t);
			tt_state_tick(st, t);
			batch_ok &= tt_state_apply_batch(bt, buf, nbuf) == 0;
			nbuf = 0;
			tt_state_tick(bt, t);
		}
		if (i % 97 == 0) {
			ok = ref_compare(rp, st, why, sizeof(why));
			compares++;
		}
	}
	check(ok,
	      "200000 random events of every kind (60 ids, TTL 2 s, ticks): table equals the "
	      "reference model at %d points%s%s",
	      compares, ok ? "" : ": ", why);
	batch_ok &= tt_state_apply_batch(bt, buf, nbuf) == 0;
	check(batch_ok && tables_equal(st, bt) && tables_equal(bt, st),
	      "the same stream through tt_state_apply_batch gives the same table");
	tt_state_free(st);
	tt_state_free(bt);
	free(rp);
}

/* ------------------------------------------------------------ scale and churn */

static void test_scale_churn(void)
{
	struct tt_state *st = new_state(SEC, NULL);
	size_t mem1 = 0, peak = 0;
	uint64_t t = 10 * SEC, id = 1;
	int ok = 1;

	for (int round = 0; round < 4; round++) {
		uint64_t first = id;

		for (int i = 0; i < 100000; i++, id++)
			apply(st, ev_open4(t, id, (uint32_t)(i % 1000 + 1), "load", 6, 0x7f000001,
					   (uint16_t)i, 0x7f000001, 80));
		for (uint64_t j = first; j < id; j++)
			apply(st, ev_traffic(t + 1, j, 0, 100, 100, 1, 1));
		if (tt_state_count(st) != 100000)
			ok = 0;
		for (uint64_t j = first; j < id; j++)
			apply(st, ev_close(t + 2, j, 0, 0, 0, 0, 0, 7));
		t += 2 * SEC;
		tt_state_tick(st, t);
		if (tt_state_count(st) != 0 || tt_state_find(st, first))
			ok = 0;
		if (round == 0)
			mem1 = tt_state_memory(st);
		if (tt_state_memory(st) > peak)
			peak = tt_state_memory(st);
	}
	check(ok && peak == mem1,
	      "100K connections opened, closed and evicted 4 times: count bounded, memory flat "
	      "(%.1f MB, %.0f B per connection)",
	      peak / 1e6, (double)peak / 100000);
	check(sizeof(struct tt_conn) <= 256, "struct tt_conn is %zu bytes (<= 256)",
	      sizeof(struct tt_conn));
	tt_state_free(st);
}

static void test_cols(void)
{
	int ok = 1;

	for (int c = 0; c < TT_COL_MAX; c++)
		ok &= tt_col_parse(tt_col_name((enum tt_col)c)) == c;
	check(ok && !strcmp(tt_col_name(TT_COL_TX_RATE), "TX/s") &&
		  !strcmp(tt_col_name(TT_COL_RX_PKTS), "RX_PKT"),
	      "tt_col_name / tt_col_parse round trip");
	check(tt_col_parse("tx_rate") == TT_COL_TX_RATE && tt_col_parse("rx/s") == TT_COL_RX_RATE &&
		  tt_col_parse("comm") == TT_COL_COMM && tt_col_parse("Tx") == TT_COL_TX &&
		  tt_col_parse("rtt") == TT_COL_RTT && tt_col_parse("bogus") == -1 &&
		  tt_col_parse("") == -1,
	      "tt_col_parse: lowercase, aliases, unknown -1");
	check(tt_col_parse("RETR") == TT_COL_RETR && tt_col_parse("retrans") == TT_COL_RETR &&
		  tt_col_parse("retransmits") == TT_COL_RETR &&
		  tt_col_parse("connect") == TT_COL_CONNECT &&
		  tt_col_parse("connect_us") == TT_COL_CONNECT &&
		  tt_col_parse("cwnd") == TT_COL_CWND && tt_col_parse("ZWin") == TT_COL_ZWIN &&
		  tt_col_parse("zero_window_ms") == TT_COL_ZWIN &&
		  tt_col_parse("fail") == TT_COL_FAIL &&
		  tt_col_parse("fail_reason") == TT_COL_FAIL && TT_COL_RTT == 12 &&
		  TT_COL_FAIL == TT_COL_MAX - 1,
	      "tt_col_parse: the health columns by their names and tcptop-query's, after RTT");
	{
		static const struct {
			const char *list;
			uint32_t want; /* 0: refused */
		} cases[] = {
		    {"+RETR,+fail_reason",
		     TT_COLS_DEFAULT | TT_COL_BIT(TT_COL_RETR) | TT_COL_BIT(TT_COL_FAIL)},
		    {"fail,comm,retrans",
		     TT_COL_BIT(TT_COL_COMM) | TT_COL_BIT(TT_COL_RETR) | TT_COL_BIT(TT_COL_FAIL)},
		    {"-PID,-rtt",
		     TT_COLS_DEFAULT & ~(TT_COL_BIT(TT_COL_PID) | TT_COL_BIT(TT_COL_RTT))},
		    {"comm,+cwnd,-comm,zwin", TT_COL_BIT(TT_COL_CWND) | TT_COL_BIT(TT_COL_ZWIN)},
		    {"all", TT_COLS_ALL},
		    {"all,-tx,-rx", TT_COLS_ALL & ~(TT_COL_BIT(TT_COL_TX) | TT_COL_BIT(TT_COL_RX))},
		    {"+all,-default", TT_COLS_ALL & ~TT_COLS_DEFAULT},
		    {"-all,+comm", TT_COL_BIT(TT_COL_COMM)},
		    {"default", TT_COLS_DEFAULT},
		    {"PID", TT_COL_BIT(TT_COL_PID)},
		    {"", 0},
		    {",", 0},
		    {"+RETR,", 0},
		    {"+RETR,,FAIL", 0},
		    {"+", 0},
		    {"-all", 0},
		    {"pid,-pid", 0},
		    {"nope", 0},
		    {"+RETR,+nope", 0},
		    {"0123456789012345678901234567890123456789", 0},
		};
		int ok = 1;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint32_t set = 12345;
			char err[128] = "";
			int ret = tt_col_list_parse(cases[i].list, &set, err, sizeof(err));

			if (cases[i].want
				? ret || set != cases[i].want
				: ret != -EINVAL || set != 12345 || !err[0] || strchr(err, '\n')) {
				fprintf(stderr, "  --columns '%s': %d set %#x err '%s'\n",
					cases[i].list, ret, set, err);
				ok = 0;
			}
		}
		check(ok,
		      "tt_col_list_parse: plain lists set, +/- edit the default, errors refused");
	}
	{
		uint32_t set = TT_COL_BIT(TT_COL_COMM) | TT_COL_BIT(TT_COL_RETR);
		uint32_t def = TT_COLS_DEFAULT;
		int ok = tt_col_sort_shown(&set, -1) == TT_COL_COMM &&
			 set == (TT_COL_BIT(TT_COL_COMM) | TT_COL_BIT(TT_COL_RETR));

		ok &= tt_col_sort_shown(&def, -1) == TT_COL_TX_RATE && def == TT_COLS_DEFAULT;
		ok &= tt_col_sort_shown(&def, TT_COL_FAIL) == TT_COL_FAIL &&
		      def == (TT_COLS_DEFAULT | TT_COL_BIT(TT_COL_FAIL));
		ok &= tt_col_next(def, TT_COL_RTT, 1) == TT_COL_FAIL &&
		      tt_col_next(def, TT_COL_FAIL, 1) == TT_COL_PID &&
		      tt_col_next(def, TT_COL_PID, -1) == TT_COL_FAIL &&
		      tt_col_next(def, TT_COL_RETR, 1) == TT_COL_FAIL &&
		      tt_col_next(TT_COL_BIT(TT_COL_RX), TT_COL_RX, 1) == TT_COL_RX;
		check(ok, "tt_col_sort_shown: the sort column shows; tt_col_next walks the shown");
	}
}

/* ------------------------------------------------------------ bench */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int bench(void)
{
	enum { N = 100000, EVENTS = 10000000, RUNS = 5, EXECS = 200000 };
	struct tt_state *st = new_state(0, NULL);
	uint64_t *ids = malloc(EVENTS * sizeof(*ids));
	double rnd[RUNS], seq[RUNS], rndb[RUNS], seqb[RUNS], sel_rate[RUNS], sel_comm[RUNS],
	    sel_mid[RUNS], sel_txt[RUNS], exec_rate[RUNS];
	const struct tt_conn *rows[50];
	struct tt_event e = ev_traffic(0, 0, 0, 1500, 40, 1, 1);
	static struct tt_event buf[256];
	size_t total;
	uint64_t seed = 88172645463325252ull;

	srand(1);
	for (uint64_t i = 0; i < N; i++) {
		/* socket-cookie-like sparse ids */
		struct tt_event o = ev_open4(SEC, 4096 + i * 3, (uint32_t)(i % 5000 + 1),
					     comms[i % 10], 6, 0x7f000001 + (uint32_t)i % 50,
					     (uint16_t)(i & 0xffff), 0x0a000001, 443);

		o.u.open.comm[12] = (char)('a' + rand() % 26); /* spread names */
		apply(st, o);
	}
	for (size_t i = 0; i < EVENTS; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		ids[i] = 4096 + (seed % N) * 3;
	}
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_s();

		for (size_t i = 0; i < EVENTS; i++) {
			e.conn_id = ids[i];
			e.ts_ns = 2 * SEC + i;
			tt_state_apply(st, &e);
		}
		rnd[r] = EVENTS / (now_s() - t0);
		t0 = now_s();
		for (size_t i = 0; i < EVENTS; i++) {
			e.conn_id = 4096 + (i % N) * 3;
			e.ts_ns = 2 * SEC + i;
			tt_state_apply(st, &e);
		}
		seq[r] = EVENTS / (now_s() - t0);
		/* batches of 256, as a reader hands over a decoded block or a ring-buffer drain */
		for (int pass = 0; pass < 2; pass++) {
			t0 = now_s();
			for (size_t i = 0; i < EVENTS; i += 256) {
				size_t m = EVENTS - i < 256 ? EVENTS - i : 256;

				for (size_t j = 0; j < m; j++) {
					buf[j] = e;
					buf[j].conn_id =
					    pass ? 4096 + ((i + j) % N) * 3 : ids[i + j];
					buf[j].ts_ns = 2 * SEC + i + j;
				}
				tt_state_apply_batch(st, buf, m);
			}
			(pass ? seqb : rndb)[r] = EVENTS / (now_s() - t0);
		}
	}
	/* give every connection its own rate */
	for (uint64_t i = 0; i < N; i++) {
		e.conn_id = 4096 + i * 3;
		e.u.traffic.tx_bytes = (uint64_t)rand() % 1000000;
		tt_state_apply(st, &e);
	}
	tt_state_tick(st, 100 * SEC);
	for (int r = 0; r < RUNS; r++) {
		struct tt_select s1 = {.sort = TT_COL_TX_RATE}, s2 = {.sort = TT_COL_COMM};
		struct tt_select s3 = {.sort = TT_COL_LOCAL, .text = "127.0.0.1"};
		double t0 = now_s();

		tt_state_select(st, &s1, 0, 50, rows, &total);
		sel_rate[r] = (now_s() - t0) * 1e3;
		t0 = now_s();
		tt_state_select(st, &s2, 0, 50, rows, &total);
		sel_comm[r] = (now_s() - t0) * 1e3;
		t0 = now_s();
		tt_state_select(st, &s1, N / 2, 50, rows, &total);
		sel_mid[r] = (now_s() - t0) * 1e3;
		t0 = now_s();
		tt_state_select(st, &s3, 0, 50, rows, &total);
		sel_txt[r] = (now_s() - t0) * 1e3;
	}
	/* PROC_EXEC: pids 1..5000 own 20 connections each, 5001..10000 none (a fresh exec) */
	for (int r = 0; r < RUNS; r++) {
		double t0 = now_s();

		for (int i = 0; i < EXECS; i++) {
			struct tt_event x = ev_proc(TT_EV_PROC_EXEC, 200 * SEC, 0,
						    (uint32_t)(i % 10000 + 1), comms[(i + r) % 7]);

			tt_state_apply(st, &x);
		}
		exec_rate[r] = EXECS / (now_s() - t0);
	}
	printf("FIGURE\tstate: apply TRAFFIC, 100K conns, random order (events/s)\t%.3g\t>= 1e7\n",
	       median(rnd, RUNS));
	printf("FIGURE\tstate: apply TRAFFIC, 100K conns, round robin (events/s)\t%.3g\t>= 1e7\n",
	       median(seq, RUNS));
	printf("FIGURE\tstate: apply_batch TRAFFIC, 100K conns, random order (events/s)\t%.3g\t>= "
	       "1e7\n",
	       median(rndb, RUNS));
	printf("FIGURE\tstate: apply_batch TRAFFIC, 100K conns, round robin (events/s)\t%.3g\t>= "
	       "1e7\n",
	       median(seqb, RUNS));
	printf("FIGURE\tstate: select 50 rows of 100K by TX/s (ms)\t%.2f\t< 20\n",
	       median(sel_rate, RUNS));
	printf("FIGURE\tstate: select 50 rows of 100K by COMM (ms)\t%.2f\t< 20\n",
	       median(sel_comm, RUNS));
	printf("FIGURE\tstate: select rows 50000-50049 of 100K by TX/s (ms)\t%.2f\t< 20\n",
	       median(sel_mid, RUNS));
	printf("FIGURE\tstate: select 50 of 100K, text '127.0.0.1', by LOCAL (ms)\t%.2f\t\n",
	       median(sel_txt, RUNS));
	printf("FIGURE\tstate: apply PROC_EXEC, 100K conns, half the pids own 20 (events/s)\t%.3g\t"
	       ">= 1e6\n",
	       median(exec_rate, RUNS));
	printf("FIGURE\tstate: memory per connection at 100K (bytes)\t%.0f\t<= 256 in tt_conn\n",
	       (double)tt_state_memory(st) / N);
	free(ids);
	tt_state_free(st);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [bench]\n", argv[0]);
		return 2;
	}
	test_kinds();
	test_retrans_causes();
	test_placeholder_and_procs();
	test_pid_index();
	test_ttl_and_rates();
	test_close_catch_up_is_not_a_rate();
	test_spread_rates();
	test_filters();
	test_cols();
	test_reset_states();
	test_tcp_state_names();
	test_handshake_fold();
	test_sort();
	test_clone();
	test_timeline();
	test_no_timeline();
	test_timeline_samples();
	test_reference_model();
	test_scale_churn();
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
