/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Inside tt_source (tt_source.h), in the manner of libpcap's pcap-int.h: what every source
 * shares lives once in the handle (the options, the events the caller refused, the stats,
 * the capability table);
 * what one source needs lives behind priv; the source fills in ops, whose functions take the
 * handle, and hands each event it makes to tt_source_emit(). Not a public API.
 */
#ifndef TT_SOURCE_INT_H
#define TT_SOURCE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_mapbuf.h"
#include "tt_source.h"

#ifndef TT_SOURCE_MAX_PENDING		 /* (tests/unit/test_deliver.c sets a small one) */
#define TT_SOURCE_MAX_PENDING (1u << 20) /* refused events kept; beyond, dropped and counted */
#endif

#define TT_SOURCE_MAX_CAPS 16

/* One capability of a source: its name ("owner-sweep") and what the data lacks without it. */
struct tt_source_cap_desc {
	const char *name;
	const char *loss;
};

/* A queue of events, oldest first (source/evq.c): slots [head, n) of the array wait, at most
 * max of them; cap slots are mapped. */
struct tt_evq {
	struct tt_mapbuf m; /* the array: slots [head, n) are queued */
	size_t head, n, cap, max;
};

/* A slot at the end for the next event, or NULL: max are waiting, or no memory. */
struct tt_event *tt_evq_slot(struct tt_evq *q);
/* Append a copy of ev: 0, -ENOSPC (max are waiting) or -ENOMEM. */
int tt_evq_push(struct tt_evq *q, const struct tt_event *ev);
/* Take the oldest off (none: nothing happens). */
void tt_evq_pop(struct tt_evq *q);
void tt_evq_free(struct tt_evq *q);

static inline size_t tt_evq_len(const struct tt_evq *q)
{
	return q->n - q->head;
}

/* The oldest, or NULL. */
static inline const struct tt_event *tt_evq_peek(const struct tt_evq *q)
{
	return q->head < q->n ? (const struct tt_event *)q->m.p + q->head : NULL;
}

/* The source's capabilities (source/caps.c), each TT_SOURCE_CAP_* with what provides it or why not.
 */
struct tt_source_caps {
	const struct tt_source_cap_desc *desc; /* the source's table, n long */
	int n;
	const char *warn_lead, *warn_tail; /* the view's warning: lead, the names, tail */
	uint8_t state[TT_SOURCE_MAX_CAPS];
	char why[TT_SOURCE_MAX_CAPS][480];
	char missing[2048]; /* "name (why): loss; ...", for the capture header */
	char warning[384];  /* one short line for a view's header */
};

struct tt_source_ops {
	/*
	 * Make and emit events: poll waits up to timeout_ms, flush delivers now what is held
	 * back. 0, or a negative errno (-EINTR, -ENODATA at the end of a capture). The kept
	 * events have been offered first, and were all taken.
	 */
	int (*poll)(struct tt_source *h, int timeout_ms);
	int (*flush)(struct tt_source *h);
	/*
	 * tt_source_stop(): halt stops what makes events by itself (no delivery), then, once the
	 * kept events are taken, stop emits what was made until then. NULL: nothing is made
	 * between calls.
	 */
	void (*halt)(struct tt_source *h);
	int (*stop)(struct tt_source *h);
	const char *(*mode)(const struct tt_source *h);
	const char *(*probes)(const struct tt_source *h);
	/* NULL: from the handle's capability table (a capture played says its header's instead) */
	const char *(*missing)(const struct tt_source *h);
	const char *(*warning)(const struct tt_source *h);
	void (*print_missing)(const struct tt_source *h, const char *prog, FILE *f);
	void (*print_check)(const struct tt_source *h, FILE *f);
	/* NULL: to_wall (events made in CLOCK_BOOTTIME); a capture played says its own */
	int64_t (*clock_offset)(const struct tt_source *h);
	uint64_t (*now)(const struct tt_source *h); /* NULL: CLOCK_BOOTTIME now + to_wall */
	/* NULL: nothing but what the handle counts (tt_source_stat.untracked stays 0) */
	void (*stats)(const struct tt_source *h, struct tt_source_stat *st);
	int (*after_drop)(struct tt_source *h, char *err, size_t errlen); /* NULL: nothing to do */
	void (*close)(struct tt_source *h);				  /* frees priv */
};

struct tt_source {
	const struct tt_source_ops *ops;
	void *priv;		     /* the source's own state */
	struct tt_source_opts opts;  /* as opened (pointers into the caller's memory) */
	struct tt_source_stat stats; /* counted by tt_source_emit() as the caller takes events */
	/*
	 * The source's own clock + this = wall time: tt_source_emit() adds it to every event,
	 * the only place. CLOCK_BOOTTIME's offset, measured once at open (tt_source_open) for
	 * the kernel's sources, so that one number turns every event and the header's says it;
	 * a capture played as a source sets the shift that moves its first event to now.
	 */
	int64_t to_wall;
	/* the current poll, flush or stop */
	tt_source_cb cb;
	void *cb_ctx;
	int cb_ret; /* the callback refused an event: no more are offered in this call */
	uint64_t delivered;
	/* events the callback refused, and those made after them: offered again first */
	struct tt_evq pending; /* at most TT_SOURCE_MAX_PENDING */
	struct tt_source_caps caps;
};

/*
 * Hand one event to the caller's callback, its ts_ns turned into wall time (+ to_wall), and
 * count it (source/deliver.c). Returns the
 * callback's value; an event it refused is kept, as is every later one until
 * tt_source_emit_pending() has offered them again, in order. Beyond TT_SOURCE_MAX_PENDING
 * they are dropped and counted (stats.dropped), told as a LOST event once the kept are taken.
 */
int tt_source_emit(struct tt_source *h, const struct tt_event *ev);
/* Offer the kept events again; returns 0 when all were taken, else the callback's value. */
int tt_source_emit_pending(struct tt_source *h);
/* Set the callback of this call, counting from 0. */
void tt_source_emit_begin(struct tt_source *h, tt_source_cb cb, void *ctx);
/*
 * What the call returns, its source's ret (0 or -errno) given: the callback's refusal, else a
 * source error, else the events delivered (-EINTR or -ENODATA when there were none).
 */
int tt_source_emit_end(const struct tt_source *h, int ret);
void tt_source_emit_free(struct tt_source *h);

/*
 * The capability table (source/caps.c): init names the source's capabilities (desc, n of
 * them, at most TT_SOURCE_MAX_CAPS; all ok until set) and its warning's words; cap_set sets
 * one to TT_SOURCE_CAP_* STATE with what provides it or why it is missing, and recomposes the
 * texts. missing: NULL or the header text; warning: NULL or the view's line; print_missing:
 * "PROG: warning: missing NAME (why): loss" each; print_check: every one, --check's layout.
 */
void tt_source_caps_init(struct tt_source *h, const struct tt_source_cap_desc *desc, int n,
			 const char *warn_lead, const char *warn_tail);
void tt_source_cap_set(struct tt_source *h, int cap, int state, const char *why);
const char *tt_source_caps_missing(const struct tt_source *h);
const char *tt_source_caps_warning(const struct tt_source *h);
void tt_source_caps_print_missing(const struct tt_source *h, const char *prog, FILE *f);
void tt_source_caps_print_check(const struct tt_source *h, FILE *f);

/* Each source's open: priv and ops set on h (h->opts filled in), or -errno with a message. */
int tt_src_open(struct tt_source *h, char *err, size_t errlen);	     /* source/src.c */
int tt_sockdiag_open(struct tt_source *h, char *err, size_t errlen); /* source/sockdiag.c */
/*
 * The BPF programs a sock_diag source can use where the BPF source as a whole does not load
 * (Linux 5.10 refuses its atomics): exec and exit, TCP's retransmits and resets, and UDP counted
 * per datagram (the programs built for kernels before 5.12, and their owners), made where the
 * kernel loads them,
 * into h, a handle of its own whose to_wall is 0 (the sock_diag handle it is forwarded to adds
 * its own). 0, or -errno with a message: -ENOENT when none of them loaded (source/src.c).
 */
int tt_src_open_assist(struct tt_source *h, char *err, size_t errlen);
/*
 * What an assist gives: TT_ASSIST_PROCS (exec and exit events), TT_ASSIST_UDP (UDP flows with
 * their bytes; sock_diag then leaves UDP to it), TT_ASSIST_RETRANS (each TCP retransmit with its
 * cause), TT_ASSIST_RESETS (each TCP reset), TT_ASSIST_ACCEPT (an accepted connection's owner
 * and its wait in the accept queue), TT_ASSIST_CLOSES (each TCP state change, and the
 * close with its counters): the probes that give it, or NULL.
 */
enum {
	TT_ASSIST_PROCS,
	TT_ASSIST_UDP,
	TT_ASSIST_RETRANS,
	TT_ASSIST_RESETS,
	TT_ASSIST_CLOSES,
	TT_ASSIST_ACCEPT,
	TT_ASSIST_N
};
const char *tt_src_assist_gives(const struct tt_source *h, int what);
/*
 * Deliver to cb every record the assist's programs wrote before now, however many (a poll's
 * drain stops at its budget): the sock_diag source compares a dump only with what came before
 * it (source/src_run.c). Returns as tt_source_poll().
 */
int tt_src_assist_drain(struct tt_source *h, tt_source_cb cb, void *ctx);
/*
 * Give the sock_diag handle H the assist A (tt_src_open_assist): H polls, flushes, stops and
 * closes it, forwards its events and says what it gives (source/sockdiag.c).
 */
void tt_sockdiag_set_assist(struct tt_source *h, struct tt_source *a);
int tt_filesrc_open(struct tt_source *h, char *err, size_t errlen); /* source/filesrc.c */
int tt_pcapsrc_open(struct tt_source *h, char *err, size_t errlen); /* source/pcapsrc.c */

#endif /* TT_SOURCE_INT_H */
