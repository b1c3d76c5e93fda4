/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Hidden benchmarks of tcptop-replay (tests/bench/bench_replay.sh): seeking. */
#ifndef TT_REPLAY_BENCH_H
#define TT_REPLAY_BENCH_H

#include <stdio.h>

#include "player.h"

/*
 * Play the whole capture once (as a user of the view would have before
 * seeking around: that builds the keyframes), then seek n times to
 * pseudo-random times, and print one line to out: mean and worst seek
 * time, the time of the play-through (the cost of a decode from the start),
 * and the keyframes held. The player must have been opened with keyframes.
 * Returns 0 or a negative errno.
 */
int bench_seek(struct player *p, unsigned n, FILE *out);

#endif /* TT_REPLAY_BENCH_H */
