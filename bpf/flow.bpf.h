/* SPDX-License-Identifier: GPL-2.0 */
/*
 * UDP flows (map "flows", struct tt_flow_key/val in tcptop.h), made and counted alike by both
 * UDP routes: per call (udp.bpf.c) and per datagram (udp_skb.bpf.c).
 */
#ifndef TT_FLOW_BPF_H
#define TT_FLOW_BPF_H

#include "maps.bpf.h"
#include "emit.bpf.h"
#include "filter.bpf.h"
#include "sock.bpf.h"

#ifdef TT_K510
/*
 * Built for kernels before 5.12 (udp_skb.bpf.c again, -DTT_K510): no compare-and-swap nor
 * fetch-and-add there, so both take k510_lock (maps.bpf.h), which no helper call may hold. A
 * cost of those kernels alone: every UDP datagram's first look at its flow passes the lock.
 */
static __always_inline __u64 flow_cas(__u64 *p, __u64 old, __u64 new)
{
	__u32 zero = 0;
	struct tt_k510_lock *l = bpf_map_lookup_elem(&k510_lock, &zero);
	__u64 was;

	if (!l) /* (an array's one element: never) */
		return old + 1;
	bpf_spin_lock(&l->lock);
	was = *p;
	if (was == old)
		*p = new;
	bpf_spin_unlock(&l->lock);
	return was;
}

static __always_inline __u64 flow_next_id(void)
{
	__u32 zero = 0;
	struct tt_k510_lock *l = bpf_map_lookup_elem(&k510_lock, &zero);
	__u64 id = 0;

	if (!l)
		return 0;
	bpf_spin_lock(&l->lock);
	id = next_flow_id;
	next_flow_id = id + 1;
	bpf_spin_unlock(&l->lock);
	return id;
}
#else
static __always_inline __u64 flow_cas(__u64 *p, __u64 old, __u64 new)
{
	return __sync_val_compare_and_swap(p, old, new);
}

static __always_inline __u64 flow_next_id(void)
{
	return __sync_fetch_and_add(&next_flow_id, 1);
}
#endif

/*
 * The socket's connection has ended (a connect() elsewhere, or a disconnect): its flow moves to
 * a key no datagram looks up (TT_FLOW_GEN_ENDED), marked ended, for user space to close
 * (source/udp.c), and its own key is free for whatever the socket does next with that peer: a
 * new connection, or datagrams sent unconnected (after a disconnect, from another local port).
 * With no room for the move it is marked where it is (what the socket sends that peer until
 * the close then counts in it).
 */
static __always_inline void udp_conn_end(struct sk_st *st, __u64 cookie)
{
	struct tt_flow_key k = {}, tomb;
	struct tt_flow_val *fv, v;

	if (!st->conn_fam)
		return;
	k.cookie = cookie;
	__builtin_memcpy(k.raddr, st->conn_addr, TT_ADDR_LEN);
	k.rport = st->conn_port;
	k.family = st->conn_fam;
	st->conn_fam = 0;
	fv = bpf_map_lookup_elem(&flows, &k);
	if (!fv)
		return;
	v = *fv;
	v.ended = 1;
	tomb = k;
	tomb.gen = TT_FLOW_GEN_ENDED | st->conn_n;
	if (bpf_map_update_elem(&flows, &tomb, &v, BPF_NOEXIST) == 0)
		bpf_map_delete_elem(&flows, &k);
	else
		fv->ended = 1;
}

/*
 * k (cookie and peer filled in) is the key of a connected socket's flow to that peer, its
 * current connection. A flow is one connection, as ss and conntrack see it: the first datagram
 * to or from a peer other than the current one's is a new connection (a connect() was made),
 * and the one before ends. The new one goes on with the flow the socket had with that peer
 * unconnected, if any (one 5-tuple: a server that connect()s to the client it heard from),
 * else it is a new flow. (connect() holds the socket lock; datagrams of one socket racing on
 * two CPUs across a connect() may make one more flow.)
 */
static __always_inline void udp_conn_key(struct sk_st *st, const struct tt_flow_key *k)
{
	if (st->conn_fam == k->family && st->conn_port == k->rport &&
	    addr_eq(st->conn_addr, k->raddr))
		return;
	udp_conn_end(st, k->cookie);
	st->conn_n++;
	__builtin_memcpy(st->conn_addr, k->raddr, TT_ADDR_LEN);
	st->conn_port = k->rport;
	st->conn_fam = k->family;
}

/*
 * The flow a datagram at now counts in, fv found at key k: fv, its last datagram's time set to
 * now. Unless fv is over (idle longer than --udp-timeout, where user space would close it: a
 * remote of an unconnected socket; any flow without iter/udp): then fv moves, marked ended, to
 * a key no datagram looks up (gen TT_FLOW_GEN_ENDED | TT_FLOW_GEN_IDLE | low bits of its last
 * datagram's time in 1024 ns), for user space to close, and *again is set: NULL, k is free for
 * the new flow the datagram begins.
 * Why: user space's close deletes the flow, and a program that found the entry before the
 * delete and added after it would add to no flow. Now only a program that set its time before
 * the timeout ran out can add to it, and user space closes an idle flow a grace period after
 * that (source/udp.c).
 * The time is set by compare-and-swap, and a move begins with one that puts TT_FLOW_MOVED and
 * the moved flow's gen there: of datagrams of one flow on two CPUs at the timeout's end, either
 * one set its time first (the flow is not over: it stays, and the other counts in it too), or
 * the move did, and the others count in the moved flow (looked for until the mover has put it
 * there: a few hundred nanoseconds), or, if it never comes (no room), are lost and counted
 * (NULL without *again). A count is in a flow's sums a few instructions after its time: the
 * move copies them a whole timeout later. With no room for the move, fv goes on.
 */
/* looks for a moved flow before its datagram is given up as lost: 32 lost 16 of 120 datagrams
 * in test_udp_flows' two-CPU test, 256 none */
#define TT_FLOW_MOVE_LOOKS 256

/*
 * Whether flow fv, its last datagram at last, is over at now: idle longer than --udp-timeout,
 * where user space would close it (a remote of an unconnected socket; any flow without
 * iter/udp, whose sockets' ends are not seen).
 */
static __always_inline int flow_over(const struct tt_flow_val *fv, __u64 last, __u64 now)
{
	return udp_idle_ns && !(fv->connected && !udp_idle_connected) && last + udp_idle_ns < now;
}

/*
 * Move fv (key k, its time last, over at now) aside, marked ended, unless something set its
 * time first: 1 moved (k is free), 0 not (*was: the time found there), -1 no room for the
 * move (fv goes on, its time now).
 */
static __always_inline int flow_move(const struct tt_flow_key *k, struct tt_flow_val *fv,
				     __u64 last, __u64 now, __u64 *was)
{
	struct tt_flow_key tomb = *k;
	struct tt_flow_val v;
	__u64 mark = TT_FLOW_MOVED | TT_FLOW_GEN_ENDED | TT_FLOW_GEN_IDLE |
		     ((__u32)(last >> 10) & (TT_FLOW_GEN_IDLE - 1));

	*was = flow_cas(&fv->last_ts, last, mark);
	if (*was != last)
		return 0;
	v = *fv;
	v.ended = 1;
	v.last_ts = now;
	tomb.gen = (__u32)mark;
	if (bpf_map_update_elem(&flows, &tomb, &v, BPF_NOEXIST)) {
		fv->last_ts = now; /* no room: it goes on */
		return -1;
	}
	bpf_map_delete_elem(&flows, k);
	return 1;
}

static __always_inline struct tt_flow_val *
flow_current(const struct tt_flow_key *k, struct tt_flow_val *fv, __u64 now, int *again)
{
	struct tt_flow_key tomb = *k;
	struct tt_flow_val *moved;
	__u64 last = fv->last_ts, was;
	int r;

	if (!(last & TT_FLOW_MOVED) && !flow_over(fv, last, now)) {
		was = flow_cas(&fv->last_ts, last, now);
		/* (another count's time in first: as good as ours) */
		if (was == last || !(was & TT_FLOW_MOVED))
			return fv;
		last = was;
	}
	if (!(last & TT_FLOW_MOVED)) {
		r = flow_move(k, fv, last, now, &was);
		if (r > 0) {
			*again = 1;
			return NULL;
		}
		if (r < 0 || !(was & TT_FLOW_MOVED))
			return fv; /* no room, or a count's time in first: not over */
		last = was;
	}
	tomb.gen = (__u32)last;
	/* the mover puts it there a few instructions after its mark: a few looks for it */
#pragma clang loop unroll(disable)
	for (int i = 0; i < TT_FLOW_MOVE_LOOKS; i++) {
		moved = bpf_map_lookup_elem(&flows, &tomb);
		if (moved)
			return moved;
	}
	if (fv->verdict == TT_V_PASS)
		count_lost();
	return NULL;
}

/*
 * The flow of key k a datagram at now counts in, of a connected socket's current connection
 * if connected (then marked so): the flow to count into, or NULL, with *again 0 (none: make
 * it), 1 (the idle one moved: make a new one, flow_add's again) or -1 (lost, and counted).
 * Both UDP routes look their flows up here.
 */
static __always_inline struct tt_flow_val *flow_find(const struct tt_flow_key *k, int connected,
						     __u64 now, int *again)
{
	struct tt_flow_val *fv = bpf_map_lookup_elem(&flows, k);

	*again = 0;
	if (!fv)
		return NULL;
	fv = flow_current(k, fv, now, again);
	if (!fv) {
		if (!*again)
			*again = -1;
		return NULL;
	}
	if (connected && !fv->connected)
		fv->connected = 1; /* its socket connected to its peer */
	return fv;
}

/*
 * A new UDP flow of key k (t: its ends), owned as st says, put in "flows" and announced if the
 * filters pass it: the flow to count into, or NULL (lost: the map full, counted).
 * Both UDP routes make their flows here (udp.bpf.c per call, udp_skb.bpf.c per datagram).
 * Its id: the socket's cookie if it is the socket's first connection, else a new one; a new
 * one too after an idle flow of the same key (again), whose close may still be to come.
 */
static __always_inline struct tt_flow_val *flow_add(const struct tt_flow_key *k,
						    const struct sk_st *st, const struct tuple *t,
						    int connected, int tx, __u16 flags, __u32 netns,
						    int again)
{
	struct tt_flow_val v = {};
	long err;

	v.id = connected && st->conn_n == 1 && !again ? k->cookie
						      : (flow_next_id() | TT_FLOW_PEER_BIT);
	v.first_ts = bpf_ktime_get_boot_ns();
	v.last_ts = v.first_ts;
	v.pid = st->pid;
	v.netns = netns;
	v.verdict = TT_V_PASS;
	v.connected = connected;
	if (!net_match(IPPROTO_UDP, t->family, t->lport, t->rport) ||
	    (proc_filter_active() && !proc_match(st->pid, st->comm, st->cgroup_id)))
		v.verdict = TT_V_DROP;
	err = bpf_map_update_elem(&flows, k, &v, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		/* full (-E2BIG), or any failure but a race: the flow is lost, and counted, unless
		 * the filters leave it out (not lost: not wanted) */
		if (v.verdict == TT_V_PASS)
			count_lost();
		return NULL;
	}
	if (err == 0 && v.verdict == TT_V_PASS) {
		struct sk_st tmp = *st;

		tmp.id = v.id;
		tmp.dir = tx ? TT_DIR_OUTBOUND : TT_DIR_INBOUND;
		emit_open_ns(&tmp, t, IPPROTO_UDP, 0, v.first_ts, flags, netns);
	}
	return bpf_map_lookup_elem(&flows, k);
}

/* One datagram (or call) of len bytes on flow fv (its time set by flow_current or flow_add). */
static __always_inline void flow_count(struct tt_flow_val *fv, int tx, __u32 len)
{
	if (tx) {
		__sync_fetch_and_add(&fv->tx_bytes, len);
		__sync_fetch_and_add(&fv->tx_pkts, 1);
	} else {
		__sync_fetch_and_add(&fv->rx_bytes, len);
		__sync_fetch_and_add(&fv->rx_pkts, 1);
	}
}

#endif /* TT_FLOW_BPF_H */
