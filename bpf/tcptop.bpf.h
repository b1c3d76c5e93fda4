/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel side of tcptop, shared by its parts (tcp.bpf.c: TCP lifecycle and sampling;
 * udp.bpf.c: UDP flows and the per-call hooks; proc.bpf.c: processes, owners, accept;
 * maps.bpf.c: where the maps and globals below are defined). The parts are compiled one by one
 * and joined into one object by libbpf's static linker (bpftool gen object), which makes one
 * skeleton.
 *
 * Connection lifecycle from tracepoints, TCP byte counts sampled from the kernel's own
 * tcp_sock counters (iter/tcp, no cost per send/recv), UDP summed per flow, everything as
 * struct tt_event records in one ring buffer submitted without wakeups (user space drains on
 * a timer).
 *
 * Owners: connect() runs in the caller's context; a passive connection is born in softirq and
 * gets its owner when accept()/accept4() returns (classic syscall tracepoints) or from a sweep
 * of the file tables (iter/task_file). Those programs cannot use socket storage, so they leave
 * the owner in the "owners" map under the socket's address, and the next program that holds
 * the socket (state change, retransmit, reset, the sampling iterators) applies it.
 */
#ifndef TT_TCPTOP_BPF_H
#define TT_TCPTOP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tcptop.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define E2BIG 7
#define EEXIST 17
#define S_IFMT 0170000
#define S_IFSOCK 0140000

/* Every map and global is declared here once, and defined in maps.bpf.c alone. */
#ifdef TT_BPF_DEFINE
#define TT_EXTERN
#define TT_INIT(v) = v
#else
#define TT_EXTERN extern
#define TT_INIT(v)
#endif

/* Filters and mode, set by user space before load. */
TT_EXTERN const volatile __u8 raw_mode TT_INIT(0);
/* --raw: a socket's calls are summed and written at most once per slice (0: every call) */
TT_EXTERN const volatile __u64 raw_slice_ns TT_INIT(0);
/* UDP counted per datagram (udp_skb.bpf.c), not per call: the sweep names UDP owners too */
TT_EXTERN const volatile __u8 udp_by_packet TT_INIT(0);
TT_EXTERN const volatile __u32 f_pids[TT_FILTER_MAX_BPF] TT_INIT({});
TT_EXTERN const volatile __u32 f_n_pids TT_INIT(0);
TT_EXTERN const volatile __u16 f_ports[TT_FILTER_MAX_BPF] TT_INIT({});
TT_EXTERN const volatile __u32 f_n_ports TT_INIT(0);
TT_EXTERN const volatile char f_comms[TT_FILTER_MAX_BPF][TT_COMM_LEN] TT_INIT({});
TT_EXTERN const volatile __u32 f_n_comms TT_INIT(0);
TT_EXTERN const volatile __u8 f_proto TT_INIT(0);
TT_EXTERN const volatile __u8 f_family TT_INIT(0);
TT_EXTERN const volatile __u64 f_cgroup TT_INIT(0);

/* Written by the programs: UDP flow ids (top bit set, never reused in a run). */
TT_EXTERN __u64 next_flow_id TT_INIT(0);
/* Last tgid the task_file iterator reported a name for (one iterator runs at a time). */
TT_EXTERN __u32 iter_last_tgid TT_INIT(0);
/* Entries in "owners"; lets the consumers skip the lookup in the common empty case. */
TT_EXTERN __u64 owners_n TT_INIT(0);
/* Bumped when an accepted connection a process filter wants waits in "owners":
 * user space then runs tt_iter_owner so that its CONN_OPEN is not late. */
TT_EXTERN __u64 owners_wanted TT_INIT(0);
/* TCP connections reported (or waiting for their owner) whose owner is unknown:
 * while non-zero, user space sweeps the file tables now and then (tt_iter_files). */
TT_EXTERN __u64 n_unowned TT_INIT(0);

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

TT_EXTERN struct {
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
	__u8 swept;	/* from the file tables: whoever holds it, not who accepted it */
	__u8 _pad[2];
	char comm[TT_COMM_LEN];
	__u64 accept_ts; /* when accept() returned it (0: a sweep), for the ACCEPT's wait */
};

/* LRU: an entry nobody consumes (socket reset between accept and the store) ages out. */
TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768); /* a sweep adds every open TCP socket of the machine */
	__type(key, __u64);	    /* struct sock address */
	__type(value, struct owner);
} owners SEC(".maps");

/*
 * With a filter, exec/exit/name events are only for the processes that own a
 * reported connection (not every process of the machine): their tgids.
 */
TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

/*
 * Open TCP connections per network namespace (inode): the sampling pass enters only the
 * namespaces that have one, so idle ones (containers without traffic) cost nothing.
 */
TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __s64);
} ns_tcp SEC(".maps");
/* ns_tcp was full once: user space enters every namespace from then on */
TT_EXTERN __u32 ns_tcp_full TT_INIT(0);

/* Open TCP connections by id (struct tt_tcp_live, tcptop.h). */
TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_BPF_MAX_TCP);
	__type(key, __u64); /* connection id */
	__type(value, struct tt_tcp_live);
} tcp_live SEC(".maps");
TT_EXTERN __u64 cur_pass TT_INIT(0);
/* the kernel's HZ, found once from jiffies and the clock (tt_hz) */
TT_EXTERN __u64 hz_found TT_INIT(0);
/* opens tcp_live had no room for: their unseen closes would not be found */
TT_EXTERN __u64 tcp_live_full TT_INIT(0);
/* tests only (TT_TEST_SKIP_CLOSE): no close is emitted, as when the kernel skips the programs
 * (TT_SKIP_CLOSE_ALL), or the close finds the ring buffer full (TT_SKIP_CLOSE_NOSPACE) */
#define TT_SKIP_CLOSE_ALL 1
#define TT_SKIP_CLOSE_NOSPACE 2
TT_EXTERN const volatile __u8 test_skip_close TT_INIT(0);

/* Life of a TCP connection as seen here (sk_st.open). */
enum {
	O_NONE = 0,
	O_PENDING, /* connect() seen, waiting for the local port */
	O_WAITPID, /* a process filter is set and the owner is not known yet */
	O_OPEN,	   /* CONN_OPEN emitted: events flow */
	O_DROP,	   /* filtered out */
	O_IGNORE,  /* listener */
	O_CLOSED,
	O_PASSIVE, /* passive child at SYN_RECV whose addresses are not set yet (Linux < 6.x) */
	O_ENDED,  /* was O_OPEN, its close written (or left to tcp_gone.c): --raw calls still are */
	O_LISTEN, /* a listener: LISTENER records from the sampling pass, counted in ns_tcp */
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
	__u64 dsack; /* tp->dsack_dups last reported (64 bits: taken with xchg) */
	__u64 open;
	__u64 unowned; /* counted in n_unowned */
	__u32 netns;   /* inode; set where only a struct bpf_sock is at hand (udp_skb.bpf.c) */
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
	__u8 live;     /* has an entry in tcp_live (none when the map was full) */
	__u16 snd_port;
	__u16 rcv_port;
	__u8 snd_addr[TT_ADDR_LEN];
	__u8 rcv_addr[TT_ADDR_LEN];
	/* a UDP socket's current connection (its peer; fam 0: none), and how many it has had */
	__u8 conn_addr[TT_ADDR_LEN];
	__u16 conn_port;
	__u8 conn_fam;
	__u32 conn_n;
	/* --raw: the calls since the last record, each sent and received as calls << 40 | bytes
	 * (one atomic add per call), taken with xchg (exact when two CPUs use one socket); when
	 * the last record was written and the last call made */
	__u64 raw_tx;
	__u64 raw_rx;
	__u64 raw_flush_ts;
	__u64 raw_call_ts;
	/* --raw: the bytes of every call taken from the sums (written or counted lost), for the
	 * close's counters */
	__u64 raw_tx_done;
	__u64 raw_rx_done;
	/* a listener: what its last LISTENER record said (l_seen: one was written) */
	__u64 l_drops;
	__u32 l_queue;
	__u32 l_max;
	__u32 l_pid;
	__u8 l_seen;
	/* the handshake, measured at ESTABLISHED and written once the connection is open (a
	 * process filter may open it later): hs 0 none, 1 to write, 2 written */
	__u64 hs;
	__u32 hs_connect_us;
	__u32 hs_syn_retrans;
	__u64 est_ts;	/* a passive connection's ESTABLISHED, for its accept wait */
	__s32 last_err; /* the last error reported on it (inet_sk_error_report), for fail_reason */
	/* the last SAMPLE written (a hash of its fields: a pass writes one only on a change) */
	__u64 sample_hash; /* of all but the pacing rate, which is apart */
	__u64 sample_pacing;
	/* zero-window stalls going on (boot ns of their start, 0: none), and the last data
	 * received when ours began (icsk_ack.lrcvtime, jiffies): data after it ended it */
	__u64 stall_local_start;
	__u64 stall_peer_start;
	__u32 stall_local_lrcv;
};

/* One call in a socket's --raw sums (calls << 40 | bytes). A slice holds far fewer than
 * 2^23 calls or 2^39 bytes, unless the ring buffer stays full: then the sums are written
 * (or counted lost) before they overflow. */
#define TT_RAW_CALL (1ULL << 40)
static __always_inline int tt_raw_near_full(__u64 sum)
{
	return sum >= (1ULL << 63) || (sum & (TT_RAW_CALL - 1)) >= (1ULL << 39);
}

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_st);
} socks SEC(".maps");

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TT_BPF_MAX_FLOWS);
	__type(key, struct tt_flow_key);
	__type(value, struct tt_flow_val);
} flows SEC(".maps");

/* ------------------------------------------------------------ emitting */

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	/* atomic: a softirq program on this CPU may count between our load and store */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* A record of this kind, its header filled (ts 0: now); NULL, and nothing counted, if the ring
 * buffer is full. */
static __always_inline struct tt_event *ev_try_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
						   __u16 flags, __u64 ts)
{
	__u32 sz = tt_event_size(kind);
	struct tt_event *e = bpf_ringbuf_reserve(&events, sz, 0);

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sz);
	e->ts_ns = ts ? ts : bpf_ktime_get_boot_ns();
	e->conn_id = id;
	e->pid = pid;
	e->tid = tid;
	e->kind = kind;
	e->flags = flags;
	return e;
}

/* The same, a full ring buffer counted as a lost event. */
static __always_inline struct tt_event *ev_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
					       __u16 flags, __u64 ts)
{
	struct tt_event *e = ev_try_new(kind, id, pid, tid, flags, ts);

	if (!e)
		count_lost();
	return e;
}

static __always_inline void ev_send(struct tt_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * --raw: the TCP calls a socket made since its last record, as one TRAFFIC record stamped with
 * the last of those calls. With a full ring buffer the sums stay for the next record (nothing
 * is lost), unless this is their last chance (final: the socket's close, or sums about to
 * overflow): then they are counted lost like any record.
 */
static __always_inline void raw_flush(struct sk_st *st, int final)
{
	struct tt_event *e;
	__u64 tx, rx;

	if (!st->raw_tx && !st->raw_rx)
		return;
	/* a call was summed, so raw_call_ts is set (ev_try_new reads no clock) */
	e = ev_try_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, TT_F_RAW, st->raw_call_ts);
	if (!e && !final)
		return;
	tx = __sync_lock_test_and_set(&st->raw_tx, 0);
	rx = __sync_lock_test_and_set(&st->raw_rx, 0);
	/* after the reservation: a close that reads these totals comes after this record */
	__sync_fetch_and_add(&st->raw_tx_done, tx & (TT_RAW_CALL - 1));
	__sync_fetch_and_add(&st->raw_rx_done, rx & (TT_RAW_CALL - 1));
	if (!e) {
		count_lost();
		return;
	}
	/* stamped again after the take: a call stores its time before its add, so a call taken
	 * here is never newer than the stamp (another CPU's call may be made meanwhile) */
	e->ts_ns = st->raw_call_ts;
	e->u.traffic.tx_bytes = tx & (TT_RAW_CALL - 1);
	e->u.traffic.rx_bytes = rx & (TT_RAW_CALL - 1);
	e->u.traffic.tx_calls = tx / TT_RAW_CALL;
	e->u.traffic.rx_calls = rx / TT_RAW_CALL;
	ev_send(e);
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

static __always_inline int emit_open_ns(struct sk_st *st, const struct tuple *t, __u8 proto,
					__u8 state, __u64 ts, __u16 flags, __u32 netns)
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
	e->u.open.netns = netns;
	e->u.open.cgroup_id = st->cgroup_id;
	__builtin_memcpy(e->u.open.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	note_owner(st->pid);
	return 0;
}

static __always_inline int emit_open(const struct sock *sk, struct sk_st *st, const struct tuple *t,
				     __u8 proto, __u8 state, __u64 ts, __u16 flags)
{
	return emit_open_ns(st, t, proto, state, ts, flags, sk_netns(sk));
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

/* The owner in st, said of connection id (a socket's, or one of its UDP flows'). */
static __always_inline void emit_proc(__u64 id, const struct sk_st *st)
{
	struct tt_event *e = ev_new(TT_EV_CONN_PROC, id, st->pid, st->tid, 0, 0);

	if (!e)
		return;
	__builtin_memcpy(e->u.proc.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	note_owner(st->pid);
}

static __always_inline int addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, TT_ADDR_LEN);
	__builtin_memcpy(y, b, TT_ADDR_LEN);
	return x[0] == y[0] && x[1] == y[1];
}

/*
 * The socket's connection has ended (a connect() elsewhere, or a disconnect): its flow moves to
 * a key no datagram looks up (TT_FLOW_GEN_ENDED), marked ended, for user space to close
 * (record/udp.c), and its own key is free for whatever the socket does next with that peer: a
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
 * A new UDP flow of key k (t: its ends), owned as st says, put in "flows" and announced if the
 * filters pass it: the flow to count into, or NULL (lost: the map full, counted).
 * Both UDP routes make their flows here (udp.bpf.c per call, udp_skb.bpf.c per datagram).
 * Its id: the socket's cookie if it is the socket's first connection, else a new one.
 */
static __always_inline struct tt_flow_val *flow_add(const struct tt_flow_key *k,
						    const struct sk_st *st, const struct tuple *t,
						    int connected, int tx, __u16 flags, __u32 netns)
{
	struct tt_flow_val v = {};
	long err;

	v.id = connected && st->conn_n == 1
		   ? k->cookie
		   : (__sync_fetch_and_add(&next_flow_id, 1) | TT_FLOW_PEER_BIT);
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
		/* full (-E2BIG), or any failure but a race: the flow is lost, and counted */
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

/* One datagram (or call) of len bytes on flow fv. */
static __always_inline void flow_count(struct tt_flow_val *fv, int tx, __u32 len)
{
	fv->last_ts = bpf_ktime_get_boot_ns();
	if (tx) {
		__sync_fetch_and_add(&fv->tx_bytes, len);
		__sync_fetch_and_add(&fv->tx_pkts, 1);
	} else {
		__sync_fetch_and_add(&fv->rx_bytes, len);
		__sync_fetch_and_add(&fv->rx_pkts, 1);
	}
}

struct tcp_counters {
	__u64 acked, rcvd;
	__u32 segs_out, segs_in, srtt, rttvar, retrans;
};

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
	if ((state == TT_TCP_FIN_WAIT1 || state == TT_TCP_FIN_WAIT2 || state == TT_TCP_CLOSING ||
	     state == TT_TCP_LAST_ACK || (state == TT_TCP_CLOSE && st->fin_sent)) &&
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
 * Report the counters' growth since the last report. The sampler (process context, the
 * socket locked) and the close may still race (a listener's close resets its unaccepted
 * children without their lock): each claims its baseline with an exchange so no byte is
 * reported twice, and a pass (pass 1) reserves its record before it claims, and only while the
 * connection is open, so that its record is never after the close, whose absolute counters
 * already hold the delta. A pass that finds no room leaves the delta for the next one; the
 * close's is counted lost (its counters hold it).
 */
static __always_inline void emit_delta(struct sk_st *st, const struct tcp_counters *c, int pass)
{
	struct tt_event *e;
	__u64 acked, rcvd, so, si;

	if (c->acked <= st->acked && c->rcvd <= st->rcvd && c->segs_out <= st->segs_out &&
	    c->segs_in <= st->segs_in)
		return;
	e = pass ? ev_try_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, 0, 0)
		 : ev_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	/* atomic: ordered after the reservation, as the close's state change is before its */
	if (pass && __sync_fetch_and_add(&st->open, 0) != O_OPEN) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	acked = __sync_lock_test_and_set(&st->acked, c->acked);
	rcvd = __sync_lock_test_and_set(&st->rcvd, c->rcvd);
	so = __sync_lock_test_and_set(&st->segs_out, c->segs_out);
	si = __sync_lock_test_and_set(&st->segs_in, c->segs_in);
	if (c->acked <= acked && c->rcvd <= rcvd && c->segs_out <= so && c->segs_in <= si) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
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

static __always_inline void live_fill(struct tt_tcp_live *v, const struct sk_st *st,
				      const struct tcp_counters *c)
{
	v->pass = cur_pass;
	v->acked = c->acked;
	v->rcvd = c->rcvd;
	v->segs_out = c->segs_out;
	v->segs_in = c->segs_in;
	v->srtt = c->srtt;
	v->retrans = c->retrans;
	v->pid = st->pid;
	v->tid = st->tid;
}

/*
 * --raw: a TCP connection's counters (its close's, and the pass's for tcp_gone.c) are the bytes
 * its calls moved, on top of what it had moved before the capture (preexisting): calls made after
 * the close (a read of the receive queue once the state is CLOSE) are written after it and add
 * to them, where the kernel's counters would hold those bytes already.
 */
static __always_inline void raw_totals(const struct sk_st *st, struct tcp_counters *c)
{
	c->acked = st->acked + st->raw_tx_done;
	c->rcvd = st->rcvd + st->raw_rx_done;
}

/*
 * What a sampling pass (create 0) or the open (1) read of a connection, for tcp_gone.c; 1 if
 * this made the entry. A whole value replaces the entry (BPF_EXIST), never a write through a
 * looked-up element: a close may delete that element meanwhile and another connection's open
 * reuse it (a preallocated hash map hands a freed element out again at once).
 */
static __always_inline int live_note(const struct sock *sk, struct sk_st *st,
				     const struct tcp_counters *c, int create)
{
	struct tt_tcp_live nv = {};
	long err;

	nv.netns = sk_netns(sk);
	live_fill(&nv, st, c);
	if (!create) {
		bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_EXIST);
		return 0;
	}
	err = bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_NOEXIST);
	if (!err) {
		st->live = 1;
		return 1;
	}
	if (err != -EEXIST) /* made by another CPU opening it at the same time: not full */
		__sync_fetch_and_add(&tcp_live_full, 1);
	return 0;
}

/* The handshake measured at ESTABLISHED, once (a state change and a late open may race). */
static __always_inline void emit_handshake(struct sk_st *st)
{
	struct tt_event *e;

	if (__sync_val_compare_and_swap(&st->hs, 1, 2) != 1)
		return;
	e = ev_new(TT_EV_HANDSHAKE, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.handshake.connect_us = st->hs_connect_us;
	e->u.handshake.syn_retrans = st->hs_syn_retrans;
	ev_send(e);
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
	int made;

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
	/*
	 * Baselines and the tcp_live entry before the connection is open to the other programs: a
	 * pass's exchange or a close (on another CPU: --raw's calls hold no socket lock) that sees
	 * it open finds them set. Traffic before the capture began is not the capture's.
	 */
	if (!st->id)
		st->id = bpf_get_socket_cookie((struct sock *)sk);
	read_counters(sk, st, &c);
	st->acked = st->preexisting ? c.acked : 0;
	st->rcvd = st->preexisting ? c.rcvd : 0;
	st->segs_out = st->preexisting ? c.segs_out : 0;
	st->segs_in = st->preexisting ? c.segs_in : 0;
	made = live_note(sk, st, &c, 1);
	if (__sync_val_compare_and_swap(&st->open, cur, O_OPEN) != cur) {
		/* closed meanwhile without an open: no entry for tcp_gone.c to close */
		if (made && st->open != O_OPEN)
			bpf_map_delete_elem(&tcp_live, &st->id);
		return;
	}
	ns_tcp_add(sk, 1);
	if (st->preexisting)
		flags |= TT_F_PREEXISTING;
	if (!st->pid_known) {
		flags |= TT_F_PID_UNKNOWN;
		mark_unowned(st);
	} else {
		clear_unowned(st);
	}
	if (cur == O_PENDING) {
		emit_open(sk, st, &t, IPPROTO_TCP, TT_TCP_SYN_SENT, st->open_ts, flags);
		emit_state(st, TT_TCP_CLOSE, TT_TCP_SYN_SENT, st->open_ts);
	} else if (cur == O_PASSIVE) {
		emit_open(sk, st, &t, IPPROTO_TCP, TT_TCP_SYN_RECV, st->open_ts, flags);
	} else {
		emit_open(sk, st, &t, IPPROTO_TCP, state, 0, flags);
	}
	/* established while it waited for its owner */
	if (st->hs == 1)
		emit_handshake(st);
}

/*
 * The owner of a socket is now in st: open what waited for it, or tell user
 * space (unless the accept tracepoint did already: announce = 0).
 */
static __always_inline void tcp_owned(const struct sock *sk, struct sk_st *st, int announce)
{
	clear_unowned(st);
	if (st->open == O_WAITPID) {
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
		return;
	}
	if (st->open != O_OPEN || !announce)
		return;
	emit_proc(st->id, st);
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
	/* accept() returned it: how long it waited in the accept queue since ESTABLISHED */
	if (own.accept_ts && st->est_ts && own.accept_ts >= st->est_ts && st->open == O_OPEN) {
		struct tt_event *e = ev_new(TT_EV_ACCEPT, st->id, st->pid, st->tid, 0, 0);
		__u64 wait = own.accept_ts - st->est_ts;

		st->est_ts = 0; /* once */
		if (e) {
			e->u.accept.wait_us = wait / 1000;
			ev_send(e);
		}
	}
}

/*
 * Spurious retransmits: the segments the peer reported as received twice (DSACK; the
 * socket's dsack_dups, TcpExtTCPDSACKRecvSegs) since the last report, as a RETRANS of cause
 * SPURIOUS whose segs is 0, so the retransmit total stays the kernel's. Called by the
 * sampling pass and at the close; a kernel without the counter (before 5.0) has no such event.
 */
static __always_inline void tcp_emit_spurious(const struct sock *sk, struct sk_st *st)
{
	struct tt_event *e;
	__u64 d, old;

	if (!bpf_core_field_exists(((struct tcp_sock *)0)->dsack_dups))
		return;
	d = BPF_CORE_READ((const struct tcp_sock *)sk, dsack_dups);
	if (d == st->dsack)
		return;
	old = __sync_lock_test_and_set(&st->dsack, d);
	if (d <= old || d - old > 0xffffffffULL)
		return;
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.retrans.segs = 0;
	e->u.retrans.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->u.retrans.cause = TT_RETRANS_SPURIOUS;
	e->u.retrans.spurious = (__u32)(d - old);
	ev_send(e);
}

/* ------------------------------------------------------------ samples and stalls */

#define TT_NSEC_PER_SEC 1000000000ULL
#define TT_USEC_PER_SEC 1000000ULL
#define TT_CHRONO_RWND_LIMITED 2 /* enum tcp_chrono */
#define TT_CHRONO_MAX 4

/*
 * The kernel's HZ, which turns the jiffies of tcp_sock's clocks into time. CONFIG_HZ is not
 * readable everywhere (a __kconfig extern needs /boot/config-* or /proc/config.gz, which the
 * Debian guests of make vmtest lack), but jiffies_64 starts at INITIAL_JIFFIES,
 * (u32)(-300 * HZ), and counts HZ a second of the monotonic clock: the candidate that fits is
 * the one (HZ values differ by >= 50 a second, the clocks by a few ticks).
 */
static __always_inline __u64 tt_hz(void)
{
	static const __u32 cands[] = {100, 250, 300, 1000, 1024, 1200, 24, 48, 128, 512, 864};
	__u64 hz = hz_found, j, ns, best = 0, best_d = ~0ULL;

	if (hz)
		return hz;
	j = bpf_jiffies64();
	ns = bpf_ktime_get_ns();
	for (int i = 0; i < (int)(sizeof(cands) / sizeof(cands[0])); i++) {
		__u64 c = cands[i], init = (__u32)(-300 * (__s32)c), want = ns / 1000 * c / 1000000;
		__u64 got = j - init, d = got > want ? got - want : want - got;

		if (d < best_d) {
			best_d = d;
			best = c;
		}
	}
	hz_found = best;
	return best;
}

/* Nanoseconds of jiffies ago (u32 jiffies as tcp_jiffies32), never past now. */
static __always_inline __u64 tt_jiffies_ago_ns(__u32 then, __u32 now_j, __u64 now, __u64 hz)
{
	__u64 ago = (__u64)(__u32)(now_j - then) * (TT_NSEC_PER_SEC / hz);

	return ago < now ? now - ago : 0;
}

/* The kernel's TCP state as tcp_get_info() computes the tcpi_ fields (net/ipv4/tcp.c). */
static __always_inline void read_sample(const struct sock *sk, struct tt_ev_sample *s, __u32 now_j,
					__u64 hz)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 rate, intv, stats[TT_CHRONO_MAX] = {}, total = 0;
	__u32 ctype = BPF_CORE_READ_BITFIELD_PROBED(tp, chrono_type);
	__u32 cstart = BPF_CORE_READ(tp, chrono_start);
	unsigned long pacing = BPF_CORE_READ(sk, sk_pacing_rate);

	s->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	s->min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
	s->rttvar_us = BPF_CORE_READ(tp, mdev_us) >> 2;
	s->cwnd = BPF_CORE_READ(tp, snd_cwnd);
	s->ssthresh = BPF_CORE_READ(tp, snd_ssthresh);
	/* tcp_packets_in_flight() */
	s->in_flight = BPF_CORE_READ(tp, packets_out) -
		       (BPF_CORE_READ(tp, sacked_out) + BPF_CORE_READ(tp, lost_out)) +
		       BPF_CORE_READ(tp, retrans_out);
	s->lost = BPF_CORE_READ(tp, lost_out);
	s->reordering = BPF_CORE_READ(tp, reordering);
	s->dsack_dups = BPF_CORE_READ(tp, dsack_dups);
	s->snd_wnd = BPF_CORE_READ(tp, snd_wnd);
	s->rcv_wnd = BPF_CORE_READ(tp, rcv_wnd);
	s->app_limited = BPF_CORE_READ_BITFIELD_PROBED(tp, rate_app_limited);
	s->pacing_rate = pacing != ~0UL ? pacing : ~0ULL;
	/* tcp_compute_delivery_rate() */
	rate = BPF_CORE_READ(tp, rate_delivered);
	intv = BPF_CORE_READ(tp, rate_interval_us);
	if (rate && intv)
		s->delivery_rate = rate * BPF_CORE_READ(tp, mss_cache) * TT_USEC_PER_SEC / intv;
	/* tcp_get_info_chrono_stats() */
	for (int i = 1; i < TT_CHRONO_MAX; i++) {
		stats[i] = BPF_CORE_READ(tp, chrono_stat[i - 1]);
		if (i == (int)ctype)
			stats[i] += (__u32)(now_j - cstart);
		stats[i] *= TT_USEC_PER_SEC / hz;
		total += stats[i];
	}
	s->busy_us = total;
	s->rwnd_limited_us = stats[TT_CHRONO_RWND_LIMITED];
	s->sndbuf_limited_us = stats[3];
}

/* FNV-1a over the sample's words: what tells a pass the state changed. */
static __always_inline __u64 sample_hash(const struct tt_ev_sample *s)
{
	const __u64 *w = (const __u64 *)s;
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < (int)(sizeof(*s) / sizeof(__u64)); i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h | 1; /* 0: no sample written yet */
}

/*
 * A SAMPLE if the state changed since the last one written; a full ring buffer leaves the
 * change for the next pass (or, at the close, counts it lost). The close's sample, written at
 * the close's very time, leaves out the srtt (0: the close carries it; readers take it from
 * there) and the pacing rate (0: the rate further sending would be paced at, where none
 * follows), the costliest fields of a short connection's only sample: with them, the capture
 * of 500 short HTTP fetches grew by a third (docs/BENCHMARKS.md).
 */
static __always_inline void emit_sample(const struct sock *sk, struct sk_st *st, __u32 now_j,
					__u64 hz, __u64 now, int final)
{
	struct tt_ev_sample s = {};
	struct tt_event *e;
	__u64 h, pacing;

	read_sample(sk, &s, now_j, hz);
	pacing = s.pacing_rate;
	s.pacing_rate = 0;
	h = sample_hash(&s);
	if (h == st->sample_hash && (final || pacing == st->sample_pacing))
		return;
	e = final ? ev_new(TT_EV_SAMPLE, st->id, st->pid, st->tid, 0, now)
		  : ev_try_new(TT_EV_SAMPLE, st->id, st->pid, st->tid, 0, now);
	if (!e)
		return;
	st->sample_hash = h;
	if (!final)
		st->sample_pacing = s.pacing_rate = pacing;
	else
		s.srtt_us = 0; /* the close, at the same time, carries it */
	e->u.sample = s;
	ev_send(e);
}

static __always_inline void emit_stall(const struct sk_st *st, __u8 side, __u8 phase, __u64 ts,
				       __u64 start)
{
	struct tt_event *e = ev_new(TT_EV_STALL, st->id, st->pid, st->tid, 0, ts);

	if (!e)
		return;
	e->u.stall.side = side;
	e->u.stall.phase = phase;
	e->u.stall.dur_us = ts > start ? (ts - start) / 1000 : 0;
	ev_send(e);
}

/*
 * Zero-window stalls, as a sampling pass sees them (no program on the data path):
 * - local: the window we advertised last is zero (tp->rcv_wnd, what TCPToZeroWindowAdv
 *   counts). Start: the last data received (icsk_ack.lrcvtime), which filled the window:
 *   exact to a jiffy. End: data received since (it came after our window update, within
 *   one RTT of it), else the pass that saw the window open (within one pass interval).
 * - peer: the peer's window is zero while we have data not sent. Start: the last data
 *   segment we sent (tp->lsndtime; zero-window probes carry none): to a jiffy and one RTT.
 *   End: the pass that saw the window open or nothing left to send (one pass interval).
 * A stall shorter than a pass interval can be missed. final: the close ends what goes on.
 */
static __always_inline void track_stalls(const struct sock *sk, struct sk_st *st, __u32 now_j,
					 __u64 hz, __u64 now, int final)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 end;
	__u32 lrcv;
	int local, peer;

	lrcv = BPF_CORE_READ((const struct inet_connection_sock *)sk, icsk_ack.lrcvtime);
	local = !final && BPF_CORE_READ(tp, rcv_wnd) == 0;
	peer = !final && BPF_CORE_READ(tp, snd_wnd) == 0 &&
	       BPF_CORE_READ(tp, write_seq) != BPF_CORE_READ(tp, snd_nxt);
	if (!st->stall_local_start && local) {
		st->stall_local_start = tt_jiffies_ago_ns(lrcv, now_j, now, hz);
		st->stall_local_lrcv = lrcv;
		emit_stall(st, TT_STALL_LOCAL, TT_STALL_BEGIN, now, st->stall_local_start);
	} else if (st->stall_local_start && !local) {
		end = now;
		if (lrcv != st->stall_local_lrcv) {
			__u64 got = tt_jiffies_ago_ns(lrcv, now_j, now, hz);

			if (got > st->stall_local_start)
				end = got;
		}
		emit_stall(st, TT_STALL_LOCAL, TT_STALL_END, end, st->stall_local_start);
		st->stall_local_start = 0;
	}
	if (!st->stall_peer_start && peer) {
		st->stall_peer_start =
		    tt_jiffies_ago_ns(BPF_CORE_READ(tp, lsndtime), now_j, now, hz);
		emit_stall(st, TT_STALL_PEER, TT_STALL_BEGIN, now, st->stall_peer_start);
	} else if (st->stall_peer_start && !peer) {
		emit_stall(st, TT_STALL_PEER, TT_STALL_END, now, st->stall_peer_start);
		st->stall_peer_start = 0;
	}
}

/* A sampling pass's or the close's look at the connection's TCP state, at boot time now. */
static __always_inline void tcp_look(const struct sock *sk, struct sk_st *st, __u64 now, int final)
{
	__u64 hz = tt_hz();
	__u32 now_j = (__u32)bpf_jiffies64();

	if (!hz)
		return;
	track_stalls(sk, st, now_j, hz, now, final);
	emit_sample(sk, st, now_j, hz, now, final);
}

/*
 * The last words of a TCP connection: its final counters, from the socket itself.
 * Its tcp_live entry says who writes the close: the program that deletes it (here, once the
 * close is reserved) or the sampling pass (tcp_gone.c: a socket a pass did not find). A close
 * the ring buffer has no room for leaves the entry, with the final counters and as not found
 * by any pass, so the next pass writes the close (inferred) instead of the connection staying
 * open forever.
 */
#define TT_EACCES 13
#define TT_EPIPE 32
#define TT_ENONET 64
#define TT_EPROTO 71
#define TT_EMSGSIZE 90
#define TT_ENOPROTOOPT 92
#define TT_EOPNOTSUPP 95
#define TT_ENETDOWN 100
#define TT_ENETUNREACH 101
#define TT_ECONNABORTED 103
#define TT_ECONNRESET 104
#define TT_ETIMEDOUT 110
#define TT_ECONNREFUSED 111
#define TT_EHOSTDOWN 112
#define TT_EHOSTUNREACH 113

/*
 * Why a TCP connection is entering CLOSE (old: the state it leaves, -1 when not known).
 * The kernel sets sk_err before tcp_done() when the end is an error: tcp_reset()
 * (ECONNREFUSED in SYN_SENT, EPIPE in CLOSE_WAIT, else ECONNRESET), tcp_write_err()
 * (ETIMEDOUT, or the soft error an ICMP left), tcp_v4_err()/tcp_v6_err() in SYN_SENT (the
 * ICMP's errno), tcp_abort() (ECONNABORTED). An abortive close of our own sets no error
 * before CLOSE (tcp_disconnect() sets ECONNRESET after it): it is a CLOSE straight from a
 * synchronized state a normal close never leaves that way (ESTABLISHED, CLOSE_WAIT,
 * SYN_RECV, FIN_WAIT1), and tcp_close() threw away unread data (copied_seq short of
 * rcv_nxt, the peer's FIN not counted) or the socket lingered 0 s. An error the application
 * took before closing (SO_ERROR clears sk_err and sk_err_soft) is the one tt_sk_error saw
 * reported last. A connect() the application gave up on itself fails nothing here.
 */
static __always_inline __u8 tcp_fail_reason(const struct sock *sk, const struct sk_st *st, int old)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	int err = BPF_CORE_READ(sk, sk_err);
	unsigned long flags;
	__u32 unread;

	/* an ICMP error that came while connect() held the socket is left as a soft error,
	 * which a connect() with a timeout reads, and closes the socket without one */
	/* an error the application took (SO_ERROR after a connect() with a timeout, a read)
	 * before it closed the socket: the one reported last */
	if (!err)
		err = st->last_err;
	switch (err) {
	case 0: break;
	case TT_ECONNREFUSED: return TT_FAIL_REFUSED;
	case TT_ETIMEDOUT: return TT_FAIL_TIMEOUT;
	case TT_ECONNRESET:
	case TT_EPIPE: return TT_FAIL_RESET;
	case TT_ECONNABORTED: return TT_FAIL_LOCAL_RESET;
	case TT_EHOSTUNREACH:
	case TT_ENETUNREACH:
	case TT_EHOSTDOWN:
	case TT_ENETDOWN:
	case TT_ENONET:
	case TT_EPROTO:
	case TT_ENOPROTOOPT:
	case TT_EMSGSIZE:
	case TT_EOPNOTSUPP:
	case TT_EACCES: return TT_FAIL_UNREACHABLE;
	default: return TT_FAIL_NONE;
	}
	if (old == TT_TCP_SYN_RECV)
		return TT_FAIL_LOCAL_RESET;
	if (old != TT_TCP_ESTABLISHED && old != TT_TCP_CLOSE_WAIT && old != TT_TCP_FIN_WAIT1)
		return TT_FAIL_NONE;
	unread = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
	flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if ((flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && unread)
		unread--;
	return unread ? TT_FAIL_ABORT : TT_FAIL_LOCAL_RESET;
}

static __always_inline void tcp_emit_close(const struct sock *sk, struct sk_st *st, __u8 fail)
{
	__u64 now;
	struct tcp_counters c;
	struct tt_event *e;

	if (test_skip_close == TT_SKIP_CLOSE_ALL)
		return;
	/* once: the state change and tcp_destroy_sock may both get here, on two CPUs */
	if (__sync_val_compare_and_swap(&st->open, O_OPEN, O_ENDED) != O_OPEN)
		return;
	clear_unowned(st);
	read_counters(sk, st, &c);
	if (!raw_mode) {
		emit_delta(st, &c, 0);
	} else {
		raw_flush(st, 1);
		raw_totals(st, &c);
	}
	tcp_emit_spurious(sk, st);
	/* the last sample at the close's very time, just before it: a delta of 0 on disk */
	now = bpf_ktime_get_boot_ns();
	tcp_look(sk, st, now, 1);
	e = test_skip_close == TT_SKIP_CLOSE_NOSPACE
		? NULL
		: ev_try_new(TT_EV_CONN_CLOSE, st->id, st->pid, st->tid, 0, now);
	if (!e) {
		struct tt_tcp_live nv = {};

		count_lost();
		/* its namespace stays counted: a pass must walk it to find the socket gone */
		nv.netns = sk_netns(sk);
		live_fill(&nv, st, &c);
		nv.pass = 0; /* no pass found it */
		bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_EXIST);
		return;
	}
	e->u.close.tx_bytes = c.acked;
	e->u.close.rx_bytes = c.rcvd;
	e->u.close.tx_pkts = c.segs_out;
	e->u.close.rx_pkts = c.segs_in;
	e->u.close.srtt_us = c.srtt;
	e->u.close.retrans = c.retrans;
	e->u.close.state = TT_TCP_CLOSE;
	e->u.close.fail_reason = fail;
	ns_tcp_add(sk, -1);
	/* gone already: a pass found the socket gone before the kernel ran this (a state change
	 * skipped, tcp_destroy_sock later) and wrote the close */
	if (bpf_map_delete_elem(&tcp_live, &st->id) && st->live) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	ev_send(e);
}

/* A socket already open but never seen: reported as existing before the capture. */
static __always_inline void tcp_first_sight(const struct sock *sk, struct sk_st *st)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	if (state == TT_TCP_LISTEN) {
		/* made before the capture: the sweep at start names its owner */
		if (!st->pid_known)
			mark_unowned(st);
		st->open = O_LISTEN;
		ns_tcp_add(sk, 1);
		return;
	}
	if (state == TT_TCP_CLOSE) {
		st->open = O_IGNORE;
		return;
	}
	st->preexisting = 1;
	/* duplicates reported before the capture are not its spurious retransmits */
	if (bpf_core_field_exists(((struct tcp_sock *)0)->dsack_dups))
		st->dsack = BPF_CORE_READ((const struct tcp_sock *)sk, dsack_dups);
	/* a passive child is a copy of its listener, listen()'s backlog included */
	st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND : TT_DIR_OUTBOUND;
	tcp_try_open(sk, st, state, 0);
}

#endif /* TT_TCPTOP_BPF_H */
