/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_u64map: the one hash table for 64-bit keys (connection ids, socket
 * cookies, pids), each with a value of a size fixed at init: none (a set), a
 * uint32_t/uint64_t index into the caller's array, or a whole struct.
 *
 * Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so churn never lengthens probes. At most half the buckets are
 * used; the table grows by doubling and never shrinks (memory follows the
 * peak). An entry is the key then its value, in one piece (12 bytes for a
 * uint32_t), so a lookup costs one cache miss and probing reads no other
 * memory.
 *
 * Every uint64_t is a valid key. Key 0 marks an empty bucket, so key 0
 * itself is kept aside, in one more entry after the buckets.
 *
 * Values are zeroed when their key is added, and 8-byte aligned when their
 * size is a multiple of 8, else 4-byte aligned (all such a type needs). A value
 * pointer stays valid until the next put or del (which may move entries);
 * iteration visits each key once if neither is called meanwhile.
 *
 * An index (tt_u64map_init_index) serves records that hold their own keys
 * (the state table's slab): a set of words of 8 bytes, half an entry of key
 * and index, which at 100K connections is what keeps the table in L2 cache.
 * A word is a 32-bit hash of the record's key (its tag) above the record's
 * number (tt_u64map_word), and its home bucket comes from the tag; a lookup
 * walks the words of the key's tag (tt_u64map_probe) and checks each record.
 */
#ifndef TT_U64MAP_H
#define TT_U64MAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tt_u64map {
	unsigned char *ents; /* mask + 1 buckets, then key 0's entry */
	size_t mask;	     /* buckets - 1, a power of two */
	size_t n;	     /* keys held, key 0 included */
	uint32_t stride;     /* bytes of an entry: the key, then the value, rounded up to 4 */
	uint32_t vsize;
	uint8_t has_zero;
	uint8_t index; /* keys are words: the home bucket comes from the tag in their high bits */
	uint8_t shift; /* 64 - log2(buckets) */
};

/* An empty map of values of vsize bytes (0: a set) with room for n keys. 0 or -ENOMEM. */
int tt_u64map_init(struct tt_u64map *m, size_t vsize, size_t n);
/* An empty index (a set of words) with room for n. 0 or -ENOMEM. */
int tt_u64map_init_index(struct tt_u64map *m, size_t n);
/* Accepts a map that init failed on, or zeroed memory. */
void tt_u64map_free(struct tt_u64map *m);
/* dst (not initialised) becomes a copy of src. 0 or -ENOMEM. */
int tt_u64map_copy(struct tt_u64map *dst, const struct tt_u64map *src);
/* Room for n keys in all, so that the puts up to n cannot fail. 0 or -ENOMEM. */
int tt_u64map_reserve(struct tt_u64map *m, size_t n);

/*
 * The value of key: 1 when added (its value zeroed), 0 when it was there, or -ENOMEM. *val (if
 * val) points to the value.
 */
int tt_u64map_put(struct tt_u64map *m, uint64_t key, void **val);
/* Removes key: 1, or 0 when it was not there. */
int tt_u64map_del(struct tt_u64map *m, uint64_t key);

/*
 * Iteration: size_t it = 0; while ((v = tt_u64map_next(m, &it, &key))) ... Returns each value
 * (for a set, a pointer not to be read) with its key in *key, then NULL.
 */
void *tt_u64map_next(const struct tt_u64map *m, size_t *it, uint64_t *key);

/* Memory held (for tt_state_memory and the like). */
size_t tt_u64map_bytes(const struct tt_u64map *m);

static inline size_t tt_u64map_count(const struct tt_u64map *m)
{
	return m->n;
}

/*
 * The bucket a key's probe starts at (for tests that build clusters, and prefetching). Keys
 * by Fibonacci hashing, the top bits of key * 2^64/phi: sequential or evenly spaced ids (socket
 * cookies, pids) land evenly spread, nearly without collisions, and it costs one multiply. An
 * index's words by their tag. tt_u64map_fib() is that hash for a table of 2^(64 - shift)
 * buckets of another shape (record/conntab.c's chained index).
 */
static inline size_t tt_u64map_fib(uint64_t key, unsigned shift)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> shift);
}

static inline size_t tt_u64map_home(const struct tt_u64map *m, uint64_t key)
{
	if (m->index)
		return (size_t)(key >> 32) & m->mask;
	return tt_u64map_fib(key, m->shift);
}

/*
 * In an index: the tag of a record's key (the splitmix64 finaliser's high half), and the word
 * of record number idx (< UINT32_MAX).
 */
static inline uint32_t tt_u64map_tag(uint64_t key)
{
	key = (key ^ (key >> 30)) * 0xbf58476d1ce4e5b9ull;
	key = (key ^ (key >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((key ^ (key >> 31)) >> 32);
}

/*
 * The tag of a key that is a byte string (tcptop-query's grouped keys): its 8-byte words folded
 * by multiply-xorshift, then the same finaliser. Short keys (a 9-byte integer key) cost two
 * multiplies more than an integer's tag.
 */
static inline uint32_t tt_u64map_tag_bytes(const void *key, size_t n)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	/* the tail in a register: bytes stored then read as a word would stall the load */
	for (w = 0; n; n--)
		w = w << 8 | p[n - 1];
	return tt_u64map_tag(h ^ w);
}

static inline uint64_t tt_u64map_word(uint32_t tag, uint32_t idx)
{
	return (uint64_t)tag << 32 | (idx + 1); /* never 0 */
}

static inline uint32_t tt_u64map_word_idx(uint64_t word)
{
	return (uint32_t)word - 1;
}

/*
 * In an index: the words of tag, in probe order, each a candidate whose record the caller
 * checks; 0 at the end. Start with *i = tt_u64map_probe_start(m, tag).
 */
static inline size_t tt_u64map_probe_start(const struct tt_u64map *m, uint32_t tag)
{
	return tag & m->mask;
}

static inline uint64_t tt_u64map_probe(const struct tt_u64map *m, size_t *i, uint32_t tag)
{
	for (;;) {
		uint64_t w = ((const uint64_t *)(const void *)m->ents)[*i];

		*i = (*i + 1) & m->mask;
		if (!w || w >> 32 == tag)
			return w;
	}
}

/*
 * Where key's probe starts, to __builtin_prefetch() it. (Not a function that prefetches: GCC
 * finds such a function free of effects and drops its calls.)
 */
static inline const void *tt_u64map_bucket(const struct tt_u64map *m, uint64_t key)
{
	return m->ents + tt_u64map_home(m, key) * m->stride;
}

/* Inline, as lookups come once per event. The value of key, or NULL. */
static inline void *tt_u64map_get(const struct tt_u64map *m, uint64_t key)
{
	size_t i;

	if (!key)
		return m->has_zero ? m->ents + (m->mask + 1) * m->stride + 8 : NULL;
	for (i = tt_u64map_home(m, key);; i = (i + 1) & m->mask) {
		unsigned char *e = m->ents + i * m->stride;
		uint64_t k;

		memcpy(&k, e, sizeof(k)); /* 4-byte aligned when the stride is 12 */
		if (k == key)
			return e + 8;
		if (!k)
			return NULL;
	}
}

#endif /* TT_U64MAP_H */
