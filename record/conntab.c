// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Open connections of a recording: open addressing, linear probing, backward-shift delete. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntab.h"

struct tt_rec_conntab {
	struct tt_event *slots; /* conn_id 0 = empty (no connection has id 0) */
	size_t cap;             /* power of two */
	size_t n;
};

static size_t slot_of(const struct tt_rec_conntab *t, uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return id & (t->cap - 1);
}

int tt_rec_conntab_new(struct tt_rec_conntab **out)
{
	struct tt_rec_conntab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->cap = 1024;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots) {
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
	free(t->slots);
	free(t);
}

static struct tt_event *find(const struct tt_rec_conntab *t, uint64_t id)
{
	for (size_t i = slot_of(t, id);; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].conn_id == id)
			return &t->slots[i];
		if (!t->slots[i].conn_id)
			return NULL;
	}
}

static int grow(struct tt_rec_conntab *t)
{
	struct tt_event *old = t->slots;
	size_t oldcap = t->cap;

	t->slots = calloc(oldcap * 2, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->cap = oldcap * 2;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].conn_id)
			continue;
		size_t j = slot_of(t, old[i].conn_id);

		while (t->slots[j].conn_id)
			j = (j + 1) & (t->cap - 1);
		t->slots[j] = old[i];
	}
	free(old);
	return 0;
}

static void erase(struct tt_rec_conntab *t, struct tt_event *e)
{
	size_t i = e - t->slots, j = i;

	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!t->slots[j].conn_id)
			break;
		size_t home = slot_of(t, t->slots[j].conn_id);

		/* move j back into the hole at i unless its home lies in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->n--;
}

int tt_rec_conntab_apply(struct tt_rec_conntab *t, const struct tt_event *ev)
{
	struct tt_event *e;

	if (!ev->conn_id)
		return 0;
	e = find(t, ev->conn_id);
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (!e) {
			if ((t->n + 1) * 2 > t->cap && grow(t))
				return -ENOMEM;
			size_t i = slot_of(t, ev->conn_id);

			while (t->slots[i].conn_id)
				i = (i + 1) & (t->cap - 1);
			e = &t->slots[i];
			t->n++;
		}
		*e = *ev;
		break;
	case TT_EV_CONN_CLOSE:
		if (e)
			erase(t, e);
		break;
	case TT_EV_STATE:
		if (e)
			e->u.open.state = ev->u.state.new_state;
		break;
	case TT_EV_CONN_PROC:
		if (e) {
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
	return t->n;
}

int tt_rec_conntab_foreach(const struct tt_rec_conntab *t,
			   int (*fn)(void *ctx, const struct tt_event *open), void *ctx)
{
	int ret;

	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].conn_id && (ret = fn(ctx, &t->slots[i])))
			return ret;
	}
	return 0;
}
