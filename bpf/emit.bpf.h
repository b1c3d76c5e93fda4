/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing records (struct tt_event) into the ring buffer, without wakeups: a full buffer is
 * counted in "lost". The records every part writes alike: a connection's open, state change
 * and owner.
 */
#ifndef TT_EMIT_BPF_H
#define TT_EMIT_BPF_H

#include "maps.bpf.h"
#include "filter.bpf.h"
#include "sock.bpf.h"

static __always_inline void count_lost_n(__u64 k)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	/* atomic: a softirq program on this CPU may count between our load and store */
	if (n)
		__sync_fetch_and_add(n, k);
}

static __always_inline void count_lost(void)
{
	count_lost_n(1);
}

/* A record of this kind, its header filled (ts 0: now); NULL, and nothing counted, if the ring
 * buffer is full. */
static __always_inline struct tt_event *ev_try_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
						   __u16 flags, __u64 ts)
{
	__u32 sz = tt_event_size(kind);
	struct tt_event *e = bpf_ringbuf_reserve(&events, sz, 0);

	if (!e) {
		ring_short_pass = cur_pass;
		return NULL;
	}
	__builtin_memset(e, 0, sz);
	e->ts_ns = ts ? ts : bpf_ktime_get_boot_ns();
	e->conn_id = id;
	e->pid = pid;
	e->tid = tid;
	e->kind = kind;
	e->flags = flags;
	return e;
}

/* The same, a full ring buffer counted as a lost event. */
static __always_inline struct tt_event *ev_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
					       __u16 flags, __u64 ts)
{
	struct tt_event *e = ev_try_new(kind, id, pid, tid, flags, ts);

	if (!e)
		count_lost();
	return e;
}

static __always_inline void ev_send(struct tt_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* A CONN_OPEN's body: the ends, the state, and the owner's cgroup and name. */
static __always_inline void fill_open(struct tt_ev_open *o, const struct tuple *t, __u8 proto,
				      __u8 dir, __u8 state, __u32 netns, __u64 cgroup_id,
				      const char *comm)
{
	__builtin_memcpy(o->laddr, t->laddr, TT_ADDR_LEN);
	__builtin_memcpy(o->raddr, t->raddr, TT_ADDR_LEN);
	o->lport = t->lport;
	o->rport = t->rport;
	o->family = t->family;
	o->proto = proto;
	o->direction = dir;
	o->state = state;
	o->netns = netns;
	o->cgroup_id = cgroup_id;
	__builtin_memcpy(o->comm, comm, TT_COMM_LEN);
}

static __always_inline int emit_open_ns(struct sk_st *st, const struct tuple *t, __u8 proto,
					__u8 state, __u64 ts, __u16 flags, __u32 netns)
{
	struct tt_event *e = ev_new(TT_EV_CONN_OPEN, st->id, st->pid, st->tid, flags, ts);

	if (!e)
		return -1;
	fill_open(&e->u.open, t, proto, st->dir, state, netns, st->cgroup_id, st->comm);
	ev_send(e);
	note_owner(st->pid);
	return 0;
}

static __always_inline int emit_open(const struct sock *sk, struct sk_st *st, const struct tuple *t,
				     __u8 proto, __u8 state, __u64 ts, __u16 flags)
{
	return emit_open_ns(st, t, proto, state, ts, flags, sk_netns(sk));
}

static __always_inline void emit_state(struct sk_st *st, __u8 old, __u8 new, __u64 ts)
{
	struct tt_event *e = ev_new(TT_EV_STATE, st->id, st->pid, st->tid, 0, ts);

	if (!e)
		return;
	e->u.state.old_state = old;
	e->u.state.new_state = new;
	ev_send(e);
}

/* The owner in st, said of connection id (a socket's, or one of its UDP flows'). */
static __always_inline void emit_proc(__u64 id, const struct sk_st *st)
{
	struct tt_event *e = ev_new(TT_EV_CONN_PROC, id, st->pid, st->tid, 0, 0);

	if (!e)
		return;
	__builtin_memcpy(e->u.proc.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	note_owner(st->pid);
}

#endif /* TT_EMIT_BPF_H */
