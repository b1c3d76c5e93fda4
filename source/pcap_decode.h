/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_pkt: one captured packet's link, IPv4/IPv6 and TCP/UDP headers read into what a flow needs
 * (source/pcap_flow.c): its ends, TCP flags and sequence numbers, and its payload length from
 * the IP and transport headers, so that a packet captured short (tcpdump -s 96) still says
 * how much it carried. An ICMP or ICMPv6 destination unreachable is read as the TCP packet it
 * quotes. Pure: no libpcap.
 */
#ifndef TT_PCAP_DECODE_H
#define TT_PCAP_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* The link types it reads, numbered as libpcap's pcap_datalink() gives them on Linux (DLT_*) */
#define TT_PKT_LINK_NULL 0   /* BSD loopback: a 4-byte address family */
#define TT_PKT_LINK_EN10MB 1 /* Ethernet, 802.1Q/802.1ad tags skipped */
#define TT_PKT_LINK_RAW 12   /* IPv4 or IPv6, no link header */
#define TT_PKT_LINK_SLL 113  /* Linux "any" device, v1 */
#define TT_PKT_LINK_IPV4 228 /* raw IPv4 */
#define TT_PKT_LINK_IPV6 229 /* raw IPv6 */
#define TT_PKT_LINK_SLL2 276 /* Linux "any" device, v2 */

#define TT_PKT_ADDR 16 /* an address: IPv4 in the first 4 bytes, network byte order */

/* TCP flags */
#define TT_TH_FIN 0x01
#define TT_TH_SYN 0x02
#define TT_TH_RST 0x04
#define TT_TH_ACK 0x10

/* What a packet says that a flow needs. */
struct tt_pkt {
	uint8_t family, proto, flags; /* TT_FAMILY_* (tt_event.h), IPPROTO_*, TT_TH_* */
	uint8_t src[TT_PKT_ADDR], dst[TT_PKT_ADDR];
	uint16_t sport, dport;
	uint16_t win;		/* TCP: the window field as sent (unscaled: 0 is 0 at any scale) */
	uint32_t seq, ack, len; /* len: payload bytes, from the IP and TCP/UDP headers */
	int icmp_unreach; /* an ICMP unreachable: src/dst/ports are those of the packet it quotes */
};

/* What tt_pkt_decode() found */
enum {
	TT_PKT_FRAGMENT = -2,  /* an IP fragment after the first: no ports */
	TT_PKT_TRUNCATED = -1, /* captured too short for its headers */
	TT_PKT_OTHER = 0,      /* not TCP or UDP over IPv4/IPv6 (ARP, ICMP echo, ...) */
	TT_PKT_OK = 1,	       /* *k filled */
};

/* Whether it reads this link type. */
int tt_pkt_link_ok(int link);
/* The packet's headers into *k (zeroed first); one of TT_PKT_*. */
int tt_pkt_decode(int link, const uint8_t *data, size_t caplen, struct tt_pkt *k);

#endif /* TT_PCAP_DECODE_H */
