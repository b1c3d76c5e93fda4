// SPDX-License-Identifier: GPL-2.0
/*
 * TCP: the lifecycle from the state-change tracepoint, retransmits, resets, and the
 * sampling iterators over the TCP sockets of a namespace.
 */
#include "tcptop.bpf.h"

/* The states compared here and stored in captures are the kernel's numbers (vmlinux.h). */
TT_TCP_STATES(TT_TCP_STATE_IS_KERNEL, TCP_)

/*
 * The handshake is over (ESTABLISHED from old), measured now, written once the connection is
 * open. A client's: from connect() (CLOSE -> SYN_SENT, before the first SYN) to now, and the
 * SYNs it retransmitted (total_retrans: nothing else was sent yet). A server's child socket
 * is made when the handshake's last ACK arrives, so its own times say nothing: what it holds
 * is the SYN-ACK RTT that tcp_check_req() measured into srtt_us (tcp_synack_rtt_meas(): from
 * the request's first SYN-ACK, snt_synack, to this ACK; with a retransmitted SYN-ACK, from
 * the TCP timestamps, or no sample), and total_retrans, which tcp_create_openreq_child()
 * sets to the request's num_retrans: its SYN-ACKs retransmitted.
 */
static __always_inline void handshake_done(const struct sock *sk, struct sk_st *st, int old)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 now = bpf_ktime_get_boot_ns();

	if (old == TT_TCP_SYN_SENT)
		st->hs_connect_us =
		    st->open_ts && now > st->open_ts ? (now - st->open_ts) / 1000 : 0;
	else
		st->hs_connect_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	st->hs_syn_retrans = BPF_CORE_READ(tp, total_retrans);
	if (old == TT_TCP_SYN_RECV)
		st->est_ts = now;
	st->hs = 1;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tt_set_state, const struct sock *sk, int oldstate, int newstate)
{
	struct sk_st *st;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	take_owner(sk, st);
	if (st->open == O_LISTEN) {
		/* listen() again, or its close: no longer a listener, never a connection */
		if (newstate != TT_TCP_LISTEN) {
			st->open = O_IGNORE;
			clear_unowned(st);
			ns_tcp_add(sk, -1);
		}
		return 0;
	}
	/* process context (close, shutdown): seen even when a later softirq change is skipped */
	if (newstate == TT_TCP_FIN_WAIT1 || newstate == TT_TCP_LAST_ACK) {
		st->fin_sent = 1;
		/* the owner closing it: an accepted socket no sweep has named yet is theirs */
		if (!st->pid_known && (st->open == O_OPEN || st->open == O_WAITPID))
			tcp_attribute(sk, st);
	}
	if (st->open == O_NONE) {
		/* a passive child is cloned from its listener: LISTEN -> SYN_RECV */
		if (newstate == TT_TCP_LISTEN) {
			/* listen(): the caller owns it; sampled from now on */
			if (!st->pid_known)
				own_by_current(st);
			st->open = O_LISTEN;
			ns_tcp_add(sk, 1);
			return 0;
		}
		if (oldstate == TT_TCP_LISTEN && newstate == TT_TCP_CLOSE) {
			st->open = O_IGNORE;
			return 0;
		}
		if (oldstate == TT_TCP_CLOSE && newstate == TT_TCP_SYN_SENT) {
			/* connect(): process context, the caller owns the socket */
			if (!st->pid_known)
				own_by_current(st);
			st->dir = TT_DIR_OUTBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PENDING;
			return 0;
		}
		if (newstate == TT_TCP_SYN_RECV) {
			/* passive open, softirq: the owner is whoever accept()s it */
			st->dir = TT_DIR_INBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PASSIVE;
			tcp_try_open(sk, st, newstate, 0);
			return 0;
		}
		if (oldstate == TT_TCP_SYN_RECV) {
			st->dir = TT_DIR_INBOUND;
		} else {
			st->preexisting = 1;
			st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND
									: TT_DIR_OUTBOUND;
		}
		tcp_try_open(sk, st, oldstate, newstate == TT_TCP_CLOSE);
	} else if (st->open == O_PENDING || st->open == O_PASSIVE) {
		tcp_try_open(sk, st, oldstate, newstate == TT_TCP_CLOSE);
	}
	if (newstate == TT_TCP_ESTABLISHED && !st->hs &&
	    (oldstate == TT_TCP_SYN_SENT || oldstate == TT_TCP_SYN_RECV))
		handshake_done(sk, st, oldstate);
	if (st->open != O_OPEN) {
		if (newstate == TT_TCP_CLOSE && st->open != O_IGNORE) {
			st->open = O_CLOSED;
			clear_unowned(st);
		}
		return 0;
	}
	emit_state(st, oldstate, newstate, 0);
	if (st->hs == 1)
		emit_handshake(st);
	if (newstate == TT_TCP_CLOSE)
		tcp_emit_close(sk, st, tcp_fail_reason(sk, st, oldstate));
	return 0;
}

/*
 * The kernel does not re-enter a running tracing program on the same CPU: a softirq that
 * closes a socket while tt_set_state runs in process context is skipped. The socket is still
 * destroyed, so its close is recorded here (the skipped runs are reported as LOST too).
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tt_destroy, struct sock *sk)
{
	struct sk_st *st;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (st && st->open == O_OPEN)
		tcp_emit_close(sk, st, tcp_fail_reason(sk, st, -1));
	return 0;
}

/* ------------------------------------------------------------ TCP events */

/* ICSK_TIME_LOSS_PROBE (include/net/inet_connection_sock.h): a define, not in BTF */
#define TT_ICSK_TIME_LOSS_PROBE 5

/*
 * Where the tracepoint has its own event with an err (6.18 has; 6.1 has the class
 * tcp_event_sk_skb), it also fires for a retransmit that failed, its error the third argument.
 */
#define RETRANS_HAS_ERR bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err)

/*
 * Why the kernel retransmits, read from the socket as the retransmit happens, in the
 * kernel's own classes (net/ipv4: tcp_timer.c, tcp_output.c), so each matches its counter:
 * - the retransmit timer (tcp_retransmit_timer) enters TCP_CA_Loss (tcp_enter_loss) before
 *   it resends, and the rest of that recovery resends in TCP_CA_Loss too; TCPTimeouts
 *   counts the timer, TCPSlowStartRetrans the others: cause RTO;
 * - tcp_xmit_retransmit_queue counts TCPFastRetrans for any state but TCP_CA_Loss
 *   (Recovery: fast retransmit, RACK, its reordering timer): cause FAST;
 * - the loss-probe timer runs tcp_send_loss_probe with icsk_pending still
 *   ICSK_TIME_LOSS_PROBE (tcp_write_timer_handler clears it only for the RTO and probe0
 *   timers), and only in Open or CWR; TCPLossProbes: cause TLP;
 * - SYN_SENT / SYN_RECV: the handshake's SYN (or a Fast Open SYN-ACK), counted apart.
 */
static __always_inline __u8 retrans_cause(const struct sock *sk, __u8 state)
{
	const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)sk;
	__u8 ca;

	if (state == TT_TCP_SYN_SENT || state == TT_TCP_SYN_RECV)
		return TT_RETRANS_SYN;
	ca = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
	if (ca == TCP_CA_Loss)
		return TT_RETRANS_RTO;
	if (ca != TCP_CA_Recovery && BPF_CORE_READ(icsk, icsk_pending) == TT_ICSK_TIME_LOSS_PROBE)
		return TT_RETRANS_TLP;
	return TT_RETRANS_FAST;
}

/* The segments the retransmitted skb holds: tcp_skb_pcount(), what TcpRetransSegs adds. */
static __always_inline __u32 retrans_segs(const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	struct skb_shared_info *sh = (struct skb_shared_info *)(head + BPF_CORE_READ(skb, end));
	__u16 segs = BPF_CORE_READ(sh, gso_segs);

	return segs ? segs : 1;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tt_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct sk_st *st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	struct tt_event *e;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	if (!st)
		return 0;
	/* a failed retransmit (-EBUSY: the original still in the host's queue) counts nowhere */
	if (RETRANS_HAS_ERR && (int)ctx[2])
		return 0;
	take_owner(sk, st);
	if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, state, 0);
	if (st->open != O_OPEN)
		return 0;
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return 0;
	e->u.retrans.segs = retrans_segs(skb);
	e->u.retrans.state = state;
	e->u.retrans.cause = retrans_cause(sk, state);
	ev_send(e);
	return 0;
}

static __always_inline int reset(const struct sock *sk, __u8 dir)
{
	struct sk_st *st;
	struct tt_event *e;
	__u8 state;

	if (!sk)
		return 0;
	st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	if (!st)
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	take_owner(sk, st);
	if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, state, 1);
	/*
	 * O_ENDED too: an abortive close() (SO_LINGER 0, unread data) sets TCP_CLOSE, which
	 * writes the close, before tcp_send_active_reset() sends the RST it ends with.
	 */
	if (st->open != O_OPEN && st->open != O_ENDED)
		return 0;
	e = ev_new(TT_EV_RESET, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return 0;
	e->u.reset.dir = dir;
	e->u.reset.state = state;
	ev_send(e);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tt_send_reset, const struct sock *sk)
{
	return reset(sk, TT_RST_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tt_recv_reset, struct sock *sk)
{
	return reset(sk, TT_RST_RECEIVED);
}

/*
 * A packet dropped with a reason (6.0+: the tracepoint's third argument). Not on the
 * send/receive path: kfree_skb fires for drops only (a consumed packet is consume_skb's).
 * NOT_SPECIFIED drops (and anything below it) say nothing and are left in the kernel. The
 * reason is the number; user space names it from this kernel's BTF.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tt_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct sock *sk;
	struct tt_event *e;
	__u64 id = 0;

	if ((__u32)reason <=
	    bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return 0;
	/* a closing socket's queues freed (6.8+): no traffic lost, and one per close */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE) &&
	    (__u32)reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE))
		return 0;
	sk = BPF_CORE_READ(skb, sk);
	if (sk) {
		/* the socket cookie is the connection id, made when the connection was opened */
		__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);

		if (cookie && bpf_map_lookup_elem(&tcp_live, &cookie))
			id = cookie;
	}
	/* a filter (-P, -p, ...) keeps the drops of the connections it records, as it keeps the
	 * process events of their owners: the host's other drops are not what was asked for, and
	 * a busy host's would take the ring buffer from the events that were */
	if (!id && any_filter())
		return 0;
	e = ev_new(TT_EV_DROP, id, 0, 0, 0, 0);
	if (!e)
		return 0;
	e->u.drop.code = reason;
	ev_send(e);
	return 0;
}

/*
 * An error reported on a socket (sk_error_report(): an ICMP error, a reset, a timeout), kept
 * for its close: an application may take it (SO_ERROR, a failed read) and clear sk_err
 * before it closes the socket, which is then the close (tcp_fail_reason()).
 */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(tt_sk_error, const struct sock *sk)
{
	struct sk_st *st;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	if (!st)
		return 0;
	/* an ICMP error while connect() held the socket is reported as a soft error */
	st->last_err = BPF_CORE_READ(sk, sk_err) ?: BPF_CORE_READ(sk, sk_err_soft);
	/* a failing connect(): open it while its local port is still set (its close may come
	 * from the application, after the port is released) */
	if (st->open == O_PENDING)
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
	return 0;
}

/* ------------------------------------------------------------ iterators */

/* The drops the kernel counted on this socket (sk_drops_read(): 6.18 keeps a UDP socket's in
 * per-NUMA counters, a TCP socket's in sk_drops). */
static __always_inline __u64 sock_drops(const struct sock *sk)
{
	__u64 n = (__u32)BPF_CORE_READ(sk, sk_drops.counter);

	if (bpf_core_field_exists(sk->sk_drop_counters)) {
		struct numa_drop_counters *dc = BPF_CORE_READ(sk, sk_drop_counters);

		if (dc)
			n += (__u32)BPF_CORE_READ(dc, drops0.counter) +
			     (__u32)BPF_CORE_READ(dc, drops1.counter);
	}
	return n;
}

/* A listener's queue and drops, written when first seen and when one of them changed. */
static __always_inline void listener_sample(const struct sock *sk, struct sk_st *st)
{
	__u32 q = BPF_CORE_READ(sk, sk_ack_backlog);
	__u32 max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	__u64 drops = sock_drops(sk);
	struct tt_event *e;
	struct tuple t;

	/* the owner too: a listener made before the capture is named by the sweep after */
	if (st->l_seen && q == st->l_queue && max == st->l_max && drops == st->l_drops &&
	    st->pid == st->l_pid)
		return;
	read_tuple(sk, &t);
	if (!net_match(IPPROTO_TCP, t.family, t.lport, 0))
		return;
	if (proc_filter_active() &&
	    (!st->pid_known || !proc_match(st->pid, st->comm, st->cgroup_id)))
		return;
	e = ev_new(TT_EV_LISTENER, 0, st->pid, st->tid, 0, 0);
	if (!e)
		return; /* counted lost; the next pass tries again */
	__builtin_memcpy(e->u.listener.laddr, t.laddr, TT_ADDR_LEN);
	e->u.listener.lport = t.lport;
	e->u.listener.family = t.family;
	e->u.listener.netns = sk_netns(sk);
	e->u.listener.accept_queue = q;
	e->u.listener.accept_queue_max = max;
	e->u.listener.drops = drops;
	__builtin_memcpy(e->u.listener.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	st->l_queue = q;
	st->l_max = max;
	st->l_drops = drops;
	st->l_pid = st->pid;
	st->l_seen = 1;
}

/* Sampling pass over the TCP sockets of this netns: deltas, TCP state and stalls that changed. */
SEC("iter/tcp")
int tt_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sock *sk;
	struct sk_st *st;
	struct tcp_counters c;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = (struct sock *)tp;
	st = bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	take_owner(sk, st);
	if (st->open == O_NONE)
		tcp_first_sight(sk, st);
	else if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
	if (st->open == O_LISTEN) {
		listener_sample(sk, st);
		return 0;
	}
	if (st->open != O_OPEN)
		return 0;
	read_counters(sk, st, &c);
	if (!raw_mode) {
		live_note(sk, st, &c, 0);
		emit_delta(st, &c, 1);
	} else {
		raw_flush(st, 0); /* calls made since the socket's last record */
		raw_totals(st, &c);
		live_note(sk, st, &c, 0);
	}
	tcp_emit_spurious(sk, st);
	/* a SAMPLE carries srtt and rttvar: no RTT event (older captures have those) */
	tcp_look(sk, st, bpf_ktime_get_boot_ns(), 0);
	return 0;
}

/* Owners only, between samples: what a process filter waits for (see owners_wanted). */
SEC("iter/tcp")
int tt_iter_owner(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sk_st *st;

	if (!skc || !owners_n)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	st = bpf_sk_storage_get(&socks, tp, 0, 0);
	if (st)
		take_owner((struct sock *)tp, st);
	return 0;
}
