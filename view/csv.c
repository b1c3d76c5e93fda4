/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* CSV snapshots: exact numbers, one row per connection per snapshot, for spreadsheets and scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_community_id.h"
#include "tt_util.h"
#include "tt_view.h"

#define CHUNK 4096

struct tt_view_csv {
	FILE *f;
	int is_stdout;
	uint16_t cid_seed;
};

int tt_view_csv_open(struct tt_view_csv **out, const char *path, int force, char *err,
		     size_t errlen)
{
	struct tt_view_csv *c = calloc(1, sizeof(*c));
	int fd;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (strcmp(path, "-") == 0) {
		c->f = stdout;
		c->is_stdout = 1;
	} else {
		/* the rows name hosts and processes: private, as a capture (-o) */
		fd = tt_create_private(path, force, err, errlen);
		c->f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!c->f) {
			int e = fd < 0 ? -fd : errno;

			if (fd >= 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(e));
				close(fd);
			}
			free(c);
			return -e;
		}
	}
	fputs("time,time_ns,conn_id,pid,comm,proto,family,laddr,lport,raddr,rport,state,"
	      "tx_rate,rx_rate,tx_bytes,rx_bytes,tx_pkts,rx_pkts,rtt_us,retrans,resets,closed,"
	      "community_id,retrans_rto,retrans_fast,retrans_tlp,retrans_spurious,connect_us,"
	      "accept_wait_us,syn_retrans,fail_reason,cwnd,zero_window_ms\n",
	      c->f);
	*out = c;
	return 0;
}

void tt_view_csv_set_cid_seed(struct tt_view_csv *c, uint16_t seed)
{
	c->cid_seed = seed;
}

/* Process names may hold commas or quotes: quote them the RFC 4180 way. */
static void csv_str(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < max && s[i]; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void opt_u32(char *buf, int have, uint32_t v)
{
	if (have)
		snprintf(buf, 16, "%u", v);
	else
		buf[0] = 0;
}

int tt_view_csv_write(struct tt_view_csv *c, const struct tt_state *st, const struct tt_select *sel,
		      uint64_t now_ns)
{
	const struct tt_conn *rows[CHUNK];
	char when[40], la[64], ra[64], cid[TT_CID_LEN], rtt[16], hs[5][16];
	size_t total = 0, off = 0, n;

	tt_iso_str(now_ns, when, sizeof(when));
	do {
		n = tt_state_select(st, sel, off, CHUNK, rows, &total);
		for (size_t i = 0; i < n; i++) {
			const struct tt_conn *r = rows[i];

			tt_addr_str(r->family, r->laddr, la, sizeof(la));
			tt_addr_str(r->family, r->raddr, ra, sizeof(ra));
			/* empty when never sampled, as NULL in tcptop-query: unknown is not 0 */
			if (r->rtt_us)
				snprintf(rtt, sizeof(rtt), "%u", r->rtt_us);
			else
				rtt[0] = 0;
			/* empty when an address is not known, as NULL in tcptop-query */
			if (tt_cid_conn(c->cid_seed, r->family, r->proto, r->laddr, r->lport,
					r->raddr, r->rport, cid, sizeof(cid)) < 0)
				cid[0] = 0;
			/* empty when not recorded, as NULL in tcptop-query */
			opt_u32(hs[0], r->have & TT_ACC_HAVE_CONNECT, r->connect_us);
			opt_u32(hs[1], r->have & TT_ACC_HAVE_ACCEPT, r->accept_wait_us);
			opt_u32(hs[2], r->have & TT_ACC_HAVE_SYN_RETRANS, r->syn_retrans);
			/* no sample: no cwnd; UDP has no window (the query's NULLs) */
			opt_u32(hs[3], r->cwnd != 0, r->cwnd);
			opt_u32(hs[4], r->proto == 6, r->zero_window_ms);
			fprintf(c->f, "%s,%" PRIu64 ",%" PRId64 ",%u,", when, now_ns,
				tt_conn_id_signed(r->id), r->pid);
			csv_str(c->f, r->comm, TT_COMM_LEN);
			fprintf(c->f,
				",%s,%u,%s,%u,%s,%u,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				",%" PRIu64 ",%" PRIu64
				",%s,%u,%u,%d,%s,%u,%u,%u,%u,%s,%s,%s,%s,%s,%s\n",
				tt_proto_name(r->proto), r->family == TT_FAMILY_IPV6 ? 6 : 4, la,
				r->lport, ra, r->rport, tt_state_tcp_text(r), r->tx_rate,
				r->rx_rate, r->tx_bytes, r->rx_bytes, r->tx_pkts, r->rx_pkts, rtt,
				r->retrans, r->resets, (r->flags & TT_CONN_CLOSED) ? 1 : 0, cid,
				r->retrans_rto, r->retrans_fast, r->retrans_tlp,
				r->retrans_spurious, hs[0], hs[1], hs[2],
				tt_fail_reason_name(r->fail_reason)
				    ? tt_fail_reason_name(r->fail_reason)
				    : "",
				hs[3], hs[4]);
		}
		off += n;
	} while (n > 0 && off < total);
	return tt_stream_status(c->f);
}

int tt_view_csv_close(struct tt_view_csv *c)
{
	int ret = 0;

	if (!c)
		return 0;
	ret = tt_stream_status(c->f);
	if (!c->is_stdout && fclose(c->f) && !ret)
		ret = errno > 0 ? -errno : -EIO;
	free(c);
	return ret;
}
