// SPDX-License-Identifier: GPL-2.0
/*
 * UDP counted per datagram at the cgroup skb hooks, the default mode's route. A program on
 * sock_{send,recv}_length (or fexit on inet_*msg) runs for every send and receive of the
 * machine, TCP's too: ~4% more CPU on 100-byte TCP writes with nothing to count. These hooks
 * run per packet: a bulk TCP transfer makes ~190 times fewer packets than 100-byte writes
 * (3.3K segments for 629K writes of iperf3 -l 100 -n 60M), and a TCP packet costs them one
 * header byte. The packet itself names both ends, so unconnected sockets need no peer stash.
 *
 * Sent datagrams are counted as UDP hands them to IP, received ones as they reach the socket:
 * a datagram later dropped for a full receive buffer is counted (the kernel counts the drop).
 * Owners: the creator (cgroup/sock_create), else whoever sends or receives with an address
 * (udp.bpf.c's cgroup sendmsg/recvmsg hooks), else the file-table sweep.
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "sock.bpf.h"
#include "flow.bpf.h"

/* built twice: for 5.12 and later, and for the kernels before (-DTT_K510, flow.bpf.h) */
#ifdef TT_K510
#define TT_PROG_NAME(n) n##_k510
#else
#define TT_PROG_NAME(n) n
#endif

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/*
 * The network namespace of a socket the cgroup hooks hold as a struct bpf_sock, which allows
 * no field access beyond its own: the first bytes of the struct sock behind it are read, and
 * the namespace pointer taken at its CO-RE offset. Once per socket.
 */
static __always_inline __u32 bsk_netns(struct bpf_sock *bsk)
{
	__u8 head[128];
	__u32 off = bpf_core_field_offset(struct sock, __sk_common.skc_net);
	struct net *net;

	if (off + sizeof(net) > sizeof(head))
		return 0;
	if (bpf_probe_read_kernel(head, off + sizeof(net), bsk))
		return 0;
	__builtin_memcpy(&net, head + off, sizeof(net));
	return BPF_CORE_READ(net, ns.inum);
}

/* The owner the file-table sweep left for this socket, if any (see take_owner). */
static __always_inline void take_swept_owner(struct bpf_sock *bsk, struct sk_st *st)
{
	__u64 key = (__u64)bsk;
	struct owner *o;

	if (!owners_n)
		return;
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o || o->lport != bsk->src_port)
		return;
	own_by(st, o);
	if (bpf_map_delete_elem(&owners, &key) == 0)
		__sync_fetch_and_add(&owners_n, -1);
}

/* Whether the datagram's remote end t is the one the socket is connected to (a connected socket
 * may still sendto() another). */
static __always_inline int bsk_peer_is(struct bpf_sock *bsk, const struct tuple *t)
{
	__u8 a[TT_ADDR_LEN] = {};
	__u8 fam;

	if (bpf_ntohs(bsk->dst_port) != t->rport)
		return 0;
	if (bsk->family == AF_INET6) {
		__u32 w[4] = {bsk->dst_ip6[0], bsk->dst_ip6[1], bsk->dst_ip6[2], bsk->dst_ip6[3]};

		fam = put_v6(a, (const __u8 *)w);
	} else {
		__u32 w = bsk->dst_ip4;

		__builtin_memcpy(a, &w, 4);
		fam = TT_FAMILY_IPV4;
	}
	return fam == t->family && addr_eq(a, t->raddr);
}

/* The flow of this datagram (now: its time), made and announced on its first one. */
static __always_inline struct tt_flow_val *pkt_flow(struct bpf_sock *bsk, struct sk_st *st,
						    const struct tuple *t, __u64 cookie, int tx,
						    __u64 now)
{
	struct tt_flow_key k = {};
	struct tt_flow_val *fv;
	int connected = 0, again;

	k.cookie = cookie;
	__builtin_memcpy(k.raddr, t->raddr, TT_ADDR_LEN);
	k.rport = t->rport;
	k.family = t->family;
	if (bsk->state == TT_TCP_ESTABLISHED) {
		connected = bsk_peer_is(bsk, t);
		if (connected)
			udp_conn_key(st, &k);
	} else if (st->conn_fam) {
		udp_conn_end(st, cookie); /* disconnected (connect(AF_UNSPEC)) */
	}
	fv = flow_find(&k, connected, now, &again);
	if (fv || again < 0)
		return fv;

	if (!st->pid_known)
		take_swept_owner(bsk, st);
	if (!st->netns)
		st->netns = bsk_netns(bsk);
	return flow_add(&k, st, t, connected, tx, st->pid_known ? 0 : TT_F_PID_UNKNOWN, st->netns,
			again);
}

/* A flow announced before its socket's owner was known gets it with its next datagram. */
static __always_inline void pkt_flow_owner(struct tt_flow_val *fv, const struct sk_st *st)
{
	if (!st->pid_known || fv->pid == st->pid)
		return;
	fv->pid = st->pid;
	emit_proc(fv->id, st);
}

static __always_inline void udp_skb(struct __sk_buff *skb, int tx)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct udphdr *uh;
	struct bpf_sock *bsk;
	struct tt_flow_val *fv;
	struct sk_st *st;
	struct tuple t;
	__u32 hl, len;
	__u64 now;

	/* every packet of the machine comes here: a TCP one leaves after one header byte */
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
			return;
		hl = ip->ihl * 4;
		if (hl < sizeof(*ip))
			return;
		__builtin_memset(&t, 0, sizeof(t));
		__builtin_memcpy(tx ? t.laddr : t.raddr, &ip->saddr, 4);
		__builtin_memcpy(tx ? t.raddr : t.laddr, &ip->daddr, 4);
		t.family = TT_FAMILY_IPV4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return;
		hl = sizeof(*ip6);
		__builtin_memset(&t, 0, sizeof(t));
		t.family = put_v6(tx ? t.laddr : t.raddr, (const __u8 *)&ip6->saddr);
		put_v6(tx ? t.raddr : t.laddr, (const __u8 *)&ip6->daddr);
	} else {
		return;
	}
	uh = data + hl;
	if ((void *)(uh + 1) > end || skb->len < hl + sizeof(*uh))
		return;
	bsk = skb->sk;
	if (!bsk)
		return;
	bsk = bpf_sk_fullsock(bsk);
	if (!bsk || bsk->type != SOCK_DGRAM || bsk->protocol != IPPROTO_UDP)
		return;
	t.lport = bpf_ntohs(tx ? uh->source : uh->dest);
	t.rport = bpf_ntohs(tx ? uh->dest : uh->source);
	len = skb->len - hl - sizeof(*uh);
	st = sk_st_get(bsk);
	if (!st)
		return;
	now = bpf_ktime_get_boot_ns();
	fv = pkt_flow(bsk, st, &t, bpf_get_socket_cookie(skb), tx, now);
	if (!fv || fv->verdict != TT_V_PASS)
		return;
	/* in the flow flow_current claimed for it: user space closes none a claim may still
	 * count in (source/udp.c, flow_close) */
	flow_count(fv, tx, len);
	pkt_flow_owner(fv, st);
}

SEC("cgroup_skb/egress")
int TT_PROG_NAME(tt_udp_out)(struct __sk_buff *skb)
{
	udp_skb(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int TT_PROG_NAME(tt_udp_in)(struct __sk_buff *skb)
{
	udp_skb(skb, 0);
	return 1;
}

#ifdef TT_K510
/*
 * Before Linux 5.14 a hash map's entry cannot be read and taken out in one step
 * (BPF_MAP_LOOKUP_AND_DELETE_ELEM): a close by user space could delete a flow a datagram was
 * moving, and the new flow it made. So user space does not delete an idle flow there: it runs
 * this program (never attached: BPF_PROG_TEST_RUN) to move it aside as a datagram would, under
 * the same lock, and closes it where no datagram looks (source/udp.c, flow_reap).
 */
SEC("cgroup_skb/egress")
int TT_PROG_NAME(tt_udp_reap)(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct tt_flow_key *k = bpf_map_lookup_elem(&udp_reap, &zero), key;
	struct tt_flow_val *fv;
	__u64 now = bpf_ktime_get_boot_ns(), last, was;

	if (!k)
		return 1;
	key = *k;
	fv = bpf_map_lookup_elem(&flows, &key);
	if (!fv)
		return 1;
	last = fv->last_ts;
	if (!(last & TT_FLOW_MOVED) && flow_over(fv, last, now))
		flow_move(&key, fv, last, now, &was);
	return 1;
}
#endif

#ifndef TT_K510 /* (one for every kernel: it has no atomics) */
/* A UDP socket's creator owns it. */
SEC("cgroup/sock_create")
int tt_sock_create(struct bpf_sock *ctx)
{
	struct sk_st *st;

	if (ctx->type != SOCK_DGRAM || ctx->protocol != IPPROTO_UDP)
		return 1;
	st = sk_st_get(ctx);
	if (!st)
		return 1;
	own_by_current(st);
	return 1;
}
#endif
