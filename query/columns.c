/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Column values of every table: how an event, a connection, a process, a
 * lost record or a capture header reads in SQL. NULL means "does not apply"
 * or "not known", never zero.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "event_cols.h"
#include "query.h"
#include "tt_acc.h"
#include "tt_community_id.h"
#include "tt_util.h"

/*
 * Each helper fills a value (or leaves it NULL) and returns 0, so that a
 * column switch can be written as "case X: return helper(...);". Values,
 * not results: the grouped scan of `events` (group.c) stores them.
 */
static int text(struct tt_query_val *v, const char *s)
{
	v->type = SQLITE_TEXT;
	v->is_static = 0;
	v->s = s;
	return 0;
}

/* For strings that outlive the statement (file names, headers, kind names). */
static int text_static(struct tt_query_val *v, const char *s)
{
	v->type = SQLITE_TEXT;
	v->is_static = 1;
	v->s = s;
	return 0;
}

static int i64(struct tt_query_val *v, sqlite3_int64 i)
{
	v->type = SQLITE_INTEGER;
	v->i = i;
	return 0;
}

static int i32(struct tt_query_val *v, int32_t i)
{
	return i64(v, i);
}

static int text_nz(struct tt_query_val *v, const char *s)
{
	if (s && s[0])
		text(v, s);
	return 0;
}

static int int_nz(struct tt_query_val *v, uint64_t i)
{
	if (i)
		i64(v, (sqlite3_int64)i);
	return 0;
}

static int u64(struct tt_query_val *v, uint64_t i)
{
	return i64(v, (sqlite3_int64)i);
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
static int comm(struct tt_query_val *v, const char *c)
{
	unsigned char *buf = (unsigned char *)v->buf;

	memcpy(buf, c, TT_COMM_LEN);
	buf[TT_COMM_LEN] = 0;
	for (int i = 0; buf[i];) {
		int n = utf8_len(buf + i);

		if (!n)
			buf[i] = '?';
		i += n ? n : 1;
	}
	return text_nz(v, (const char *)buf);
}

/* A kernel's name (TT_KT_NAME): ASCII identifiers, but read as any bytes would be. */
static int kname(struct tt_query_val *v, const char *c)
{
	unsigned char *buf = (unsigned char *)v->buf;

	memcpy(buf, c, TT_NAME_LEN);
	buf[TT_NAME_LEN] = 0;
	for (int i = 0; buf[i]; i++)
		if (buf[i] < 0x20 || buf[i] >= 0x7f)
			buf[i] = '?';
	return text_nz(v, (const char *)buf);
}

static int proto(struct tt_query_val *v, uint8_t p)
{
	if (tt_fmt_proto_name(p))
		return text_static(v, tt_fmt_proto_name(p));
	if (p) {
		/* still TEXT, as the column is declared (other engines load it typed) */
		snprintf(v->buf, sizeof(v->buf), "%u", p);
		return text(v, v->buf);
	}
	return 0;
}

static int direction(struct tt_query_val *v, uint8_t d)
{
	return tt_fmt_dir_name(d) ? text_static(v, tt_fmt_dir_name(d)) : 0;
}

static int tcp_state(struct tt_query_val *v, uint8_t s)
{
	const char *name = tt_tcp_state_name(s);

	return name[0] ? text_static(v, name) : 0;
}

static int all_zero(const uint8_t *a)
{
	for (int i = 0; i < TT_ADDR_LEN; i++)
		if (a[i])
			return 0;
	return 1;
}

static int addr(struct tt_query_val *v, uint8_t family, const uint8_t *a, int null_if_zero)
{
	if (!family || (null_if_zero && all_zero(a)))
		return 0;
	tt_addr_str(family, a, v->buf, sizeof(v->buf));
	return text(v, v->buf);
}

/*
 * Community ID: derived at read time from the addresses in the file, never
 * stored, so an anonymized copy gives the hash of its anonymized addresses
 * (docs/QUERY.md says why that is the point).
 */
static int community_id(struct tt_query_val *v, const struct tt_query_set *set,
			const struct tt_ev_open *o)
{
	if (tt_cid_open(set->cid_seed, o, v->buf, sizeof(v->buf)) < 0)
		return 0;
	return text(v, v->buf);
}

static const char *file_of(const struct tt_query_set *set, size_t f)
{
	return set->files[f].path;
}

static const char *host_of(const struct tt_query_set *set, size_t f)
{
	return set->files[f].hdr.hostname;
}

/* Columns of `events`, in tt_query_tables[TQ_T_EVENTS] order: EC_<name>. */
#define EVENT_COL(name, type, doc, notnull) EC_##name,
enum { TQ_EVENT_COLS(EVENT_COL) E_NCOLS };
#undef EVENT_COL

static int rst_dir(struct tt_query_val *v, uint8_t d)
{
	return tt_fmt_rst_dir_name(d) ? text_static(v, tt_fmt_rst_dir_name(d)) : 0;
}

static int retrans_cause(struct tt_query_val *v, uint8_t c)
{
	return tt_fmt_retrans_cause_name(c) ? text_static(v, tt_fmt_retrans_cause_name(c)) : 0;
}

/* NULL when the connection did not fail (or a newer build's reason this one cannot name) */
static int fail_reason(struct tt_query_val *v, uint8_t r)
{
	return tt_fmt_fail_reason_name(r) ? text_static(v, tt_fmt_fail_reason_name(r)) : 0;
}

/*
 * A kind's fields as columns, expanded from the kind table (tt_event_kinds.h): each field
 * names its column and how it reads (its `sql`, which holds the NULL rule); s is the
 * kind's payload, for an address's family.
 */
#define QCOL_none(c) -1
#define QCOL_u64(c) EC_##c
#define QCOL_nz(c) EC_##c
#define QCOL_i32(c) EC_##c
#define QCOL_tcpstate(c) EC_##c
#define QCOL_proto(c) EC_##c
#define QCOL_dir(c) EC_##c
#define QCOL_rstdir(c) EC_##c
#define QCOL_cause(c) EC_##c
#define QCOL_addr(c) EC_##c
#define QCOL_addr_nz(c) EC_##c
#define QCOL_comm(c) EC_##c
#define QCOL_name(c) EC_##c
#define QCOL_failreason(c) EC_##c
#define Q_none(v, s, x) 0
#define Q_u64(v, s, x) u64(v, x)
#define Q_nz(v, s, x) int_nz(v, x)
#define Q_i32(v, s, x) i32(v, x)
#define Q_tcpstate(v, s, x) tcp_state(v, x)
#define Q_proto(v, s, x) proto(v, x)
#define Q_dir(v, s, x) direction(v, x)
#define Q_rstdir(v, s, x) rst_dir(v, x)
#define Q_cause(v, s, x) retrans_cause(v, x)
#define Q_addr(v, s, x) addr(v, (s)->family, x, 0)
#define Q_addr_nz(v, s, x) addr(v, (s)->family, x, 1)
#define Q_comm(v, s, x) comm(v, x)
#define Q_name(v, s, x) kname(v, x)
#define Q_failreason(v, s, x) fail_reason(v, x)
#define Q_FIELD(m, f, type, jpos, label, text, column, sql)                                        \
	if (col == QCOL_##sql(column))                                                             \
		return Q_##sql(v, &ev->u.m, ev->u.m.f);
#define Q_KIND(a, id, name, m, scope, cadence)                                                     \
	case TT_EV_##id: TT_EV_FIELDS_##id(Q_FIELD, m) return 0;

/* Inlined into both callers: the streaming column getter should not pay for the value. */
static inline __attribute__((always_inline)) int event_value(struct tt_query_val *v,
							     const struct tt_query_set *set,
							     size_t file, const struct tt_event *ev,
							     int col)
{
	switch (col) {
	case EC_file: return text_static(v, file_of(set, file));
	case EC_host: return text_static(v, host_of(set, file));
	case EC_ts: return u64(v, ev->ts_ns);
	case EC_kind: return text_static(v, tt_fmt_kind_name(ev->kind));
	case EC_conn_id: return int_nz(v, ev->conn_id);
	case EC_pid: return int_nz(v, ev->pid);
	case EC_tid: return int_nz(v, ev->tid);
	case EC_flags: return u64(v, ev->flags);
	case EC_community_id: /* derived from the open's addresses, not stored */
		return ev->kind == TT_EV_CONN_OPEN ? community_id(v, set, &ev->u.open) : 0;
	}
	switch (ev->kind) {
		TT_EVENT_KINDS(Q_KIND, 0)
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
	C_CID,
	C_RT_RTO,
	C_RT_FAST,
	C_RT_TLP,
	C_RT_SPURIOUS,
	C_CONNECT,
	C_ACCEPT_WAIT,
	C_SYN_RETRANS,
	C_FAIL,
	C_ZWIN,
	C_NCOLS
};

static int conn_cid(struct tt_query_val *v, const struct tt_query_set *set,
		    const struct tt_query_conn *c)
{
	if (tt_cid_conn(set->cid_seed, c->family, c->proto, c->laddr, c->lport, c->raddr, c->rport,
			v->buf, sizeof(v->buf)) < 0)
		return 0;
	return text(v, v->buf);
}

static int conn_value(struct tt_query_val *v, const struct tt_query_set *set,
		      const struct tt_query_conn *c, int col)
{
	int o = c->have_open;

	switch (col) {
	case C_FILE: return text_static(v, file_of(set, c->file));
	case C_HOST: return text_static(v, host_of(set, c->file));
	case C_ID: return u64(v, c->id);
	case C_PROTO: return proto(v, c->proto);
	case C_FAMILY: return int_nz(v, c->family);
	case C_LADDR: return addr(v, c->family, c->laddr, 0);
	case C_LPORT: return o ? u64(v, c->lport) : 0;
	case C_RADDR: return addr(v, c->family, c->raddr, 1);
	case C_RPORT: return o ? u64(v, c->rport) : 0;
	case C_DIR: return direction(v, c->direction);
	case C_PID: return int_nz(v, c->pid);
	case C_COMM: return comm(v, c->comm);
	case C_CGROUP: return o ? u64(v, c->cgroup) : 0;
	case C_NETNS: return o ? u64(v, c->netns) : 0;
	case C_FIRST: return u64(v, c->first_ts);
	case C_LAST: return u64(v, c->last_ts);
	case C_CLOSE_TS: return int_nz(v, c->close_ts);
	case C_TXB: return u64(v, c->tx_bytes);
	case C_RXB: return u64(v, c->rx_bytes);
	case C_TXP: return u64(v, c->tx_pkts);
	case C_RXP: return u64(v, c->rx_pkts);
	case C_STATE: return tcp_state(v, c->state);
	case C_RTT: return int_nz(v, c->rtt_us);
	case C_MAXRTT: return int_nz(v, c->max_rtt_us);
	case C_RETRANS: return u64(v, c->retrans);
	case C_RESETS: return u64(v, c->resets);
	case C_CLOSED: return u64(v, c->closed);
	case C_PREEX: return u64(v, c->preexisting);
	case C_EVENTS: return u64(v, c->events);
	case C_CID: return o ? conn_cid(v, set, c) : 0;
	case C_RT_RTO: return u64(v, c->retrans_rto);
	case C_RT_FAST: return u64(v, c->retrans_fast);
	case C_RT_TLP: return u64(v, c->retrans_tlp);
	case C_RT_SPURIOUS: return u64(v, c->retrans_spurious);
	case C_CONNECT: return c->have & TT_ACC_HAVE_CONNECT ? u64(v, c->connect_us) : 0;
	case C_ACCEPT_WAIT: return c->have & TT_ACC_HAVE_ACCEPT ? u64(v, c->accept_wait_us) : 0;
	case C_SYN_RETRANS: return c->have & TT_ACC_HAVE_SYN_RETRANS ? u64(v, c->syn_retrans) : 0;
	case C_FAIL: return fail_reason(v, c->fail_reason);
	case C_ZWIN: return c->proto == IPPROTO_TCP ? u64(v, c->zero_window_ms) : 0;
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

static int proc_value(struct tt_query_val *v, const struct tt_query_set *set,
		      const struct tt_query_proc *p, int col)
{
	switch (col) {
	case P_FILE: return text_static(v, file_of(set, p->file));
	case P_HOST: return text_static(v, host_of(set, p->file));
	case P_PID: return u64(v, p->pid);
	case P_COMM: return comm(v, p->comm);
	case P_PPID: return p->have_ppid ? u64(v, p->ppid) : 0;
	case P_FIRST: return u64(v, p->first_ts);
	case P_LAST: return u64(v, p->last_ts);
	case P_EXIT_TS: return p->exited ? u64(v, p->exit_ts) : 0;
	case P_EXIT: return p->exited ? i32(v, p->exit_code) : 0;
	case P_EXECS: return u64(v, p->execs);
	case P_CONNS: return u64(v, p->conns);
	}
	return 0;
}

static int lost_value(struct tt_query_val *v, const struct tt_query_set *set,
		      const struct tt_query_lost *l, int col)
{
	switch (col) {
	case 0: return text_static(v, file_of(set, l->file));
	case 1: return text_static(v, host_of(set, l->file));
	case 2: return u64(v, l->ts);
	case 3: return u64(v, l->cpu);
	case 4: return u64(v, l->count);
	}
	return 0;
}

static int listener_value(struct tt_query_val *v, const struct tt_query_set *set,
			  const struct tt_query_listener *r, int col)
{
	const struct tt_ev_listener *l = &r->l;

	switch (col) {
	case 0: return text_static(v, file_of(set, r->file));
	case 1: return text_static(v, host_of(set, r->file));
	case 2: return u64(v, r->ts);
	case 3: return addr(v, l->family, l->laddr, 0);
	case 4: return u64(v, l->lport);
	case 5: return int_nz(v, r->pid);
	case 6: return comm(v, l->comm);
	case 7: return u64(v, l->accept_queue);
	case 8: return u64(v, l->accept_queue_max);
	case 9: return u64(v, l->drops);
	case 10: return 0; /* syn_drops: no per-socket count in the kernel */
	case 11: return u64(v, l->family);
	case 12: return u64(v, l->netns);
	}
	return 0;
}

static int drop_value(struct tt_query_val *v, const struct tt_query_set *set,
		      const struct tt_query_drop *d, int col)
{
	switch (col) {
	case 0: return text_static(v, file_of(set, d->file));
	case 1: return text_static(v, host_of(set, d->file));
	case 2: return u64(v, d->ts);
	case 3: return int_nz(v, d->conn_id);
	case 4: return kname(v, d->d.reason);
	case 5: return u64(v, d->d.code);
	}
	return 0;
}

static int sample_value(struct tt_query_val *v, const struct tt_query_set *set,
			const struct tt_query_sample *x, int col)
{
	const struct tt_ev_sample *s = &x->s;

	switch (col) {
	case 0: return text_static(v, file_of(set, x->file));
	case 1: return text_static(v, host_of(set, x->file));
	case 2: return u64(v, x->conn_id);
	case 3: return u64(v, x->ts);
	case 4: return u64(v, s->srtt_us);
	case 5: return u64(v, s->min_rtt_us);
	case 6: return u64(v, s->rttvar_us);
	case 7: return u64(v, s->cwnd);
	/* TCP_INFINITE_SSTHRESH */
	case 8: return s->ssthresh != 0x7fffffff ? u64(v, s->ssthresh) : 0;
	case 9: return s->pacing_rate && s->pacing_rate != UINT64_MAX ? u64(v, s->pacing_rate) : 0;
	case 10: return u64(v, s->delivery_rate);
	case 11: return u64(v, s->app_limited);
	case 12: return u64(v, s->in_flight);
	case 13: return u64(v, s->lost);
	case 14: return u64(v, s->reordering);
	case 15: return u64(v, s->dsack_dups);
	case 16: return u64(v, s->busy_us);
	case 17: return u64(v, s->rwnd_limited_us);
	case 18: return u64(v, s->sndbuf_limited_us);
	case 19: return u64(v, s->snd_wnd);
	case 20: return u64(v, s->rcv_wnd);
	}
	return 0;
}

static int stall_value(struct tt_query_val *v, const struct tt_query_set *set,
		       const struct tt_query_stall *x, int col)
{
	switch (col) {
	case 0: return text_static(v, file_of(set, x->file));
	case 1: return text_static(v, host_of(set, x->file));
	case 2: return u64(v, x->conn_id);
	case 3: return text_static(v, tt_fmt_stall_side_name(x->side));
	case 4: return u64(v, x->start_ns);
	case 5: return x->ended ? u64(v, x->end_ns) : 0;
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
	K_MISSING,
	K_RAW_SLICE,
	K_WRITING,
	K_NCOLS
};

int tt_query_columns_ok(void)
{
	return tt_query_tables[TQ_T_EVENTS].n_cols == E_NCOLS &&
	       tt_query_tables[TQ_T_CONNECTIONS].n_cols == C_NCOLS &&
	       tt_query_tables[TQ_T_PROCESSES].n_cols == P_NCOLS &&
	       tt_query_tables[TQ_T_LOST].n_cols == 5 &&
	       tt_query_tables[TQ_T_SAMPLES].n_cols == 21 &&
	       tt_query_tables[TQ_T_STALLS].n_cols == 6 &&
	       tt_query_tables[TQ_T_LISTENERS].n_cols == 13 &&
	       tt_query_tables[TQ_T_DROPS].n_cols == 6 &&
	       tt_query_tables[TQ_T_CAPTURE].n_cols == K_NCOLS;
}

static int capture_value(struct tt_query_val *v, sqlite3_context *ctx, struct tt_query_set *set,
			 size_t file, int col)
{
	const struct tt_query_file *f = &set->files[file];
	const struct tt_fmt_header *h = &f->hdr;
	const struct tt_query_summary *s;

	switch (col) {
	case K_FILE: return text_static(v, f->path);
	case K_HOST: return text(v, h->hostname);
	case K_KERNEL: return text(v, h->kernel);
	case K_BOOT: return text(v, h->boot_id);
	case K_START: return u64(v, h->start_ns);
	case K_END: return f->size ? 0 : int_nz(v, f->last_ns); /* not ended yet */
	case K_MODE: return text(v, h->mode);
	case K_COALESCE: return u64(v, h->coalesce_ms);
	case K_FILTERS: return text(v, h->filters);
	case K_PROBES: return text(v, h->probes);
	case K_MISSING: return text(v, h->missing);
	case K_RAW_SLICE: return u64(v, h->raw_slice_ns);
	case K_WRITING: return u64(v, f->size != 0);
	case K_TOOL: return text(v, h->tool_version);
	case K_FORMAT:
		snprintf(v->buf, sizeof(v->buf), "%u.%u", h->version_major, h->version_minor);
		return text(v, v->buf);
	case K_CLOCK: return text(v, h->clock);
	case K_EVENTS:
	case K_WARNINGS:
		/* only these two need the whole file read */
		s = tt_query_summary_get(set);
		if (!s) {
			sqlite3_result_error(ctx, set->err, -1);
			return -1;
		}
		return u64(v, col == K_EVENTS ? s->fstat[file].events : s->fstat[file].warnings);
	}
	return 0;
}

int tt_query_event_value(struct tt_query_val *v, const struct tt_query_set *set, size_t file,
			 const struct tt_event *ev, int col)
{
	return event_value(v, set, file, ev, col);
}

static inline void result(sqlite3_context *ctx, const struct tt_query_val *v)
{
	if (v->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, v->i);
	else if (v->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, v->s, -1, v->is_static ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

void tt_query_result(sqlite3_context *ctx, const struct tt_query_val *v)
{
	if (v->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, v->i);
	else if (v->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, v->s, -1, v->is_static ? SQLITE_STATIC : SQLITE_TRANSIENT);
	/* else the result stays NULL */
}

int tt_query_event_column(sqlite3_context *ctx, const struct tt_query_set *set, size_t file,
			  const struct tt_event *ev, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	event_value(&v, set, file, ev, col);
	result(ctx, &v);
	return 0;
}

int tt_query_conn_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_conn *c, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	conn_value(&v, set, c, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_proc_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_proc *p, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	proc_value(&v, set, p, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_lost_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_lost *l, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	lost_value(&v, set, l, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_listener_column(sqlite3_context *ctx, const struct tt_query_set *set,
			     const struct tt_query_listener *l, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	listener_value(&v, set, l, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_drop_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_drop *d, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	drop_value(&v, set, d, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_sample_column(sqlite3_context *ctx, const struct tt_query_set *set,
			   const struct tt_query_sample *x, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	sample_value(&v, set, x, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_stall_column(sqlite3_context *ctx, const struct tt_query_set *set,
			  const struct tt_query_stall *x, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	stall_value(&v, set, x, col);
	tt_query_result(ctx, &v);
	return 0;
}

int tt_query_capture_column(sqlite3_context *ctx, struct tt_query_set *set, size_t file, int col)
{
	struct tt_query_val v;

	v.type = SQLITE_NULL;
	if (capture_value(&v, ctx, set, file, col) < 0)
		return -1;
	tt_query_result(ctx, &v);
	return 0;
}

uint64_t tt_query_group_keys_ok(void)
{
	static const int keys[] = {
	    EC_file,	  EC_host,	EC_kind,  EC_conn_id,	  EC_pid,   EC_tid,    EC_flags,
	    EC_old_state, EC_new_state, EC_state, EC_reset_dir,	  EC_proto, EC_family, EC_laddr,
	    EC_lport,	  EC_raddr,	EC_rport, EC_direction,	  EC_netns, EC_cgroup, EC_comm,
	    EC_ppid,	  EC_exit_code, EC_cpu,	  EC_community_id};
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		m |= TQ_COL(keys[i]);
	return m;
}
