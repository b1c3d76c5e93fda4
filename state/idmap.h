/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to state/: connection id -> slot index. Open addressing with linear
 * probing and backward-shift deletion (no tombstones, so churn never degrades
 * probes). An entry is 8 bytes: the slot and 32 bits of the id's hash, which
 * also give the home bucket, so probing, growing and deleting never touch the
 * connections; only a tag hit is confirmed against the slab
 * (find_slot() in state_int.h).
 */
#ifndef TT_STATE_IDMAP_H
#define TT_STATE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#define IDMAP_NONE UINT32_MAX

struct idmap_ent {
	uint32_t slot1; /* slot + 1; 0 = empty bucket */
	uint32_t tag;	/* hash of the id; tag & mask is the home bucket */
};

struct idmap {
	struct idmap_ent *ents;
	uint32_t mask; /* buckets - 1 (a power of two) */
	uint32_t n;
};

int idmap_init(struct idmap *m, uint32_t buckets);
void idmap_fini(struct idmap *m);
int idmap_copy(struct idmap *dst, const struct idmap *src);

/* 32 bits of the id's hash: tag & mask is the home bucket. */
static inline uint32_t idmap_tag(uint64_t id)
{
	/* splitmix64 finaliser: socket cookies are sequential, spread them */
	id = (id ^ (id >> 30)) * 0xbf58476d1ce4e5b9ull;
	id = (id ^ (id >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((id ^ (id >> 31)) >> 32);
}

/* Grows so that n entries fit without growing. Returns 0 or -ENOMEM. */
int idmap_reserve(struct idmap *m, uint32_t n);
/* Adds id (not present) at slot; grows by doubling past half full. Returns 0 or -ENOMEM. */
int idmap_insert(struct idmap *m, uint64_t id, uint32_t slot);
/* Removes id (present at slot). */
void idmap_remove(struct idmap *m, uint64_t id, uint32_t slot);
/* id (present at slot from) is now at slot to. */
void idmap_move(struct idmap *m, uint64_t id, uint32_t from, uint32_t to);

static inline size_t idmap_bytes(const struct idmap *m)
{
	return ((size_t)m->mask + 1) * sizeof(struct idmap_ent);
}

#endif /* TT_STATE_IDMAP_H */
