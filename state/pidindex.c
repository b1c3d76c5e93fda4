// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The per-pid index of the state table: each pid's connections on a doubly
 * linked list through their slots' links, the first slot in st->pids. A
 * PROC_EXEC or PROC_NAME then renames that pid's connections without a scan
 * of the slab; a pid that owns none costs one hash probe.
 */
#include "state_int.h"

int pidx_reserve(struct tt_state *st)
{
	return idmap_reserve(&st->pids, st->pids.n + 1);
}

uint32_t pidx_first(const struct tt_state *st, uint32_t pid)
{
	const struct idmap *m = &st->pids;
	uint32_t tag = idmap_tag(pid), i = tag & m->mask;

	for (;; i = (i + 1) & m->mask) {
		const struct idmap_ent *e = &m->ents[i];

		if (!e->slot1)
			return SLOT_NONE;
		if (e->tag == tag && slot_at(st, e->slot1 - 1)->c.pid == pid)
			return e->slot1 - 1;
	}
}

void pidx_link(struct tt_state *st, uint32_t slot)
{
	uint32_t pid = slot_at(st, slot)->c.pid, f = pidx_first(st, pid);
	struct pid_link *l = link_at(st, slot), *first;

	if (f == SLOT_NONE) {
		l->prev = l->next = SLOT_NONE;
		/* cannot fail: pidx_reserve() made room for one more pid */
		(void)idmap_insert(&st->pids, pid, slot);
		return;
	}
	/* second on the list, so the map keeps its entry as it is */
	first = link_at(st, f);
	l->prev = f;
	l->next = first->next;
	if (first->next != SLOT_NONE)
		link_at(st, first->next)->prev = slot;
	first->next = slot;
}

void pidx_unlink(struct tt_state *st, uint32_t slot)
{
	const struct pid_link *l = link_at(st, slot);
	uint32_t pid = slot_at(st, slot)->c.pid;

	if (l->next != SLOT_NONE)
		link_at(st, l->next)->prev = l->prev;
	if (l->prev != SLOT_NONE)
		link_at(st, l->prev)->next = l->next;
	else if (l->next != SLOT_NONE)
		idmap_move(&st->pids, pid, slot, l->next);
	else
		idmap_remove(&st->pids, pid, slot);
}
