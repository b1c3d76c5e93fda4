// SPDX-License-Identifier: GPL-2.0
/*
 * TCP's retransmits and resets for the sock_diag fallback, where the BPF source does not load
 * (Linux 5.10: no atomic fetch, no socket storage in tracing programs). They run beside
 * sock_diag (tt_src_open_assist), which sees every TCP connection at its polls and nothing
 * between them: these tell each retransmit with its cause and each reset as it happens.
 *
 * No state of their own: a connection is named by its socket's cookie, which inet_diag made
 * when a poll dumped the socket (0 before any did: such a socket is not one sock_diag follows
 * yet, and its event is not written). Its owner and its open are sock_diag's. A retransmit
 * carries the socket's total_retrans with it, so that user space counts each one once
 * whether its poll or its event comes first (source/sd_diff.c).
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "retrans.bpf.h"

static __always_inline __u64 sk_cookie(const struct sock *sk)
{
	return sk ? BPF_CORE_READ(sk, __sk_common.skc_cookie.counter) : 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tt_retrans_k510, const struct sock *sk, const struct sk_buff *skb)
{
	__u64 id = sk_cookie(sk);
	struct tt_event *e;
	__u8 state;

	/* a retransmit that failed (where the tracepoint says): the poll counts it, cause unknown
	 */
	if (!id || (RETRANS_HAS_ERR && (int)ctx[2]))
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e = ev_new(TT_EV_RETRANS, id, 0, 0, 0, 0);
	if (!e)
		return 0;
	e->u.retrans.segs = retrans_segs(skb);
	e->u.retrans.state = state;
	e->u.retrans.cause = retrans_cause(sk, state);
	/* the kernel has counted this one already (__tcp_retransmit_skb, under the socket's lock)
	 */
	e->u.retrans.total = BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
	ev_send(e);
	return 0;
}

static __always_inline int reset_k510(const struct sock *sk, __u8 dir)
{
	__u64 id = sk_cookie(sk);
	struct tt_event *e;

	if (!id)
		return 0;
	e = ev_new(TT_EV_RESET, id, 0, 0, 0, 0);
	if (!e)
		return 0;
	e->u.reset.dir = dir;
	e->u.reset.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ev_send(e);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tt_send_reset_k510, const struct sock *sk)
{
	return reset_k510(sk, TT_RST_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tt_recv_reset_k510, struct sock *sk)
{
	return reset_k510(sk, TT_RST_RECEIVED);
}
