/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* tcptop-replay --from/--to -o: cut a time range into a capture that stands alone. */
#ifndef TT_REPLAY_CUT_H
#define TT_REPLAY_CUT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_fmt.h"
#include "tt_state.h"

struct cut;

/*
 * Create path with hdr (start_ns becomes from_ns) and write a CONN_OPEN
 * (flagged TT_F_PREEXISTING, at from_ns) for every connection still open in
 * st, so the cut needs nothing before it. Returns 0 or -errno with err.
 */
int cut_open(struct cut **out, const char *path, const struct tt_fmt_header *hdr,
	     const struct tt_state *st, uint64_t from_ns, char *err, size_t errlen);
/* Append an event (wall time ts). Returns 0 or -errno. */
int cut_add(struct cut *c, const struct tt_event *ev);
/* Close the capture; returns 0 or -errno with err. NULL is accepted. */
int cut_close(struct cut *c, char *err, size_t errlen);

#endif /* TT_REPLAY_CUT_H */
