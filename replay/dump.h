/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Event dumps for tcptop-replay --dump: text lines like tcpdump -r, or JSON lines. */
#ifndef TT_REPLAY_DUMP_H
#define TT_REPLAY_DUMP_H

#include <stdio.h>

#include "tt_event.h"
#include "tt_fmt.h"
#include "tt_state.h"

/* {"header": {...}} on one line. */
void dump_header_json(FILE *out, const struct tt_fmt_header *h);

/* One event, every field, as one JSON object on one line. */
void dump_event_json(FILE *out, const struct tt_event *ev);

/* One event as text; st (may be NULL) names the endpoints of events other than opens. */
void dump_event_text(FILE *out, const struct tt_event *ev, const struct tt_state *st);

#endif /* TT_REPLAY_DUMP_H */
