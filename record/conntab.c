// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Open connections of a recording: conn_id -> its CONN_OPEN event, kept compact, as a big host
 * holds hundreds of thousands (issue 24: the whole event in a half-full tt_u64map, doubling,
 * cost 480 bytes an end; the goal is 100 bytes a connection, two ends, for the whole recorder).
 *
 * A record holds what a CONN_OPEN carries of its own connection: 36 bytes for IPv4, 60 for
 * IPv6. The process's fields (pid, tid, comm, netns, cgroup), which many connections share, are
 * interned in a side table of "whos", counted by references. The open's time is kept as 55 bits
 * of difference from the table's first open (208 days either side), its flags, protocol,
 * direction and state in 9 bits. Every open is decoded again before it is kept compact and
 * compared with the event byte for byte: one the compact form would not give back as it came
 * (another family or protocol, a state past 15, another flag, a time out of range, bytes set in
 * padding or past an IPv4 address) is kept whole instead, so foreach gives exactly what was
 * applied, whatever it holds.
 *
 * Records sit in chunks of CHUNK, one list of chunks per class (IPv4, IPv6, whole), so they
 * never move and growing copies nothing; a closed record is reused by the next open of its
 * class. Records are 4-byte aligned, so 64-bit fields are kept as two halves. The index is a
 * chained hash table: a uint32_t head per bucket and a link in each record, one to two records
 * per bucket on average, 2-4 bytes an end besides the link. It grows by allocating heads twice
 * as many and relinking the records from the chunks: the old heads are all that lives beside it
 * meanwhile. (A tt_u64map index would cost 16-32 bytes an end, and its doubling keeps the old
 * copy while it rehashes.) A chain is a few records to read, and this table is read only by
 * opens, closes, state changes and CONN_PROC, not by traffic.
 */
#include <errno.h>
#include <netinet/in.h>
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
#define PER_BUCKET 2 /* the index doubles when the records are twice its buckets */
#define NIL UINT32_MAX
/* a record's reference: its class in the top 2 bits, its number in the class below */
#define REF_BITS 30
#define REF_MAX (1u << REF_BITS)

enum { C_V4, C_V6, C_WHOLE, N_CLASSES };

/* meta: the open's state, direction, protocol, two flags, and the time's top bits */
#define M_STATE 0xfu
#define M_DIR_SHIFT 4
#define M_UDP (1u << 6)
#define M_PREEXISTING (1u << 7)
#define M_PID_UNKNOWN (1u << 8)
#define M_TS_SHIFT 9 /* bits 48-54 of the time's offset */
#define TS_BITS 55
#define M_TS_MASK ((1u << (TS_BITS - 48)) - 1)
#define TS_BIAS (1ull << (TS_BITS - 1)) /* the offset is signed: stored plus this */

/*
 * The record of an open end. conn_id 0 marks a free record; its next links the free list.
 * 4-byte aligned: the 64-bit conn_id and time are kept as halves.
 */
struct rec {
	uint32_t id_lo, id_hi;
	uint32_t next; /* the next record of the bucket's chain, or NIL */
	uint32_t who;  /* index into whos */
	uint32_t ts_lo;
	uint16_t ts_mid; /* the time's offset, bits 32-47 (its top bits in meta) */
	uint16_t lport, rport, meta;
	/* C_V4: laddr then raddr, 4 bytes each; C_V6: 16 each; C_WHOLE: the struct tt_event
	   (copied in and out: it is not aligned here), the fields above but the id and next
	   unused */
	unsigned char tail[];
};

#define REC_SIZE(tail_bytes) ((offsetof(struct rec, tail) + (tail_bytes) + 3) & ~(size_t)3)
static const uint32_t rec_size[N_CLASSES] = {REC_SIZE(8), REC_SIZE(32),
					     REC_SIZE(sizeof(struct tt_event))};
_Static_assert(REC_SIZE(8) == 36 && REC_SIZE(32) == 60, "records of 36 and 60 bytes");

struct slab {
	unsigned char **chunks;
	uint32_t n_chunks;
	uint32_t used; /* records handed out so far, free or not */
	uint32_t free; /* the first free record, or NIL */
};

/* The fields a CONN_OPEN has of its process, all of its bytes (no padding: it is compared and
   hashed whole). */
struct who {
	uint32_t pid, tid, netns, _zero;
	uint64_t cgroup_id;
	char comm[TT_COMM_LEN];
};
_Static_assert(sizeof(struct who) == 40, "struct who has no padding");

struct who_ent {
	struct who k;
	uint32_t refs;	    /* records that name it; 0: free */
	uint32_t next_free; /* when free, the next free one, or NIL */
};

struct tt_rec_conntab {
	struct slab cls[N_CLASSES];
	uint32_t *heads; /* n_buckets chains */
	size_t n_buckets, n;
	unsigned shift;	  /* 64 - log2(n_buckets) */
	uint64_t ts_base; /* the compact records' times are offsets from this */
	int have_base;	  /* ts_base is set (by the first open) */
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

static uint64_t rec_id(const struct rec *r)
{
	return (uint64_t)r->id_hi << 32 | r->id_lo;
}

static void set_id(struct rec *r, uint64_t id)
{
	r->id_lo = (uint32_t)id;
	r->id_hi = (uint32_t)(id >> 32);
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

		if (rec_id(r) == id)
			return link;
		link = &r->next;
	}
	return NULL;
}

static void link_rec(struct tt_rec_conntab *t, uint32_t ref, struct rec *r)
{
	uint32_t *head = &t->heads[bucket(t, rec_id(r))];

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

			if (rec_id(r))
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

	set_id(r, 0);
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
	k.tid = ev->tid;
	k.netns = ev->u.open.netns;
	k.cgroup_id = ev->u.open.cgroup_id;
	memcpy(k.comm, ev->u.open.comm, TT_COMM_LEN);
	return k;
}

/* The CONN_OPEN event of record r of class c, whose who is w (unused for C_WHOLE). */
static void decode(const struct tt_rec_conntab *t, const struct rec *r, uint32_t c,
		   const struct who *w, struct tt_event *ev)
{
	size_t alen = c == C_V4 ? 4 : 16;
	uint64_t off =
	    (uint64_t)(r->meta >> M_TS_SHIFT) << 48 | (uint64_t)r->ts_mid << 32 | r->ts_lo;

	if (c == C_WHOLE) {
		memcpy(ev, r->tail, sizeof(*ev));
		return;
	}
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = t->ts_base + off - TS_BIAS;
	ev->conn_id = rec_id(r);
	ev->pid = w->pid;
	ev->tid = w->tid;
	ev->kind = TT_EV_CONN_OPEN;
	ev->flags = (r->meta & M_PREEXISTING ? TT_F_PREEXISTING : 0) |
		    (r->meta & M_PID_UNKNOWN ? TT_F_PID_UNKNOWN : 0);
	memcpy(ev->u.open.laddr, r->tail, alen);
	memcpy(ev->u.open.raddr, r->tail + alen, alen);
	ev->u.open.lport = r->lport;
	ev->u.open.rport = r->rport;
	ev->u.open.family = c == C_V4 ? TT_FAMILY_IPV4 : TT_FAMILY_IPV6;
	ev->u.open.proto = r->meta & M_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	ev->u.open.direction = (r->meta >> M_DIR_SHIFT) & 3;
	ev->u.open.state = r->meta & M_STATE;
	ev->u.open.netns = w->netns;
	ev->u.open.cgroup_id = w->cgroup_id;
	memcpy(ev->u.open.comm, w->comm, TT_COMM_LEN);
}

/* Fills the compact fields of r (all but who and next) from ev, as class c, keeping what fits:
   class_of checks that it all did. */
static void encode(const struct tt_rec_conntab *t, struct rec *r, uint32_t c,
		   const struct tt_event *ev)
{
	size_t alen = c == C_V4 ? 4 : 16;
	uint64_t off = ev->ts_ns - t->ts_base + TS_BIAS;

	set_id(r, ev->conn_id);
	r->ts_lo = (uint32_t)off;
	r->ts_mid = (uint16_t)(off >> 32);
	r->lport = ev->u.open.lport;
	r->rport = ev->u.open.rport;
	r->meta =
	    (uint16_t)((ev->u.open.state & M_STATE) | (ev->u.open.direction & 3) << M_DIR_SHIFT |
		       (ev->u.open.proto == IPPROTO_UDP ? M_UDP : 0) |
		       (ev->flags & TT_F_PREEXISTING ? M_PREEXISTING : 0) |
		       (ev->flags & TT_F_PID_UNKNOWN ? M_PID_UNKNOWN : 0) |
		       (off >> 48 & M_TS_MASK) << M_TS_SHIFT);
	memcpy(r->tail, ev->u.open.laddr, alen);
	memcpy(r->tail + alen, ev->u.open.raddr, alen);
}

/* The class that gives ev back exactly: compact when decoding its compact form does. */
static uint32_t class_of(const struct tt_rec_conntab *t, const struct tt_event *ev)
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
	encode(t, r, c, ev);
	decode(t, r, c, &w, &back);
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
	uint32_t c, ref, who = 0;
	struct rec *r;

	if (!t->have_base) {
		t->ts_base = ev->ts_ns;
		t->have_base = 1;
	}
	c = class_of(t, ev);
	if (c != C_WHOLE) {
		struct who k = who_of(ev);

		if (who_get(t, &k, &who))
			return -ENOMEM;
	}
	if (t->n >= PER_BUCKET * t->n_buckets)
		grow(t);
	if ((ref = rec_alloc(t, c)) == NIL) {
		if (c != C_WHOLE)
			who_put(t, who);
		return -ENOMEM;
	}
	r = rec_at(t, ref);
	memset(r, 0, rec_size[c]);
	if (c == C_WHOLE) {
		set_id(r, ev->conn_id);
		memcpy(r->tail, ev, sizeof(*ev));
	} else {
		encode(t, r, c, ev);
		r->who = who;
	}
	link_rec(t, ref, r);
	t->n++;
	return 0;
}

/* The open event of record ref. */
static void get(const struct tt_rec_conntab *t, uint32_t ref, struct tt_event *ev)
{
	const struct rec *r = rec_at(t, ref);
	uint32_t c = ref >> REF_BITS;

	decode(t, r, c, c == C_WHOLE ? NULL : &t->whos[r->who].k, ev);
}

/* The record at *link holds ev now, kept as compact as ev allows (a state past what the compact
   form holds makes it whole). 0, or -ENOMEM: the record as it was, or none if its class had to
   change. */
static int replace(struct tt_rec_conntab *t, uint32_t *link, const struct tt_event *ev)
{
	uint32_t ref = *link, c = ref >> REF_BITS, who;
	struct rec *r = rec_at(t, ref);
	struct who k;

	if (class_of(t, ev) != c) {
		del(t, link);
		return add(t, ev);
	}
	if (c == C_WHOLE) {
		memcpy(r->tail, ev, sizeof(*ev));
		return 0;
	}
	k = who_of(ev);
	if (who_get(t, &k, &who))
		return -ENOMEM;
	who_put(t, r->who);
	encode(t, r, c, ev);
	r->who = who;
	return 0;
}

/* CONN_PROC: the process the connection belongs to, known now. */
static int set_proc(struct tt_rec_conntab *t, uint32_t *link, const struct tt_event *ev)
{
	struct tt_event e;

	get(t, *link, &e);
	e.pid = ev->pid;
	e.tid = ev->tid;
	e.flags &= ~TT_F_PID_UNKNOWN;
	memcpy(e.u.open.comm, ev->u.proc.comm, TT_COMM_LEN);
	return replace(t, link, &e);
}

static int set_state(struct tt_rec_conntab *t, uint32_t *link, uint8_t state)
{
	struct rec *r = rec_at(t, *link);
	struct tt_event e;

	if (*link >> REF_BITS != C_WHOLE && state <= M_STATE) {
		r->meta = (uint16_t)((r->meta & ~M_STATE) | state);
		return 0;
	}
	get(t, *link, &e);
	e.u.open.state = state;
	return replace(t, link, &e);
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
			return set_state(t, link, ev->u.state.new_state);
		break;
	case TT_EV_CONN_PROC:
		if (link)
			return set_proc(t, link, ev);
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
			uint32_t ref = c << REF_BITS | i;

			if (!rec_id(rec_at(t, ref)))
				continue;
			get(t, ref, &ev);
			if ((ret = fn(ctx, &ev)))
				return ret;
		}
	return 0;
}
