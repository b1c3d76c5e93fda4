/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The replay player (internal to tcptop-replay): merges several captures into
 * one timeline by event time, applies events to a state table, ticks the table
 * at fixed event-time boundaries (so rates do not depend on the playback
 * speed), and keeps keyframes so that seeking backwards gives the exact state.
 */
#ifndef TT_REPLAY_PLAYER_H
#define TT_REPLAY_PLAYER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"
#include "tt_fmt.h"
#include "tt_state.h"

struct player;

#define PLAYER_MAX_IDLE_TICKS 1000

struct player_opts {
	uint64_t tick_ns; /* rate interval, event time; ticks fall on first_ts + k * tick_ns */
	uint64_t ttl_ns;  /* closed connections stay this long */
	const struct tt_filter *filter;
	/*
	 * Keep keyframes for seeking (the view); without them a backward seek
	 * fails with -ESPIPE. Batch output, dumps and cuts never seek.
	 */
	int keyframes;
	/* Keep each connection's timeline (the view's detail pane); batch output needs none. */
	int timeline;
	uint64_t keyframe_bytes; /* memory for keyframes before they thin out; 0 = 512 MiB */
	tt_fmt_warn_fn warn;	 /* reader warnings */
	void *warn_ctx;
	/* Called after each tick (not during seeks). Non-zero stops the advance. */
	int (*on_tick)(void *ctx, const struct tt_state *st, uint64_t ts);
	/* Called for each event, before it is applied (not during seeks). Non-zero stops. */
	int (*on_event)(void *ctx, const struct tt_event *ev);
	/* Called for each event after it is applied (not during seeks). Non-zero stops. */
	int (*on_applied)(void *ctx, const struct tt_event *ev);
	void *ctx;
	/* Set by a signal handler: advances return early (0) once it is set. May be NULL. */
	const volatile sig_atomic_t *stop;
	/*
	 * --follow (one path): read the capture while a recorder writes it, and on into the
	 * next files of its rotated set; player_advance() returns PLAYER_WAITING at the end of
	 * what is written so far. It ends with the set's end block, or with what a recorder that
	 * died left (then no writer holds the file any more).
	 */
	int follow;
};

/* player_advance(), following: all that is written so far is applied; call again later. */
#define PLAYER_WAITING 3

/* Opens every path. Returns 0, or a negative errno with "PATH: message" in err. */
int player_open(struct player **out, char *const *paths, int n, const struct player_opts *o,
		char *err, size_t errlen);
void player_free(struct player *p);

/*
 * Apply every event with ts < t (all of them when t is UINT64_MAX), ticking
 * at each boundary <= t on the way. Across a stretch of more than
 * PLAYER_MAX_IDLE_TICKS intervals without events it ticks once at its start
 * and once at its last boundary (quiet: any idle stretch), which leaves the
 * same table, so a gap of hours or a damaged time stamp years ahead costs
 * two ticks. quiet: no callbacks. Stops early after a LOST event when
 * stop_on_lost, or when a callback says so. Returns 1 at the end of all
 * captures, 2 when it stopped right after a LOST event, PLAYER_WAITING when
 * following and nothing more is written yet, 0 otherwise, or a negative errno.
 */
int player_advance(struct player *p, uint64_t t, int quiet, int stop_on_lost);

/*
 * Jump to event time t: backwards from the nearest keyframe, forwards by
 * applying events. Returns 0 / 1 (end) or a negative errno (-ESPIPE on a pipe).
 */
int player_seek(struct player *p, uint64_t t);

/*
 * Events after to (--to) are skipped from now on, and a long run of them
 * ends an input. Call before the first advance. Returns 0 or a negative errno.
 */
int player_set_to(struct player *p, uint64_t to);

/* Whether player_seek() can go back (keyframes on a seekable input; never on a pipe). */
int player_can_seek(const struct player *p);

/* The current table (changes on a backward seek). */
struct tt_state *player_state(struct player *p);

/* Play position: every event before it is applied. */
uint64_t player_pos(const struct player *p);
/*
 * Start of the timeline: the earliest capture header's start, or the first event when that
 * comes before it. Offsets "from the capture start" (--from +30s, the view's position) count
 * from here.
 */
uint64_t player_start(const struct player *p);
/* First and last event time of all inputs (last is UINT64_MAX when unknown, e.g. a pipe). */
uint64_t player_first(const struct player *p);
uint64_t player_last(const struct player *p);
/* Time of the latest tick, 0 before the first. */
uint64_t player_last_tick(const struct player *p);
/* Header of the first capture. */
const struct tt_fmt_header *player_header(const struct player *p);
/* Reader warnings so far, and the last one. */
unsigned player_warnings(const struct player *p, const char **last);
/* Whether a recorder is still writing an input (tt_fmt_reader_writing()): its index + 1, or 0. */
int player_writing(const struct player *p);
/* Events applied since open (seeks included). */
uint64_t player_events(const struct player *p);
/* Keyframes held, their memory in bytes, and their spacing in event time ns. */
size_t player_keyframes(const struct player *p, uint64_t *bytes, uint64_t *spacing_ns);

#endif /* TT_REPLAY_PLAYER_H */
