/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One pass over every file builds the rows of connections, processes and
 * lost. A connection row folds its events with the state table's own fold
 * (tt_acc.h): the sum of TRAFFIC deltas, replaced at CONN_CLOSE by the
 * close's absolute counters when those are larger (the socket's own counters
 * see what coalescing or lost events missed), last state and RTT, and so on.
 * Here only which row an event goes to, its owner, and a rotated set's
 * shares.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "tt_acc.h"
#include "tt_u64map.h"

/*
 * A 64-bit id -> row index, per file, that remembers the last key found: events of one
 * connection or process come in runs. Its map is made on the first put.
 */
struct idmap {
	struct tt_u64map m; /* id -> row (uint32_t) */
	uint64_t hit_key;
	uint32_t hit_row;
	int hit;
};

/* Row index of key, or -1. */
static long idmap_get(struct idmap *r, uint64_t key)
{
	const uint32_t *v;

	if (r->hit && r->hit_key == key)
		return r->hit_row;
	if (!r->m.ents || !(v = tt_u64map_get(&r->m, key)))
		return -1;
	r->hit = 1;
	r->hit_key = key;
	r->hit_row = *v;
	return *v;
}

static int idmap_put(struct idmap *r, uint64_t key, size_t row)
{
	void *v;

	if (!r->m.ents && tt_u64map_init(&r->m, sizeof(uint32_t), 512))
		return -ENOMEM;
	if (tt_u64map_put(&r->m, key, &v) < 0)
		return -ENOMEM;
	*(uint32_t *)v = (uint32_t)row;
	r->hit = 1;
	r->hit_key = key;
	r->hit_row = (uint32_t)row;
	return 0;
}

static void idmap_free(struct idmap *r)
{
	tt_u64map_free(&r->m);
}

/*
 * Connections open at the end of a file, per recording (host + boot id), with
 * what the rows of that recording's files have counted for them so far. The
 * recorder repeats their CONN_OPEN (flagged preexisting) at the top of the
 * next file of a rotation, where their close brings absolute counters.
 */
struct carry_ent {
	uint64_t tx, rx, txp, rxp;
	uint64_t who; /* fingerprint of the endpoints: ids alone may be reused (UDP flow ids) */
	uint32_t retrans;
	uint8_t live;
};

struct tt_query_carry {
	struct idmap *maps; /* one per recording number */
	size_t n_maps;
	struct carry_ent *ents;
	size_t n_ents, cap_ents;
};

int tt_query_carry_new(struct tt_query_carry **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void tt_query_carry_free(struct tt_query_carry *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_maps; i++)
		idmap_free(&c->maps[i]);
	free(c->maps);
	free(c->ents);
	free(c);
}

static struct idmap *carry_map(struct tt_query_carry *c, uint32_t rec)
{
	if (rec >= c->n_maps) {
		struct idmap *m = realloc(c->maps, (rec + 1) * sizeof(*m));

		if (!m)
			return NULL;
		memset(m + c->n_maps, 0, (rec + 1 - c->n_maps) * sizeof(*m));
		c->maps = m;
		c->n_maps = rec + 1;
	}
	return &c->maps[rec];
}

/* What earlier files counted for a connection still open, or NULL. */
static const struct carry_ent *carry_get(struct tt_query_carry *c, uint32_t rec, uint64_t id)
{
	long i;

	if (!c || rec >= c->n_maps)
		return NULL;
	i = idmap_get(&c->maps[rec], id);
	return i >= 0 && c->ents[i].live ? &c->ents[i] : NULL;
}

/* The entry of (rec, id), created on first use. */
static struct carry_ent *carry_put(struct tt_query_carry *c, uint32_t rec, uint64_t id)
{
	struct idmap *m = carry_map(c, rec);
	long i;

	if (!m)
		return NULL;
	i = idmap_get(m, id);
	if (i >= 0)
		return &c->ents[i];
	if (c->n_ents == c->cap_ents) {
		size_t cap = c->cap_ents ? c->cap_ents * 2 : 256;
		struct carry_ent *e = realloc(c->ents, cap * sizeof(*e));

		if (!e)
			return NULL;
		c->ents = e;
		c->cap_ents = cap;
	}
	if (idmap_put(m, id, c->n_ents))
		return NULL;
	memset(&c->ents[c->n_ents], 0, sizeof(c->ents[0]));
	return &c->ents[c->n_ents++];
}

struct tt_query_agg {
	struct tt_query_summary *s;
	uint32_t file;
	size_t cap_conns, cap_procs, cap_lost, cap_listeners, cap_drops, cap_samples, cap_stalls;
	size_t first_conn; /* this file's rows are s->conns[first_conn..] */
	/* acc[i - first_conn] folds row i's events; copied into the row by tt_query_agg_finish() */
	struct tt_conn_acc *acc;
	size_t cap_acc;
	struct idmap conns, procs;
	struct tt_query_carry *carry;
	uint32_t rec;
};

int tt_query_agg_new(struct tt_query_agg **out, struct tt_query_summary *s, uint32_t file,
		     struct tt_query_carry *carry, uint32_t recording)
{
	struct tt_query_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->s = s;
	a->file = file;
	a->cap_conns = a->cap_procs = a->cap_lost = a->cap_listeners = a->cap_drops =
	    a->cap_samples = a->cap_stalls = SIZE_MAX; /* arrays may hold earlier files */
	a->first_conn = s->n_conns;
	a->carry = carry;
	a->rec = recording;
	*out = a;
	return 0;
}

static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t c;
	void *p;

	if (*cap != SIZE_MAX && n < *cap)
		return 0;
	c = n < 64 ? 128 : n * 2;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* A hash of a connection's endpoints (FNV-1a). */
static uint64_t endpoints(uint8_t family, uint8_t proto, uint16_t lport, uint16_t rport,
			  const uint8_t *laddr, const uint8_t *raddr, uint32_t netns)
{
	uint8_t b[2 * TT_ADDR_LEN + 10];
	uint64_t h = 0xcbf29ce484222325ull;

	memcpy(b, laddr, TT_ADDR_LEN);
	memcpy(b + TT_ADDR_LEN, raddr, TT_ADDR_LEN);
	b[32] = family;
	b[33] = proto;
	memcpy(b + 34, &lport, 2);
	memcpy(b + 36, &rport, 2);
	memcpy(b + 38, &netns, 4);
	for (size_t i = 0; i < sizeof(b); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* A new row for ev's connection: its index, or -1 when out of memory. */
static long conn_new(struct tt_query_agg *a, const struct tt_event *ev)
{
	struct tt_query_summary *s = a->s;
	const struct carry_ent *prev = NULL;
	uint64_t id = ev->conn_id;
	struct tt_query_conn *c;

	/*
	 * Only the open a rotation repeats (preexisting) continues a connection of
	 * the previous file, and only with the same endpoints; a fresh open is a
	 * new connection that reuses the id.
	 */
	if (ev->kind == TT_EV_CONN_OPEN && (ev->flags & TT_F_PREEXISTING)) {
		const struct tt_ev_open *o = &ev->u.open;

		prev = carry_get(a->carry, a->rec, id);
		if (prev && prev->who != endpoints(o->family, o->proto, o->lport, o->rport,
						   o->laddr, o->raddr, o->netns))
			prev = NULL;
	}

	if (grow((void **)&s->conns, s->n_conns, &a->cap_conns, sizeof(*c)) ||
	    grow((void **)&a->acc, s->n_conns - a->first_conn, &a->cap_acc, sizeof(*a->acc)) ||
	    idmap_put(&a->conns, id, s->n_conns))
		return -1;
	tt_acc_init(&a->acc[s->n_conns - a->first_conn], ev->ts_ns);
	c = &s->conns[s->n_conns];
	memset(c, 0, sizeof(*c));
	c->file = a->file;
	c->id = id;
	if (prev) {
		c->base_tx = prev->tx;
		c->base_rx = prev->rx;
		c->base_txp = prev->txp;
		c->base_rxp = prev->rxp;
		c->base_retrans = prev->retrans;
	}
	return (long)s->n_conns++;
}

static struct tt_query_proc *proc_new(struct tt_query_agg *a, uint32_t pid, uint64_t ts)
{
	struct tt_query_summary *s = a->s;
	struct tt_query_proc *p;

	if (grow((void **)&s->procs, s->n_procs, &a->cap_procs, sizeof(*p)) ||
	    idmap_put(&a->procs, pid, s->n_procs))
		return NULL;
	p = &s->procs[s->n_procs++];
	memset(p, 0, sizeof(*p));
	p->file = a->file;
	p->pid = pid;
	p->first_ts = p->last_ts = ts;
	return p;
}

/* The process row of pid, created on first sight; an exited pid seen again is a new process. */
static int touch_proc(struct tt_query_agg *a, const struct tt_event *ev, struct tt_query_proc **out)
{
	long i = idmap_get(&a->procs, ev->pid);
	struct tt_query_proc *p = i >= 0 ? &a->s->procs[i] : NULL;

	*out = NULL;
	if (!ev->pid)
		return 0;
	if (p && p->exited)
		p = NULL;
	if (!p && !(p = proc_new(a, ev->pid, ev->ts_ns)))
		return -ENOMEM;
	if (ev->ts_ns > p->last_ts)
		p->last_ts = ev->ts_ns;
	if (ev->ts_ns < p->first_ts)
		p->first_ts = ev->ts_ns;
	*out = p;
	return 0;
}

static void set_comm(char *dst, const char *src)
{
	if (src[0])
		memcpy(dst, src, TT_COMM_LEN);
	dst[TT_COMM_LEN - 1] = 0;
}

static int apply_proc(struct tt_query_agg *a, const struct tt_event *ev)
{
	struct tt_query_proc *p;
	int ret = touch_proc(a, ev, &p);

	if (ret || !p)
		return ret;
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (!(ev->flags & TT_F_PID_UNKNOWN)) {
			set_comm(p->comm, ev->u.open.comm);
			p->conns++;
		}
		break;
	case TT_EV_CONN_PROC:
		set_comm(p->comm, ev->u.proc.comm);
		p->conns++;
		break;
	case TT_EV_PROC_EXEC:
		p->execs++;
		/* fall through */
	case TT_EV_PROC_NAME:
	case TT_EV_PROC_EXIT:
		set_comm(p->comm, ev->u.proc.comm);
		if (ev->u.proc.ppid) {
			p->ppid = ev->u.proc.ppid;
			p->have_ppid = 1;
		}
		if (ev->kind == TT_EV_PROC_EXIT) {
			p->exited = 1;
			p->exit_ts = ev->ts_ns;
			p->exit_code = ev->u.proc.exit_code;
		}
		break;
	}
	return 0;
}

/* What of an absolute counter is beyond base (0 when nothing is). */
static uint64_t beyond(uint64_t abs, uint64_t base)
{
	return abs > base ? abs - base : 0;
}

/*
 * A row continuing one of the previous file's (base_*) owns only what the
 * close's absolute counters hold beyond what those rows counted: the close
 * as this row's share, into tmp. The fold then keeps its own sums when they
 * are larger, as for any close.
 */
static const struct tt_event *close_share(const struct tt_query_conn *c, const struct tt_event *ev,
					  struct tt_event *tmp)
{
	struct tt_ev_close *cl = &tmp->u.close;

	*tmp = *ev;
	cl->tx_bytes = beyond(cl->tx_bytes, c->base_tx);
	cl->rx_bytes = beyond(cl->rx_bytes, c->base_rx);
	cl->tx_pkts = (uint32_t)beyond(cl->tx_pkts, c->base_txp);
	cl->rx_pkts = (uint32_t)beyond(cl->rx_pkts, c->base_rxp);
	cl->retrans = (uint32_t)beyond(cl->retrans, c->base_retrans);
	return tmp;
}

/* The row's owner: from the open, else CONN_PROC, else the first traffic with a pid. */
static void apply_owner(struct tt_query_conn *c, const struct tt_event *ev)
{
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (!(ev->flags & TT_F_PID_UNKNOWN) && ev->pid) {
			c->pid = ev->pid;
			set_comm(c->comm, ev->u.open.comm);
		}
		break;
	case TT_EV_TRAFFIC:
		if (!c->pid && ev->pid) {
			c->pid = ev->pid;
			c->pid_late = 1;
		}
		break;
	case TT_EV_CONN_PROC:
		if (ev->pid) {
			c->pid = ev->pid;
			c->pid_late = 1;
			set_comm(c->comm, ev->u.proc.comm);
		}
		break;
	}
}

static int apply_conn(struct tt_query_agg *a, const struct tt_event *ev)
{
	long i = idmap_get(&a->conns, ev->conn_id);
	struct tt_query_conn *c;
	struct tt_event share;
	int fresh = i < 0;

	/* an id opened again after its open or close is a new connection (UDP flow ids, cookies) */
	if (!fresh && ev->kind == TT_EV_CONN_OPEN &&
	    (a->acc[i - a->first_conn].flags & (TT_ACC_OPENED | TT_ACC_CLOSED)))
		fresh = 1;
	if (fresh && (i = conn_new(a, ev)) < 0)
		return -ENOMEM;
	c = &a->s->conns[i];
	c->events++;
	if (ev->kind == TT_EV_CONN_CLOSE)
		ev = close_share(c, ev, &share);
	tt_acc_apply(&a->acc[i - a->first_conn], ev, fresh);
	apply_owner(c, ev);
	return 0;
}

/* The sample a close writes just before it, at its time, has the close's srtt (docs/FORMAT.md). */
static void close_sample(struct tt_query_agg *a, const struct tt_event *ev)
{
	struct tt_query_summary *s = a->s;

	for (size_t i = s->n_samples; i-- > 0 && i + 64 >= s->n_samples;) {
		struct tt_query_sample *x = &s->samples[i];

		if (x->file == a->file && x->conn_id == ev->conn_id) {
			if (x->ts == ev->ts_ns && !x->s.srtt_us)
				x->s.srtt_us = ev->u.close.srtt_us;
			return;
		}
	}
}

/*
 * A stall's row: made by its begin (seen by a pass) and ended by its end, or made by an end
 * alone (its begin in an earlier file, or lost). Both carry the start (ts - dur_us).
 */
static int apply_stall(struct tt_query_agg *a, const struct tt_event *ev)
{
	struct tt_query_summary *s = a->s;
	const struct tt_ev_stall *st = &ev->u.stall;
	uint64_t dur = st->dur_us * 1000, start = ev->ts_ns > dur ? ev->ts_ns - dur : 0;
	struct tt_query_stall *x = NULL;

	/* the begin of this one, among the few stalls (of any connection) since */
	for (size_t i = s->n_stalls; i-- > 0 && i + 64 >= s->n_stalls;) {
		struct tt_query_stall *y = &s->stalls[i];

		if (y->file == a->file && y->conn_id == ev->conn_id && y->side == st->side &&
		    !y->ended) {
			x = y;
			break;
		}
	}
	if (x && st->phase == TT_STALL_BEGIN)
		return 0; /* seen going on again */
	if (!x) {
		if (grow((void **)&s->stalls, s->n_stalls, &a->cap_stalls, sizeof(*s->stalls)))
			return -ENOMEM;
		x = &s->stalls[s->n_stalls++];
		*x = (struct tt_query_stall){
		    .file = a->file, .side = st->side, .conn_id = ev->conn_id, .start_ns = start};
	}
	if (st->phase == TT_STALL_END) {
		x->start_ns = start;
		x->end_ns = ev->ts_ns;
		x->ended = 1;
	}
	return 0;
}

int tt_query_agg_apply(struct tt_query_agg *a, const struct tt_event *ev)
{
	struct tt_query_fstat *fs = &a->s->fstat[a->file];
	int ret = 0;

	fs->events++;
	if (!fs->first_ts || ev->ts_ns < fs->first_ts)
		fs->first_ts = ev->ts_ns;
	if (ev->ts_ns > fs->last_ts)
		fs->last_ts = ev->ts_ns;
	if (tt_event_about_conn(ev->kind) && ev->conn_id)
		ret = apply_conn(a, ev);
	switch (ev->kind) {
	case TT_EV_CONN_CLOSE: close_sample(a, ev); break;
	case TT_EV_SAMPLE:
		if (grow((void **)&a->s->samples, a->s->n_samples, &a->cap_samples,
			 sizeof(*a->s->samples)))
			return -ENOMEM;
		a->s->samples[a->s->n_samples++] = (struct tt_query_sample){
		    .file = a->file, .conn_id = ev->conn_id, .ts = ev->ts_ns, .s = ev->u.sample};
		break;
	case TT_EV_STALL:
		if (apply_stall(a, ev))
			return -ENOMEM;
		break;
	case TT_EV_LOST: {
		struct tt_query_summary *s = a->s;

		if (grow((void **)&s->lost, s->n_lost, &a->cap_lost, sizeof(*s->lost)))
			return -ENOMEM;
		s->lost[s->n_lost++] = (struct tt_query_lost){
		    .file = a->file,
		    .cpu = ev->u.lost.cpu,
		    .ts = ev->ts_ns,
		    .count = ev->u.lost.count,
		};
		break;
	}
	case TT_EV_LISTENER: {
		struct tt_query_summary *s = a->s;

		if (grow((void **)&s->listeners, s->n_listeners, &a->cap_listeners,
			 sizeof(*s->listeners)))
			return -ENOMEM;
		s->listeners[s->n_listeners++] = (struct tt_query_listener){
		    .file = a->file,
		    .ts = ev->ts_ns,
		    .pid = ev->pid,
		    .l = ev->u.listener,
		};
		break;
	}
	case TT_EV_DROP: {
		struct tt_query_summary *s = a->s;

		if (grow((void **)&s->drops, s->n_drops, &a->cap_drops, sizeof(*s->drops)))
			return -ENOMEM;
		s->drops[s->n_drops++] = (struct tt_query_drop){
		    .file = a->file,
		    .ts = ev->ts_ns,
		    .conn_id = ev->conn_id,
		    .d = ev->u.drop,
		};
		break;
	}
	}
	/* events about the whole capture (lost, stats) belong to no process */
	if (!ret && ev->pid && tt_event_scope(ev->kind) != TT_SCOPE_CAPTURE)
		ret = apply_proc(a, ev);
	return ret;
}

/* The folded part of this file's rows, which until now held their identity and owner only. */
static void rows_fill(struct tt_query_agg *a)
{
	struct tt_query_summary *s = a->s;

	for (size_t i = a->first_conn; i < s->n_conns; i++) {
		const struct tt_conn_acc *x = &a->acc[i - a->first_conn];
		struct tt_query_conn *c = &s->conns[i];

		c->have_open = !!(x->flags & TT_ACC_OPENED);
		c->closed = !!(x->flags & TT_ACC_CLOSED);
		c->preexisting = !!(x->flags & TT_ACC_PREEXISTING);
		c->family = x->family;
		c->proto = x->proto;
		c->direction = x->direction;
		c->state = x->state;
		memcpy(c->laddr, x->laddr, TT_ADDR_LEN);
		memcpy(c->raddr, x->raddr, TT_ADDR_LEN);
		c->lport = x->lport;
		c->rport = x->rport;
		c->netns = x->netns;
		c->cgroup = x->cgroup_id;
		c->first_ts = x->first_ts;
		c->last_ts = x->last_ts;
		c->close_ts = x->close_ts;
		c->tx_bytes = x->tx_bytes;
		c->rx_bytes = x->rx_bytes;
		c->tx_pkts = x->tx_pkts;
		c->rx_pkts = x->rx_pkts;
		c->rtt_us = x->rtt_us;
		c->max_rtt_us = x->max_rtt_us;
		c->retrans = x->retrans;
		c->resets = x->resets;
		c->zero_window_ms = x->zero_window_ms;
		c->retrans_rto = x->retrans_rto;
		c->retrans_fast = x->retrans_fast;
		c->retrans_tlp = x->retrans_tlp;
		c->retrans_spurious = x->retrans_spurious;
		c->have = x->have;
		c->fail_reason = x->fail_reason;
		c->connect_us = x->connect_us;
		c->syn_retrans = x->syn_retrans;
		c->accept_wait_us = x->accept_wait_us;
	}
}

/* Remember what this file's rows counted for connections still open at its end. */
static int carry_update(struct tt_query_agg *a)
{
	struct tt_query_summary *s = a->s;

	for (size_t i = a->first_conn; a->carry && i < s->n_conns; i++) {
		const struct tt_query_conn *c = &s->conns[i];
		struct carry_ent *e = carry_put(a->carry, a->rec, c->id);

		if (!e)
			return -ENOMEM;
		*e = (struct carry_ent){
		    .tx = c->base_tx + c->tx_bytes,
		    .rx = c->base_rx + c->rx_bytes,
		    .txp = c->base_txp + c->tx_pkts,
		    .rxp = c->base_rxp + c->rx_pkts,
		    .retrans = c->base_retrans + c->retrans,
		    .who = endpoints(c->family, c->proto, c->lport, c->rport, c->laddr, c->raddr,
				     c->netns),
		    .live = !c->closed && c->have_open,
		};
	}
	return 0;
}

int tt_query_agg_finish(struct tt_query_agg *a)
{
	struct tt_query_summary *s = a->s;
	int ret;

	rows_fill(a);
	ret = carry_update(a);

	/* connections of this file whose name never came with them take their process's */
	for (size_t i = 0; i < s->n_conns; i++) {
		struct tt_query_conn *c = &s->conns[i];
		long p;

		if (c->file != a->file || c->comm[0] || !c->pid)
			continue;
		p = idmap_get(&a->procs, c->pid);
		if (p >= 0)
			memcpy(c->comm, s->procs[p].comm, TT_COMM_LEN);
	}
	idmap_free(&a->conns);
	idmap_free(&a->procs);
	free(a->acc);
	free(a);
	return ret;
}

void tt_query_summary_free(struct tt_query_summary *s)
{
	if (!s)
		return;
	free(s->conns);
	free(s->procs);
	free(s->lost);
	free(s->samples);
	free(s->stalls);
	free(s->listeners);
	free(s->drops);
	free(s->fstat);
	free(s);
}

/* Files of a rotation follow each other; allow for the wall clock stepping between them. */
#define ROTATION_SLACK_NS 1000000000ull

/*
 * Recording number of file f (files are visited in start order): that of an
 * earlier file of the same host and boot which ended before f began (the
 * previous file of a rotation, or an earlier run: either way its counts come
 * before f's), else a new one. Overlapping captures (two recorders at once)
 * saw the same bytes and must not subtract each other's.
 */
static uint32_t recording(const struct tt_query_set *set, const size_t *order, size_t i,
			  uint64_t *chain_end)
{
	const struct tt_query_file *f = &set->files[order[i]];
	uint64_t lim = f->hdr.start_ns > UINT64_MAX - ROTATION_SLACK_NS
			   ? UINT64_MAX
			   : f->hdr.start_ns + ROTATION_SLACK_NS;
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < i; k++) {
		const struct tt_query_file *g = &set->files[order[k]];
		size_t r = order[k];

		if (strcmp(f->hdr.hostname, g->hdr.hostname) ||
		    strcmp(f->hdr.boot_id, g->hdr.boot_id))
			continue;
		/* order[k] heads its chain only if chain_end was set for it */
		if (chain_end[r] == UINT64_MAX || chain_end[r] > lim)
			continue;
		if (best == SIZE_MAX || chain_end[r] > chain_end[best])
			best = r;
	}
	if (best == SIZE_MAX)
		best = order[i];
	chain_end[best] = f->last_ns && f->last_ns < UINT64_MAX - ROTATION_SLACK_NS
			      ? f->last_ns
			      : UINT64_MAX - ROTATION_SLACK_NS - 1;
	return (uint32_t)best;
}

/*
 * Files are read in the order they began, whatever order the command line
 * gave (a shell glob sorts cap.tt.10 before cap.tt.2), so that the files of a
 * rotation hand their open connections on to the next one.
 */
static int by_start(const void *x, const void *y, void *ctx)
{
	const struct tt_query_set *set = ctx;
	const struct tt_query_file *a = &set->files[*(const size_t *)x];
	const struct tt_query_file *b = &set->files[*(const size_t *)y];

	if (a->hdr.start_ns != b->hdr.start_ns)
		return a->hdr.start_ns < b->hdr.start_ns ? -1 : 1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static int build(struct tt_query_set *set, struct tt_query_summary *s)
{
	size_t n = set->n_files ? set->n_files : 1;
	struct tt_query_carry *carry = NULL;
	size_t *order = calloc(n, sizeof(*order));
	uint64_t *chain_end = malloc(n * sizeof(*chain_end));
	int ret = order && chain_end ? tt_query_carry_new(&carry) : -ENOMEM;

	if (ret) {
		free(order);
		free(chain_end);
		snprintf(set->err, sizeof(set->err), "out of memory");
		return ret;
	}
	for (size_t i = 0; i < set->n_files; i++) {
		order[i] = i;
		chain_end[i] = UINT64_MAX; /* not the head of a chain (yet) */
	}
	qsort_r(order, set->n_files, sizeof(*order), by_start, set);
	for (size_t i = 0; !ret && i < set->n_files; i++) {
		size_t f = order[i];
		struct tt_query_scan sc;
		struct tt_query_agg *a;
		struct tt_event ev;

		ret = tt_query_agg_new(&a, s, (uint32_t)f, carry,
				       recording(set, order, i, chain_end));
		if (ret)
			break;
		ret = tt_query_scan_open(&sc, set, f);
		while (ret >= 0 && (ret = tt_query_scan_next(&sc, &ev)) > 0)
			ret = tt_query_agg_apply(a, &ev);
		s->fstat[f].warnings = sc.warnings;
		tt_query_scan_close(&sc);
		if (tt_query_agg_finish(a) && !ret)
			ret = -ENOMEM;
		if (ret == -ENOMEM)
			snprintf(set->err, sizeof(set->err), "out of memory");
	}
	tt_query_carry_free(carry);
	free(order);
	free(chain_end);
	return ret < 0 ? ret : 0;
}

const struct tt_query_summary *tt_query_summary_get(struct tt_query_set *set)
{
	struct tt_query_summary *s;

	if (set->summary || set->summary_err)
		return set->summary;
	s = calloc(1, sizeof(*s));
	if (s)
		s->fstat = calloc(set->n_files ? set->n_files : 1, sizeof(*s->fstat));
	if (!s || !s->fstat) {
		tt_query_summary_free(s);
		snprintf(set->err, sizeof(set->err), "out of memory");
		set->summary_err = -ENOMEM;
		return NULL;
	}
	set->summary_err = build(set, s);
	if (set->summary_err) {
		tt_query_summary_free(s);
		return NULL;
	}
	set->summary = s;
	return s;
}
