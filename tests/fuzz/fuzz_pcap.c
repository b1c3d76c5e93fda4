// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer harness for the pcap source's packets to connections (source/pcap_decode.c and
 * source/pcap_flow.c). The
 * input is a link type and packets: byte 0 picks one of the link types it reads; then each
 * packet is a 2-byte length (little-endian), a byte of time step (in ms, 0..255, so that ticks,
 * idle closes and reorder windows all happen) and that many bytes, the last one cut short.
 * Beyond no crash, leak or sanitizer report, it checks what pcap_flow.h promises: every event
 * is about a connection it opened, none after its close, and each connection's traffic events
 * add up to its close's totals. Seed: tests/fuzz/seeds/pcap-conversation.bin, a connection
 * on raw IPv4 (tests/test_pcap_source.py's conversation(), 300 ms between packets).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../source/pcap_flow.h"
#include "fuzz.h"

#define MAX_CONNS 8192

struct sums {
	uint64_t tx, rx, txp, rxp;
	uint8_t open, closed;
};

static struct sums conns[MAX_CONNS];

static int check_event(void *ctx, const struct tt_event *ev)
{
	struct sums *c;

	(void)ctx;
	if (!ev->conn_id || ev->conn_id >= MAX_CONNS)
		abort(); /* ids count up from 1, one per connection (inputs hold fewer) */
	c = &conns[ev->conn_id];
	if (ev->kind == TT_EV_CONN_OPEN) {
		if (c->open)
			abort(); /* one open per id */
		c->open = 1;
		return 0;
	}
	if (!c->open || c->closed)
		abort(); /* about a connection not opened, or closed */
	switch (ev->kind) {
	case TT_EV_TRAFFIC:
		c->tx += ev->u.traffic.tx_bytes;
		c->rx += ev->u.traffic.rx_bytes;
		c->txp += ev->u.traffic.tx_pkts;
		c->rxp += ev->u.traffic.rx_pkts;
		break;
	case TT_EV_CONN_CLOSE:
		if (c->tx != ev->u.close.tx_bytes || c->rx != ev->u.close.rx_bytes ||
		    c->txp != ev->u.close.tx_pkts || c->rxp != ev->u.close.rx_pkts)
			abort(); /* the traffic told adds up to the close */
		c->closed = 1;
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = {TT_PKT_LINK_NULL, TT_PKT_LINK_EN10MB, TT_PKT_LINK_RAW,
				    TT_PKT_LINK_SLL,  TT_PKT_LINK_IPV4,	  TT_PKT_LINK_IPV6,
				    TT_PKT_LINK_SLL2};
	struct tt_pflow_opts o = {.tick_ns = 1000000000, .udp_idle_ns = 5000000000};
	struct tt_pflow *p;
	uint64_t ts = 1700000000ull * 1000000000;
	size_t off = 1;

	if (!size)
		return 0;
	memset(conns, 0, sizeof(conns));
	if (tt_pflow_new(&p, links[data[0] % 7], &o, check_event, NULL))
		return 0;
	while (off + 3 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;

		ts += (uint64_t)data[off + 2] * 1000000;
		off += 3;
		if (len > size - off)
			len = size - off;
		/* a copy of its own length, so that ASan sees a read past the packet */
		uint8_t *pkt = malloc(len ? len : 1);

		if (!pkt)
			break;
		memcpy(pkt, data + off, len);
		if (tt_pflow_packet(p, ts, pkt, len) < 0)
			abort(); /* only -ENOMEM, which these sizes never reach */
		free(pkt);
		off += len;
	}
	tt_pflow_end(p);
	tt_pflow_free(p);
	return 0;
}
