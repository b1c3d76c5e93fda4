/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event every unit test's builders start from: its kind, time, connection and owner (pid
 * and tid alike), the rest zero. Included once per test program, as check.h.
 */
#ifndef TT_UNIT_EVENTS_H
#define TT_UNIT_EVENTS_H

#include <stdint.h>
#include <string.h>

#include "tt_event.h"

static struct tt_event ev_base(uint16_t kind, uint64_t ts, uint64_t id, uint32_t pid)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts_ns = ts;
	e.conn_id = id;
	e.pid = pid;
	e.tid = pid;
	return e;
}

#endif /* TT_UNIT_EVENTS_H */
