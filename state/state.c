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
static_assert(sizeof(struct chunk) % 64 == 0, "chunks are arrays of cache lines");
static_assert(sizeof(struct slot) == 248, "a slot: the connection and its rate baseline");
/* c->tx_bytes and c->acc.tx_bytes are one object (TT_CONN_ACC_GROUP): first and last alike */
static_assert(offsetof(struct tt_conn, flags) == offsetof(struct tt_conn, acc.flags) &&
		  offsetof(struct tt_conn, raddr) == offsetof(struct tt_conn, acc.raddr),
	      "struct tt_conn's fields and its acc must alias");

#define DEFAULT_TTL_NS (30ull * 1000000000ull)
#define INITIAL_CONNS 256u
#define INITIAL_PIDS 32u

int tt_state_new(struct tt_state **out, const struct tt_state_opts *opts)
{
	struct tt_state *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->ttl_ns = opts && opts->ttl_ns ? opts->ttl_ns : DEFAULT_TTL_NS;
	st->sample_ns = opts ? opts->sample_ns : 0;
	/*
	 * A sample may come a sampling interval after the traffic it counts, and a pass
	 * later than that when it has many sockets or the machine is busy.
	 */
	st->lag = st->sample_ns + st->sample_ns / 4;
	if (opts && opts->filter && !tt_filter_is_empty(opts->filter)) {
		st->has_filter = 1;
		st->filter = *opts->filter;
		st->filter_nopid = *opts->filter;
		st->filter_nopid.n_pids = 0;
		st->filter_nopid.n_comms = 0;
		st->filter_wants_pid = st->filter.n_pids || st->filter.n_comms;
	}
	if (!opts || !opts->no_timeline) {
		st->tl[TL_EVENTS].max = TT_STATE_TIMELINE_EVENTS;
		st->tl[TL_SAMPLES].max = TT_STATE_TIMELINE_SAMPLES;
	}
	st->free_head = UINT32_MAX;
	st->scratch = calloc(1, sizeof(*st->scratch));
	if (!st->scratch || tt_u64map_init_index(&st->map, INITIAL_CONNS) ||
	    tt_u64map_init_index(&st->pids, INITIAL_PIDS)) {
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
	tt_u64map_free(&st->map);
	tt_u64map_free(&st->pids);
	if (st->scratch)
		free(st->scratch->items);
	free(st->scratch);
	for (int r = 0; r < TL_RINGS; r++) {
		free(st->tl[r].ev);
		free(st->tl[r].seq);
	}
	free(st);
}

/* The timeline rings of st into c (a clone, whose rings own nothing yet): 0 or -ENOMEM. */
static int tl_copy(struct tt_state *c, const struct tt_state *st)
{
	for (int r = 0; r < TL_RINGS; r++) {
		const struct tl_ring *from = &st->tl[r];
		struct tl_ring *to = &c->tl[r];

		if (!from->cap)
			continue;
		to->ev = malloc((size_t)from->cap * sizeof(*to->ev));
		to->seq = malloc((size_t)from->cap * sizeof(*to->seq));
		if (!to->ev || !to->seq)
			return -ENOMEM;
		memcpy(to->ev, from->ev, (size_t)from->cap * sizeof(*to->ev));
		memcpy(to->seq, from->seq, (size_t)from->cap * sizeof(*to->seq));
	}
	return 0;
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
	c->pids.ents = NULL;
	for (int r = 0; r < TL_RINGS; r++) {
		c->tl[r].ev = NULL;
		c->tl[r].seq = NULL;
	}
	if (!c->chunks || !c->scratch || tl_copy(c, st) || tt_u64map_copy(&c->map, &st->map) ||
	    tt_u64map_copy(&c->pids, &st->pids)) {
		tt_state_free(c);
		return -ENOMEM;
	}
	for (; c->n_chunks < st->n_chunks; c->n_chunks++) {
		uint32_t k = c->n_chunks;
		/* slots past the high-water mark were never written */
		uint32_t used = st->hwm > k * CHUNK_SLOTS ? st->hwm - k * CHUNK_SLOTS : 0;

		if (used > CHUNK_SLOTS)
			used = CHUNK_SLOTS;
		c->chunks[k] = aligned_alloc(64, sizeof(struct chunk));
		if (!c->chunks[k]) {
			tt_state_free(c);
			return -ENOMEM;
		}
		memcpy(c->chunks[k]->slots, st->chunks[k]->slots, used * sizeof(struct slot));
		memcpy(c->chunks[k]->links, st->chunks[k]->links, used * sizeof(struct pid_link));
	}
	*out = c;
	return 0;
}

size_t tt_state_memory(const struct tt_state *st)
{
	return sizeof(*st) + (size_t)st->n_chunks * sizeof(struct chunk) +
	       st->chunks_cap * sizeof(*st->chunks) + tt_u64map_bytes(&st->map) +
	       tt_u64map_bytes(&st->pids) + sizeof(*st->scratch) +
	       st->scratch->cap * sizeof(*st->scratch->items) +
	       (size_t)(st->tl[TL_EVENTS].cap + st->tl[TL_SAMPLES].cap) *
		   (sizeof(struct tt_event) + sizeof(uint64_t));
}

/*
 * Keeps ev in the timeline ring of its kind's cadence. Memory for it failing is no error: the
 * ring stops growing and wraps where it is, as it does at its bound.
 */
static void timeline_keep(struct tt_state *st, const struct tt_event *ev)
{
	struct tl_ring *r = &st->tl[tt_event_periodic(ev->kind) ? TL_SAMPLES : TL_EVENTS];
	uint32_t at;

	if (!r->max)
		return; /* no timeline kept (tt_state_opts.no_timeline) */
	if (r->len == r->cap && !r->head && r->cap < r->max) {
		uint32_t cap = r->cap ? r->cap * 2 : 256;
		struct tt_event *n;
		uint64_t *q;

		if (cap > r->max)
			cap = r->max;
		n = realloc(r->ev, (size_t)cap * sizeof(*n));
		if (n)
			r->ev = n;
		q = n ? realloc(r->seq, (size_t)cap * sizeof(*q)) : NULL;
		if (q) {
			r->seq = q;
			r->cap = cap;
		}
	}
	if (!r->cap)
		return;
	if (r->len < r->cap) {
		at = (r->head + r->len++) % r->cap;
	} else {
		/* full: the oldest gives its place */
		at = r->head;
		r->head = (r->head + 1) % r->cap;
	}
	r->ev[at] = *ev;
	r->seq[at] = st->tl_seq++;
}

size_t tt_state_timeline(const struct tt_state *st, uint64_t id, const struct tt_event **evs,
			 size_t max)
{
	const struct tl_ring *a = &st->tl[TL_EVENTS], *b = &st->tl[TL_SAMPLES];
	uint32_t i = 0, j = 0;
	size_t n = 0;

	/* the two rings merged in the order applied, each being in that order */
	while (i < a->len || j < b->len) {
		uint32_t ia = (a->head + i) % (a->cap ? a->cap : 1);
		uint32_t jb = (b->head + j) % (b->cap ? b->cap : 1);
		const struct tt_event *ev;
		size_t k;

		if (j >= b->len || (i < a->len && a->seq[ia] < b->seq[jb])) {
			ev = &a->ev[ia];
			i++;
		} else {
			ev = &b->ev[jb];
			j++;
		}
		if (ev->conn_id != id)
			continue;
		if (n < max) {
			/* insertion by time: a live source's CPUs may hand events over out of order
			 */
			for (k = n; k > 0 && evs[k - 1]->ts_ns > ev->ts_ns; k--)
				evs[k] = evs[k - 1];
			evs[k] = ev;
		}
		n++;
	}
	return n;
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
	struct chunk *chunk;

	if (st->n_chunks >= (UINT32_MAX >> CHUNK_SHIFT) - 1)
		return -ENOMEM;
	if (st->n_chunks == st->chunks_cap) {
		uint32_t ncap = st->chunks_cap ? st->chunks_cap * 2 : 16;
		struct chunk **nc = realloc(st->chunks, ncap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		st->chunks = nc;
		st->chunks_cap = ncap;
	}
	chunk = aligned_alloc(64, sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	st->chunks[st->n_chunks++] = chunk;
	return 0;
}

/*
 * A new, hidden connection with no event yet: the slot of it (the caller
 * fills it, then settle() decides), or SLOT_NONE when out of memory.
 */
static uint32_t conn_new(struct tt_state *st, uint64_t id, uint64_t ts)
{
	struct slot *s;
	uint32_t slot;

	if (st->free_head != UINT32_MAX) {
		slot = st->free_head;
		st->free_head = slot_at(st, slot)->c.pid;
	} else {
		if (st->hwm == st->n_chunks * CHUNK_SLOTS && add_chunk(st))
			return SLOT_NONE;
		slot = st->hwm++;
	}
	s = slot_at(st, slot);
	if (tt_u64map_put(&st->map, tt_u64map_word(tt_u64map_tag(id), slot), NULL) < 0) {
		s->c.id = 0;
		s->c.pid = st->free_head;
		st->free_head = slot;
		return SLOT_NONE;
	}
	memset(s, 0, sizeof(*s));
	s->c.id = id;
	tt_acc_init(&s->c.acc, ts);
	s->c.flags = CONN_HIDDEN;
	st->n_used++;
	st->n_hidden++;
	return slot;
}

static void conn_drop(struct tt_state *st, struct tt_conn *c)
{
	uint32_t slot = find_slot(st, c->id);

	if (c->flags & CONN_HIDDEN)
		st->n_hidden--;
	else
		account(st, c, -1);
	if (c->pid)
		pidx_unlink(st, slot);
	tt_u64map_del(&st->map, tt_u64map_word(tt_u64map_tag(c->id), slot));
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
 * Gives the connection in slot a process, pid (non-zero; pidx_reserve() done):
 * its name is comm when the event has one, else what the pid map knows, else
 * (for a different pid) nothing.
 */
static void set_pid(struct tt_state *st, uint32_t slot, uint32_t pid, const char *comm)
{
	struct tt_conn *c = &slot_at(st, slot)->c;
	const char *known;

	if (c->pid != pid) {
		if (c->pid)
			pidx_unlink(st, slot);
		c->pid = pid;
		memset(c->comm, 0, TT_COMM_LEN);
		pidx_link(st, slot);
	}
	if (comm_set(comm)) {
		memcpy(c->comm, comm, TT_COMM_LEN);
		procmap_put(&st->procs, pid, comm);
	} else if (!c->comm[0] && (known = procmap_get(&st->procs, pid))) {
		memcpy(c->comm, known, TT_COMM_LEN);
	}
}

/* PROC_EXEC / PROC_NAME: the pid's connections take the new name. */
static void apply_proc_name(struct tt_state *st, uint32_t pid, const char *comm)
{
	uint32_t i, next;

	if (!pid || !comm_set(comm))
		return;
	procmap_put(&st->procs, pid, comm);
	for (i = pidx_first(st, pid); i != SLOT_NONE; i = next) {
		struct tt_conn *c = &slot_at(st, i)->c;

		next = link_at(st, i)->next; /* settle() may drop c */
		memcpy(c->comm, comm, TT_COMM_LEN);
		if (st->filter.n_comms)
			settle(st, c);
	}
}

/* The connection's owner, from events that name one (the fold leaves it to us). */
static void apply_owner(struct tt_state *st, uint32_t slot, const struct tt_event *ev, int fresh)
{
	struct tt_conn *c = &slot_at(st, slot)->c;
	uint32_t pid = ev->pid;

	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (ev->flags & TT_F_PID_UNKNOWN || !pid)
			return;
		if (!fresh && !c->pid)
			c->flags |= TT_CONN_PID_LATE;
		set_pid(st, slot, pid, ev->u.open.comm);
		return;
	case TT_EV_CONN_PROC:
		if (!pid)
			return;
		if (!fresh)
			c->flags |= TT_CONN_PID_LATE;
		set_pid(st, slot, pid, ev->u.proc.comm);
		return;
	}
}

/*
 * A new connection's rate baseline: the previous tick. A connection opened in
 * the capture counts from 0 at its open, so its counters are known up to it;
 * one first seen by another event, or announced as open before the capture
 * (or before this file of a rotated set, or a cut), has a first delta that
 * may reach back before the tick: the baseline goes back as far.
 */
static void rate_base(const struct tt_state *st, struct slot *s, const struct tt_event *ev)
{
	uint64_t ts = ev->ts_ns;

	s->tick_ts = st->tick_ns;
	if (ev->kind == TT_EV_CONN_OPEN && !(ev->flags & TT_F_PREEXISTING))
		s->sample_ts = ts;
	else if (st->sample_ns && (ts > st->lag ? ts - st->lag : 0) < s->tick_ts)
		s->tick_ts = ts > st->lag ? ts - st->lag : 0;
}

/*
 * A delta stamped ts arrives (the TRAFFIC hot path too). The first since the
 * rate baseline covers the time since the sample before it, and at most a
 * (late) sampling interval: nothing was sent between the baseline and that,
 * so the baseline moves up to it and the delta is not spread over a pause.
 */
static void note_sample(const struct tt_state *st, struct slot *s, uint64_t ts)
{
	if (ts <= s->sample_ts)
		return;
	if (st->sample_ns && s->sample_ts <= s->tick_ts && ts > st->lag &&
	    ts - st->lag > s->tick_ts)
		s->tick_ts = ts - st->lag;
	s->sample_ts = ts;
}

static int about_conn(uint16_t kind)
{
	return tt_event_about_conn(kind);
}

int tt_state_apply(struct tt_state *st, const struct tt_event *ev)
{
	uint64_t ts = ev->ts_ns;
	struct tt_conn *c;
	uint64_t tx0, rx0;
	uint32_t slot;
	int fresh = 0, shown;

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
	if (slot != SLOT_NONE) {
		c = &slot_at(st, slot)->c;
		if (ev->kind == TT_EV_TRAFFIC) {
			/* the hot path: a lookup and a few adds */
			int late = !c->pid && ev->pid;

			if (late && pidx_reserve(st))
				return -ENOMEM;
			tt_acc_traffic(&c->acc, ev);
			note_sample(st, slot_at(st, slot), ts);
			if (!(c->flags & CONN_HIDDEN)) {
				st->tx_bytes += ev->u.traffic.tx_bytes;
				st->rx_bytes += ev->u.traffic.rx_bytes;
			}
			st->events++;
			if (late) {
				c->flags |= TT_CONN_PID_LATE;
				set_pid(st, slot, ev->pid, NULL);
				settle(st, c);
			}
			return 0;
		}
		if (pidx_reserve(st))
			return -ENOMEM;
	} else {
		/*
		 * Unknown id: an OPEN, or an event whose OPEN came before the capture
		 * or was lost. Keep a placeholder (family 0) so its counters show.
		 */
		if (pidx_reserve(st) || (slot = conn_new(st, ev->conn_id, ts)) == SLOT_NONE)
			return -ENOMEM;
		c = &slot_at(st, slot)->c;
		fresh = 1;
		if (ev->kind != TT_EV_CONN_OPEN && ev->pid)
			set_pid(st, slot, ev->pid, NULL);
		rate_base(st, slot_at(st, slot), ev);
	}
	st->events++;

	/* a shown connection's share of the totals moves with the fold (a hidden one has none) */
	shown = !(c->flags & CONN_HIDDEN);
	if (shown)
		account(st, c, -1);
	tx0 = c->tx_bytes;
	rx0 = c->rx_bytes;
	tt_acc_apply(&c->acc, ev, fresh);
	/*
	 * Only TRAFFIC is traffic of its time. A close raising the totals to the socket's
	 * absolute counters brings bytes sent before the capture began (or before this file of
	 * a rotated set): the rate baseline moves with them, so they show in the totals and
	 * never as a spike in the interval the close lands in.
	 */
	if (ev->kind != TT_EV_TRAFFIC) {
		slot_at(st, slot)->tick_tx += c->tx_bytes - tx0;
		slot_at(st, slot)->tick_rx += c->rx_bytes - rx0;
	} else {
		note_sample(st, slot_at(st, slot), ts);
	}
	if (shown)
		account(st, c, 1);
	apply_owner(st, slot, ev, fresh);
	/* what the filter looks at changed: the endpoints, the owner, or it is new */
	if (fresh || ev->kind == TT_EV_CONN_OPEN || (ev->kind == TT_EV_CONN_PROC && ev->pid))
		settle(st, c);
	/* what the timeline tells: every event about a connection the table keeps, but counts */
	if (ev->kind != TT_EV_TRAFFIC && c->id == ev->conn_id)
		timeline_keep(st, ev);
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
	const uint64_t *buckets[AHEAD];
	int err;

	for (size_t i = 0; i < n; i += AHEAD) {
		size_t m = n - i < AHEAD ? n - i : AHEAD;

		for (size_t j = 0; j < m; j++) {
			uint32_t tag = tt_u64map_tag(evs[i + j].conn_id);

			buckets[j] = tt_u64map_bucket(&st->map, tt_u64map_word(tag, 0));
			__builtin_prefetch(buckets[j]);
		}
		for (size_t j = 0; j < m; j++) {
			/* the word in the home bucket: almost always the event's, else harmless */
			uint64_t w = *buckets[j];

			if (w && tt_u64map_word_idx(w) < st->hwm) {
				const struct slot *s = slot_at(st, tt_u64map_word_idx(w));

				/* what TRAFFIC reads: the counters (first line) and the pid */
				__builtin_prefetch(s, 1);
				__builtin_prefetch(&s->c.pid, 1);
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

/*
 * Rate of n bytes over span ns. A 128-bit product: a 20 GB delta times 1e9
 * overflows 64 bits.
 */
static uint64_t per_s(uint64_t n, uint64_t span)
{
	return (uint64_t)((unsigned __int128)n * 1000000000u / span);
}

void tt_state_tick(struct tt_state *st, uint64_t now_ns)
{
	uint64_t elapsed, ttl = st->ttl_ns, txr = 0, rxr = 0;
	/* what lies further back than a (late) sample is known: no sample, nothing sent */
	uint64_t known_all = now_ns > st->lag ? now_ns - st->lag : 0;

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
		uint64_t known;

		if (!c->id)
			continue;
		if ((c->flags & TT_CONN_CLOSED) && now_ns >= c->close_ts &&
		    now_ns - c->close_ts >= ttl) {
			conn_drop(st, c);
			continue;
		}
		/*
		 * Its counters are known up to its latest sample, or up to known_all, or (closed:
		 * no delta comes after the close's) up to now. Each delta covers the time since
		 * the sample before it, which the previous tick's baseline did not reach past:
		 * the bytes since that baseline are the traffic of exactly the stretch between.
		 */
		known = c->flags & TT_CONN_CLOSED  ? now_ns
			: a->sample_ts > known_all ? a->sample_ts
						   : known_all;
		if (known > now_ns)
			known = now_ns;
		if (known > a->tick_ts) {
			uint64_t span = known - a->tick_ts;

			/*
			 * A baseline at the previous tick itself is a connection that appeared
			 * since (rate_base): where in the tick its bytes began is not known, as a
			 * source may announce it with its first sample (a UDP flow at a flush,
			 * sock_diag at a poll), so they are over the whole tick. Over the stretch
			 * up to that sample, a flow flushed just after a tick showed its bytes
			 * at many times the rate it ever had.
			 */
			if (a->tick_ts == st->tick_ns && span < elapsed)
				span = elapsed;
			c->tx_rate = per_s(c->tx_bytes - a->tick_tx, span);
			c->rx_rate = per_s(c->rx_bytes - a->tick_rx, span);
			a->tick_tx = c->tx_bytes;
			a->tick_rx = c->rx_bytes;
			a->tick_ts = known;
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
	if (slot == SLOT_NONE || (slot_at(st, slot)->c.flags & CONN_HIDDEN))
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
