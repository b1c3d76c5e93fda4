// SPDX-License-Identifier: GPL-2.0
/*
 * Processes and owners: exec and exit, the accept tracepoints, and the sweep of the
 * file tables.
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "filter.bpf.h"
#include "sock.bpf.h"

/* ------------------------------------------------------------ processes */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tt_exec, struct task_struct *p)
{
	struct tt_event *e;
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!proc_events_wanted(tgid))
		return 0;
	e = ev_new(TT_EV_PROC_EXEC, 0, tgid, BPF_CORE_READ(p, pid), 0, 0);
	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->u.proc.comm, p, comm);
	e->u.proc.ppid = BPF_CORE_READ(p, real_parent, tgid);
	ev_send(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tt_exit, struct task_struct *p)
{
	struct tt_event *e;
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (BPF_CORE_READ(p, pid) != tgid || !proc_events_wanted(tgid))
		return 0;
	if (any_filter())
		bpf_map_delete_elem(&tgids, &tgid);
	e = ev_new(TT_EV_PROC_EXIT, 0, tgid, tgid, 0, 0);
	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->u.proc.comm, p, comm);
	e->u.proc.ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->u.proc.exit_code = BPF_CORE_READ(p, exit_code);
	ev_send(e);
	return 0;
}

/* ------------------------------------------------------------ accept */

/*
 * accept()/accept4() returned fd: the caller owns the connection behind it.
 * Classic tracepoint: the socket is reached through CO-RE reads only, so the
 * owner goes into "owners" for the programs that can touch socket storage.
 */
static __always_inline int accepted(long fd)
{
	struct sock *sk = fd_tcp_sock(bpf_get_current_task_btf(), fd);
	struct owner own = {};
	struct tuple t;
	__u64 key, pt, cookie;
	__u8 state;
	__u16 fam;

	if (!sk)
		return 0;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if ((fam != AF_INET && fam != AF_INET6) || state == TT_TCP_CLOSE || state == TT_TCP_LISTEN)
		return 0;
	read_tuple(sk, &t);
	if (!net_match(IPPROTO_TCP, t.family, t.lport, t.rport))
		return 0;
	pt = bpf_get_current_pid_tgid();
	own.pid = pt >> 32;
	own.tid = (__u32)pt;
	own.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(own.comm, sizeof(own.comm));
	own.lport = t.lport;
	own.rport = t.rport;
	own.accept_ts = bpf_ktime_get_boot_ns();
	/* reported under its cookie once it has one: say whose it is right away */
	cookie = proc_filter_active() ? 0 : BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	own.announced = cookie != 0;
	/*
	 * Stored before the CONN_PROC is reserved: an open whose event is reserved after this
	 * one (its cookie was set, its open not yet sent) finds the owner and says it again after
	 * itself (owner_after_open), so no reader meets the owner only before the connection.
	 */
	key = (__u64)sk;
	if (bpf_map_update_elem(&owners, &key, &own, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&owners_n, 1);
	else
		bpf_map_update_elem(&owners, &key, &own, BPF_ANY);
	if (proc_filter_active() && proc_match(own.pid, own.comm, own.cgroup_id))
		__sync_fetch_and_add(&owners_wanted, 1);
	if (cookie) {
		struct tt_event *e = ev_new(TT_EV_CONN_PROC, cookie, own.pid, own.tid, 0, 0);

		if (e) {
			__builtin_memcpy(e->u.proc.comm, own.comm, TT_COMM_LEN);
			ev_send(e);
			note_owner(own.pid);
		} else {
			/* not said (counted lost): the socket's next program says it */
			own.announced = 0;
			bpf_map_update_elem(&owners, &key, &own, BPF_EXIST);
		}
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tt_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tt_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx->ret);
}

/* A TCP socket that is an open connection whose owner is known: its tcp_live entry has the
 * pid. */
static __always_inline int tcp_owner_known(const struct sock *sk)
{
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	struct tt_tcp_live *v;

	if (!cookie)
		return 0;
	v = bpf_map_lookup_elem(&tcp_live, &cookie);
	return v && v->pid;
}

/*
 * At start: owners of the TCP sockets that already exist, and their names. Later,
 * while connections of unknown owner remain (accept tracepoints missing,
 * io_uring accept): owners of those.
 * The socket behind a file is an untrusted pointer to some verifiers (6.18 builds refuse it
 * for socket storage), so the owner goes into "owners" under the socket's address, like the
 * accept tracepoints do, and iter/tcp (which holds the socket) applies it right after.
 */
SEC("iter/task_file")
int tt_iter_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owner own = {};
	struct socket *sock;
	struct sock *sk;
	struct tt_event *e;
	struct tuple t;
	__u64 key;
	__u16 fam, proto;
	__u8 state;
	int known;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	proto = BPF_CORE_READ(sk, sk_protocol);
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (fam != AF_INET && fam != AF_INET6)
		return 0;
	/* UDP: sockets made before the capture, whose datagrams udp_skb.bpf.c counts */
	if (proto == IPPROTO_UDP) {
		if (!udp_by_packet || BPF_CORE_READ(sk, sk_type) != SOCK_DGRAM)
			return 0;
	} else if (proto != IPPROTO_TCP || state == TT_TCP_CLOSE) {
		/* a listener too: its owner is the LISTENER records' */
		return 0;
	}
	own.pid = BPF_CORE_READ(task, tgid);
	known = proto == IPPROTO_TCP && tcp_owner_known(sk);
	/* the files of one process come one after another: a connection whose owner is known, of
	 * the process the file before named and noted, has nothing left for a sweep to do (at
	 * 100 000 connections, nearly every file; the reads below were a twentieth of a pass) */
	if (known && own.pid == iter_last_tgid)
		return 0;
	own.tid = BPF_CORE_READ(task, pid);
	own.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&own.comm, task, comm);
	read_tuple(sk, &t);
	own.lport = t.lport;
	own.rport = t.rport;
	own.swept = 1;
	key = (__u64)sk;
	/* an accept tracepoint's entry names the same owner, and may have announced it; an open
	 * connection whose owner is known (its tcp_live entry has it) keeps it (take_owner), so
	 * none is left for it: at 100 000 connections each pass after a sweep otherwise looked at
	 * every one of them again, and the LRU map of 32 768 churned */
	if (!known && bpf_map_update_elem(&owners, &key, &own, BPF_NOEXIST) == 0) {
		__sync_fetch_and_add(&owners_n, 1);
		if (state != TT_TCP_LISTEN)
			__sync_fetch_and_add(&sweep_conns, 1);
	}
	if (any_filter()) {
		/* with a filter, names only of the processes whose sockets pass it */
		if (!net_match(proto, t.family, t.lport, t.rport) ||
		    (proc_filter_active() && !proc_match(own.pid, own.comm, own.cgroup_id)))
			return 0;
		note_owner(own.pid);
	}
	if (own.pid == iter_last_tgid)
		return 0;
	iter_last_tgid = own.pid;
	e = ev_new(TT_EV_PROC_NAME, 0, own.pid, own.pid, 0, 0);
	if (!e)
		return 0;
	__builtin_memcpy(e->u.proc.comm, own.comm, TT_COMM_LEN);
	e->u.proc.ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev_send(e);
	return 0;
}
