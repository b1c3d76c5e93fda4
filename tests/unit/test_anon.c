// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the anonymizer (anon/). No arguments: one line per check, exit
 * 1 on any failure. "bench": addresses per second, cold and cached.
 *
 * Oracles: the Crypto-PAn reference distribution's sample trace (its key and
 * address pairs from sample_trace_raw.dat / sample_trace_sanitized.dat), the
 * published vector of the key "boojahyoo3vaeToong0Eijee7Ahz3yee", IPv6 values
 * computed by an independent implementation of the same 128-bit extension
 * (Yawning Angel's Go code), and properties checked by brute force: prefixes
 * preserved to the exact bit, IPv4 embedded in the top of an IPv6 address
 * giving the IPv4 result, same key same mapping, other key other mapping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tt_anon.h"
#include "check.h"

/* The key of the reference distribution's sample.cpp. */
static const uint8_t ref_key[32] = {21,	 34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
				    22,	 73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
				    101, 39, 98,  87,  76, 45,	42,  132, 34,  2};

/* Pairs from sample_trace_raw.dat -> sample_trace_sanitized.dat. */
static const char *const ref_pairs[][2] = {
    {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
    {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
    {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
    {"156.29.3.236", "147.225.12.42"},	    {"192.102.249.13", "252.138.62.131"},
    {"192.215.32.125", "252.43.47.189"},    {"198.51.77.238", "249.18.186.254"},
    {"207.105.49.5", "241.118.205.138"},    {"208.234.120.210", "227.154.67.17"},
    {"209.238.72.3", "226.6.119.243"},	    {"209.68.60.238", "226.184.220.233"},
    {"216.32.132.250", "235.192.139.38"},   {"24.0.250.221", "100.15.198.226"},
    {"24.13.62.231", "100.2.192.247"},	    {"24.5.0.80", "100.9.15.210"},
    {"4.3.88.225", "124.60.155.63"},	    {"64.14.118.196", "0.255.183.58"},
    {"64.34.154.117", "0.221.154.117"},	    {"10.185.25.118", "117.161.29.118"},
};

/* The same key, IPv6, from an independent implementation of the 128-bit extension. */
static const char *const v6_pairs[][2] = {
    {"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
    {"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
    {"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
    {"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
    {"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
};

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static struct tt_anon *mk(const uint8_t *key, unsigned flags)
{
	struct tt_anon *a = NULL;
	char err[256];

	if (tt_anon_new(&a, key, flags, err, sizeof(err))) {
		fprintf(stderr, "tt_anon_new: %s\n", err);
		exit(1);
	}
	return a;
}

/* Number of leading bits two addresses share. */
static unsigned common_prefix(const uint8_t *x, const uint8_t *y, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		uint8_t d = x[i] ^ y[i];

		if (d) {
			unsigned n = (unsigned)i * 8;

			while (!(d & 0x80)) {
				d <<= 1;
				n++;
			}
			return n;
		}
	}
	return (unsigned)bytes * 8;
}

static void flip_bit(uint8_t *b, unsigned bit)
{
	b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

/* ------------------------------------------------------------ reference vectors */

static void t_reference(void)
{
	struct tt_anon *a = mk(ref_key, 0);
	uint8_t in[4], out[4], want[4];
	unsigned ok = 0, n = sizeof(ref_pairs) / sizeof(ref_pairs[0]);
	int ret;

	for (unsigned i = 0; i < n; i++) {
		inet_pton(AF_INET, ref_pairs[i][0], in);
		inet_pton(AF_INET, ref_pairs[i][1], want);
		if (!tt_anon_ipv4(a, in, out) && !memcmp(out, want, 4))
			ok++;
		else
			check(0, "reference: %s -> %u.%u.%u.%u, want %s", ref_pairs[i][0], out[0],
			      out[1], out[2], out[3], ref_pairs[i][1]);
	}
	check(ok == n, "reference sample trace: %u of %u IPv4 pairs match", ok, n);

	/* The IPv4 address in the top 32 bits of an IPv6 address: the top 32 bits of the
	 * result are the IPv4 result (the rounds for those bits see the same input). */
	ok = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t a6[16], o6[16];

		rnd_bytes(a6, 16);
		inet_pton(AF_INET, ref_pairs[i][0], a6);
		inet_pton(AF_INET, ref_pairs[i][1], want);
		ok += !tt_anon_ipv6(a, a6, o6) && !memcmp(o6, want, 4);
	}
	check(ok == n, "IPv4 in the top of IPv6 (random low bits): %u of %u give the IPv4 result",
	      ok, n);

	n = sizeof(v6_pairs) / sizeof(v6_pairs[0]);
	ok = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t i6[16], o6[16], w6[16];

		inet_pton(AF_INET6, v6_pairs[i][0], i6);
		inet_pton(AF_INET6, v6_pairs[i][1], w6);
		if (!tt_anon_ipv6(a, i6, o6) && !memcmp(o6, w6, 16))
			ok++;
		else
			check(0, "IPv6 %s: mismatch, want %s", v6_pairs[i][0], v6_pairs[i][1]);
	}
	check(ok == n, "IPv6: %u of %u values of an independent implementation match", ok, n);
	tt_anon_free(a);

	a = mk((const uint8_t *)"boojahyoo3vaeToong0Eijee7Ahz3yee", 0);
	inet_pton(AF_INET, "192.0.2.1", in);
	inet_pton(AF_INET, "206.2.124.120", want);
	ret = tt_anon_ipv4(a, in, out);
	check(!ret && !memcmp(out, want, 4),
	      "key boojahyoo3vaeToong0Eijee7Ahz3yee: 192.0.2.1 -> %u.%u.%u.%u (want 206.2.124.120)",
	      out[0], out[1], out[2], out[3]);
	tt_anon_free(a);
}

/* ------------------------------------------------------------ properties */

/* For random x and every k, y = x with bit k flipped and fresh random bits after it
 * shares exactly k leading bits with x; the images must share exactly k too. */
static void t_prefix(size_t bytes, unsigned rounds)
{
	uint8_t key[32];
	struct tt_anon *a;
	unsigned bad = 0, total = 0, bits = (unsigned)bytes * 8;

	rnd_bytes(key, 32);
	a = mk(key, 0);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned k = 0; k < bits; k++) {
			uint8_t x[16], y[16], ax[16], ay[16];
			int e;

			rnd_bytes(x, bytes);
			memcpy(y, x, bytes);
			flip_bit(y, k);
			for (unsigned b = k + 1; b < bits; b++)
				if (rnd() & 1)
					flip_bit(y, b);
			if (bytes == 4)
				e = tt_anon_ipv4(a, x, ax) || tt_anon_ipv4(a, y, ay);
			else
				e = tt_anon_ipv6(a, x, ax) || tt_anon_ipv6(a, y, ay);
			total++;
			if (e || common_prefix(x, y, bytes) != k ||
			    common_prefix(ax, ay, bytes) != k)
				bad++;
		}
	}
	check(!bad && total, "IPv%d prefix preserved exactly: %u pairs, every prefix length 0..%u",
	      bytes == 4 ? 4 : 6, total, bits - 1);
	tt_anon_free(a);
}

/* The reference trace itself: every pair of its addresses keeps its common prefix. */
static void t_prefix_trace(void)
{
	unsigned n = sizeof(ref_pairs) / sizeof(ref_pairs[0]), bad = 0;

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			uint8_t ri[4], rj[4], si[4], sj[4];

			inet_pton(AF_INET, ref_pairs[i][0], ri);
			inet_pton(AF_INET, ref_pairs[j][0], rj);
			inet_pton(AF_INET, ref_pairs[i][1], si);
			inet_pton(AF_INET, ref_pairs[j][1], sj);
			bad += common_prefix(ri, rj, 4) != common_prefix(si, sj, 4);
		}
	check(!bad, "reference trace pairs keep their common prefix lengths (%u pairs)", n * n);
}

static void t_consistency(void)
{
	uint8_t k1[32], k2[32];
	struct tt_anon *a, *b, *c;
	unsigned same = 0, diff = 0, n = 10000, fixed = 0, cache_ok = 0;
	uint8_t(*addrs)[16] = malloc(n * 16);

	rnd_bytes(k1, 32);
	memcpy(k2, k1, 32);
	k2[31] ^= 1; /* only the pad half differs: the whole mapping must still change */
	a = mk(k1, 0);
	b = mk(k1, 0);
	c = mk(k2, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t oa[16], ob[16], oc[16];

		rnd_bytes(addrs[i], 16);
		if (i % 2) {
			tt_anon_ipv6(a, addrs[i], oa);
			tt_anon_ipv6(b, addrs[i], ob);
			tt_anon_ipv6(c, addrs[i], oc);
			same += !memcmp(oa, ob, 16);
			diff += !!memcmp(oa, oc, 16);
			fixed += !memcmp(oa, addrs[i], 16);
		} else {
			tt_anon_ipv4(a, addrs[i], oa);
			tt_anon_ipv4(b, addrs[i], ob);
			tt_anon_ipv4(c, addrs[i], oc);
			same += !memcmp(oa, ob, 4);
			diff += !!memcmp(oa, oc, 4);
			fixed += !memcmp(oa, addrs[i], 4);
		}
	}
	check(same == n, "same key, two handles: %u of %u addresses map alike", same, n);
	check(diff == n, "key differing in one pad bit: %u of %u addresses map differently", diff,
	      n);
	check(fixed == 0, "no address maps to itself (%u of %u)", fixed, n);
	/* 10000 addresses through a 4096-slot cache: evicted ones must come back the same. */
	for (unsigned i = 0; i < n; i++) {
		uint8_t oa[16], ob[16];
		struct tt_anon *fresh = i % 1000 ? NULL : mk(k1, 0);

		if (i % 2) {
			tt_anon_ipv6(a, addrs[i], oa);
			tt_anon_ipv6(fresh ? fresh : b, addrs[i], ob);
			cache_ok += !memcmp(oa, ob, 16);
		} else {
			tt_anon_ipv4(a, addrs[i], oa);
			tt_anon_ipv4(fresh ? fresh : b, addrs[i], ob);
			cache_ok += !memcmp(oa, ob, 4);
		}
		tt_anon_free(fresh);
	}
	check(cache_ok == n, "second pass through the cache: %u of %u unchanged", cache_ok, n);
	free(addrs);
	tt_anon_free(a);
	tt_anon_free(b);
	tt_anon_free(c);
}

/* ------------------------------------------------------------ key files */

static char tmpdir[] = "/tmp/test_anon.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t n)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
	return path;
}

static void t_keys(void)
{
	uint8_t key[32], raw[32];
	char hex[80], err[256];
	int ret;

	rnd_bytes(raw, 32);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", raw[i]);

	ret = tt_anon_load_key(write_file("raw", raw, 32), key, err, sizeof(err));
	check(!ret && !memcmp(key, raw, 32), "raw 32-byte key file read");
	memset(key, 0, 32);
	strcat(hex, "\n");
	ret = tt_anon_load_key(write_file("hex", hex, 65), key, err, sizeof(err));
	check(!ret && !memcmp(key, raw, 32), "64 hex digits with a newline read");
	for (int i = 0; hex[i]; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	memset(key, 0, 32);
	ret = tt_anon_load_key(write_file("HEX", hex, 64), key, err, sizeof(err));
	check(!ret && !memcmp(key, raw, 32), "upper-case hex read");

	static const struct {
		const char *name, *data;
		size_t n;
	} bad[] = {
	    {"short", "0123456789012345678901234567890", 31},
	    {"long", "012345678901234567890123456789012", 33},
	    {"empty", "", 0},
	    {"nothex", "zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64},
	    {"hex63", "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 63},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ret = tt_anon_load_key(write_file(bad[i].name, bad[i].data, bad[i].n), key, err,
				       sizeof(err));
		check(ret == -EINVAL && strstr(err, "32 bytes or 64 hex digits") &&
			  strstr(err, "/dev/urandom") && !strchr(err, '\n'),
		      "bad key file '%s' refused: %s", bad[i].name, err);
	}
	uint8_t big[4096] = {0};
	ret = tt_anon_load_key(write_file("big", big, sizeof(big)), key, err, sizeof(err));
	check(ret == -EINVAL, "a 4 KiB file is not a key");
	ret = tt_anon_load_key("/nonexistent/key", key, err, sizeof(err));
	check(ret == -ENOENT && strstr(err, "/nonexistent/key"), "missing key file: %s", err);
	ret = tt_anon_load_key(tmpdir, key, err, sizeof(err));
	check(ret == -EISDIR, "a directory is not a key: %s", err);
}

/* ------------------------------------------------------------ names, events, header */

static int is_token(const char *s, const char *prefix, size_t hex)
{
	size_t pl = strlen(prefix);

	if (strncmp(s, prefix, pl) || strlen(s) != pl + hex)
		return 0;
	for (size_t i = pl; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void t_names(void)
{
	uint8_t key[32], key2[32];
	struct tt_anon *a, *b;
	char x[32], y[32], z[32];

	rnd_bytes(key, 32);
	memcpy(key2, key, 32);
	key2[0] ^= 0x80;
	a = mk(key, TT_ANON_COMM);
	b = mk(key2, TT_ANON_COMM);
	tt_anon_name(a, "c-", "nginx", x, 11);
	tt_anon_name(a, "c-", "nginx", y, 11);
	check(is_token(x, "c-", 8) && !strcmp(x, y), "name token '%s' stable", x);
	tt_anon_name(a, "h-", "nginx", z, 11);
	check(strcmp(x + 2, z + 2) != 0, "prefix separates domains: %s vs %s", x, z);
	tt_anon_name(b, "c-", "nginx", z, 11);
	check(strcmp(x, z) != 0, "other key, other token: %s vs %s", x, z);
	tt_anon_name(a, "c-", "nginy", z, 11);
	check(strcmp(x, z) != 0, "other name, other token: %s vs %s", x, z);
	tt_anon_name(a, "c-", "", z, 11);
	check(z[0] == 0, "empty name stays empty");
	tt_anon_name(a, "c-", "nginx", z, 6);
	check(is_token(z, "c-", 3), "short buffer: '%s' truncated hex", z);
	tt_anon_free(a);
	tt_anon_free(b);
}

static void t_events(void)
{
	uint8_t key[32];
	struct tt_anon *a, *ac;
	struct tt_event ev, orig;
	uint8_t w[16];
	char tok[16];

	rnd_bytes(key, 32);
	a = mk(key, 0);
	ac = mk(key, TT_ANON_COMM);

	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_CONN_OPEN;
	ev.ts_ns = 123456789;
	ev.conn_id = 42;
	ev.pid = ev.tid = 777;
	ev.u.open.family = TT_FAMILY_IPV4;
	ev.u.open.proto = 6;
	ev.u.open.lport = 8080;
	ev.u.open.rport = 51000;
	ev.u.open.netns = 4026531840u;
	ev.u.open.cgroup_id = 99;
	inet_pton(AF_INET, "10.1.2.3", ev.u.open.laddr);
	inet_pton(AF_INET, "192.168.7.9", ev.u.open.raddr);
	strcpy(ev.u.open.comm, "nginx");
	orig = ev;
	check(!tt_anon_event(a, &ev), "IPv4 CONN_OPEN rewritten");
	tt_anon_ipv4(a, orig.u.open.laddr, w);
	check(!memcmp(ev.u.open.laddr, w, 4) && memcmp(w, orig.u.open.laddr, 4),
	      "laddr is its Crypto-PAn image");
	tt_anon_ipv4(a, orig.u.open.raddr, w);
	check(!memcmp(ev.u.open.raddr, w, 4), "raddr is its Crypto-PAn image");
	check(ev.u.open.lport == 8080 && ev.u.open.rport == 51000 && ev.pid == 777 &&
		  ev.conn_id == 42 && ev.ts_ns == 123456789 && ev.u.open.cgroup_id == 99 &&
		  ev.u.open.netns == 4026531840u && ev.u.open.proto == 6,
	      "ports, pid, id, time, netns, cgroup unchanged");
	check(!strcmp(ev.u.open.comm, "nginx"), "comm kept without TT_ANON_COMM");

	ev = orig;
	tt_anon_event(ac, &ev);
	tt_anon_name(ac, "c-", "nginx", tok, 11);
	check(!strcmp(ev.u.open.comm, tok) && is_token(tok, "c-", 8),
	      "comm hashed with TT_ANON_COMM: %s", ev.u.open.comm);

	/* A full 16-byte comm (no NUL) hashes like the same 16 characters. */
	ev = orig;
	memcpy(ev.u.open.comm, "abcdefghijklmnop", 16);
	tt_anon_event(ac, &ev);
	tt_anon_name(ac, "c-", "abcdefghijklmnop", tok, 11);
	check(!strcmp(ev.u.open.comm, tok), "16-byte comm without NUL hashed");

	/* Zero means "no address": it stays zero. Junk after an IPv4 address is cleared. */
	ev = orig;
	memset(ev.u.open.raddr, 0, 16);
	ev.u.open.laddr[9] = 0xee;
	tt_anon_event(a, &ev);
	memset(w, 0, 16);
	check(!memcmp(ev.u.open.raddr, w, 16), "all-zero raddr stays zero");
	check(!memcmp(ev.u.open.laddr + 4, w, 12), "bytes after an IPv4 address zeroed");

	ev = orig;
	ev.u.open.family = TT_FAMILY_IPV6;
	inet_pton(AF_INET6, "2001:db8:1:2::10", ev.u.open.laddr);
	inet_pton(AF_INET6, "2001:db8:1:3::20", ev.u.open.raddr);
	orig = ev;
	tt_anon_event(a, &ev);
	tt_anon_ipv6(a, orig.u.open.laddr, w);
	check(!memcmp(ev.u.open.laddr, w, 16), "IPv6 laddr is its Crypto-PAn image");
	check(common_prefix(ev.u.open.laddr, ev.u.open.raddr, 16) ==
		  common_prefix(orig.u.open.laddr, orig.u.open.raddr, 16),
	      "IPv6 pair keeps its %u-bit common prefix",
	      common_prefix(orig.u.open.laddr, orig.u.open.raddr, 16));

	static const uint16_t proc_kinds[] = {TT_EV_CONN_PROC, TT_EV_PROC_EXEC, TT_EV_PROC_EXIT,
					      TT_EV_PROC_NAME};
	int ok = 0;
	for (size_t i = 0; i < 4; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = proc_kinds[i];
		ev.pid = 5;
		strcpy(ev.u.proc.comm, "curl");
		ev.u.proc.ppid = 4;
		ev.u.proc.exit_code = -3;
		tt_anon_event(ac, &ev);
		tt_anon_name(ac, "c-", "curl", tok, 11);
		ok += !strcmp(ev.u.proc.comm, tok) && ev.u.proc.ppid == 4 &&
		      ev.u.proc.exit_code == -3 && ev.pid == 5;
	}
	check(ok == 4, "process kinds: comm hashed, pid/ppid/exit code kept (%d of 4)", ok);

	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_TRAFFIC;
	ev.u.traffic.tx_bytes = 1000;
	ev.u.traffic.rx_pkts = 7;
	orig = ev;
	tt_anon_event(ac, &ev);
	check(!memcmp(&ev, &orig, sizeof(ev)), "TRAFFIC untouched");
	tt_anon_free(a);
	tt_anon_free(ac);
}

static void t_header(void)
{
	uint8_t key[32];
	struct tt_anon *a, *ac;
	struct tt_fmt_header h, o;
	char c1[16], c2[16];
	char want[600];

	rnd_bytes(key, 32);
	a = mk(key, 0);
	ac = mk(key, TT_ANON_COMM);
	memset(&o, 0, sizeof(o));
	strcpy(o.hostname, "db-7.prod.example.com");
	strcpy(o.kernel, "6.18.0-1-amd64");
	strcpy(o.boot_id, "0f4a3b3c-6c5e-4f06-9d3e-3b7e2f6a1c11");
	strcpy(o.mode, "coalesce");
	strcpy(o.probes, "tp_btf:sock/inet_sock_set_state");
	strcpy(o.filters, "pid=1,22 port=80,443 comm=nginx,my app tcp ipv4 "
			  "cgroup=/sys/fs/cgroup/system.slice/nginx service.service");
	o.start_ns = 5;
	o.clock_offset_ns = -7;

	h = o;
	tt_anon_header(a, &h);
	check(is_token(h.hostname, "h-", 12), "hostname -> %s", h.hostname);
	check(strlen(h.boot_id) == 36 && h.boot_id[8] == '-' && h.boot_id[23] == '-' &&
		  strcmp(h.boot_id, o.boot_id),
	      "boot_id -> %s", h.boot_id);
	check(!strcmp(h.kernel, o.kernel) && !strcmp(h.probes, o.probes) &&
		  !strcmp(h.mode, o.mode) && h.start_ns == 5 && h.clock_offset_ns == -7,
	      "kernel, probes, mode, clocks kept");
	check(!strcmp(h.filters, o.filters), "filters kept without TT_ANON_COMM");

	struct tt_fmt_header h2 = o;
	tt_anon_header(ac, &h2);
	check(!strcmp(h.hostname, h2.hostname) && !strcmp(h.boot_id, h2.boot_id),
	      "same host, same token whatever the flags");
	tt_anon_name(ac, "c-", "nginx", c1, 11);
	tt_anon_name(ac, "c-", "my app", c2, 11);
	snprintf(want, sizeof(want), "pid=1,22 port=80,443 comm=%s,%s tcp ipv4 cgroup=g-", c1, c2);
	check(!strncmp(h2.filters, want, strlen(want)) && strlen(h2.filters) == strlen(want) + 12,
	      "filters with TT_ANON_COMM: %s", h2.filters);
	check(!strstr(h2.filters, "nginx") && !strstr(h2.filters, "app") &&
		  !strstr(h2.filters, "system.slice"),
	      "no name left in the filters text");
	/* Not even in the bytes after the new strings' NUL. */
	check(!memmem(&h2, sizeof(h2), "db-7.prod", 9) && !memmem(&h2, sizeof(h2), "0f4a3b3c", 8) &&
		  !memmem(&h2, sizeof(h2), "nginx", 5) && !memmem(&h2, sizeof(h2), "slice", 5),
	      "no trace of the old strings anywhere in the header struct");

	h = o;
	strcpy(h.filters, "port=53 host=10.9.8.7 udp");
	tt_anon_header(a, &h);
	check(!strstr(h.filters, "10.9.8.7") && !strncmp(h.filters, "port=53 f-", 10) &&
		  !strcmp(h.filters + strlen(h.filters) - 4, " udp"),
	      "unknown filter token hashed: %s", h.filters);

	h = o;
	h.hostname[0] = h.boot_id[0] = h.filters[0] = 0;
	tt_anon_header(ac, &h);
	check(!h.hostname[0] && !h.boot_id[0] && !h.filters[0], "empty fields stay empty");
	tt_anon_free(a);
	tt_anon_free(ac);
}

/* ------------------------------------------------------------ bench */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(void)
{
	uint8_t key[32], x[16], o[16];
	struct tt_anon *a;
	unsigned n = 200000;
	double t;

	rnd_bytes(key, 32);
	a = mk(key, 0);
	for (int v6 = 0; v6 < 2; v6++) {
		t = now();
		for (unsigned i = 0; i < n; i++) {
			rnd_bytes(x, 16);
			v6 ? tt_anon_ipv6(a, x, o) : tt_anon_ipv4(a, x, o);
		}
		t = now() - t;
		printf("IPv%d distinct addresses: %.0f /s\n", v6 ? 6 : 4, n / t);
		memset(x, 7, 16);
		t = now();
		for (unsigned i = 0; i < n; i++) {
			x[3] = (uint8_t)(i % 64);
			v6 ? tt_anon_ipv6(a, x, o) : tt_anon_ipv4(a, x, o);
		}
		t = now() - t;
		printf("IPv%d 64 repeating addresses (cached): %.0f /s\n", v6 ? 6 : 4, n / t);
	}
	tt_anon_free(a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "bench"))
		return bench();
	if (argc != 1) {
		fprintf(stderr, "usage: test_anon [bench]\n");
		return 2;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t_reference();
	t_prefix_trace();
	t_prefix(4, 20);
	t_prefix(16, 4);
	t_consistency();
	t_keys();
	t_names();
	t_events();
	t_header();

	return check_done(tmpdir);
}
