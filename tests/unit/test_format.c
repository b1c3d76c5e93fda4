// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the capture format (format/), plus helpers the Python
 * cross-check and the benchmarks use:
 *   test_format                 run the checks, one line each, exit 1 on any failure
 *   test_format gen OUT [N]     write a deterministic synthetic capture using every kind
 *   test_format dump FILE       header and every event as JSON, one object per line
 *   test_format bench           bytes/event and write/read speed, raw and coalesced traffic
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tt_kind.h"
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "tt_fmt.h"
#include "tt_kind.h"

static int failures;

static void check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s - %s", ok ? "ok" : "FAIL", name);
	if (!ok && fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		failures++;
	} else if (!ok) {
		failures++;
	}
	printf("\n");
	fflush(stdout);
}

/* ------------------------------------------------------------ generation */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const int64_t CLOCK_OFFSET = 1764067200000000000ll; /* 2025-11-25 */

static void make_header(struct tt_fmt_header *h, const char *mode)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->hostname, sizeof(h->hostname), "testhost.example");
	snprintf(h->kernel, sizeof(h->kernel), "6.18.0-test");
	snprintf(h->boot_id, sizeof(h->boot_id), "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0");
	snprintf(h->tool_version, sizeof(h->tool_version), "0.1.0");
	snprintf(h->mode, sizeof(h->mode), "%s", mode);
	h->coalesce_ms = strcmp(mode, "coalesce") ? 0 : 1000;
	snprintf(h->filters, sizeof(h->filters), "port=5201");
	snprintf(h->probes, sizeof(h->probes),
		 "tp_btf:sock/inet_sock_set_state raw_tp:tcp_retransmit_skb");
	snprintf(h->missing, sizeof(h->missing),
		 "udp-peers (no cgroup v2 mount): UDP traffic of unconnected sockets is summed per "
		 "socket, not per remote");
	h->clock_offset_ns = CLOCK_OFFSET;
	snprintf(h->clock, sizeof(h->clock), "boottime");
	h->start_ns = (uint64_t)CLOCK_OFFSET + 1000000000ull;
}

/*
 * The events here are made in the file's event clock (make_header()'s offset): the writer
 * takes wall time, and stores it less that offset.
 */
static int wadd(struct tt_fmt_writer *w, const struct tt_event *ev)
{
	struct tt_event e = *ev;

	e.ts_ns += (uint64_t)CLOCK_OFFSET;
	return tt_fmt_writer_add(w, &e);
}

static const char *const comms[] = {"iperf3", "nginx", "curl", "sshd", "a-very-long-comm"};

/* One realistic event of any kind: a few hundred connections over one process table. */
static void gen_event(uint64_t *s, uint64_t *ts, struct tt_event *ev)
{
	uint64_t r = rnd(s);
	unsigned conn = (unsigned)(r % 300);

	memset(ev, 0, sizeof(*ev));
	*ts += 200 + rnd(s) % 20000;
	ev->ts_ns = *ts - (rnd(s) % 16 == 0 ? rnd(s) % 5000 : 0); /* a little out of order */
	ev->conn_id = 0x1000 + conn * 7;
	ev->pid = 1000 + conn % 40;
	ev->tid = ev->pid + (r >> 20) % 3;
	unsigned k = (unsigned)((r >> 32) % 100);
	if (k < 60) {
		ev->kind = TT_EV_TRAFFIC;
		ev->flags = (r >> 40) & 1 ? TT_F_RAW : 0;
		if ((r >> 41) & 1) {
			ev->u.traffic.tx_bytes = rnd(s) % 70000;
			ev->u.traffic.tx_pkts = (uint32_t)(ev->u.traffic.tx_bytes / 1448);
			ev->u.traffic.tx_calls = 1;
		} else {
			ev->u.traffic.rx_bytes = rnd(s) % 70000;
			ev->u.traffic.rx_pkts = (uint32_t)(ev->u.traffic.rx_bytes / 1448);
			ev->u.traffic.rx_calls = 1 + (r >> 50) % 3;
		}
		return;
	}
	switch (k % 13) {
	case 0: {
		struct tt_ev_open *o = &ev->u.open;
		ev->kind = TT_EV_CONN_OPEN;
		ev->flags = (r >> 44) & 3;
		o->family = (r >> 46) & 1 ? TT_FAMILY_IPV6 : TT_FAMILY_IPV4;
		o->proto = (r >> 47) & 1 ? 17 : 6;
		o->direction = (r >> 48) % 3;
		o->state = o->proto == 6 ? 1 + (r >> 50) % 12 : 0;
		o->lport = (uint16_t)rnd(s);
		o->rport = (r >> 51) & 1 ? 443 : 5201;
		if (o->family == TT_FAMILY_IPV4) {
			uint8_t l[4] = {127, 0, 0, 1}, a[4] = {10, 0, (uint8_t)conn, 2};
			memcpy(o->laddr, l, 4);
			memcpy(o->raddr, a, 4);
		} else {
			for (int i = 0; i < 16; i++)
				o->laddr[i] = (uint8_t)rnd(s);
			o->raddr[15] = 1; /* ::1 */
		}
		o->netns = 4026531840u;
		o->cgroup_id = 1 + conn % 5;
		snprintf(o->comm, sizeof(o->comm), "%s", comms[conn % 5]);
		break;
	}
	case 1:
		ev->kind = TT_EV_STATE;
		ev->u.state.old_state = (uint8_t)(1 + r % 12);
		ev->u.state.new_state = (uint8_t)(1 + (r >> 8) % 12);
		break;
	case 2:
		ev->kind = TT_EV_RTT;
		ev->u.rtt.srtt_us = 20 + (uint32_t)(rnd(s) % 100000);
		ev->u.rtt.rttvar_us = (uint32_t)(rnd(s) % 5000);
		break;
	case 3:
		ev->kind = TT_EV_RETRANS;
		ev->u.retrans.segs = 1 + (uint32_t)(r % 4);
		ev->u.retrans.state = 1;
		break;
	case 4:
		ev->kind = TT_EV_RESET;
		ev->u.reset.dir = 1 + (r & 1);
		ev->u.reset.state = (uint8_t)(r % 13);
		break;
	case 5: {
		struct tt_ev_close *c = &ev->u.close;
		ev->kind = TT_EV_CONN_CLOSE;
		c->tx_bytes = rnd(s) % 10000000000ull;
		c->rx_bytes = rnd(s) % 1000000;
		c->tx_pkts = (uint32_t)(c->tx_bytes / 1448);
		c->rx_pkts = (uint32_t)(c->rx_bytes / 1448);
		c->srtt_us = (uint32_t)(rnd(s) % 100000);
		c->retrans = (uint32_t)(r % 7);
		c->state = 7;
		break;
	}
	case 6:
	case 7:
	case 8:
	case 9:
		ev->kind = (uint16_t)(TT_EV_CONN_PROC + k % 13 - 6);
		snprintf(ev->u.proc.comm, sizeof(ev->u.proc.comm), "%s", comms[r % 5]);
		ev->u.proc.ppid = 1 + (uint32_t)(r % 900);
		if (ev->kind == TT_EV_PROC_EXIT)
			ev->u.proc.exit_code = (int32_t)(r % 300) - 150;
		if (ev->kind != TT_EV_CONN_PROC)
			ev->conn_id = 0;
		break;
	case 10:
		ev->kind = TT_EV_LOST;
		ev->conn_id = ev->pid = ev->tid = 0;
		ev->u.lost.count = 1 + r % 100000;
		ev->u.lost.cpu = (uint32_t)(r % 2);
		break;
	default:
		ev->kind = TT_EV_STATS;
		ev->conn_id = ev->pid = ev->tid = 0;
		ev->u.stats.events = r % 100000000;
		ev->u.stats.lost = r % 1000;
		ev->u.stats.conns = r % 10000;
		ev->u.stats.bytes_out = r % 1000000000;
		break;
	}
}

static struct tt_event *gen_events(size_t n, uint64_t seed)
{
	struct tt_event *v = calloc(n, sizeof(*v));
	uint64_t ts = 5000000000ull;

	for (size_t i = 0; i < n; i++)
		gen_event(&seed, &ts, &v[i]);
	return v;
}

/* Every kind with its fields at edge values. */
static size_t edge_events(struct tt_event *v)
{
	size_t n = 0;
	struct tt_event *e;

	for (unsigned k = TT_EV_CONN_OPEN; k < TT_EV_KIND_MAX; k++) {
		if (!tt_kind_get(k)) /* a number reserved for a kind not in this build */
			continue;
		for (int max = 0; max < 2; max++) {
			e = &v[n++];
			memset(e, 0, sizeof(*e));
			e->kind = (uint16_t)k;
			e->ts_ns = max ? UINT64_MAX - (uint64_t)CLOCK_OFFSET : 0;
			e->conn_id = max ? UINT64_MAX : 0;
			e->pid = max ? UINT32_MAX : 0;
			e->tid = max ? 0 : UINT32_MAX;
			e->flags = max ? UINT16_MAX : 0;
			if (!max)
				continue;
			/* All ones, except comm (text) and the address bytes. */
			memset(&e->u, 0xff, sizeof(e->u));
			switch (k) {
			case TT_EV_CONN_OPEN:
				e->u.open.family = TT_FAMILY_IPV6;
				for (int i = 0; i < 16; i++) {
					e->u.open.laddr[i] = (uint8_t)(0x20 + i);
					e->u.open.raddr[i] = i == 15 ? 1 : 0;
				}
				memcpy(e->u.open.comm, "sixteen-chars-xx", 16); /* no NUL */
				e->u.open._pad = 0;
				break;
			case TT_EV_CONN_PROC:
			case TT_EV_PROC_EXEC:
			case TT_EV_PROC_EXIT:
			case TT_EV_PROC_NAME:
				memset(e->u.proc.comm, 0, sizeof(e->u.proc.comm));
				snprintf(e->u.proc.comm, sizeof(e->u.proc.comm),
					 "x\"\\\x01\xc3\xa9");
				e->u.proc.exit_code = INT32_MIN;
				break;
			case TT_EV_STATE: memset(e->u.state._pad, 0, 6); break;
			case TT_EV_RETRANS:
				memset(e->u.retrans._pad, 0, sizeof(e->u.retrans._pad));
				e->u.retrans.total = 0; /* not in the format */
				break;
			case TT_EV_RESET: memset(e->u.reset._pad, 0, 6); break;
			case TT_EV_CONN_CLOSE: memset(e->u.close._pad, 0, 6); break;
			case TT_EV_ACCEPT: e->u.accept._pad = 0; break;
			case TT_EV_LOST: e->u.lost._pad = 0; break;
			case TT_EV_DROP:
				e->u.drop._pad = 0;
				memset(e->u.drop.reason, 'R', TT_NAME_LEN); /* no NUL */
				break;
			case TT_EV_LISTENER:
				e->u.listener.family = TT_FAMILY_IPV6;
				e->u.listener._pad = 0;
				memcpy(e->u.listener.comm, "sixteen-chars-xx", 16);
				break;
			case TT_EV_SAMPLE: memset(e->u.sample._pad, 0, 3); break;
			case TT_EV_STALL: memset(e->u.stall._pad, 0, 6); break;
			default: break;
			}
			/* Bytes past the kind's union member are not stored. */
			size_t used = tt_event_size((uint16_t)k) - 32;
			memset((uint8_t *)&e->u + used, 0, sizeof(e->u) - used);
		}
	}
	/* Large jumps backwards and forwards between neighbours. */
	e = &v[n++];
	memset(e, 0, sizeof(*e));
	e->kind = TT_EV_RTT;
	e->ts_ns = 1;
	e->conn_id = 1;
	e->pid = 1;
	e->tid = UINT32_MAX;
	e->u.rtt.srtt_us = 1;
	return n;
}

static int write_events(const char *path, const struct tt_event *v, size_t n, uint32_t block_events,
			size_t flush_every, uint64_t *boundaries, size_t *nb)
{
	struct tt_fmt_header h;
	struct tt_fmt_wopts o = {.force = 1, .block_events = block_events};
	struct tt_fmt_writer *w;
	char err[256];
	int rc;

	make_header(&h, "raw");
	rc = tt_fmt_writer_open(&w, path, &h, &o, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	if (nb) {
		*nb = 0;
		boundaries[(*nb)++] = tt_fmt_writer_bytes(w);
	}
	for (size_t i = 0; i < n; i++) {
		rc = wadd(w, &v[i]);
		if (rc)
			break;
		if (flush_every && (i + 1) % flush_every == 0) {
			rc = tt_fmt_writer_flush(w);
			if (nb)
				boundaries[(*nb)++] = tt_fmt_writer_bytes(w);
		}
	}
	int rc2 = tt_fmt_writer_close(w);
	return rc ? rc : rc2;
}

static void quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* Reads all events; returns the count (or -errno), with warnings counted. */
static long read_events(const char *path, struct tt_event *out, size_t max, unsigned *warnings,
			char *lastwarn, size_t wl)
{
	struct tt_fmt_reader *r;
	char err[256];
	struct tt_event ev;
	long n = 0;
	int rc = tt_fmt_reader_open(&r, path, err, sizeof(err));

	if (rc)
		return rc;
	tt_fmt_reader_set_warn(r, quiet, NULL);
	while ((rc = tt_fmt_reader_next(r, &ev)) == 1) {
		if ((size_t)n < max)
			out[n] = ev;
		n++;
	}
	if (warnings)
		*warnings = tt_fmt_reader_warnings(r);
	if (lastwarn)
		snprintf(lastwarn, wl, "%s", tt_fmt_reader_last_warning(r));
	tt_fmt_reader_close(r);
	return rc < 0 ? rc : n;
}

static int ev_eq(const struct tt_event *orig, const struct tt_event *got)
{
	struct tt_event a = *orig;

	a.ts_ns += (uint64_t)CLOCK_OFFSET;
	return !memcmp(&a, got, sizeof(a));
}

/* Index of the first differing event, or n when got[0..n) == v[0..n). */
static size_t first_diff(const struct tt_event *v, const struct tt_event *got, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ev_eq(&v[i], &got[i]))
			return i;
	return n;
}

static char tmpdir[64];

static const char *tpath(const char *name)
{
	static char p[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
}

/* ------------------------------------------------------------ checks */

static void t_roundtrip(void)
{
	size_t n = 50000;
	struct tt_event *v = gen_events(n, 1), *got = calloc(n + 10, sizeof(*got));
	const char *p = tpath("rt.tt");

	int rc = write_events(p, v, n, 1000, 0, NULL, NULL);
	unsigned w;
	long m = read_events(p, got, n + 10, &w, NULL, 0);
	check(rc == 0 && m == (long)n, "roundtrip: count", "rc=%d read %ld of %zu", rc, m, n);
	size_t d = first_diff(v, got, n);
	check(m == (long)n && d == n, "roundtrip: every field of 50000 events of every kind",
	      "first difference at event %zu", d);
	check(w == 0, "roundtrip: no warnings", "%u warnings", w);

	struct tt_event e[64];
	size_t ne = edge_events(e);
	rc = write_events(p, e, ne, 7, 0, NULL, NULL);
	m = read_events(p, got, n, &w, NULL, 0);
	d = first_diff(e, got, ne);
	check(rc == 0 && m == (long)ne && d == ne && w == 0,
	      "roundtrip: edge values (0, max, IPv6, 16-byte comm, INT32_MIN)",
	      "rc=%d read %ld of %zu, first diff %zu, %u warnings", rc, m, ne, d, w);

	/* Kinds this reader does not know are skipped, the rest still read. */
	struct tt_event u[4];
	memset(u, 0, sizeof(u));
	u[0] = e[2];
	u[1].kind = 99;
	u[1].ts_ns = 5;
	u[2].kind = 0;
	u[3] = e[3];
	write_events(p, u, 4, 0, 0, NULL, NULL);
	char lw[512];
	m = read_events(p, got, n, &w, lw, sizeof(lw));
	check(m == 2 && ev_eq(&u[0], &got[0]) && ev_eq(&u[3], &got[1]),
	      "unknown event kinds skipped", "read %ld", m);
	check(w == 1 && strstr(lw, "does not know (capture format 1.1): 2 events of unknown kinds"),
	      "unknown event kinds: counted in one warning", "%u warnings, last: %s", w, lw);

	free(v);
	free(got);
}

/* Writes n events at times ts[] with the header's clock offset; 0 or -errno. */
static int write_at(const char *path, int64_t offset, const uint64_t *ts, size_t n)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_event ev;
	char err[256];
	int rc;

	make_header(&h, "raw");
	h.clock_offset_ns = offset;
	rc = tt_fmt_writer_open(&w, path, &h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err));
	if (rc)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_TRAFFIC;
	ev.conn_id = 4096;
	for (size_t i = 0; i < n && !rc; i++) {
		ev.ts_ns = ts[i];
		ev.u.traffic.tx_bytes = i;
		rc = tt_fmt_writer_add(w, &ev);
	}
	return rc ? rc : tt_fmt_writer_close(w);
}

/*
 * One time above the file: the writer takes wall time and the reader gives the same back. The
 * file holds it in the header's event clock (wall - clock_offset_ns, modulo 2^64), as before:
 * a file written at offset 0 with those stored times differs only in the header's offset.
 */
static void t_wall_clock(void)
{
	const char *a = tpath("wall.tt"), *b = tpath("stored.tt");
	uint64_t wall[4], stored[4], got[4] = {0}, first = 0, last = 0;
	struct tt_fmt_reader *r;
	struct tt_event ev;
	char err[256];
	size_t la = 0, lb = 0, n = 0, diff = 0;

	for (size_t i = 0; i < 4; i++) {
		wall[i] = (uint64_t)CLOCK_OFFSET + 5000000000ull + i * 1000000123ull;
		stored[i] = wall[i] - (uint64_t)CLOCK_OFFSET;
	}
	wall[3] = 7; /* before the offset: stored modulo 2^64, read back as it was */
	stored[3] = 7 - (uint64_t)CLOCK_OFFSET;
	check(write_at(a, CLOCK_OFFSET, wall, 4) == 0 && write_at(b, 0, stored, 4) == 0,
	      "wall clock: written", NULL);
	if (tt_fmt_reader_open(&r, a, err, sizeof(err)) == 0) {
		while (n < 4 && tt_fmt_reader_next(r, &ev) == 1)
			got[n++] = ev.ts_ns;
		tt_fmt_reader_close(r);
	}
	check(n == 4 && !memcmp(got, wall, sizeof(wall)),
	      "wall clock: the reader gives back the wall time the writer took",
	      "%zu events, first %" PRIu64 " for %" PRIu64 " (+%" PRId64 ")", n, got[0], wall[0],
	      CLOCK_OFFSET);
	uint8_t *x = slurp(a, &la), *y = slurp(b, &lb);
	for (size_t i = 0; x && y && i < la && i < lb; i++)
		diff += x[i] != y[i];
	check(x && y && la == lb && diff <= 12,
	      "wall clock: the file holds wall - clock_offset_ns (only the header's offset and CRC "
	      "differ "
	      "from a file of those times at offset 0)",
	      "%zu and %zu bytes, %zu differ", la, lb, diff);
	free(x);
	free(y);
	wall[3] = wall[2] + 1;
	write_at(a, CLOCK_OFFSET, wall, 4);
	if (tt_fmt_reader_open(&r, a, err, sizeof(err)) == 0) {
		int rc = tt_fmt_reader_time_range(r, &first, &last);

		check(rc == 0 && first == wall[0] && last == wall[3],
		      "wall clock: the time range is in wall time", "%" PRIu64 "..%" PRIu64, first,
		      last);
		tt_fmt_reader_close(r);
	}
}

static void t_header(void)
{
	struct tt_fmt_header h, *g;
	struct tt_fmt_writer *w;
	struct tt_fmt_reader *r;
	char err[256];
	const char *p = tpath("hdr.tt");

	make_header(&h, "coalesce");
	memset(h.hostname, 'h', sizeof(h.hostname) - 1);
	memset(h.probes, 'p', sizeof(h.probes) - 1);
	h.clock_offset_ns = -123456789012345ll;
	h.start_ns = UINT64_MAX;
	h.coalesce_ms = UINT32_MAX;
	h.raw_slice_ns = UINT64_MAX - 1;
	int rc =
	    tt_fmt_writer_open(&w, p, &h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err));
	check(rc == 0, "header: writer open", "%s", err);
	tt_fmt_writer_close(w);
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == 0, "header: reader open", "%s", err);
	if (rc)
		return;
	g = (struct tt_fmt_header *)tt_fmt_reader_header(r);
	h.version_major = TT_FMT_VERSION_MAJOR;
	h.version_minor = TT_FMT_VERSION_MINOR;
	check(!memcmp(&h, g, sizeof(h)), "header: every field round trips", "%s/%s/%" PRId64,
	      g->mode, g->clock, g->clock_offset_ns);
	struct tt_event ev;
	check(tt_fmt_reader_next(r, &ev) == 0 && tt_fmt_reader_warnings(r) == 0,
	      "empty capture: no events, no warnings", "%s", tt_fmt_reader_last_warning(r));
	uint64_t a = 1, b = 1;
	check(tt_fmt_reader_time_range(r, &a, &b) == 0 && a == 0 && b == 0,
	      "empty capture: time range 0", NULL);
	tt_fmt_reader_close(r);
}

static void t_seek(void)
{
	size_t n = 20000;
	struct tt_event *v = gen_events(n, 7), ev;
	struct tt_fmt_pos *pos = calloc(n + 1, sizeof(*pos));
	struct tt_fmt_reader *r;
	char err[256];
	const char *p = tpath("seek.tt");

	write_events(p, v, n, 512, 3000, NULL, NULL);
	tt_fmt_reader_open(&r, p, err, sizeof(err));
	size_t i = 0;
	int bad = 0;
	while (i <= n) {
		if (tt_fmt_reader_tell(r, &pos[i]))
			bad++;
		if (tt_fmt_reader_next(r, &ev) != 1)
			break;
		i++;
	}
	check(i == n && !bad, "tell at every event", "%zu events, %d failures", i, bad);
	uint64_t s = 3;
	bad = 0;
	for (int k = 0; k < 2000; k++) {
		size_t j = rnd(&s) % (n + 1);
		int rc = tt_fmt_reader_seek(r, &pos[j]);
		int got = tt_fmt_reader_next(r, &ev);
		if (rc || (j < n && (got != 1 || !ev_eq(&v[j], &ev))) || (j == n && got != 0))
			bad++;
	}
	check(!bad, "seek to 2000 random told positions gives exactly that event", "%d wrong", bad);
	struct tt_fmt_pos junk = {pos[1].block_offset + 3, 1};
	check(tt_fmt_reader_seek(r, &junk) == -EINVAL, "seek to a bad position: -EINVAL", NULL);
	tt_fmt_reader_close(r);

	/* seek_time and time_range, with the index and without it (cut off). */
	uint64_t mn = UINT64_MAX, mx = 0;
	for (size_t j = 0; j < n; j++) {
		mn = v[j].ts_ns < mn ? v[j].ts_ns : mn;
		mx = v[j].ts_ns > mx ? v[j].ts_ns : mx;
	}
	size_t len;
	uint8_t *b = slurp(p, &len);
	uint64_t end_len = 0, idx_len = 0;
	memcpy(&end_len, b + len - 4, 4);
	memcpy(&idx_len, b + len - end_len - 4, 4);
	const char *q = tpath("seek-noindex.tt");
	spit(q, b, len - end_len - idx_len);
	free(b);
	for (int pass = 0; pass < 2; pass++) {
		const char *f = pass ? q : p;
		const char *what = pass ? "without index" : "with index";
		char name[96];
		tt_fmt_reader_open(&r, f, err, sizeof(err));
		uint64_t a, z;
		int rc = tt_fmt_reader_time_range(r, &a, &z);
		snprintf(name, sizeof(name), "time_range %s", what);
		check(rc == 0 && a == mn + (uint64_t)CLOCK_OFFSET &&
			  z == mx + (uint64_t)CLOCK_OFFSET,
		      name, "rc=%d %" PRIu64 "..%" PRIu64, rc, a, z);
		bad = 0;
		for (int k = 0; k < 300; k++) {
			uint64_t t = mn + rnd(&s) % (mx - mn + 2000) + (uint64_t)CLOCK_OFFSET;
			if (k == 0)
				t = 0;
			rc = tt_fmt_reader_seek_time(r, t);
			/* Every event at or after t must come after the seek point. */
			size_t need = 0;
			while (need < n && v[need].ts_ns + (uint64_t)CLOCK_OFFSET < t)
				need++;
			/* ...and the first event read starts a block holding events >= t. */
			int got = tt_fmt_reader_next(r, &ev);
			size_t first = n;
			if (got == 1)
				for (first = 0; first < n && !ev_eq(&v[first], &ev); first++)
					;
			int ok = rc == 0 && (need == n ? got == 0 || first < n : first <= need);
			if (ok && need < n && first < n) {
				/* Nothing skipped between the block start and need: read on. */
				size_t j = first + 1;
				while (j <= need && tt_fmt_reader_next(r, &ev) == 1 &&
				       ev_eq(&v[j], &ev))
					j++;
				ok = j > need && need - first <= 3000;
			}
			bad += !ok;
		}
		snprintf(name, sizeof(name), "seek_time %s (300 random times)", what);
		check(!bad, name, "%d wrong", bad);
		tt_fmt_reader_close(r);
	}
	free(v);
	free(pos);
}

static void t_truncation(void)
{
	size_t n = 300, nb;
	uint64_t bounds[64];
	struct tt_event *v = gen_events(n, 11), *got = calloc(n, sizeof(*got));
	const char *p = tpath("trunc.tt"), *q = tpath("trunc-cut.tt");

	write_events(p, v, n, 0, 50, bounds, &nb);
	size_t len;
	uint8_t *b = slurp(p, &len);
	int bad = 0, badwarn = 0, badopen = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		spit(q, b, cut);
		unsigned w;
		char lw[256];
		long m = read_events(q, got, n, &w, lw, sizeof(lw));
		if (cut < bounds[0]) {
			badopen += !(m == -EINVAL || m == -EIO);
			continue;
		}
		/* Exactly the events of the blocks wholly inside the cut. */
		size_t whole = 0;
		int at_boundary = cut >= len - 100; /* index and end blocks */
		for (size_t k = 0; k < nb; k++) {
			if (bounds[k] <= cut)
				whole = k * 50;
			at_boundary |= bounds[k] == cut;
		}
		if (cut == len)
			whole = n;
		if (m != (long)whole || first_diff(v, got, whole) != whole)
			bad++;
		if (!at_boundary && (w == 0 || !strstr(lw, "truncated")))
			badwarn++;
	}
	check(!badopen, "truncated inside the header: open fails with -EINVAL/-EIO", "%d", badopen);
	check(!bad, "truncation at every byte offset: events are the complete blocks",
	      "%d cuts wrong", bad);
	check(!badwarn, "truncation mid-block warns 'truncated'", "%d cuts without", badwarn);

	/* A killed recorder: flushed blocks, no index, no end block. */
	unsigned w;
	char lw[256];
	spit(q, b, bounds[3]);
	long m = read_events(q, got, n, &w, lw, sizeof(lw));
	check(m == 150 && w == 1 && strstr(lw, "no end block"),
	      "interrupted capture: flushed events read, 'no end block' warning", "%ld, %s", m, lw);
	free(b);
	free(v);
	free(got);
}

static void t_damage(void)
{
	size_t n = 300, nb;
	uint64_t bounds[64];
	struct tt_event *v = gen_events(n, 13), *got = calloc(n, sizeof(*got));
	const char *p = tpath("dmg.tt"), *q = tpath("dmg-flip.tt");

	write_events(p, v, n, 0, 50, bounds, &nb);
	size_t len;
	uint8_t *b = slurp(p, &len);

	/* Flip one byte in the third events block: CRC warning, the others read. */
	b[bounds[2] + 40] ^= 0x55;
	spit(q, b, len);
	b[bounds[2] + 40] ^= 0x55;
	unsigned w;
	char lw[256];
	long m = read_events(q, got, n, &w, lw, sizeof(lw));
	int ok = m == 250 && first_diff(v, got, 100) == 100 &&
		 first_diff(v + 150, got + 100, 150) == 150;
	check(ok && w == 1 && strstr(lw, "CRC mismatch"),
	      "flipped byte: CRC warning, block skipped, later blocks read", "%ld events, %s", m,
	      lw);

	/* Every byte of the data area flipped in turn: never more than one block lost. */
	int bad = 0, nowarn = 0;
	for (size_t i = bounds[0]; i < len; i++) {
		b[i] ^= 0xff;
		spit(q, b, len);
		b[i] ^= 0xff;
		m = read_events(q, got, n, &w, NULL, 0);
		/* Events read must be the originals in order, minus at most one block. */
		size_t j = 0;
		for (long k = 0; k < m; k++) {
			while (j < n && !ev_eq(&v[j], &got[k]))
				j++;
			if (j == n)
				break;
			j++;
		}
		if (m < (long)(n - 50) || j == n + 1 || (m > 0 && j > n))
			bad++;
		nowarn += w == 0;
	}
	check(!bad, "any one byte flipped: a subsequence missing at most one block", "%d", bad);
	check(!nowarn, "any one byte flipped: a warning", "%d silent", nowarn);

	/* An unknown block type (and a SNAPSHOT) between blocks is skipped. */
	uint8_t blk[2][28];
	for (int t = 0; t < 2; t++) {
		uint8_t *k = blk[t];
		memcpy(k, "TTBK", 4);
		k[4] = t ? 5 : 77, k[5] = 0, k[6] = k[7] = 0;
		k[8] = 8, k[9] = k[10] = k[11] = 0;
		memcpy(k + 16, "8 bytes!", 8);
		uint32_t crc = (uint32_t)crc32(crc32(0, k + 4, 8), k + 16, 8);
		for (int i = 0; i < 4; i++)
			k[12 + i] = (uint8_t)(crc >> (8 * i));
		k[24] = 28, k[25] = k[26] = k[27] = 0;
	}
	FILE *f = fopen(q, "wb");
	fwrite(b, 1, bounds[1], f);
	fwrite(blk[0], 1, 28, f);
	fwrite(blk[1], 1, 28, f);
	fwrite(b + bounds[1], 1, bounds[nb - 1] - bounds[1], f);
	fclose(f);
	m = read_events(q, got, n, &w, lw, sizeof(lw));
	/* the unknown type counted in one warning (SNAPSHOT is known), then the missing END */
	check(m == (long)n && first_diff(v, got, n) == n && w == 2 && strstr(lw, "no end block"),
	      "unknown block type and SNAPSHOT skipped", "%ld events, %u warnings: %s", m, w, lw);
	free(b);
	free(v);
	free(got);
}

static void t_bad_files(void)
{
	const char *p = tpath("bad.tt"), *q = tpath("good.tt");
	struct tt_fmt_reader *r;
	char err[256];
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_RTT;
	write_events(q, &ev, 1, 0, 0, NULL, NULL);
	size_t len;
	uint8_t *b = slurp(q, &len);

	spit(p, (const uint8_t *)"hello, world\nthis is text\n", 26);
	int rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == -EINVAL && strstr(err, "not a tcptop capture"), "text file: -EINVAL", "%d %s",
	      rc, err);
	spit(p, b, 0);
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == -EINVAL && strstr(err, "not a tcptop capture"), "empty file: -EINVAL", "%d",
	      rc);
	b[8] = 2; /* major 2, minor 0 */
	b[10] = 0;
	spit(p, b, len);
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == -EPROTONOSUPPORT && strstr(err, "version 2.0"),
	      "newer major version: -EPROTONOSUPPORT", "%d %s", rc, err);
	b[8] = 1;
	b[10] = 9; /* minor 9: fine */
	spit(p, b, len);
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == 0 && tt_fmt_reader_next(r, &ev) == 1, "newer minor version: read", "%s", err);
	tt_fmt_reader_close(r);
	b[10] = 0;
	b[30] ^= 1; /* inside the header block */
	spit(p, b, len);
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	check(rc == -EIO && strstr(err, "damaged capture header"), "damaged header: -EIO", "%d %s",
	      rc, err);
	rc = tt_fmt_reader_open(&r, tpath("does-not-exist.tt"), err, sizeof(err));
	check(rc == -ENOENT, "missing file: -ENOENT", "%d", rc);
	free(b);
}

static void t_files(void)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	char err[256];
	struct stat st;
	const char *p = tpath("mode.tt"), *l = tpath("link.tt"), *t = tpath("target");

	make_header(&h, "raw");
	mode_t old = umask(0);
	unlink(p);
	int rc = tt_fmt_writer_open(&w, p, &h, NULL, err, sizeof(err));
	tt_fmt_writer_close(w);
	umask(old);
	check(rc == 0 && stat(p, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "created 0600 under umask 0", "%o", st.st_mode & 0777);
	rc = tt_fmt_writer_open(&w, p, &h, NULL, err, sizeof(err));
	check(rc == -EEXIST && strstr(err, "exists"), "existing file: -EEXIST without force", "%d",
	      rc);
	chmod(p, 0644);
	rc = tt_fmt_writer_open(&w, p, &h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err));
	tt_fmt_writer_close(w);
	check(rc == 0 && stat(p, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "force replaces, and makes it 0600", "%d %o", rc, st.st_mode & 0777);
	spit(t, (const uint8_t *)"keep", 4);
	unlink(l);
	if (symlink(t, l) == 0) {
		rc = tt_fmt_writer_open(&w, l, &h, &(struct tt_fmt_wopts){.force = 1}, err,
					sizeof(err));
		check(rc == -ELOOP && stat(t, &st) == 0 && st.st_size == 4,
		      "never writes through a symlink, even with force", "%d", rc);
	}

	/* Reading from a pipe: sequential, no seeking. */
	size_t n = 5000;
	struct tt_event *v = gen_events(n, 17), ev;
	write_events(p, v, n, 1000, 0, NULL, NULL);
	int fds[2];
	if (pipe(fds))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		size_t len;
		uint8_t *b = slurp(p, &len);
		for (size_t o = 0; o < len;) {
			ssize_t k = write(fds[1], b + o, len - o > 777 ? 777 : len - o);
			if (k <= 0)
				_exit(1);
			o += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	struct tt_fmt_reader *r;
	rc = tt_fmt_reader_open_fd(&r, fds[0], "pipe", err, sizeof(err));
	size_t m = 0;
	int same = 1;
	struct tt_fmt_pos pos;
	while (rc == 0 && tt_fmt_reader_next(r, &ev) == 1) {
		same &= m < n && ev_eq(&v[m], &ev);
		m++;
	}
	check(rc == 0 && m == n && same && tt_fmt_reader_warnings(r) == 0, "read from a pipe",
	      "%zu events", m);
	check(rc == 0 && tt_fmt_reader_tell(r, &pos) == -ESPIPE &&
		  tt_fmt_reader_seek_time(r, 0) == -ESPIPE,
	      "pipe: tell/seek_time give -ESPIPE", NULL);
	tt_fmt_reader_close(r);
	waitpid(pid, NULL, 0);
	free(v);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/*
 * The END block at the end of b[0..len) and the index it names, checked from FORMAT.md alone:
 * the INDEX block at its offset from byte 0 of the file, every entry at an EVENTS block of its
 * count. Returns the number of entries, or -1 with *why.
 */
static long index_of(const uint8_t *b, size_t len, const char **why)
{
	uint64_t ioff = UINT64_MAX;
	size_t elen = len >= 4 ? le32(b + len - 4) : 0, eoff = len - elen;

	if (elen < 20 || elen > len || le32(b + eoff) != 0x4b425454u ||
	    (b[eoff + 4] | b[eoff + 5] << 8) != 4)
		return *why = "no END block at the end", -1;
	for (size_t p = eoff + 16; p + 4 <= len - 4;) {
		unsigned tag = b[p] | b[p + 1] << 8, l = b[p + 2] | b[p + 3] << 8;

		if (tag == 3 && l == 8)
			ioff = le64(b + p + 4);
		p += 4 + l;
	}
	if (ioff == UINT64_MAX || ioff + 20 > len || le32(b + ioff) != 0x4b425454u ||
	    (b[ioff + 4] | b[ioff + 5] << 8) != 3)
		return *why = "the END block's index_offset is not an INDEX block", -1;
	uint32_t k = le32(b + ioff + 16);
	for (uint32_t i = 0; i < k; i++) {
		const uint8_t *e = b + ioff + 20 + 28 * (size_t)i;
		uint64_t off = le64(e);

		if (off + 40 > len || le32(b + off) != 0x4b425454u ||
		    (b[off + 4] | b[off + 5] << 8) != 2 || le32(b + off + 16) != le32(e + 8))
			return *why = "an index entry is not at an EVENTS block of its count", -1;
	}
	*why = "";
	return k;
}

/*
 * A capture appended to a non-empty file (tcptop-replay -o - >> file, or the recorder's
 * -o - there): its offsets are from the start of the file, as the format says, not from
 * where the capture began.
 */
static void t_append(void)
{
	const char *p = tpath("append.tt");
	size_t na = 3000, nb = 5000, len;
	struct tt_event *a = gen_events(na, 21), *b = gen_events(nb, 22);
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_fmt_reader *r;
	char err[256];
	const char *why;
	uint64_t first, last;
	long k;
	int rc, fd;

	write_events(p, a, na, 1000, 0, NULL, NULL);
	uint8_t *buf = slurp(p, &len);

	k = index_of(buf, len, &why);
	check(k == 3, "append: the first capture's index is right", "%ld %s", k, why);
	free(buf);
	for (size_t i = 0; i < nb; i++)
		b[i].ts_ns += 1000000000000ull; /* after a's events */
	make_header(&h, "raw");
	fd = open(p, O_WRONLY | O_APPEND);
	rc = tt_fmt_writer_open_fd(&w, fd, &h, &(struct tt_fmt_wopts){.block_events = 700}, err,
				   sizeof(err));
	for (size_t i = 0; !rc && i < nb; i++)
		rc = wadd(w, &b[i]);
	rc = rc ? rc : tt_fmt_writer_close(w);
	buf = slurp(p, &len);
	k = index_of(buf, len, &why);
	check(rc == 0 && k == 8,
	      "append (O_APPEND) to a 1-capture file: END names the INDEX by its file offset, "
	      "the entries name the EVENTS blocks",
	      "rc=%d, %ld entries: %s", rc, k, why);
	free(buf);

	/* The same through an fd positioned by lseek, without O_APPEND. */
	fd = open(p, O_WRONLY);
	lseek(fd, (off_t)len, SEEK_SET);
	rc = tt_fmt_writer_open_fd(&w, fd, &h, NULL, err, sizeof(err));
	for (size_t i = 0; !rc && i < 100; i++)
		rc = wadd(w, &b[nb - 100 + i]);
	rc = rc ? rc : tt_fmt_writer_close(w);
	buf = slurp(p, &len);
	k = index_of(buf, len, &why);
	check(rc == 0 && k == 1, "written at an offset: the index names its blocks", "%ld %s", k,
	      why);
	free(buf);

	/*
	 * The reader reads the three captures as one, and its time range is the whole file's:
	 * the last capture's index covers only the last capture, so it is not used for the file.
	 */
	rc = tt_fmt_reader_open(&r, p, err, sizeof(err));
	tt_fmt_reader_set_warn(r, quiet, NULL);
	first = last = 0;
	if (!rc)
		rc = tt_fmt_reader_time_range(r, &first, &last);
	{
		uint64_t a0 = UINT64_MAX, b1 = 0;

		for (size_t i = 0; i < na; i++)
			a0 = a[i].ts_ns < a0 ? a[i].ts_ns : a0;
		for (size_t i = 0; i < nb; i++)
			b1 = b[i].ts_ns > b1 ? b[i].ts_ns : b1;
		check(rc == 0 && first == a0 + (uint64_t)CLOCK_OFFSET &&
			  last == b1 + (uint64_t)CLOCK_OFFSET,
		      "appended captures: the time range is the whole file's", "rc=%d", rc);
	}
	tt_fmt_reader_close(r);
	long m = read_events(p, NULL, 0, NULL, NULL, 0);
	check(m == (long)(na + nb + 100), "appended captures: every event is read", "%ld", m);
	free(a);
	free(b);
}

/* In a child, so the parent's arrays do not count: 10M events, bounded memory. */
static void t_big(void)
{
	const char *p = tpath("big.tt");
	int fds[2];

	if (pipe(fds))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		struct tt_fmt_header h;
		struct tt_fmt_writer *w;
		struct tt_fmt_reader *r;
		char err[256];
		struct tt_event ev, e;
		uint64_t s = 99, ts = 1;
		long bad = 0, n = 0;
		const long N = 10000000;

		make_header(&h, "raw");
		if (tt_fmt_writer_open(&w, p, &h, &(struct tt_fmt_wopts){.force = 1}, err,
				       sizeof(err)))
			_exit(3);
		memset(&ev, 0, sizeof(ev));
		ev.kind = TT_EV_TRAFFIC;
		for (long i = 0; i < N; i++) {
			ts += 500 + rnd(&s) % 2500;
			ev.ts_ns = ts;
			ev.conn_id = 4096 + (i & 1);
			ev.u.traffic.tx_bytes = (i & 1) ? 100 : 0;
			ev.u.traffic.rx_bytes = (i & 1) ? 0 : 100;
			if (wadd(w, &ev))
				_exit(4);
		}
		if (tt_fmt_writer_close(w))
			_exit(5);
		if (tt_fmt_reader_open(&r, p, err, sizeof(err)))
			_exit(6);
		s = 99, ts = 1;
		while (tt_fmt_reader_next(r, &e) == 1) {
			ts += 500 + rnd(&s) % 2500;
			bad += e.ts_ns != ts + (uint64_t)CLOCK_OFFSET ||
			       e.conn_id != 4096u + (uint64_t)(n & 1) ||
			       e.u.traffic.tx_bytes != ((n & 1) ? 100u : 0u);
			n++;
		}
		tt_fmt_reader_close(r);
		dprintf(fds[1], "%ld %ld", n, bad);
		_exit(0);
	}
	close(fds[1]);
	struct rusage ru;
	int status;
	char buf[64] = "";
	ssize_t k = read(fds[0], buf, sizeof(buf) - 1);
	buf[k > 0 ? k : 0] = 0;
	close(fds[0]);
	wait4(pid, &status, 0, &ru);
	long n = -1, bad = -1;
	sscanf(buf, "%ld %ld", &n, &bad);
	struct stat st;
	stat(p, &st);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 10000000 && bad == 0,
	      "10M events written and read back", "status %d, %ld events, %ld wrong", status, n,
	      bad);
#ifdef __SANITIZE_ADDRESS__
	long limit_mb = 256; /* shadow memory and quarantine of ASan builds */
#else
	long limit_mb = 64;
#endif
	check(ru.ru_maxrss < limit_mb * 1024, "10M events: bounded peak RSS",
	      "%ld KB, limit %ld MB", ru.ru_maxrss, limit_mb);
	printf("# 10M raw traffic events: %.2f bytes/event, peak RSS %ld KB\n",
	       (double)st.st_size / 1e7, ru.ru_maxrss);
	unlink(p);
}

static void t_names(void)
{
	check(!strcmp(tt_fmt_kind_name(TT_EV_TRAFFIC), "traffic") &&
		  !strcmp(tt_fmt_kind_name(0), "unknown") &&
		  !strcmp(tt_fmt_kind_name(999), "unknown"),
	      "kind names", NULL);
}

/* ASan keeps freed memory in its quarantine and the shadow of what was written: the process's
 * resident memory says nothing of the writer's there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

/* The process's resident memory in bytes (/proc/self/statm), or 0. */
static uint64_t rss_bytes(void)
{
	unsigned long size, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * A burst's block (65 536 opens: a recorder started beside as many connections) takes MBs of
 * stream and scratch buffers; once blocks are small again the writer gives them back, where
 * realloc'd buffers stayed (the recorder at 100 000 connections, docs/BENCHMARKS.md). The file
 * reads back whole.
 */
static void t_burst_memory(void)
{
	const char *path = tpath("burst.tt");
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_fmt_reader *r;
	struct tt_event ev;
	uint64_t before, burst, after, n = 0, want = 65536 + 50 * 10;
	char err[256];
	int rc;

	make_header(&h, "coalesce");
	rc = tt_fmt_writer_open(&w, path, &h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err));
	check(rc == 0, "burst: writer open", "%s", err);
	if (rc)
		return;
	before = rss_bytes();
	for (uint32_t i = 0; i < 65536; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = TT_EV_CONN_OPEN;
		ev.ts_ns = 7000000000ull + i * 1000ull;
		ev.conn_id = 0x100000 + (uint64_t)i * 7919;
		ev.pid = ev.tid = 1000 + i;
		ev.u.open.family = 6;
		ev.u.open.proto = 6;
		for (int k = 0; k < 16; k++) {
			ev.u.open.laddr[k] = (uint8_t)(i >> (k % 4 * 8)) ^ (uint8_t)(k * 37);
			ev.u.open.raddr[k] = (uint8_t)(i * 13 >> (k % 4 * 8)) ^ (uint8_t)k;
		}
		ev.u.open.lport = (uint16_t)i;
		ev.u.open.rport = (uint16_t)(i * 31);
		snprintf(ev.u.open.comm, TT_COMM_LEN, "p%u", i);
		rc |= tt_fmt_writer_add(w, &ev); /* the 65 536th fills the block: flushed */
	}
	burst = rss_bytes();
	for (int b = 0; b < 50 && !rc; b++) {
		for (int i = 0; i < 10; i++) {
			memset(&ev, 0, sizeof(ev));
			ev.kind = TT_EV_TRAFFIC;
			ev.ts_ns = 8000000000ull + (uint64_t)b * 1000000000ull + (uint64_t)i;
			ev.conn_id = 0x100000 + (uint64_t)i * 7919;
			ev.u.traffic.tx_bytes = (uint64_t)b * i;
			rc |= tt_fmt_writer_add(w, &ev);
		}
		rc |= tt_fmt_writer_flush(w);
	}
	after = rss_bytes();
	rc |= tt_fmt_writer_close(w);
	check(rc == 0, "burst: 65 536 opens, then 50 blocks of 10 events written", "rc=%d", rc);
	if (RSS_MEANINGFUL) {
		check(burst > before + (4u << 20), "burst: the opens' block took MBs", "%.1f MB",
		      (double)(burst - before) / (1 << 20));
		check(after < before + (1u << 20), "burst: given back once blocks are small",
		      "%.1f MB above the start, %.1f MB at the burst",
		      ((double)after - (double)before) / (1 << 20),
		      (double)(burst - before) / (1 << 20));
	} else {
		printf("ok - burst: memory not measured under ASan (%.1f MB at the burst)\n",
		       (double)(burst - before) / (1 << 20));
	}
	rc = tt_fmt_reader_open(&r, path, err, sizeof(err));
	check(rc == 0, "burst: reader open", "%s", err);
	if (rc)
		return;
	while (tt_fmt_reader_next(r, &ev) == 1)
		n++;
	check(n == want, "burst: every event read back", "%llu of %llu", (unsigned long long)n,
	      (unsigned long long)want);
	tt_fmt_reader_close(r);
}

static int run_checks(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_format.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t_names();
	t_roundtrip();
	t_header();
	t_wall_clock();
	t_seek();
	t_truncation();
	t_damage();
	t_bad_files();
	t_files();
	t_append();
	t_big();
	t_burst_memory();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ gen / dump */

static int cmd_gen(const char *out, size_t n)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	char err[256];
	uint64_t s = 2026, ts = 7000000000ull;
	struct tt_event ev;

	make_header(&h, "raw");
	int rc = tt_fmt_writer_open(&w, out, &h,
				    &(struct tt_fmt_wopts){.force = 1, .block_events = 2000}, err,
				    sizeof(err));
	if (rc) {
		fprintf(stderr, "test_format: %s\n", err);
		return 1;
	}
	struct tt_event e[64];
	size_t ne = edge_events(e);
	for (size_t i = 0; i < ne && i < n; i++)
		rc |= wadd(w, &e[i]);
	for (size_t i = ne; i < n; i++) {
		gen_event(&s, &ts, &ev);
		rc |= wadd(w, &ev);
		if (i % 777 == 0)
			rc |= tt_fmt_writer_flush(w);
	}
	rc |= tt_fmt_writer_close(w);
	return rc ? 1 : 0;
}

static void json_str(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_hex(const uint8_t *b, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	putchar('"');
}

#define U(name, v) printf(",\"" name "\":%" PRIu64, (uint64_t)(v))

static void dump_event(const struct tt_event *e)
{
	printf("{\"ts\":%" PRIu64 ",\"conn_id\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"kind\":%u,"
	       "\"flags\":%u",
	       (uint64_t)e->ts_ns, (uint64_t)e->conn_id, e->pid, e->tid, e->kind, e->flags);
	switch (e->kind) {
	case TT_EV_CONN_OPEN: {
		const struct tt_ev_open *o = &e->u.open;
		printf(",\"laddr\":");
		json_hex(o->laddr, 16);
		printf(",\"raddr\":");
		json_hex(o->raddr, 16);
		U("lport", o->lport);
		U("rport", o->rport);
		U("family", o->family);
		U("proto", o->proto);
		U("direction", o->direction);
		U("state", o->state);
		U("netns", o->netns);
		U("cgroup_id", o->cgroup_id);
		printf(",\"comm\":");
		json_str(o->comm, TT_COMM_LEN);
		break;
	}
	case TT_EV_TRAFFIC:
		U("tx_bytes", e->u.traffic.tx_bytes);
		U("rx_bytes", e->u.traffic.rx_bytes);
		U("tx_pkts", e->u.traffic.tx_pkts);
		U("rx_pkts", e->u.traffic.rx_pkts);
		U("tx_calls", e->u.traffic.tx_calls);
		U("rx_calls", e->u.traffic.rx_calls);
		break;
	case TT_EV_STATE:
		U("old_state", e->u.state.old_state);
		U("new_state", e->u.state.new_state);
		break;
	case TT_EV_RTT:
		U("srtt_us", e->u.rtt.srtt_us);
		U("rttvar_us", e->u.rtt.rttvar_us);
		break;
	case TT_EV_RETRANS:
		U("segs", e->u.retrans.segs);
		U("state", e->u.retrans.state);
		U("cause", e->u.retrans.cause);
		U("spurious", e->u.retrans.spurious);
		break;
	case TT_EV_RESET:
		U("dir", e->u.reset.dir);
		U("state", e->u.reset.state);
		break;
	case TT_EV_CONN_CLOSE:
		U("tx_bytes", e->u.close.tx_bytes);
		U("rx_bytes", e->u.close.rx_bytes);
		U("tx_pkts", e->u.close.tx_pkts);
		U("rx_pkts", e->u.close.rx_pkts);
		U("srtt_us", e->u.close.srtt_us);
		U("retrans", e->u.close.retrans);
		U("state", e->u.close.state);
		U("fail_reason", e->u.close.fail_reason);
		break;
	case TT_EV_HANDSHAKE:
		U("connect_us", e->u.handshake.connect_us);
		U("syn_retrans", e->u.handshake.syn_retrans);
		break;
	case TT_EV_ACCEPT: U("wait_us", e->u.accept.wait_us); break;
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		printf(",\"comm\":");
		json_str(e->u.proc.comm, TT_COMM_LEN);
		U("ppid", e->u.proc.ppid);
		printf(",\"exit_code\":%d", e->u.proc.exit_code);
		break;
	case TT_EV_LOST:
		U("count", e->u.lost.count);
		U("cpu", e->u.lost.cpu);
		break;
	case TT_EV_STATS:
		U("events", e->u.stats.events);
		U("lost", e->u.stats.lost);
		U("conns", e->u.stats.conns);
		U("bytes_out", e->u.stats.bytes_out);
		break;
	case TT_EV_DROP:
		printf(",\"reason\":");
		json_str(e->u.drop.reason, TT_NAME_LEN);
		U("code", e->u.drop.code);
		break;
	case TT_EV_LISTENER:
		U("family", e->u.listener.family);
		U("lport", e->u.listener.lport);
		U("netns", e->u.listener.netns);
		U("accept_queue", e->u.listener.accept_queue);
		U("accept_queue_max", e->u.listener.accept_queue_max);
		U("drops", e->u.listener.drops);
		printf(",\"laddr\":");
		json_hex(e->u.listener.laddr, 16);
		printf(",\"comm\":");
		json_str(e->u.listener.comm, TT_COMM_LEN);
		break;
	case TT_EV_SAMPLE: {
		const struct tt_ev_sample *x = &e->u.sample;

		U("srtt_us", x->srtt_us);
		U("min_rtt_us", x->min_rtt_us);
		U("rttvar_us", x->rttvar_us);
		U("cwnd", x->cwnd);
		U("ssthresh", x->ssthresh);
		U("in_flight", x->in_flight);
		U("lost", x->lost);
		U("reordering", x->reordering);
		U("dsack_dups", x->dsack_dups);
		U("snd_wnd", x->snd_wnd);
		U("rcv_wnd", x->rcv_wnd);
		U("app_limited", x->app_limited);
		U("pacing_rate", x->pacing_rate);
		U("delivery_rate", x->delivery_rate);
		U("busy_us", x->busy_us);
		U("rwnd_limited_us", x->rwnd_limited_us);
		U("sndbuf_limited_us", x->sndbuf_limited_us);
		break;
	}
	case TT_EV_STALL:
		U("side", e->u.stall.side);
		U("phase", e->u.stall.phase);
		U("dur_us", e->u.stall.dur_us);
		break;
	default: break;
	}
	printf("}\n");
}

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "test_format: warning: %s\n", msg);
}

static int cmd_dump(const char *path)
{
	struct tt_fmt_reader *r;
	char err[256];
	struct tt_event ev;
	int rc = tt_fmt_reader_open(&r, path, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "test_format: %s\n", err);
		return 2;
	}
	tt_fmt_reader_set_warn(r, warn_stderr, NULL);
	const struct tt_fmt_header *h = tt_fmt_reader_header(r);
	printf("{\"version_major\":%u,\"version_minor\":%u,\"hostname\":", h->version_major,
	       h->version_minor);
	json_str(h->hostname, sizeof(h->hostname));
	printf(",\"kernel\":");
	json_str(h->kernel, sizeof(h->kernel));
	printf(",\"boot_id\":");
	json_str(h->boot_id, sizeof(h->boot_id));
	printf(",\"tool_version\":");
	json_str(h->tool_version, sizeof(h->tool_version));
	printf(",\"mode\":");
	json_str(h->mode, sizeof(h->mode));
	printf(",\"coalesce_ms\":%u,\"filters\":", h->coalesce_ms);
	json_str(h->filters, sizeof(h->filters));
	printf(",\"probes\":");
	json_str(h->probes, sizeof(h->probes));
	printf(",\"missing\":");
	json_str(h->missing, sizeof(h->missing));
	printf(",\"clock_offset_ns\":%" PRId64 ",\"clock\":", h->clock_offset_ns);
	json_str(h->clock, sizeof(h->clock));
	printf(",\"start_ns\":%" PRIu64 ",\"raw_slice_ns\":%" PRIu64 "}\n", h->start_ns,
	       h->raw_slice_ns);
	while ((rc = tt_fmt_reader_next(r, &ev)) == 1)
		dump_event(&ev);
	if (rc < 0)
		fprintf(stderr, "test_format: %s\n", tt_fmt_reader_error(r));
	tt_fmt_reader_close(r);
	return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------ bench */

/* CPU time of this process: the figure per core, and less disturbed by other load. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void bench_one(const char *name, struct tt_event *v, size_t n)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_fmt_reader *r;
	char err[256], path[64];
	struct tt_event ev;
	uint64_t sum = 0;

	snprintf(path, sizeof(path), "/tmp/tt-bench.%d.tt", (int)getpid());
	make_header(&h, "raw");
	double t0 = now();
	if (tt_fmt_writer_open(&w, path, &h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err)))
		return;
	for (size_t i = 0; i < n; i++) {
		wadd(w, &v[i]);
		if (i % 1000000 == 999999)
			tt_fmt_writer_flush(w); /* as the recorder does once a second */
	}
	uint64_t bytes;
	tt_fmt_writer_close(w);
	double t1 = now();
	struct stat st;
	stat(path, &st);
	bytes = (uint64_t)st.st_size;
	double best = 1e9;
	for (int k = 0; k < 3; k++) {
		double a = now();
		tt_fmt_reader_open(&r, path, err, sizeof(err));
		while (tt_fmt_reader_next(r, &ev) == 1)
			sum += ev.ts_ns;
		tt_fmt_reader_close(r);
		double b = now() - a;
		best = b < best ? b : best;
	}
	printf(
	    "%-10s %zu events: %.2f bytes/event, write %.1f M events/s, read %.1f M events/s%s\n",
	    name, n, (double)bytes / (double)n, (double)n / (t1 - t0) / 1e6, (double)n / best / 1e6,
	    sum ? "" : " ");
	unlink(path);
}

static int cmd_bench(void)
{
	size_t n = 10000000;
	struct tt_event *v = calloc(n, sizeof(*v));
	uint64_t s = 5, ts = 1000000000ull;

	/* iperf3 -l 100 recorded per call: two sockets, 100-byte sends and receives. */
	for (size_t i = 0; i < n; i++) {
		struct tt_event *e = &v[i];
		int side = (rnd(&s) % 8) ? (int)(i & 1) : (int)(rnd(&s) & 1);
		ts += 500 + rnd(&s) % 2500;
		e->ts_ns = ts;
		e->kind = TT_EV_TRAFFIC;
		e->flags = TT_F_RAW;
		e->conn_id = 0x2a8f1c + (uint64_t)side * 3;
		e->pid = 31337 + (uint32_t)side;
		e->tid = e->pid;
		if (side) {
			e->u.traffic.tx_bytes = 100;
			e->u.traffic.tx_calls = 1;
		} else {
			e->u.traffic.rx_bytes = 100;
			e->u.traffic.rx_calls = 1;
		}
	}
	bench_one("raw", v, n);

	/* Coalesced: 2000 connections, one TRAFFIC each per second. */
	memset(v, 0, n * sizeof(*v));
	n = 2000000;
	ts = 1000000000ull;
	for (size_t i = 0; i < n; i++) {
		struct tt_event *e = &v[i];
		unsigned c = (unsigned)(i % 2000);
		if (c == 0)
			ts += 1000000000ull;
		e->ts_ns = ts + c * 1000 + rnd(&s) % 1000;
		e->kind = TT_EV_TRAFFIC;
		e->conn_id = 0x10000 + c * 17;
		e->pid = 2000 + c / 4;
		e->tid = e->pid + c % 4;
		e->u.traffic.tx_bytes = rnd(&s) % 5000000;
		e->u.traffic.rx_bytes = rnd(&s) % 100000;
		e->u.traffic.tx_pkts = (uint32_t)(e->u.traffic.tx_bytes / 1448);
		e->u.traffic.rx_pkts = (uint32_t)(e->u.traffic.rx_bytes / 1448);
		e->u.traffic.tx_calls = (uint32_t)(rnd(&s) % 500);
		e->u.traffic.rx_calls = (uint32_t)(rnd(&s) % 500);
	}
	bench_one("coalesced", v, n);
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv[2], argc > 3 ? strtoull(argv[3], NULL, 0) : 20000);
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "bench"))
		return cmd_bench();
	if (argc != 1) {
		fprintf(stderr, "usage: test_format [gen OUT [N] | dump FILE | bench]\n");
		return 2;
	}
	return run_checks();
}
