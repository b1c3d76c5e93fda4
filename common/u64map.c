// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The one hash table for 64-bit keys (see tt_u64map.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tt_u64map.h"

#define MIN_BUCKETS 8u

/* Keys are 4-byte aligned when the stride is not a multiple of 8. */
static inline uint64_t key_at(const unsigned char *e)
{
	uint64_t k;

	memcpy(&k, e, sizeof(k));
	return k;
}

static inline void set_key(unsigned char *e, uint64_t k)
{
	memcpy(e, &k, sizeof(k));
}

static inline unsigned char *ent(const struct tt_u64map *m, size_t i)
{
	return m->ents + i * m->stride;
}

/* Key 0's entry, after the buckets. */
static inline unsigned char *zero_ent(const struct tt_u64map *m)
{
	return ent(m, m->mask + 1);
}

/* Buckets (a power of two) for n keys at most half full, or 0 when that is too large. */
static size_t buckets_for(size_t n, uint32_t stride)
{
	size_t b = MIN_BUCKETS;

	while (b / 2 < n) {
		if (b > SIZE_MAX / 2 / stride - 1)
			return 0;
		b *= 2;
	}
	return b;
}

int tt_u64map_init(struct tt_u64map *m, size_t vsize, size_t n)
{
	size_t b;

	memset(m, 0, sizeof(*m));
	if (vsize > UINT32_MAX / 2)
		return -EINVAL;
	m->vsize = (uint32_t)vsize;
	/* a size not a multiple of 8 is that of a type needing at most 4-byte alignment */
	m->stride = 8 + (((uint32_t)vsize + 3) & ~3u);
	b = buckets_for(n, m->stride);
	if (!b)
		return -ENOMEM;
	m->ents = calloc(b + 1, m->stride);
	if (!m->ents)
		return -ENOMEM;
	m->mask = b - 1;
	m->shift = (uint8_t)(64 - __builtin_ctzll(b));
	return 0;
}

int tt_u64map_init_index(struct tt_u64map *m, size_t n)
{
	int err = tt_u64map_init(m, 0, n);

	m->index = 1;
	return err;
}

void tt_u64map_free(struct tt_u64map *m)
{
	if (!m)
		return;
	free(m->ents);
	m->ents = NULL;
	m->mask = 0;
	m->n = 0;
	m->has_zero = 0;
}

size_t tt_u64map_bytes(const struct tt_u64map *m)
{
	return m->ents ? (m->mask + 2) * m->stride : 0;
}

int tt_u64map_copy(struct tt_u64map *dst, const struct tt_u64map *src)
{
	*dst = *src;
	dst->ents = malloc(tt_u64map_bytes(src));
	if (!dst->ents)
		return -ENOMEM;
	memcpy(dst->ents, src->ents, tt_u64map_bytes(src));
	return 0;
}

/* Rehash into b buckets: no key is equal to another, so each takes the first free bucket. */
static int rehash(struct tt_u64map *m, size_t b)
{
	struct tt_u64map g = *m;

	g.ents = calloc(b + 1, m->stride);
	if (!g.ents)
		return -ENOMEM;
	g.mask = b - 1;
	g.shift = (uint8_t)(64 - __builtin_ctzll(b));
	for (size_t i = 0; i <= m->mask; i++) {
		const unsigned char *e = ent(m, i);
		size_t j;

		if (!key_at(e))
			continue;
		for (j = tt_u64map_home(&g, key_at(e)); key_at(ent(&g, j)); j = (j + 1) & g.mask)
			;
		memcpy(ent(&g, j), e, m->stride);
	}
	memcpy(zero_ent(&g), zero_ent(m), m->stride);
	free(m->ents);
	*m = g;
	return 0;
}

int tt_u64map_reserve(struct tt_u64map *m, size_t n)
{
	size_t b = buckets_for(n, m->stride);

	if (!b)
		return -ENOMEM;
	return b > m->mask + 1 ? rehash(m, b) : 0;
}

int tt_u64map_put(struct tt_u64map *m, uint64_t key, void **val)
{
	unsigned char *e;
	size_t i;

	if (!key) {
		e = zero_ent(m);
		if (m->has_zero)
			goto found;
		m->has_zero = 1;
		goto added;
	}
	for (i = tt_u64map_home(m, key);; i = (i + 1) & m->mask) {
		e = ent(m, i);
		if (key_at(e) == key)
			goto found;
		if (!key_at(e))
			break;
	}
	/* key 0 takes no bucket */
	if ((m->n - m->has_zero + 1) * 2 > m->mask + 1) {
		int err = tt_u64map_reserve(m, m->n - m->has_zero + 1);

		if (err)
			return err;
		for (i = tt_u64map_home(m, key); key_at(ent(m, i)); i = (i + 1) & m->mask)
			;
		e = ent(m, i);
	}
	set_key(e, key);
added:
	memset(e + 8, 0, m->stride - 8);
	m->n++;
	if (val)
		*val = e + 8;
	return 1;
found:
	if (val)
		*val = e + 8;
	return 0;
}

int tt_u64map_del(struct tt_u64map *m, uint64_t key)
{
	size_t i, j, mask = m->mask;

	if (!key) {
		if (!m->has_zero)
			return 0;
		m->has_zero = 0;
		m->n--;
		return 1;
	}
	for (i = tt_u64map_home(m, key); key_at(ent(m, i)) != key; i = (i + 1) & mask)
		if (!key_at(ent(m, i)))
			return 0;
	/*
	 * Backward shift: each later entry of the cluster moves into the hole at i
	 * if its probe passed i, that is if i is no further from j than its home.
	 * Those whose home lies after the hole stay, or they could not be found.
	 */
	for (j = i;;) {
		uint64_t k;

		j = (j + 1) & mask;
		k = key_at(ent(m, j));
		if (!k)
			break;
		if (((j - i) & mask) > ((j - tt_u64map_home(m, k)) & mask))
			continue;
		memcpy(ent(m, i), ent(m, j), m->stride);
		i = j;
	}
	set_key(ent(m, i), 0);
	m->n--;
	return 1;
}

void *tt_u64map_next(const struct tt_u64map *m, size_t *it, uint64_t *key)
{
	while (*it <= m->mask) {
		unsigned char *e = ent(m, (*it)++);

		if (key_at(e)) {
			*key = key_at(e);
			return e + 8;
		}
	}
	if (*it == m->mask + 1 && m->has_zero) {
		(*it)++;
		*key = 0;
		return zero_ent(m) + 8;
	}
	return NULL;
}
