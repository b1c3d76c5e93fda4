/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The replay player: merge by time, apply, tick on event-time boundaries, keyframes for seeking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "player.h"

#define KEYFRAME_NS 10000000000ull    /* one keyframe per 10 s of event time */
#define KEYFRAME_BYTES (512ull << 20) /* give up adding keyframes past this */

struct input {
	struct tt_fmt_reader *r;
	struct tt_event ev; /* next event of this input, when has */
	int has;
};

struct keyframe {
	uint64_t ts, next_tick;
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
	uint64_t first, last, pos, next_tick, last_tick, events;
	struct keyframe *kf;
	size_t nkf, capkf;
	uint64_t kf_bytes;
	int can_seek;
	unsigned warnings;
	char last_warning[256];
};

static void on_warn(void *ctx, const char *msg)
{
	struct player *p = ctx;

	p->warnings++;
	snprintf(p->last_warning, sizeof(p->last_warning), "%s", msg);
	if (p->o.warn)
		p->o.warn(p->o.warn_ctx, msg);
}

static int refill(struct input *in)
{
	int ret = tt_fmt_reader_next(in->r, &in->ev);

	if (ret < 0)
		return ret;
	in->has = ret == 1;
	return 0;
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

static int keyframe_add(struct player *p, uint64_t ts)
{
	struct keyframe k = {.ts = ts, .next_tick = p->next_tick};

	if (!p->can_seek || (p->nkf && p->kf[p->nkf - 1].ts >= ts) || p->kf_bytes > KEYFRAME_BYTES)
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
			p->can_seek = 0;
			keyframe_free(&k);
			return 0;
		}
		k.ev[i] = p->in[i].ev;
		k.has[i] = p->in[i].has;
	}
	p->kf_bytes += tt_state_count(p->st) * sizeof(struct tt_conn) + 4096;
	p->kf[p->nkf++] = k;
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
	}
	tt_state_free(p->st);
	p->st = st;
	p->pos = k->ts;
	p->next_tick = k->next_tick;
	p->last_tick = k->ts > p->first ? k->ts : 0;
	return 0;
}

static int tick(struct player *p, int quiet)
{
	uint64_t ts = p->next_tick;
	int ret;

	tt_state_tick(p->st, ts);
	p->last_tick = ts;
	p->next_tick += p->o.tick_ns;
	if ((ts - p->first) % KEYFRAME_NS < p->o.tick_ns) {
		ret = keyframe_add(p, ts);
		if (ret)
			return ret;
	}
	if (!quiet && p->o.on_tick)
		return p->o.on_tick(p->o.ctx, p->st, ts) ? 2 : 0;
	return 0;
}

int player_advance(struct player *p, uint64_t t, int quiet, int stop_on_lost)
{
	int i, ret;

	for (;;) {
		struct input *in;

		i = earliest(p);
		if (i < 0)
			break;
		in = &p->in[i];
		if (in->ev.ts_ns >= t)
			break;
		while (in->ev.ts_ns >= p->next_tick) {
			ret = tick(p, quiet);
			if (ret) {
				p->pos = p->last_tick;
				return ret < 0 ? ret : 0;
			}
		}
		if (!quiet && p->o.on_event && p->o.on_event(p->o.ctx, &in->ev)) {
			p->pos = in->ev.ts_ns;
			return 0;
		}
		ret = tt_state_apply(p->st, &in->ev);
		if (ret < 0)
			return ret;
		p->events++;
		p->pos = in->ev.ts_ns;
		if (stop_on_lost && in->ev.kind == TT_EV_LOST) {
			ret = refill(in);
			return ret < 0 ? ret : 2;
		}
		ret = refill(in);
		if (ret < 0)
			return ret;
	}
	/* At the end of a pipe the last time becomes known only now. */
	if (i < 0 && p->last == UINT64_MAX)
		p->last = p->pos;
	if (t > p->last)
		t = p->last;
	while (p->next_tick <= t) {
		ret = tick(p, quiet);
		if (ret)
			return ret < 0 ? ret : 0;
	}
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
	if (t < p->pos) {
		size_t k;

		if (!p->can_seek || !p->nkf)
			return -ESPIPE;
		for (k = p->nkf; k > 1 && p->kf[k - 1].ts > t; k--)
			;
		ret = keyframe_restore(p, &p->kf[k - 1]);
		if (ret < 0)
			return ret;
	}
	return player_advance(p, t, 1, 0);
}

int player_open(struct player **out, char *const *paths, int n, const struct player_opts *o,
		char *err, size_t errlen)
{
	struct player *p = calloc(1, sizeof(*p));
	struct tt_state_opts so = {.ttl_ns = o->ttl_ns, .filter = o->filter};
	int ret = -ENOMEM;

	if (!p || !(p->in = calloc(n, sizeof(*p->in)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->o = *o;
	p->n = n;
	p->first = UINT64_MAX;
	p->can_seek = 1;
	for (int i = 0; i < n; i++) {
		char msg[256];
		uint64_t f = 0, l = 0;

		ret = tt_fmt_reader_open(&p->in[i].r, paths[i], msg, sizeof(msg));
		if (ret < 0) {
			/* Reader messages may or may not name the file; make sure they do. */
			if (strstr(msg, paths[i]))
				snprintf(err, errlen, "%s", msg);
			else
				snprintf(err, errlen, "%s: %s", paths[i], msg);
			goto fail;
		}
		tt_fmt_reader_set_warn(p->in[i].r, on_warn, p);
		if (tt_fmt_reader_time_range(p->in[i].r, &f, &l) < 0 || l == 0)
			p->last = UINT64_MAX;
		else if (p->last != UINT64_MAX && l > p->last)
			p->last = l;
		ret = refill(&p->in[i]);
		if (ret < 0) {
			snprintf(err, errlen, "%s: %s", paths[i], tt_fmt_reader_error(p->in[i].r));
			goto fail;
		}
		if (p->in[i].has && p->in[i].ev.ts_ns < p->first)
			p->first = p->in[i].ev.ts_ns;
	}
	if (p->first == UINT64_MAX) /* no events: the capture's start is all we know */
		p->first = p->last = tt_fmt_reader_header(p->in[0].r)->start_ns;
	if (p->last < p->first)
		p->last = p->first;
	p->pos = p->first;
	p->next_tick = p->first + o->tick_ns;
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
	for (int i = 0; p->in && i < p->n; i++)
		tt_fmt_reader_close(p->in[i].r);
	for (size_t k = 0; k < p->nkf; k++)
		keyframe_free(&p->kf[k]);
	free(p->kf);
	free(p->in);
	tt_state_free(p->st);
	free(p);
}

struct tt_state *player_state(struct player *p)
{
	return p->st;
}

uint64_t player_pos(const struct player *p)
{
	return p->pos;
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

uint64_t player_events(const struct player *p)
{
	return p->events;
}
