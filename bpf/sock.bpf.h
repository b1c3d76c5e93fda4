/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a socket, for every part: its ends (family, addresses, ports), its network namespace,
 * and its owner taken from the task at hand.
 */
#ifndef TT_SOCK_BPF_H
#define TT_SOCK_BPF_H

#include "maps.bpf.h"

struct tuple {
	__u8 laddr[TT_ADDR_LEN];
	__u8 raddr[TT_ADDR_LEN];
	__u16 lport;
	__u16 rport;
	__u8 family;
};

/*
 * The socket's storage, made on its first use. Two CPUs making it at once (a socket's first two
 * datagrams, in on both): bpf_sk_storage_get() makes it for one and gives the other NULL (its
 * -EEXIST inside), which would drop that one's event; that one takes the storage the first made.
 */
static __always_inline struct sk_st *sk_st_get(void *sk)
{
	struct sk_st *st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	return st ? st : bpf_sk_storage_get(&socks, sk, 0, 0);
}

static __always_inline int is_v4mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

/* An IPv6 address into family + 16 bytes, v4-mapped reported as IPv4. */
static __always_inline __u8 put_v6(__u8 *dst, const __u8 *src)
{
	if (is_v4mapped(src)) {
		__builtin_memcpy(dst, src + 12, 4);
		return TT_FAMILY_IPV4;
	}
	__builtin_memcpy(dst, src, TT_ADDR_LEN);
	return TT_FAMILY_IPV6;
}

static __always_inline void read_tuple(const struct sock *sk, struct tuple *t)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (fam == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(t->laddr, &l, 4);
		__builtin_memcpy(t->raddr, &r, 4);
		t->family = TT_FAMILY_IPV4;
	} else {
		__u8 l[16], r[16];

		BPF_CORE_READ_INTO(&l, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&r, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		t->family = put_v6(t->laddr, l);
		/* a v6 socket talking v4 has both sides mapped: keep them consistent */
		if (put_v6(t->raddr, r) != t->family && t->family == TT_FAMILY_IPV4)
			__builtin_memcpy(t->raddr, r + 12, 4);
	}
}

/*
 * The TCP stream socket behind a task's fd (accept()'s return), or NULL: through CO-RE reads
 * only, so a task from bpf_get_current_task() (5.10) serves as one from its _btf form (5.11).
 */
static __always_inline struct sock *fd_tcp_sock(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct sock *sk;

	if (fd < 0 || !fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return NULL;
	return sk;
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void own_by_current(struct sk_st *st)
{
	__u64 pt = bpf_get_current_pid_tgid();

	st->pid = pt >> 32;
	st->tid = (__u32)pt;
	st->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(st->comm, sizeof(st->comm));
	st->pid_known = 1;
}

/* The owner the accept tracepoints or the file-table sweep left in "owners". */
static __always_inline void own_by(struct sk_st *st, const struct owner *o)
{
	st->pid = o->pid;
	st->tid = o->tid;
	st->cgroup_id = o->cgroup_id;
	__builtin_memcpy(st->comm, o->comm, TT_COMM_LEN);
	st->pid_known = 1;
}

static __always_inline int addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, TT_ADDR_LEN);
	__builtin_memcpy(y, b, TT_ADDR_LEN);
	return x[0] == y[0] && x[1] == y[1];
}

#endif /* TT_SOCK_BPF_H */
