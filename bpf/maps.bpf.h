/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps and globals of tcptop's kernel side, shared by its parts (tcp.bpf.c: TCP lifecycle
 * and sampling; udp.bpf.c: UDP flows and the per-call hooks; udp_skb.bpf.c: UDP per datagram;
 * proc.bpf.c: processes, owners, accept; stage.bpf.c: the flush of --raw-slice 0's per-CPU
 * stage; maps.bpf.c: where the maps and globals below are defined). The parts are compiled one by
 * one and joined into one object by libbpf's static linker (bpftool gen object), which makes one
 * skeleton. Each part holds its own logic; the helpers are static and inlined into the programs of
 * one file, so what two parts share is in a header with one job: consts.bpf.h, maps.bpf.h,
 * filter.bpf.h, sock.bpf.h, emit.bpf.h, flow.bpf.h (UDP flows, both routes), tcp_sock.bpf.h (what
 * udp.bpf.c's --raw calls share of TCP with tcp.bpf.c).
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
#ifndef TT_MAPS_BPF_H
#define TT_MAPS_BPF_H

#include "consts.bpf.h"

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
/* --raw-slice 0: calls gathered per CPU (stage.bpf.h), unless user space cannot flush them */
TT_EXTERN const volatile __u8 raw_stage TT_INIT(0);
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
/* --udp-timeout: a UDP flow idle longer is over (flow.bpf.h, flow_current) */
TT_EXTERN const volatile __u64 udp_idle_ns TT_INIT(0);
/* set by user space when iter/udp is not attached: connected flows end when idle too */
TT_EXTERN __u8 udp_idle_connected TT_INIT(0);

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
/* Of those, the ones a pass found held by a file (accepted) that no sweep has walked since:
 * set to 0 by user space before each pass, counted by it; sweep_pass is the pass after
 * which the last sweep ran. */
TT_EXTERN __u64 n_filed_new TT_INIT(0);
TT_EXTERN __u64 sweep_pass TT_INIT(0);
/* owners a sweep left for sockets other than listeners (set to 0 by user space before it) */
TT_EXTERN __u64 sweep_conns TT_INIT(0);

/*
 * Kernels before 5.12 have no atomic instruction that returns the old value: the programs built
 * for them (-DTT_K510, flow.bpf.h) take this one lock where the others compare-and-swap or
 * fetch-and-add. A cgroup_skb program may hold a bpf_spin_lock there (a tracing one may not).
 */
struct tt_k510_lock {
	struct bpf_spin_lock lock;
};

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_k510_lock);
} k510_lock SEC(".maps");

/* The flow user space asks tt_udp_reap_k510 to move aside (udp_skb.bpf.c). */
TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_flow_key);
} udp_reap SEC(".maps");

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/*
 * --raw-slice 0: each CPU stages its TCP calls' records here, TT_STAGE_N to a ring-buffer
 * record (stage.bpf.h): one reservation of the ring shared by every CPU for TT_STAGE_N calls,
 * not one each. busy is set while a program of this CPU works on it, which the flush program
 * (run on this CPU by user space, in an interrupt) sees and leaves it alone.
 */
#define TT_STAGE_N 16
#define TT_STAGE_REC (TT_EVENT_HDR_SIZE + sizeof(struct tt_ev_traffic))
struct tt_stage {
	__u32 n;
	__u32 busy;
	__u8 recs[TT_STAGE_N * TT_STAGE_REC];
};

TT_EXTERN struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tt_stage);
} stage SEC(".maps");

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
/* the pass (cur_pass) during which a record last found the ring buffer full: what a pass could
 * not write then waits for a pass that looks at every connection (tcp_idle_since_last_pass) */
TT_EXTERN __u64 ring_short_pass TT_INIT(0);
/*
 * What tells a pass that found every tcp_live entry's socket (tcp_gone.c then reads nothing):
 * the entries (added here, less those deleted here and by user space), every change to the
 * set (an open, a close, a close left for a pass), and the entries the current pass found.
 */
TT_EXTERN __s64 live_n TT_INIT(0);
TT_EXTERN __u64 live_changes TT_INIT(0);
TT_EXTERN __u64 pass_found TT_INIT(0);
/* the kernel's HZ, found once from jiffies and the clock (tt_hz) */
TT_EXTERN __u64 hz_found TT_INIT(0);
/* opens tcp_live had no room for: their unseen closes would not be found */
TT_EXTERN __u64 tcp_live_full TT_INIT(0);
/* tests only (TT_TEST_SKIP_CLOSE): no close is emitted, as when the kernel skips the programs
 * (TT_SKIP_CLOSE_ALL), or the close finds the ring buffer full (TT_SKIP_CLOSE_NOSPACE) */
#define TT_SKIP_CLOSE_ALL 1
#define TT_SKIP_CLOSE_NOSPACE 2
TT_EXTERN const volatile __u8 test_skip_close TT_INIT(0);
/* tests only (TT_TEST_PASS_NOSPACE=N): passes 1 to N find the ring buffer full for a pass's
 * TRAFFIC and SAMPLE, which are left for the next pass */
TT_EXTERN const volatile __u8 test_pass_nospace TT_INIT(0);

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
	/* --raw-slice 0: the number of the socket's next staged call (stage.bpf.h) */
	__u64 stage_seq;
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
	/* tp->total_retrans that RETRANS events have told (each writer holds the socket's lock) */
	__u32 retrans_told;
	__u64 est_ts;	/* a passive connection's ESTABLISHED, for its accept wait */
	__s32 last_err; /* the last error reported on it (inet_sk_error_report), for fail_reason */
	__u32 filed_pass; /* owner unknown: the pass that first found it held by a file */
	/* the last SAMPLE written (a hash of its fields: a pass writes one only on a change) */
	__u64 sample_hash; /* of all but the pacing rate, which is apart */
	__u64 sample_pacing;
	/* zero-window stalls going on (boot ns of their start, 0: none), and the last data
	 * received when ours began (icsk_ack.lrcvtime, jiffies): data after it ended it */
	__u64 stall_local_start;
	__u64 stall_peer_start;
	__u32 stall_local_lrcv;
};

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

#endif /* TT_MAPS_BPF_H */
