/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_pflow: packets in, connection events out (the pcap source's pure part, source/pcapsrc.c
 * reads the file). Each TCP connection and UDP flow of the packets becomes one connection,
 * seen from the end that opened it (the SYN's sender; for UDP, the first datagram's):
 * an open, its state changes, the handshake's times, traffic every tick of packet time,
 * retransmitted segments, resets and a close with its totals and failure reason.
 *
 * Bytes are payload bytes counted by sequence number, so a retransmitted segment is counted
 * once (and as a retransmit) and a capture cut short (tcpdump -s 96) counts what was sent,
 * from the IP length, not what was kept. Pure: no libpcap, its unit test feeds it packets.
 */
#ifndef TT_PCAP_FLOW_H
#define TT_PCAP_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"
#include "pcap_decode.h" /* the link types (TT_PKT_LINK_*) */

struct tt_pflow;

/* Where events go; non-zero: the caller wants no more now (the packet is finished first). */
typedef int (*tt_pflow_emit_fn)(void *ctx, const struct tt_event *ev);

struct tt_pflow_opts {
	uint64_t tick_ns;     /* traffic is told every tick of packet time (0: 1 s) */
	uint64_t udp_idle_ns; /* a UDP flow idle this long is closed (0: 30 s) */
};

struct tt_pflow_stats {
	uint64_t packets;   /* given */
	uint64_t flow_pkts; /* counted in a connection */
	/* not counted in one, by why: not IPv4/IPv6 TCP or UDP (ARP, ICMP echo, ...), cut
	 * before its ports, a fragment after the first, or a TCP packet of no connection
	 * (a stray reset, a segment after its connection closed) */
	uint64_t other, truncated, fragments, strays;
	uint64_t conns; /* opened */
	uint64_t open;	/* open now */
};

/* 0, or -ENOMEM / -EINVAL (a link type it does not read) with *out NULL. */
int tt_pflow_new(struct tt_pflow **out, int link, const struct tt_pflow_opts *o,
		 tt_pflow_emit_fn emit, void *ctx);
/*
 * One packet: ts_ns its time (wall clock; one earlier than the last is taken as the last),
 * data its caplen bytes as captured. Returns 0, 1 when emit asked to stop, or -ENOMEM.
 */
int tt_pflow_packet(struct tt_pflow *p, uint64_t ts_ns, const uint8_t *data, size_t caplen);
/*
 * The packets have ended: the traffic not yet told, for every open connection; a TCP
 * connection whose both FINs were seen is closed. Open ones stay open, as a recording's at
 * its stop. Returns as tt_pflow_packet().
 */
int tt_pflow_end(struct tt_pflow *p);
/* The time of the last packet (0 before any). */
uint64_t tt_pflow_now(const struct tt_pflow *p);
void tt_pflow_stats(const struct tt_pflow *p, struct tt_pflow_stats *st);
void tt_pflow_free(struct tt_pflow *p);

#endif /* TT_PCAP_FLOW_H */
