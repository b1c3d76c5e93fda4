// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of --raw-slice 0's reordering (source/stage_order.c). One line per check, exit 1
 * on any failure.
 *
 * Oracle: a simulation of the kernel side. Connections make numbered calls, each staged on the
 * CPU its thread is on (threads move between CPUs at random); a CPU's stage of 16 is written out
 * when full, or every stage at a flush (after which the source settles); a write-out may be
 * lost, as a full ring buffer loses it. Every call not lost must come out once, and each
 * connection's in increasing order; without losses, exactly in the order made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../source/stage_order.h"
#include "check.h"

enum { CPUS = 3, STAGE = 16, CONNS = 6, CALLS = 60000 };

struct out {
	uint64_t id[CALLS];
	uint32_t seq[CALLS];
	size_t n;
};

static void collect(void *ctx, const struct tt_event *ev)
{
	struct out *o = ctx;

	if (o->n < CALLS) {
		o->id[o->n] = ev->conn_id;
		o->seq[o->n++] = (uint32_t)ev->u.traffic.tx_bytes;
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct staged {
	uint64_t id;
	uint32_t seq;
};

struct sim {
	struct staged stage[CPUS][STAGE];
	int n[CPUS];
	unsigned loss_pct;
	uint64_t lost;
	uint64_t rs;
};

/* CPU c writes out its stage: each call offered (or all lost). */
static void write_out(struct sim *m, int c, struct tt_stage_order *o, struct out *out)
{
	int lose = m->loss_pct && rnd(&m->rs) % 100 < m->loss_pct;

	for (int i = 0; i < m->n[c]; i++) {
		struct tt_event ev;

		if (lose) {
			m->lost++;
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.kind = TT_EV_TRAFFIC;
		ev.conn_id = m->stage[c][i].id;
		ev.u.traffic.tx_bytes = m->stage[c][i].seq;
		tt_stage_order_offer(o, &ev, m->stage[c][i].seq, collect, out);
	}
	m->n[c] = 0;
}

/* Returns the number of calls made; out gets what came out. */
static uint64_t run(unsigned loss_pct, uint64_t seed, struct out *out, uint64_t *lost)
{
	static struct sim m;
	struct tt_stage_order *o;
	uint32_t next[CONNS] = {0};
	int cpu[CONNS] = {0};
	uint64_t made = 0;

	memset(&m, 0, sizeof(m));
	m.loss_pct = loss_pct;
	m.rs = seed;
	out->n = 0;
	tt_stage_order_new(&o);
	for (int i = 0; i < CALLS; i++) {
		int k = (int)(rnd(&m.rs) % CONNS), c;

		if (rnd(&m.rs) % 10 == 0)
			cpu[k] = (int)(rnd(&m.rs) % CPUS); /* the thread moves */
		c = cpu[k];
		m.stage[c][m.n[c]].id = 100 + (uint64_t)k;
		m.stage[c][m.n[c]++].seq = next[k]++;
		made++;
		if (m.n[c] == STAGE)
			write_out(&m, c, o, out);
		if (rnd(&m.rs) % 500 == 0) {
			/* a flush: every CPU, in any order, then read: the source settles */
			int first = (int)(rnd(&m.rs) % CPUS);

			for (int j = 0; j < CPUS; j++)
				write_out(&m, (first + j) % CPUS, o, out);
			tt_stage_order_settle(o, collect, out);
		}
	}
	for (int j = 0; j < CPUS; j++)
		write_out(&m, j, o, out);
	tt_stage_order_settle(o, collect, out);
	check(tt_stage_order_waiting(o) == 0, "nothing waits after the last settle");
	tt_stage_order_free(o);
	*lost = m.lost;
	return made;
}

/* Each connection's calls out in increasing order, none twice; exact: 0, 1, 2, ... */
static int in_order(const struct out *out, int exact)
{
	int64_t last[CONNS];

	for (int k = 0; k < CONNS; k++)
		last[k] = -1;
	for (size_t i = 0; i < out->n; i++) {
		int k = (int)(out->id[i] - 100);

		if ((int64_t)out->seq[i] <= last[k] || (exact && out->seq[i] != last[k] + 1))
			return 0;
		last[k] = out->seq[i];
	}
	return 1;
}

static void t_moves(void)
{
	static struct out out;
	uint64_t lost, made = run(0, 88172645463325252ull, &out, &lost);

	check(made == CALLS && out.n == made && in_order(&out, 1),
	      "threads moving between %d CPUs, %llu calls: all out, each connection's in the "
	      "order made",
	      CPUS, (unsigned long long)made);
}

static void t_losses(void)
{
	static struct out out;
	uint64_t lost, made = run(3, 7, &out, &lost);

	check(lost > 0 && out.n + lost == made && in_order(&out, 0),
	      "3%% of the write-outs lost (%llu calls): the rest out once each (%zu of %llu), in "
	      "order",
	      (unsigned long long)lost, out.n, (unsigned long long)made);
}

/* Without the reordering the simulation's moves do put calls out of order. */
static void t_oracle_sees_moves(void)
{
	static struct out out;
	static struct sim m;
	uint32_t next[CONNS] = {0};
	int cpu[CONNS] = {0}, ok;

	memset(&m, 0, sizeof(m));
	m.rs = 88172645463325252ull;
	out.n = 0;
	for (int i = 0; i < CALLS; i++) {
		int k = (int)(rnd(&m.rs) % CONNS), c;

		if (rnd(&m.rs) % 10 == 0)
			cpu[k] = (int)(rnd(&m.rs) % CPUS);
		c = cpu[k];
		m.stage[c][m.n[c]].id = 100 + (uint64_t)k;
		m.stage[c][m.n[c]++].seq = next[k]++;
		if (m.n[c] == STAGE) {
			for (int j = 0; j < STAGE; j++) {
				struct tt_event ev;

				memset(&ev, 0, sizeof(ev));
				ev.conn_id = m.stage[c][j].id;
				ev.u.traffic.tx_bytes = m.stage[c][j].seq;
				collect(&out, &ev);
			}
			m.n[c] = 0;
		}
	}
	ok = !in_order(&out, 0);
	check(ok, "the same calls as written out, not reordered, are out of order (the oracle "
		  "sees it)");
}

static void t_forget(void)
{
	static struct out out;
	struct tt_stage_order *o;
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	out.n = 0;
	tt_stage_order_new(&o);
	ev.conn_id = 9;
	ev.u.traffic.tx_bytes = 1;
	tt_stage_order_offer(o, &ev, 1, collect, &out); /* early: 0 is missing */
	check(out.n == 0 && tt_stage_order_waiting(o) == 1, "an early call waits");
	tt_stage_order_forget(o, 9);
	ev.u.traffic.tx_bytes = 0;
	tt_stage_order_offer(o, &ev, 0, collect, &out);
	check(out.n == 2 && out.seq[0] == 0 && out.seq[1] == 1 && !tt_stage_order_waiting(o),
	      "a close does not forget a connection with calls waiting; the missing one lets "
	      "both out in order");
	tt_stage_order_forget(o, 9);
	ev.u.traffic.tx_bytes = 5;
	tt_stage_order_offer(o, &ev, 5, collect, &out);
	tt_stage_order_settle(o, collect, &out);
	check(out.n == 3 && out.seq[2] == 5,
	      "a settle lets out what waits for calls that were lost");
	tt_stage_order_free(o);
	tt_stage_order_free(NULL);
}

int main(void)
{
	t_moves();
	t_losses();
	t_oracle_sees_moves();
	t_forget();
	return check_done(NULL);
}
