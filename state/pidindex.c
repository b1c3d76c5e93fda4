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
	return tt_u64map_reserve(&st->pids, tt_u64map_count(&st->pids) + 1);
}

uint32_t pidx_first(const struct tt_state *st, uint32_t pid)
{
	uint32_t tag = tt_u64map_tag(pid);
	size_t i = tt_u64map_probe_start(&st->pids, tag);
	uint64_t w;

	while ((w = tt_u64map_probe(&st->pids, &i, tag)))
		if (slot_at(st, tt_u64map_word_idx(w))->c.pid == pid)
			return tt_u64map_word_idx(w);
	return SLOT_NONE;
}

void pidx_link(struct tt_state *st, uint32_t slot)
{
	uint32_t pid = slot_at(st, slot)->c.pid, f = pidx_first(st, pid);
	struct pid_link *l = link_at(st, slot), *first;

	if (f == SLOT_NONE) {
		l->prev = l->next = SLOT_NONE;
		/* cannot fail: pidx_reserve() made room for one more pid */
		(void)tt_u64map_put(&st->pids, tt_u64map_word(tt_u64map_tag(pid), slot), NULL);
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
	uint32_t tag = tt_u64map_tag(slot_at(st, slot)->c.pid);

	if (l->next != SLOT_NONE)
		link_at(st, l->next)->prev = l->prev;
	if (l->prev != SLOT_NONE)
		link_at(st, l->prev)->next = l->next;
	if (l->prev != SLOT_NONE)
		return;
	tt_u64map_del(&st->pids, tt_u64map_word(tag, slot));
	/* the next heads the list: cannot fail, as the map just had one more */
	if (l->next != SLOT_NONE)
		(void)tt_u64map_put(&st->pids, tt_u64map_word(tag, l->next), NULL);
}
