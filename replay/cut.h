/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* tcptop-replay --from/--to -o: cut a time range into a capture that stands alone. */
#ifndef TT_REPLAY_CUT_H
#define TT_REPLAY_CUT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_anon.h"
#include "tt_fmt.h"
#include "tt_state.h"

struct cut;

/*
 * Create path (replacing it only with force) with hdr (start_ns becomes from_ns) and write a
 * CONN_OPEN (flagged TT_F_PREEXISTING, at from_ns) for every connection still open in st, so the
 * cut needs nothing before it. With anon (may be NULL), the header and every event written go
 * through it first (tt_anon.h). Returns 0 or -errno with err.
 */
int cut_open(struct cut **out, const char *path, int force, const struct tt_fmt_header *hdr,
	     const struct tt_state *st, uint64_t from_ns, struct tt_anon *anon, char *err,
	     size_t errlen);
/* A CONN_OPEN for conn, rebuilt from the table, at wall time ts with flags (TT_F_*). */
void cut_open_event(const struct tt_conn *conn, uint64_t ts, uint16_t flags, struct tt_event *out);

/* Append an event (wall time ts). Returns 0 or -errno. */
int cut_add(struct cut *c, const struct tt_event *ev);
/* Events written so far, and the latest of their times (wall ns, 0 before any). */
uint64_t cut_events(const struct cut *c, uint64_t *last_ns);
/* Close the capture; returns 0 or -errno with err. NULL is accepted. */
int cut_close(struct cut *c, char *err, size_t errlen);

#endif /* TT_REPLAY_CUT_H */
