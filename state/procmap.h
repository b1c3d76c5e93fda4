/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to state/: pid -> process name, learned from PROC_EXEC, PROC_NAME,
 * CONN_OPEN and CONN_PROC, used to name connections whose pid is learned
 * without a name. A fixed-size set-associative cache (memory is bounded no
 * matter how many processes come and go); the least recently written way of
 * a full set is replaced, so a forgotten name is only a cosmetic loss.
 */
#ifndef TT_STATE_PROCMAP_H
#define TT_STATE_PROCMAP_H

#include <stdint.h>

#include "tt_event.h"

#define PROCMAP_SETS 512
#define PROCMAP_WAYS 4

struct procmap_ent {
	uint32_t pid; /* 0 = empty */
	uint32_t stamp;
	char comm[TT_COMM_LEN];
};

struct procmap {
	struct procmap_ent ents[PROCMAP_SETS][PROCMAP_WAYS];
	uint32_t clock;
};

/* Name of pid (TT_COMM_LEN bytes, maybe not NUL-terminated), or NULL when unknown. */
const char *procmap_get(const struct procmap *pm, uint32_t pid);
void procmap_put(struct procmap *pm, uint32_t pid, const char *comm);
void procmap_del(struct procmap *pm, uint32_t pid);

#endif /* TT_STATE_PROCMAP_H */
