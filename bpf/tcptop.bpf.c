// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of tcptop: connection lifecycle from tracepoints, TCP byte
 * counts sampled from the kernel's own tcp_sock counters (iter/tcp, no cost
 * per send/recv), UDP summed per flow, everything as struct tt_event records
 * in one ring buffer submitted without wakeups (user space drains on a timer).
 *
 * Owners: connect() runs in the caller's context; a passive connection is born
 * in softirq and gets its owner when accept()/accept4() returns (classic
 * syscall tracepoints). Those programs cannot use socket storage, so they
 * leave the owner in the "owners" map under the socket's address, and the
 * next program that holds the socket (state change, retransmit, reset, the
 * sampling iterators) applies it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tcptop.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define E2BIG 7
#define S_IFMT 0170000
#define S_IFSOCK 0140000

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10

/* Filters and mode, set by user space before load. */
const volatile __u8 raw_mode = 0;
const volatile __u32 f_pids[TT_FILTER_MAX_BPF] = {};
const volatile __u32 f_n_pids = 0;
const volatile __u16 f_ports[TT_FILTER_MAX_BPF] = {};
const volatile __u32 f_n_ports = 0;
const volatile char f_comms[TT_FILTER_MAX_BPF][TT_COMM_LEN] = {};
const volatile __u32 f_n_comms = 0;
const volatile __u8 f_proto = 0;
const volatile __u8 f_family = 0;
const volatile __u64 f_cgroup = 0;

/* Written by the programs: UDP flow ids (top bit set, never reused in a run). */
__u64 next_flow_id = 0;
/* Last tgid the task_file iterator reported a name for (one iterator runs at a time). */
__u32 iter_last_tgid = 0;
/* Entries in "owners"; lets the consumers skip the lookup in the common empty case. */
__u64 owners_n = 0;
/* Bumped when an accepted connection a process filter wants waits in "owners":
 * user space then runs tt_iter_owner so that its CONN_OPEN is not late. */
__u64 owners_wanted = 0;
/* TCP connections reported (or waiting for their owner) whose owner is unknown:
 * while non-zero, user space sweeps the file tables now and then (tt_iter_files). */
__u64 n_unowned = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* The process that accept()ed a socket, waiting for a program that holds the socket. */
struct owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u16 lport; /* to tell a freed and reused socket address from the one accepted */
	__u16 rport;
	__u8 announced; /* CONN_PROC already emitted by the accept tracepoint */
	__u8 swept;     /* from the file tables: whoever holds it, not who accepted it */
	__u8 _pad[2];
	char comm[TT_COMM_LEN];
};

/* LRU: an entry nobody consumes (socket reset between accept and the store) ages out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768); /* a sweep adds every open TCP socket of the machine */
	__type(key, __u64); /* struct sock address */
	__type(value, struct owner);
} owners SEC(".maps");

/*
 * With a filter, exec/exit/name events are only for the processes that own a
 * reported connection (not every process of the machine): their tgids.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

/*
 * Open TCP connections per network namespace (inode): the sampling pass enters only the
 * namespaces that have one, so idle ones (containers without traffic) cost nothing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __s64);
} ns_tcp SEC(".maps");
/* ns_tcp was full once: user space enters every namespace from then on */
__u32 ns_tcp_full = 0;

/* Life of a TCP connection as seen here (sk_st.open). */
enum {
	O_NONE = 0,
	O_PENDING, /* connect() seen, waiting for the local port */
	O_WAITPID, /* a process filter is set and the owner is not known yet */
	O_OPEN,    /* CONN_OPEN emitted: events flow */
	O_DROP,    /* filtered out */
	O_IGNORE,  /* listener */
	O_CLOSED,
	O_PASSIVE, /* passive child at SYN_RECV whose addresses are not set yet (Linux < 6.x) */
};

/* Per-socket state, freed with the socket. */
struct sk_st {
	__u64 id;
	__u64 open_ts;
	__u64 cgroup_id;
	__u64 acked; /* counters last reported */
	__u64 rcvd;
	__u64 segs_out; /* 64 bits: the atomics below need them without -mcpu=v3 */
	__u64 segs_in;
	__u64 srtt;
	__u64 open;
	__u64 unowned; /* counted in n_unowned */
	__u32 pid;
	__u32 tid;
	char comm[TT_COMM_LEN];
	__u8 pid_known;
	__u8 dir;
	__u8 preexisting;
	/* peer of the sendmsg/recvmsg in progress on an unconnected UDP socket */
	__u8 snd_fam;
	__u8 rcv_fam;
	__u8 fin_sent; /* seen entering a state only our FIN leads to */
	__u16 snd_port;
	__u16 rcv_port;
	__u8 snd_addr[TT_ADDR_LEN];
	__u8 rcv_addr[TT_ADDR_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_st);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_BPF_MAX_FLOWS);
	__type(key, struct tt_flow_key);
	__type(value, struct tt_flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_BPF_MAX_FLOWS);
	__type(key, __u64);
	__type(value, struct tt_flow_done);
} flow_done SEC(".maps");

/* ------------------------------------------------------------ emitting */

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	/* atomic: a softirq program on this CPU may count between our load and store */
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline struct tt_event *ev_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
					       __u16 flags, __u64 ts)
{
	__u32 sz = tt_event_size(kind);
	struct tt_event *e = bpf_ringbuf_reserve(&events, sz, 0);

	if (!e) {
		count_lost();
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

static __always_inline void ev_send(struct tt_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* ------------------------------------------------------------ filters */

static __always_inline int comm_eq(const char *a, const volatile char *b)
{
	for (int i = 0; i < TT_COMM_LEN; i++) {
		if (a[i] != b[i])
			return 0;
		if (!a[i])
			return 1;
	}
	return 1;
}

static __always_inline int proc_filter_active(void)
{
	return f_n_pids || f_n_comms || f_cgroup;
}

static __always_inline int proc_match(__u32 pid, const char *comm, __u64 cgid)
{
	int ok;

	if (f_n_pids) {
		ok = 0;
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_pids && f_pids[i] == pid)
				ok = 1;
		if (!ok)
			return 0;
	}
	if (f_n_comms) {
		ok = 0;
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_comms && comm_eq(comm, f_comms[i]))
				ok = 1;
		if (!ok)
			return 0;
	}
	if (f_cgroup && cgid != f_cgroup)
		return 0;
	return 1;
}

static __always_inline int any_filter(void)
{
	return f_n_pids || f_n_comms || f_cgroup || f_n_ports || f_proto || f_family;
}

/* tgid owns a reported connection: its process events are wanted. */
static __always_inline void note_owner(__u32 tgid)
{
	__u8 one = 1;

	if (tgid && any_filter() && !bpf_map_lookup_elem(&tgids, &tgid))
		bpf_map_update_elem(&tgids, &tgid, &one, BPF_ANY);
}

static __always_inline int proc_events_wanted(__u32 tgid)
{
	return !any_filter() || bpf_map_lookup_elem(&tgids, &tgid);
}

static __always_inline int net_match(__u8 proto, __u8 family, __u16 lport, __u16 rport)
{
	if (f_proto && proto != f_proto)
		return 0;
	if (f_family && family != f_family)
		return 0;
	if (f_n_ports) {
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_ports && (f_ports[i] == lport || f_ports[i] == rport))
				return 1;
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ sockets */

struct tuple {
	__u8 laddr[TT_ADDR_LEN];
	__u8 raddr[TT_ADDR_LEN];
	__u16 lport;
	__u16 rport;
	__u8 family;
};

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

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void ns_tcp_add(const struct sock *sk, __s64 d)
{
	__u32 ns = sk_netns(sk);
	__s64 *n = bpf_map_lookup_elem(&ns_tcp, &ns);

	if (!n && d > 0) {
		if (bpf_map_update_elem(&ns_tcp, &ns, &d, BPF_NOEXIST) == 0)
			return;
		n = bpf_map_lookup_elem(&ns_tcp, &ns); /* made by another CPU meanwhile */
		if (!n)
			ns_tcp_full = 1;
	}
	if (n)
		__sync_fetch_and_add(n, d);
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

static __always_inline int emit_open(const struct sock *sk, struct sk_st *st, const struct tuple *t,
				     __u8 proto, __u8 state, __u64 ts, __u16 flags)
{
	struct tt_event *e = ev_new(TT_EV_CONN_OPEN, st->id, st->pid, st->tid, flags, ts);

	if (!e)
		return -1;
	__builtin_memcpy(e->u.open.laddr, t->laddr, TT_ADDR_LEN);
	__builtin_memcpy(e->u.open.raddr, t->raddr, TT_ADDR_LEN);
	e->u.open.lport = t->lport;
	e->u.open.rport = t->rport;
	e->u.open.family = t->family;
	e->u.open.proto = proto;
	e->u.open.direction = st->dir;
	e->u.open.state = state;
	e->u.open.netns = sk_netns(sk);
	e->u.open.cgroup_id = st->cgroup_id;
	__builtin_memcpy(e->u.open.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	note_owner(st->pid);
	return 0;
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

struct tcp_counters {
	__u64 acked, rcvd;
	__u32 segs_out, segs_in, srtt, rttvar, retrans;
};

#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_LAST_ACK 9
#define TCP_CLOSING 11

/*
 * The kernel counts sequence space: bytes_acked includes our SYN (active
 * opens) and our FIN once acked, bytes_received the peer's FIN. Reported
 * counts are payload bytes, what the applications wrote and read.
 * At inet_sock_set_state the socket still has its old state.
 */
static __always_inline void read_counters(const struct sock *sk, const struct sk_st *st,
					  struct tcp_counters *c)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);

	c->acked = BPF_CORE_READ(tp, bytes_acked);
	c->rcvd = BPF_CORE_READ(tp, bytes_received);
	if (st->dir == TT_DIR_OUTBOUND && c->acked)
		c->acked--;
	/*
	 * These states are only reached by sending a FIN; it is acked when nothing is left. At
	 * tcp_destroy_sock the state is CLOSE already: what we saw of the socket tells instead.
	 */
	if ((state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	     state == TCP_LAST_ACK || (state == TCP_CLOSE && st->fin_sent)) &&
	    c->acked && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
		c->acked--;
	/* SOCK_DONE: tcp_fin() ran, the peer's FIN is in bytes_received */
	if ((flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && c->rcvd)
		c->rcvd--;
	c->segs_out = BPF_CORE_READ(tp, segs_out);
	c->segs_in = BPF_CORE_READ(tp, segs_in);
	c->srtt = BPF_CORE_READ(tp, srtt_us) >> 3;
	c->rttvar = BPF_CORE_READ(tp, mdev_us) >> 2;
	c->retrans = BPF_CORE_READ(tp, total_retrans);
}

static __always_inline __u64 sub0(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/*
 * Report the counters' growth since the last report. The sampler (process
 * context) and the close (softirq) may race: each claims its baseline with an
 * exchange so no byte is reported twice.
 */
static __always_inline void emit_delta(struct sk_st *st, const struct tcp_counters *c)
{
	__u64 acked = __sync_lock_test_and_set(&st->acked, c->acked);
	__u64 rcvd = __sync_lock_test_and_set(&st->rcvd, c->rcvd);
	__u64 so = __sync_lock_test_and_set(&st->segs_out, c->segs_out);
	__u64 si = __sync_lock_test_and_set(&st->segs_in, c->segs_in);
	struct tt_event *e;

	if (c->acked <= acked && c->rcvd <= rcvd && c->segs_out <= so && c->segs_in <= si)
		return;
	e = ev_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.traffic.tx_bytes = sub0(c->acked, acked);
	e->u.traffic.rx_bytes = sub0(c->rcvd, rcvd);
	e->u.traffic.tx_pkts = c->segs_out > so ? c->segs_out - so : 0;
	e->u.traffic.rx_pkts = c->segs_in > si ? c->segs_in - si : 0;
	ev_send(e);
}

static __always_inline void mark_unowned(struct sk_st *st)
{
	if (__sync_val_compare_and_swap(&st->unowned, 0, 1) == 0)
		__sync_fetch_and_add(&n_unowned, 1);
}

static __always_inline void clear_unowned(struct sk_st *st)
{
	if (__sync_lock_test_and_set(&st->unowned, 0))
		__sync_fetch_and_add(&n_unowned, -1);
}

/*
 * Decide whether a TCP connection is reported, and report its opening.
 * state: the connection's state at first sight.
 */
static __always_inline void tcp_try_open(const struct sock *sk, struct sk_st *st, __u8 state,
					 int closing)
{
	__u64 cur = st->open;
	struct tuple t;
	__u16 flags = 0;
	struct tcp_counters c;

	if (cur != O_NONE && cur != O_PENDING && cur != O_WAITPID && cur != O_PASSIVE)
		return;
	read_tuple(sk, &t);
	/* connect() sets SYN_SENT before it picks the local port */
	if (cur == O_PENDING && !t.lport && !closing)
		return;
	/* a passive child enters SYN_RECV before its ports and addresses are copied (6.1, 6.12) */
	if (cur == O_PASSIVE && !t.rport && !closing)
		return;
	if (!net_match(IPPROTO_TCP, t.family, t.lport, t.rport)) {
		st->open = O_DROP;
		return;
	}
	if (proc_filter_active()) {
		if (!st->pid_known) {
			st->open = O_WAITPID;
			mark_unowned(st);
			return;
		}
		if (!proc_match(st->pid, st->comm, st->cgroup_id)) {
			st->open = O_DROP;
			return;
		}
	}
	if (__sync_val_compare_and_swap(&st->open, cur, O_OPEN) != cur)
		return;
	ns_tcp_add(sk, 1);
	if (!st->id)
		st->id = bpf_get_socket_cookie((struct sock *)sk);
	/* traffic before the capture began is not the capture's */
	read_counters(sk, st, &c);
	st->acked = st->preexisting ? c.acked : 0;
	st->rcvd = st->preexisting ? c.rcvd : 0;
	st->segs_out = st->preexisting ? c.segs_out : 0;
	st->segs_in = st->preexisting ? c.segs_in : 0;
	if (st->preexisting)
		flags |= TT_F_PREEXISTING;
	if (!st->pid_known) {
		flags |= TT_F_PID_UNKNOWN;
		mark_unowned(st);
	} else {
		clear_unowned(st);
	}
	if (cur == O_PENDING) {
		emit_open(sk, st, &t, IPPROTO_TCP, TCP_SYN_SENT, st->open_ts, flags);
		emit_state(st, TCP_CLOSE, TCP_SYN_SENT, st->open_ts);
	} else if (cur == O_PASSIVE) {
		emit_open(sk, st, &t, IPPROTO_TCP, TCP_SYN_RECV, st->open_ts, flags);
	} else {
		emit_open(sk, st, &t, IPPROTO_TCP, state, 0, flags);
	}
}

/*
 * The owner of a socket is now in st: open what waited for it, or tell user
 * space (unless the accept tracepoint did already: announce = 0).
 */
static __always_inline void tcp_owned(const struct sock *sk, struct sk_st *st, int announce)
{
	struct tt_event *e;

	clear_unowned(st);
	if (st->open == O_WAITPID) {
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
		return;
	}
	if (st->open != O_OPEN || !announce)
		return;
	e = ev_new(TT_EV_CONN_PROC, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	__builtin_memcpy(e->u.proc.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	note_owner(st->pid);
}

/* The caller of this send/recv owns the socket. */
static __always_inline void tcp_attribute(const struct sock *sk, struct sk_st *st)
{
	own_by_current(st);
	tcp_owned(sk, st, 1);
}

/* Apply what the accept tracepoint left for this socket, if anything. */
static __always_inline void take_owner(const struct sock *sk, struct sk_st *st)
{
	__u64 key = (__u64)sk;
	struct owner *o, own;

	if (!owners_n)
		return;
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o)
		return;
	own = *o;
	if (bpf_map_delete_elem(&owners, &key) == 0)
		__sync_fetch_and_add(&owners_n, -1);
	if (own.lport != BPF_CORE_READ(sk, __sk_common.skc_num) ||
	    own.rport != bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)))
		return; /* a socket freed at that address since: not this one's owner */
	if (own.swept && st->pid_known)
		return; /* a sweep finds any holder (a forked child too): the known owner stays */
	st->pid = own.pid;
	st->tid = own.tid;
	st->cgroup_id = own.cgroup_id;
	__builtin_memcpy(st->comm, own.comm, TT_COMM_LEN);
	st->pid_known = 1;
	tcp_owned(sk, st, !own.announced);
}

/* The last words of a TCP connection: its final counters, from the socket itself. */
static __always_inline void tcp_emit_close(const struct sock *sk, struct sk_st *st)
{
	struct tcp_counters c;
	struct tt_event *e;

	/* once: the state change and tcp_destroy_sock may both get here, on two CPUs */
	if (__sync_val_compare_and_swap(&st->open, O_OPEN, O_CLOSED) != O_OPEN)
		return;
	clear_unowned(st);
	ns_tcp_add(sk, -1);
	read_counters(sk, st, &c);
	if (!raw_mode)
		emit_delta(st, &c);
	e = ev_new(TT_EV_CONN_CLOSE, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.close.tx_bytes = c.acked;
	e->u.close.rx_bytes = c.rcvd;
	e->u.close.tx_pkts = c.segs_out;
	e->u.close.rx_pkts = c.segs_in;
	e->u.close.srtt_us = c.srtt;
	e->u.close.retrans = c.retrans;
	e->u.close.state = TCP_CLOSE;
	ev_send(e);
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
	/* process context (close, shutdown): seen even when a later softirq change is skipped */
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK) {
		st->fin_sent = 1;
		/* the owner closing it: an accepted socket no sweep has named yet is theirs */
		if (!st->pid_known && (st->open == O_OPEN || st->open == O_WAITPID))
			tcp_attribute(sk, st);
	}
	if (st->open == O_NONE) {
		/* a passive child is cloned from its listener: LISTEN -> SYN_RECV */
		if (newstate == TCP_LISTEN || (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)) {
			st->open = O_IGNORE;
			return 0;
		}
		if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
			/* connect(): process context, the caller owns the socket */
			if (!st->pid_known)
				own_by_current(st);
			st->dir = TT_DIR_OUTBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PENDING;
			return 0;
		}
		if (newstate == TCP_SYN_RECV) {
			/* passive open, softirq: the owner is whoever accept()s it */
			st->dir = TT_DIR_INBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PASSIVE;
			tcp_try_open(sk, st, newstate, 0);
			return 0;
		}
		if (oldstate == TCP_SYN_RECV) {
			st->dir = TT_DIR_INBOUND;
		} else {
			st->preexisting = 1;
			st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND
									: TT_DIR_OUTBOUND;
		}
		tcp_try_open(sk, st, oldstate, newstate == TCP_CLOSE);
	} else if (st->open == O_PENDING || st->open == O_PASSIVE) {
		tcp_try_open(sk, st, oldstate, newstate == TCP_CLOSE);
	}
	if (st->open != O_OPEN) {
		if (newstate == TCP_CLOSE && st->open != O_IGNORE) {
			st->open = O_CLOSED;
			clear_unowned(st);
		}
		return 0;
	}
	emit_state(st, oldstate, newstate, 0);
	if (newstate == TCP_CLOSE)
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

/* A socket already open but never seen: reported as existing before the capture. */
static __always_inline void tcp_first_sight(const struct sock *sk, struct sk_st *st)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	if (state == TCP_LISTEN || state == TCP_CLOSE) {
		st->open = O_IGNORE;
		return;
	}
	st->preexisting = 1;
	/* a passive child is a copy of its listener, listen()'s backlog included */
	st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND : TT_DIR_OUTBOUND;
	tcp_try_open(sk, st, state, 0);
}

/* ------------------------------------------------------------ UDP */

static __always_inline void udp_flow_key(const struct sock *sk, struct sk_st *st, int tx,
					 struct tt_flow_key *k, int *connected)
{
	__u8 fam = tx ? st->snd_fam : st->rcv_fam;

	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = bpf_get_socket_cookie((struct sock *)sk);
	*connected = 0;
	if (fam) {
		/* the cgroup hook saw this call's peer: an unconnected socket */
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
		return;
	}
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_ESTABLISHED) {
		struct tuple t;

		read_tuple(sk, &t);
		__builtin_memcpy(k->raddr, t.raddr, TT_ADDR_LEN);
		k->rport = t.rport;
		k->family = t.family;
		*connected = 1;
	}
}

static __always_inline struct tt_flow_val *udp_flow(const struct sock *sk, struct sk_st *st,
						    int tx)
{
	struct tt_flow_key k;
	struct tt_flow_val v = {}, *fv;
	struct tuple t;
	int connected;
	long err;

	udp_flow_key(sk, st, tx, &k, &connected);
	fv = bpf_map_lookup_elem(&flows, &k);
	if (fv)
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
	v.id = connected ? k.cookie : (__sync_fetch_and_add(&next_flow_id, 1) | TT_FLOW_PEER_BIT);
	v.first_ts = bpf_ktime_get_boot_ns();
	v.pid = st->pid;
	v.netns = sk_netns(sk);
	v.verdict = TT_V_PASS;
	if (!net_match(IPPROTO_UDP, t.family, t.lport, t.rport) ||
	    (proc_filter_active() && !proc_match(st->pid, st->comm, st->cgroup_id)))
		v.verdict = TT_V_DROP;
	v.last_ts = v.first_ts;
	err = bpf_map_update_elem(&flows, &k, &v, BPF_NOEXIST);
	if (err == -E2BIG) {
		/* full: this flow's traffic is lost, and counted so */
		count_lost();
		return NULL;
	}
	if (err == 0 && v.verdict == TT_V_PASS) {
		struct sk_st tmp = *st;

		tmp.id = v.id;
		tmp.dir = tx ? TT_DIR_OUTBOUND : TT_DIR_INBOUND;
		emit_open(sk, &tmp, &t, IPPROTO_UDP, 0, v.first_ts,
			  st->preexisting ? TT_F_PREEXISTING : 0);
	}
	return bpf_map_lookup_elem(&flows, &k);
}

static __always_inline void udp_io(const struct sock *sk, struct sk_st *st, int tx, int len)
{
	struct tt_flow_val *fv = udp_flow(sk, st, tx);
	struct tt_event *e;

	if (!fv || fv->verdict != TT_V_PASS)
		return;
	fv->last_ts = bpf_ktime_get_boot_ns();
	if (tx) {
		__sync_fetch_and_add(&fv->tx_bytes, len);
		__sync_fetch_and_add(&fv->tx_pkts, 1);
	} else {
		__sync_fetch_and_add(&fv->rx_bytes, len);
		__sync_fetch_and_add(&fv->rx_pkts, 1);
	}
	if (!raw_mode)
		return;
	e = ev_new(TT_EV_TRAFFIC, fv->id, st->pid, st->tid, TT_F_RAW, 0);
	if (!e)
		return;
	if (tx) {
		e->u.traffic.tx_bytes = len;
		e->u.traffic.tx_pkts = 1;
		e->u.traffic.tx_calls = 1;
	} else {
		e->u.traffic.rx_bytes = len;
		e->u.traffic.rx_pkts = 1;
		e->u.traffic.rx_calls = 1;
	}
	ev_send(e);
}

/* ------------------------------------------------------------ send / recv */

static __always_inline int sock_io(struct sock *sk, int ret, int flags, int tx)
{
	struct sk_st *st;
	struct tt_event *e;
	__u16 proto;

	if (ret <= 0 || (!tx && (flags & MSG_PEEK)))
		return 0;
	/* runs on every send/recv of the machine: plain loads, no helper calls */
	proto = sk->sk_protocol;
	if (proto == IPPROTO_TCP) {
		/* the default mode: the kernel counts TCP bytes, nothing to do per call */
		if (!raw_mode)
			return 0;
		st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!st)
			return 0;
		if (st->open == O_NONE)
			tcp_first_sight(sk, st);
		if (!st->pid_known) {
			take_owner(sk, st);
			if (!st->pid_known)
				tcp_attribute(sk, st);
		}
		if (st->open != O_OPEN)
			return 0;
		e = ev_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, TT_F_RAW, 0);
		if (!e)
			return 0;
		if (tx) {
			e->u.traffic.tx_bytes = ret;
			e->u.traffic.tx_calls = 1;
		} else {
			e->u.traffic.rx_bytes = ret;
			e->u.traffic.rx_calls = 1;
		}
		ev_send(e);
		return 0;
	}
	if (proto != IPPROTO_UDP || BPF_CORE_READ(sk, sk_type) != SOCK_DGRAM)
		return 0;
	st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
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
int BPF_PROG(tt_recv_inet, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return sock_io(sock->sk, ret, flags, 0);
}

SEC("fexit/inet6_recvmsg")
int BPF_PROG(tt_recv_inet6, struct socket *sock, struct msghdr *msg, size_t size, int flags,
	     int ret)
{
	return sock_io(sock->sk, ret, flags, 0);
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
	if (st->open != O_OPEN)
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
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct sock *sk;
	struct owner own = {};
	struct tuple t;
	__u64 key, pt, cookie;
	__u8 state;
	__u16 fam;

	if (fd < 0 || !fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP ||
	    BPF_CORE_READ(sk, sk_type) != SOCK_STREAM)
		return 0;
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if ((fam != AF_INET && fam != AF_INET6) || state == TCP_CLOSE || state == TCP_LISTEN)
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
	if (!proc_filter_active()) {
		/* reported at SYN_RECV under its cookie: say whose it is right away */
		cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
		if (cookie) {
			struct tt_event *e =
			    ev_new(TT_EV_CONN_PROC, cookie, own.pid, own.tid, 0, 0);

			if (e) {
				__builtin_memcpy(e->u.proc.comm, own.comm, TT_COMM_LEN);
				ev_send(e);
				own.announced = 1;
				note_owner(own.pid);
			}
		}
	}
	key = (__u64)sk;
	if (bpf_map_update_elem(&owners, &key, &own, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&owners_n, 1);
	else
		bpf_map_update_elem(&owners, &key, &own, BPF_ANY);
	if (proc_filter_active() && proc_match(own.pid, own.comm, own.cgroup_id))
		__sync_fetch_and_add(&owners_wanted, 1);
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

/* ------------------------------------------------------------ iterators */

/* Sampling pass over the TCP sockets of this netns: deltas and RTT of what changed. */
SEC("iter/tcp")
int tt_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sock *sk;
	struct sk_st *st;
	struct tcp_counters c;
	struct tt_event *e;
	__u64 old_srtt;

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
	if (!raw_mode)
		emit_delta(st, &c);
	old_srtt = __sync_lock_test_and_set(&st->srtt, c.srtt);
	if (c.srtt && c.srtt != old_srtt) {
		e = ev_new(TT_EV_RTT, st->id, st->pid, st->tid, 0, 0);
		if (!e)
			return 0;
		e->u.rtt.srtt_us = c.srtt;
		e->u.rtt.rttvar_us = c.rttvar;
		ev_send(e);
	}
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
	__u16 fam;
	__u8 state;

	if (!task || !file)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0; /* UDP sockets are owned by whoever sends or receives on them */
	fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if ((fam != AF_INET && fam != AF_INET6) || state == TCP_LISTEN || state == TCP_CLOSE)
		return 0;
	own.pid = BPF_CORE_READ(task, tgid);
	own.tid = BPF_CORE_READ(task, pid);
	own.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&own.comm, task, comm);
	read_tuple(sk, &t);
	own.lport = t.lport;
	own.rport = t.rport;
	own.swept = 1;
	key = (__u64)sk;
	/* an accept tracepoint's entry names the same owner, and may have announced it */
	if (bpf_map_update_elem(&owners, &key, &own, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&owners_n, 1);
	if (any_filter()) {
		/* with a filter, names only of the processes whose sockets pass it */
		if (!net_match(IPPROTO_TCP, t.family, t.lport, t.rport) ||
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

/* ------------------------------------------------------------ UDP peers */

static __always_inline int stash_peer(struct bpf_sock_addr *ctx, int tx, int v6)
{
	struct sk_st *st;
	__u8 a[TT_ADDR_LEN] = {};
	__u8 fam;

	if (!ctx->sk)
		return 1;
	st = bpf_sk_storage_get(&socks, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 1;
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
