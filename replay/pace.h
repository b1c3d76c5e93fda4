/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The replay as a view source: real-time pacing at a speed, pause, seek. */
#ifndef TT_REPLAY_PACE_H
#define TT_REPLAY_PACE_H

#include "player.h"
#include "tt_view.h"

/*
 * The speeds a replay plays at, times real time, besides 0 (as fast as possible): one range
 * for -s and the view's + and - keys, which stop at its ends.
 */
#define PACE_SPEED_MIN 0.1
#define PACE_SPEED_MAX 10000.0

struct pace {
	struct player *p;
	double speed; /* PACE_SPEED_MIN .. PACE_SPEED_MAX, or 0 = as fast as possible */
	int paused;
	int follow;	 /* --follow: the end of the capture is where its recorder is now */
	uint64_t end_ns; /* --to (inclusive), UINT64_MAX for none */
	int at_end;	 /* all events up to end_ns are applied */
	uint64_t base_pos, base_mono; /* play position at base_mono */
	uint64_t span_ns; /* event time per step at max speed, adapted to ~50 ms of work */
	uint64_t gap_at;  /* where 'n' stopped, its LOST event applied (0: not at a gap) */
	char warning[300];
	char help[640]; /* the view's help lines for the replay's keys */
};

/* Fills src with callbacks over pc (which must outlive the view). */
void pace_source(struct pace *pc, struct tt_view_source *src);

#endif /* TT_REPLAY_PACE_H */
