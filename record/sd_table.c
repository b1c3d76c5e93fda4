// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Tables of the sock_diag source (sd_table.h): cookie -> connection, inode -> owner, listeners. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sd_table.h"

struct tt_sd_table {
	unsigned char *slots; /* key 0 = empty: no cookie, inode or listener key is 0 */
	size_t elem, cap, n;  /* cap: a power of two */
};

static uint64_t *key_at(const struct tt_sd_table *t, size_t i)
{
	return (uint64_t *)(t->slots + i * t->elem);
}

static size_t home(size_t cap, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k & (cap - 1);
}

int tt_sd_table_new(struct tt_sd_table **out, size_t elem_size)
{
	struct tt_sd_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	/* keys stay aligned whatever the entry's size */
	t->elem = (elem_size + 7) & ~(size_t)7;
	t->cap = 256;
	t->slots = calloc(t->cap, t->elem);
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void tt_sd_table_free(struct tt_sd_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

static size_t find(const struct tt_sd_table *t, uint64_t key)
{
	size_t i = home(t->cap, key);

	while (*key_at(t, i) && *key_at(t, i) != key)
		i = (i + 1) & (t->cap - 1);
	return i;
}

void *tt_sd_table_get(const struct tt_sd_table *t, uint64_t key)
{
	size_t i;

	if (!key)
		return NULL;
	i = find(t, key);
	return *key_at(t, i) ? key_at(t, i) : NULL;
}

static int grow(struct tt_sd_table *t)
{
	struct tt_sd_table n = {.elem = t->elem, .cap = t->cap * 2};

	n.slots = calloc(n.cap, n.elem);
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t k = *key_at(t, i);

		if (k)
			memcpy(key_at(&n, find(&n, k)), key_at(t, i), t->elem);
	}
	free(t->slots);
	t->slots = n.slots;
	t->cap = n.cap;
	return 0;
}

void *tt_sd_table_put(struct tt_sd_table *t, uint64_t key, int *fresh)
{
	size_t i;

	*fresh = 0;
	if (!key)
		return NULL;
	i = find(t, key);
	if (*key_at(t, i))
		return key_at(t, i);
	/* at most half full: probes stay short */
	if ((t->n + 1) * 2 > t->cap) {
		if (grow(t))
			return NULL;
		i = find(t, key);
	}
	memset(key_at(t, i), 0, t->elem);
	*key_at(t, i) = key;
	t->n++;
	*fresh = 1;
	return key_at(t, i);
}

void tt_sd_table_del(struct tt_sd_table *t, uint64_t key)
{
	size_t mask = t->cap - 1, i, j;

	if (!key)
		return;
	i = find(t, key);
	if (!*key_at(t, i))
		return;
	/* backward shift: move up each later entry of the cluster whose home allows it */
	for (j = (i + 1) & mask; *key_at(t, j); j = (j + 1) & mask) {
		size_t h = home(t->cap, *key_at(t, j));

		if (((j - h) & mask) >= ((j - i) & mask)) {
			memcpy(key_at(t, i), key_at(t, j), t->elem);
			i = j;
		}
	}
	*key_at(t, i) = 0;
	t->n--;
}

void tt_sd_table_clear(struct tt_sd_table *t)
{
	memset(t->slots, 0, t->cap * t->elem);
	t->n = 0;
}

size_t tt_sd_table_count(const struct tt_sd_table *t)
{
	return t->n;
}

void *tt_sd_table_slot(const struct tt_sd_table *t, size_t i)
{
	return i < t->cap && *key_at(t, i) ? key_at(t, i) : NULL;
}

size_t tt_sd_table_slots(const struct tt_sd_table *t)
{
	return t->cap;
}
