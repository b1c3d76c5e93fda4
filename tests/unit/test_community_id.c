/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Unit tests of the Community ID (common/community_id.c). No arguments: one
 * line per check, exit 1 on any failure.
 *
 * Oracle: the spec's published baseline (corelight/community-id-spec,
 * baseline/baseline_deflt.json and baseline_seed1.json): every TCP, UDP and
 * SCTP flow of it, IPv4 and IPv6, seed 0 and seed 1, from both ends; for one
 * address both ends (loopback: the ports order the endpoints), the spec's
 * reference script's output as cited in community-id-spec issue #32 and Arkime
 * issue #3582 (Suricata 7 and Wireshark order those ports otherwise).
 * tests/test_community_id.py checks the same code against hashlib and against
 * Suricata on real traffic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tt_community_id.h"
#include "check.h"

struct vec {
	uint8_t proto;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	const char *seed0, *seed1;
};

/* The baseline's flows with ports (ICMP and others have their own rules, not ours). */
static const struct vec vecs[] = {
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80,
     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53,
     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    /* SCTP has ports too; equal ports: the addresses alone order them */
    {132, "192.168.170.8", "192.168.170.56", 7, 7,
     "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
};

/* One address both ends, seed 0: "ports compared as numbers", not as bytes in memory. */
static const struct vec same_addr[] = {
    {6, "1.2.3.4", "1.2.3.4", 3344, 1122, "1:CY1T7/6B7r9W3LMnzSws9RXqqbQ=", NULL},
    {6, "1.2.3.1", "1.2.3.1", 3344, 1122, "1:jD1eCyop8ZzeL/0xgO58JtpHPLE=", NULL},
    {6, "1.2.3.4", "1.2.3.4", 5566, 7788, "1:YZWovxgLMFDntXoQs0LgEGs9QcQ=", NULL},
    {6, "1.2.3.4", "1.2.3.4", 6655, 8877, "1:7hdcx4YnNvllNYNSbtSzegQFnjg=", NULL},
    {6, "127.0.0.1", "127.0.0.1", 37540, 8080, "1:bVDV5YeKjjpJPUv5eIkIB7NsFYk=", NULL},
};

static uint8_t parse(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		return TT_FAMILY_IPV4;
	if (inet_pton(AF_INET6, s, a) == 1)
		return TT_FAMILY_IPV6;
	return 0;
}

static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		uint8_t s[16], d[16], fam = parse(v->saddr, s);
		char fwd[TT_CID_LEN], rev[TT_CID_LEN], s1[TT_CID_LEN];
		int r1, r2, r3;

		parse(v->daddr, d);
		r1 = tt_cid_v1(0, fam, v->proto, s, v->sport, d, v->dport, fwd, sizeof(fwd));
		r2 = tt_cid_v1(0, fam, v->proto, d, v->dport, s, v->sport, rev, sizeof(rev));
		r3 = tt_cid_v1(1, fam, v->proto, s, v->sport, d, v->dport, s1, sizeof(s1));
		check(!r1 && !strcmp(fwd, v->seed0), "proto %u %s:%u > %s:%u seed 0: %s", v->proto,
		      v->saddr, v->sport, v->daddr, v->dport, r1 ? "error" : fwd);
		check(!r2 && !strcmp(rev, v->seed0), "proto %u %s:%u > %s:%u seed 0 reversed: %s",
		      v->proto, v->daddr, v->dport, v->saddr, v->sport, r2 ? "error" : rev);
		check(!r3 && !strcmp(s1, v->seed1), "proto %u %s:%u > %s:%u seed 1: %s", v->proto,
		      v->saddr, v->sport, v->daddr, v->dport, r3 ? "error" : s1);
	}
}

static void test_same_address(void)
{
	for (size_t i = 0; i < sizeof(same_addr) / sizeof(same_addr[0]); i++) {
		const struct vec *v = &same_addr[i];
		uint8_t a[16], fam = parse(v->saddr, a);
		char fwd[TT_CID_LEN], rev[TT_CID_LEN];
		int r1 = tt_cid_v1(0, fam, v->proto, a, v->sport, a, v->dport, fwd, sizeof(fwd));
		int r2 = tt_cid_v1(0, fam, v->proto, a, v->dport, a, v->sport, rev, sizeof(rev));

		check(!r1 && !r2 && !strcmp(fwd, v->seed0) && !strcmp(rev, v->seed0),
		      "one address both ends %s ports %u and %u: %s %s", v->saddr, v->sport,
		      v->dport, r1 ? "error" : fwd, r2 ? "error" : rev);
	}
}

/* An open record as the recorder writes it, for tt_cid_open(). */
static struct tt_ev_open open_of(const char *l, uint16_t lport, const char *r, uint16_t rport,
				 uint8_t proto)
{
	struct tt_ev_open o;

	memset(&o, 0, sizeof(o));
	o.family = parse(l, o.laddr);
	if (r)
		parse(r, o.raddr);
	o.lport = lport;
	o.rport = rport;
	o.proto = proto;
	return o;
}

static void test_open_records(void)
{
	struct tt_ev_open cli = open_of("192.168.1.52", 54585, "8.8.8.8", 53, 17);
	struct tt_ev_open srv = open_of("8.8.8.8", 53, "192.168.1.52", 54585, 17);
	struct tt_ev_open mapped = open_of("::ffff:192.168.1.52", 54585, "::ffff:8.8.8.8", 53, 17);
	struct tt_ev_open unconnected = open_of("0.0.0.0", 5353, NULL, 0, 17);
	struct tt_ev_open wild4 = open_of("0.0.0.0", 34520, "127.0.0.1", 15353, 17);
	struct tt_ev_open wild6 = open_of("::", 34520, "::1", 15353, 17);
	struct tt_ev_open icmp = open_of("10.0.0.1", 0, "10.0.0.2", 0, 1);
	char a[TT_CID_LEN], b[TT_CID_LEN], c[TT_CID_LEN], small[TT_CID_LEN - 1];
	int ra, rb, rc;

	ra = tt_cid_open(0, &cli, a, sizeof(a));
	rb = tt_cid_open(0, &srv, b, sizeof(b));
	check(!ra && !rb && !strcmp(a, b) && !strcmp(a, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
	      "client and server records of one UDP flow: %s %s", a, b);
	rc = tt_cid_open(0, &mapped, c, sizeof(c));
	check(!rc && !strcmp(c, a), "v4-mapped IPv6 hashes as IPv4 (as on the wire): %s",
	      rc ? "error" : c);
	/* loopback: one address both ends, the ports order them */
	cli = open_of("127.0.0.1", 40000, "127.0.0.1", 8080, 6);
	srv = open_of("127.0.0.1", 8080, "127.0.0.1", 40000, 6);
	ra = tt_cid_open(9, &cli, a, sizeof(a));
	rb = tt_cid_open(9, &srv, b, sizeof(b));
	check(!ra && !rb && !strcmp(a, b), "loopback client and server, seed 9: %s %s", a, b);
	check(tt_cid_open(0, &unconnected, c, sizeof(c)) == -ENOENT,
	      "unconnected UDP flow (no peer): no ID");
	check(tt_cid_open(0, &wild4, c, sizeof(c)) == -ENOENT &&
		  tt_cid_open(0, &wild6, c, sizeof(c)) == -ENOENT,
	      "wildcard local address (unbound sendto()): no ID, not a hash of 0.0.0.0 or ::");
	check(tt_cid_open(0, &icmp, c, sizeof(c)) == -EINVAL, "ICMP: not ours to hash");
	check(tt_cid_open(0, &cli, small, sizeof(small)) == -EINVAL, "short buffer refused");
	cli.family = 0;
	check(tt_cid_open(0, &cli, c, sizeof(c)) == -EINVAL, "unknown family refused");
}

static void test_seed_parsing(void)
{
	static const char *const bad[] = {"",	 "-1", "65536", "0x10",
					  "1e3", " 1", "1 ",	"99999999999999999999"};
	uint16_t s = 7;

	check(!tt_cid_parse_seed("0", &s) && s == 0, "seed '0'");
	check(!tt_cid_parse_seed("65535", &s) && s == 65535, "seed '65535'");
	check(!tt_cid_parse_seed("00042", &s) && s == 42, "seed '00042'");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(tt_cid_parse_seed(bad[i], &s) == -EINVAL, "seed '%s' refused", bad[i]);
}

int main(void)
{
	test_vectors();
	test_same_address();
	test_open_records();
	test_seed_parsing();
	printf("%s\n", failures ? "FAILED" : "all ok");
	return failures ? 1 : 0;
}
