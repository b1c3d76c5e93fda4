// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Open connections of a recording: conn_id -> its CONN_OPEN event, in a tt_u64map. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntab.h"
#include "tt_u64map.h"

/* a map's values are 8-byte aligned */
_Static_assert(_Alignof(struct tt_event) <= 8, "struct tt_event fits a tt_u64map value");

/* 1024 buckets to begin with: test_conntab builds clusters over their end */
#define INITIAL_CONNS 512

struct tt_rec_conntab {
	struct tt_u64map map;
};

int tt_rec_conntab_new(struct tt_rec_conntab **out)
{
	struct tt_rec_conntab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	if (tt_u64map_init(&t->map, sizeof(struct tt_event), INITIAL_CONNS)) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void tt_rec_conntab_free(struct tt_rec_conntab *t)
{
	if (!t)
		return;
	tt_u64map_free(&t->map);
	free(t);
}

int tt_rec_conntab_apply(struct tt_rec_conntab *t, const struct tt_event *ev)
{
	struct tt_event *e;
	void *v;

	/* no connection has id 0 */
	if (!ev->conn_id)
		return 0;
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (tt_u64map_put(&t->map, ev->conn_id, &v) < 0)
			return -ENOMEM;
		*(struct tt_event *)v = *ev;
		break;
	case TT_EV_CONN_CLOSE: tt_u64map_del(&t->map, ev->conn_id); break;
	case TT_EV_STATE:
		if ((e = tt_u64map_get(&t->map, ev->conn_id)))
			e->u.open.state = ev->u.state.new_state;
		break;
	case TT_EV_CONN_PROC:
		if ((e = tt_u64map_get(&t->map, ev->conn_id))) {
			e->pid = ev->pid;
			e->tid = ev->tid;
			e->flags &= ~TT_F_PID_UNKNOWN;
			memcpy(e->u.open.comm, ev->u.proc.comm, TT_COMM_LEN);
		}
		break;
	}
	return 0;
}

size_t tt_rec_conntab_count(const struct tt_rec_conntab *t)
{
	return tt_u64map_count(&t->map);
}

int tt_rec_conntab_foreach(const struct tt_rec_conntab *t,
			   int (*fn)(void *ctx, const struct tt_event *open), void *ctx)
{
	const struct tt_event *e;
	size_t it = 0;
	uint64_t id;
	int ret;

	while ((e = tt_u64map_next(&t->map, &it, &id)))
		if ((ret = fn(ctx, e)))
			return ret;
	return 0;
}
