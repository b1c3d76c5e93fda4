// SPDX-License-Identifier: GPL-2.0
/*
 * TCP: the lifecycle from the state-change tracepoint, retransmits, resets, and the
 * sampling iterators over the TCP sockets of a namespace.
 */
#include "tcptop.bpf.h"

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
	/* process context (close, shutdown): seen even when a later softirq change is skipped */
	if (newstate == TT_TCP_FIN_WAIT1 || newstate == TT_TCP_LAST_ACK) {
		st->fin_sent = 1;
		/* the owner closing it: an accepted socket no sweep has named yet is theirs */
		if (!st->pid_known && (st->open == O_OPEN || st->open == O_WAITPID))
			tcp_attribute(sk, st);
	}
	if (st->open == O_NONE) {
		/* a passive child is cloned from its listener: LISTEN -> SYN_RECV */
		if (newstate == TT_TCP_LISTEN ||
		    (oldstate == TT_TCP_LISTEN && newstate == TT_TCP_CLOSE)) {
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
	if (st->open != O_OPEN) {
		if (newstate == TT_TCP_CLOSE && st->open != O_IGNORE) {
			st->open = O_CLOSED;
			clear_unowned(st);
		}
		return 0;
	}
	emit_state(st, oldstate, newstate, 0);
	if (newstate == TT_TCP_CLOSE)
		tcp_emit_close(sk, st);
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
		tcp_emit_close(sk, st);
	return 0;
}

/* ------------------------------------------------------------ TCP events */

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tt_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct sk_st *st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	struct tt_event *e;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	if (!st)
		return 0;
	take_owner(sk, st);
	if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, state, 0);
	if (st->open != O_OPEN)
		return 0;
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return 0;
	e->u.retrans.segs = 1;
	e->u.retrans.state = state;
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

/* ------------------------------------------------------------ iterators */

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
