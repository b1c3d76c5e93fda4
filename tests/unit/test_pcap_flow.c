// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of packets to connection events (source/pcap_flow.c, source/pcap_decode.c). One
 * line per check, exit 1 on any failure.
 *
 * Packets are built here, byte by byte from the RFCs' header layouts (Ethernet, 802.1Q, Linux
 * cooked v2, IPv4, IPv6, TCP, UDP, ICMP), for conversations whose totals are known by
 * construction: what each end sent, which segment was sent twice, where a capture cut a
 * packet short. The events must say exactly that.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../source/pcap_flow.h"
#include "check.h"

#define MAXEV 256
#define S 1000000000ull /* a second of packet time */
#define T0 (1700000000ull * S)

struct sink {
	struct tt_event ev[MAXEV];
	int n, refuse;
};

static int collect(void *ctx, const struct tt_event *ev)
{
	struct sink *k = ctx;

	if (k->n < MAXEV)
		k->ev[k->n++] = *ev;
	return k->refuse;
}

/* The events of a kind (and connection, when id), counted; *last the last of them. */
static int count(const struct sink *k, int kind, uint64_t id, const struct tt_event **last)
{
	int n = 0;

	for (int i = 0; i < k->n; i++)
		if (k->ev[i].kind == kind && (!id || k->ev[i].conn_id == id)) {
			n++;
			if (last)
				*last = &k->ev[i];
		}
	return n;
}

/* The sum of a connection's TRAFFIC deltas. */
static void sum_traffic(const struct sink *k, uint64_t id, uint64_t *tx, uint64_t *rx,
			uint64_t *txp, uint64_t *rxp)
{
	*tx = *rx = *txp = *rxp = 0;
	for (int i = 0; i < k->n; i++)
		if (k->ev[i].kind == TT_EV_TRAFFIC && k->ev[i].conn_id == id) {
			*tx += k->ev[i].u.traffic.tx_bytes;
			*rx += k->ev[i].u.traffic.rx_bytes;
			*txp += k->ev[i].u.traffic.tx_pkts;
			*rxp += k->ev[i].u.traffic.rx_pkts;
		}
}

static int zero_window; /* build() advertises a zero window */

struct ends {
	int v6;
	uint8_t a[16], b[16];
	uint16_t ap, bp;
};

/* A TCP or UDP packet from a (fwd) or b, with len payload bytes of which keep are captured. */
static size_t build(uint8_t *buf, int link, const struct ends *e, int fwd, int proto, uint8_t flags,
		    uint32_t seq, uint32_t ack, uint32_t len, uint32_t keep)
{
	size_t off = 0, l4 = proto == IPPROTO_TCP ? 20 : 8, ip = e->v6 ? 40 : 20;
	const uint8_t *src = fwd ? e->a : e->b, *dst = fwd ? e->b : e->a;
	uint16_t sp = fwd ? e->ap : e->bp, dp = fwd ? e->bp : e->ap;
	uint16_t etype = e->v6 ? 0x86dd : 0x0800;
	uint8_t *h;

	if (link == TT_PKT_LINK_EN10MB) { /* with an 802.1Q tag */
		memset(buf, 0x11, 12);
		buf[12] = 0x81, buf[13] = 0x00, buf[14] = 0, buf[15] = 5;
		buf[16] = (uint8_t)(etype >> 8), buf[17] = (uint8_t)etype;
		off = 18;
	} else if (link == TT_PKT_LINK_SLL2) {
		memset(buf, 0, 20);
		buf[0] = (uint8_t)(etype >> 8), buf[1] = (uint8_t)etype;
		off = 20;
	}
	h = buf + off;
	memset(h, 0, ip + l4);
	if (e->v6) {
		h[0] = 0x60;
		h[4] = (uint8_t)((l4 + len) >> 8), h[5] = (uint8_t)(l4 + len);
		h[6] = (uint8_t)proto, h[7] = 64;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, dst, 16);
	} else {
		h[0] = 0x45;
		h[2] = (uint8_t)((ip + l4 + len) >> 8), h[3] = (uint8_t)(ip + l4 + len);
		h[8] = 64, h[9] = (uint8_t)proto;
		memcpy(h + 12, src, 4);
		memcpy(h + 16, dst, 4);
	}
	h += ip;
	h[0] = (uint8_t)(sp >> 8), h[1] = (uint8_t)sp, h[2] = (uint8_t)(dp >> 8),
	h[3] = (uint8_t)dp;
	if (proto == IPPROTO_TCP) {
		uint32_t s = htonl(seq), a = htonl(ack);

		memcpy(h + 4, &s, 4);
		memcpy(h + 8, &a, 4);
		h[12] = 5 << 4;
		h[13] = flags;
		h[14] = h[15] = zero_window ? 0 : 0xff;
	} else {
		h[4] = (uint8_t)((8 + len) >> 8), h[5] = (uint8_t)(8 + len);
	}
	memset(h + l4, 0x5a, keep);
	return off + ip + l4 + keep;
}

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10

static struct tt_pflow *mk(int link, struct sink *k, uint64_t tick)
{
	struct tt_pflow_opts o = {.tick_ns = tick};
	struct tt_pflow *p;

	memset(k, 0, sizeof(*k));
	if (tt_pflow_new(&p, link, &o, collect, k)) {
		check(0, "tt_pflow_new");
		return NULL;
	}
	return p;
}

static void v4(struct ends *e, const char *a, uint16_t ap, const char *b, uint16_t bp)
{
	memset(e, 0, sizeof(*e));
	inet_pton(AF_INET, a, e->a);
	inet_pton(AF_INET, b, e->b);
	e->ap = ap, e->bp = bp;
}

/*
 * A whole connection: handshake, the client's 3000 bytes in three segments (the second sent
 * twice, every data packet captured with 54 bytes only), the server's 500, FIN, FIN, ACK, over
 * 2.5 s of packet time with 1 s ticks.
 */
static void test_connection(void)
{
	uint8_t b[2048];
	struct sink k;
	struct ends e;
	struct tt_pflow *p = mk(TT_PKT_LINK_EN10MB, &k, S);
	const struct tt_event *o = NULL, *c = NULL, *hs = NULL, *rtt = NULL, *rt = NULL;
	uint32_t cs = 1000, ss = 0xfffffe00; /* the server's sequence numbers wrap */
	uint64_t tx, rx, txp, rxp;
	struct tt_pflow_stats st;
	size_t n;

	if (!p)
		return;
	v4(&e, "10.0.0.1", 40000, "10.0.0.2", 80);
#define PKT(t, fwd, fl, seq, ack, len, keep)                                                       \
	(n = build(b, TT_PKT_LINK_EN10MB, &e, fwd, IPPROTO_TCP, fl, seq, ack, len, keep),          \
	 tt_pflow_packet(p, T0 + (t), b, n))
	PKT(0, 1, SYN, cs, 0, 0, 0);
	PKT(10000000, 0, SYN | ACK, ss, cs + 1, 0, 0); /* 10 ms later */
	PKT(12000000, 1, ACK, cs + 1, ss + 1, 0, 0);   /* the iRTT: 12 ms */
	PKT(100000000, 1, ACK, cs + 1, ss + 1, 1000, 0);
	PKT(200000000, 1, ACK, cs + 1001, ss + 1, 1000, 0);
	PKT(S + 100000000, 1, ACK, cs + 1001, ss + 1, 1000, 0); /* the same again: a retransmit */
	PKT(S + 200000000, 1, ACK, cs + 2001, ss + 1, 1000, 0);
	PKT(S + 300000000, 0, ACK, ss + 1, cs + 3001, 500, 0);
	PKT(2 * S, 1, FIN | ACK, cs + 3001, ss + 501, 0, 0);
	PKT(2 * S + 1000, 0, FIN | ACK, ss + 501, cs + 3002, 0, 0);
	PKT(2 * S + 2000, 1, ACK, cs + 3002, ss + 502, 0, 0);
	PKT(2 * S + 500000000, 0, ACK, ss + 502, cs + 3002, 0, 0); /* after the close: a stray */

	check(count(&k, TT_EV_CONN_OPEN, 0, &o) == 1, "one open");
	if (!o)
		return;
	check(o->u.open.family == TT_FAMILY_IPV4 && o->u.open.proto == IPPROTO_TCP &&
		  o->u.open.direction == TT_DIR_OUTBOUND && o->u.open.state == TT_TCP_SYN_SENT &&
		  o->u.open.lport == 40000 && o->u.open.rport == 80 &&
		  !memcmp(o->u.open.laddr, e.a, 4) && !memcmp(o->u.open.raddr, e.b, 4) &&
		  o->ts_ns == T0 && !o->flags,
	      "the open: the SYN's sender, SYN_SENT, at the SYN");
	check(count(&k, TT_EV_HANDSHAKE, o->conn_id, &hs) == 1 &&
		  hs->u.handshake.connect_us == 10000 && !hs->u.handshake.syn_retrans,
	      "handshake: connect 10000 us (SYN to SYN-ACK)");
	check(count(&k, TT_EV_RTT, o->conn_id, &rtt) == 1 && rtt->u.rtt.srtt_us == 12000,
	      "RTT 12000 us (SYN to the ACK of the SYN-ACK)");
	check(count(&k, TT_EV_RETRANS, o->conn_id, &rt) == 1 && rt->u.retrans.segs == 1 &&
		  rt->ts_ns == T0 + S + 100000000 && rt->u.retrans.state == TT_TCP_ESTABLISHED,
	      "one retransmit, at the segment sent again");
	check(count(&k, TT_EV_CONN_CLOSE, o->conn_id, &c) == 1, "one close");
	if (!c)
		return;
	check(c->u.close.tx_bytes == 3000 && c->u.close.rx_bytes == 500,
	      "close: 3000 bytes sent and 500 received (tx %llu rx %llu), from the IP lengths "
	      "of packets captured short",
	      (unsigned long long)c->u.close.tx_bytes, (unsigned long long)c->u.close.rx_bytes);
	check(c->u.close.tx_pkts == 8 && c->u.close.rx_pkts == 3 && c->u.close.retrans == 1 &&
		  c->u.close.srtt_us == 12000 && c->u.close.state == TT_TCP_CLOSE &&
		  !c->u.close.fail_reason && c->ts_ns == T0 + 2 * S + 2000,
	      "close: 8 and 3 packets, 1 retransmit, at the last ACK (tx_pkts %u rx_pkts %u)",
	      c->u.close.tx_pkts, c->u.close.rx_pkts);
	sum_traffic(&k, o->conn_id, &tx, &rx, &txp, &rxp);
	check(tx == 3000 && rx == 500 && txp == 8 && rxp == 3,
	      "the traffic events sum to the close");
	check(count(&k, TT_EV_TRAFFIC, o->conn_id, NULL) == 3,
	      "traffic told at each tick it moved (1 s, 2 s) and at the close");
	for (int i = 0; i < k.n; i++)
		if (k.ev[i].kind == TT_EV_TRAFFIC && k.ev[i].ts_ns == T0 + S)
			check(k.ev[i].u.traffic.tx_bytes == 2000 &&
				  k.ev[i].u.traffic.tx_pkts == 4 && k.ev[i].u.traffic.rx_pkts == 1,
			      "the first second's traffic, while open: 2000 bytes in 4 packets");
	{
		int fw = 0, tw = 0;

		for (int i = 0; i < k.n; i++) {
			fw += k.ev[i].kind == TT_EV_STATE &&
			      k.ev[i].u.state.new_state == TT_TCP_FIN_WAIT1;
			tw += k.ev[i].kind == TT_EV_STATE &&
			      k.ev[i].u.state.old_state == TT_TCP_FIN_WAIT1 &&
			      k.ev[i].u.state.new_state == TT_TCP_TIME_WAIT;
		}
		check(count(&k, TT_EV_STATE, o->conn_id, NULL) == 3 && fw == 1 && tw == 1,
		      "states: ESTABLISHED, FIN_WAIT1 (its FIN first), TIME_WAIT");
	}
	tt_pflow_stats(p, &st);
	check(st.packets == 12 && st.flow_pkts == 11 && st.strays == 1 && st.conns == 1 && !st.open,
	      "stats: 12 packets, 11 in the connection, 1 stray after its close");
	/* the same ends again, a new SYN: a new connection */
	k.n = 0;
	PKT(3 * S, 1, SYN, 7, 0, 0, 0);
	check(count(&k, TT_EV_CONN_OPEN, 0, &o) == 1 && o->conn_id == 2,
	      "the same ends opened again are a new connection");
	/* and again, from its other end, before the first was seen to end */
	PKT(3 * S + 1000, 0, SYN | ACK, 70, 8, 0, 0);
	PKT(3 * S + 2000, 1, ACK, 8, 71, 0, 0);
	PKT(3 * S + 3000, 1, ACK, 8, 71, 40, 0);
	k.n = 0;
	PKT(4 * S, 0, SYN, 900, 0, 0, 0);
	check(count(&k, TT_EV_CONN_CLOSE, 2, &c) == 1 && c->u.close.tx_bytes == 40 &&
		  count(&k, TT_EV_CONN_OPEN, 0, &o) == 1 && o->conn_id == 3 &&
		  o->u.open.lport == 80 && o->u.open.rport == 40000,
	      "a SYN on an open connection's ends: it is closed, and the SYN's sender opens anew");
	tt_pflow_free(p);
#undef PKT
}

/* A SYN sent twice then refused; a SYN answered by an ICMP unreachable; a stray reset. */
static void test_failures(void)
{
	uint8_t b[2048], icmp[256];
	struct sink k;
	struct ends e;
	struct tt_pflow *p = mk(TT_PKT_LINK_RAW, &k, S);
	const struct tt_event *c = NULL, *r = NULL, *rt = NULL;
	struct tt_pflow_stats st;
	size_t n, q;

	if (!p)
		return;
	v4(&e, "10.0.0.1", 40001, "10.0.0.2", 81);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 5, 0, 0, 0);
	tt_pflow_packet(p, T0, b, n);
	tt_pflow_packet(p, T0 + S / 2, b, n);
	n = build(b, TT_PKT_LINK_RAW, &e, 0, IPPROTO_TCP, RST | ACK, 0, 6, 0, 0);
	tt_pflow_packet(p, T0 + S / 2 + 1000, b, n);
	check(count(&k, TT_EV_RETRANS, 1, &rt) == 1 && rt->u.retrans.cause == TT_RETRANS_SYN,
	      "the SYN sent again: a retransmit, cause SYN");
	check(count(&k, TT_EV_RESET, 1, &r) == 1 && r->u.reset.dir == TT_RST_RECEIVED &&
		  r->u.reset.state == TT_TCP_SYN_SENT,
	      "the reset received in SYN_SENT");
	check(count(&k, TT_EV_CONN_CLOSE, 1, &c) == 1 &&
		  c->u.close.fail_reason == TT_FAIL_REFUSED && c->u.close.tx_pkts == 2 &&
		  c->u.close.rx_pkts == 1,
	      "refused: the close says so, 2 SYNs and the reset counted");

	/* a SYN sent again after its SYN-ACK (lost past the capture point): the same connection */
	k.n = 0;
	v4(&e, "10.0.0.1", 40009, "10.0.0.2", 89);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 300, 0, 0, 0);
	tt_pflow_packet(p, T0 + S / 2 + 2000, b, n);
	n = build(b, TT_PKT_LINK_RAW, &e, 0, IPPROTO_TCP, SYN | ACK, 900, 301, 0, 0);
	tt_pflow_packet(p, T0 + S / 2 + 3000, b, n);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 300, 0, 0, 0);
	tt_pflow_packet(p, T0 + S / 2 + 900000, b, n);
	check(
	    count(&k, TT_EV_CONN_OPEN, 0, NULL) == 1 && count(&k, TT_EV_CONN_CLOSE, 0, NULL) == 0 &&
		count(&k, TT_EV_RETRANS, 0, &rt) == 1 && rt->u.retrans.cause == TT_RETRANS_SYN,
	    "a SYN sent again with its ISN after the SYN-ACK: a retransmit, not a new connection");
	k.n = 0;
	/* ICMP port unreachable quoting a SYN from 10.0.0.1:40002 */
	v4(&e, "10.0.0.1", 40002, "10.0.0.3", 82);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 9, 0, 0, 0);
	tt_pflow_packet(p, T0 + S, b, n);
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 0x45, icmp[3] = (uint8_t)(20 + 8 + 28), icmp[8] = 64, icmp[9] = IPPROTO_ICMP;
	inet_pton(AF_INET, "10.0.0.254", icmp + 12);
	memcpy(icmp + 16, e.a, 4);
	icmp[20] = 3, icmp[21] = 1; /* host unreachable */
	memcpy(icmp + 28, b, 28);   /* the SYN's IP header and 8 bytes of its TCP header */
	q = 20 + 8 + 28;
	tt_pflow_packet(p, T0 + S + 3000, icmp, q);
	check(count(&k, TT_EV_CONN_CLOSE, 3, &c) == 1 &&
		  c->u.close.fail_reason == TT_FAIL_UNREACHABLE && c->ts_ns == T0 + S + 3000,
	      "an ICMP unreachable for its SYN: closed, unreachable");

	/* a reset of no connection, an ARP-like byte, a later fragment, a header cut short */
	v4(&e, "10.0.0.1", 40003, "10.0.0.4", 83);
	n = build(b, TT_PKT_LINK_RAW, &e, 0, IPPROTO_TCP, RST, 1, 0, 0, 0);
	tt_pflow_packet(p, T0 + 2 * S, b, n);
	b[0] = 0x00;
	tt_pflow_packet(p, T0 + 2 * S, b, n);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, ACK, 1, 0, 100, 0);
	b[6] = 0x00, b[7] = 0x10; /* offset 128 */
	tt_pflow_packet(p, T0 + 2 * S, b, n);
	tt_pflow_packet(p, T0 + 2 * S, b, 30);
	b[7] = 0;
	tt_pflow_packet(p, T0 + 2 * S, b, 30); /* 10 bytes of TCP header */
	tt_pflow_stats(p, &st);
	check(st.strays == 1 && st.other == 1 && st.fragments == 2 && st.truncated == 1 &&
		  st.conns == 3,
	      "stats: a stray reset, one not IP, fragments, one cut short (strays %llu other %llu "
	      "frag %llu trunc %llu)",
	      (unsigned long long)st.strays, (unsigned long long)st.other,
	      (unsigned long long)st.fragments, (unsigned long long)st.truncated);
	tt_pflow_free(p);
}

/*
 * IPv6 over Linux cooked v2, begun before the capture, its client's sequence numbers
 * wrapping; then the packets end with it open.
 */
static void test_midstream_v6(void)
{
	uint8_t b[2048];
	struct sink k;
	struct ends e = {.v6 = 1, .ap = 443, .bp = 51000};
	struct tt_pflow *p = mk(TT_PKT_LINK_SLL2, &k, S);
	const struct tt_event *o = NULL, *t = NULL;
	uint64_t tx, rx, txp, rxp;
	uint32_t s = 0xffffff00;
	size_t n;

	if (!p)
		return;
	inet_pton(AF_INET6, "fd00::1", e.a);
	inet_pton(AF_INET6, "fd00::2", e.b);
	/* the server (a, port 443) talks first: the higher port's end is the client */
	n = build(b, TT_PKT_LINK_SLL2, &e, 1, IPPROTO_TCP, ACK, 77, s, 100, 100);
	tt_pflow_packet(p, T0, b, n);
	for (int i = 0; i < 4; i++) { /* 4 x 128 from the client, across the wrap */
		n = build(b, TT_PKT_LINK_SLL2, &e, 0, IPPROTO_TCP, ACK, s + 128u * i, 177, 128, 0);
		tt_pflow_packet(p, T0 + 1000 + i, b, n);
	}
	check(count(&k, TT_EV_CONN_OPEN, 0, &o) == 1, "midstream: one open");
	if (!o)
		return;
	check(o->flags == TT_F_PREEXISTING && o->u.open.direction == TT_DIR_UNKNOWN &&
		  o->u.open.family == TT_FAMILY_IPV6 && o->u.open.lport == 51000 &&
		  o->u.open.rport == 443 && !memcmp(o->u.open.laddr, e.b, 16) &&
		  o->u.open.state == TT_TCP_ESTABLISHED,
	      "midstream: pre-existing, the higher port's end, ESTABLISHED");
	check(tt_pflow_end(p) == 0 && count(&k, TT_EV_CONN_CLOSE, 0, NULL) == 0,
	      "the end: an open connection stays open");
	sum_traffic(&k, o->conn_id, &tx, &rx, &txp, &rxp);
	check(tx == 512 && rx == 100 && txp == 4 && rxp == 1 &&
		  count(&k, TT_EV_TRAFFIC, o->conn_id, &t) == 1 && t->ts_ns == T0 + 1003,
	      "the end tells its traffic: 512 bytes across the wrap, 100 back (tx %llu rx %llu)",
	      (unsigned long long)tx, (unsigned long long)rx);
	check(count(&k, TT_EV_RETRANS, 0, NULL) == 0, "no retransmit where none was");
	tt_pflow_free(p);
}

/* UDP over 802.1Q: datagrams both ways, closed after 30 s idle; then the same ends again. */
static void test_udp(void)
{
	uint8_t b[2048];
	struct sink k;
	struct ends e;
	struct tt_pflow *p = mk(TT_PKT_LINK_EN10MB, &k, S);
	const struct tt_event *c = NULL, *o = NULL;
	size_t n;

	if (!p)
		return;
	v4(&e, "10.0.0.9", 5353, "10.0.0.1", 53);
	for (int i = 0; i < 3; i++) {
		n = build(b, TT_PKT_LINK_EN10MB, &e, 1, IPPROTO_UDP, 0, 0, 0, 40, 40);
		tt_pflow_packet(p, T0 + i * S, b, n);
		n = build(b, TT_PKT_LINK_EN10MB, &e, 0, IPPROTO_UDP, 0, 0, 0, 200, 10);
		tt_pflow_packet(p, T0 + i * S + 1000, b, n);
	}
	check(count(&k, TT_EV_CONN_OPEN, 0, &o) == 1 && o && o->u.open.proto == IPPROTO_UDP &&
		  o->u.open.lport == 5353 && !o->u.open.state,
	      "UDP: one flow, opened by its first datagram's sender");
	n = build(b, TT_PKT_LINK_EN10MB, &e, 1, IPPROTO_UDP, 0, 0, 0, 40, 40);
	tt_pflow_packet(p, T0 + 40 * S, b, n);
	check(count(&k, TT_EV_CONN_CLOSE, 1, &c) == 1 && c->u.close.tx_bytes == 120 &&
		  c->u.close.rx_bytes == 600 && c->u.close.tx_pkts == 3 &&
		  c->u.close.rx_pkts == 3 && c->ts_ns == T0 + 33 * S,
	      "UDP: closed at the first tick 30 s idle, with 120 and 600 bytes");
	check(count(&k, TT_EV_CONN_OPEN, 0, &o) == 2 && o->conn_id == 2,
	      "UDP: the same ends after the close are a new flow");
	tt_pflow_free(p);
}

/*
 * Segments out of order: one overtaken by the next (filled 1 ms later: reordering, not a
 * retransmit), one missing until 50 ms later (a capture past a loss: its resend fills the
 * hole), one sent twice, and a resend that carries new data after the old.
 */
static void test_holes(void)
{
	uint8_t b[2048];
	struct sink k;
	struct ends e;
	struct tt_pflow *p = mk(TT_PKT_LINK_RAW, &k, S);
	const struct tt_event *c = NULL;
	const uint64_t ms = 1000000;
	size_t n;

	if (!p)
		return;
	v4(&e, "10.0.0.1", 40005, "10.0.0.2", 85);
#define SEG(t, off, len)                                                                           \
	(n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, ACK, 1001 + (off), 1, len, 0),          \
	 tt_pflow_packet(p, T0 + (t), b, n))
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 1000, 0, 0, 0);
	tt_pflow_packet(p, T0, b, n);
	SEG(1 * ms, 100, 100); /* [100, 200) before [0, 100) */
	SEG(2 * ms, 0, 100);
	check(count(&k, TT_EV_RETRANS, 0, NULL) == 0,
	      "holes: a segment overtaken by 1 ms: no retransmit");
	SEG(3 * ms, 300, 100); /* [200, 300) missing */
	SEG(4 * ms, 400, 100);
	SEG(53 * ms, 200, 100); /* filled 50 ms later: a resend */
	check(count(&k, TT_EV_RETRANS, 0, NULL) == 1,
	      "holes: one filled 50 ms later: a retransmit");
	SEG(54 * ms, 400, 100); /* sent twice */
	SEG(55 * ms, 450, 100); /* half old, half new */
	tt_pflow_end(p);
	check(count(&k, TT_EV_RETRANS, 0, NULL) == 3,
	      "holes: a segment seen before, and one partly so: retransmits");
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, RST, 1001 + 550, 0, 0, 0);
	tt_pflow_packet(p, T0 + 60 * ms, b, n);
	check(count(&k, TT_EV_CONN_CLOSE, 0, &c) == 1 && c->u.close.tx_bytes == 550 &&
		  c->u.close.retrans == 3,
	      "holes: 550 bytes in all, each counted once");
	tt_pflow_free(p);
#undef SEG
}

/* The decoder alone (pcap_decode.c): the link types and IPv6 headers the conversations above
 * do not use. */
static void test_decode(void)
{
	uint8_t b[256], ip6[128];
	struct tt_pkt k;
	struct ends e;
	size_t n;

	/* BSD loopback: a 4-byte family in the writer's byte order, then IPv4 */
	v4(&e, "10.0.0.1", 1234, "10.0.0.2", 80);
	memset(b, 0, 4);
	b[0] = 2;
	n = 4 + build(b + 4, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 1, 0, 0, 0);
	check(tt_pkt_decode(TT_PKT_LINK_NULL, b, n, &k) == TT_PKT_OK && k.sport == 1234 &&
		  k.dport == 80 && k.flags == SYN && k.family == TT_FAMILY_IPV4,
	      "decode: BSD loopback, IPv4 TCP");
	/* Ethernet with two tags (802.1ad then 802.1Q) carrying ARP; then IPv4 */
	memset(b, 0, sizeof(b));
	b[12] = 0x88, b[13] = 0xa8, b[16] = 0x81, b[17] = 0x00, b[20] = 0x08, b[21] = 0x06;
	check(tt_pkt_decode(TT_PKT_LINK_EN10MB, b, 60, &k) == TT_PKT_OTHER, "decode: ARP is other");
	b[21] = 0x00;
	n = 22 + build(b + 22, TT_PKT_LINK_RAW, &e, 0, IPPROTO_UDP, 0, 0, 0, 10, 10);
	check(tt_pkt_decode(TT_PKT_LINK_EN10MB, b, n, &k) == TT_PKT_OK && k.sport == 80 &&
		  k.proto == IPPROTO_UDP && k.len == 10,
	      "decode: Ethernet with two VLAN tags, IPv4 UDP");
	/* Linux cooked v1 (protocol at 14), IPv6 with a hop-by-hop header before UDP */
	memset(ip6, 0, sizeof(ip6));
	ip6[0] = 0x60, ip6[5] = 8 + 8 + 20, ip6[6] = 0; /* next: hop-by-hop */
	inet_pton(AF_INET6, "fd00::1", ip6 + 8);
	inet_pton(AF_INET6, "fd00::2", ip6 + 24);
	ip6[40] = IPPROTO_UDP, ip6[41] = 0; /* 8 bytes */
	ip6[48] = 0x13, ip6[49] = 0x88, ip6[50] = 0, ip6[51] = 53, ip6[53] = 8 + 20;
	memset(b, 0, 16);
	b[14] = 0x86, b[15] = 0xdd;
	memcpy(b + 16, ip6, 56);
	check(tt_pkt_decode(TT_PKT_LINK_SLL, b, 16 + 56, &k) == TT_PKT_OK &&
		  k.family == TT_FAMILY_IPV6 && k.proto == IPPROTO_UDP && k.sport == 5000 &&
		  k.dport == 53 && k.len == 20,
	      "decode: Linux cooked v1, IPv6 hop-by-hop then UDP");
	/* a fragment header: the first fragment has the ports, a later one not */
	ip6[6] = 44, ip6[40] = IPPROTO_UDP, ip6[42] = 0, ip6[43] = 1; /* offset 0, more */
	check(tt_pkt_decode(TT_PKT_LINK_IPV6, ip6, 56, &k) == TT_PKT_OK && k.dport == 53,
	      "decode: IPv6 first fragment");
	ip6[42] = 0x01, ip6[43] = 0x00; /* offset 32 */
	check(tt_pkt_decode(TT_PKT_LINK_IPV6, ip6, 56, &k) == TT_PKT_FRAGMENT,
	      "decode: IPv6 later fragment");
	check(tt_pkt_decode(TT_PKT_LINK_IPV6, ip6, 39, &k) == TT_PKT_TRUNCATED,
	      "decode: IPv6 header cut short");
	/* ICMPv6 destination unreachable quoting a TCP SYN from fd00::2 port 40000 */
	memset(b, 0, sizeof(b));
	b[0] = 0x60, b[5] = 8 + 48, b[6] = IPPROTO_ICMPV6;
	memcpy(b + 8, ip6 + 8, 16);
	memcpy(b + 24, ip6 + 24, 16);
	b[40] = 1, b[41] = 4; /* port unreachable */
	b[48] = 0x60, b[53] = 20, b[54] = IPPROTO_TCP;
	memcpy(b + 56, ip6 + 24, 16);
	memcpy(b + 72, ip6 + 8, 16);
	b[88] = 0x9c, b[89] = 0x40, b[90] = 0, b[91] = 80;
	check(tt_pkt_decode(TT_PKT_LINK_RAW, b, 96, &k) == TT_PKT_OK && k.icmp_unreach &&
		  k.proto == IPPROTO_TCP && k.sport == 40000 && k.dport == 80 &&
		  !memcmp(k.src, ip6 + 24, 16),
	      "decode: ICMPv6 unreachable read as the TCP packet it quotes");
	check(!tt_pkt_link_ok(105) && tt_pkt_link_ok(TT_PKT_LINK_SLL2), "decode: link types");
}

/* The peer's window closed for 2 s, then ours to the close: stalls, each with its length. */
static void test_stalls(void)
{
	uint8_t b[2048];
	struct sink k;
	struct ends e;
	struct tt_pflow *p = mk(TT_PKT_LINK_RAW, &k, S);
	const struct tt_event *c = NULL;
	int begins = 0, ends = 0;
	size_t n;

	if (!p)
		return;
	v4(&e, "10.0.0.1", 40006, "10.0.0.2", 86);
#define PKT(t, fwd, fl, seq, ack, len)                                                             \
	(n = build(b, TT_PKT_LINK_RAW, &e, fwd, IPPROTO_TCP, fl, seq, ack, len, 0),                \
	 tt_pflow_packet(p, T0 + (t), b, n))
	PKT(0, 1, SYN, 10, 0, 0);
	PKT(1000, 0, SYN | ACK, 20, 11, 0);
	PKT(2000, 1, ACK, 11, 21, 1000);
	zero_window = 1;
	PKT(3000, 0, ACK, 21, 1011, 0); /* the server's buffer is full */
	PKT(S, 0, ACK, 21, 1011, 0);	/* and still at the client's probe */
	zero_window = 0;
	PKT(2 * S + 3000, 0, ACK, 21, 1011, 0); /* open again */
	zero_window = 1;
	PKT(3 * S, 1, ACK, 1011, 21, 0); /* the client stops reading */
	zero_window = 0;
	PKT(3 * S + 500000000ull, 0, RST, 21, 0, 0);
#undef PKT
	for (int i = 0; i < k.n; i++) {
		const struct tt_event *ev = &k.ev[i];

		if (ev->kind != TT_EV_STALL)
			continue;
		if (ev->u.stall.phase == TT_STALL_BEGIN)
			begins++;
		else
			ends +=
			    (ev->u.stall.side == TT_STALL_PEER && ev->u.stall.dur_us == 2000000 &&
			     ev->ts_ns == T0 + 2 * S + 3000) ||
			    (ev->u.stall.side == TT_STALL_LOCAL && ev->u.stall.dur_us == 500000 &&
			     ev->ts_ns == T0 + 3 * S + 500000000ull);
	}
	check(begins == 2 && ends == 2,
	      "stalls: the peer's zero window for 2 s, ours for 0.5 s ended by the close (begins "
	      "%d, ends as expected %d)",
	      begins, ends);
	check(count(&k, TT_EV_CONN_CLOSE, 0, &c) == 1 && c->u.close.fail_reason == TT_FAIL_RESET,
	      "stalls: the reset closes it");
	tt_pflow_free(p);
}

static void test_api(void)
{
	struct tt_pflow_opts o = {0};
	struct tt_pflow *p = (struct tt_pflow *)&o;
	struct sink k;
	struct ends e;
	uint8_t b[256];
	size_t n;

	check(tt_pflow_new(&p, 147, &o, collect, &k) == -EINVAL && !p,
	      "a link type it does not read: -EINVAL");
	p = mk(TT_PKT_LINK_RAW, &k, 0);
	if (!p)
		return;
	k.refuse = 1;
	v4(&e, "10.0.0.1", 1, "10.0.0.2", 2);
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, SYN, 1, 0, 0, 0);
	check(tt_pflow_packet(p, T0, b, n) == 1 && k.n == 1,
	      "an emit that asks to stop: the packet returns 1");
	check(tt_pflow_now(p) == T0, "now: the last packet's time");
	n = build(b, TT_PKT_LINK_RAW, &e, 1, IPPROTO_TCP, ACK, 2, 0, 0, 0);
	tt_pflow_packet(p, T0 - S, b, n);
	check(tt_pflow_now(p) == T0, "a packet earlier than the last does not move time back");
	tt_pflow_free(p);
}

int main(void)
{
	test_connection();
	test_failures();
	test_midstream_v6();
	test_udp();
	test_holes();
	test_decode();
	test_stalls();
	test_api();
	return check_done(NULL);
}
