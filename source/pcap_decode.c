// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A captured packet's headers (pcap_decode.h), by the layouts of RFC 791, 8200, 793, 768, 792
 * and 4443, IEEE 802.3/802.1Q and libpcap's LINKTYPE_ pages. */
#include <netinet/in.h>
#include <string.h>

#include "tt_event.h"
#include "pcap_decode.h"

int tt_pkt_link_ok(int link)
{
	switch (link) {
	case TT_PKT_LINK_NULL:
	case TT_PKT_LINK_EN10MB:
	case TT_PKT_LINK_RAW:
	case TT_PKT_LINK_SLL:
	case TT_PKT_LINK_IPV4:
	case TT_PKT_LINK_IPV6:
	case TT_PKT_LINK_SLL2: return 1;
	}
	return 0;
}

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* One of TT_PKT_*; l4len: the bytes the IP header says follow. */
static int parse_l4(const uint8_t *b, size_t n, uint32_t l4len, struct tt_pkt *k, int quoted)
{
	if (k->proto == IPPROTO_TCP) {
		uint32_t hl;

		/* a quoted packet (in an ICMP error) has its first 8 bytes: ports and seq */
		if (n < (quoted ? 8u : 20u))
			return TT_PKT_TRUNCATED;
		k->sport = be16(b);
		k->dport = be16(b + 2);
		k->seq = be32(b + 4);
		if (quoted)
			return TT_PKT_OK;
		k->ack = be32(b + 8);
		hl = (uint32_t)(b[12] >> 4) * 4;
		k->flags = b[13];
		k->win = be16(b + 14);
		k->len = l4len > hl ? l4len - hl : 0;
		return TT_PKT_OK;
	}
	if (k->proto == IPPROTO_UDP) {
		if (n < 8)
			return TT_PKT_TRUNCATED;
		k->sport = be16(b);
		k->dport = be16(b + 2);
		k->len = be16(b + 4) > 8 ? be16(b + 4) - 8u : 0;
		return TT_PKT_OK;
	}
	return TT_PKT_OTHER;
}

static int parse_ip(const uint8_t *b, size_t n, struct tt_pkt *k, int quoted);

/* An ICMP destination unreachable quoting a TCP packet: k becomes that packet's ends. */
static int parse_icmp(const uint8_t *b, size_t n, struct tt_pkt *k)
{
	int v6 = k->proto == IPPROTO_ICMPV6;

	if (n < 8 || b[0] != (v6 ? 1 : 3)) /* ICMPv6 / ICMP destination unreachable */
		return TT_PKT_OTHER;
	if (parse_ip(b + 8, n - 8, k, 1) != TT_PKT_OK || k->proto != IPPROTO_TCP)
		return TT_PKT_OTHER;
	k->icmp_unreach = 1;
	return TT_PKT_OK;
}

/* As parse_l4; also TT_PKT_FRAGMENT for a fragment after the first (no ports). */
static int parse_ip(const uint8_t *b, size_t n, struct tt_pkt *k, int quoted)
{
	uint32_t l4len;

	if (n < 1)
		return TT_PKT_TRUNCATED;
	memset(k->src, 0, TT_PKT_ADDR);
	memset(k->dst, 0, TT_PKT_ADDR);
	if (b[0] >> 4 == 4) {
		uint32_t hl = (uint32_t)(b[0] & 15) * 4, tot;

		if (n < 20 || hl < 20 || n < hl)
			return TT_PKT_TRUNCATED;
		tot = be16(b + 2);
		if (be16(b + 6) & 0x1fff)
			return TT_PKT_FRAGMENT;
		k->family = TT_FAMILY_IPV4;
		k->proto = b[9];
		memcpy(k->src, b + 12, 4);
		memcpy(k->dst, b + 16, 4);
		l4len = tot > hl ? tot - hl : 0;
		b += hl;
		n -= hl;
	} else if (b[0] >> 4 == 6) {
		uint8_t nh;
		uint32_t plen;

		if (n < 40)
			return TT_PKT_TRUNCATED;
		plen = be16(b + 4);
		nh = b[6];
		k->family = TT_FAMILY_IPV6;
		memcpy(k->src, b + 8, 16);
		memcpy(k->dst, b + 24, 16);
		b += 40;
		n -= 40;
		/* the extension headers before the transport's */
		for (;;) {
			uint32_t hl;

			if (nh != 0 && nh != 43 && nh != 60 && nh != 44 && nh != 51)
				break;
			if (n < 8)
				return TT_PKT_TRUNCATED;
			if (nh == 44) {
				if (be16(b + 2) & 0xfff8)
					return TT_PKT_FRAGMENT;
				hl = 8;
			} else {
				hl = nh == 51 ? ((uint32_t)b[1] + 2) * 4 : ((uint32_t)b[1] + 1) * 8;
			}
			if (n < hl || plen < hl)
				return TT_PKT_TRUNCATED;
			nh = b[0];
			b += hl;
			n -= hl;
			plen -= hl;
		}
		k->proto = nh;
		l4len = plen;
	} else {
		return TT_PKT_OTHER;
	}
	if (!quoted && (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6))
		return parse_icmp(b, n, k);
	return parse_l4(b, n, l4len, k, quoted);
}

/* The link header off: the network layer's first byte, or NULL when not IP. */
static const uint8_t *link_off(int link, const uint8_t *b, size_t *n)
{
	uint16_t type;
	size_t off;

	switch (link) {
	case TT_PKT_LINK_RAW:
	case TT_PKT_LINK_IPV4:
	case TT_PKT_LINK_IPV6: return b;
	case TT_PKT_LINK_NULL: off = 4; break; /* the family's byte order is the writer's */
	case TT_PKT_LINK_SLL:
		if (*n < 16)
			return NULL;
		type = be16(b + 14);
		off = 16;
		goto ethertype;
	case TT_PKT_LINK_SLL2:
		if (*n < 20)
			return NULL;
		type = be16(b);
		off = 20;
		goto ethertype;
	default: /* TT_PKT_LINK_EN10MB */
		if (*n < 14)
			return NULL;
		off = 12;
		while (off + 2 <= *n && (be16(b + off) == 0x8100 || be16(b + off) == 0x88a8))
			off += 4;
		if (off + 2 > *n)
			return NULL;
		type = be16(b + off);
		off += 2;
		goto ethertype;
	}
	if (*n < off)
		return NULL;
	*n -= off;
	return b + off;
ethertype:
	if (type != 0x0800 && type != 0x86dd)
		return NULL;
	*n -= off;
	return b + off;
}

int tt_pkt_decode(int link, const uint8_t *data, size_t caplen, struct tt_pkt *k)
{
	const uint8_t *l3;

	memset(k, 0, sizeof(*k));
	l3 = link_off(link, data, &caplen);
	return l3 ? parse_ip(l3, caplen, k, 0) : TT_PKT_OTHER;
}
