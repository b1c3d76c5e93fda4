// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Column names and the STATE column's text: what sorting and text search compare. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "state_int.h"

static const char *const col_names[TT_COL_MAX] = {
    [TT_COL_PID] = "PID",      [TT_COL_COMM] = "COMM",	    [TT_COL_PROTO] = "PROTO",
    [TT_COL_LOCAL] = "LOCAL",  [TT_COL_REMOTE] = "REMOTE",  [TT_COL_STATE] = "STATE",
    [TT_COL_TX_RATE] = "TX/s", [TT_COL_RX_RATE] = "RX/s",   [TT_COL_TX] = "TX",
    [TT_COL_RX] = "RX",	       [TT_COL_TX_PKTS] = "TX_PKT", [TT_COL_RX_PKTS] = "RX_PKT",
    [TT_COL_RTT] = "RTT",      [TT_COL_RETR] = "RETR",	    [TT_COL_CONNECT] = "CONNECT",
    [TT_COL_CWND] = "CWND",    [TT_COL_ZWIN] = "ZWIN",	    [TT_COL_FAIL] = "FAIL",
};

/* Other spellings people type on command lines and in key bindings. */
static const struct {
	const char *name;
	enum tt_col col;
} col_aliases[] = {
    {"command", TT_COL_COMM},
    {"process", TT_COL_COMM},
    {"name", TT_COL_COMM},
    {"protocol", TT_COL_PROTO},
    {"laddr", TT_COL_LOCAL},
    {"src", TT_COL_LOCAL},
    {"raddr", TT_COL_REMOTE},
    {"dst", TT_COL_REMOTE},
    {"peer", TT_COL_REMOTE},
    {"tx_rate", TT_COL_TX_RATE},
    {"txrate", TT_COL_TX_RATE},
    {"rx_rate", TT_COL_RX_RATE},
    {"rxrate", TT_COL_RX_RATE},
    {"tx_bytes", TT_COL_TX},
    {"txbytes", TT_COL_TX},
    {"rx_bytes", TT_COL_RX},
    {"rxbytes", TT_COL_RX},
    {"tx_pkts", TT_COL_TX_PKTS},
    {"tx_packets", TT_COL_TX_PKTS},
    {"txpkt", TT_COL_TX_PKTS},
    {"rx_pkts", TT_COL_RX_PKTS},
    {"rx_packets", TT_COL_RX_PKTS},
    {"rxpkt", TT_COL_RX_PKTS},
    {"rtt_us", TT_COL_RTT},
    {"srtt", TT_COL_RTT},
    /* tcptop-query's and CSV's names of the health columns */
    {"retrans", TT_COL_RETR},
    {"retransmits", TT_COL_RETR},
    {"connect_us", TT_COL_CONNECT},
    {"zero_window_ms", TT_COL_ZWIN},
    {"fail_reason", TT_COL_FAIL},
};

const char *tt_col_name(enum tt_col col)
{
	return (unsigned)col < TT_COL_MAX ? col_names[col] : "?";
}

int tt_col_parse(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < TT_COL_MAX; i++)
		if (!strcasecmp(name, col_names[i]))
			return (int)i;
	for (i = 0; i < sizeof(col_aliases) / sizeof(col_aliases[0]); i++)
		if (!strcasecmp(name, col_aliases[i].name))
			return col_aliases[i].col;
	return -1;
}

int tt_col_list_parse(const char *list, uint32_t *set, char *err, size_t errlen)
{
	uint32_t cols = TT_COLS_DEFAULT;
	const char *p = list ? list : "";
	int first = 1;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char name[32];
		int sign = 0, col;

		if (n && (p[0] == '+' || p[0] == '-')) {
			sign = p[0];
			p++;
			n--;
		}
		if (!n || n >= sizeof(name)) {
			snprintf(err, errlen, "bad --columns '%s': %s", list ? list : "",
				 n ? "name too long" : "empty column name");
			return -EINVAL;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		/* a first plain name starts from nothing: the list is the columns */
		if (first && !sign)
			cols = 0;
		first = 0;
		if (!strcasecmp(name, "all")) {
			cols = sign == '-' ? 0 : TT_COLS_ALL;
		} else if (!strcasecmp(name, "default")) {
			cols = sign == '-' ? cols & ~TT_COLS_DEFAULT : cols | TT_COLS_DEFAULT;
		} else {
			col = tt_col_parse(name);
			if (col < 0) {
				snprintf(err, errlen, "unknown column '%s' in --columns", name);
				return -EINVAL;
			}
			if (sign == '-')
				cols &= ~TT_COL_BIT(col);
			else
				cols |= TT_COL_BIT(col);
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!cols) {
		snprintf(err, errlen, "--columns '%s' leaves no column", list ? list : "");
		return -EINVAL;
	}
	*set = cols;
	return 0;
}

enum tt_col tt_col_sort_shown(uint32_t *set, int sort)
{
	if (sort < 0 || sort >= TT_COL_MAX) {
		sort = TT_COL_TX_RATE;
		if (!(*set & TT_COL_BIT(sort)) && *set)
			sort = tt_col_next(*set, TT_COL_MAX - 1, 1);
	}
	*set |= TT_COL_BIT(sort);
	return (enum tt_col)sort;
}

enum tt_col tt_col_next(uint32_t set, enum tt_col col, int dir)
{
	int c = (int)col;

	for (int i = 0; i < TT_COL_MAX; i++) {
		c = (c + (dir < 0 ? TT_COL_MAX - 1 : 1)) % TT_COL_MAX;
		if (set & TT_COL_BIT(c))
			return (enum tt_col)c;
	}
	return col;
}

/* The row's TCP state by its one name (tt_tcp_states.h), "" for UDP. */
const char *tt_state_tcp_text(const struct tt_conn *c)
{
	return c->proto == 6 ? tt_tcp_state_name(c->state) : "";
}

/* How a connection ended says more than its last state: refused and reset stand apart. */
const char *tt_state_text(const struct tt_conn *c)
{
	/* a closed UDP flow too: its row says it is gone with the word a TCP one would */
	if (c->flags & TT_CONN_CLOSED) {
		if (c->flags & TT_CONN_REFUSED)
			return "REFUSED";
		return c->resets ? "RESET" : tt_tcp_state_name(TT_TCP_CLOSE);
	}
	return tt_state_tcp_text(c);
}
