// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The connection state table: applies events, keeps per-connection counters,
 * computes rates on ticks and evicts closed connections after their TTL.
 * Pure computation on event time; selection and sorting live in select.c.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"

static_assert(sizeof(struct tt_conn) <= 256, "struct tt_conn must stay within 256 bytes");

#define DEFAULT_TTL_NS (30ull * 1000000000ull)
#define INITIAL_BUCKETS 512u

static uint32_t pidcnt_bucket(uint32_t pid)
{
	return (pid * 2654435761u) % PIDCNT_SIZE;
}

int tt_state_new(struct tt_state **out, const struct tt_state_opts *opts)
{
	struct tt_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->ttl_ns = opts && opts->ttl_ns ? opts->ttl_ns : DEFAULT_TTL_NS;
	if (opts && opts->filter && !tt_filter_is_empty(opts->filter)) {
		st->has_filter = 1;
		st->filter = *opts->filter;
		st->filter_nopid = *opts->filter;
		st->filter_nopid.n_pids = 0;
		st->filter_nopid.n_comms = 0;
		st->filter_wants_pid = st->filter.n_pids || st->filter.n_comms;
	}
	st->free_head = UINT32_MAX;
	st->scratch = calloc(1, sizeof(*st->scratch));
	if (!st->scratch || idmap_init(&st->map, INITIAL_BUCKETS)) {
		tt_state_free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

void tt_state_free(struct tt_state *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < st->n_chunks; i++)
		free(st->chunks[i]);
	free(st->chunks);
	idmap_fini(&st->map);
	if (st->scratch)
		free(st->scratch->items);
	free(st->scratch);
	free(st);
}

int tt_state_clone(const struct tt_state *st, struct tt_state **out)
{
	struct tt_state *c = malloc(sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	*c = *st;
	c->n_chunks = 0;
	c->chunks = calloc(st->chunks_cap ? st->chunks_cap : 1, sizeof(*c->chunks));
	c->scratch = calloc(1, sizeof(*c->scratch));
	c->map.ents = NULL;
	if (!c->chunks || !c->scratch || idmap_copy(&c->map, &st->map)) {
		tt_state_free(c);
		return -ENOMEM;
	}
	for (; c->n_chunks < st->n_chunks; c->n_chunks++) {
		uint32_t k = c->n_chunks;
		/* slots past the high-water mark were never written */
		uint32_t used = st->hwm > k * CHUNK_SLOTS ? st->hwm - k * CHUNK_SLOTS : 0;

		c->chunks[k] = malloc(CHUNK_SLOTS * sizeof(struct slot));
		if (!c->chunks[k]) {
			tt_state_free(c);
			return -ENOMEM;
		}
		memcpy(c->chunks[k], st->chunks[k],
		       (used < CHUNK_SLOTS ? used : CHUNK_SLOTS) * sizeof(struct slot));
	}
	*out = c;
	return 0;
}

size_t tt_state_memory(const struct tt_state *st)
{
	return sizeof(*st) + (size_t)st->n_chunks * CHUNK_SLOTS * sizeof(struct slot) +
	       st->chunks_cap * sizeof(*st->chunks) + idmap_bytes(&st->map) + sizeof(*st->scratch) +
	       st->scratch->cap * sizeof(*st->scratch->items);
}

/* Adds (sign 1) or removes (sign -1) a shown connection's share of the summary. */
static void account(struct tt_state *st, const struct tt_conn *c, int sign)
{
	uint64_t s = (uint64_t)(int64_t)sign; /* 1 or all ones: wrapping add subtracts */

	if (c->flags & TT_CONN_CLOSED)
		st->n_closed += s;
	else
		st->n_open += s;
	st->tx_bytes += s * c->tx_bytes;
	st->rx_bytes += s * c->rx_bytes;
	st->tx_rate += s * c->tx_rate;
	st->rx_rate += s * c->rx_rate;
}

static int add_chunk(struct tt_state *st)
{
	struct slot *chunk;

	if (st->n_chunks >= (UINT32_MAX >> CHUNK_SHIFT) - 1)
		return -ENOMEM;
	if (st->n_chunks == st->chunks_cap) {
		uint32_t ncap = st->chunks_cap ? st->chunks_cap * 2 : 16;
		struct slot **nc = realloc(st->chunks, ncap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		st->chunks = nc;
		st->chunks_cap = ncap;
	}
	chunk = malloc(CHUNK_SLOTS * sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	st->chunks[st->n_chunks++] = chunk;
	return 0;
}

/* A new, hidden, zeroed connection (the caller fills it, then settle() decides). */
static struct tt_conn *conn_new(struct tt_state *st, uint64_t id, uint64_t ts)
{
	struct slot *s;
	uint32_t slot;

	if (st->free_head != UINT32_MAX) {
		slot = st->free_head;
		st->free_head = slot_at(st, slot)->c.pid;
	} else {
		if (st->hwm == st->n_chunks * CHUNK_SLOTS && add_chunk(st))
			return NULL;
		slot = st->hwm++;
	}
	s = slot_at(st, slot);
	if (idmap_insert(&st->map, id, slot)) {
		s->c.id = 0;
		s->c.pid = st->free_head;
		st->free_head = slot;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->c.id = id;
	s->c.first_ts = s->c.last_ts = ts;
	s->c.flags = CONN_HIDDEN;
	st->n_used++;
	st->n_hidden++;
	return &s->c;
}

static void conn_drop(struct tt_state *st, struct tt_conn *c)
{
	uint32_t slot = find_slot(st, c->id);

	if (c->flags & CONN_HIDDEN)
		st->n_hidden--;
	else
		account(st, c, -1);
	if (c->pid)
		st->pidcnt[pidcnt_bucket(c->pid)]--;
	idmap_remove(&st->map, c->id, slot);
	st->n_used--;
	c->id = 0;
	c->pid = st->free_head;
	st->free_head = slot;
}

static void set_hidden(struct tt_state *st, struct tt_conn *c, int hidden)
{
	if (!!(c->flags & CONN_HIDDEN) == hidden)
		return;
	if (hidden) {
		account(st, c, -1);
		c->flags |= CONN_HIDDEN;
		st->n_hidden++;
	} else {
		c->flags &= ~CONN_HIDDEN;
		st->n_hidden--;
		account(st, c, 1);
	}
}

/*
 * Applies the table's filter after anything it looks at changed: shows a
 * matching connection, hides one that may match once its pid is known, and
 * drops the rest. Returns 0 when c was dropped.
 */
static int settle(struct tt_state *st, struct tt_conn *c)
{
	const struct tt_filter *f = st->has_filter ? &st->filter : NULL;
	char comm[TT_COMM_LEN + 1];

	memcpy(comm, c->comm, TT_COMM_LEN);
	comm[TT_COMM_LEN] = '\0';
	if (tt_filter_match(f, c->proto, c->family, c->lport, c->rport, c->pid, comm,
			    c->cgroup_id)) {
		set_hidden(st, c, 0);
		return 1;
	}
	if (!c->pid && st->filter_wants_pid &&
	    tt_filter_match(&st->filter_nopid, c->proto, c->family, c->lport, c->rport, 0, comm,
			    c->cgroup_id)) {
		set_hidden(st, c, 1);
		return 1;
	}
	conn_drop(st, c);
	return 0;
}

static int comm_set(const char *comm)
{
	return comm && comm[0];
}

/*
 * Gives c a process: its name is comm when the event has one, else what the
 * pid map knows, else (for a different pid) nothing.
 */
static void set_pid(struct tt_state *st, struct tt_conn *c, uint32_t pid, const char *comm)
{
	const char *known;

	if (c->pid != pid) {
		if (c->pid)
			st->pidcnt[pidcnt_bucket(c->pid)]--;
		if (pid)
			st->pidcnt[pidcnt_bucket(pid)]++;
		c->pid = pid;
		memset(c->comm, 0, TT_COMM_LEN);
	}
	if (comm_set(comm)) {
		memcpy(c->comm, comm, TT_COMM_LEN);
		procmap_put(&st->procs, pid, comm);
	} else if (!c->comm[0] && (known = procmap_get(&st->procs, pid))) {
		memcpy(c->comm, known, TT_COMM_LEN);
	}
}

/*
 * Not inlined: GCC 12 with -fsanitize=address,undefined then takes c for a
 * pointer to nothing and fails the build (-Wstringop-overflow) on the memcpys
 * below. Opens are rare; the call costs nothing that shows.
 */
__attribute__((noinline)) static void apply_open(struct tt_state *st, struct tt_conn *c,
						 const struct tt_event *ev, int fresh)
{
	const struct tt_ev_open *o = &ev->u.open;
	uint32_t pid = ev->flags & TT_F_PID_UNKNOWN ? 0 : ev->pid;

	if (o->family || fresh) {
		memcpy(c->laddr, o->laddr, TT_ADDR_LEN);
		memcpy(c->raddr, o->raddr, TT_ADDR_LEN);
		c->lport = o->lport;
		c->rport = o->rport;
		c->family = o->family;
		c->proto = o->proto;
		c->netns = o->netns;
		c->cgroup_id = o->cgroup_id;
	}
	if (o->direction)
		c->direction = o->direction;
	if (o->state || fresh)
		c->state = o->state;
	if (ev->flags & TT_F_PREEXISTING)
		c->flags |= TT_CONN_PREEXISTING;
	if (pid) {
		if (!fresh && !c->pid)
			c->flags |= TT_CONN_PID_LATE;
		set_pid(st, c, pid, o->comm);
	}
}

/* Close: the socket's own counters are authoritative when they exceed our sums of deltas. */
static void apply_close(struct tt_state *st, struct tt_conn *c, const struct tt_event *ev)
{
	const struct tt_ev_close *cl = &ev->u.close;
	int shown = !(c->flags & CONN_HIDDEN);

	if (!(c->flags & TT_CONN_CLOSED)) {
		c->flags |= TT_CONN_CLOSED;
		c->close_ts = ev->ts_ns;
		if (shown) {
			st->n_open--;
			st->n_closed++;
		}
	}
	if (cl->state)
		c->state = cl->state;
	if (cl->tx_bytes > c->tx_bytes) {
		if (shown)
			st->tx_bytes += cl->tx_bytes - c->tx_bytes;
		c->tx_bytes = cl->tx_bytes;
	}
	if (cl->rx_bytes > c->rx_bytes) {
		if (shown)
			st->rx_bytes += cl->rx_bytes - c->rx_bytes;
		c->rx_bytes = cl->rx_bytes;
	}
	if (cl->tx_pkts > c->tx_pkts)
		c->tx_pkts = cl->tx_pkts;
	if (cl->rx_pkts > c->rx_pkts)
		c->rx_pkts = cl->rx_pkts;
	if (cl->retrans > c->retrans)
		c->retrans = cl->retrans;
	if (cl->srtt_us) {
		c->rtt_us = cl->srtt_us;
		if (cl->srtt_us > c->max_rtt_us)
			c->max_rtt_us = cl->srtt_us;
	}
}

/* PROC_EXEC / PROC_NAME: the pid's connections take the new name. */
static void apply_proc_name(struct tt_state *st, uint32_t pid, const char *comm)
{
	if (!pid || !comm_set(comm))
		return;
	procmap_put(&st->procs, pid, comm);
	if (!st->pidcnt[pidcnt_bucket(pid)])
		return; /* no connection of this pid: the common case of a fresh exec */
	for (uint32_t i = 0; i < st->hwm; i++) {
		struct tt_conn *c = &slot_at(st, i)->c;

		if (!c->id || c->pid != pid)
			continue;
		memcpy(c->comm, comm, TT_COMM_LEN);
		if (st->filter.n_comms)
			settle(st, c);
	}
}

static int about_conn(uint16_t kind)
{
	return kind >= TT_EV_CONN_OPEN && kind <= TT_EV_CONN_PROC;
}

int tt_state_apply(struct tt_state *st, const struct tt_event *ev)
{
	uint64_t ts = ev->ts_ns;
	struct tt_conn *c;
	uint32_t slot;
	int fresh = 0;

	if (ts > st->now_ns)
		st->now_ns = ts;
	if (!st->have_base) {
		st->tick_ns = ts;
		st->have_base = 1;
	}
	if (!about_conn(ev->kind) || !ev->conn_id) {
		switch (ev->kind) {
		case TT_EV_PROC_EXEC:
		case TT_EV_PROC_NAME: apply_proc_name(st, ev->pid, ev->u.proc.comm); break;
		case TT_EV_PROC_EXIT:
			/* the pid may be reused: forget its name, connections keep theirs */
			procmap_del(&st->procs, ev->pid);
			break;
		case TT_EV_LOST: st->lost += ev->u.lost.count; break;
		default: /* STATS, unknown kinds, connection events without a connection */ break;
		}
		st->events++;
		return 0;
	}

	slot = find_slot(st, ev->conn_id);
	if (slot != IDMAP_NONE) {
		c = &slot_at(st, slot)->c;
		if (ev->kind == TT_EV_TRAFFIC) {
			/* the hot path: a lookup and a few adds */
			const struct tt_ev_traffic *t = &ev->u.traffic;

			c->tx_bytes += t->tx_bytes;
			c->rx_bytes += t->rx_bytes;
			c->tx_pkts += t->tx_pkts;
			c->rx_pkts += t->rx_pkts;
			if (ts > c->last_ts)
				c->last_ts = ts;
			if (!(c->flags & CONN_HIDDEN)) {
				st->tx_bytes += t->tx_bytes;
				st->rx_bytes += t->rx_bytes;
			}
			st->events++;
			if (!c->pid && ev->pid) {
				c->flags |= TT_CONN_PID_LATE;
				set_pid(st, c, ev->pid, NULL);
				settle(st, c);
			}
			return 0;
		}
	} else {
		/*
		 * Unknown id: an OPEN, or an event whose OPEN came before the capture
		 * or was lost. Keep a placeholder (family 0) so its counters show.
		 */
		c = conn_new(st, ev->conn_id, ts);
		if (!c)
			return -ENOMEM;
		fresh = 1;
		if (ev->kind != TT_EV_CONN_OPEN && ev->pid)
			set_pid(st, c, ev->pid, NULL);
	}
	st->events++;
	if (ts > c->last_ts)
		c->last_ts = ts;

	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		apply_open(st, c, ev, fresh);
		settle(st, c);
		return 0;
	case TT_EV_TRAFFIC:
		/* only a fresh placeholder gets here; shown totals follow from settle() */
		c->tx_bytes += ev->u.traffic.tx_bytes;
		c->rx_bytes += ev->u.traffic.rx_bytes;
		c->tx_pkts += ev->u.traffic.tx_pkts;
		c->rx_pkts += ev->u.traffic.rx_pkts;
		break;
	case TT_EV_STATE: c->state = ev->u.state.new_state; break;
	case TT_EV_RTT:
		c->rtt_us = ev->u.rtt.srtt_us;
		if (c->rtt_us > c->max_rtt_us)
			c->max_rtt_us = c->rtt_us;
		break;
	case TT_EV_RETRANS: c->retrans += ev->u.retrans.segs; break;
	case TT_EV_RESET: c->resets++; break;
	case TT_EV_CONN_CLOSE: apply_close(st, c, ev); break;
	case TT_EV_CONN_PROC:
		if (!ev->pid)
			break;
		if (!fresh)
			c->flags |= TT_CONN_PID_LATE;
		set_pid(st, c, ev->pid, ev->u.proc.comm);
		settle(st, c);
		return 0;
	}
	if (fresh)
		settle(st, c);
	return 0;
}

/*
 * At 100K connections the slab is far larger than the caches, so one event
 * costs two dependent memory misses (hash bucket, then connection). Looking
 * a group of events ahead lets those misses overlap; the effect is exactly
 * that of applying the events one by one.
 */
int tt_state_apply_batch(struct tt_state *st, const struct tt_event *evs, size_t n)
{
	enum { AHEAD = 16 };
	uint32_t tags[AHEAD];
	int err;

	for (size_t i = 0; i < n; i += AHEAD) {
		size_t m = n - i < AHEAD ? n - i : AHEAD;

		for (size_t j = 0; j < m; j++) {
			tags[j] = idmap_tag(evs[i + j].conn_id);
			__builtin_prefetch(&st->map.ents[tags[j] & st->map.mask]);
		}
		for (size_t j = 0; j < m; j++) {
			uint32_t s1 = st->map.ents[tags[j] & st->map.mask].slot1;

			if (s1 && s1 <= st->hwm) {
				const struct slot *s = slot_at(st, s1 - 1);

				__builtin_prefetch(s, 1);
				__builtin_prefetch(&s->c.last_ts, 1);
			}
		}
		for (size_t j = 0; j < m; j++) {
			err = tt_state_apply(st, &evs[i + j]);
			if (err)
				return err;
		}
	}
	return 0;
}

void tt_state_tick(struct tt_state *st, uint64_t now_ns)
{
	uint64_t elapsed, ttl = st->ttl_ns, txr = 0, rxr = 0;

	if (!st->have_base) {
		st->tick_ns = now_ns;
		st->have_base = 1;
	}
	if (now_ns > st->now_ns)
		st->now_ns = now_ns;
	elapsed = now_ns > st->tick_ns ? now_ns - st->tick_ns : 0;

	for (uint32_t i = 0; i < st->hwm; i++) {
		struct slot *a = slot_at(st, i);
		struct tt_conn *c = &a->c;

		if (!c->id)
			continue;
		if ((c->flags & TT_CONN_CLOSED) && now_ns >= c->close_ts &&
		    now_ns - c->close_ts >= ttl) {
			conn_drop(st, c);
			continue;
		}
		if (elapsed) {
			/* 128-bit product: a 20 GB delta times 1e9 overflows 64 bits */
			c->tx_rate = (uint64_t)((unsigned __int128)(c->tx_bytes - a->tick_tx) *
						1000000000u / elapsed);
			c->rx_rate = (uint64_t)((unsigned __int128)(c->rx_bytes - a->tick_rx) *
						1000000000u / elapsed);
			a->tick_tx = c->tx_bytes;
			a->tick_rx = c->rx_bytes;
		}
		if (!(c->flags & CONN_HIDDEN)) {
			txr += c->tx_rate;
			rxr += c->rx_rate;
		}
	}
	st->tx_rate = txr;
	st->rx_rate = rxr;
	if (elapsed)
		st->tick_ns = now_ns;
}

void tt_state_summary(const struct tt_state *st, struct tt_state_summary *sum)
{
	sum->open = st->n_open;
	sum->closed = st->n_closed;
	sum->tx_rate = st->tx_rate;
	sum->rx_rate = st->rx_rate;
	sum->tx_bytes = st->tx_bytes;
	sum->rx_bytes = st->rx_bytes;
	sum->lost = st->lost;
	sum->events = st->events;
	sum->now_ns = st->now_ns;
}

size_t tt_state_count(const struct tt_state *st)
{
	return st->n_used - st->n_hidden;
}

const struct tt_conn *tt_state_find(const struct tt_state *st, uint64_t id)
{
	uint32_t slot;

	if (!id)
		return NULL;
	slot = find_slot(st, id);
	if (slot == IDMAP_NONE || (slot_at(st, slot)->c.flags & CONN_HIDDEN))
		return NULL;
	return &slot_at(st, slot)->c;
}

void tt_state_foreach(const struct tt_state *st, void (*fn)(void *ctx, const struct tt_conn *c),
		      void *ctx)
{
	for (uint32_t i = 0; i < st->hwm; i++)
		if (conn_shown(&slot_at(st, i)->c))
			fn(ctx, &slot_at(st, i)->c);
}
