/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The replay player: merge by time, apply, tick on event-time boundaries, keyframes for seeking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "follow.h"
#include "player.h"
#include "tt_util.h"

/*
 * Keyframes: a copy of the table and of every reader's position, taken at a
 * tick every KEYFRAME_NS of event time while playing. A backward seek restores
 * the last keyframe before the target and applies the events up to it, so it
 * costs at most one spacing of events whatever the capture's length. When the
 * copies pass KEYFRAME_BYTES, every second one is dropped and the spacing
 * doubles: the whole played range stays covered evenly in bounded memory.
 */
#define KEYFRAME_NS 10000000000ull
#define KEYFRAME_BYTES (512ull << 20)

#define RUN_EVENTS 64	  /* events applied in one batch */
#define LATE_EVENTS 65536 /* events in a row past --to that end an input */

struct input {
	struct tt_fmt_reader *r;
	struct tt_event ev; /* next event of this input, when has */
	int has;
	struct follow *fw; /* --follow: the set this input follows */
	int wait;	   /* following: nothing new yet (not has, not ended) */
};

struct keyframe {
	uint64_t ts, next_tick;
	uint64_t bytes; /* memory this keyframe holds */
	int idle;
	struct tt_state *st;
	struct tt_fmt_pos *pos; /* per input: where the input stands after its pending event */
	struct tt_event *ev;	/* per input: its pending event */
	int *has;
};

struct player {
	struct player_opts o;
	struct input *in;
	int n;
	struct tt_state *st;
	uint64_t start, first, last, pos, next_tick, last_tick, events;
	/*
	 * Following: events reach the file up to a sampling interval and a flush (each second)
	 * after their time; event time further back than this is taken as complete.
	 */
	uint64_t hold_ns;
	uint64_t to; /* --to: later events are skipped */
	struct keyframe *kf;
	size_t nkf, capkf;
	uint64_t kf_bytes, kf_spacing;
	int can_seek;
	int idle; /* a tick happened since the last applied event */
	unsigned warnings;
	char last_warning[256];
};

static void on_warn(void *ctx, const char *msg);
static void keyframe_free(struct keyframe *k);

/*
 * Following, the input read all that is written so far (-EAGAIN) or its file ended (0): wait
 * while a writer still writes it; go on to the next file of its set. Returns 1 to read on, 0
 * for the end, -EAGAIN to wait.
 */
static int follow_on(struct player *p, struct input *in, int ret)
{
	if (ret == -EAGAIN) {
		if (tt_fmt_reader_writing(in->r))
			return -EAGAIN;
		/* no writer any more (killed): what it left is read and ends as it is */
		tt_fmt_reader_set_follow(in->r, 0);
		return 1;
	}
	ret = follow_next(in->fw, &in->r);
	if (ret != 1)
		return ret;
	tt_fmt_reader_set_warn(in->r, on_warn, p);
	/* keyframes hold positions in the file before: seeks go back as far as this one */
	for (size_t k = 0; k < p->nkf; k++)
		keyframe_free(&p->kf[k]);
	p->nkf = 0;
	p->kf_bytes = 0;
	return 1;
}

static void on_warn(void *ctx, const char *msg)
{
	struct player *p = ctx;

	p->warnings++;
	snprintf(p->last_warning, sizeof(p->last_warning), "%s", msg);
	if (p->o.warn)
		p->o.warn(p->o.warn_ctx, msg);
}

/*
 * The input's next event, given what the reader returned for the first try (ret). Events past
 * --to are skipped, not taken for the end: ring buffers of several CPUs give events only
 * nearly in time order (and a damaged stamp may be anywhere). A long run of them is the end.
 */
static int refill_on(struct player *p, struct input *in, int ret)
{
	unsigned late = 0;

	for (;;) {
		if (in->fw && (ret == -EAGAIN || ret == 0)) {
			ret = follow_on(p, in, ret);
			if (ret == 1) {
				ret = tt_fmt_reader_next(in->r, &in->ev);
				continue;
			}
			in->wait = ret == -EAGAIN;
			if (ret == -EAGAIN)
				ret = 0;
		}
		if (ret < 0)
			return ret;
		in->has = ret == 1;
		if (!in->has || in->ev.ts_ns <= p->to)
			return 0;
		if (++late >= LATE_EVENTS) {
			in->has = 0;
			return 0;
		}
		ret = tt_fmt_reader_next(in->r, &in->ev);
	}
}

/*
 * The input's next event. The common case, an event in time, is inline: a run is collected
 * through it (a separate call for it cost replay 8% of its instructions, callgrind).
 */
static inline int refill(struct player *p, struct input *in)
{
	int ret = tt_fmt_reader_next(in->r, &in->ev);

	in->wait = 0;
	if (ret == 1 && in->ev.ts_ns <= p->to) {
		in->has = 1;
		return 0;
	}
	return refill_on(p, in, ret);
}

/* Index of the input whose pending event comes first, -1 when all are done. */
static int earliest(const struct player *p)
{
	int best = -1;

	for (int i = 0; i < p->n; i++)
		if (p->in[i].has && (best < 0 || p->in[i].ev.ts_ns < p->in[best].ev.ts_ns))
			best = i;
	return best;
}

static void keyframe_free(struct keyframe *k)
{
	tt_state_free(k->st);
	free(k->pos);
	free(k->ev);
	free(k->has);
}

/* Drops every second keyframe (never the first) and doubles the spacing. */
static void keyframe_thin(struct player *p)
{
	size_t k, n = p->nkf ? 1 : 0;

	for (k = 1; k < p->nkf; k++) {
		if (k % 2) {
			p->kf_bytes -= p->kf[k].bytes;
			keyframe_free(&p->kf[k]);
		} else {
			p->kf[n++] = p->kf[k];
		}
	}
	p->nkf = n;
	p->kf_spacing *= 2;
}

static int keyframe_add(struct player *p, uint64_t ts)
{
	struct keyframe k = {.ts = ts, .next_tick = p->next_tick, .idle = p->idle};

	if (!p->can_seek ||
	    (p->nkf && (ts <= p->kf[p->nkf - 1].ts || ts - p->kf[p->nkf - 1].ts < p->kf_spacing)))
		return 0;
	if (p->nkf == p->capkf) {
		size_t cap = p->capkf ? p->capkf * 2 : 64;
		struct keyframe *n = realloc(p->kf, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->kf = n;
		p->capkf = cap;
	}
	k.pos = calloc(p->n, sizeof(*k.pos));
	k.ev = calloc(p->n, sizeof(*k.ev));
	k.has = calloc(p->n, sizeof(*k.has));
	if (!k.pos || !k.ev || !k.has || tt_state_clone(p->st, &k.st)) {
		keyframe_free(&k);
		return -ENOMEM;
	}
	for (int i = 0; i < p->n; i++) {
		if (tt_fmt_reader_tell(p->in[i].r, &k.pos[i])) {
			p->can_seek = 0; /* a pipe: no seeking at all */
			keyframe_free(&k);
			return 0;
		}
		k.ev[i] = p->in[i].ev;
		k.has[i] = p->in[i].has;
	}
	k.bytes = tt_state_memory(k.st) + sizeof(k) +
		  p->n * (sizeof(*k.pos) + sizeof(*k.ev) + sizeof(*k.has));
	p->kf_bytes += k.bytes;
	p->kf[p->nkf++] = k;
	while (p->kf_bytes > (p->o.keyframe_bytes ? p->o.keyframe_bytes : KEYFRAME_BYTES) &&
	       p->nkf > 2)
		keyframe_thin(p);
	return 0;
}

static int keyframe_restore(struct player *p, const struct keyframe *k)
{
	struct tt_state *st;
	int ret;

	if (tt_state_clone(k->st, &st))
		return -ENOMEM;
	for (int i = 0; i < p->n; i++) {
		ret = tt_fmt_reader_seek(p->in[i].r, &k->pos[i]);
		if (ret < 0) {
			tt_state_free(st);
			return ret;
		}
		p->in[i].ev = k->ev[i];
		p->in[i].has = k->has[i];
		/* following, an input with nothing pending then was waiting: it reads on */
		p->in[i].wait = !k->has[i] && p->in[i].fw;
	}
	tt_state_free(p->st);
	p->st = st;
	p->pos = k->ts;
	p->next_tick = k->next_tick;
	p->idle = k->idle;
	p->last_tick = k->ts > p->first ? k->ts : 0;
	return 0;
}

static int tick(struct player *p, int quiet)
{
	uint64_t ts = p->next_tick;
	int ret;

	tt_state_tick(p->st, ts);
	p->last_tick = ts;
	/* Saturates: UINT64_MAX means no more ticks (a time stamp at the end of time). */
	p->next_tick = ts <= UINT64_MAX - p->o.tick_ns ? ts + p->o.tick_ns : UINT64_MAX;
	p->idle = 1;
	ret = keyframe_add(p, ts);
	if (ret)
		return ret;
	if (!quiet && p->o.on_tick)
		return p->o.on_tick(p->o.ctx, p->st, ts) ? 2 : 0;
	return 0;
}

/*
 * Ticks at every boundary <= t, where no event comes before t. Once a tick
 * has followed the last event, rates are zero and further ticks only evict
 * closed connections whose TTL has passed, which one tick at a later boundary
 * does just the same: so a long idle stretch jumps to its last boundary (and
 * a quiet advance, with nobody watching the ticks, skips any idle stretch).
 */
static int tick_until(struct player *p, uint64_t t, int quiet)
{
	while (p->next_tick != UINT64_MAX && p->next_tick <= t) {
		uint64_t idle = (t - p->next_tick) / p->o.tick_ns;
		int ret;

		if (p->idle && idle > (quiet ? 0 : PLAYER_MAX_IDLE_TICKS))
			p->next_tick += idle * p->o.tick_ns;
		ret = tick(p, quiet);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Whether ev of input i comes next in the merged order, before t and before
 * the next tick: it may then join a run applied in one batch.
 */
static int runs_on(const struct player *p, int i, const struct tt_event *ev, uint64_t t,
		   int stop_on_lost)
{
	if ((ev->ts_ns >= t && t != UINT64_MAX) ||
	    (p->next_tick != UINT64_MAX && ev->ts_ns >= p->next_tick) ||
	    (stop_on_lost && ev->kind == TT_EV_LOST))
		return 0;
	for (int j = 0; j < p->n; j++) {
		/* earliest() breaks ties towards the lower index */
		if (j == i || !p->in[j].has)
			continue;
		if (j < i ? p->in[j].ev.ts_ns <= ev->ts_ns : p->in[j].ev.ts_ns < ev->ts_ns)
			return 0;
	}
	return 1;
}

/*
 * Applies in->ev and the input's following events while they run on, in one
 * tt_state_apply_batch(): on a big table every event costs two cache misses,
 * which a batch overlaps. The same table as one at a time, much faster.
 */
static int apply_run(struct player *p, int i, uint64_t t, int stop_on_lost)
{
	struct input *in = &p->in[i];
	struct tt_event run[RUN_EVENTS];
	size_t n = 0;
	int ret = 0, err;

	do {
		run[n++] = in->ev;
		ret = refill(p, in);
	} while (!ret && n < RUN_EVENTS && in->has && runs_on(p, i, &in->ev, t, stop_on_lost));
	err = tt_state_apply_batch(p->st, run, n);
	if (err < 0)
		return err; /* the table is full: the replay ends anyway */
	p->events += n;
	p->idle = 0;
	for (size_t k = 0; k < n; k++)
		if (run[k].ts_ns > p->pos) /* a little out of order does not turn the clock back */
			p->pos = run[k].ts_ns;
	return ret;
}

/* Following: an input waits for what its writer writes next. */
static int waiting(const struct player *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->in[i].wait)
			return 1;
	return 0;
}

/*
 * Following, all that is written is applied. The time goes on all the same, as a live view's
 * does (snapshots, rates going to zero), up to where nothing can be on its way any more.
 */
static int wait_ticks(struct player *p, uint64_t t, int quiet)
{
	uint64_t now = tt_now_wall_ns(), to;
	int ret;

	if (now > p->hold_ns && now - p->hold_ns > p->pos) {
		to = now - p->hold_ns;
		if (t != UINT64_MAX && to > t)
			to = t;
		ret = tick_until(p, to, quiet);
		if (ret) {
			p->pos = p->last_tick;
			return ret < 0 ? ret : 0;
		}
		if (to > p->pos)
			p->pos = to;
	}
	if (p->pos > p->last || p->last == UINT64_MAX)
		p->last = p->pos;
	return PLAYER_WAITING;
}

int player_advance(struct player *p, uint64_t t, int quiet, int stop_on_lost)
{
	int i, ret;

	for (i = 0; i < p->n; i++)
		if (p->in[i].wait && (ret = refill(p, &p->in[i])) < 0)
			return ret;
	for (;;) {
		struct input *in;

		if (p->o.stop && *p->o.stop)
			return 0;
		i = earliest(p);
		if (i < 0 && waiting(p))
			return wait_ticks(p, t, quiet);
		if (i < 0)
			break;
		in = &p->in[i];
		if (in->ev.ts_ns >= t && t != UINT64_MAX)
			break;
		ret = tick_until(p, in->ev.ts_ns, quiet);
		if (ret) {
			p->pos = p->last_tick;
			return ret < 0 ? ret : 0;
		}
		if (!(stop_on_lost && in->ev.kind == TT_EV_LOST) &&
		    (quiet || (!p->o.on_event && !p->o.on_applied))) {
			ret = apply_run(p, i, t, stop_on_lost);
			if (ret < 0)
				return ret;
			continue;
		}
		/* One at a time: the callback sees the table as of the event before. */
		if (!quiet && p->o.on_event && p->o.on_event(p->o.ctx, &in->ev)) {
			if (in->ev.ts_ns > p->pos)
				p->pos = in->ev.ts_ns;
			return 0;
		}
		ret = tt_state_apply(p->st, &in->ev);
		if (ret < 0)
			return ret;
		p->events++;
		p->idle = 0;
		if (in->ev.ts_ns > p->pos)
			p->pos = in->ev.ts_ns;
		if (!quiet && p->o.on_applied && p->o.on_applied(p->o.ctx, &in->ev)) {
			ret = refill(p, in);
			return ret < 0 ? ret : 0;
		}
		if (stop_on_lost && in->ev.kind == TT_EV_LOST) {
			ret = refill(p, in);
			return ret < 0 ? ret : 2;
		}
		ret = refill(p, in);
		if (ret < 0)
			return ret;
	}
	/*
	 * The end is where the events end: known only now for a pipe, and an
	 * index or block header of a damaged file may claim any other time.
	 */
	if (i < 0 || p->pos > p->last)
		p->last = p->pos;
	if (t > p->last)
		t = p->last;
	ret = tick_until(p, t, quiet);
	if (ret)
		return ret < 0 ? ret : 0;
	if (t > p->pos)
		p->pos = t;
	return i < 0;
}

int player_seek(struct player *p, uint64_t t)
{
	int ret;

	if (t < p->first)
		t = p->first;
	if (t > p->last)
		t = p->last;
	if (t < p->pos && (!p->can_seek || !p->nkf))
		return -ESPIPE;
	if (p->can_seek && p->nkf) {
		size_t k;

		for (k = p->nkf; k > 1 && p->kf[k - 1].ts > t; k--)
			;
		/* Backwards; or forwards into a part played before, past a keyframe. */
		if (t < p->pos || p->kf[k - 1].ts > p->pos) {
			ret = keyframe_restore(p, &p->kf[k - 1]);
			if (ret < 0)
				return ret;
		}
	}
	return player_advance(p, t, 1, 0);
}

/* "NAME: what", naming the input once: reader messages may or may not name it. */
static void say_error(char *err, size_t errlen, const char *name, const char *msg, int ret)
{
	if (!msg[0])
		msg = strerror(-ret);
	if (strncmp(msg, name, strlen(name)) == 0)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
}

int player_open(struct player **out, char *const *paths, int n, const struct player_opts *o,
		char *err, size_t errlen)
{
	struct player *p = calloc(1, sizeof(*p));
	struct tt_state_opts so = {
	    .ttl_ns = o->ttl_ns, .filter = o->filter, .no_timeline = !o->timeline};
	int ret = -ENOMEM;

	if (!p || !(p->in = calloc(n, sizeof(*p->in)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->o = *o;
	p->n = n;
	p->first = UINT64_MAX;
	p->to = UINT64_MAX;
	p->can_seek = !!o->keyframes;
	p->kf_spacing = KEYFRAME_NS;
	for (int i = 0; i < n; i++) {
		char msg[256];
		uint64_t f = 0, l = 0, sample_ns;

		/* the reader names "-" stdin, and so do its messages */
		const char *name = strcmp(paths[i], "-") ? paths[i] : "stdin";

		if (o->follow)
			ret = follow_open(&p->in[i].fw, &p->in[i].r, paths[i], o->stop, msg,
					  sizeof(msg));
		else
			ret = tt_fmt_reader_open(&p->in[i].r, paths[i], msg, sizeof(msg));
		if (ret < 0) {
			say_error(err, errlen, name, msg, ret);
			goto fail;
		}
		tt_fmt_reader_set_warn(p->in[i].r, on_warn, p);
		/* the deltas of a sampling pass cover its interval: rates spread them over it */
		sample_ns = (uint64_t)tt_fmt_reader_header(p->in[i].r)->coalesce_ms * 1000000;
		if (sample_ns > so.sample_ns)
			so.sample_ns = sample_ns;
		if (tt_fmt_reader_time_range(p->in[i].r, &f, &l) < 0 || l == 0)
			p->last = UINT64_MAX;
		else if (p->last != UINT64_MAX && l > p->last)
			p->last = l;
		ret = refill(p, &p->in[i]);
		if (ret < 0) {
			say_error(err, errlen, name, tt_fmt_reader_error(p->in[i].r), ret);
			goto fail;
		}
		if (p->in[i].has && p->in[i].ev.ts_ns < p->first)
			p->first = p->in[i].ev.ts_ns;
	}
	if (p->first == UINT64_MAX) /* no events: the capture's start is all we know */
		p->first = p->last = tt_fmt_reader_header(p->in[0].r)->start_ns;
	/*
	 * The start is the earliest header's, but never after the first event: a recorder's
	 * first sweep may stamp events a little before its header's time, and an offset from
	 * the start (--from +30s, the view's position) is never negative.
	 */
	p->start = p->first;
	for (int i = 0; i < n; i++) {
		uint64_t s = tt_fmt_reader_header(p->in[i].r)->start_ns;

		if (s && s < p->start)
			p->start = s;
	}
	if (p->last < p->first)
		p->last = p->first;
	p->pos = p->first;
	p->next_tick = p->first <= UINT64_MAX - o->tick_ns ? p->first + o->tick_ns : UINT64_MAX;
	p->hold_ns = (so.sample_ns > 1000000000ull ? so.sample_ns : 1000000000ull) + 1500000000ull;
	ret = tt_state_new(&p->st, &so);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	ret = keyframe_add(p, p->first);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	player_free(p);
	return ret;
}

void player_free(struct player *p)
{
	if (!p)
		return;
	for (int i = 0; p->in && i < p->n; i++) {
		tt_fmt_reader_close(p->in[i].r);
		follow_free(p->in[i].fw);
	}
	for (size_t k = 0; k < p->nkf; k++)
		keyframe_free(&p->kf[k]);
	free(p->kf);
	free(p->in);
	tt_state_free(p->st);
	free(p);
}

int player_can_seek(const struct player *p)
{
	return p->can_seek && p->nkf;
}

struct tt_state *player_state(struct player *p)
{
	return p->st;
}

uint64_t player_pos(const struct player *p)
{
	return p->pos;
}

uint64_t player_start(const struct player *p)
{
	return p->start;
}

uint64_t player_first(const struct player *p)
{
	return p->first;
}

uint64_t player_last(const struct player *p)
{
	return p->last;
}

uint64_t player_last_tick(const struct player *p)
{
	return p->last_tick;
}

const struct tt_fmt_header *player_header(const struct player *p)
{
	return tt_fmt_reader_header(p->in[0].r);
}

unsigned player_warnings(const struct player *p, const char **last)
{
	if (last)
		*last = p->last_warning;
	return p->warnings;
}

int player_writing(const struct player *p)
{
	for (int i = 0; i < p->n; i++)
		if (tt_fmt_reader_writing(p->in[i].r))
			return i + 1;
	return 0;
}

uint64_t player_events(const struct player *p)
{
	return p->events;
}

size_t player_keyframes(const struct player *p, uint64_t *bytes, uint64_t *spacing_ns)
{
	if (bytes)
		*bytes = p->kf_bytes;
	if (spacing_ns)
		*spacing_ns = p->kf_spacing;
	return p->nkf;
}

int player_set_to(struct player *p, uint64_t to)
{
	for (int i = 0; i < p->n; i++) {
		struct input *in = &p->in[i];

		if (in->has && in->ev.ts_ns > to) {
			int ret;

			p->to = to;
			ret = refill(p, in);
			if (ret < 0)
				return ret;
		}
	}
	p->to = to;
	if (p->last > to)
		p->last = to > p->first ? to : p->first;
	/* the keyframe at the start holds the pending events: take it again */
	for (size_t k = 0; k < p->nkf; k++)
		keyframe_free(&p->kf[k]);
	p->nkf = 0;
	p->kf_bytes = 0;
	return keyframe_add(p, p->first);
}
