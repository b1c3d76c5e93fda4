/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Private to state/: the table's layout, shared by the table (state.c) and selection (select.c). */
#ifndef TT_STATE_INT_H
#define TT_STATE_INT_H

#include <stdint.h>

#include "procmap.h"
#include "tt_state.h"
#include "tt_u64map.h"

/*
 * tt_conn.flags bit never seen outside state/: the connection is kept but
 * not shown because the table's filter cannot decide yet (pid unknown while
 * the filter wants a pid or name). Re-evaluated when the pid arrives.
 */
#define CONN_HIDDEN (1u << 7)

/*
 * The slab is a list of fixed chunks: growth never moves a connection and
 * wastes at most one chunk, and a small table (a replay keyframe) stays small.
 */
#define CHUNK_SHIFT 8
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)

#define SLOT_NONE UINT32_MAX

/*
 * 224 bytes (208 before the handshake fields), not padded to four cache lines: 256 was
 * measured no faster (replay of 100K connections, seeks, redraws) and takes more memory.
 */
struct slot {
	struct tt_conn c;   /* first: readers get &slot->c */
	uint64_t sample_ts; /* counters known up to here: the latest TRAFFIC, or the open */
	/* the rate baseline: the time the counters were known up to at the last tick, and they */
	uint64_t tick_ts;
	uint64_t tick_tx, tick_rx;
};

/* A slot's place on the list of its pid's connections (pidindex.c), while c.pid != 0. */
struct pid_link {
	uint32_t prev, next;
};

/*
 * The links live beside the slots, not in them: the slots stay small, and the
 * hot path never reads a link.
 */
struct chunk {
	struct slot slots[CHUNK_SLOTS];
	struct pid_link links[CHUNK_SLOTS];
};

/* The select() scratch array; behind a pointer so a const table can reuse it. */
struct sel_item {
	uint64_t key, key2, id; /* the order, in the column's natural direction */
	const struct tt_conn *c;
};
struct sel_scratch {
	struct sel_item *items;
	size_t cap;
};

/*
 * A timeline ring (tt_state_timeline): len events from ev[head] on, wrapping at cap, with the
 * order each was applied in (seq: it merges the two rings). It grows (doubling) until its bound,
 * and only before it wraps.
 */
struct tl_ring {
	struct tt_event *ev;
	uint64_t *seq;
	uint32_t cap, len, head, max;
};

/* tt_state.tl[]: the rings of SPORADIC and of PERIODIC kinds */
enum { TL_EVENTS, TL_SAMPLES, TL_RINGS };

struct tt_state {
	/*
	 * Memory follows the peak count: chunks are never freed, freed slots are
	 * reused first. A free slot has id 0 (never a valid connection id) and
	 * keeps the next free slot's index in its pid.
	 */
	struct chunk **chunks;
	uint32_t n_chunks, chunks_cap;
	uint32_t hwm; /* slots ever used */
	uint32_t free_head;
	uint32_t n_used, n_hidden;
	struct tt_u64map map; /* an index of the slab by id */

	uint64_t ttl_ns;
	uint64_t sample_ns; /* opts.sample_ns */
	uint64_t lag;	    /* how far back a delta reaches: sample_ns and a quarter (see tick) */
	int has_filter, filter_wants_pid;
	struct tt_filter filter;       /* our own copy of opts.filter */
	struct tt_filter filter_nopid; /* the same without pids and names */

	uint64_t now_ns;
	uint64_t tick_ns; /* time of the previous tick (rate baseline) */
	int have_base;	  /* tick_ns set (first event or first tick) */
	uint64_t events, lost;
	/* over shown connections, kept up to date on every change */
	uint64_t n_open, n_closed;
	uint64_t tx_bytes, rx_bytes, tx_rate, rx_rate;

	/*
	 * pid -> the first slot of its list of connections (pidindex.c), so
	 * PROC_EXEC/PROC_NAME rename only that pid's connections without a scan.
	 */
	struct tt_u64map pids; /* an index of the first slots by pid */
	struct procmap procs;
	struct sel_scratch *scratch;
	struct tl_ring tl[TL_RINGS]; /* the timeline */
	uint64_t tl_seq;	     /* timeline events kept so far */
};

static inline struct slot *slot_at(const struct tt_state *st, uint32_t i)
{
	return &st->chunks[i >> CHUNK_SHIFT]->slots[i & (CHUNK_SLOTS - 1)];
}

static inline struct pid_link *link_at(const struct tt_state *st, uint32_t i)
{
	return &st->chunks[i >> CHUNK_SHIFT]->links[i & (CHUNK_SLOTS - 1)];
}

/* Slot of id, or SLOT_NONE. */
static inline uint32_t find_slot(const struct tt_state *st, uint64_t id)
{
	uint32_t tag = tt_u64map_tag(id);
	size_t i = tt_u64map_probe_start(&st->map, tag);
	uint64_t w;

	while ((w = tt_u64map_probe(&st->map, &i, tag)))
		if (slot_at(st, tt_u64map_word_idx(w))->c.id == id)
			return tt_u64map_word_idx(w);
	return SLOT_NONE;
}

static inline int conn_shown(const struct tt_conn *c)
{
	return c->id && !(c->flags & CONN_HIDDEN);
}

/*
 * The per-pid index (pidindex.c). pidx_reserve() before an event that may
 * give a connection a pid, so that pidx_link() cannot fail: -ENOMEM or 0.
 */
int pidx_reserve(struct tt_state *st);
void pidx_link(struct tt_state *st, uint32_t slot);   /* slot's c.pid (non-zero) just set */
void pidx_unlink(struct tt_state *st, uint32_t slot); /* before slot's c.pid changes */
/* First slot of pid's list (then link_at()->next), or SLOT_NONE. */
uint32_t pidx_first(const struct tt_state *st, uint32_t pid);

#endif /* TT_STATE_INT_H */
