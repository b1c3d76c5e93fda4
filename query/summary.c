/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One pass over every file builds the rows of connections, processes and
 * lost. Connection totals follow the state table's rules: the sum of TRAFFIC
 * deltas, replaced at CONN_CLOSE by the close's absolute counters when those
 * are larger (the socket's own counters see what coalescing or lost events
 * missed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

/* Open addressing map from a 64-bit id to a row index, per file. */
struct idmap {
	uint64_t *keys;
	uint32_t *vals; /* row index + 1; 0 = empty slot */
	size_t cap, used;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static uint32_t *idmap_slot(struct idmap *m, uint64_t key)
{
	size_t i = mix(key) & (m->cap - 1);

	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = key;
	return &m->vals[i];
}

static int idmap_grow(struct idmap *m)
{
	struct idmap n = {.cap = m->cap ? m->cap * 2 : 1024};

	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			*idmap_slot(&n, m->keys[i]) = m->vals[i];
	n.used = m->used;
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

/* Row index of key, or -1. */
static long idmap_get(struct idmap *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return -1;
	for (i = mix(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return (long)m->vals[i] - 1;
	return -1;
}

static int idmap_put(struct idmap *m, uint64_t key, size_t row)
{
	uint32_t *v;

	if ((m->used + 1) * 2 > m->cap && idmap_grow(m))
		return -ENOMEM;
	v = idmap_slot(m, key);
	if (!*v)
		m->used++;
	*v = (uint32_t)row + 1;
	return 0;
}

static void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
}

struct tt_query_agg {
	struct tt_query_summary *s;
	uint32_t file;
	size_t cap_conns, cap_procs, cap_lost;
	struct idmap conns, procs;
};

int tt_query_agg_new(struct tt_query_agg **out, struct tt_query_summary *s, uint32_t file)
{
	struct tt_query_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->s = s;
	a->file = file;
	a->cap_conns = a->cap_procs = a->cap_lost = SIZE_MAX; /* arrays may hold earlier files */
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

static struct tt_query_conn *conn_new(struct tt_query_agg *a, uint64_t id, uint64_t ts)
{
	struct tt_query_summary *s = a->s;
	struct tt_query_conn *c;

	if (grow((void **)&s->conns, s->n_conns, &a->cap_conns, sizeof(*c)) ||
	    idmap_put(&a->conns, id, s->n_conns))
		return NULL;
	c = &s->conns[s->n_conns++];
	memset(c, 0, sizeof(*c));
	c->file = a->file;
	c->id = id;
	c->first_ts = c->last_ts = ts;
	return c;
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

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static int apply_conn(struct tt_query_agg *a, const struct tt_event *ev)
{
	long i = idmap_get(&a->conns, ev->conn_id);
	struct tt_query_conn *c = i >= 0 ? &a->s->conns[i] : NULL;

	/* an id opened again after its close is a new connection (UDP flow ids, cookies reused) */
	if (ev->kind == TT_EV_CONN_OPEN && c && (c->closed || c->have_open))
		c = NULL;
	if (!c && !(c = conn_new(a, ev->conn_id, ev->ts_ns)))
		return -ENOMEM;
	c->events++;
	if (ev->ts_ns > c->last_ts)
		c->last_ts = ev->ts_ns;
	if (ev->ts_ns < c->first_ts)
		c->first_ts = ev->ts_ns;
	switch (ev->kind) {
	case TT_EV_CONN_OPEN: {
		const struct tt_ev_open *o = &ev->u.open;

		c->have_open = 1;
		memcpy(c->laddr, o->laddr, TT_ADDR_LEN);
		memcpy(c->raddr, o->raddr, TT_ADDR_LEN);
		c->lport = o->lport;
		c->rport = o->rport;
		c->family = o->family;
		c->proto = o->proto;
		c->direction = o->direction;
		if (!c->state)
			c->state = o->state;
		c->netns = o->netns;
		c->cgroup = o->cgroup_id;
		c->preexisting = !!(ev->flags & TT_F_PREEXISTING);
		if (!(ev->flags & TT_F_PID_UNKNOWN) && ev->pid) {
			c->pid = ev->pid;
			set_comm(c->comm, o->comm);
		}
		break;
	}
	case TT_EV_TRAFFIC:
		c->tx_bytes += ev->u.traffic.tx_bytes;
		c->rx_bytes += ev->u.traffic.rx_bytes;
		c->tx_pkts += ev->u.traffic.tx_pkts;
		c->rx_pkts += ev->u.traffic.rx_pkts;
		if (!c->pid && ev->pid) {
			c->pid = ev->pid;
			c->pid_late = 1;
		}
		break;
	case TT_EV_STATE: c->state = ev->u.state.new_state; break;
	case TT_EV_RTT:
		c->rtt_us = ev->u.rtt.srtt_us;
		if (c->rtt_us > c->max_rtt_us)
			c->max_rtt_us = c->rtt_us;
		break;
	case TT_EV_RETRANS: c->retrans += ev->u.retrans.segs; break;
	case TT_EV_RESET: c->resets++; break;
	case TT_EV_CONN_CLOSE: {
		const struct tt_ev_close *cl = &ev->u.close;

		c->closed = 1;
		c->close_ts = ev->ts_ns;
		c->tx_bytes = max64(c->tx_bytes, cl->tx_bytes);
		c->rx_bytes = max64(c->rx_bytes, cl->rx_bytes);
		c->tx_pkts = max64(c->tx_pkts, cl->tx_pkts);
		c->rx_pkts = max64(c->rx_pkts, cl->rx_pkts);
		if (cl->srtt_us) {
			c->rtt_us = cl->srtt_us;
			if (c->rtt_us > c->max_rtt_us)
				c->max_rtt_us = c->rtt_us;
		}
		if (cl->retrans > c->retrans)
			c->retrans = cl->retrans;
		if (cl->state)
			c->state = cl->state;
		break;
	}
	case TT_EV_CONN_PROC:
		if (ev->pid) {
			c->pid = ev->pid;
			c->pid_late = 1;
			set_comm(c->comm, ev->u.proc.comm);
		}
		break;
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
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
	case TT_EV_TRAFFIC:
	case TT_EV_STATE:
	case TT_EV_RTT:
	case TT_EV_RETRANS:
	case TT_EV_RESET:
	case TT_EV_CONN_CLOSE:
	case TT_EV_CONN_PROC:
		if (ev->conn_id)
			ret = apply_conn(a, ev);
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
	}
	if (!ret && ev->pid && ev->kind != TT_EV_LOST && ev->kind != TT_EV_STATS)
		ret = apply_proc(a, ev);
	return ret;
}

int tt_query_agg_finish(struct tt_query_agg *a)
{
	struct tt_query_summary *s = a->s;

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
	free(a);
	return 0;
}

void tt_query_summary_free(struct tt_query_summary *s)
{
	if (!s)
		return;
	free(s->conns);
	free(s->procs);
	free(s->lost);
	free(s->fstat);
	free(s);
}

static int build(struct tt_query_set *set, struct tt_query_summary *s)
{
	for (size_t f = 0; f < set->n_files; f++) {
		struct tt_query_scan sc;
		struct tt_query_agg *a;
		struct tt_event ev;
		int ret;

		ret = tt_query_agg_new(&a, s, (uint32_t)f);
		if (ret)
			return ret;
		ret = tt_query_scan_open(&sc, set, f);
		while (ret >= 0 && (ret = tt_query_scan_next(&sc, &ev)) > 0)
			ret = tt_query_agg_apply(a, &ev);
		s->fstat[f].warnings = sc.warnings;
		tt_query_scan_close(&sc);
		tt_query_agg_finish(a);
		if (ret == -ENOMEM)
			snprintf(set->err, sizeof(set->err), "out of memory");
		if (ret < 0)
			return ret;
	}
	return 0;
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
