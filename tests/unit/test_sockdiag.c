// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the sock_diag source's pure part: the poll-to-events state machine
 * (source/sd_diff.c). One line per check, exit 1 on any failure.
 *
 * Oracles: the BPF source's semantics written out by hand for each scenario (payload bytes,
 * not sequence space: our SYN on active opens, our FIN once acked, the peer's FIN; counters
 * before the first poll not counted; closes with the last poll's absolute counters).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "../../source/sd_diff.h"
#include "tt_util.h"
#include "check.h"

enum {
	EST = 1,
	SYN_SENT = 2,
	FIN_WAIT1 = 4,
	FIN_WAIT2 = 5,
	TIME_WAIT = 6,
	CLOSE = 7,
	CLOSE_WAIT = 8,
	LAST_ACK = 9,
	LISTEN = 10
};

#define NS 4026531840u

static struct tt_sd_sock tcp(uint64_t cookie, uint8_t state, uint16_t lport, uint16_t rport,
			     uint64_t acked, uint64_t rcvd)
{
	struct tt_sd_sock s;

	memset(&s, 0, sizeof(s));
	s.cookie = cookie;
	s.state = state;
	s.proto = IPPROTO_TCP;
	s.family = TT_FAMILY_IPV4;
	s.lport = lport;
	s.rport = rport;
	s.laddr[0] = s.raddr[0] = 127;
	s.laddr[3] = s.raddr[3] = 1;
	s.bytes_acked = acked;
	s.bytes_received = rcvd;
	s.segs_out = (uint32_t)(acked / 1000) + 1;
	s.segs_in = (uint32_t)(rcvd / 1000) + 1;
	s.rtt_us = 50;
	s.sample.srtt_us = 50; /* as put_info() fills both from tcp_info */
	s.sample.cwnd = 10;
	s.rttvar_us = 25;
	s.has_info = state != TIME_WAIT;
	s.sent_once = UINT64_MAX; /* as a kernel without tcpi_bytes_sent */
	s.netns = NS;
	s.inode = (uint32_t)cookie + 1000;
	return s;
}

/* Owners known to the fake /proc: inode -> pid (inode - 1000 + 100). */
struct fake_proc {
	uint32_t known[16];
	int n, asked;
};

static int fake_owner(void *ctx, uint32_t inode, struct tt_sd_owner *out)
{
	struct fake_proc *p = ctx;

	p->asked++;
	for (int i = 0; i < p->n; i++)
		if (p->known[i] == inode) {
			out->pid = inode - 1000 + 100;
			snprintf(out->comm, sizeof(out->comm), "proc%u", out->pid);
			return 1;
		}
	return 0;
}

/* The pid fake_owner() gives inode, 0 when it knows none. */
static uint32_t owner_pid(const struct fake_proc *p, uint32_t inode)
{
	for (int i = 0; i < p->n; i++)
		if (p->known[i] == inode)
			return inode - 1000 + 100;
	return 0;
}

struct run {
	struct tt_sd_diff *d;
	struct tt_sd_snap snap;
	struct tt_sd_events ev;
	struct fake_proc proc;
	uint64_t ts;
};

/* One poll a second later of socks, with keep_ns and a lookup (none: NULL). */
static void poll_pass(struct run *r, const struct tt_sd_sock *socks, size_t n, const uint32_t *keep,
		      size_t n_keep, tt_sd_lookup_fn lookup, void *lookup_ctx)
{
	r->ts += 1000000000ull;
	r->snap.n = 0;
	for (size_t i = 0; i < n; i++) {
		if (tt_grow(&r->snap.v, &r->snap.cap, r->snap.n + 1, sizeof(*r->snap.v), 16)) {
			check(0, "out of memory for the snapshot");
			exit(1);
		}
		r->snap.v[r->snap.n] = socks[i];
		r->snap.v[r->snap.n++].ts_ns = r->ts;
	}
	r->ev.n = 0;
	if (tt_sd_diff_pass(r->d, &r->snap, keep, n_keep, r->ts, fake_owner, &r->proc, lookup,
			    lookup_ctx, &r->ev))
		check(0, "pass failed");
}

static void poll_with(struct run *r, const struct tt_sd_sock *socks, size_t n, const uint32_t *keep,
		      size_t n_keep)
{
	poll_pass(r, socks, n, keep, n_keep, NULL, NULL);
}

static void poll_socks(struct run *r, const struct tt_sd_sock *socks, size_t n)
{
	poll_with(r, socks, n, NULL, 0);
}

/* The events of this poll about cookie, of kind (0: any). */
static int count(const struct run *r, uint64_t cookie, uint16_t kind)
{
	int n = 0;

	for (size_t i = 0; i < r->ev.n; i++)
		if (r->ev.v[i].conn_id == cookie && (!kind || r->ev.v[i].kind == kind))
			n++;
	return n;
}

static const struct tt_event *find(const struct run *r, uint64_t cookie, uint16_t kind)
{
	for (size_t i = 0; i < r->ev.n; i++)
		if (r->ev.v[i].conn_id == cookie && r->ev.v[i].kind == kind)
			return &r->ev.v[i];
	return NULL;
}

static uint64_t tx_of(const struct run *r, uint64_t cookie)
{
	const struct tt_event *e = find(r, cookie, TT_EV_TRAFFIC);

	return e ? e->u.traffic.tx_bytes : 0;
}

static uint64_t rx_of(const struct run *r, uint64_t cookie)
{
	const struct tt_event *e = find(r, cookie, TT_EV_TRAFFIC);

	return e ? e->u.traffic.rx_bytes : 0;
}

static void run_init(struct run *r, const struct tt_filter *f)
{
	memset(r, 0, sizeof(*r));
	if (tt_sd_diff_new(&r->d, f))
		check(0, "diff_new");
}

static void run_free(struct run *r)
{
	tt_sd_diff_free(r->d);
	free(r->snap.v); /* the snapshot is the test's own, not a dump's */
	tt_sd_events_free(&r->ev);
}

static void test_preexisting_and_new(void)
{
	struct run r;
	struct tt_sd_sock s[4];
	const struct tt_event *e;

	run_init(&r, NULL);
	/* at the first poll: an outbound connection with history, a listener, an accepted one */
	s[0] = tcp(11, EST, 40000, 80, 5001, 700);
	s[1] = tcp(12, LISTEN, 9000, 0, 0, 0);
	s[2] = tcp(13, EST, 9000, 41000, 300, 200);
	poll_socks(&r, s, 3);
	e = find(&r, 11, TT_EV_CONN_OPEN);
	check(e && (e->flags & TT_F_PREEXISTING) && e->u.open.direction == TT_DIR_OUTBOUND &&
		  e->u.open.state == EST && e->u.open.lport == 40000 && e->u.open.netns == NS,
	      "first poll: CONN_OPEN, pre-existing, outbound (no listener on its port)");
	check(count(&r, 11, TT_EV_TRAFFIC) == 0, "first poll: counters before it are not counted");
	check(count(&r, 11, TT_EV_SAMPLE) == 1 && count(&r, 11, TT_EV_RTT) == 0,
	      "first poll: its TCP state (a SAMPLE, no RTT)");
	check(count(&r, 12, 0) == 0, "a listener is no connection");
	e = find(&r, 13, TT_EV_CONN_OPEN);
	check(e && e->u.open.direction == TT_DIR_INBOUND, "a listener on its port: inbound");
	check(r.proc.asked == 3, "owners asked for the two connections and the listener (%d)",
	      r.proc.asked);
	e = find(&r, 0, TT_EV_LISTENER);
	check(e && count(&r, 0, TT_EV_LISTENER) == 1 && e->u.listener.lport == 9000 &&
		  e->u.listener.netns == NS && e->pid == owner_pid(&r.proc, 1012),
	      "first poll: one LISTENER, with its owner");

	/* growth is reported; the RTT only when it changes */
	s[0].bytes_acked += 1000;
	s[0].bytes_received += 10;
	s[0].segs_out += 2;
	poll_socks(&r, s, 3);
	check(tx_of(&r, 11) == 1000 && rx_of(&r, 11) == 10, "TRAFFIC: the deltas (tx %llu rx %llu)",
	      (unsigned long long)tx_of(&r, 11), (unsigned long long)rx_of(&r, 11));
	e = find(&r, 11, TT_EV_TRAFFIC);
	check(e && e->u.traffic.tx_pkts == 2, "TRAFFIC: segments");
	check(count(&r, 11, TT_EV_RTT) == 0 && count(&r, 13, 0) == 0,
	      "nothing when nothing changed");
	check(r.proc.asked == 3, "owners not asked again for the same inodes");
	check(count(&r, 0, TT_EV_LISTENER) == 0, "no LISTENER while nothing changed");
	s[1].rqueue = 2;
	s[1].wqueue = 1;
	s[1].drops = 7;
	poll_socks(&r, s, 3);
	e = find(&r, 0, TT_EV_LISTENER);
	check(e && count(&r, 0, TT_EV_LISTENER) == 1 && e->u.listener.accept_queue == 2 &&
		  e->u.listener.accept_queue_max == 1 && e->u.listener.drops == 7,
	      "a LISTENER when its queue and drops changed");

	/* a new active open, seen once established: our SYN is not payload */
	s[3] = tcp(14, EST, 40001, 443, 1 + 517, 4000);
	s[0].rtt_us = s[0].sample.srtt_us = 70;
	s[0].total_retrans = 3;
	s[0].sample.dsack_dups = 2;
	poll_socks(&r, s, 4);
	e = find(&r, 14, TT_EV_CONN_OPEN);
	check(e && !(e->flags & TT_F_PREEXISTING) && (e->flags & TT_F_PID_UNKNOWN),
	      "new socket: not pre-existing, owner unknown");
	check(tx_of(&r, 14) == 517 && rx_of(&r, 14) == 4000,
	      "new socket: its bytes since the open, SYN left out (tx %llu)",
	      (unsigned long long)tx_of(&r, 14));
	e = find(&r, 11, TT_EV_SAMPLE);
	check(e && e->u.sample.srtt_us == 70 && e->u.sample.cwnd == 10 && !find(&r, 11, TT_EV_RTT),
	      "a SAMPLE when the TCP state changes");
	e = find(&r, 11, TT_EV_RETRANS);
	check(e && e->u.retrans.segs == 3 && e->u.retrans.state == EST &&
		  e->u.retrans.cause == TT_RETRANS_UNKNOWN,
	      "RETRANS: the growth of total_retrans, cause unknown");
	check(count(&r, 11, TT_EV_RETRANS) == 2, "a second RETRANS for the DSACKs");
	for (size_t i = 0; i < r.ev.n; i++)
		if (r.ev.v[i].conn_id == 11 && r.ev.v[i].kind == TT_EV_RETRANS &&
		    r.ev.v[i].u.retrans.cause)
			e = &r.ev.v[i];
	check(e && e->u.retrans.cause == TT_RETRANS_SPURIOUS && e->u.retrans.spurious == 2 &&
		  !e->u.retrans.segs,
	      "RETRANS spurious: the growth of tcpi_dsack_dups, no segments");
	run_free(&r);
}

static void test_fin_and_close(void)
{
	struct run r;
	struct tt_sd_sock s[3];
	const struct tt_event *e;

	run_init(&r, NULL);
	poll_socks(&r, NULL, 0);
	/* active open, then we close: FIN_WAIT2 means our FIN was acked */
	s[0] = tcp(21, EST, 40000, 80, 1 + 100, 50);
	/* passive side of another: the peer closed first */
	s[1] = tcp(22, LISTEN, 8080, 0, 0, 0);
	s[2] = tcp(23, EST, 8080, 41000, 70, 30);
	poll_socks(&r, s, 3);
	check(tx_of(&r, 21) == 100 && tx_of(&r, 23) == 70 && rx_of(&r, 23) == 30,
	      "opened: payload bytes");
	s[0].state = FIN_WAIT2;
	s[0].bytes_acked = 1 + 300 + 1;
	s[2].state = CLOSE_WAIT;
	s[2].bytes_received = 90 + 1;
	poll_socks(&r, s, 3);
	e = find(&r, 21, TT_EV_STATE);
	check(e && e->u.state.old_state == EST && e->u.state.new_state == FIN_WAIT2,
	      "STATE change");
	check(tx_of(&r, 21) == 200, "FIN_WAIT2: our acked FIN is not payload (tx %llu)",
	      (unsigned long long)tx_of(&r, 21));
	check(rx_of(&r, 23) == 60, "CLOSE_WAIT: the peer's FIN is not payload (rx %llu)",
	      (unsigned long long)rx_of(&r, 23));
	/* LAST_ACK: our FIN sent, not acked yet (out); the peer's still counted out */
	s[2].state = LAST_ACK;
	s[2].unacked = 1;
	poll_socks(&r, s, 3);
	check(count(&r, 23, TT_EV_TRAFFIC) == 0 && count(&r, 23, TT_EV_STATE) == 1,
	      "LAST_ACK: a state change, no bytes");
	/* its FIN acked between the dump's state and its tcp_info: LAST_ACK, FIN acked */
	s[2].bytes_acked = 70 + 1;
	s[2].unacked = 0;
	poll_socks(&r, s, 3);
	check(count(&r, 23, TT_EV_TRAFFIC) == 0,
	      "LAST_ACK with nothing out: our acked FIN is not payload (tx %llu)",
	      (unsigned long long)tx_of(&r, 23));
	/* 21 reaches TIME_WAIT (no tcp_info there); 23 is gone */
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	s[0].bytes_acked = 0;
	poll_socks(&r, s, 2);
	e = find(&r, 21, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 300 && e->u.close.rx_bytes == 50 &&
		  e->u.close.state == CLOSE && e->u.close.srtt_us == 50,
	      "TIME_WAIT: CONN_CLOSE with the last poll's absolute counters");
	check(count(&r, 21, TT_EV_STATE) == 1 && count(&r, 21, TT_EV_TRAFFIC) == 0,
	      "TIME_WAIT: the state said, no bytes invented");
	e = find(&r, 23, TT_EV_STATE);
	check(e && e->u.state.old_state == LAST_ACK && e->u.state.new_state == CLOSE,
	      "gone: STATE to CLOSE");
	e = find(&r, 23, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 70 && e->u.close.rx_bytes == 90 && e->ts_ns == r.ts,
	      "gone: CONN_CLOSE at this poll with the last counters");
	poll_socks(&r, s, 2);
	check(count(&r, 21, 0) == 0, "TIME_WAIT still there: closed once");
	poll_socks(&r, NULL, 0);
	check(r.ev.n == 0 && tt_sd_diff_count(r.d) == 0, "TIME_WAIT gone: nothing more, forgotten");
	/* a socket first seen in TIME_WAIT lived within one interval: not seen */
	s[0] = tcp(24, TIME_WAIT, 40005, 80, 0, 0);
	poll_socks(&r, s, 1);
	check(r.ev.n == 0, "first seen in TIME_WAIT: nothing");
	run_free(&r);
}

/*
 * tcp_get_info() loads the state a moment before it locks the socket for the counters: a
 * client that sent data and received none, read as FIN_WAIT2 while the peer's FIN arrived,
 * has that FIN in bytes_received. No data segment in: no payload in.
 */
static void test_fin_between_state_and_counters(void)
{
	struct run r;
	struct tt_sd_sock s[1];
	const struct tt_event *e;

	run_init(&r, NULL);
	poll_socks(&r, NULL, 0);
	s[0] = tcp(31, EST, 40010, 7000, 1 + 45000, 0);
	s[0].has_data_segs = 1;
	s[0].data_segs_out = 31;
	poll_socks(&r, s, 1);
	check(tx_of(&r, 31) == 45000 && rx_of(&r, 31) == 0, "sent 45000, received nothing");
	s[0].state = FIN_WAIT2;
	s[0].bytes_acked = 1 + 45000 + 1;
	s[0].bytes_received = 1;
	poll_socks(&r, s, 1);
	check(count(&r, 31, TT_EV_TRAFFIC) == 0,
	      "FIN_WAIT2 with the peer's FIN already counted: no bytes (rx %llu tx %llu)",
	      (unsigned long long)rx_of(&r, 31), (unsigned long long)tx_of(&r, 31));
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	poll_socks(&r, s, 1);
	e = find(&r, 31, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 45000 && e->u.close.rx_bytes == 0,
	      "its close: tx 45000, rx 0");
	/* our FIN acked between the state and the counters: read as ESTABLISHED, the FIN in
	 * bytes_acked; no more payload was acked than was sent once */
	s[0] = tcp(33, EST, 40012, 7000, 1 + 46000, 0);
	s[0].sent_once = 46000;
	poll_socks(&r, s, 1);
	check(tx_of(&r, 33) == 46000, "sent 46000 (tx %llu)", (unsigned long long)tx_of(&r, 33));
	s[0].bytes_acked = 1 + 46000 + 1;
	poll_socks(&r, s, 1);
	check(count(&r, 33, TT_EV_TRAFFIC) == 0,
	      "ESTABLISHED with our FIN's ack already counted: no byte more (tx %llu)",
	      (unsigned long long)tx_of(&r, 33));
	/* the peer's bare FIN between the state and the counters on an end that received data:
	 * read as ESTABLISHED, bytes_received one more, no data segment since the last poll */
	s[0] = tcp(34, EST, 7000, 40013, 0, 33000);
	s[0].has_data_segs = 1;
	s[0].data_segs_in = 5;
	poll_socks(&r, s, 1);
	check(rx_of(&r, 34) == 33000, "received 33000 (rx %llu)",
	      (unsigned long long)rx_of(&r, 34));
	s[0].bytes_received = 33000 + 1;
	poll_socks(&r, s, 1);
	check(count(&r, 34, TT_EV_TRAFFIC) == 0,
	      "ESTABLISHED, one byte more and no data segment since: the FIN, no payload (rx %llu)",
	      (unsigned long long)rx_of(&r, 34));
	s[0].state = CLOSE_WAIT;
	poll_socks(&r, s, 1);
	check(count(&r, 34, TT_EV_TRAFFIC) == 0, "then CLOSE_WAIT: no payload more (rx %llu)",
	      (unsigned long long)rx_of(&r, 34));
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	poll_socks(&r, s, 1);
	e = find(&r, 34, TT_EV_CONN_CLOSE);
	check(e && e->u.close.rx_bytes == 33000, "its close: rx 33000");
	/* one byte more in a data segment is payload */
	s[0] = tcp(35, EST, 7000, 40014, 0, 33000);
	s[0].has_data_segs = 1;
	s[0].data_segs_in = 5;
	poll_socks(&r, s, 1);
	s[0].bytes_received = 33000 + 1;
	s[0].data_segs_in = 6;
	poll_socks(&r, s, 1);
	check(rx_of(&r, 35) == 1, "one byte more in a data segment: payload (rx %llu)",
	      (unsigned long long)rx_of(&r, 35));
	/* a kernel without the data segment counts keeps the state's own reading */
	s[0] = tcp(32, EST, 40011, 7000, 1 + 10, 0);
	poll_socks(&r, s, 1);
	s[0].state = CLOSE_WAIT;
	s[0].bytes_received = 1;
	poll_socks(&r, s, 1);
	check(count(&r, 32, TT_EV_TRAFFIC) == 0, "no data segment counts: the state says FIN");
	run_free(&r);
}

static void test_owners_and_namespaces(void)
{
	struct run r;
	struct tt_sd_sock s[2];
	const struct tt_event *e;
	uint32_t keep = NS + 1;

	run_init(&r, NULL);
	s[0] = tcp(31, EST, 40000, 80, 10, 10);
	s[0].inode = 0; /* in the accept queue: no file yet */
	s[1] = tcp(32, EST, 40001, 80, 10, 10);
	s[1].netns = NS + 1;
	check(tt_sd_diff_wants_owners(r.d, &(struct tt_sd_snap){s, 2, 2}, -1),
	      "wants owners: a new socket with a file");
	poll_socks(&r, s, 2);
	e = find(&r, 31, TT_EV_CONN_OPEN);
	check(e && (e->flags & TT_F_PID_UNKNOWN), "no file: owner unknown");
	check(!tt_sd_diff_wants_owners(r.d, &r.snap, -1),
	      "wants owners: not for what was looked up");
	s[0].inode = 1031; /* accepted */
	check(tt_sd_diff_wants_owners(r.d, &(struct tt_sd_snap){s, 2, 2}, -1),
	      "wants owners: a socket that got a file");
	s[0].uid = 7;
	check(!tt_sd_diff_wants_owners(r.d, &(struct tt_sd_snap){s, 2, 2}, 1000),
	      "wants owners: not for another user's socket when only ours can be read");
	r.proc.known[r.proc.n++] = 1031;
	poll_socks(&r, s, 2);
	e = find(&r, 31, TT_EV_CONN_PROC);
	check(e && e->pid == 131 && !strcmp(e->u.proc.comm, "proc131"),
	      "CONN_PROC once the owner is known");
	poll_socks(&r, s, 2);
	check(count(&r, 31, TT_EV_CONN_PROC) == 0, "CONN_PROC once");
	/* namespace NS+1's dump failed: its socket is kept, not closed */
	poll_with(&r, s, 1, &keep, 1);
	check(count(&r, 32, 0) == 0, "a namespace whose dump failed: its sockets stay");
	poll_socks(&r, s, 1);
	check(count(&r, 32, TT_EV_CONN_CLOSE) == 1, "and close when it answers without them");
	run_free(&r);
}

static void test_filters(void)
{
	struct tt_filter f;
	struct run r;
	struct tt_sd_sock s[3];

	memset(&f, 0, sizeof(f));
	f.ports[f.n_ports++] = 80;
	run_init(&r, &f);
	s[0] = tcp(41, EST, 40000, 80, 10, 10);
	s[1] = tcp(42, EST, 40001, 443, 10, 10);
	poll_socks(&r, s, 2);
	check(count(&r, 41, TT_EV_CONN_OPEN) == 1 && count(&r, 42, 0) == 0, "port filter");
	s[1].bytes_acked += 100;
	poll_socks(&r, s, 2);
	check(count(&r, 42, 0) == 0, "filtered out stays out");
	run_free(&r);

	memset(&f, 0, sizeof(f));
	snprintf(f.comms[f.n_comms++], TT_COMM_LEN, "proc152");
	run_init(&r, &f);
	poll_socks(&r, NULL, 0);
	s[0] = tcp(51, EST, 40000, 80, 1 + 10, 10);
	s[1] = tcp(52, EST, 40001, 80, 1 + 20, 20);
	s[2] = tcp(53, EST, 40002, 80, 1 + 30, 30);
	r.proc.known[r.proc.n++] = 1053;
	poll_socks(&r, s, 3);
	check(r.ev.n == 0, "comm filter: the unknown wait, the other process's are dropped");
	r.proc.known[r.proc.n++] = 1052; /* named since, but its inode was looked up already */
	poll_socks(&r, s, 3);
	check(r.ev.n == 0, "an owner is looked up once per inode");
	run_free(&r);

	/* waiting for an owner, then opened with every byte since the socket's start */
	run_init(&r, &f);
	poll_socks(&r, NULL, 0);
	s[0] = tcp(52, EST, 40001, 80, 1 + 20, 20);
	s[0].inode = 0;
	poll_socks(&r, s, 1);
	check(r.ev.n == 0, "comm filter: waits while the owner is unknown");
	s[0].inode = 1052;
	s[0].bytes_acked += 5;
	r.proc.known[r.proc.n++] = 1052;
	poll_socks(&r, s, 1);
	check(find(&r, 52, TT_EV_CONN_OPEN) && find(&r, 52, TT_EV_CONN_OPEN)->pid == 152 &&
		  tx_of(&r, 52) == 25,
	      "comm filter: opened when its owner matches, with its bytes (tx %llu)",
	      (unsigned long long)tx_of(&r, 52));
	run_free(&r);
}

static void test_udp(void)
{
	struct run r;
	struct tt_sd_sock s[2];
	const struct tt_event *e;

	run_init(&r, NULL);
	poll_socks(&r, NULL, 0);
	s[0] = tcp(61, CLOSE, 5353, 0, 0, 0);
	s[1] = tcp(62, EST, 40000, 53, 0, 0);
	s[0].proto = s[1].proto = IPPROTO_UDP;
	s[0].has_info = s[1].has_info = 0;
	poll_socks(&r, s, 2);
	e = find(&r, 61, TT_EV_CONN_OPEN);
	check(e && e->u.open.proto == IPPROTO_UDP && e->u.open.state == 0 &&
		  e->u.open.direction == TT_DIR_UNKNOWN,
	      "UDP unconnected: open, no state, no direction");
	e = find(&r, 62, TT_EV_CONN_OPEN);
	check(e && e->u.open.direction == TT_DIR_OUTBOUND, "UDP connected: outbound");
	poll_socks(&r, s, 2);
	check(r.ev.n == 0, "UDP: no traffic to report");
	poll_socks(&r, NULL, 0);
	e = find(&r, 61, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 0 && count(&r, 61, TT_EV_STATE) == 0,
	      "UDP: closed when gone, no state");
	run_free(&r);
}

/* The kernel as a lookup sees it: the sockets still there, whether or not a dump showed them. */
struct fake_kernel {
	struct tt_sd_sock there[4];
	int n, asked, fail;
	struct tt_sd_sock last_want;
};

static int fake_lookup(void *ctx, const struct tt_sd_sock *want, struct tt_sd_sock *out)
{
	struct fake_kernel *k = ctx;

	k->asked++;
	k->last_want = *want;
	if (k->fail)
		return -ENOBUFS;
	for (int i = 0; i < k->n; i++)
		if (k->there[i].cookie == want->cookie && k->there[i].lport == want->lport &&
		    k->there[i].rport == want->rport && k->there[i].ifindex == want->ifindex &&
		    k->there[i].netns == want->netns && k->there[i].proto == want->proto) {
			*out = k->there[i];
			return 1;
		}
	return 0;
}

static void poll_lookup(struct run *r, const struct tt_sd_sock *socks, size_t n,
			struct fake_kernel *k)
{
	poll_pass(r, socks, n, NULL, 0, fake_lookup, k);
}

/* A dump that misses a live socket (it resumes by position in a hash chain): looked up. */
static void test_missed_by_the_dump(void)
{
	struct run r;
	struct fake_kernel k;
	struct tt_sd_sock s[4];
	const struct tt_event *e;

	run_init(&r, NULL);
	memset(&k, 0, sizeof(k));
	poll_lookup(&r, NULL, 0, &k);
	s[0] = tcp(71, EST, 40000, 80, 1 + 1000, 500);
	s[0].ifindex = 3;
	s[1] = tcp(72, EST, 40001, 80, 1 + 10, 10);
	s[2] = tcp(73, EST, 40002, 80, 1 + 20, 20);
	s[3] = tcp(74, EST, 40003, 80, 1 + 30, 30);
	poll_lookup(&r, s, 4, &k);
	check(tx_of(&r, 71) == 1000 && k.asked == 0, "opened; nothing missing, nothing asked");
	/* 71 missed by the dump, there all the same with more bytes; 72 gone */
	k.there[k.n] = s[0];
	k.there[k.n].bytes_acked += 300;
	k.there[k.n++].segs_out += 1;
	k.there[k.n++] = s[2];
	k.there[k.n++] = s[3];
	poll_lookup(&r, &s[2], 2, &k);
	check(k.asked == 2, "the two missing looked up (%d)", k.asked);
	check(count(&r, 71, TT_EV_CONN_CLOSE) == 0 && count(&r, 71, TT_EV_CONN_OPEN) == 0 &&
		  count(&r, 71, TT_EV_STATE) == 0,
	      "missed by the dump, found by the lookup: not closed, not opened again");
	e = find(&r, 71, TT_EV_TRAFFIC);
	check(e && e->u.traffic.tx_bytes == 300 && e->ts_ns == r.ts,
	      "found by the lookup: its growth only, at this poll (tx %llu)",
	      (unsigned long long)tx_of(&r, 71));
	e = find(&r, 72, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 10, "missing and gone: closed with its last counters");
	/* the lookup's key: the socket's ends, device, namespace and cookie */
	poll_lookup(&r, &s[2], 2, &k);
	check(k.last_want.cookie == 71 && k.last_want.lport == 40000 && k.last_want.rport == 80 &&
		  k.last_want.ifindex == 3 && k.last_want.netns == NS &&
		  k.last_want.proto == IPPROTO_TCP && k.last_want.family == TT_FAMILY_IPV4 &&
		  k.last_want.laddr[0] == 127 && k.last_want.raddr[3] == 1,
	      "looked up by its key");
	check(r.ev.n == 0, "nothing new, nothing said");
	/* back in the dump: counted on from where it was */
	s[1] = k.there[0];
	s[1].bytes_acked += 50;
	poll_lookup(&r, &s[1], 3, &k);
	check(tx_of(&r, 71) == 50 && count(&r, 71, TT_EV_CONN_OPEN) == 0,
	      "back in the dump: the bytes since the lookup (tx %llu)",
	      (unsigned long long)tx_of(&r, 71));
	/* found in TIME_WAIT: closed as the dump would have */
	k.there[0].state = TIME_WAIT;
	k.there[0].has_info = 0;
	poll_lookup(&r, &s[2], 2, &k);
	e = find(&r, 71, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 1350 && count(&r, 71, TT_EV_STATE) == 1,
	      "found in TIME_WAIT: closed with its last counters");
	k.asked = 0;
	poll_lookup(&r, &s[2], 2, &k);
	check(k.asked == 0, "one closed is not asked about again");
	/* a lookup that cannot tell: closed only when the next dump misses it too */
	k.fail = 1;
	poll_lookup(&r, &s[3], 1, &k);
	check(r.ev.n == 0, "a failed lookup: nothing said yet");
	s[2].bytes_acked += 7;
	poll_lookup(&r, &s[2], 2, &k);
	check(tx_of(&r, 73) == 7 && count(&r, 73, TT_EV_CONN_OPEN) == 0 &&
		  count(&r, 73, TT_EV_CONN_CLOSE) == 0,
	      "in the dump again: counted on, not opened again (tx %llu)",
	      (unsigned long long)tx_of(&r, 73));
	poll_lookup(&r, &s[3], 1, &k);
	check(r.ev.n == 0, "missed again, the lookup failing: nothing said yet");
	poll_lookup(&r, &s[3], 1, &k);
	e = find(&r, 73, TT_EV_CONN_CLOSE);
	check(e && e->u.close.tx_bytes == 27 && e->ts_ns == r.ts,
	      "missed by two dumps in a row, the lookup failing: closed");
	run_free(&r);
}

/*
 * Zero-window stalls from the windows each poll reads (track_stalls() in source/sd_diff.c, the
 * BPF pass's rules): begins at the poll that sees one, dated back to the last data sent (peer)
 * or received (local); ends at the poll that sees the window open, or at the latest data
 * received since (local), or at the close.
 */
static void test_stalls(void)
{
	const uint64_t ms = 1000000ull;
	struct run r;
	struct tt_sd_sock s[2];
	const struct tt_event *e;
	uint64_t t2;
	int order = 0;

	run_init(&r, NULL);
	s[0] = tcp(11, EST, 40000, 80, 5000, 700); /* the sender */
	s[1] = tcp(12, EST, 40001, 81, 700, 5000); /* the receiver */
	for (int i = 0; i < 2; i++) {
		s[i].windows = TT_SD_WND_PEER | TT_SD_WND_LOCAL;
		s[i].sample.snd_wnd = s[i].sample.rcv_wnd = 65536;
	}
	poll_socks(&r, s, 2);
	check(count(&r, 11, TT_EV_STALL) + count(&r, 12, TT_EV_STALL) == 0,
	      "stalls: none while both windows are open");

	/* the peer's window shut with data to send; ours shut on the receiver */
	s[0].sample.snd_wnd = 0;
	s[0].notsent = 4096;
	s[0].last_data_sent_ms = 300;
	s[1].sample.rcv_wnd = 0;
	s[1].last_data_recv_ms = 200;
	poll_socks(&r, s, 2);
	t2 = r.ts;
	e = find(&r, 11, TT_EV_STALL);
	check(e && count(&r, 11, TT_EV_STALL) == 1 && e->u.stall.side == TT_STALL_PEER &&
		  e->u.stall.phase == TT_STALL_BEGIN && e->ts_ns == t2 &&
		  e->u.stall.dur_us == 300000,
	      "stalls: a peer begin at the poll, from the last data sent (dur %llu)",
	      e ? (unsigned long long)e->u.stall.dur_us : 0ull);
	e = find(&r, 12, TT_EV_STALL);
	check(e && e->u.stall.side == TT_STALL_LOCAL && e->u.stall.phase == TT_STALL_BEGIN &&
		  e->ts_ns == t2 && e->u.stall.dur_us == 200000,
	      "stalls: a local begin, from the last data received");
	for (size_t i = 0; i < r.ev.n; i++)
		if (r.ev.v[i].conn_id == 11)
			order = order * 10 + (r.ev.v[i].kind == TT_EV_STALL ? 1 : 2);
	check(order == 12, "stalls: before the poll's SAMPLE, as the BPF pass (%d)", order);

	/* going on: nothing more; nothing left to send ends the peer's */
	s[0].last_data_sent_ms = 1300;
	s[1].last_data_recv_ms = 1200;
	poll_socks(&r, s, 2);
	check(count(&r, 11, TT_EV_STALL) + count(&r, 12, TT_EV_STALL) == 0,
	      "stalls: nothing while they go on");
	s[0].notsent = 0;
	/* ours opened and data came since, the latest 100 ms ago */
	s[1].sample.rcv_wnd = 1000;
	s[1].bytes_received += 1000;
	s[1].last_data_recv_ms = 100;
	poll_socks(&r, s, 2);
	e = find(&r, 11, TT_EV_STALL);
	check(e && e->u.stall.side == TT_STALL_PEER && e->u.stall.phase == TT_STALL_END &&
		  e->ts_ns == r.ts && e->u.stall.dur_us == (r.ts - (t2 - 300 * ms)) / 1000,
	      "stalls: the peer's ends at the poll that sees nothing left to send");
	e = find(&r, 12, TT_EV_STALL);
	check(e && e->u.stall.side == TT_STALL_LOCAL && e->u.stall.phase == TT_STALL_END &&
		  e->ts_ns == r.ts - 100 * ms &&
		  e->u.stall.dur_us == (r.ts - 100 * ms - (t2 - 200 * ms)) / 1000,
	      "stalls: ours ends at the data received since");

	/* ours shut again, opened with no data since: the poll; then one the close ends */
	s[1].sample.rcv_wnd = 0;
	s[1].last_data_recv_ms = 50;
	poll_socks(&r, s, 2);
	s[1].sample.rcv_wnd = 1000;
	s[1].last_data_recv_ms = 1050;
	poll_socks(&r, s, 2);
	e = find(&r, 12, TT_EV_STALL);
	check(e && e->u.stall.phase == TT_STALL_END && e->ts_ns == r.ts &&
		  e->u.stall.dur_us == 1050000,
	      "stalls: with no data since, ours ends at the poll that sees it open");
	s[0].sample.snd_wnd = 0;
	s[0].notsent = 10;
	s[0].last_data_sent_ms = 0;
	poll_socks(&r, s, 2);
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	poll_socks(&r, s, 2);
	e = find(&r, 11, TT_EV_STALL);
	check(e && e->u.stall.phase == TT_STALL_END && e->ts_ns == r.ts &&
		  e->u.stall.dur_us == 1000000 && e < find(&r, 11, TT_EV_CONN_CLOSE),
	      "stalls: the close ends what goes on, before the CONN_CLOSE");

	/* a window this kernel's tcp_info lacks reads as 0: no stall on that side */
	s[1].windows = TT_SD_WND_PEER;
	s[1].sample.rcv_wnd = 0;
	poll_socks(&r, s, 2);
	check(count(&r, 12, TT_EV_STALL) == 0, "stalls: none of a side tcp_info lacks");
	run_free(&r);
}

/*
 * Retransmits told as they happen (BPF beside sock_diag) and the polls' totals: each told once,
 * whichever comes first. Oracle: the socket's total_retrans, by hand.
 */
static void test_retransmits_told_beside_the_polls(void)
{
	struct run r;
	struct tt_sd_sock s[2];
	struct tt_filter f;
	const struct tt_event *e;

	memset(&f, 0, sizeof(f));
	f.n_ports = 1;
	f.ports[0] = 40000;
	run_init(&r, &f);
	check(tt_sd_diff_retrans(r.d, 21, 1, 1) == 0 && !tt_sd_diff_opened(r.d, 21) &&
		  !tt_sd_diff_known(r.d, 21),
	      "before its first poll: not told, no connection, not known (its events wait)");
	s[0] = tcp(21, EST, 40000, 80, 1000, 10);
	s[0].total_retrans = 2;			  /* before the first poll: cause unknown */
	s[1] = tcp(22, EST, 40001, 80, 1000, 10); /* filtered out */
	poll_socks(&r, s, 2);
	check(tt_sd_diff_opened(r.d, 21) && !tt_sd_diff_opened(r.d, 22),
	      "opened: the one that passed the filter");
	check(tt_sd_diff_known(r.d, 21) && tt_sd_diff_known(r.d, 22) && !tt_sd_diff_known(r.d, 23),
	      "known after the pass: both compared, open or filtered out; not one never dumped");
	check(tt_sd_diff_retrans(r.d, 22, 1, 1) == 0, "a filtered-out connection's: not told");
	/* its events: one the first poll counted, then two new ones */
	check(tt_sd_diff_retrans(r.d, 21, 1, 2) == 0, "an event a poll told already: 0");
	check(tt_sd_diff_retrans(r.d, 21, 1, 3) == 1, "a new one: told");
	check(tt_sd_diff_retrans(r.d, 21, 2, 5) == 2, "two segments: both told");
	s[0].total_retrans = 5;
	poll_socks(&r, s, 2);
	check(count(&r, 21, TT_EV_RETRANS) == 0, "a poll after the events: nothing left to tell");
	/* the kernel counted 3 more, an event told 1 of them (2 failed or lost): the poll the rest
	 */
	check(tt_sd_diff_retrans(r.d, 21, 1, 8) == 1, "an event after untold ones: its own only");
	s[0].total_retrans = 9; /* and one more whose event comes after the poll */
	poll_socks(&r, s, 2);
	e = find(&r, 21, TT_EV_RETRANS);
	check(e && e->u.retrans.segs == 3 && e->u.retrans.cause == TT_RETRANS_UNKNOWN &&
		  count(&r, 21, TT_EV_RETRANS) == 1,
	      "the poll: the untold ones, cause unknown (%u)", e ? e->u.retrans.segs : 0);
	check(tt_sd_diff_retrans(r.d, 21, 1, 9) == 0, "its event after the poll: 0");
	s[0].total_retrans = 9;
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	poll_socks(&r, s, 2);
	e = find(&r, 21, TT_EV_CONN_CLOSE);
	check(e && e->u.close.retrans == 9, "the close: the socket's total (%u)",
	      e ? e->u.close.retrans : 0);
	check(tt_sd_diff_retrans(r.d, 21, 1, 10) == 0 && tt_sd_diff_opened(r.d, 21),
	      "closed: retransmits not told, its resets still are");
	run_free(&r);
}

/* A CONN_OPEN the fallback's BPF writes at a close (tcp_fallback.bpf.c emit_short_open()). */
static void bpf_record_open(struct tt_event *ev, uint64_t id, uint64_t ts, uint16_t lport,
			    uint16_t rport, uint8_t dir, uint8_t state, uint32_t pid)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = TT_EV_CONN_OPEN;
	ev->flags = TT_F_FALLBACK_TCP;
	ev->conn_id = id;
	ev->ts_ns = ts;
	ev->pid = ev->tid = pid;
	ev->u.open.proto = IPPROTO_TCP;
	ev->u.open.family = TT_FAMILY_IPV4;
	ev->u.open.lport = lport;
	ev->u.open.rport = rport;
	ev->u.open.direction = dir;
	ev->u.open.state = state;
}

/* A CONN_CLOSE the fallback's BPF writes (tcp_fallback.bpf.c tt_state_k510), leaving old. */
static void bpf_record_close(struct tt_event *ev, uint64_t id, uint64_t ts, uint8_t old)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = TT_EV_CONN_CLOSE;
	ev->flags = TT_F_FALLBACK_TCP;
	ev->conn_id = id;
	ev->ts_ns = ts;
	ev->u.close.state = old;
}

/*
 * State changes and the close told as they happen (BPF beside sock_diag): at their time, with
 * the close's own counters; a dump read before the last change does not take it back. Oracle:
 * the kernel's sequence space by hand (our SYN on an active open; BPF took the FINs out).
 */
static void test_states_and_close_told_beside_the_polls(void)
{
	struct run r;
	struct tt_sd_sock s[1];
	struct tt_sd_events out = {0};
	struct tt_event ev;
	const struct tt_event *e;
	uint64_t t;

	run_init(&r, NULL);
	tt_sd_diff_set_bpf_states(r.d);
	s[0] = tcp(31, EST, 40000, 80, 1000, 10);
	poll_socks(&r, s, 1); /* pre-existing: its counters are the baseline */
	s[0].bytes_acked = 1000 + 1000;
	s[0].total_retrans = 1;
	poll_socks(&r, s, 1);
	check(tx_of(&r, 31) == 1000, "a poll: the growth (%llu)",
	      (unsigned long long)tx_of(&r, 31));
	t = r.ts + 1000;
	memset(&ev, 0, sizeof(ev));
	ev.conn_id = 31;
	ev.ts_ns = t;
	ev.kind = TT_EV_STATE;
	ev.u.state.old_state = EST;
	ev.u.state.new_state = FIN_WAIT1;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 1 && out.n == 1 &&
		  out.v[0].kind == TT_EV_STATE && out.v[0].u.state.old_state == EST &&
		  out.v[0].u.state.new_state == FIN_WAIT1 && out.v[0].ts_ns == t,
	      "a state change: told at its time");
	poll_socks(&r, s, 1); /* a dump read before it: still ESTABLISHED */
	check(count(&r, 31, TT_EV_STATE) == 0, "a dump older than the change: no STATE back");
	out.n = 0;
	ev.ts_ns = t + 2;
	ev.u.state.old_state = FIN_WAIT2; /* FIN_WAIT1 -> FIN_WAIT2 was not told (lost) */
	ev.u.state.new_state = TIME_WAIT;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 1 && out.n == 2 &&
		  out.v[0].u.state.new_state == FIN_WAIT2 &&
		  out.v[1].u.state.old_state == FIN_WAIT2 &&
		  out.v[1].u.state.new_state == TIME_WAIT,
	      "a change from a state not told: that one first");
	/* the close: 500 more bytes acked and 40 received since the poll, one more retransmit */
	out.n = 0;
	bpf_record_close(&ev, 31, t + 3, TIME_WAIT);
	ev.u.close.tx_bytes = 2000 + 500; /* our SYN still in it */
	ev.u.close.rx_bytes = 50;
	ev.u.close.tx_pkts = s[0].segs_out + 3;
	ev.u.close.rx_pkts = s[0].segs_in + 1;
	ev.u.close.srtt_us = 61;
	ev.u.close.retrans = 2;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 1, "the close: about a connection open here");
	e = NULL;
	for (size_t i = 0; i < out.n; i++)
		if (out.v[i].kind == TT_EV_TRAFFIC)
			e = &out.v[i];
	check(e && e->u.traffic.tx_bytes == 500 && e->u.traffic.rx_bytes == 40 &&
		  e->u.traffic.tx_pkts == 3 && e->ts_ns == t + 3,
	      "the close: the last bytes, at its time");
	e = out.n ? &out.v[out.n - 1] : NULL;
	check(e && e->kind == TT_EV_CONN_CLOSE && e->ts_ns == t + 3 &&
		  !(e->flags & TT_F_FALLBACK_TCP) && e->u.close.tx_bytes == 2499 &&
		  e->u.close.rx_bytes == 50 && e->u.close.retrans == 2 && e->u.close.srtt_us == 61,
	      "the close: the socket's counters, our SYN out (tx %llu rx %llu)",
	      e ? (unsigned long long)e->u.close.tx_bytes : 0,
	      e ? (unsigned long long)e->u.close.rx_bytes : 0);
	check(out.n >= 3 && out.v[0].kind == TT_EV_STATE && out.v[0].u.state.new_state == CLOSE,
	      "the close: its change to CLOSE first");
	s[0].state = TIME_WAIT;
	s[0].has_info = 0;
	poll_socks(&r, s, 1);
	check(count(&r, 31, 0) == 0, "a poll after it: nothing more of it");
	ev.conn_id = 32;
	ev.flags = 0;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 0, "not ours: nothing");
	tt_sd_events_free(&out);
	run_free(&r);
}

/*
 * A connection no poll saw, told whole by BPF at its close: its open (filtered as a poll's, its
 * owner where connect() gave one), then its close through the same path as a polled one's,
 * and the next pass, which cannot find it, forgets it. Oracle: the counters, by hand.
 */
static void test_short_connection_told_at_its_close(void)
{
	const uint64_t id = (1ULL << 62) | 7, other = (1ULL << 62) | 8, acc = (1ULL << 62) | 9,
		       syn = (1ULL << 62) | 10;
	struct tt_sd_events out = {0};
	struct tt_filter f;
	struct tt_event ev;
	struct run r;
	const struct tt_event *e;

	memset(&f, 0, sizeof(f));
	f.n_ports = 1;
	f.ports[0] = 80;
	run_init(&r, &f);
	tt_sd_diff_set_bpf_states(r.d);
	poll_socks(&r, NULL, 0);
	bpf_record_open(&ev, id, r.ts + 10, 40000, 80, TT_DIR_OUTBOUND, EST, 4242);
	strcpy(ev.u.open.comm, "curl");
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 1 && out.n == 1, "its open: opened");
	e = &out.v[0];
	check(e->kind == TT_EV_CONN_OPEN && e->conn_id == id && e->ts_ns == r.ts + 10 &&
		  e->pid == 4242 && !strcmp(e->u.open.comm, "curl") &&
		  !(e->flags & (TT_F_PID_UNKNOWN | TT_F_PREEXISTING | TT_F_FALLBACK_TCP)) &&
		  e->u.open.direction == TT_DIR_OUTBOUND && e->u.open.lport == 40000,
	      "its open: at its ESTABLISHED, its owner, not pre-existing, a poll's own event");
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 0 && out.n == 1 &&
		  tt_sd_diff_bpf_born(r.d, id),
	      "told twice: once; its record's own");
	ev.conn_id = other;
	ev.u.open.rport = 443;
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 0 && out.n == 1, "filtered out: no open");
	ev.conn_id = acc;
	ev.u.open.lport = 80;
	ev.u.open.rport = 40001;
	ev.u.open.direction = TT_DIR_INBOUND;
	ev.pid = ev.tid = 0;
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 1 && out.n == 2 &&
		  (out.v[1].flags & TT_F_PID_UNKNOWN) && out.v[1].pid == 0,
	      "an accepted one: its owner unknown");
	/* the close: 1000 bytes sent and acked (our SYN in), 20 received */
	out.n = 0;
	bpf_record_close(&ev, id, r.ts + 20, FIN_WAIT2);
	ev.u.close.tx_bytes = 1001;
	ev.u.close.rx_bytes = 20;
	ev.u.close.tx_pkts = 4;
	ev.u.close.rx_pkts = 3;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 1, "its close: about a connection open here");
	e = out.n ? &out.v[out.n - 1] : NULL;
	check(e && e->kind == TT_EV_CONN_CLOSE && e->u.close.tx_bytes == 1000 &&
		  e->u.close.rx_bytes == 20 && e->ts_ns == r.ts + 20,
	      "its close: its bytes, our SYN out, at its time");
	check(out.n == 4 && out.v[0].u.state.new_state == FIN_WAIT2 &&
		  out.v[1].u.state.new_state == CLOSE && out.v[2].kind == TT_EV_TRAFFIC &&
		  out.v[2].u.traffic.tx_bytes == 1000 && out.v[2].u.traffic.rx_bytes == 20,
	      "its close: its last state, CLOSE, then all its traffic (%zu events)", out.n);
	/* a connect() refused after one SYN resent: opened in SYN_SENT, closed from it */
	out.n = 0;
	bpf_record_open(&ev, syn, r.ts + 30, 40002, 80, TT_DIR_OUTBOUND, SYN_SENT, 4242);
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 1 && out.n == 1 &&
		  out.v[0].u.open.state == SYN_SENT,
	      "a failed connect(): opened in SYN_SENT");
	bpf_record_close(&ev, syn, r.ts + 31, SYN_SENT);
	ev.u.close.tx_pkts = 2;
	ev.u.close.rx_pkts = 1;
	ev.u.close.retrans = 1;
	ev.u.close.fail_reason = TT_FAIL_REFUSED;
	out.n = 0;
	check(tt_sd_diff_bpf_state(r.d, &ev, &out) == 1 && out.n == 4 &&
		  out.v[0].kind == TT_EV_STATE && out.v[0].u.state.old_state == SYN_SENT &&
		  out.v[0].u.state.new_state == CLOSE && out.v[1].kind == TT_EV_TRAFFIC &&
		  out.v[1].u.traffic.tx_pkts == 2 && !out.v[1].u.traffic.tx_bytes &&
		  out.v[2].kind == TT_EV_RETRANS && out.v[2].u.retrans.cause == TT_RETRANS_SYN &&
		  out.v[2].u.retrans.segs == 1,
	      "its close: SYN_SENT to CLOSE, its two SYNs, the one resent of cause syn");
	e = out.n ? &out.v[out.n - 1] : NULL;
	check(e && e->kind == TT_EV_CONN_CLOSE && e->u.close.fail_reason == TT_FAIL_REFUSED &&
		  e->u.close.tx_bytes == 0 && e->u.close.rx_bytes == 0,
	      "its close: refused, no bytes");
	poll_socks(&r, NULL, 0);
	check(count(&r, id, 0) == 0 && count(&r, acc, TT_EV_CONN_CLOSE) == 1,
	      "the next pass: the closed one forgotten, the one whose close was lost closed");
	check(!tt_sd_diff_known(r.d, id) && !tt_sd_diff_known(r.d, acc), "both forgotten");
	tt_sd_events_free(&out);
	run_free(&r);
}

/*
 * An accepted connection's owner told by BPF at its accept() (a CONN_PROC of
 * TT_F_FALLBACK_TCP): taken where no poll named one, said once; one whose owner is known stays.
 * Oracle: the fake /proc, which knows no owner here.
 */
static void test_owner_told_at_accept(void)
{
	struct tt_sd_events out = {0};
	struct tt_sd_sock s[1];
	struct tt_event ev;
	struct run r;

	run_init(&r, NULL);
	poll_socks(&r, NULL, 0);
	s[0] = tcp(61, EST, 80, 40000, 0, 0);
	poll_socks(&r, s, 1); /* new, its owner unknown: /proc knows none */
	check(count(&r, 61, TT_EV_CONN_OPEN) == 1 &&
		  (find(&r, 61, TT_EV_CONN_OPEN)->flags & TT_F_PID_UNKNOWN),
	      "a polled connection, its owner unknown");
	/* its record at a close, its cookie made by us */
	bpf_record_open(&ev, 61, r.ts + 1, 80, 40000, TT_DIR_INBOUND, EST, 0);
	check(tt_sd_diff_bpf_open(r.d, &ev, &out) == 0 && out.n == 0 &&
		  !tt_sd_diff_bpf_born(r.d, 61),
	      "a record of a connection a poll named: not taken");
	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_CONN_PROC;
	ev.flags = TT_F_FALLBACK_TCP;
	ev.conn_id = 61;
	ev.ts_ns = r.ts + 5;
	ev.pid = ev.tid = 777;
	strcpy(ev.u.proc.comm, "nginx");
	check(tt_sd_diff_bpf_owner(r.d, &ev, &out) == 1 && out.n == 1 &&
		  out.v[0].kind == TT_EV_CONN_PROC && out.v[0].pid == 777 &&
		  !strcmp(out.v[0].u.proc.comm, "nginx") && out.v[0].ts_ns == r.ts + 5 &&
		  !(out.v[0].flags & TT_F_FALLBACK_TCP),
	      "its accept(): the owner said, at its time");
	out.n = 0;
	ev.pid = 778;
	check(tt_sd_diff_bpf_owner(r.d, &ev, &out) == 0 && out.n == 0, "once: the owner stays");
	ev.conn_id = 62;
	check(tt_sd_diff_bpf_owner(r.d, &ev, &out) == 0 && out.n == 0, "not ours: nothing");
	poll_socks(&r, s, 1);
	check(count(&r, 61, TT_EV_CONN_PROC) == 0, "the next poll: no owner said again");
	tt_sd_events_free(&out);
	run_free(&r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* every check said, even before a crash */
	test_preexisting_and_new();
	test_fin_and_close();
	test_fin_between_state_and_counters();
	test_owners_and_namespaces();
	test_filters();
	test_udp();
	test_missed_by_the_dump();
	test_stalls();
	test_retransmits_told_beside_the_polls();
	test_states_and_close_told_beside_the_polls();
	test_short_connection_told_at_its_close();
	test_owner_told_at_accept();
	return failures ? 1 : 0;
}
