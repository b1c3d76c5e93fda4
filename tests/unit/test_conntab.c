// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the recorder's table of open connections (record/conntab.c).
 * One line per check, exit 1 on any failure.
 *
 * Oracle: a naive model (a plain array, searched linearly) driven by the same
 * events; after every step the table's foreach must give exactly the model's
 * connections with the model's fields. Chains are built on purpose (ids found
 * by their bucket) to walk the delete through the head, middle and end of a
 * chain, and the first and last buckets.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../record/conntab.h"
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

#define MODEL_MAX 20000

struct model {
	struct tt_event ev[MODEL_MAX];
	size_t n;
};

static struct tt_event *model_find(struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->ev[i].conn_id == id)
			return &m->ev[i];
	return NULL;
}

/* The documented meaning of each event, written again from the header. */
static void model_apply(struct model *m, const struct tt_event *ev)
{
	struct tt_event *e = ev->conn_id ? model_find(m, ev->conn_id) : NULL;

	if (!ev->conn_id)
		return;
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		if (!e)
			e = &m->ev[m->n++];
		*e = *ev;
		break;
	case TT_EV_CONN_CLOSE:
		if (e)
			*e = m->ev[--m->n];
		break;
	case TT_EV_STATE:
		if (e)
			e->u.open.state = ev->u.state.new_state;
		break;
	case TT_EV_CONN_PROC:
		if (e) {
			e->pid = ev->pid;
			e->tid = ev->tid;
			e->flags &= (uint16_t)~TT_F_PID_UNKNOWN;
			memcpy(e->u.open.comm, ev->u.proc.comm, TT_COMM_LEN);
		}
		break;
	}
}

struct seen {
	struct tt_event *ev;
	size_t n, cap;
};

static int collect(void *ctx, const struct tt_event *open)
{
	struct seen *s = ctx;

	if (s->n == s->cap)
		return 1;
	s->ev[s->n++] = *open;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct tt_event *)a)->conn_id,
		 y = ((const struct tt_event *)b)->conn_id;

	return x < y ? -1 : x > y;
}

/* The table holds exactly the model's connections, field for field. */
static int same(const struct tt_rec_conntab *t, struct model *m, const char **why)
{
	static struct tt_event got[MODEL_MAX + 1], want[MODEL_MAX];
	struct seen s = {got, 0, MODEL_MAX + 1};

	*why = "";
	if (tt_rec_conntab_count(t) != m->n)
		return *why = "count differs", 0;
	if (tt_rec_conntab_foreach(t, collect, &s) || s.n != m->n)
		return *why = "foreach gives another number of connections", 0;
	memcpy(want, m->ev, m->n * sizeof(*want));
	qsort(got, s.n, sizeof(*got), by_id);
	qsort(want, m->n, sizeof(*want), by_id);
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(&got[i], &want[i], sizeof(*got)))
			return *why = "a connection differs", 0;
	return 1;
}

/* ------------------------------------------------------------------ events */

static struct tt_event ev_of(uint16_t kind, uint64_t id, uint64_t seq)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.conn_id = id;
	e.ts_ns = 1000 + seq;
	e.pid = (uint32_t)(seq % 5000);
	e.tid = e.pid + 1;
	switch (kind) {
	case TT_EV_CONN_OPEN:
		e.flags = seq % 2 ? TT_F_PID_UNKNOWN : TT_F_PREEXISTING;
		e.u.open.lport = (uint16_t)seq;
		e.u.open.rport = 443;
		e.u.open.family = TT_FAMILY_IPV4;
		e.u.open.proto = 6;
		e.u.open.state = 2;
		e.u.open.laddr[0] = 127;
		e.u.open.raddr[3] = (uint8_t)seq;
		snprintf(e.u.open.comm, TT_COMM_LEN, "open%llu", (unsigned long long)seq % 1000);
		break;
	case TT_EV_STATE:
		e.u.state.old_state = 2;
		e.u.state.new_state = (uint8_t)(1 + seq % 12);
		break;
	case TT_EV_CONN_PROC:
		snprintf(e.u.proc.comm, TT_COMM_LEN, "proc%llu", (unsigned long long)seq % 1000);
		break;
	case TT_EV_CONN_CLOSE: e.u.close.tx_bytes = seq; break;
	}
	return e;
}

static int step(struct tt_rec_conntab *t, struct model *m, const struct tt_event *ev)
{
	model_apply(m, ev);
	return tt_rec_conntab_apply(t, ev);
}

/* The bucket of id in a table of cap buckets (the table hashes as tt_u64map does), to build
   chains there. */
static size_t home(uint64_t id, size_t cap)
{
	struct tt_u64map m;
	size_t h;

	tt_u64map_init(&m, 0, cap / 2);
	h = m.mask + 1 == cap ? tt_u64map_home(&m, id) : SIZE_MAX;
	tt_u64map_free(&m);
	return h;
}

static void t_basics(void)
{
	static struct model m;
	struct tt_rec_conntab *t;
	struct tt_event e;
	const char *why;
	int ok = 1;

	check(tt_rec_conntab_new(&t) == 0 && tt_rec_conntab_count(t) == 0, "new table is empty");
	e = ev_of(TT_EV_CONN_OPEN, 0, 1);
	ok = step(t, &m, &e) == 0 && tt_rec_conntab_count(t) == 0;
	check(ok, "conn_id 0 is not a connection");
	e = ev_of(TT_EV_CONN_OPEN, 77, 2);
	step(t, &m, &e);
	e = ev_of(TT_EV_STATE, 77, 3);
	step(t, &m, &e);
	e = ev_of(TT_EV_CONN_PROC, 77, 4);
	step(t, &m, &e);
	ok = same(t, &m, &why);
	check(ok, "open, state, proc: the open event kept up to date %s", why);
	{
		struct seen s = {&e, 0, 1};

		tt_rec_conntab_foreach(t, collect, &s);
		check(e.u.open.state == 4 && !strcmp(e.u.open.comm, "proc4") && e.pid == 4 &&
			  !(e.flags & TT_F_PID_UNKNOWN) && e.u.open.lport == 2,
		      "state 4, comm proc4, pid 4, endpoints of the open");
	}
	e = ev_of(TT_EV_CONN_OPEN, 77, 9);
	step(t, &m, &e);
	ok = same(t, &m, &why) && tt_rec_conntab_count(t) == 1;
	check(ok, "a second open replaces %s", why);
	e = ev_of(TT_EV_CONN_CLOSE, 78, 10);
	step(t, &m, &e);
	e = ev_of(TT_EV_STATE, 78, 11);
	step(t, &m, &e);
	ok = same(t, &m, &why);
	check(ok, "close and state of an unknown connection change nothing %s", why);
	e = ev_of(TT_EV_CONN_CLOSE, 77, 12);
	step(t, &m, &e);
	ok = same(t, &m, &why) && tt_rec_conntab_count(t) == 0;
	check(ok, "close removes %s", why);
	tt_rec_conntab_free(t);
	tt_rec_conntab_free(NULL);
}

/*
 * Ids sharing buckets of the table's first 1024: a chain of five, of three at the last bucket,
 * of two at the first. Closing them in every pattern unlinks records at the head, middle and
 * end of a chain.
 */
static void t_chains(void)
{
	static struct model m;
	struct tt_rec_conntab *t;
	uint64_t ids[12], id = 1;
	size_t n = 0;
	const char *why = "";
	int bad = 0;
	static const size_t homes[12] = {5, 5, 5, 5, 5, 1023, 1023, 1023, 0, 0, 1, 2};

	for (size_t k = 0; k < 12; k++, id++) {
		while (home(id, 1024) != homes[k])
			id++;
		ids[n++] = id;
	}
	for (unsigned pattern = 0; pattern < 4096 && !bad; pattern += 7) {
		uint64_t s = pattern;

		memset(&m, 0, sizeof(m));
		tt_rec_conntab_new(&t);
		/* open in a shuffled order */
		for (size_t k = 0; k < 12; k++) {
			size_t j = k + rnd(&s) % (12 - k);
			uint64_t x = ids[j];
			struct tt_event e;

			ids[j] = ids[k];
			ids[k] = x;
			e = ev_of(TT_EV_CONN_OPEN, ids[k], k);
			step(t, &m, &e);
		}
		/* close those the pattern says, then touch every one */
		for (size_t k = 0; k < 12 && !bad; k++) {
			struct tt_event e;

			if (pattern >> k & 1) {
				e = ev_of(TT_EV_CONN_CLOSE, ids[k], 100 + k);
				step(t, &m, &e);
				bad = !same(t, &m, &why);
			}
		}
		for (size_t k = 0; k < 12 && !bad; k++) {
			struct tt_event e = ev_of(TT_EV_STATE, ids[k], 200 + k);

			step(t, &m, &e);
			e = ev_of(TT_EV_CONN_PROC, ids[k], 300 + k);
			step(t, &m, &e);
		}
		if (!bad)
			bad = !same(t, &m, &why);
		tt_rec_conntab_free(t);
		if (bad)
			check(0, "chains, close pattern %#x: %s", pattern, why);
	}
	if (!bad)
		check(1, "chains: every close pattern keeps the rest findable");
}

/* Random opens, closes, updates of up to thousands of connections: the table grows. */
static void t_random(void)
{
	static struct model m;
	struct tt_rec_conntab *t;
	uint64_t s = 7, live_max = 0;
	const char *why = "";
	int bad = 0;

	memset(&m, 0, sizeof(m));
	tt_rec_conntab_new(&t);
	for (uint64_t i = 0; i < 60000 && !bad; i++) {
		/* ids from a range that grows, then shrinks: the table fills and empties */
		uint64_t span = i < 30000 ? 1 + i / 4 : 1 + (60000 - i) / 4;
		uint64_t id = 1 + rnd(&s) % span, r = rnd(&s) % 10;
		int filling = i < 30000;
		uint16_t kind = r < 7	? ((r < 5) == filling ? TT_EV_CONN_OPEN : TT_EV_CONN_CLOSE)
				: r < 9 ? TT_EV_STATE
					: TT_EV_CONN_PROC;
		struct tt_event e = ev_of(kind, id, i);

		if (step(t, &m, &e)) {
			why = "apply failed";
			bad = 1;
		}
		if (m.n > live_max)
			live_max = m.n;
		if (!bad && (i % 97 == 0 || i == 59999))
			bad = !same(t, &m, &why);
		if (bad)
			check(0, "random step %llu: %s", (unsigned long long)i, why);
	}
	if (!bad)
		check(live_max > 2000,
		      "60000 random events, up to %llu connections open, %zu at the end: "
		      "the table matches the model throughout",
		      (unsigned long long)live_max, m.n);
	tt_rec_conntab_free(t);
}

/* The time of t_families' first open: the compact records' times are kept from it */
#define BASE_NS 1796000000000000000ull

/* An open of either family with every field drawn; a few processes, netns and cgroups shared. */
static struct tt_event open_rand(uint64_t id, uint64_t *s)
{
	struct tt_event e;
	uint64_t r = rnd(s);
	int v6 = r & 1;
	unsigned alen = v6 ? 16 : 4;

	memset(&e, 0, sizeof(e));
	e.kind = TT_EV_CONN_OPEN;
	e.conn_id = id;
	/* within a day of the first open, as a recording's are (the compact form's times reach
	   208 days either side of it) */
	e.ts_ns = BASE_NS + rnd(s) % 86400000000000ull;
	e.pid = (uint32_t)(r >> 8) % 7;
	e.tid = (uint32_t)rnd(s);
	e.flags = (uint16_t)(r >> 16 & 3); /* PREEXISTING, PID_UNKNOWN, both, neither */
	for (unsigned k = 0; k < alen; k++) {
		e.u.open.laddr[k] = (uint8_t)rnd(s);
		e.u.open.raddr[k] = (uint8_t)rnd(s);
	}
	e.u.open.lport = (uint16_t)rnd(s);
	e.u.open.rport = (uint16_t)rnd(s);
	e.u.open.family = v6 ? TT_FAMILY_IPV6 : TT_FAMILY_IPV4;
	e.u.open.proto = r >> 20 & 1 ? 17 : 6;
	e.u.open.direction = (uint8_t)((r >> 21) % 3);
	e.u.open.state = (uint8_t)(r >> 24) % 13;
	e.u.open.netns = 4026531840u + (uint32_t)(r >> 32) % 3;
	e.u.open.cgroup_id = 1 + (r >> 40) % 5;
	snprintf(e.u.open.comm, TT_COMM_LEN, "proc%u", (unsigned)e.pid);
	/* what a compact form might not keep: each exact all the same */
	switch (r >> 48 & 63) {
	case 0: e.u.open.family = 0; break;
	case 1: e.u.open.laddr[7] = 1; break; /* an IPv4 address's unused bytes */
	case 2: e.u.open.raddr[15] = 1; break;
	case 3: e._pad = 5; break;
	case 4: e.u.open._pad = 6; break;
	case 5: e.u.open.comm[14] = 'x'; break; /* after the terminating NUL */
	case 6: e.u.open.family = TT_FAMILY_IPV6 + 1; break;
	/* past what the compact form holds, or just at its edge */
	case 7: e.ts_ns = rnd(s); break;
	case 8: e.ts_ns = BASE_NS + (1ull << 54) - 1; break; /* the last time kept */
	case 9: e.ts_ns = BASE_NS + (1ull << 54); break;
	case 10: e.ts_ns = BASE_NS - (1ull << 54); break; /* the first */
	case 11: e.ts_ns = BASE_NS - (1ull << 54) - 1; break;
	case 12: e.u.open.state = (uint8_t)(16 + (r >> 24) % 240); break;
	case 13: e.u.open.state = 15; break;
	case 14: e.u.open.proto = 132; break;
	case 15: e.u.open.direction = 3; break;
	case 16: e.flags |= TT_F_RAW; break;
	}
	return e;
}

/*
 * Many opens of both families with every field drawn (and some in forms a compact table might
 * not expect), updated, closed, opened again under the same ids: every field as given, after
 * every few steps.
 */
static void t_families(void)
{
	static struct model m;
	struct tt_rec_conntab *t;
	uint64_t s = 11;
	const char *why = "";
	int bad = 0;

	memset(&m, 0, sizeof(m));
	tt_rec_conntab_new(&t);
	{
		struct tt_event e = open_rand(5000, &s);

		e.ts_ns = BASE_NS;
		step(t, &m, &e);
	}
	for (uint64_t i = 0; i < 40000 && !bad; i++) {
		uint64_t id = 1 + rnd(&s) % 3000, r = rnd(&s) % 8;
		struct tt_event e;

		if (r < 4) {
			e = open_rand(id, &s);
		} else if (r < 5) {
			e = ev_of(TT_EV_CONN_CLOSE, id, i);
		} else if (r < 7) {
			e = ev_of(TT_EV_STATE, id, i);
			if (i % 7 == 0) /* a state past the compact form's 4 bits, and back */
				e.u.state.new_state = (uint8_t)(16 + i % 240);
		} else {
			e = ev_of(TT_EV_CONN_PROC, id, i);
			e.pid = (uint32_t)(rnd(&s) % 9);
			e.tid = (uint32_t)rnd(&s);
			snprintf(e.u.proc.comm, TT_COMM_LEN, "new%u", (unsigned)e.pid);
		}
		if (step(t, &m, &e))
			why = "apply failed", bad = 1;
		if (!bad && (i % 251 == 0 || i == 39999))
			bad = !same(t, &m, &why);
		if (bad)
			check(0, "both families, step %llu: %s", (unsigned long long)i, why);
	}
	if (!bad)
		check(m.n > 1000,
		      "40000 opens, updates and closes of both families, %zu open at the "
		      "end: every field as given",
		      m.n);
	tt_rec_conntab_free(t);
}

/*
 * What the table holds per open end (tt_rec_conntab_bytes: all it allocated, its index
 * included), for N ends of one family from a few processes: bounded, and the same again once
 * all closed and as many opened (closed entries are reused).
 */
static void t_bytes(void)
{
	enum { N = 40000 };
	static const struct {
		uint8_t family;
		size_t most; /* bytes per open end */
	} fam[] = {{TT_FAMILY_IPV4, 42}, {TT_FAMILY_IPV6, 67}};

	for (size_t f = 0; f < 2; f++) {
		struct tt_rec_conntab *t;
		size_t b1 = 0, b2;
		int ok = 1;

		tt_rec_conntab_new(&t);
		for (int round = 0; round < 2; round++) {
			for (uint64_t i = 0; i < N; i++) {
				struct tt_event e = ev_of(TT_EV_CONN_OPEN, 1 + i + round * N, i);

				e.u.open.family = fam[f].family;
				e.pid = (uint32_t)(i % 4);
				e.tid = e.pid; /* a few threads of a few processes */
				memset(e.u.open.comm, 0, TT_COMM_LEN);
				snprintf(e.u.open.comm, TT_COMM_LEN, "p%u", (unsigned)e.pid);
				ok &= !tt_rec_conntab_apply(t, &e);
			}
			if (!round)
				b1 = tt_rec_conntab_bytes(t);
			for (uint64_t i = 0; i < N && !round; i++) {
				struct tt_event e = ev_of(TT_EV_CONN_CLOSE, 1 + i, i);

				ok &= !tt_rec_conntab_apply(t, &e);
			}
		}
		b2 = tt_rec_conntab_bytes(t);
		check(ok && tt_rec_conntab_count(t) == N && b1 <= fam[f].most * N && b2 == b1,
		      "%u IPv%u ends open: %zu bytes, %.1f per end (at most %zu); after all closed "
		      "and as many opened, %zu",
		      N, fam[f].family, b1, (double)b1 / N, fam[f].most, b2);
		tt_rec_conntab_free(t);
	}
}

int main(void)
{
	t_basics();
	t_chains();
	t_random();
	t_families();
	t_bytes();
	return failures ? 1 : 0;
}
