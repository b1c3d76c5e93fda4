/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Grouped scans of `events` (query.h): GROUP BY (and DISTINCT with an ORDER
 * BY) on key columns without SQLite's sorter. SQLite has no hash aggregation, so a
 * GROUP BY sorts every row (about 1 us each); when the vtab delivers the rows
 * ordered by the keys itself, SQLite aggregates them as they come.
 *
 * A pass reads the files once and keeps, for every group whose key falls in
 * the pass's key range, its rows in its own chain of chunks, each row reduced
 * to the columns the statement reads (the keys once per group; a count alone
 * when nothing else is read). The groups are then sorted by key and emitted,
 * rows of a group in capture order. When the rows outgrow the memory budget
 * the pass stops and its range is split at the median key seen so far, each
 * part a pass of its own; a group that alone holds a quarter of the budget is
 * cut out of the range and streamed by a pass that emits its rows as they are
 * read, which needs no memory. So any capture is grouped in bounded memory,
 * in key order, and one that fits is read once.
 *
 * The output is in key order even when SQLite only asked for equal keys to be
 * adjacent (sqlite3_vtab_distinct() 1 or 2): SQLite 3.40 also drops the sort
 * of an ORDER BY equal to the GROUP BY in that case, trusting the order.
 *
 * Keys are encoded so that memcmp() orders them as SQL's ORDER BY does
 * (NULL < integer < text, BINARY collation, DESC columns inverted) and equal
 * bytes are equal keys (NULLs equal, as GROUP BY has them). Other columns
 * are stored compactly: a tag in the low 2 bits of a LEB128 varint (tt_varint.h).
 * Groups are found by an index of tt_u64map (index mode: the tag of the key's
 * bytes above the group's number), as the state table finds its connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "tt_u64map.h"
#include "tt_varint.h"
#include "tt_util.h"

#define ROW_COL_MAX 80	     /* a stored column: at most 10 + 66 bytes (put_val) */
#define CHUNK_FIRST 64	     /* a group's first chunk; each next one doubles... */
#define CHUNK_MAX (64 << 10) /* ...up to this */
#define ALLOC_OVERHEAD 16    /* what malloc adds to a block, counted against the budget */

enum { TAG_NULL, TAG_INT, TAG_BIGINT, TAG_TEXT };

/* events columns stored by reference (the schema puts file and host first in every table) */
enum { COL_FILE = 0, COL_HOST = 1, COL_KIND = 3 };

struct chunk {
	struct chunk *next;
	uint32_t used, cap;
	unsigned char data[];
};

struct grp {
	uint64_t rows;		   /* rows stored */
	uint64_t bytes;		   /* memory its chunks hold */
	uint32_t key_off, key_len; /* in keybuf */
	/* tail's fill is kept here, not in the chunk: chunk headers 64K apart share cache sets */
	uint32_t tail_used, tail_cap;
	struct chunk *head, *tail;
};

/*
 * A part of the work: the groups with lo <= key < hi (lo < key when lo_excl;
 * no lo: from the first, no hi: to the last), or one giant group (key lo).
 */
struct task {
	unsigned char *lo, *hi;
	uint32_t lo_len, hi_len;
	uint8_t lo_excl, giant;
};

/* A decoded value, pointing into the stored bytes. */
struct dval {
	int type;
	int is_static; /* text: lives as long as the capture set */
	sqlite3_int64 i;
	const char *s;
	int n;
};

enum { G_IDLE, G_EMIT, G_GIANT, G_EOF };

struct tt_query_group {
	struct tt_query_set *set;
	uint32_t *canon;    /* per file: first file of the same name, of the same host */
	uint64_t keys, rec; /* key columns; other columns read, stored per row */
	int one;	    /* one row per group is enough */
	int n_key, n_rec;
	uint32_t row_max;			      /* longest stored row */
	int key_cols[64], key_desc[64], rec_cols[64]; /* keys in ORDER BY order */
	struct dval key_val[64], rec_val[64];	      /* by column */
	size_t key_max;				      /* longest encoded key */
	unsigned char *key;			      /* the current event's key */
	char *key_text;				      /* text of key_val */
	size_t budget;
	struct tt_query_stream st; /* constraints, and the current pass */

	/* groups of the current task */
	struct grp *grps;
	size_t n_grps, cap_grps;
	struct tt_u64map index; /* words: tag of the key, group number; no ents: none yet */
	uint32_t *order;	/* group indices in key order */
	unsigned char *keybuf;
	size_t key_len, key_cap;
	size_t mem;

	struct task *todo; /* a stack: the next part in key order on top */
	size_t n_todo, cap_todo;
	struct task cur; /* the task being done (owns its keys) */

	int state;
	size_t oi;	  /* G_EMIT: current group, in order[] */
	struct chunk *ck; /* its current chunk */
	uint32_t off;	  /* next row's offset in ck */
	uint64_t left;	  /* rows of the group still to emit */
	int live;	  /* G_GIANT: a row of it was emitted */
	unsigned passes;
	size_t giants, peak;
};

/* ------------------------------------------------------------- encoding */

/* v encoded: at most 10 + 64 bytes (other text is a reference, see put_col()). */
static size_t put_val(unsigned char *p, const struct tt_query_val *v)
{
	size_t n, h;

	switch (v->type) {
	case SQLITE_INTEGER:
		if (v->i >= 0 && (uint64_t)v->i < ((uint64_t)1 << 62))
			return (size_t)(tt_put_varint(p, ((uint64_t)v->i << 2) | TAG_INT) - p);
		p[0] = TAG_BIGINT;
		memcpy(p + 1, &v->i, 8);
		return 9;
	case SQLITE_TEXT:
		n = strlen(v->s);
		h = (size_t)(tt_put_varint(p, ((uint64_t)n << 2) | TAG_TEXT) - p);
		memcpy(p + h, v->s, n);
		return h + n;
	}
	p[0] = TAG_NULL;
	return 1;
}

/*
 * file, host and kind, read by most statements, are stored as references to
 * the strings, not copies: TAG_BIGINT with a non-zero payload. Files of the
 * same name (or host) share one reference, so equal text is equal bytes.
 */
enum { REF_FILE, REF_HOST, REF_KIND, REF_KINDS };

static size_t put_col(const struct tt_query_group *g, unsigned char *p, int col)
{
	const struct tt_query_stream *st = &g->st;
	struct tt_query_val v;
	uint64_t ref;

	switch (col) {
	case COL_FILE: ref = 1 + (uint64_t)g->canon[2 * st->file] * REF_KINDS + REF_FILE; break;
	case COL_HOST: ref = 1 + (uint64_t)g->canon[2 * st->file + 1] * REF_KINDS + REF_HOST; break;
	case COL_KIND: ref = 1 + (uint64_t)st->ev.kind * REF_KINDS + REF_KIND; break;
	default:
		v.type = SQLITE_NULL;
		tt_query_event_value(&v, g->set, st->file, &st->ev, col);
		return put_val(p, &v);
	}
	return (size_t)(tt_put_varint(p, (ref << 2) | TAG_BIGINT) - p);
}

/* ---------------------------------------------------- order-preserving keys */

enum { KEY_NULL, KEY_INT, KEY_TEXT };

static size_t put_key_val(unsigned char *p, const struct tt_query_val *v, int desc)
{
	size_t n = 1;

	if (v->type == SQLITE_INTEGER) {
		uint64_t u = (uint64_t)v->i ^ ((uint64_t)1 << 63);

		p[0] = KEY_INT;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* big-endian in one store: gcc leaves the byte loop a loop (~45 instructions) */
		u = __builtin_bswap64(u);
		memcpy(p + 1, &u, 8);
#else
		for (int i = 0; i < 8; i++)
			p[1 + i] = (unsigned char)(u >> (56 - 8 * i));
#endif
		n = 9;
	} else if (v->type == SQLITE_TEXT) {
		/* NUL-terminated: a prefix sorts first, and no text holds a NUL */
		size_t len = strlen(v->s);

		p[0] = KEY_TEXT;
		memcpy(p + 1, v->s, len + 1);
		n = len + 2;
	} else {
		p[0] = KEY_NULL;
	}
	if (desc)
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)~p[i];
	return n;
}

/* The key of the current event: key columns in ORDER BY order. At most g->key_max bytes. */
static size_t event_key(struct tt_query_group *g, unsigned char *p)
{
	const struct tt_query_stream *st = &g->st;
	size_t n = 0;

	for (int i = 0; i < g->n_key; i++) {
		struct tt_query_val v;

		v.type = SQLITE_NULL;
		tt_query_event_value(&v, g->set, st->file, &st->ev, g->key_cols[i]);
		n += put_key_val(p + n, &v, g->key_desc[i]);
	}
	return n;
}

/* Decode a key into key_val[], text copied (un-inverted) into key_text. */
static void get_key(struct tt_query_group *g, const unsigned char *p)
{
	char *t = g->key_text;

	for (int i = 0; i < g->n_key; i++) {
		struct dval *d = &g->key_val[g->key_cols[i]];
		unsigned char x = g->key_desc[i] ? 0xff : 0;
		unsigned char tag = p[0] ^ x;

		p++;
		d->is_static = 0;
		if (tag == KEY_INT) {
			uint64_t u = 0;

			for (int j = 0; j < 8; j++)
				u = (u << 8) | (unsigned char)(p[j] ^ x);
			d->type = SQLITE_INTEGER;
			d->i = (sqlite3_int64)(u ^ ((uint64_t)1 << 63));
			p += 8;
		} else if (tag == KEY_TEXT) {
			d->type = SQLITE_TEXT;
			d->s = t;
			while ((*t = (char)(*p++ ^ x)) != 0)
				t++;
			d->n = (int)(t - d->s);
			t++;
		} else {
			d->type = SQLITE_NULL;
		}
	}
}

/* memcmp order of two keys; a missing bound (NULL) is below or above everything */
static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

/* One stored value at p, before end (the chunk's fill: rows are our own, whole). */
static size_t get_val(const struct tt_query_group *g, const unsigned char *p,
		      const unsigned char *end, struct dval *d)
{
	const unsigned char *q = p;
	uint64_t x = 0, ref;
	size_t n;

	if (p[0] == TAG_BIGINT) {
		d->type = SQLITE_INTEGER;
		memcpy(&d->i, p + 1, 8);
		return 9;
	}
	(void)tt_get_varint_pad(&q, end, &x);
	n = (size_t)(q - p);
	switch (x & 3) {
	case TAG_INT:
		d->type = SQLITE_INTEGER;
		d->i = (sqlite3_int64)(x >> 2);
		return n;
	case TAG_TEXT:
		d->type = SQLITE_TEXT;
		d->s = (const char *)p + n;
		d->n = (int)(x >> 2);
		d->is_static = 0;
		return n + (x >> 2);
	case TAG_BIGINT:
		ref = (x >> 2) - 1;
		d->type = SQLITE_TEXT;
		d->n = -1;
		d->is_static = 1;
		if (ref % REF_KINDS == REF_FILE)
			d->s = g->set->files[ref / REF_KINDS].path;
		else if (ref % REF_KINDS == REF_HOST)
			d->s = g->set->files[ref / REF_KINDS].hdr.hostname;
		else
			d->s = tt_fmt_kind_name((unsigned)(ref / REF_KINDS));
		return n;
	}
	d->type = SQLITE_NULL;
	return n;
}

/* ---------------------------------------------------------------- setup */

int tt_query_group_new(struct tt_query_group **out, struct tt_query_set *set, const int *key_cols,
		       const int *key_desc, int n_key, uint64_t used, int one_per_group)
{
	struct tt_query_group *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->canon = calloc(2 * (set->n_files ? set->n_files : 1), sizeof(*g->canon));
	if (!g->canon) {
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->n_files; i++) {
		size_t a = i, b = i;

		for (size_t j = 0; j < i && a == i; j++)
			if (strcmp(set->files[j].path, set->files[i].path) == 0)
				a = j;
		for (size_t j = 0; j < i && b == i; j++)
			if (strcmp(set->files[j].hdr.hostname, set->files[i].hdr.hostname) == 0)
				b = j;
		g->canon[2 * i] = (uint32_t)a;
		g->canon[2 * i + 1] = (uint32_t)b;
	}
	g->set = set;
	for (int i = 0; i < n_key && i < 64; i++) {
		if (key_cols[i] < 0 || key_cols[i] >= 64 || (g->keys & TQ_COL(key_cols[i])))
			continue; /* a repeated key orders nothing more */
		g->keys |= TQ_COL(key_cols[i]);
		g->key_desc[g->n_key] = key_desc[i];
		g->key_cols[g->n_key++] = key_cols[i];
	}
	/* text is at most 64 bytes (tt_query_val.buf) but file names and host names */
	g->key_max = 1;
	for (int i = 0; i < g->n_key; i++) {
		size_t most = 80;

		for (size_t f = 0; f < set->n_files; f++) {
			size_t n = strlen(g->key_cols[i] == COL_FILE ? set->files[f].path
								     : set->files[f].hdr.hostname);

			if ((g->key_cols[i] == COL_FILE || g->key_cols[i] == COL_HOST) &&
			    n + 2 > most)
				most = n + 2;
		}
		g->key_max += most;
	}
	g->key = malloc(g->key_max);
	g->key_text = malloc(g->key_max);
	if (!g->key || !g->key_text) {
		free(g->key);
		free(g->key_text);
		free(g->canon);
		free(g);
		return -ENOMEM;
	}
	g->one = one_per_group;
	g->rec = one_per_group ? 0 : used & ~g->keys;
	for (int c = 0; c < 64; c++)
		if (g->rec & TQ_COL(c))
			g->rec_cols[g->n_rec++] = c;
	g->row_max = (uint32_t)g->n_rec * ROW_COL_MAX;
	g->budget = set->group_budget;
	g->st.set = set;
	g->state = G_EOF;
	*out = g;
	return 0;
}

/* Drop the task's groups and their rows: each pass starts from nothing. */
static void table_reset(struct tt_query_group *g)
{
	for (size_t i = 0; i < g->n_grps; i++) {
		struct chunk *c = g->grps[i].head, *next;

		for (; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(g->grps);
	tt_u64map_free(&g->index);
	free(g->order);
	free(g->keybuf);
	g->grps = NULL;
	g->order = NULL;
	g->keybuf = NULL;
	g->n_grps = g->cap_grps = g->key_len = g->key_cap = 0;
	g->mem = 0;
}

static void task_free(struct task *t)
{
	free(t->lo);
	free(t->hi);
	memset(t, 0, sizeof(*t));
}

static void todo_clear(struct tt_query_group *g)
{
	while (g->n_todo)
		task_free(&g->todo[--g->n_todo]);
	task_free(&g->cur);
}

void tt_query_group_free(struct tt_query_group *g)
{
	if (!g)
		return;
	tt_query_stream_close(&g->st);
	table_reset(g);
	todo_clear(g);
	free(g->todo);
	free(g->canon);
	free(g->key);
	free(g->key_text);
	free(g);
}

void tt_query_group_stats(const struct tt_query_group *g, unsigned *passes, size_t *giants,
			  size_t *peak)
{
	*passes = g->passes;
	*giants = g->giants;
	*peak = g->peak;
}

static unsigned char *dup_key(const unsigned char *k, size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	if (p && n)
		memcpy(p, k, n);
	return p;
}

/* Push a task; lo and hi (NULL: unbounded) are copied. */
static int push(struct tt_query_group *g, const unsigned char *lo, size_t lo_len, int lo_excl,
		const unsigned char *hi, size_t hi_len, int giant)
{
	struct task t = {0};

	if (g->n_todo == g->cap_todo) {
		size_t cap = g->cap_todo ? g->cap_todo * 2 : 16;
		struct task *n = realloc(g->todo, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		g->todo = n;
		g->cap_todo = cap;
	}
	if (lo && !(t.lo = dup_key(lo, lo_len)))
		return -ENOMEM;
	if (hi && !(t.hi = dup_key(hi, hi_len))) {
		free(t.lo);
		return -ENOMEM;
	}
	t.lo_len = (uint32_t)lo_len;
	t.hi_len = (uint32_t)hi_len;
	t.lo_excl = (uint8_t)lo_excl;
	t.giant = (uint8_t)giant;
	g->todo[g->n_todo++] = t;
	return 0;
}

int tt_query_group_start(struct tt_query_group *g, const struct tt_query_stream *st)
{
	tt_query_stream_close(&g->st);
	g->st.only = st->only;
	g->st.ts_min = st->ts_min;
	g->st.ts_max = st->ts_max;
	table_reset(g);
	todo_clear(g);
	g->state = G_IDLE;
	if (push(g, NULL, 0, 0, NULL, 0, 0) < 0) {
		snprintf(g->set->err, sizeof(g->set->err), "grouped scan: out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------ one pass */

static int oom(struct tt_query_group *g)
{
	snprintf(g->set->err, sizeof(g->set->err), "grouped scan: out of memory");
	return -ENOMEM;
}

static int in_task(const struct task *t, const unsigned char *k, size_t n)
{
	if (t->lo) {
		int c = key_cmp(k, n, t->lo, t->lo_len);

		if (c < 0 || (c == 0 && t->lo_excl))
			return 0;
	}
	return !t->hi || key_cmp(k, n, t->hi, t->hi_len) < 0;
}

/* Equal keys of n bytes: inline, as keys are short (an integer key is 9 bytes). */
static inline int key_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y;

	for (; n >= 8; n -= 8, a += 8, b += 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	for (; n; n--, a++, b++) /* an integer key's ninth byte: no call for one byte */
		if (*a != *b)
			return 0;
	return 1;
}

static struct grp *find_or_add(struct tt_query_group *g, const unsigned char *key, size_t len)
{
	uint32_t tag = tt_u64map_tag_bytes(key, len);
	size_t i, before;
	struct grp *gr;
	uint64_t w;

	if (!g->index.ents) {
		if (tt_u64map_init_index(&g->index, 32) < 0)
			return NULL;
		g->mem += tt_u64map_bytes(&g->index);
	}
	i = tt_u64map_probe_start(&g->index, tag);
	while ((w = tt_u64map_probe(&g->index, &i, tag))) {
		gr = &g->grps[tt_u64map_word_idx(w)];
		if (gr->key_len == len && key_eq(g->keybuf + gr->key_off, key, len))
			return gr;
	}
	if (g->n_grps == g->cap_grps) {
		size_t cap = g->cap_grps ? g->cap_grps * 2 : 32;
		struct grp *t = realloc(g->grps, cap * sizeof(*t));
		uint32_t *o;

		if (!t)
			return NULL;
		g->grps = t;
		o = realloc(g->order, cap * sizeof(*o));
		if (!o)
			return NULL;
		g->order = o;
		g->mem += (cap - g->cap_grps) * (sizeof(*t) + sizeof(*o));
		g->cap_grps = cap;
	}
	if (g->key_len + len > g->key_cap) {
		size_t old = g->key_cap;

		if (tt_grow(&g->keybuf, &g->key_cap, g->key_len + len, 1, 512))
			return NULL;
		g->mem += g->key_cap - old;
	}
	before = tt_u64map_bytes(&g->index);
	if (tt_u64map_put(&g->index, tt_u64map_word(tag, (uint32_t)g->n_grps), NULL) < 0)
		return NULL;
	g->mem += tt_u64map_bytes(&g->index) - before;
	memcpy(g->keybuf + g->key_len, key, len);
	gr = &g->grps[g->n_grps++];
	memset(gr, 0, sizeof(*gr));
	gr->key_off = (uint32_t)g->key_len;
	gr->key_len = (uint32_t)len;
	g->key_len += len;
	return gr;
}

/*
 * Room for one more row (row_max bytes) at the end of the group's chain: the row is then
 * written in place, not built aside and copied. NULL when out of memory.
 */
static unsigned char *row_room(struct tt_query_group *g, struct grp *gr)
{
	struct chunk *c = gr->tail;

	if (!c || gr->tail_cap - gr->tail_used < g->row_max) {
		size_t cap = c ? (size_t)gr->tail_cap * 2 : CHUNK_FIRST;

		if (cap > CHUNK_MAX)
			cap = CHUNK_MAX;
		if (cap < g->row_max)
			cap = g->row_max;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = NULL;
		c->used = 0;
		c->cap = (uint32_t)cap;
		if (gr->tail) {
			gr->tail->used = gr->tail_used;
			gr->tail->next = c;
		} else {
			gr->head = c;
		}
		gr->tail = c;
		gr->tail_used = 0;
		gr->tail_cap = (uint32_t)cap;
		gr->bytes += sizeof(*c) + cap + ALLOC_OVERHEAD;
		g->mem += sizeof(*c) + cap + ALLOC_OVERHEAD;
	}
	return c->data + gr->tail_used;
}

static int by_key(const void *a, const void *b, void *arg)
{
	const struct tt_query_group *g = arg;
	const struct grp *x = &g->grps[*(const uint32_t *)a], *y = &g->grps[*(const uint32_t *)b];

	return key_cmp(g->keybuf + x->key_off, x->key_len, g->keybuf + y->key_off, y->key_len);
}

/* The budget ran out in task t: cut its biggest group out, or split t at its median key. */
static int overflow(struct tt_query_group *g, const struct task *t)
{
	const struct grp *big = NULL, *mid;
	unsigned char *k;
	int ret;

	for (size_t i = 0; i < g->n_grps; i++)
		if (!big || g->grps[i].bytes > big->bytes)
			big = &g->grps[i];
	if (!big)
		return -ENOMEM; /* cannot happen: nothing held cannot outgrow the budget */
	/* pushed last part first: the stack gives them back in key order */
	if (g->n_grps == 1 || big->bytes >= g->budget / 4) {
		k = g->keybuf + big->key_off;
		if (push(g, k, big->key_len, 1, t->hi, t->hi_len, 0) < 0 ||
		    push(g, k, big->key_len, 0, NULL, 0, 1) < 0 ||
		    push(g, t->lo, t->lo_len, t->lo_excl, k, big->key_len, 0) < 0)
			return -ENOMEM;
		g->giants++;
		return 0;
	}
	for (size_t i = 0; i < g->n_grps; i++)
		g->order[i] = (uint32_t)i;
	qsort_r(g->order, g->n_grps, sizeof(*g->order), by_key, g);
	/* two groups or more: the median is above the first, both parts hold some */
	mid = &g->grps[g->order[g->n_grps / 2]];
	k = g->keybuf + mid->key_off;
	ret = push(g, k, mid->key_len, 0, t->hi, t->hi_len, 0);
	if (ret == 0)
		ret = push(g, t->lo, t->lo_len, t->lo_excl, k, mid->key_len, 0);
	return ret;
}

/* Collect the groups of task t. 1: collected, 0: overflowed (t split), <0 error. */
static int collect(struct tt_query_group *g, const struct task *t)
{
	unsigned char *key = g->key;
	int ret, bounded = t->lo || t->hi;
	size_t last = SIZE_MAX;

	table_reset(g);
	g->passes++;
	ret = tt_query_stream_start(&g->st);
	if (ret < 0)
		return ret;
	while ((ret = tt_query_stream_next(&g->st)) > 0) {
		size_t klen = event_key(g, key), rlen = 0;
		struct grp *gr;

		if (bounded && !in_task(t, key, klen))
			continue;
		/* events of one connection often come in runs */
		if (last < g->n_grps && g->grps[last].key_len == klen &&
		    key_eq(g->keybuf + g->grps[last].key_off, key, klen)) {
			gr = &g->grps[last];
		} else {
			gr = find_or_add(g, key, klen);
			if (!gr)
				return oom(g);
			last = (size_t)(gr - g->grps);
		}
		gr->rows++;
		if (g->n_rec) {
			unsigned char *row = row_room(g, gr);

			if (!row)
				return oom(g);
			for (int i = 0; i < g->n_rec; i++)
				rlen += put_col(g, row + rlen, g->rec_cols[i]);
			gr->tail_used += (uint32_t)rlen;
		}
		if (g->mem > g->peak)
			g->peak = g->mem;
		if (g->mem > g->budget) {
			tt_query_stream_close(&g->st);
			ret = overflow(g, t);
			table_reset(g);
			return ret < 0 ? oom(g) : 0;
		}
	}
	tt_query_stream_close(&g->st);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < g->n_grps; i++) {
		if (g->grps[i].tail)
			g->grps[i].tail->used = g->grps[i].tail_used;
		g->order[i] = (uint32_t)i;
	}
	if (g->n_grps) /* no group at all: order may be NULL */
		qsort_r(g->order, g->n_grps, sizeof(*g->order), by_key, g);
	return 1;
}

/* ------------------------------------------------------------- emitting */

static void group_begin(struct tt_query_group *g)
{
	const struct grp *gr = &g->grps[g->order[g->oi]];

	get_key(g, g->keybuf + gr->key_off);
	g->ck = gr->head;
	g->off = 0;
	g->left = g->one ? 1 : gr->rows;
}

static void row_decode(struct tt_query_group *g)
{
	const unsigned char *p, *end;

	if (!g->n_rec)
		return;
	if (g->off >= g->ck->used) {
		g->ck = g->ck->next;
		g->off = 0;
	}
	p = g->ck->data + g->off;
	end = g->ck->data + g->ck->used;
	for (int i = 0; i < g->n_rec; i++)
		p += get_val(g, p, end, &g->rec_val[g->rec_cols[i]]);
	g->off = (uint32_t)(p - g->ck->data);
}

/* The giant's rows, streamed as they are read; one_per_group: its first only. */
static int giant_next(struct tt_query_group *g)
{
	unsigned char *key = g->key;
	int ret = 0;

	if (!(g->live && g->one))
		while ((ret = tt_query_stream_next(&g->st)) > 0) {
			size_t klen = event_key(g, key);

			if (klen == g->cur.lo_len && memcmp(key, g->cur.lo, klen) == 0)
				break;
		}
	if (ret > 0) {
		g->live = 1;
		return 1;
	}
	tt_query_stream_close(&g->st);
	g->state = G_IDLE;
	return ret;
}

int tt_query_group_next(struct tt_query_group *g)
{
	int ret;

	for (;;) {
		switch (g->state) {
		case G_EMIT:
			if (g->left) {
				g->left--;
				row_decode(g);
				return 1;
			}
			if (++g->oi < g->n_grps) {
				group_begin(g);
				continue;
			}
			table_reset(g);
			g->state = G_IDLE;
			continue;
		case G_GIANT:
			ret = giant_next(g);
			if (ret != 0)
				return ret;
			continue;
		case G_IDLE:
			task_free(&g->cur);
			if (!g->n_todo) {
				g->state = G_EOF;
				return 0;
			}
			g->cur = g->todo[--g->n_todo];
			if (g->cur.giant) {
				g->passes++;
				ret = tt_query_stream_start(&g->st);
				if (ret < 0)
					return ret;
				g->live = 0;
				g->state = G_GIANT;
				continue;
			}
			ret = collect(g, &g->cur);
			if (ret < 0)
				return ret;
			if (ret > 0 && g->n_grps) {
				g->oi = 0;
				group_begin(g);
				g->state = G_EMIT;
			}
			continue;
		default: return 0;
		}
	}
}

static void result_dval(sqlite3_context *ctx, const struct dval *d)
{
	if (d->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, d->i);
	else if (d->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, d->s, d->n,
				    d->is_static ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

void tt_query_group_column(struct tt_query_group *g, sqlite3_context *ctx, int col)
{
	if (g->state == G_GIANT) {
		tt_query_event_column(ctx, g->set, g->st.file, &g->st.ev, col);
		return;
	}
	if (col < 0 || col >= 64)
		return;
	if (g->keys & TQ_COL(col))
		result_dval(ctx, &g->key_val[col]);
	else if (g->rec & TQ_COL(col))
		result_dval(ctx, &g->rec_val[col]);
	/* else a column the plan said the statement never reads: NULL */
}
