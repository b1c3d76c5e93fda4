/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --raw-slice 0 (a record per TCP send/recv call): the records staged per CPU and written
 * TT_STAGE_N at a time, as one ring-buffer record that user space reads as TT_STAGE_N events
 * (source/src_run.c). A reservation in the ring buffer that every CPU shares took about half of
 * a call's cost; staged, a call writes into its CPU's own memory (docs/BENCHMARKS.md).
 *
 * What a CPU has staged reaches user space when TT_STAGE_N are there, or when user space runs
 * tt_stage_flush on that CPU (at least every 100 ms, at once when a close waits, before it
 * looks for closed sockets after a pass, and at the stop). A close is written straight to the
 * ring buffer, so it may come before its connection's last calls: user space holds each close
 * back until a flush of every CPU made after it has been read.
 */
#ifndef TT_STAGE_BPF_H
#define TT_STAGE_BPF_H

#include "maps.bpf.h"
#include "emit.bpf.h"

#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif

/* Take this CPU's stage: 0 when a program this one interrupted holds it. */
static __always_inline int stage_enter(struct tt_stage *sg)
{
	if (*(volatile __u32 *)&sg->busy)
		return 0;
	*(volatile __u32 *)&sg->busy = 1;
	barrier();
	return 1;
}

static __always_inline void stage_leave(struct tt_stage *sg)
{
	barrier();
	*(volatile __u32 *)&sg->busy = 0;
}

/* Write the first n staged records (n <= TT_STAGE_N) as one ring-buffer record. */
static __always_inline void stage_out(struct tt_stage *sg, __u32 n)
{
	if (n > TT_STAGE_N)
		n = TT_STAGE_N;
	if (n && bpf_ringbuf_output(&events, sg->recs, n * TT_STAGE_REC, BPF_RB_NO_WAKEUP))
		count_lost_n(n);
	sg->n = 0;
}

/*
 * Stage one call of len bytes (tx: sent) on the connection of st. 0 when this CPU's stage is in
 * use by the program this one interrupted: the caller writes the call's record itself. Each
 * staged call carries its number on its socket (in the header's _pad), by which user space puts
 * a socket's calls back in order when its thread moved between CPUs (source/stage_order.c).
 */
static __always_inline int stage_call(struct sk_st *st, int tx, int len)
{
	__u32 zero = 0, n;
	struct tt_stage *sg = bpf_map_lookup_elem(&stage, &zero);
	struct tt_event *e;

	if (!sg || !stage_enter(sg))
		return 0;
	n = sg->n;
	if (n >= TT_STAGE_N)
		n = 0; /* cannot be: it is written out when full */
	e = (struct tt_event *)(sg->recs + n * TT_STAGE_REC);
	__builtin_memset(e, 0, TT_STAGE_REC);
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->conn_id = st->id;
	e->pid = st->pid;
	e->tid = st->tid;
	e->_pad = (__u32)__sync_fetch_and_add(&st->stage_seq, 1);
	e->kind = TT_EV_TRAFFIC;
	e->flags = TT_F_RAW | TT_F_STAGED;
	if (tx) {
		e->u.traffic.tx_bytes = len;
		e->u.traffic.tx_calls = 1;
	} else {
		e->u.traffic.rx_bytes = len;
		e->u.traffic.rx_calls = 1;
	}
	if (++n == TT_STAGE_N)
		stage_out(sg, n);
	else
		sg->n = n;
	stage_leave(sg);
	return 1;
}

#endif /* TT_STAGE_BPF_H */
