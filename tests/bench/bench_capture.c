// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The benchmarks' capture helper, written against tt_fmt.h only (the format library), not
 * against replay or view code, so that what it measures is theirs:
 *   bench_capture clean IN OUT      IN's events within a day of its start (test_format gen also
 *                                   writes time stamps 0 and 2^64 - 1), to OUT; prints the count
 *   bench_capture raw IN            IN's events as packed ring-buffer records, to stdout
 *   bench_capture read IN           decode only: the ceiling for a replay
 *   bench_capture conns OUT N SECS  N TCP connections opened in the first second, then one
 *                                   TRAFFIC each per second for SECS s; prints the count
 * Built by the scripts that use it (bench_replay.sh, bench_view.sh) against build/libtt-core.a.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tt_fmt.h"

#define S 1000000000ull

static struct tt_fmt_reader *open_in(const char *path, struct tt_fmt_header *h)
{
	struct tt_fmt_reader *r;
	char err[256];

	if (tt_fmt_reader_open(&r, path, err, sizeof(err))) {
		fprintf(stderr, "bench_capture: %s\n", err);
		exit(1);
	}
	if (h)
		*h = *tt_fmt_reader_header(r);
	return r;
}

static struct tt_fmt_writer *open_out(const char *path, const struct tt_fmt_header *h)
{
	struct tt_fmt_writer *w;
	char err[256];

	if (tt_fmt_writer_open(&w, path, h, &(struct tt_fmt_wopts){.force = 1}, err, sizeof(err))) {
		fprintf(stderr, "bench_capture: %s\n", err);
		exit(1);
	}
	return w;
}

int main(int argc, char **argv)
{
	struct tt_fmt_header h;
	struct tt_event ev;
	unsigned long long n = 0;

	if (argc == 4 && !strcmp(argv[1], "clean")) {
		/* events within a day of the capture start (wall time, read and written) */
		struct tt_fmt_reader *r = open_in(argv[2], &h);
		struct tt_fmt_writer *w = open_out(argv[3], &h);

		while (tt_fmt_reader_next(r, &ev) == 1) {
			if (ev.ts_ns < h.start_ns || ev.ts_ns > h.start_ns + 86400 * S)
				continue;
			if (tt_fmt_writer_add(w, &ev))
				return 1;
			n++;
		}
		printf("%llu\n", n);
		return tt_fmt_writer_close(w) ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "raw")) {
		/* packed ring-buffer records to stdout */
		struct tt_fmt_reader *r = open_in(argv[2], NULL);

		while (tt_fmt_reader_next(r, &ev) == 1)
			if (fwrite(&ev, tt_event_size(ev.kind), 1, stdout) != 1)
				return 1;
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "read")) {
		/* decode only */
		struct tt_fmt_reader *r = open_in(argv[2], NULL);
		unsigned long long sum = 0;

		while (tt_fmt_reader_next(r, &ev) == 1) {
			sum += ev.ts_ns;
			n++;
		}
		printf("%llu %llu\n", n, sum & 1);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "conns")) {
		/* N TCP connections opened in the first second, one TRAFFIC each per second */
		unsigned long nc = strtoul(argv[3], NULL, 0), secs = strtoul(argv[4], NULL, 0);
		struct tt_fmt_writer *w;

		memset(&h, 0, sizeof(h));
		strcpy(h.hostname, "bench");
		strcpy(h.mode, "coalesce");
		strcpy(h.clock, "boottime");
		h.coalesce_ms = 1000;
		h.clock_offset_ns = 1764000000ll * (long long)S - 1000ll * (long long)S;
		h.start_ns = 1764000000ull * S;
		w = open_out(argv[2], &h);
		for (unsigned long s = 0; s <= secs; s++) {
			for (unsigned long i = 0; i < nc; i++) {
				memset(&ev, 0, sizeof(ev));
				ev.ts_ns = 1764000000ull * S + s * S + i * (S / 2 / nc); /* wall */
				ev.conn_id = 0x100000 + i * 13;
				ev.pid = ev.tid = 1000 + (unsigned)(i % 500);
				if (!s) {
					ev.kind = TT_EV_CONN_OPEN;
					ev.u.open.family = 4;
					ev.u.open.proto = 6;
					ev.u.open.state = 1;
					ev.u.open.laddr[0] = 127;
					ev.u.open.laddr[3] = 1;
					ev.u.open.raddr[0] = 10;
					ev.u.open.raddr[1] = (unsigned char)(i >> 16);
					ev.u.open.raddr[2] = (unsigned char)(i >> 8);
					ev.u.open.raddr[3] = (unsigned char)i;
					ev.u.open.lport = (unsigned short)(1024 + i % 60000);
					ev.u.open.rport = 443;
					snprintf(ev.u.open.comm, TT_COMM_LEN, "proc%lu", i % 500);
				} else {
					ev.kind = TT_EV_TRAFFIC;
					ev.u.traffic.tx_bytes =
					    1000 + (i * 7919 + s * 104729) % 100000;
					ev.u.traffic.rx_bytes = (i * 104729 + s * 7919) % 50000;
					ev.u.traffic.tx_pkts =
					    1 + (unsigned)(ev.u.traffic.tx_bytes / 1448);
					ev.u.traffic.rx_pkts =
					    1 + (unsigned)(ev.u.traffic.rx_bytes / 1448);
				}
				if (tt_fmt_writer_add(w, &ev))
					return 1;
				n++;
			}
		}
		printf("%llu\n", n);
		return tt_fmt_writer_close(w) ? 1 : 0;
	}
	fprintf(stderr,
		"usage: bench_capture clean IN OUT | raw IN | read IN | conns OUT N SECS\n");
	return 2;
}
