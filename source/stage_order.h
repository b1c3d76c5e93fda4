/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * --raw-slice 0's calls in the order each connection made them. The kernel side gathers calls
 * per CPU (bpf/stage.bpf.h) and numbers each connection's calls; a thread that moves to another
 * CPU leaves its earlier calls in the first CPU's stage while the second's may be written out
 * first. This puts each connection's staged events back in their numbered order: one that comes
 * early waits for those before it, until they come or a flush of every CPU has been read
 * (settle), after which any still missing were lost (counted by the kernel side).
 */
#ifndef TT_STAGE_ORDER_H
#define TT_STAGE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

struct tt_stage_order;

typedef void (*tt_stage_emit_fn)(void *ctx, const struct tt_event *ev);

/* 0 or -ENOMEM. */
int tt_stage_order_new(struct tt_stage_order **out);
void tt_stage_order_free(struct tt_stage_order *o);

/*
 * Staged event ev, number seq of its connection (ev->conn_id): emit gets it, and every one it
 * was the last missing before, now; or it waits. Without memory to wait, it goes at once.
 */
void tt_stage_order_offer(struct tt_stage_order *o, const struct tt_event *ev, uint32_t seq,
			  tt_stage_emit_fn emit, void *ctx);
/* Every CPU's stage has been written out and read: what waits goes now, in order. */
void tt_stage_order_settle(struct tt_stage_order *o, tt_stage_emit_fn emit, void *ctx);
/* The connection is closed, its last calls read (a settle came after its close): forgotten. */
void tt_stage_order_forget(struct tt_stage_order *o, uint64_t conn_id);
/* Events waiting. */
size_t tt_stage_order_waiting(const struct tt_stage_order *o);

#endif /* TT_STAGE_ORDER_H */
