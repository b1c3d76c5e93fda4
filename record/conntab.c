// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Open connections of a recording: conn_id -> its CONN_OPEN event, kept compact, as a big host
 * holds hundreds of thousands (issue 24: the whole event in a half-full tt_u64map, doubling,
 * cost 480 bytes an end).
 *
 * A record holds what a CONN_OPEN carries of its own connection (IPv4 addresses in 4 bytes:
 * 48 bytes a record, IPv6 72); the process's fields (pid, comm, netns, cgroup), which many
 * connections share, are interned in a side table of "whos", counted by references. Every open
 * is decoded again before it is kept compact and compared with the event byte for byte: one
 * the compact form would not give back as it came (another family, bytes set in padding or past
 * an IPv4 address) is kept whole instead, so foreach gives exactly what was applied, whatever
 * it holds.
 *
 * Records sit in chunks of CHUNK, one list of chunks per class (IPv4, IPv6, whole), so they
 * never move and growing copies nothing; a closed record is reused by the next open of its
 * class. The index is a chained hash table: a uint32_t head per bucket and a link in each
 * record, at most one record per bucket on average, 4-8 bytes an end besides the link. It grows
 * by allocating heads twice as many and relinking the records from the chunks: the old heads
 * are all that lives beside it meanwhile. (A tt_u64map index would cost 16-32 bytes an end, and
 * its doubling keeps the old copy while it rehashes.) A chain is a few records to read, and
 * this table is read only by opens, closes, state changes and CONN_PROC, not by traffic.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conntab.h"
#include "tt_u64map.h"

#define CHUNK 1024 /* records per chunk */
/* 1024 buckets to begin with: test_conntab builds chains in them */
#define INITIAL_BUCKETS 1024
#define INITIAL_SHIFT (64 - 10)
#define NIL UINT32_MAX
/* a record's reference: its class in the top 2 bits, its number in the class below */
#define REF_BITS 30
#define REF_MAX (1u << REF_BITS)

enum { C_V4, C_V6, C_WHOLE, N_CLASSES };

/* The record of an open end. conn_id 0 marks a free record; its next links the free list. */
struct rec {
	uint64_t id;
	uint32_t next; /* the next record of the bucket's chain, or NIL */
	uint32_t tid;
	uint64_t ts_ns;
	uint32_t who; /* index into whos */
	uint16_t lport, rport, flags;
	uint8_t proto, direction, state;
	/* C_V4: laddr then raddr, 4 bytes each; C_V6: 16 each; C_WHOLE: the struct tt_event
	   (copied in and out: it is not aligned here), the fields above but id and next unused */
	unsigned char tail[];
};

#define REC_SIZE(tail_bytes) ((offsetof(struct rec, tail) + (tail_bytes) + 7) & ~(size_t)7)
static const uint32_t rec_size[N_CLASSES] = {REC_SIZE(8), REC_SIZE(32),
					     REC_SIZE(sizeof(struct tt_event))};

struct slab {
	unsigned char **chunks;
	uint32_t n_chunks;
	uint32_t used; /* records handed out so far, free or not */
	uint32_t free; /* the first free record, or NIL */
};

/* The fields a CONN_OPEN has of its process, all of its bytes (no padding: it is compared and
   hashed whole). */
struct who {
	uint32_t pid, netns;
	uint64_t cgroup_id;
	char comm[TT_COMM_LEN];
};
_Static_assert(sizeof(struct who) == 32, "struct who has no padding");

struct who_ent {
	struct who k;
	uint32_t refs;	    /* records that name it; 0: free */
	uint32_t next_free; /* when free, the next free one, or NIL */
};

struct tt_rec_conntab {
	struct slab cls[N_CLASSES];
	uint32_t *heads; /* n_buckets chains */
	size_t n_buckets, n;
	unsigned shift; /* 64 - log2(n_buckets) */
	struct who_ent *whos;
	uint32_t n_whos, cap_whos, free_who;
	struct tt_u64map who_index; /* tag of the who above its index */
};

static struct rec *rec_at(const struct tt_rec_conntab *t, uint32_t ref)
{
	const struct slab *c = &t->cls[ref >> REF_BITS];
	uint32_t i = ref & (REF_MAX - 1);

	return (struct rec *)(void *)(c->chunks[i / CHUNK] +
				      (size_t)(i % CHUNK) * rec_size[ref >> REF_BITS]);
}

/* Fibonacci hashing, tt_u64map's: sequential ids (socket cookies) spread evenly. */
static size_t bucket(const struct tt_rec_conntab *t, uint64_t id)
{
	return tt_u64map_fib(id, t->shift);
}

/* The link (a head or a record's next) that holds id's record, or NULL. */
static uint32_t *find(const struct tt_rec_conntab *t, uint64_t id)
{
	uint32_t *link = &t->heads[bucket(t, id)];

	while (*link != NIL) {
		struct rec *r = rec_at(t, *link);

		if (r->id == id)
			return link;
		link = &r->next;
	}
	return NULL;
}

static void link_rec(struct tt_rec_conntab *t, uint32_t ref, struct rec *r)
{
	uint32_t *head = &t->heads[bucket(t, r->id)];

	r->next = *head;
	*head = ref;
}

/* Twice the buckets, once the records outnumber them. If that fails, chains grow longer. */
static void grow(struct tt_rec_conntab *t)
{
	size_t nb = t->n_buckets * 2;
	uint32_t *heads = malloc(nb * sizeof(*heads));

	if (!heads)
		return;
	memset(heads, 0xff, nb * sizeof(*heads)); /* NIL */
	free(t->heads);
	t->heads = heads;
	t->n_buckets = nb;
	t->shift--;
	for (uint32_t c = 0; c < N_CLASSES; c++)
		for (uint32_t i = 0; i < t->cls[c].used; i++) {
			uint32_t ref = c << REF_BITS | i;
			struct rec *r = rec_at(t, ref);

			if (r->id)
				link_rec(t, ref, r);
		}
}

/* A record of class c (contents undefined): its reference, or NIL when out of memory. */
static uint32_t rec_alloc(struct tt_rec_conntab *t, uint32_t c)
{
	struct slab *cl = &t->cls[c];
	uint32_t ref;

	if (cl->free != NIL) {
		ref = cl->free;
		cl->free = rec_at(t, ref)->next;
		return ref;
	}
	if (cl->used == REF_MAX)
		return NIL;
	if (cl->used / CHUNK == cl->n_chunks) {
		unsigned char **ch = realloc(cl->chunks, (cl->n_chunks + 1) * sizeof(*ch));

		if (!ch)
			return NIL;
		cl->chunks = ch;
		if (!(ch[cl->n_chunks] = malloc((size_t)CHUNK * rec_size[c])))
			return NIL;
		cl->n_chunks++;
	}
	return c << REF_BITS | cl->used++;
}

static void rec_release(struct tt_rec_conntab *t, uint32_t ref, struct rec *r)
{
	struct slab *cl = &t->cls[ref >> REF_BITS];

	r->id = 0;
	r->next = cl->free;
	cl->free = ref;
}

/* The index of the who equal to k, a reference more to it (added if new); 0 or -ENOMEM. */
static int who_get(struct tt_rec_conntab *t, const struct who *k, uint32_t *out)
{
	uint32_t tag = tt_u64map_tag_bytes(k, sizeof(*k)), i;
	size_t p = tt_u64map_probe_start(&t->who_index, tag);
	uint64_t w;

	while ((w = tt_u64map_probe(&t->who_index, &p, tag)))
		if (!memcmp(&t->whos[tt_u64map_word_idx(w)].k, k, sizeof(*k))) {
			*out = tt_u64map_word_idx(w);
			t->whos[*out].refs++;
			return 0;
		}
	if (tt_u64map_reserve(&t->who_index, tt_u64map_count(&t->who_index) + 1))
		return -ENOMEM;
	if (t->free_who != NIL) {
		i = t->free_who;
		t->free_who = t->whos[i].next_free;
	} else {
		if (t->n_whos == t->cap_whos) {
			uint32_t cap = t->cap_whos ? t->cap_whos * 2 : 16;
			struct who_ent *ws;

			if (cap > UINT32_MAX / 2 || !(ws = realloc(t->whos, cap * sizeof(*ws))))
				return -ENOMEM;
			t->whos = ws;
			t->cap_whos = cap;
		}
		i = t->n_whos++;
	}
	t->whos[i].k = *k;
	t->whos[i].refs = 1;
	/* cannot fail: reserved above */
	(void)tt_u64map_put(&t->who_index, tt_u64map_word(tag, i), NULL);
	*out = i;
	return 0;
}

static void who_put(struct tt_rec_conntab *t, uint32_t i)
{
	struct who_ent *e = &t->whos[i];

	if (--e->refs)
		return;
	tt_u64map_del(&t->who_index, tt_u64map_word(tt_u64map_tag_bytes(&e->k, sizeof(e->k)), i));
	e->next_free = t->free_who;
	t->free_who = i;
}

static struct who who_of(const struct tt_event *ev)
{
	struct who k;

	memset(&k, 0, sizeof(k));
	k.pid = ev->pid;
	k.netns = ev->u.open.netns;
	k.cgroup_id = ev->u.open.cgroup_id;
	memcpy(k.comm, ev->u.open.comm, TT_COMM_LEN);
	return k;
}

/* The CONN_OPEN event of record r of class c, whose who is w (unused for C_WHOLE). */
static void decode(const struct rec *r, uint32_t c, const struct who *w, struct tt_event *ev)
{
	size_t alen = c == C_V4 ? 4 : 16;

	if (c == C_WHOLE) {
		memcpy(ev, r->tail, sizeof(*ev));
		return;
	}
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = r->ts_ns;
	ev->conn_id = r->id;
	ev->pid = w->pid;
	ev->tid = r->tid;
	ev->kind = TT_EV_CONN_OPEN;
	ev->flags = r->flags;
	memcpy(ev->u.open.laddr, r->tail, alen);
	memcpy(ev->u.open.raddr, r->tail + alen, alen);
	ev->u.open.lport = r->lport;
	ev->u.open.rport = r->rport;
	ev->u.open.family = c == C_V4 ? TT_FAMILY_IPV4 : TT_FAMILY_IPV6;
	ev->u.open.proto = r->proto;
	ev->u.open.direction = r->direction;
	ev->u.open.state = r->state;
	ev->u.open.netns = w->netns;
	ev->u.open.cgroup_id = w->cgroup_id;
	memcpy(ev->u.open.comm, w->comm, TT_COMM_LEN);
}

/* Fills the compact fields of r (all but who and next) from ev, as class c. */
static void encode(struct rec *r, uint32_t c, const struct tt_event *ev)
{
	size_t alen = c == C_V4 ? 4 : 16;

	r->id = ev->conn_id;
	r->tid = ev->tid;
	r->ts_ns = ev->ts_ns;
	r->lport = ev->u.open.lport;
	r->rport = ev->u.open.rport;
	r->flags = ev->flags;
	r->proto = ev->u.open.proto;
	r->direction = ev->u.open.direction;
	r->state = ev->u.open.state;
	memcpy(r->tail, ev->u.open.laddr, alen);
	memcpy(r->tail + alen, ev->u.open.raddr, alen);
}

/* The class that gives ev back exactly: compact when decoding its compact form does. */
static uint32_t class_of(const struct tt_event *ev)
{
	_Alignas(8) unsigned char buf[REC_SIZE(32)];
	struct rec *r = (struct rec *)(void *)buf;
	struct who w = who_of(ev);
	struct tt_event back;
	uint32_t c;

	if (ev->u.open.family == TT_FAMILY_IPV4)
		c = C_V4;
	else if (ev->u.open.family == TT_FAMILY_IPV6)
		c = C_V6;
	else
		return C_WHOLE;
	encode(r, c, ev);
	decode(r, c, &w, &back);
	return memcmp(&back, ev, sizeof(back)) ? C_WHOLE : c;
}

static void del(struct tt_rec_conntab *t, uint32_t *link)
{
	uint32_t ref = *link;
	struct rec *r = rec_at(t, ref);

	*link = r->next;
	if (ref >> REF_BITS != C_WHOLE)
		who_put(t, r->who);
	rec_release(t, ref, r);
	t->n--;
}

static int add(struct tt_rec_conntab *t, const struct tt_event *ev)
{
	uint32_t c = class_of(ev), ref, who = 0;
	struct rec *r;

	if (c != C_WHOLE) {
		struct who k = who_of(ev);

		if (who_get(t, &k, &who))
			return -ENOMEM;
	}
	if (t->n >= t->n_buckets)
		grow(t);
	if ((ref = rec_alloc(t, c)) == NIL) {
		if (c != C_WHOLE)
			who_put(t, who);
		return -ENOMEM;
	}
	r = rec_at(t, ref);
	memset(r, 0, rec_size[c]);
	if (c == C_WHOLE) {
		r->id = ev->conn_id;
		memcpy(r->tail, ev, sizeof(*ev));
	} else {
		encode(r, c, ev);
		r->who = who;
	}
	link_rec(t, ref, r);
	t->n++;
	return 0;
}

/* CONN_PROC: the process the connection belongs to, known now. */
static int set_proc(struct tt_rec_conntab *t, uint32_t ref, const struct tt_event *ev)
{
	struct rec *r = rec_at(t, ref);
	struct who k;
	uint32_t who;

	if (ref >> REF_BITS == C_WHOLE) {
		struct tt_event e;

		memcpy(&e, r->tail, sizeof(e));
		e.pid = ev->pid;
		e.tid = ev->tid;
		e.flags &= ~TT_F_PID_UNKNOWN;
		memcpy(e.u.open.comm, ev->u.proc.comm, TT_COMM_LEN);
		memcpy(r->tail, &e, sizeof(e));
		return 0;
	}
	k = t->whos[r->who].k;
	k.pid = ev->pid;
	memcpy(k.comm, ev->u.proc.comm, TT_COMM_LEN);
	if (who_get(t, &k, &who))
		return -ENOMEM;
	who_put(t, r->who);
	r->who = who;
	r->tid = ev->tid;
	r->flags &= ~TT_F_PID_UNKNOWN;
	return 0;
}

static void set_state(struct tt_rec_conntab *t, uint32_t ref, uint8_t state)
{
	struct rec *r = rec_at(t, ref);

	if (ref >> REF_BITS == C_WHOLE)
		memcpy(r->tail + offsetof(struct tt_event, u.open.state), &state, 1);
	else
		r->state = state;
}

int tt_rec_conntab_new(struct tt_rec_conntab **out)
{
	struct tt_rec_conntab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	for (int c = 0; c < N_CLASSES; c++)
		t->cls[c].free = NIL;
	t->free_who = NIL;
	t->n_buckets = INITIAL_BUCKETS;
	t->shift = INITIAL_SHIFT;
	t->heads = malloc(INITIAL_BUCKETS * sizeof(*t->heads));
	if (!t->heads || tt_u64map_init_index(&t->who_index, 16)) {
		tt_rec_conntab_free(t);
		return -ENOMEM;
	}
	memset(t->heads, 0xff, INITIAL_BUCKETS * sizeof(*t->heads)); /* NIL */
	*out = t;
	return 0;
}

void tt_rec_conntab_free(struct tt_rec_conntab *t)
{
	if (!t)
		return;
	for (int c = 0; c < N_CLASSES; c++) {
		for (uint32_t i = 0; i < t->cls[c].n_chunks; i++)
			free(t->cls[c].chunks[i]);
		free(t->cls[c].chunks);
	}
	free(t->heads);
	free(t->whos);
	tt_u64map_free(&t->who_index);
	free(t);
}

int tt_rec_conntab_apply(struct tt_rec_conntab *t, const struct tt_event *ev)
{
	uint32_t *link;

	/* no connection has id 0 */
	if (!ev->conn_id)
		return 0;
	link = find(t, ev->conn_id);
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		/* a second open replaces the first */
		if (link)
			del(t, link);
		return add(t, ev);
	case TT_EV_CONN_CLOSE:
		if (link)
			del(t, link);
		break;
	case TT_EV_STATE:
		if (link)
			set_state(t, *link, ev->u.state.new_state);
		break;
	case TT_EV_CONN_PROC:
		if (link)
			return set_proc(t, *link, ev);
		break;
	}
	return 0;
}

size_t tt_rec_conntab_count(const struct tt_rec_conntab *t)
{
	return t->n;
}

size_t tt_rec_conntab_bytes(const struct tt_rec_conntab *t)
{
	size_t b = sizeof(*t) + t->n_buckets * sizeof(*t->heads) + t->cap_whos * sizeof(*t->whos) +
		   tt_u64map_bytes(&t->who_index);

	for (int c = 0; c < N_CLASSES; c++)
		b += t->cls[c].n_chunks * (sizeof(*t->cls[c].chunks) + (size_t)CHUNK * rec_size[c]);
	return b;
}

int tt_rec_conntab_foreach(const struct tt_rec_conntab *t,
			   int (*fn)(void *ctx, const struct tt_event *open), void *ctx)
{
	struct tt_event ev;
	int ret;

	for (uint32_t c = 0; c < N_CLASSES; c++)
		for (uint32_t i = 0; i < t->cls[c].used; i++) {
			const struct rec *r = rec_at(t, c << REF_BITS | i);

			if (!r->id)
				continue;
			decode(r, c, c == C_WHOLE ? NULL : &t->whos[r->who].k, &ev);
			if ((ret = fn(ctx, &ev)))
				return ret;
		}
	return 0;
}
