/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Community ID v1: SHA-1 over seed (2 bytes), source address, destination
 * address, protocol (1 byte), a zero byte, source port, destination port (all
 * big-endian), the endpoints ordered so the smaller (address, port) comes
 * first; base64 of the digest after "1:".
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tt_community_id.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int is_v4_mapped(const uint8_t *a)
{
	return !memcmp(a, v4_mapped, sizeof(v4_mapped));
}

int tt_cid_v1(uint16_t seed, uint8_t family, uint8_t proto, const uint8_t *saddr, uint16_t sport,
	      const uint8_t *daddr, uint16_t dport, char *buf, size_t len)
{
	uint8_t msg[2 + 16 + 16 + 2 + 4], *p = msg, md[SHA_DIGEST_LENGTH];
	size_t alen;
	int swap;

	if (len < TT_CID_LEN ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP))
		return -EINVAL;
	if (family == TT_FAMILY_IPV4) {
		alen = 4;
	} else if (family == TT_FAMILY_IPV6) {
		alen = 16;
		/* an IPv6 socket talking to an IPv4 peer sends IPv4 packets: hash what others see
		 */
		if (is_v4_mapped(saddr) && is_v4_mapped(daddr)) {
			saddr += 12;
			daddr += 12;
			alen = 4;
		}
	} else {
		return -EINVAL;
	}
	swap = memcmp(saddr, daddr, alen);
	swap = swap > 0 || (swap == 0 && sport > dport);
	if (swap) {
		const uint8_t *a = saddr;
		uint16_t port = sport;

		saddr = daddr;
		daddr = a;
		sport = dport;
		dport = port;
	}
	*p++ = (uint8_t)(seed >> 8);
	*p++ = (uint8_t)seed;
	memcpy(p, saddr, alen);
	p += alen;
	memcpy(p, daddr, alen);
	p += alen;
	*p++ = proto;
	*p++ = 0;
	*p++ = (uint8_t)(sport >> 8);
	*p++ = (uint8_t)sport;
	*p++ = (uint8_t)(dport >> 8);
	*p++ = (uint8_t)dport;
	SHA1(msg, (size_t)(p - msg), md);
	memcpy(buf, "1:", 2);
	EVP_EncodeBlock((unsigned char *)buf + 2, md, sizeof(md));
	return 0;
}

int tt_cid_conn(uint16_t seed, uint8_t family, uint8_t proto, const uint8_t *laddr, uint16_t lport,
		const uint8_t *raddr, uint16_t rport, char *buf, size_t len)
{
	static const uint8_t zero[TT_ADDR_LEN];

	/*
	 * No peer (an unconnected UDP flow), or a wildcard local address (an
	 * unbound socket sending with sendto(): the source is chosen per packet
	 * by the route): a hash of 0.0.0.0 would match no other tool's, worse
	 * than none.
	 */
	if (!memcmp(raddr, zero, sizeof(zero)) || !memcmp(laddr, zero, sizeof(zero)))
		return -ENOENT;
	return tt_cid_v1(seed, family, proto, laddr, lport, raddr, rport, buf, len);
}

int tt_cid_open(uint16_t seed, const struct tt_ev_open *o, char *buf, size_t len)
{
	return tt_cid_conn(seed, o->family, o->proto, o->laddr, o->lport, o->raddr, o->rport, buf,
			   len);
}

int tt_cid_parse_seed(const char *s, uint16_t *seed)
{
	unsigned v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*seed = (uint16_t)v;
	return 0;
}
