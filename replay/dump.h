/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Event dumps for tcptop-replay --dump: text lines like tcpdump -r, or JSON lines. */
#ifndef TT_REPLAY_DUMP_H
#define TT_REPLAY_DUMP_H

#include <stdint.h>
#include <stdio.h>

#include "tt_event.h"
#include "tt_fmt.h"
#include "tt_state.h"

/* {"header": {...}} on one line. */
void dump_header_json(FILE *out, const struct tt_fmt_header *h);

/*
 * One event, every field, as one JSON object on one line; an open also has its
 * community_id (derived with cid_seed, null when an address is not known).
 */
void dump_event_json(FILE *out, const struct tt_event *ev, uint16_t cid_seed);

/*
 * One event as text; st (may be NULL) names the endpoints of events other than
 * opens; an open line ends with its community_id when it has one.
 */
void dump_event_text(FILE *out, const struct tt_event *ev, const struct tt_state *st,
		     uint16_t cid_seed);

#endif /* TT_REPLAY_DUMP_H */
