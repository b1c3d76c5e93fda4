// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The ring buffer read by a thread of its own while an iterator walks. A sampling pass reads an
 * iterator (every TCP socket of the host; a sweep, every file of every process) in one read()
 * that returns only when the walk ends: 50-300 ms at 20 000 sockets, seconds at 200 000 on a
 * busy host. The programs keep writing meanwhile, and a ring buffer that fills drops what comes
 * next (counted, LOST): a recorder started beside 100 000 connections recorded 34 943 of their
 * 200 000 opens with the default 8 MiB (docs/BENCHMARKS.md, "Records written during a walk"). So,
 * for the walk (and for tcp_gone.c's batched read of its map, as long), a second thread moves what
 * is written out of the ring buffer into a queue in memory, in order; the source's thread delivers
 * the queue before it reads the ring buffer again (src_run.c, drain()).
 *
 * One thread reads the ring buffer at a time: the copier between tt_src_copy_begin() and
 * tt_src_copy_end(), the source's thread otherwise (pthread_create() and pthread_join() order
 * their memory). Both read it through the same libbpf ring_buffer, whose callback (on_record)
 * hands a record to tt_src_copy_record() while s->copying is set.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "src_int.h"
#include "tt_util.h"

/* Records queued at most (~64 MiB): beyond, the copier leaves them in the ring buffer. */
#define COPY_MAX ((64u << 20) / sizeof(struct tt_event))
/* Records carry no wakeup (BPF_RB_NO_WAKEUP): the copier looks this often. */
#define COPY_SLEEP_NS 1000000L

int tt_src_copy_record(struct tt_src *s, const void *data, size_t size)
{
	struct tt_event *ev;

	s->copies.max = COPY_MAX;
	ev = tt_evq_slot(&s->copies);
	if (!ev) {
		s->copies_dropped++; /* consumed already: counted, and said as LOST at delivery */
		return -ENOMEM;
	}
	tt_src_record_event(ev, data, size);
	/* full: the rest stays in the ring buffer (this one is queued) */
	return tt_evq_len(&s->copies) >= COPY_MAX ? -ENOSPC : 0;
}

static void *copier(void *arg)
{
	struct tt_src *s = arg;
	const struct timespec pause = {0, COPY_SLEEP_NS};

	while (!atomic_load_explicit(&s->copy_stop, memory_order_acquire)) {
		int n = 0;

		if (tt_evq_len(&s->copies) < COPY_MAX)
			n = ring_buffer__consume(s->rb);
		if (n <= 0)
			nanosleep(&pause, NULL);
	}
	/* a thread of its own: its CPU clock counts this walk's copying alone */
	s->copy_cpu_ns += tt_now_thread_cpu_ns(); /* read after pthread_join() */
	return NULL;
}

void tt_src_copy_begin(struct tt_src *s)
{
	sigset_t all, old;

	if (!s->rb || s->copying)
		return;
	atomic_store_explicit(&s->copy_stop, 0, memory_order_relaxed);
	s->copying = 1;
	/* signals stay the source's thread's: they end its waits (SIGINT: flush and stop) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&s->copier, NULL, copier, s))
		s->copying = 0; /* then the walk goes without: as before */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void tt_src_copy_end(struct tt_src *s)
{
	if (!s->copying)
		return;
	atomic_store_explicit(&s->copy_stop, 1, memory_order_release);
	pthread_join(s->copier, NULL);
	s->copying = 0;
}

void tt_src_copy_free(struct tt_src *s)
{
	tt_src_copy_end(s);
	tt_evq_free(&s->copies);
}
