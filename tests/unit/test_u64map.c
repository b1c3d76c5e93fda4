// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the one hash table for 64-bit keys (common/u64map.c).
 * One line per check, exit 1 on any failure.
 *
 * Oracle: a naive model, an array indexed by a key's number in a small universe of keys (key 0,
 * UINT64_MAX, keys that share their low bits, sequential ones), with a present flag and the
 * value. A million random puts, dels and gets; after every one the map answers as the model,
 * and every few thousand its iteration gives exactly the model's keys and values. Clusters
 * over the end of the buckets are built on purpose (keys found by their home bucket) to walk
 * the backward-shift delete through its wrap-around cases.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tt_u64map.h"

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ model */

#define UNIVERSE 6000
#define VMAX 40 /* the largest value size tried */

struct model {
	uint64_t keys[UNIVERSE];
	unsigned char val[UNIVERSE][VMAX];
	unsigned char present[UNIVERSE];
	size_t n, nu;		  /* keys present; keys in the universe */
	uint32_t order[UNIVERSE]; /* key numbers by key, to find a key the map gives back */
};

/* Key number u: every kind of key a user has, all distinct. */
static uint64_t key_of(size_t u)
{
	switch (u % 6) {
	case 0: return u == 0 ? 0 : u == 6 ? UINT64_MAX : u / 6;  /* small, sequential */
	case 1: return (uint64_t)(u / 6 + 1) << 32;		  /* low 32 bits all zero */
	case 2: return ((uint64_t)(u / 6) << 40) | 0xffffull;	  /* the same low bits */
	case 3: return 0x8000000000000000ull + (u / 6) * 3;	  /* sparse, high bit */
	case 4: return (u / 6 + 1) * 0x9e3779b97f4a7c15ull;	  /* scattered */
	default: return 0x700000001ull + (u / 6) * 0x10000000ull; /* strided */
	}
}

static const struct model *sorting;

static int by_key(const void *a, const void *b)
{
	uint64_t x = sorting->keys[*(const uint32_t *)a], y = sorting->keys[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

/* The universe is keys[0..nu), set by the caller. */
static void model_index(struct model *md, size_t nu)
{
	md->nu = nu;
	for (size_t u = 0; u < nu; u++)
		md->order[u] = (uint32_t)u;
	sorting = md;
	qsort(md->order, nu, sizeof(md->order[0]), by_key);
}

static void model_init(struct model *md)
{
	memset(md, 0, sizeof(*md));
	for (size_t u = 0; u < UNIVERSE; u++)
		md->keys[u] = key_of(u);
	model_index(md, UNIVERSE);
	for (size_t i = 1; i < UNIVERSE; i++)
		if (md->keys[md->order[i]] == md->keys[md->order[i - 1]])
			check(0, "the model's keys are distinct (%zu)", i);
}

/* The number of key, or nu. */
static size_t model_find(const struct model *md, uint64_t key)
{
	size_t lo = 0, hi = md->nu;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (md->keys[md->order[mid]] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < md->nu && md->keys[md->order[lo]] == key ? md->order[lo] : md->nu;
}

/* The map holds exactly the model's keys with its values, iterated once each. */
static int same(const struct tt_u64map *m, const struct model *md, size_t vsize, const char **why)
{
	static unsigned char seen[UNIVERSE];
	size_t it = 0, n = 0;
	uint64_t key;
	void *v;

	memset(seen, 0, sizeof(seen));
	if (tt_u64map_count(m) != md->n)
		return *why = "count differs", 0;
	while ((v = tt_u64map_next(m, &it, &key))) {
		size_t u = model_find(md, key);

		if (u == md->nu || !md->present[u])
			return *why = "a key the model lacks", 0;
		if (seen[u]++)
			return *why = "a key iterated twice", 0;
		if (memcmp(v, md->val[u], vsize))
			return *why = "a value differs", 0;
		if ((uintptr_t)v % (vsize % 8 ? 4 : 8))
			return *why = "a value not aligned for its size", 0;
		n++;
	}
	if (n != md->n)
		return *why = "iteration missed keys", 0;
	return *why = "", 1;
}

/* ------------------------------------------------------------------ tests */

static void t_basics(void)
{
	struct tt_u64map m, c;
	uint32_t *v;
	void *p;
	size_t it = 0;
	uint64_t key = 1;

	check(tt_u64map_init(&m, 4, 0) == 0 && tt_u64map_count(&m) == 0 && !tt_u64map_get(&m, 5) &&
		  !tt_u64map_get(&m, 0) && !tt_u64map_next(&m, &it, &key),
	      "new map is empty");
	check(tt_u64map_put(&m, 5, &p) == 1 && *(uint32_t *)p == 0 && (*(uint32_t *)p = 55) &&
		  tt_u64map_put(&m, 5, &p) == 0 && *(uint32_t *)p == 55,
	      "put: 1 and a zeroed value when added, 0 and the same value when there");
	check(tt_u64map_put(&m, 0, &p) == 1 && (*(uint32_t *)p = 7) && tt_u64map_count(&m) == 2 &&
		  (v = tt_u64map_get(&m, 0)) && *v == 7 &&
		  tt_u64map_put(&m, UINT64_MAX, NULL) == 1 && (v = tt_u64map_get(&m, UINT64_MAX)) &&
		  *v == 0,
	      "key 0 and UINT64_MAX are keys like any other");
	check(tt_u64map_copy(&c, &m) == 0 && tt_u64map_del(&m, 0) == 1 &&
		  tt_u64map_del(&m, 0) == 0 && !tt_u64map_get(&m, 0) &&
		  (v = tt_u64map_get(&c, 0)) && *v == 7 && tt_u64map_count(&c) == 3 &&
		  tt_u64map_count(&m) == 2,
	      "del of key 0; a copy is independent of its source");
	check(tt_u64map_del(&m, 6) == 0 && tt_u64map_del(&m, 5) == 1 && !tt_u64map_get(&m, 5) &&
		  tt_u64map_count(&m) == 1,
	      "del: 1 when there, 0 when not");
	tt_u64map_free(&c);
	tt_u64map_free(&m);
	tt_u64map_free(&m);
	tt_u64map_free(NULL);
	check(tt_u64map_init(&m, (size_t)UINT32_MAX, 0) == -EINVAL, "a value too large: -EINVAL");
	tt_u64map_free(&m);
}

/* Sizes: at most half full, doubling, reserve, and the memory a map reports. */
static void t_growth(void)
{
	struct tt_u64map m;
	size_t b0, doublings = 0, ok = 1, bad_load = 0;

	tt_u64map_init(&m, 8, 0);
	b0 = m.mask + 1;
	for (uint64_t k = 1; k <= 100000; k++) {
		size_t before = m.mask + 1;
		uint64_t *v;

		tt_u64map_put(&m, k * 4096, (void **)&v);
		*v = k;
		if (m.mask + 1 != before)
			doublings += m.mask + 1 == 2 * before;
		if (2 * tt_u64map_count(&m) > m.mask + 1)
			bad_load++;
	}
	for (uint64_t k = 1; k <= 100000; k++) {
		uint64_t *v = tt_u64map_get(&m, k * 4096);

		ok &= v && *v == k && !tt_u64map_get(&m, k * 4096 + 1);
	}
	check(ok && !bad_load && m.mask + 1 == 262144 && b0 << doublings == 262144 &&
		  tt_u64map_bytes(&m) == (262144 + 1) * 16,
	      "100K keys from %zu buckets: %zu doublings to 262144, never over half full, all "
	      "found",
	      b0, doublings);
	tt_u64map_free(&m);

	tt_u64map_init(&m, 0, 1000);
	b0 = m.mask + 1;
	check(b0 == 2048 && tt_u64map_reserve(&m, 1024) == 0 && m.mask + 1 == 2048 &&
		  tt_u64map_reserve(&m, 1025) == 0 && m.mask + 1 == 4096 && m.stride == 8,
	      "init and reserve size for half full; a set's entry is its key alone");
	{
		struct tt_u64map u;

		check(tt_u64map_init(&u, 4, 0) == 0 && u.stride == 12,
		      "a uint32_t value makes an entry of 12 bytes");
		tt_u64map_free(&u);
	}
	for (uint64_t k = 0; k < 2048; k++)
		tt_u64map_put(&m, k, NULL);
	check(m.mask + 1 == 4096 && tt_u64map_count(&m) == 2048,
	      "the puts up to what was reserved do not grow (key 0 takes no bucket)");
	for (uint64_t k = 0; k < 2048; k++)
		tt_u64map_del(&m, k);
	check(m.mask + 1 == 4096 && tt_u64map_count(&m) == 0, "emptied, the map keeps its size");
	tt_u64map_free(&m);
}

/*
 * Keys whose home buckets sit at the end of a 64-bucket map, so their cluster runs over the
 * end into buckets 0, 1, ...; and keys whose home is 0, 1 and 2, that the cluster pushes on.
 * Deleting them in every pattern moves entries back across the wrap.
 */
static void t_wrap_clusters(void)
{
	static struct model md;
	static const size_t homes[14] = {61, 62, 62, 63, 63, 63, 0, 0, 1, 1, 2, 60, 63, 0};
	struct tt_u64map probe;
	uint64_t keys[14], key = 1;
	const char *why = "";
	int bad = 0, grew = 0, crossed = 0;

	tt_u64map_init(&probe, 4, 32);
	for (size_t k = 0; k < 14; k++, key++) {
		while (tt_u64map_home(&probe, key) != homes[k])
			key++;
		keys[k] = key;
	}
	for (unsigned pattern = 0; pattern < (1u << 14) && !bad; pattern += 3) {
		struct tt_u64map m;
		uint64_t s = pattern;

		tt_u64map_init(&m, 4, 32);
		memset(&md, 0, sizeof(md));
		/* the universe is the 14 keys: put in a shuffled order */
		for (size_t k = 0; k < 14; k++) {
			size_t j = k + rnd(&s) % (14 - k);
			uint64_t x = keys[j];
			uint32_t *v;

			keys[j] = keys[k];
			keys[k] = x;
			tt_u64map_put(&m, keys[k], (void **)&v);
			*v = (uint32_t)(pattern * 16 + k);
			md.keys[k] = keys[k];
			md.present[k] = 1;
			memcpy(md.val[k], v, 4);
		}
		md.n = 14;
		model_index(&md, 14);
		/* the cluster runs from 60 over the end: some entry sits before its home */
		for (size_t b = 0; b < 4; b++) {
			uint64_t k;

			memcpy(&k, m.ents + b * m.stride, sizeof(k));
			crossed |= k && tt_u64map_home(&m, k) > 32;
		}
		for (size_t k = 0; k < 14 && !bad; k++) {
			if (!(pattern >> k & 1))
				continue;
			tt_u64map_del(&m, keys[k]);
			md.present[k] = 0;
			md.n--;
			bad = !same(&m, &md, 4, &why);
			for (size_t j = 0; j < 14 && !bad; j++) {
				uint32_t *v = tt_u64map_get(&m, keys[j]);

				if (md.present[j] ? !v || memcmp(v, md.val[j], 4) : v != NULL) {
					bad = 1;
					why = "get differs from the model";
				}
			}
		}
		grew |= m.mask != 63;
		tt_u64map_free(&m);
		if (bad)
			check(0, "cluster over the end of the buckets, delete pattern %#x: %s",
			      pattern, why);
	}
	tt_u64map_free(&probe);
	if (!bad)
		check(crossed && !grew, "clusters over the end of 64 buckets: every delete pattern "
					"keeps the rest findable");
}

static int zeroed(const void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)v)[i])
			return 0;
	return 1;
}

/* A million random puts, dels and gets against the model, in maps of every value size. */
static void t_churn(size_t vsize, size_t ops, uint64_t seed)
{
	static struct model md;
	struct tt_u64map m;
	size_t live_max = 0, shrinks = 0, grows = 0, fail_at = 0;
	uint64_t s = seed;
	const char *why = "";
	int bad = 0;

	model_init(&md);
	tt_u64map_init(&m, vsize, 0);
	for (size_t i = 0; i < ops && !bad; i++) {
		/* the live range fills up, empties, and fills again: growth, then churn at size */
		size_t phase = i % 400000, span = phase < 200000 ? 16 + phase / 34 : 6000;
		size_t u = rnd(&s) % (span < UNIVERSE ? span : UNIVERSE);
		int r = (int)(rnd(&s) % 10), fill = phase < 200000 || phase >= 300000;
		uint64_t key = md.keys[u];
		size_t before = m.mask;
		void *v = tt_u64map_get(&m, key);

		if (md.present[u] ? !v || memcmp(v, md.val[u], vsize) : v != NULL) {
			why = "get differs from the model";
			bad = 1;
			fail_at = i;
			break;
		}
		if (r < (fill ? 6 : 3)) {
			int ret = tt_u64map_put(&m, key, &v);

			if (ret != !md.present[u] || (ret == 1 && !zeroed(v, vsize))) {
				why = "put's answer differs from the model";
				bad = 1;
				fail_at = i;
				break;
			}
			for (size_t b = 0; b < vsize; b++)
				((unsigned char *)v)[b] = (unsigned char)rnd(&s);
			memcpy(md.val[u], v, vsize);
			md.n += !md.present[u];
			md.present[u] = 1;
		} else if (r < 8) {
			if (tt_u64map_del(&m, key) != md.present[u]) {
				why = "del's answer differs from the model";
				bad = 1;
				fail_at = i;
				break;
			}
			md.n -= md.present[u];
			md.present[u] = 0;
		}
		grows += m.mask != before;
		shrinks += m.mask < before;
		if (md.n > live_max)
			live_max = md.n;
		if (i % 4999 == 0 || i == ops - 1)
			bad = !same(&m, &md, vsize, &why);
		if (bad)
			fail_at = i;
	}
	if (bad)
		check(0, "value size %zu, op %zu: %s", vsize, fail_at, why);
	else
		check(live_max > 3000 && grows >= 9 && !shrinks,
		      "value size %zu: %zu random puts/dels/gets match the model (up to %zu keys, "
		      "%zu "
		      "at the end, %zu doublings)",
		      vsize, ops, live_max, md.n, grows);
	tt_u64map_free(&m);
}

/*
 * An index of records that hold their keys, as the state table's slab: record r has key
 * r * 7919 + 1, and tags are taken from the key modulo 1000, so that records share tags and
 * each candidate must be checked. Random adds and removes; every lookup finds a record iff
 * the model (a present flag per record) has it.
 */
#define RECS 3000

static uint32_t idx_tag(uint64_t key)
{
	return tt_u64map_tag(key % 1000);
}

static uint32_t idx_find(const struct tt_u64map *m, const uint64_t *keys, uint64_t key)
{
	uint32_t tag = idx_tag(key);
	size_t i = tt_u64map_probe_start(m, tag);
	uint64_t w;

	while ((w = tt_u64map_probe(m, &i, tag)))
		if (keys[tt_u64map_word_idx(w)] == key)
			return tt_u64map_word_idx(w);
	return UINT32_MAX;
}

/*
 * Byte-string keys (tcptop-query's grouped keys): equal bytes give equal tags, whatever the
 * buffer; 100K keys as the query encodes integers (a type byte, 8 big-endian bytes), and
 * keys of every length up to 40, spread over the tags: at most a handful of 32-bit
 * collisions (about 1.2 are expected per 100K).
 */
static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void t_tag_bytes(void)
{
	static uint32_t tags[100000];
	unsigned char a[48], b[64];
	size_t dup = 0, n = 0;
	int same = 1;

	for (uint32_t i = 0; i < 100000; i++) {
		a[0] = 1;
		for (int j = 0; j < 8; j++)
			a[1 + j] = (unsigned char)((0x100000ull + i) >> (56 - 8 * j));
		memcpy(b + 3, a, 9);
		same &= tt_u64map_tag_bytes(a, 9) == tt_u64map_tag_bytes(b + 3, 9);
		tags[n++] = tt_u64map_tag_bytes(a, 9);
	}
	check(same, "equal key bytes at any alignment: equal tags");
	qsort(tags, n, sizeof(*tags), by_u32);
	for (size_t i = 1; i < n; i++)
		dup += tags[i] == tags[i - 1];
	check(dup <= 6, "100K integer keys: %zu shared tags (<= 6)", dup);
	memset(a, 0, sizeof(a));
	n = 0;
	for (size_t len = 0; len <= 40; len++)
		tags[n++] = tt_u64map_tag_bytes(a, len);
	qsort(tags, n, sizeof(*tags), by_u32);
	dup = 0;
	for (size_t i = 1; i < n; i++)
		dup += tags[i] == tags[i - 1];
	check(dup == 0, "zero keys of lengths 0..40: all tags differ (the length is hashed)");
}

static void t_index(void)
{
	static uint64_t keys[RECS];
	static unsigned char present[RECS];
	struct tt_u64map m;
	size_t n = 0, live_max = 0, i;
	uint64_t s = 5, w;
	int bad = 0;

	check(tt_u64map_init_index(&m, 0) == 0 && m.stride == 8, "an index's entry is 8 bytes");
	for (uint32_t r = 0; r < RECS; r++)
		keys[r] = (uint64_t)r * 7919 + 1;
	for (size_t op = 0; op < 300000 && !bad; op++) {
		uint32_t r = (uint32_t)(rnd(&s) % (op % 100000 < 50000 ? RECS : RECS / 3));
		uint32_t q = (uint32_t)(rnd(&s) % RECS);
		uint64_t word = tt_u64map_word(idx_tag(keys[r]), r);

		if (present[r]) {
			bad |= tt_u64map_del(&m, word) != 1;
			present[r] = 0;
			n--;
		} else {
			bad |= tt_u64map_put(&m, word, NULL) != 1;
			present[r] = 1;
			n++;
		}
		bad |= idx_find(&m, keys, keys[q]) != (present[q] ? q : UINT32_MAX);
		bad |= idx_find(&m, keys, keys[r]) != (present[r] ? r : UINT32_MAX);
		bad |= tt_u64map_count(&m) != n;
		if (n > live_max)
			live_max = n;
	}
	/* every word names a present record under its key's tag, once, and all are there */
	i = 0;
	while (!bad && tt_u64map_next(&m, &i, &w)) {
		uint32_t r = tt_u64map_word_idx(w);

		bad |= r >= RECS || !present[r] || (uint32_t)(w >> 32) != idx_tag(keys[r]);
		if (!bad && present[r] == 2)
			bad = 1;
		if (!bad)
			present[r] = 2;
	}
	for (uint32_t r = 0; r < RECS && !bad; r++)
		bad |= present[r] == 1;
	/* records r, r + 1000 and r + 2000 share a tag */
	check(!bad && live_max > 1500 && idx_tag(keys[7]) == idx_tag(keys[2007]),
	      "an index: 300000 random adds and removes of records sharing tags, lookups by tag "
	      "and record match the model (up to %zu records)",
	      live_max);
	tt_u64map_free(&m);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: %s\n", argv[0]);
		return 2;
	}
	t_basics();
	t_growth();
	t_wrap_clusters();
	t_churn(8, 1000000, 1);
	t_churn(0, 200000, 2);
	t_churn(4, 200000, 3);
	t_churn(36, 200000, 4);
	t_index();
	t_tag_bytes();
	printf("%s: %d failure(s)\n", argv[0], failures);
	return failures ? 1 : 0;
}
