// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The id -> slot hash of the state table (see idmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

int idmap_init(struct idmap *m, uint32_t buckets)
{
	m->ents = calloc(buckets, sizeof(*m->ents));
	if (!m->ents)
		return -ENOMEM;
	m->mask = buckets - 1;
	m->n = 0;
	return 0;
}

void idmap_fini(struct idmap *m)
{
	free(m->ents);
	m->ents = NULL;
}

int idmap_copy(struct idmap *dst, const struct idmap *src)
{
	dst->ents = malloc(idmap_bytes(src));
	if (!dst->ents)
		return -ENOMEM;
	memcpy(dst->ents, src->ents, idmap_bytes(src));
	dst->mask = src->mask;
	dst->n = src->n;
	return 0;
}

static void put(struct idmap_ent *ents, uint32_t mask, struct idmap_ent e)
{
	uint32_t i = e.tag & mask;

	while (ents[i].slot1)
		i = (i + 1) & mask;
	ents[i] = e;
}

static int grow(struct idmap *m)
{
	uint32_t nb = (m->mask + 1) * 2, i;
	struct idmap_ent *ne;

	if (nb == 0)
		return -ENOMEM;
	ne = calloc(nb, sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	for (i = 0; i <= m->mask; i++)
		if (m->ents[i].slot1)
			put(ne, nb - 1, m->ents[i]);
	free(m->ents);
	m->ents = ne;
	m->mask = nb - 1;
	return 0;
}

int idmap_reserve(struct idmap *m, uint32_t n)
{
	/* at most half full keeps linear probes short */
	while ((uint64_t)n * 2 > (uint64_t)m->mask + 1) {
		int err = grow(m);

		if (err)
			return err;
	}
	return 0;
}

int idmap_insert(struct idmap *m, uint64_t id, uint32_t slot)
{
	struct idmap_ent e = {.slot1 = slot + 1, .tag = idmap_tag(id)};
	int err = idmap_reserve(m, m->n + 1);

	if (err)
		return err;
	put(m->ents, m->mask, e);
	m->n++;
	return 0;
}

/* The bucket holding (id, slot), which is present. */
static uint32_t where(const struct idmap *m, uint64_t id, uint32_t slot)
{
	uint32_t i = idmap_tag(id) & m->mask;

	while (m->ents[i].slot1 != slot + 1)
		i = (i + 1) & m->mask;
	return i;
}

void idmap_move(struct idmap *m, uint64_t id, uint32_t from, uint32_t to)
{
	m->ents[where(m, id, from)].slot1 = to + 1;
}

void idmap_remove(struct idmap *m, uint64_t id, uint32_t slot)
{
	uint32_t mask = m->mask, i = where(m, id, slot), j, k;

	m->ents[i].slot1 = 0;
	m->n--;
	/*
	 * Backward shift: pull later entries of the cluster into the hole unless
	 * their home lies cyclically in (hole, j], where moving would strand them.
	 */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!m->ents[j].slot1)
			return;
		k = m->ents[j].tag & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->ents[i] = m->ents[j];
		m->ents[j].slot1 = 0;
		i = j;
	}
}
