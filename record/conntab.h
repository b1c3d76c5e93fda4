/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The connections a recording has seen open and not closed, as their
 * CONN_OPEN event kept up to date (pid, comm, state): what a new capture file
 * (rotation, flight dump) repeats first so that it stands alone.
 */
#ifndef TT_REC_CONNTAB_H
#define TT_REC_CONNTAB_H

#include <stddef.h>

#include "tt_event.h"

struct tt_rec_conntab;

/* Returns 0 or -ENOMEM. */
int tt_rec_conntab_new(struct tt_rec_conntab **out);
void tt_rec_conntab_free(struct tt_rec_conntab *t);

/* Follow one event (CONN_OPEN adds, CONN_CLOSE removes, STATE/CONN_PROC update). 0 or -ENOMEM. */
int tt_rec_conntab_apply(struct tt_rec_conntab *t, const struct tt_event *ev);

size_t tt_rec_conntab_count(const struct tt_rec_conntab *t);
/* Bytes the table holds allocated, its index included. */
size_t tt_rec_conntab_bytes(const struct tt_rec_conntab *t);

/* Call fn with every open connection's CONN_OPEN event; stops on a non-zero return. */
int tt_rec_conntab_foreach(const struct tt_rec_conntab *t,
			   int (*fn)(void *ctx, const struct tt_event *open), void *ctx);

#endif /* TT_REC_CONNTAB_H */
