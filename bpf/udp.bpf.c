// SPDX-License-Identifier: GPL-2.0
/*
 * UDP: flows summed per socket and remote from the per-call send/recv hooks, the peers
 * of unconnected sockets from the cgroup hooks, and the live sockets for closing flows.
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "sock.bpf.h"
#include "flow.bpf.h"
#include "tcp_sock.bpf.h"
#include "stage.bpf.h"

/* ------------------------------------------------------------ UDP */

static __always_inline void udp_flow_key(const struct sock *sk, struct sk_st *st, int tx,
					 struct tt_flow_key *k, int *connected)
{
	__u8 fam = tx ? st->snd_fam : st->rcv_fam;
	struct tuple t;

	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = bpf_get_socket_cookie((struct sock *)sk);
	*connected = 0;
	if (fam) {
		/* the cgroup hook saw this call's peer (a sendto(), or any recvfrom()) */
		if (tx) {
			__builtin_memcpy(k->raddr, st->snd_addr, TT_ADDR_LEN);
			k->rport = st->snd_port;
			st->snd_fam = 0;
		} else {
			__builtin_memcpy(k->raddr, st->rcv_addr, TT_ADDR_LEN);
			k->rport = st->rcv_port;
			st->rcv_fam = 0;
		}
		k->family = fam;
	}
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TT_TCP_ESTABLISHED) {
		udp_conn_end(st, k->cookie); /* disconnected (connect(AF_UNSPEC)), if it was */
		return;
	}
	read_tuple(sk, &t);
	/* a connected socket's call to another peer than its own: not its connection */
	if (fam && (fam != t.family || k->rport != t.rport || !addr_eq(k->raddr, t.raddr)))
		return;
	__builtin_memcpy(k->raddr, t.raddr, TT_ADDR_LEN);
	k->rport = t.rport;
	k->family = t.family;
	*connected = 1;
	udp_conn_key(st, k);
}

/* The flow of this call (now: its time), made and announced on its first one. */
static __always_inline struct tt_flow_val *udp_flow(const struct sock *sk, struct sk_st *st, int tx,
						    __u64 now)
{
	struct tt_flow_key k;
	struct tt_flow_val *fv;
	struct tuple t;
	int connected, again;

	udp_flow_key(sk, st, tx, &k, &connected);
	fv = flow_find(&k, connected, now, &again);
	if (fv || again < 0)
		return fv;

	read_tuple(sk, &t);
	if (k.family) {
		__builtin_memcpy(t.raddr, k.raddr, TT_ADDR_LEN);
		t.rport = k.rport;
		if (!connected && t.family != k.family) {
			/* dual-stack socket bound to :: talking to one side only */
			t.family = k.family;
		}
	} else {
		__builtin_memset(t.raddr, 0, TT_ADDR_LEN);
		t.rport = 0;
	}
	return flow_add(&k, st, &t, connected, tx, st->preexisting ? TT_F_PREEXISTING : 0,
			sk_netns(sk), again);
}

/* --raw (--raw-slice 0 for TCP): one call as its own record; a UDP call is also a datagram. */
static __always_inline void raw_call(__u64 id, const struct sk_st *st, int tx, int len, int pkt)
{
	struct tt_event *e = ev_new(TT_EV_TRAFFIC, id, st->pid, st->tid, TT_F_RAW, 0);

	if (!e)
		return;
	if (tx) {
		e->u.traffic.tx_bytes = len;
		e->u.traffic.tx_pkts = pkt;
		e->u.traffic.tx_calls = 1;
	} else {
		e->u.traffic.rx_bytes = len;
		e->u.traffic.rx_pkts = pkt;
		e->u.traffic.rx_calls = 1;
	}
	ev_send(e);
}

static __always_inline void udp_io(const struct sock *sk, struct sk_st *st, int tx, int len)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct tt_flow_val *fv = udp_flow(sk, st, tx, now);

	if (!fv || fv->verdict != TT_V_PASS)
		return;
	flow_count(fv, tx, len);
	if (raw_mode)
		raw_call(fv->id, st, tx, len, 1);
}

/* ------------------------------------------------------------ send / recv */

static __always_inline int sock_io(struct sock *sk, int ret, int flags, int tx)
{
	struct sk_st *st;
	__u64 now, sum;
	__u16 proto;

	if (ret <= 0 || (!tx && (flags & MSG_PEEK)))
		return 0;
	/* runs on every send/recv of the machine: plain loads, no helper calls */
	proto = sk->sk_protocol;
	if (proto == IPPROTO_TCP) {
		/* the default mode: the kernel counts TCP bytes, nothing to do per call */
		if (!raw_mode)
			return 0;
		st = sk_st_get(sk);
		if (!st)
			return 0;
		if (st->open == O_NONE)
			tcp_first_sight(sk, st);
		if (!st->pid_known) {
			take_owner(sk, st);
			if (!st->pid_known)
				tcp_attribute(sk, st);
		}
		if (st->open != O_OPEN && st->open != O_ENDED)
			return 0;
		/* after the close (the receive queue read once the state is CLOSE): one record per
		 * call, as no pass or close writes sums any more */
		if (!raw_slice_ns || st->open == O_ENDED) {
			/* staged while open; after the close straight to the ring buffer, behind it
			 */
			if (!raw_stage || st->open != O_OPEN || !stage_call(st, tx, ret))
				raw_call(st->id, st, tx, ret, 0);
			/* after the reservation, as in raw_flush */
			__sync_fetch_and_add(tx ? &st->raw_tx_done : &st->raw_rx_done, ret);
			return 0;
		}
		/*
		 * Summed, a record per slice (a record per call cost 1.45x CPU on 100-byte writes):
		 * the first call after a slice writes the calls before it, stamped with the last of
		 * them, and begins the next slice. A socket gone quiet is written by the sampling
		 * pass or its close.
		 */
		now = bpf_ktime_get_boot_ns();
		if (now - st->raw_flush_ts >= raw_slice_ns) {
			st->raw_flush_ts = now;
			raw_flush(st, 0);
		}
		st->raw_call_ts = now;
		sum =
		    __sync_fetch_and_add(tx ? &st->raw_tx : &st->raw_rx, TT_RAW_CALL | (__u32)ret);
		/* a close on another CPU may have taken the sums before this add (the add is
		 * ordered before this load, the close's state change before its take) */
		if (tt_raw_near_full(sum) || *(volatile __u64 *)&st->open != O_OPEN)
			raw_flush(st, 1);
		return 0;
	}
	if (proto != IPPROTO_UDP || BPF_CORE_READ(sk, sk_type) != SOCK_DGRAM)
		return 0;
	st = sk_st_get(sk);
	if (!st)
		return 0;
	if (!st->pid_known)
		own_by_current(st);
	udp_io(sk, st, tx, ret);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tt_send, struct sock *sk, int ret, int flags)
{
	return sock_io(sk, ret, flags, 1);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tt_recv, struct sock *sk, int ret, int flags)
{
	return sock_io(sk, ret, flags, 0);
}

/*
 * The same where those tracepoints (Linux 6.3) are missing: fexit on the inet socket calls
 * every TCP and UDP sendmsg/recvmsg goes through. User space loads one set or the other.
 */
SEC("fexit/inet_sendmsg")
int BPF_PROG(tt_send_inet, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return sock_io(sock->sk, ret, 0, 1);
}

SEC("fexit/inet6_sendmsg")
int BPF_PROG(tt_send_inet6, struct socket *sock, struct msghdr *msg, size_t size, int ret)
{
	return sock_io(sock->sk, ret, 0, 1);
}

SEC("fexit/inet_recvmsg")
int BPF_PROG(tt_recv_inet, struct socket *sock, struct msghdr *msg, size_t size, int flags, int ret)
{
	return sock_io(sock->sk, ret, flags, 0);
}

SEC("fexit/inet6_recvmsg")
int BPF_PROG(tt_recv_inet6, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return sock_io(sock->sk, ret, flags, 0);
}

/* Cookies of the live UDP sockets: user space closes the flows of the others. */
SEC("iter/udp")
int tt_iter_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *up = ctx->udp_sk;
	__u64 cookie;

	if (!up)
		return 0;
	cookie = bpf_get_socket_cookie(up);
	bpf_seq_write(ctx->meta->seq, &cookie, sizeof(cookie));
	return 0;
}

/* ------------------------------------------------------------ UDP peers */

static __always_inline int stash_peer(struct bpf_sock_addr *ctx, int tx, int v6)
{
	struct sk_st *st;
	__u8 a[TT_ADDR_LEN] = {};
	__u8 fam;

	if (!ctx->sk)
		return 1;
	st = sk_st_get(ctx->sk);
	if (!st)
		return 1;
	/* a socket made before the capture: its user is its owner (udp_skb.bpf.c) */
	if (!st->pid_known)
		own_by_current(st);
	if (v6) {
		__u32 w[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
			      ctx->user_ip6[3]};

		fam = put_v6(a, (const __u8 *)w);
	} else {
		__u32 w = ctx->user_ip4;

		__builtin_memcpy(a, &w, 4);
		fam = TT_FAMILY_IPV4;
	}
	if (tx) {
		__builtin_memcpy(st->snd_addr, a, TT_ADDR_LEN);
		st->snd_port = bpf_ntohs(ctx->user_port);
		st->snd_fam = fam;
	} else {
		__builtin_memcpy(st->rcv_addr, a, TT_ADDR_LEN);
		st->rcv_port = bpf_ntohs(ctx->user_port);
		st->rcv_fam = fam;
	}
	return 1;
}

SEC("cgroup/sendmsg4")
int tt_sendmsg4(struct bpf_sock_addr *ctx)
{
	return stash_peer(ctx, 1, 0);
}

SEC("cgroup/sendmsg6")
int tt_sendmsg6(struct bpf_sock_addr *ctx)
{
	return stash_peer(ctx, 1, 1);
}

SEC("cgroup/recvmsg4")
int tt_recvmsg4(struct bpf_sock_addr *ctx)
{
	return stash_peer(ctx, 0, 0);
}

SEC("cgroup/recvmsg6")
int tt_recvmsg6(struct bpf_sock_addr *ctx)
{
	return stash_peer(ctx, 0, 1);
}
