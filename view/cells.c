/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Cell text shared by the curses view and the batch printer, so both show the same thing. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tt_util.h"
#include "tt_view.h"

/* 0 is "never sampled" (a UDP flow, a connection too short for a sample): unknown, not zero */
static void rtt_str(uint32_t us, int human, char *buf, size_t len)
{
	if (us == 0)
		snprintf(buf, len, "-");
	else if (!human)
		snprintf(buf, len, "%uus", us); /* exact, and a time still says its unit */
	else if (us < 1000)
		snprintf(buf, len, "%uus", us);
	else if (us < 10000000)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else
		snprintf(buf, len, "%.0fs", us / 1e6);
}

/*
 * A known time: exact, in us, or human in at most 7 columns ("850us", "999.9ms", "1.93s",
 * "42s"): a stall or a slow connect runs to seconds, where RTT's form would need 8 and be cut.
 * (ZWIN's exact form is its field's ms.)
 */
static void time_us(uint64_t us, int human, char *buf, size_t len)
{
	if (!human || us < 1000)
		snprintf(buf, len, "%" PRIu64 "us", us);
	else if (us < 999950)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else if (us < 9995000)
		snprintf(buf, len, "%.2fs", us / 1e6);
	else
		snprintf(buf, len, "%.0fs", us / 1e6);
}

static void num(uint64_t v, int human, int bytes, char *buf, size_t len)
{
	if (!human)
		snprintf(buf, len, "%" PRIu64, v);
	else if (bytes)
		tt_human_bytes(v, buf, len);
	else
		tt_human_count(v, buf, len);
}

const char *tt_view_cell(const struct tt_conn *c, enum tt_col col, int human, char *buf, size_t len)
{
	const char *s;

	buf[0] = '\0';
	switch (col) {
	case TT_COL_PID:
		if (c->pid)
			snprintf(buf, len, "%u", c->pid);
		else
			snprintf(buf, len, "-");
		break;
	case TT_COL_COMM:
		snprintf(buf, len, "%.*s", TT_COMM_LEN, c->comm[0] ? c->comm : "-");
		break;
	case TT_COL_PROTO:
		snprintf(buf, len, "%s%s", tt_proto_name(c->proto),
			 c->family == TT_FAMILY_IPV6 ? "6" : "");
		break;
	case TT_COL_LOCAL: tt_endpoint_str(c->family, c->laddr, c->lport, buf, len); break;
	case TT_COL_REMOTE: tt_endpoint_str(c->family, c->raddr, c->rport, buf, len); break;
	case TT_COL_STATE:
		s = tt_state_text(c);
		snprintf(buf, len, "%s", s[0] ? s : "-");
		break;
	case TT_COL_TX_RATE: num(c->tx_rate, human, 1, buf, len); break;
	case TT_COL_RX_RATE: num(c->rx_rate, human, 1, buf, len); break;
	case TT_COL_TX: num(c->tx_bytes, human, 1, buf, len); break;
	case TT_COL_RX: num(c->rx_bytes, human, 1, buf, len); break;
	case TT_COL_TX_PKTS: num(c->tx_pkts, human, 0, buf, len); break;
	case TT_COL_RX_PKTS: num(c->rx_pkts, human, 0, buf, len); break;
	case TT_COL_RTT: rtt_str(c->rtt_us, human, buf, len); break;
	case TT_COL_RETR: num(c->retrans, human, 0, buf, len); break;
	case TT_COL_CONNECT:
		/* a handshake may take 0 us on loopback: "-" only when none was seen */
		if (c->have & TT_ACC_HAVE_CONNECT)
			time_us(c->connect_us, human, buf, len);
		else
			snprintf(buf, len, "-");
		break;
	case TT_COL_CWND:
		if (c->cwnd)
			num(c->cwnd, human, 0, buf, len);
		else
			snprintf(buf, len, "-"); /* no sample: a cwnd is never 0 */
		break;
	case TT_COL_ZWIN:
		/* as the query's zero_window_ms: 0 for TCP without a stall, unknown for UDP */
		if (c->proto == 6 && (!human || !c->zero_window_ms))
			snprintf(buf, len, "%ums", c->zero_window_ms);
		else if (c->proto == 6)
			time_us((uint64_t)c->zero_window_ms * 1000, human, buf, len);
		else
			snprintf(buf, len, "-");
		break;
	case TT_COL_FAIL:
		s = tt_fail_reason_name(c->fail_reason);
		snprintf(buf, len, "%s", s ? s : "-");
		break;
	default: break;
	}
	return buf;
}

char *tt_view_fit_left(const char *text, unsigned width, char *out, size_t len)
{
	size_t n = strlen(text);

	if (n <= width || width == 0) {
		snprintf(out, len, "%s", width ? text : "");
		return out;
	}
	/* "…" is three bytes of UTF-8 but one column; addresses are ASCII. */
	snprintf(out, len, "\xe2\x80\xa6%s", text + n - (width - 1));
	return out;
}

char *tt_view_fit_endpoint(const char *text, unsigned width, char *out, size_t len)
{
	size_t n = strlen(text), head = 0, tail;
	const char *close = strchr(text, ']'), *t;

	if (n <= width || text[0] != '[' || !close || width < 12)
		return tt_view_fit_left(text, width, out, len);
	/*
	 * "[2001:db8:85a3:1234:5678:8a2e:370:7334]:443" in 24 columns:
	 * "[2001:…:370:7334]:443". The network prefix says where the peer is,
	 * the tail which host it is, and the port stays whole; the middle goes.
	 * Cuts fall on group boundaries, so no group is shown half.
	 */
	for (const char *p = text + 1; p < close; p++) {
		size_t h = (size_t)(p - text) + 1;

		if (*p == ':' && (!head ? h <= (width - 1) / 2 : h <= (width - 1) / 3))
			head = h;
	}
	if (!head)
		return tt_view_fit_left(text, width, out, len);
	tail = width - 1 - head;
	t = text + n - tail;
	while (t < close && *t != ':' && t[-1] != ':')
		t++;
	if (t >= close || t < text + head)
		return tt_view_fit_left(text, width, out, len);
	snprintf(out, len, "%.*s\xe2\x80\xa6%s", (int)head, text, t);
	return out;
}
