/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Which events of a filtered replay go into an -o copy (tcptop-replay -P 443 -o out.tt in.tt),
 * as `tcpdump -r in -w out 'port 443'` would: the events of the connections the filters keep,
 * process events of their pids, and LOST / STATS records always. The state table (opened with
 * the filters) decides which connections are kept; this remembers which ones it has kept.
 */
#ifndef TT_REPLAY_KEEP_H
#define TT_REPLAY_KEEP_H

#include "tt_event.h"
#include "tt_state.h"

struct keep;

/* A new set, holding the connections shown in st (those written open at --from). 0 or -ENOMEM. */
int keep_new(struct keep **out, const struct tt_state *st);
void keep_free(struct keep *k);

/*
 * After ev was applied to st: fills out[] with what to write for it, in order, and returns
 * how many (0 to KEEP_MAX_OUT), or -ENOMEM. Usually ev itself, or nothing. When ev is the
 * one that made a connection match (its pid arrived, for --pid / --comm), the connection's
 * CONN_OPEN, and TRAFFIC, RTT and RETRANS with what it counted while it was held back, come
 * first, rebuilt from st; and a PROC_NAME when the table named a pid from a process event
 * the copy left out. k NULL (no filter): ev itself.
 */
#define KEEP_MAX_OUT 6
int keep_event(struct keep *k, const struct tt_state *st, const struct tt_event *ev,
	       struct tt_event out[KEEP_MAX_OUT]);

#endif /* TT_REPLAY_KEEP_H */
