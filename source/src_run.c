// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The BPF source's run loop: drain the ring buffer on a short timer, report what the kernel
 * lost or skipped, and every interval run the sampling pass (TCP counters through iter/tcp,
 * owners, then the UDP flush and the TCP closes the pass found); then the last deliveries at
 * flush and stop. It calls the UDP flush (udp.c), the close finder (tcp_gone.c) and the
 * iterators (src_iter.c); none of them calls back into it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"
#include "stage_order.h"

#define DRAIN_MS 5 /* ring buffer records carry no wakeup: drain this often */
/*
 * Records per drain: a consume runs as long as the kernel adds records, so a
 * producer faster than us would keep it from returning (no flush, no signal).
 */
#define DRAIN_BUDGET 65536
/*
 * And time per drain: a consumer slower than the producer (a recorder whose output is a slow
 * pipe) would take a whole budget each time, and the sampling passes, due every interval,
 * would come only every DRAIN_BUDGET records (13 s in an emulated guest). The clock is read
 * every DRAIN_CLOCK_EVERY records.
 */
#define DRAIN_SLICE_NS (50 * 1000000ULL)
#define DRAIN_CLOCK_EVERY 256
/* a pass waits this long at most for the records made before it (a full 8 MB ring buffer
 * read by a slow pipe) */
#define DRAIN_PAST_NS (20 * 1000000000ULL)
#define STAGE_MS 100	    /* --raw-slice 0: the CPUs' staged calls are read at least this often */
#define HELD_MAX (1u << 20) /* --raw-slice 0: closes held for the CPUs' staged calls */
#define SKIP_CHECK_NS (100 * 1000000ULL) /* how often runs the kernel skipped are looked up */
/* a process filter waits for an accepted connection's owner: look at most this often */
#define OWNER_PASS_NS (20 * 1000000ULL)
/*
 * Connections of unknown owner left after a sampling pass: sweep the file
 * tables this often. With the accept tracepoints those are only the not yet
 * accepted and the io_uring-accepted; without them, every passive one.
 */
#define SWEEP_NS (5000 * 1000000ULL)
#define SWEEP_COST_SHARE 50

/*
 * --raw-slice 0: a close waits for the calls other CPUs staged before it (drain_now), and what
 * comes of its connection after it (the reads of a closed socket's queue) waits behind it.
 * Whether ev is held; without memory to hold it, it goes now.
 */
static int hold(struct tt_src *s, const struct tt_event *ev)
{
	uint32_t *n = NULL;

	if (!ev->conn_id)
		return 0;
	if (ev->kind != TT_EV_CONN_CLOSE &&
	    (!tt_evq_len(&s->closes_held) || !tt_u64map_get(&s->held_ids, ev->conn_id)))
		return 0;
	if (tt_u64map_put(&s->held_ids, ev->conn_id, (void **)&n) < 0)
		return 0;
	if (tt_evq_push(&s->closes_held, ev)) {
		if (!*n)
			tt_u64map_del(&s->held_ids, ev->conn_id);
		return 0;
	}
	++*n;
	return 1;
}

static void emit_staged(void *ctx, const struct tt_event *ev)
{
	struct tt_src *s = ctx;

	/* refused: kept by the handle, in order, with whatever comes after */
	tt_source_emit(s->h, ev);
}

/*
 * Deliver one record as an event. Returns 0 to go on, -ECANCELED when the caller refused it
 * (kept by tt_source_emit, offered again first next time) or -EAGAIN when this drain's budget
 * or time is spent: either way the record is taken.
 */
static int deliver(struct tt_src *s, const struct tt_event *rec)
{
	struct tt_event ev = *rec;

	/*
	 * --raw: the sampling pass and a call rolling its slice over may both find a socket's
	 * sums and reserve a record (bpf/tcp_sock.bpf.h raw_flush()); the second takes 0 calls.
	 * Discarding it in BPF grew tt_set_state past 6.1's verifier: it is dropped here.
	 */
	if (ev.kind == TT_EV_TRAFFIC && (ev.flags & TT_F_RAW) && !ev.u.traffic.tx_calls &&
	    !ev.u.traffic.rx_calls && !ev.u.traffic.tx_bytes && !ev.u.traffic.rx_bytes)
		return 0;
	if (ev.kind == TT_EV_DROP && ev.u.drop.code < s->n_drop_names)
		memcpy(ev.u.drop.reason, s->drop_names[ev.u.drop.code], TT_NAME_LEN);
	/* udp.c reports a UDP flow only after its open (a failed put: as if the open was lost) */
	if (ev.kind == TT_EV_CONN_OPEN && ev.u.open.proto == IPPROTO_UDP)
		tt_u64map_put(&s->udp_opened, ev.conn_id, NULL);
	if (ev.flags & TT_F_STAGED) {
		/* a call staged while its connection was open: before its close, held or not, in
		 * its socket's order */
		uint32_t seq = ev._pad;

		ev.flags &= ~TT_F_STAGED;
		ev._pad = 0;
		tt_stage_order_offer(s->order, &ev, seq, emit_staged, s);
	} else if (s->stage_fd >= 0 && hold(s, &ev)) {
		return 0;
	} else {
		tt_source_emit(s->h, &ev);
	}
	if (s->h->cb_ret)
		return -ECANCELED; /* consumed, but kept: offered again at the next poll */
	/* the rest waits for the next drain */
	if (!--s->budget)
		return -EAGAIN;
	if (s->budget % DRAIN_CLOCK_EVERY == 0 && tt_now_mono_ns() >= s->drain_until_ns)
		return -EAGAIN;
	return 0;
}

/*
 * A ring buffer record: one event, or (--raw-slice 0, bpf/stage.bpf.h) several back to back,
 * each as long as its kind's record. The record is taken whatever the callback says, so each of
 * its events is delivered (or kept, or counted); the first refusal is returned.
 */
static int on_record(void *ctx, void *data, size_t size)
{
	struct tt_src *s = ctx;
	const char *p = data;
	int ret = 0;

	do {
		size_t sz = size, one;
		struct tt_event ev;
		int r;

		if (size >= TT_EVENT_HDR_SIZE) {
			one = tt_event_size(((const struct tt_event *)(const void *)p)->kind);
			if (one < sz)
				sz = one;
		}
		/* on the copier's thread, during an iterator's walk (src_copy.c) */
		if (s->copying) {
			r = tt_src_copy_record(s, p, sz);
		} else {
			tt_src_record_event(&ev, p, sz);
			r = deliver(s, &ev);
		}
		if (!ret)
			ret = r;
		p += sz;
		size -= sz;
	} while (size);
	return ret;
}

/* Say that COUNT records are missing: a LOST event for CPU (TT_LOST_CPU_ANY: none in
 * particular). */
static void emit_lost(struct tt_src *s, uint64_t count, uint32_t cpu)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = tt_now_boot_ns();
	ev.kind = TT_EV_LOST;
	ev.u.lost.count = count;
	ev.u.lost.cpu = cpu;
	tt_source_emit(s->h, &ev);
}

/* Deliver what the copier queued, before anything newer: 0 when the queue is empty, else why
 * it stopped (as deliver()). */
static int deliver_copies(struct tt_src *s)
{
	const struct tt_event *ev;
	int ret = 0;

	if (s->copies_dropped) {
		emit_lost(s, s->copies_dropped, TT_LOST_CPU_ANY);
		s->copies_dropped = 0;
	}
	while (!ret && (ev = tt_evq_peek(&s->copies))) {
		ret = deliver(s, ev);
		tt_evq_pop(&s->copies);
	}
	return ret ? ret : tt_evq_len(&s->copies) ? -EAGAIN : 0;
}

int tt_src_run_begin(struct tt_src *s)
{
	s->ncpu = libbpf_num_possible_cpus();
	s->lost_seen = calloc(s->ncpu, sizeof(uint64_t));
	s->lost_now = calloc(s->ncpu, sizeof(uint64_t));
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	if (!s->lost_seen || !s->lost_now || !s->rb ||
	    tt_u64map_init(&s->udp_opened, sizeof(struct tt_udp_done), 256))
		return -ENOMEM;
	/* read-only, as the kernel allows: where the consumer and the producer stand */
	s->rb_pos_len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	s->rb_pos =
	    mmap(NULL, s->rb_pos_len, PROT_READ, MAP_SHARED, bpf_map__fd(s->skel->maps.events), 0);
	if (s->rb_pos == MAP_FAILED)
		s->rb_pos = NULL; /* then only a drain read to the end tells */
	/* at most the closes of a few ring buffers; past it a close goes unheld (deliver) */
	s->closes_held.max = HELD_MAX;
	if (tt_u64map_init(&s->held_ids, sizeof(uint32_t), 64) || tt_stage_order_new(&s->order))
		return -ENOMEM;
	/* the stage's flush runs here as it will on every CPU, or the source does not start */
	if (s->stage_fd >= 0) {
		LIBBPF_OPTS(bpf_test_run_opts, o);

		if (bpf_prog_test_run_opts(s->stage_fd, &o) < 0)
			return -errno;
	}
	return 0;
}

/* Failed reservations since the last look, per cpu, as LOST events. */
static void report_lost(struct tt_src *s)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.lost), &zero, s->lost_now))
		return;
	for (int c = 0; c < s->ncpu; c++) {
		if (s->lost_now[c] <= s->lost_seen[c])
			continue;
		emit_lost(s, s->lost_now[c] - s->lost_seen[c], (uint32_t)c);
		s->lost_seen[c] = s->lost_now[c];
	}
}

/*
 * Runs the kernel skipped because the program was already running on that CPU (a softirq
 * interrupting it): whatever those runs would have recorded is gone. Each skipped run is
 * reported as one lost event on TT_LOST_CPU_ANY, so a capture never loses them silently.
 */
static void report_skipped(struct tt_src *s)
{
	uint64_t sum = 0, now = tt_now_mono_ns();
	struct bpf_program *p;

	/* a syscall per program: every SKIP_CHECK_NS is enough (and at flush) */
	if (now < s->next_skip_check_ns)
		return;
	s->next_skip_check_ns = now + SKIP_CHECK_NS;

	bpf_object__for_each_program(p, s->skel->obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			sum += info.recursion_misses;
	}
	if (sum > s->skipped_seen) {
		emit_lost(s, sum - s->skipped_seen, TT_LOST_CPU_ANY);
		s->skipped_seen = sum;
	}
}

/*
 * Deliver what the ring buffer holds, up to DRAIN_BUDGET records or DRAIN_SLICE_NS.
 * -EAGAIN: more is waiting.
 */
static int drain(struct tt_src *s)
{
	int n;

	s->budget = DRAIN_BUDGET;
	s->drain_until_ns = tt_now_mono_ns() + DRAIN_SLICE_NS;
	n = deliver_copies(s);
	if (!n)
		n = ring_buffer__consume(s->rb);
	s->rb_emptied = n >= 0;
	report_lost(s);
	report_skipped(s);
	return n == -ECANCELED ? 0 : n;
}

/* Where the ring buffer's producer stands now: every record before it is reserved. */
static uint64_t rb_producer(const struct tt_src *s)
{
	const unsigned long *p = (const void *)((const char *)s->rb_pos + s->rb_pos_len / 2);

	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static uint64_t rb_consumer(const struct tt_src *s)
{
	return __atomic_load_n((const unsigned long *)s->rb_pos, __ATOMIC_ACQUIRE);
}

/*
 * Drain until every record reserved before the producer stood at TARGET is read (a
 * callback's refusal or MAX_NS end it sooner): whether it was. Under load the ring buffer is
 * never read empty, and need not be: what came before is all that must come first, at most a
 * ring buffer's worth however fast others write.
 */
static int drain_to(struct tt_src *s, uint64_t target, uint64_t max_ns)
{
	uint64_t now = tt_now_mono_ns(),
		 end = max_ns > UINT64_MAX - now ? UINT64_MAX : now + max_ns;

	while (!s->h->cb_ret && tt_now_mono_ns() < end) {
		int n = drain(s);

		/* read up to target, and none of it waiting in the copier's queue */
		if (s->rb_pos ? (int64_t)(rb_consumer(s) - target) >= 0 && !tt_evq_len(&s->copies)
			      : s->rb_emptied)
			return !s->h->cb_ret;
		if (n != -EAGAIN && !s->rb_pos)
			return 0;
	}
	return 0;
}

/*
 * --raw-slice 0: write out what each CPU has staged (bpf/stage.bpf.c, run there in an
 * interrupt): whether every CPU did. One busy staging a call at that moment is tried again.
 */
static int stage_flush(struct tt_src *s)
{
	int all = 1;

	if (s->stage_fd < 0)
		return 1;
	for (int c = 0; c < s->ncpu; c++) {
		int done = 0;

		for (int tries = 0; tries < 3 && !done; tries++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .flags = BPF_F_TEST_RUN_ON_CPU,
				    .cpu = (__u32)c);

			if (bpf_prog_test_run_opts(s->stage_fd, &o) < 0)
				done = errno == ENXIO ? 1 : -1; /* offline: it stages nothing */
			else
				done = o.retval == 0;
		}
		if (done != 1)
			all = 0;
	}
	return all;
}

/* Deliver the first n events held back (hold). */
static void release_held(struct tt_src *s, size_t n)
{
	const struct tt_event *ev;

	while (n-- && (ev = tt_evq_peek(&s->closes_held))) {
		uint32_t *k = tt_u64map_get(&s->held_ids, ev->conn_id);

		/* refused: kept by the handle, in order, with whatever comes after */
		tt_source_emit(s->h, ev);
		/* its connection's events go straight on once none of them waits */
		if (k && !--*k)
			tt_u64map_del(&s->held_ids, ev->conn_id);
		if (ev->kind == TT_EV_CONN_CLOSE)
			tt_stage_order_forget(s->order, ev->conn_id);
		tt_evq_pop(&s->closes_held);
	}
}

/*
 * Every record reserved until now, within MAX_NS (at a flush others still write; at the stop
 * all of them: the links are gone, and SIGINT/SIGTERM flush everything, however slow the
 * output). With --raw-slice 0, what the CPUs staged too; then the closes held before it can go,
 * as every call staged before them has been read. Whether all was read.
 */
static int drain_now(struct tt_src *s, uint64_t max_ns)
{
	size_t n = tt_evq_len(&s->closes_held);
	int flushed = stage_flush(s);

	if (!drain_to(s, s->rb_pos ? rb_producer(s) : 0, max_ns))
		return 0;
	if (flushed) {
		/* nothing staged before the flush is left: a call still missing was lost */
		tt_stage_order_settle(s->order, emit_staged, s);
		release_held(s, n);
	}
	return 1;
}

/*
 * One sampling pass: TCP counters and RTT from iter/tcp (which also applies
 * owners left by the accept tracepoints), owners still unknown from the file
 * tables, then UDP sums.
 */
/*
 * Namespaces an owner pass enters: those with an open connection, and with a process filter
 * every one, as a connection waiting for its owner to be opened is not counted yet.
 */
static int owner_ns(struct tt_src *s, uint64_t ino, void *arg)
{
	return s->plan_accept || tt_src_ns_has_tcp(s, ino, arg);
}

static void sample_once(struct tt_src *s)
{
	uint64_t now, unowned;

	drain(s);
	if (s->it_tcp) {
		uint64_t changes;

		s->skel->bss->cur_pass = ++s->pass;
		s->skel->bss->n_filed_new = 0;
		s->skel->bss->pass_found = 0;
		changes = __atomic_load_n(&s->skel->bss->live_changes, __ATOMIC_SEQ_CST);
		/*
		 * The closes it found only once every record written before the pass ended is
		 * read: a connection's open still in the ring buffer must reach the reader before
		 * its inferred close. A pass that found the socket of every entry of tcp_live,
		 * none added or deleted meanwhile, found none gone: the map is not read (at
		 * 100 000 connections that read was a tenth of the pass).
		 */
		if (tt_src_run_iter_all(s, s->it_tcp, NULL, NULL, tt_src_ns_has_tcp, NULL) >= 0 &&
		    !tt_src_tcp_all_found(s, changes) && drain_now(s, DRAIN_PAST_NS))
			tt_src_tcp_gone(s);
	}
	drain(s);
	now = tt_now_mono_ns();
	unowned = s->skel->bss->n_unowned;
	if (unowned < s->unowned_left)
		s->unowned_left = unowned;
	/*
	 * Without the accept tracepoints a sweep is how accepted connections get an owner: at the
	 * next pass when there are new ones, or ones accept() gave a file since the last sweep
	 * (one still in the accept queue then had none: seen, an iperf3 server's connection that
	 * never got its pid, make vmtest 6.1). What a sweep could not name (held by a process
	 * outside our PID namespace: a container's recorder sees only its own) is looked for
	 * again every SWEEP_NS, not at every pass: a sweep walks every file of the machine and
	 * every TCP socket again, more than the pass itself (docs/BENCHMARKS.md).
	 */
	if (s->it_files && unowned &&
	    ((!s->plan_accept && (unowned > s->unowned_left || s->skel->bss->n_filed_new)) ||
	     now >= s->next_sweep_ns)) {
		uint64_t c0 = tt_now_thread_cpu_ns(), cost;

		s->skel->bss->sweep_pass = s->pass;
		s->skel->bss->sweep_conns = 0;
		/*
		 * A sweep cut short is made again at the next pass, not SWEEP_NS later. The next
		 * one for owners still unknown comes after SWEEP_NS, or after SWEEP_COST_SHARE
		 * times what this one cost if longer: on a big host (100 000 connections, 200 000
		 * socket files) a search for an owner no sweep may find costs at most a fiftieth of
		 * a core.
		 */
		if (tt_src_run_iter(s, s->it_files, NULL, NULL) >= 0) {
			cost = (tt_now_thread_cpu_ns() - c0) * SWEEP_COST_SHARE;
			s->next_sweep_ns = now + (cost > SWEEP_NS ? cost : SWEEP_NS);
		} else
			s->next_sweep_ns = now;
		drain(s);
		/*
		 * The owners it found (even by a sweep cut short) are applied by the programs
		 * that hold the sockets; those left wait in their map for the next pass. Owners
		 * of listeners alone (a sweep every SWEEP_NS for one no sweep can name finds the
		 * others' again) wait for the next pass: a walk of every socket is not worth a
		 * listener's name a pass sooner.
		 */
		if (s->skel->bss->owners_n && s->skel->bss->sweep_conns && s->it_owner)
			tt_src_run_iter_all(s, s->it_owner, NULL, NULL, owner_ns, NULL);
		drain(s);
		s->unowned_left = s->skel->bss->n_unowned;
	}
	tt_src_udp_flush(s, s->rb_emptied);
	drain(s);
}

/*
 * A sampling pass, timed: its cost grows with the open connections, and a big host's recorder
 * is to say what it is (tt_source_stat.sample_*, the recorder's exit line; docs/BENCHMARKS.md).
 * Its CPU is the source's thread's and the copier's (src_copy.c), which reads the ring buffer
 * for it while it walks.
 */
static void sample(struct tt_src *s)
{
	uint64_t t0 = tt_now_mono_ns(), c0 = tt_now_thread_cpu_ns(), k0 = s->copy_cpu_ns, dt, dc;

	sample_once(s);
	dt = tt_now_mono_ns() - t0;
	dc = tt_now_thread_cpu_ns() - c0 + (s->copy_cpu_ns - k0);
	s->samples++;
	s->sample_ns += dt;
	s->sample_cpu_ns += dc;
	if (dt > s->sample_ns_max)
		s->sample_ns_max = dt;
	if (dc > s->sample_cpu_ns_max)
		s->sample_cpu_ns_max = dc;
}

/* A process filter waits for the owner of an accepted connection: open it now, not at the next
 * sample. */
static void owner_pass(struct tt_src *s, uint64_t now)
{
	uint64_t wanted = s->skel->bss->owners_wanted;

	if (wanted == s->owners_seen || !s->it_owner || now < s->next_owner_ns)
		return;
	s->next_owner_ns = now + OWNER_PASS_NS;
	/* a pass that failed is made again (OWNER_PASS_NS later), not left to the next sample */
	if (tt_src_run_iter_all(s, s->it_owner, NULL, NULL, owner_ns, NULL) >= 0)
		s->owners_seen = wanted;
	drain(s);
}

/*
 * Wait up to timeout_ms for events and deliver them, run the periodic sampling when it is
 * due, and report lost events as TT_EV_LOST.
 */
int tt_src_poll(struct tt_source *h, int timeout_ms)
{
	struct tt_src *s = h->priv;
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	int ret = 0;

	for (;;) {
		uint64_t now = tt_now_mono_ns();
		int step, busy;

		if (now >= s->next_sample_ns) {
			sample(s);
			s->next_sample_ns = now + (uint64_t)s->coalesce_ms * 1000000;
		}
		owner_pass(s, now);
		busy = drain(s) == -EAGAIN;
		/*
		 * --raw-slice 0: the calls staged, at the next drain when a close waits for them,
		 * else every STAGE_MS (a flush interrupts every CPU, idle or not)
		 */
		if (s->stage_fd >= 0 && (tt_evq_len(&s->closes_held) || now >= s->next_stage_ns)) {
			drain_now(s, DRAIN_PAST_NS);
			s->next_stage_ns = now + STAGE_MS * 1000000ULL;
		}
		if (h->cb_ret)
			return 0;
		if (now >= end)
			break;
		if (busy)
			continue; /* more is waiting: no sleep, but the deadline still holds */
		step = (int)((end - now + 999999) / 1000000);
		if (step > DRAIN_MS)
			step = DRAIN_MS;
		/* records carry no wakeup: this is a sleep that a signal can end */
		s->budget = DRAIN_BUDGET;
		s->drain_until_ns = tt_now_mono_ns() + DRAIN_SLICE_NS;
		ret = ring_buffer__poll(s->rb, step);
		if (ret == -EINTR) {
			drain(s);
			return -EINTR;
		}
	}
	return 0;
}

int tt_src_assist_drain(struct tt_source *h, tt_source_cb cb, void *ctx)
{
	tt_source_emit_begin(h, cb, ctx);
	if (tt_source_emit_pending(h))
		return h->cb_ret;
	drain_now(h->priv, DRAIN_PAST_NS);
	return tt_source_emit_end(h, 0);
}

/*
 * Deliver now what the kernel holds (ring buffer, counters not yet sampled, UDP sums): called
 * before closing so the last interval is not lost.
 */
int tt_src_flush(struct tt_source *h)
{
	struct tt_src *s = h->priv;

	s->next_skip_check_ns = 0;
	/* all of it: what stays in the ring buffer now is gone at close (bounded: others still
	 * write) */
	drain_now(s, DRAIN_PAST_NS);
	sample(s);
	/* a sample like the others (tcptop's ticks flush): the next one an interval after it */
	s->next_sample_ns = tt_now_mono_ns() + (uint64_t)s->coalesce_ms * 1000000;
	drain_now(s, DRAIN_PAST_NS);
	/* UDP flows the sample left for their opens, which that drain read: not left out */
	if (s->udp_later && !s->h->cb_ret) {
		tt_src_udp_flush(s, s->rb_emptied);
		drain(s);
	}
	return 0;
}

/*
 * The last delivery, after the last flush: detach every program that writes events by itself
 * (all but the iterators) and wait for the runs already under way (tt_src_halt); then deliver
 * what they wrote and the UDP sums counted meanwhile (tt_src_stop). Nothing is written after it,
 * so nothing is left in the ring buffer at close.
 */
void tt_src_halt(struct tt_source *h)
{
	struct tt_src *s = h->priv;
	int k = 0;

	for (int i = 0; i < s->n_links; i++) {
		struct bpf_link *l = s->links[i];

		if (l == s->it_tcp || l == s->it_udp || l == s->it_files || l == s->it_owner)
			s->links[k++] = l;
		else
			bpf_link__destroy(l);
	}
	s->n_links = k;
	/*
	 * A run that began before its link went ends within an RCU grace period (tracepoints,
	 * perf events and cgroup hooks run their programs inside RCU read sections), which
	 * membarrier(MEMBARRIER_CMD_GLOBAL) waits for; where it is refused (nohz_full), a while
	 * far longer than a run.
	 */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(50000);
	s->next_skip_check_ns = 0;
	s->halted = 1;
}

int tt_src_stop(struct tt_source *h)
{
	struct tt_src *s = h->priv;

	drain_now(s, UINT64_MAX);
	/* the sums the packet hooks counted since the last flush, final now */
	if (!h->cb_ret) {
		tt_src_udp_flush(s, s->rb_emptied);
		drain_now(s, UINT64_MAX);
	}
	/* nothing writes any more: a close still held (a flush that failed) goes last */
	tt_stage_order_settle(s->order, emit_staged, s);
	release_held(s, tt_evq_len(&s->closes_held));
	return 0;
}
