/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Column values of every table: how an event, a connection, a process, a
 * lost record or a capture header reads in SQL. NULL means "does not apply"
 * or "not known", never zero.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "tt_util.h"

/*
 * Each helper sets the result (or leaves it NULL) and returns 0, so that a
 * column switch can be written as "case X: return helper(...);".
 */
static int text(sqlite3_context *ctx, const char *s)
{
	sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
	return 0;
}

/* For strings that outlive the statement (file names, headers, kind names). */
static int text_static(sqlite3_context *ctx, const char *s)
{
	sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
	return 0;
}

static int i32(sqlite3_context *ctx, int32_t v)
{
	sqlite3_result_int(ctx, v);
	return 0;
}

static int text_nz(sqlite3_context *ctx, const char *s)
{
	if (s && s[0])
		text(ctx, s);
	return 0;
}

static int int_nz(sqlite3_context *ctx, uint64_t v)
{
	if (v)
		sqlite3_result_int64(ctx, (sqlite3_int64)v);
	return 0;
}

static int u64(sqlite3_context *ctx, uint64_t v)
{
	sqlite3_result_int64(ctx, (sqlite3_int64)v);
	return 0;
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4;
	else
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * A process name is whatever bytes prctl() was given; SQL text must be
 * UTF-8, so bytes that are not become '?'.
 */
static int comm(sqlite3_context *ctx, const char *c)
{
	unsigned char buf[TT_COMM_LEN + 1];

	memcpy(buf, c, TT_COMM_LEN);
	buf[TT_COMM_LEN] = 0;
	for (int i = 0; buf[i];) {
		int n = utf8_len(buf + i);

		if (!n)
			buf[i] = '?';
		i += n ? n : 1;
	}
	return text_nz(ctx, (const char *)buf);
}

static int proto(sqlite3_context *ctx, uint8_t p)
{
	if (p == IPPROTO_TCP)
		return text_static(ctx, "tcp");
	if (p == IPPROTO_UDP)
		return text_static(ctx, "udp");
	if (p) {
		/* still TEXT, as the column is declared (other engines load it typed) */
		char num[8];

		snprintf(num, sizeof(num), "%u", p);
		return text(ctx, num);
	}
	return 0;
}

static int direction(sqlite3_context *ctx, uint8_t d)
{
	if (d == TT_DIR_OUTBOUND)
		return text_static(ctx, "out");
	if (d == TT_DIR_INBOUND)
		return text_static(ctx, "in");
	return 0;
}

static int tcp_state(sqlite3_context *ctx, uint8_t s)
{
	const char *name = tt_fmt_tcp_state_name(s);

	return name[0] ? text_static(ctx, name) : 0;
}

static int all_zero(const uint8_t *a)
{
	for (int i = 0; i < TT_ADDR_LEN; i++)
		if (a[i])
			return 0;
	return 1;
}

static int addr(sqlite3_context *ctx, uint8_t family, const uint8_t *a, int null_if_zero)
{
	char buf[64];

	if (!family || (null_if_zero && all_zero(a)))
		return 0;
	tt_addr_str(family, a, buf, sizeof(buf));
	return text(ctx, buf);
}

static const char *file_of(const struct tt_query_set *set, size_t f)
{
	return set->files[f].path;
}

static const char *host_of(const struct tt_query_set *set, size_t f)
{
	return set->files[f].hdr.hostname;
}

/* Columns of `events`, in tt_query_tables[TQ_T_EVENTS] order. */
enum {
	E_FILE,
	E_HOST,
	E_TS,
	E_KIND,
	E_CONN,
	E_PID,
	E_TID,
	E_FLAGS,
	E_TXB,
	E_RXB,
	E_TXP,
	E_RXP,
	E_TXC,
	E_RXC,
	E_OLD,
	E_NEW,
	E_STATE,
	E_RTT,
	E_RTTVAR,
	E_RETRANS,
	E_RSTDIR,
	E_PROTO,
	E_FAMILY,
	E_LADDR,
	E_LPORT,
	E_RADDR,
	E_RPORT,
	E_DIR,
	E_NETNS,
	E_CGROUP,
	E_COMM,
	E_PPID,
	E_EXIT,
	E_LOST,
	E_CPU,
	E_SEVENTS,
	E_SCONNS,
	E_SBYTES,
	E_NCOLS
};

static int is_proc_kind(unsigned k)
{
	return k == TT_EV_CONN_PROC || k == TT_EV_PROC_EXEC || k == TT_EV_PROC_EXIT ||
	       k == TT_EV_PROC_NAME;
}

int tt_query_event_column(sqlite3_context *ctx, const struct tt_query_set *set, size_t file,
			  const struct tt_event *ev, int col)
{
	unsigned k = ev->kind;
	const struct tt_ev_open *o = &ev->u.open;

	switch (col) {
	case E_FILE: return text_static(ctx, file_of(set, file));
	case E_HOST: return text_static(ctx, host_of(set, file));
	case E_TS: return u64(ctx, ev->ts_ns);
	case E_KIND: return text_static(ctx, tt_fmt_kind_name(k));
	case E_CONN: return int_nz(ctx, ev->conn_id);
	case E_PID: return int_nz(ctx, ev->pid);
	case E_TID: return int_nz(ctx, ev->tid);
	case E_FLAGS: return u64(ctx, ev->flags);
	}
	if (k == TT_EV_TRAFFIC) {
		const struct tt_ev_traffic *t = &ev->u.traffic;

		switch (col) {
		case E_TXB: return u64(ctx, t->tx_bytes);
		case E_RXB: return u64(ctx, t->rx_bytes);
		case E_TXP: return u64(ctx, t->tx_pkts);
		case E_RXP: return u64(ctx, t->rx_pkts);
		case E_TXC: return u64(ctx, t->tx_calls);
		case E_RXC: return u64(ctx, t->rx_calls);
		}
		return 0;
	}
	if (k == TT_EV_CONN_CLOSE) {
		const struct tt_ev_close *c = &ev->u.close;

		switch (col) {
		case E_TXB: return u64(ctx, c->tx_bytes);
		case E_RXB: return u64(ctx, c->rx_bytes);
		case E_TXP: return u64(ctx, c->tx_pkts);
		case E_RXP: return u64(ctx, c->rx_pkts);
		case E_STATE: return tcp_state(ctx, c->state);
		case E_RTT: return int_nz(ctx, c->srtt_us);
		case E_RETRANS: return u64(ctx, c->retrans);
		}
		return 0;
	}
	if (k == TT_EV_CONN_OPEN) {
		switch (col) {
		case E_STATE: return tcp_state(ctx, o->state);
		case E_PROTO: return proto(ctx, o->proto);
		case E_FAMILY: return int_nz(ctx, o->family);
		case E_LADDR: return addr(ctx, o->family, o->laddr, 0);
		case E_LPORT: return u64(ctx, o->lport);
		case E_RADDR: return addr(ctx, o->family, o->raddr, 1);
		case E_RPORT: return u64(ctx, o->rport);
		case E_DIR: return direction(ctx, o->direction);
		case E_NETNS: return u64(ctx, o->netns);
		case E_CGROUP: return u64(ctx, o->cgroup_id);
		case E_COMM: return comm(ctx, o->comm);
		}
		return 0;
	}
	if (is_proc_kind(k)) {
		switch (col) {
		case E_COMM: return comm(ctx, ev->u.proc.comm);
		case E_PPID: return int_nz(ctx, ev->u.proc.ppid);
		case E_EXIT: return k == TT_EV_PROC_EXIT ? i32(ctx, ev->u.proc.exit_code) : 0;
		}
		return 0;
	}
	switch (k) {
	case TT_EV_STATE:
		if (col == E_OLD)
			tcp_state(ctx, ev->u.state.old_state);
		else if (col == E_NEW)
			tcp_state(ctx, ev->u.state.new_state);
		break;
	case TT_EV_RTT:
		if (col == E_RTT)
			u64(ctx, ev->u.rtt.srtt_us);
		else if (col == E_RTTVAR)
			u64(ctx, ev->u.rtt.rttvar_us);
		break;
	case TT_EV_RETRANS:
		if (col == E_RETRANS)
			u64(ctx, ev->u.retrans.segs);
		else if (col == E_STATE)
			tcp_state(ctx, ev->u.retrans.state);
		break;
	case TT_EV_RESET:
		if (col == E_RSTDIR && ev->u.reset.dir == TT_RST_SENT)
			text_static(ctx, "sent");
		else if (col == E_RSTDIR && ev->u.reset.dir == TT_RST_RECEIVED)
			text_static(ctx, "received");
		else if (col == E_STATE)
			tcp_state(ctx, ev->u.reset.state);
		break;
	case TT_EV_LOST:
		if (col == E_LOST)
			u64(ctx, ev->u.lost.count);
		else if (col == E_CPU)
			u64(ctx, ev->u.lost.cpu);
		break;
	case TT_EV_STATS:
		if (col == E_LOST)
			u64(ctx, ev->u.stats.lost);
		else if (col == E_SEVENTS)
			u64(ctx, ev->u.stats.events);
		else if (col == E_SCONNS)
			u64(ctx, ev->u.stats.conns);
		else if (col == E_SBYTES)
			u64(ctx, ev->u.stats.bytes_out);
		break;
	}
	return 0;
}

/* Columns of `connections`. */
enum {
	C_FILE,
	C_HOST,
	C_ID,
	C_PROTO,
	C_FAMILY,
	C_LADDR,
	C_LPORT,
	C_RADDR,
	C_RPORT,
	C_DIR,
	C_PID,
	C_COMM,
	C_CGROUP,
	C_NETNS,
	C_FIRST,
	C_LAST,
	C_CLOSE_TS,
	C_TXB,
	C_RXB,
	C_TXP,
	C_RXP,
	C_STATE,
	C_RTT,
	C_MAXRTT,
	C_RETRANS,
	C_RESETS,
	C_CLOSED,
	C_PREEX,
	C_EVENTS,
	C_NCOLS
};

int tt_query_conn_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_conn *c, int col)
{
	int o = c->have_open;

	switch (col) {
	case C_FILE: return text_static(ctx, file_of(set, c->file));
	case C_HOST: return text_static(ctx, host_of(set, c->file));
	case C_ID: return u64(ctx, c->id);
	case C_PROTO: return proto(ctx, c->proto);
	case C_FAMILY: return int_nz(ctx, c->family);
	case C_LADDR: return addr(ctx, c->family, c->laddr, 0);
	case C_LPORT: return o ? u64(ctx, c->lport) : 0;
	case C_RADDR: return addr(ctx, c->family, c->raddr, 1);
	case C_RPORT: return o ? u64(ctx, c->rport) : 0;
	case C_DIR: return direction(ctx, c->direction);
	case C_PID: return int_nz(ctx, c->pid);
	case C_COMM: return comm(ctx, c->comm);
	case C_CGROUP: return o ? u64(ctx, c->cgroup) : 0;
	case C_NETNS: return o ? u64(ctx, c->netns) : 0;
	case C_FIRST: return u64(ctx, c->first_ts);
	case C_LAST: return u64(ctx, c->last_ts);
	case C_CLOSE_TS: return int_nz(ctx, c->close_ts);
	case C_TXB: return u64(ctx, c->tx_bytes);
	case C_RXB: return u64(ctx, c->rx_bytes);
	case C_TXP: return u64(ctx, c->tx_pkts);
	case C_RXP: return u64(ctx, c->rx_pkts);
	case C_STATE: return tcp_state(ctx, c->state);
	case C_RTT: return int_nz(ctx, c->rtt_us);
	case C_MAXRTT: return int_nz(ctx, c->max_rtt_us);
	case C_RETRANS: return u64(ctx, c->retrans);
	case C_RESETS: return u64(ctx, c->resets);
	case C_CLOSED: return u64(ctx, c->closed);
	case C_PREEX: return u64(ctx, c->preexisting);
	case C_EVENTS: return u64(ctx, c->events);
	}
	return 0;
}

/* Columns of `processes`. */
enum {
	P_FILE,
	P_HOST,
	P_PID,
	P_COMM,
	P_PPID,
	P_FIRST,
	P_LAST,
	P_EXIT_TS,
	P_EXIT,
	P_EXECS,
	P_CONNS,
	P_NCOLS
};

int tt_query_proc_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_proc *p, int col)
{
	switch (col) {
	case P_FILE: return text_static(ctx, file_of(set, p->file));
	case P_HOST: return text_static(ctx, host_of(set, p->file));
	case P_PID: return u64(ctx, p->pid);
	case P_COMM: return comm(ctx, p->comm);
	case P_PPID: return p->have_ppid ? u64(ctx, p->ppid) : 0;
	case P_FIRST: return u64(ctx, p->first_ts);
	case P_LAST: return u64(ctx, p->last_ts);
	case P_EXIT_TS: return p->exited ? u64(ctx, p->exit_ts) : 0;
	case P_EXIT: return p->exited ? i32(ctx, p->exit_code) : 0;
	case P_EXECS: return u64(ctx, p->execs);
	case P_CONNS: return u64(ctx, p->conns);
	}
	return 0;
}

int tt_query_lost_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_lost *l, int col)
{
	switch (col) {
	case 0: return text_static(ctx, file_of(set, l->file));
	case 1: return text_static(ctx, host_of(set, l->file));
	case 2: return u64(ctx, l->ts);
	case 3: return u64(ctx, l->cpu);
	case 4: return u64(ctx, l->count);
	}
	return 0;
}

/* Columns of `capture`. */
enum {
	K_FILE,
	K_HOST,
	K_KERNEL,
	K_BOOT,
	K_START,
	K_END,
	K_MODE,
	K_COALESCE,
	K_FILTERS,
	K_PROBES,
	K_TOOL,
	K_FORMAT,
	K_CLOCK,
	K_EVENTS,
	K_WARNINGS,
	K_NCOLS
};

int tt_query_columns_ok(void)
{
	return tt_query_tables[TQ_T_EVENTS].n_cols == E_NCOLS &&
	       tt_query_tables[TQ_T_CONNECTIONS].n_cols == C_NCOLS &&
	       tt_query_tables[TQ_T_PROCESSES].n_cols == P_NCOLS &&
	       tt_query_tables[TQ_T_LOST].n_cols == 5 &&
	       tt_query_tables[TQ_T_CAPTURE].n_cols == K_NCOLS;
}

int tt_query_capture_column(sqlite3_context *ctx, struct tt_query_set *set, size_t file, int col)
{
	const struct tt_query_file *f = &set->files[file];
	const struct tt_fmt_header *h = &f->hdr;
	const struct tt_query_summary *s;
	char buf[32];

	switch (col) {
	case K_FILE: return text_static(ctx, f->path);
	case K_HOST: return text(ctx, h->hostname);
	case K_KERNEL: return text(ctx, h->kernel);
	case K_BOOT: return text(ctx, h->boot_id);
	case K_START: return u64(ctx, h->start_ns);
	case K_END: return int_nz(ctx, f->last_ns);
	case K_MODE: return text(ctx, h->mode);
	case K_COALESCE: return u64(ctx, h->coalesce_ms);
	case K_FILTERS: return text(ctx, h->filters);
	case K_PROBES: return text(ctx, h->probes);
	case K_TOOL: return text(ctx, h->tool_version);
	case K_FORMAT:
		snprintf(buf, sizeof(buf), "%u.%u", h->version_major, h->version_minor);
		return text(ctx, buf);
	case K_CLOCK: return text(ctx, h->clock);
	case K_EVENTS:
	case K_WARNINGS:
		/* only these two need the whole file read */
		s = tt_query_summary_get(set);
		if (!s) {
			sqlite3_result_error(ctx, set->err, -1);
			return -1;
		}
		return u64(ctx, col == K_EVENTS ? s->fstat[file].events : s->fstat[file].warnings);
	}
	return 0;
}
