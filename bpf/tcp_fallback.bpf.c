// SPDX-License-Identifier: GPL-2.0
/*
 * TCP for the sock_diag fallback, where the BPF source does not load (Linux 5.10: no atomic
 * fetch, no socket storage in tracing programs). They run beside sock_diag
 * (tt_src_open_assist), which sees every TCP connection at its polls and nothing between them:
 * these tell each state change, the close with the socket's last counters and why it failed,
 * each retransmit with its cause, each reset and the handshake, as they happen.
 *
 * A connection is named by its socket's cookie, which inet_diag made when a poll dumped the
 * socket (0 before any did: such a socket is not one sock_diag follows yet, and its event is
 * not written), and its owner and open are sock_diag's; but for one no poll saw before its
 * close (opened and closed between two polls, or a connect() that failed), written whole at
 * its close from its start (k510_starts) under an id of its own. A retransmit carries the
 * socket's total_retrans with it, so that user space counts each one once whether its poll or
 * its event comes first (source/sd_diff.c). No atomics, no socket storage: 5.10 loads them.
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "retrans.bpf.h"
#include "sock.bpf.h"
#include "tcp_sock.bpf.h"

/*
 * A connection's start, kept from connect() or its ESTABLISHED to its close, keyed by its
 * socket's address: its handshake, told under its cookie once a poll has made one; and one
 * opened and closed between two polls (no cookie at its close: no dump read it), or a connect()
 * that failed, is written whole at its close. A hash map, not socket storage (5.11 in tracing
 * programs), sized as the BPF source's tcp_live (src_load.c: the host's sockets, with room to
 * grow); each entry goes at its socket's close. A start it has no room for is counted lost.
 */
struct k510_start {
	__u64 syn_ns;	/* connect(): CLOSE -> SYN_SENT; 0 for an accepted one */
	__u64 est_ns;	/* its change to ESTABLISHED; 0 before */
	struct tuple t; /* read at ESTABLISHED or at the close of a connect() that failed (at
			   CLOSE the local port of an ended connection is gone) */
	__u64 cgroup_id;
	__u32 pid, tid; /* connect()'s or accept()'s caller (0: none seen) */
	__u32 hs_us;	/* the handshake, as tcp.bpf.c's handshake_done() measures it */
	__u32 hs_retrans;
	__u32 resent[TT_RETRANS_SPURIOUS]; /* by cause, before a poll named it (no cookie) */
	__u32 accept_us;		   /* ESTABLISHED to accept() returning it */
	__u8 dir;
	__u8 hs_told;  /* its HANDSHAKE written */
	__u8 accepted; /* accept() returned it */
	char comm[TT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set at load (src_load.c) */
	__type(key, __u64);
	__type(value, struct k510_start);
} k510_starts SEC(".maps");

/* The states compared here are the kernel's numbers (vmlinux.h). */
TT_TCP_STATES(TT_TCP_STATE_IS_KERNEL, TCP_)

static __always_inline __u64 sk_cookie(const struct sock *sk)
{
	return sk ? BPF_CORE_READ(sk, __sk_common.skc_cookie.counter) : 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tt_retrans_k510, const struct sock *sk, const struct sk_buff *skb)
{
	__u64 id = sk_cookie(sk), key = (__u64)sk;
	struct k510_start *p;
	struct tt_event *e;
	__u8 state, cause;
	__u32 segs;

	/* a retransmit that failed (where the tracepoint says): the poll counts it, cause unknown
	 */
	if (RETRANS_HAS_ERR && (int)ctx[2])
		return 0;
	/* kept with its start too: told with its close if no poll named it (k510_start_end) */
	p = bpf_map_lookup_elem(&k510_starts, &key);
	if (!p && !id)
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	cause = retrans_cause(sk, state);
	segs = retrans_segs(skb);
	if (p && cause < TT_RETRANS_SPURIOUS)
		p->resent[cause] += segs; /* under the socket's lock */
	if (!id)
		return 0;
	e = ev_new(TT_EV_RETRANS, id, 0, 0, 0, 0);
	if (!e)
		return 0;
	e->u.retrans.segs = segs;
	e->u.retrans.state = state;
	e->u.retrans.cause = cause;
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

/* An id of a connection no poll saw: above any cookie, one per (CPU, nanosecond) for 52 days. */
static __always_inline __u64 short_id(void)
{
	return (1ULL << 62) | ((__u64)(bpf_get_smp_processor_id() & 0x3ff) << 52) |
	       (bpf_ktime_get_ns() & ((1ULL << 52) - 1));
}

static __always_inline void keep_start(__u64 key, const struct k510_start *st)
{
	if (bpf_map_update_elem(&k510_starts, &key, st, BPF_ANY))
		count_lost(); /* the table is full */
}

/* connect(): process context, its caller the owner */
static __always_inline void start_connect(__u64 key)
{
	struct k510_start st = {};
	__u64 pt = bpf_get_current_pid_tgid();

	st.syn_ns = bpf_ktime_get_boot_ns();
	st.pid = pt >> 32;
	st.tid = (__u32)pt;
	st.cgroup_id = bpf_get_current_cgroup_id();
	st.dir = TT_DIR_OUTBOUND;
	bpf_get_current_comm(st.comm, sizeof(st.comm));
	keep_start(key, &st);
}

/*
 * The handshake over (the BPF source's rule, tcp.bpf.c handshake_done()): a client's from
 * connect() to now, and its SYNs retransmitted; an accepted child's SYN-ACK RTT, in srtt_us,
 * and its SYN-ACKs retransmitted, in total_retrans.
 */
static __always_inline void start_established(const struct sock *sk, __u64 key, int oldstate)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct k510_start st = {}, *p = bpf_map_lookup_elem(&k510_starts, &key);
	__u64 now = bpf_ktime_get_boot_ns();

	if (oldstate == TT_TCP_SYN_SENT) {
		if (!p)
			return; /* connect()ed before the start */
		p->est_ns = now;
		p->hs_us = now > p->syn_ns ? (now - p->syn_ns) / 1000 : 0;
		p->hs_retrans = BPF_CORE_READ(tp, total_retrans);
		read_tuple(sk, &p->t);
		return;
	}
	st.est_ns = now;
	st.hs_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	st.hs_retrans = BPF_CORE_READ(tp, total_retrans);
	st.resent[TT_RETRANS_SYN] = st.hs_retrans; /* its SYN-ACKs, counted in total_retrans */
	st.dir = TT_DIR_INBOUND;
	read_tuple(sk, &st.t);
	keep_start(key, &st);
}

static __always_inline void emit_hs(__u64 id, const struct k510_start *st, __u16 flags)
{
	struct tt_event *e = ev_new(TT_EV_HANDSHAKE, id, st->pid, st->tid, flags, st->est_ns);

	if (!e)
		return;
	e->u.handshake.connect_us = st->hs_us;
	e->u.handshake.syn_retrans = st->hs_retrans;
	ev_send(e);
}

static __always_inline void emit_accept(__u64 id, const struct k510_start *st, __u16 flags)
{
	struct tt_event *e = ev_new(TT_EV_ACCEPT, id, st->pid, st->tid, flags, 0);

	if (!e)
		return;
	e->u.accept.wait_us = st->accept_us;
	ev_send(e);
}

/*
 * accept()/accept4() returned fd (where these tracepoints are attached: a process filter or
 * --accept-wait, as the BPF source's): its caller owns the child, and how long the child waited
 * in the accept queue since ESTABLISHED is known; told now under its cookie where a poll named
 * it (its owner a CONN_PROC), or with its open.
 */
static __always_inline int accepted_k510(long fd)
{
	struct sock *sk = fd_tcp_sock((struct task_struct *)bpf_get_current_task(), fd);
	__u64 key = (__u64)sk, pt, now = bpf_ktime_get_boot_ns(), id;
	struct k510_start *p;

	if (!sk)
		return 0;
	p = bpf_map_lookup_elem(&k510_starts, &key);
	if (!p || p->dir != TT_DIR_INBOUND || p->accepted)
		return 0;
	pt = bpf_get_current_pid_tgid();
	p->pid = pt >> 32;
	p->tid = (__u32)pt;
	p->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	p->accept_us = now > p->est_ns ? (now - p->est_ns) / 1000 : 0;
	p->accepted = 1;
	id = sk_cookie(sk);
	if (id) {
		struct tt_event *e =
		    ev_new(TT_EV_CONN_PROC, id, p->pid, p->tid, TT_F_FALLBACK_TCP, 0);

		if (e) {
			__builtin_memcpy(e->u.proc.comm, p->comm, TT_COMM_LEN);
			ev_send(e);
		}
		emit_accept(id, p, 0);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tt_accept4_k510(struct trace_event_raw_sys_exit *ctx)
{
	return accepted_k510(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tt_accept_k510(struct trace_event_raw_sys_exit *ctx)
{
	return accepted_k510(ctx->ret);
}

/*
 * What a connection no poll saw resent, by cause, each with the socket's total_retrans up to it
 * (tt_sd_diff_retrans: what no event told, a failed retransmit, is its close's, cause unknown).
 */
static __always_inline void emit_resent(__u64 id, const struct k510_start *st)
{
	__u32 total = 0;
	struct tt_event *e;

	for (int cause = TT_RETRANS_RTO; cause < TT_RETRANS_SPURIOUS; cause++) {
		if (!st->resent[cause])
			continue;
		e = ev_new(TT_EV_RETRANS, id, st->pid, st->tid, TT_F_FALLBACK_TCP, 0);
		if (!e)
			return;
		total += st->resent[cause];
		e->u.retrans.segs = st->resent[cause];
		e->u.retrans.cause = cause;
		/* the handshake's in its state; the others' state is not kept */
		e->u.retrans.state = cause != TT_RETRANS_SYN	  ? TT_TCP_ESTABLISHED
				     : st->dir == TT_DIR_OUTBOUND ? TT_TCP_SYN_SENT
								  : TT_TCP_SYN_RECV;
		e->u.retrans.total = total;
		ev_send(e);
	}
}

/*
 * A connection at its close, as if no poll saw it: its open (at ESTABLISHED; a failed
 * connect()'s at connect(), in SYN_SENT), its handshake, accept and retransmits by cause, each
 * of TT_F_FALLBACK_TCP, under its cookie or a new id, which the close then takes. User space
 * takes them only for a connection its polls never named (sd_diff.c tt_sd_diff_bpf_open): a
 * cookie is no proof of a poll of ours (ss, another BPF tool, made it). 0 where written, -1
 * where not (nothing to write, or no room).
 */
static __always_inline int emit_short_open(const struct sock *sk, struct k510_start *st, __u64 id)
{
	struct tt_event *e;

	if (!st->est_ns && !st->syn_ns)
		return -1;
	if (!st->est_ns)
		read_tuple(sk, &st->t); /* a connect() that failed: its ports are still there */
	e = ev_new(TT_EV_CONN_OPEN, id, st->pid, st->tid, TT_F_FALLBACK_TCP,
		   st->est_ns ? st->est_ns : st->syn_ns);
	if (!e)
		return -1;
	fill_open(&e->u.open, &st->t, IPPROTO_TCP, st->dir,
		  st->est_ns ? TT_TCP_ESTABLISHED : TT_TCP_SYN_SENT, sk_netns(sk), st->cgroup_id,
		  st->comm);
	ev_send(e);
	if (st->est_ns)
		emit_hs(id, st, TT_F_FALLBACK_TCP);
	if (st->accepted)
		emit_accept(id, st, TT_F_FALLBACK_TCP);
	emit_resent(id, st);
	return 0;
}

/*
 * A socket's start and its end: kept at connect() and ESTABLISHED; at a change of a socket with
 * a cookie, its handshake told once; at a close, the entry deleted and the connection written
 * as if no poll saw it (emit_short_open), under its cookie or, with none, a new id. Returns the
 * id its change is to be written under, 0 for none.
 */
static __always_inline __u64 k510_start_end(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk, id = sk_cookie(sk);
	struct k510_start st, *p;

	if (newstate == TT_TCP_SYN_SENT)
		start_connect(key);
	else if (newstate == TT_TCP_ESTABLISHED &&
		 (oldstate == TT_TCP_SYN_SENT || oldstate == TT_TCP_SYN_RECV))
		start_established(sk, key, oldstate);
	if (!id && newstate != TT_TCP_CLOSE)
		return 0;
	p = bpf_map_lookup_elem(&k510_starts, &key);
	if (!p)
		return id;
	if (id && !p->hs_told && p->est_ns) {
		emit_hs(id, p, 0);
		p->hs_told = 1;
	}
	if (newstate != TT_TCP_CLOSE)
		return id;
	st = *p;
	bpf_map_delete_elem(&k510_starts, &key);
	if (id) {
		emit_short_open(sk, &st, id);
		return id;
	}
	id = short_id();
	return emit_short_open(sk, &st, id) ? 0 : id;
}

/*
 * A state change; at the change to CLOSE, the close, with the socket's counters: exact where a
 * poll would give the last poll's. The socket still has its old state. What the FINs added to
 * the counters is left out here, where the socket's flags and sequence numbers tell (the BPF
 * source's rule, tcp_sock.bpf.h's tcp_payload); our SYN, by the direction sock_diag knows. (A
 * full socket is not in TIME_WAIT at its change to CLOSE: tcp_time_wait() gives that state to a
 * twsk; bpftrace on 6.18, 20 active closes over loopback: all from FIN_WAIT2.)
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tt_state_k510, const struct sock *sk, int oldstate, int newstate)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 id;
	struct tt_event *e;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP || oldstate == newstate)
		return 0;
	id = k510_start_end(sk, oldstate, newstate);
	if (!id)
		return 0;
	if (newstate != TT_TCP_CLOSE) {
		e = ev_new(TT_EV_STATE, id, 0, 0, 0, 0);
		if (!e)
			return 0;
		e->u.state.old_state = oldstate;
		e->u.state.new_state = newstate;
		ev_send(e);
		return 0;
	}
	e = ev_new(TT_EV_CONN_CLOSE, id, 0, 0, TT_F_FALLBACK_TCP, 0);
	if (!e)
		return 0;
	/* our SYN left in: the direction is sock_diag's */
	tcp_payload(sk, tcp_state_fin_sent(oldstate), 0, &e->u.close.tx_bytes, &e->u.close.rx_bytes,
		    0);
	e->u.close.tx_pkts = BPF_CORE_READ(tp, segs_out);
	e->u.close.rx_pkts = BPF_CORE_READ(tp, segs_in);
	e->u.close.srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->u.close.retrans = BPF_CORE_READ(tp, total_retrans);
	e->u.close.state = oldstate;
	e->u.close.fail_reason = fail_reason_of(sk, BPF_CORE_READ(sk, sk_err), oldstate);
	ev_send(e);
	return 0;
}
