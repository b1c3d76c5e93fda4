/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_cid: the Community ID v1 flow hash (corelight/community-id-spec), the
 * key Zeek, Suricata and flow logs share, so a capture's connections join
 * with what those tools saw. Pure: derived from a connection's endpoints, never
 * stored in a capture, so an anonymized copy hashes its anonymized addresses.
 */
#ifndef TT_COMMUNITY_ID_H
#define TT_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

/* "1:" + base64 of a SHA-1 (28) + NUL */
#define TT_CID_LEN 31

/*
 * The ID of a flow between two endpoints (addresses as in tt_event.h: network
 * byte order, IPv4 in the first 4 bytes; ports in host byte order), the same
 * whichever end is given first. A v4-mapped IPv6 pair is hashed as IPv4, as
 * its packets are on the wire. proto: TCP, UDP or SCTP (the protocols with
 * ports). Writes the text into buf (TT_CID_LEN bytes) and returns 0, or
 * returns -EINVAL (other protocol, family, or buf too small).
 */
int tt_cid_v1(uint16_t seed, uint8_t family, uint8_t proto, const uint8_t *saddr, uint16_t sport,
	      const uint8_t *daddr, uint16_t dport, char *buf, size_t len);

/*
 * The ID of a connection (addresses of TT_ADDR_LEN bytes). -ENOENT when an
 * address is not known: no peer (raddr all zero), or a wildcard local address
 * (a UDP socket sending with sendto() before any bind: the route picks the
 * source of each datagram). Else as tt_cid_v1().
 */
int tt_cid_conn(uint16_t seed, uint8_t family, uint8_t proto, const uint8_t *laddr, uint16_t lport,
		const uint8_t *raddr, uint16_t rport, char *buf, size_t len);
/* The same from an open record. */
int tt_cid_open(uint16_t seed, const struct tt_ev_open *o, char *buf, size_t len);

/* --community-id-seed: decimal 0..65535 (as Suricata and Zeek take it). 0 or -EINVAL. */
int tt_cid_parse_seed(const char *s, uint16_t *seed);

#endif /* TT_COMMUNITY_ID_H */
