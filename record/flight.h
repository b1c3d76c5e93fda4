/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* --flight: the last N seconds of events in memory, each stored in its ring-buffer size. */
#ifndef TT_REC_FLIGHT_H
#define TT_REC_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

struct tt_rec_flight;

/* window_ns of event time, at most cap_bytes of memory. 0 or -ENOMEM. */
int tt_rec_flight_new(struct tt_rec_flight **out, uint64_t window_ns, size_t cap_bytes);
void tt_rec_flight_free(struct tt_rec_flight *f);

/*
 * Called with each event the ring forgets (aged out of the window, or the oldest when memory is
 * full), oldest first: what the events held begin from is the forgotten ones applied in order.
 */
typedef void (*tt_rec_flight_forget_fn)(void *ctx, const struct tt_event *ev);
void tt_rec_flight_on_forget(struct tt_rec_flight *f, tt_rec_flight_forget_fn fn, void *ctx);

/* Keep ev, forgetting events older than the window (or the oldest when memory is full). */
void tt_rec_flight_push(struct tt_rec_flight *f, const struct tt_event *ev);

/* Event time of the oldest event held, 0 when empty. */
uint64_t tt_rec_flight_oldest(const struct tt_rec_flight *f);

/* Events forgotten early because memory was full. */
uint64_t tt_rec_flight_dropped(const struct tt_rec_flight *f);

/* Call fn on each held event, oldest first; stops on a non-zero return. */
int tt_rec_flight_foreach(const struct tt_rec_flight *f,
			  int (*fn)(void *ctx, const struct tt_event *ev), void *ctx);

#endif /* TT_REC_FLIGHT_H */
