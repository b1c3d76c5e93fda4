/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event model: the one contract between the BPF programs (bpf/), the live
 * source (record/), the capture format (format/) and the state table (state/).
 *
 * Plain fixed-width types only, no libc: this header is compiled both by
 * clang -target bpf (after vmlinux.h) and by the user-space compiler.
 *
 * A ring-buffer record is a prefix of struct tt_event: the common header plus
 * the union member of its kind (tt_event_size()), so small kinds cost little
 * ring-buffer space. User space copies it into a zeroed struct tt_event.
 */
#ifndef TT_EVENT_H
#define TT_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TT_COMM_LEN 16
#define TT_ADDR_LEN 16
#define TT_NAME_LEN 48 /* a name from the recording kernel (an enum's, from its BTF) */

/* Event kinds. Numbers are frozen: they are stored in capture files. Each has one entry in
 * TT_EVENT_KINDS (tt_event_kinds.h): name, payload, fields, what it is about. */
enum tt_ev_kind {
	TT_EV_CONN_OPEN = 1,  /* a connection (or UDP flow) is first seen */
	TT_EV_TRAFFIC = 2,    /* counter deltas since the previous TRAFFIC of the connection */
	TT_EV_STATE = 3,      /* TCP state change */
	TT_EV_RTT = 4,	      /* smoothed RTT sample */
	TT_EV_RETRANS = 5,    /* TCP retransmission(s) */
	TT_EV_RESET = 6,      /* TCP RST sent or received */
	TT_EV_CONN_CLOSE = 7, /* connection gone, with its final absolute counters */
	TT_EV_CONN_PROC = 8,  /* connection attributed to a process after it was opened */
	TT_EV_PROC_EXEC = 9,  /* a process exec'd: pid now has this name */
	TT_EV_PROC_EXIT = 10, /* a process exited */
	TT_EV_PROC_NAME = 11, /* pid to name metadata (e.g. from a sweep at start) */
	TT_EV_LOST = 12,      /* events the kernel could not deliver */
	TT_EV_STATS = 13,     /* capture statistics, written by user space */
	TT_EV_HANDSHAKE = 14, /* a TCP connection reached ESTABLISHED: how long it took */
	TT_EV_ACCEPT = 15,    /* an accepted connection: how long it waited for accept() */
	TT_EV_SAMPLE = 16,    /* the kernel's TCP state (tcp_info), written when it changed */
	TT_EV_STALL = 17,     /* a zero-window stall began (seen) or ended */
	TT_EV_LISTENER = 18,  /* a listening socket's queue and drops, when first seen or changed */
	TT_EV_DROP = 19,      /* a packet the kernel dropped, with its reason */
	TT_EV_KIND_MAX
};

/* tt_event.flags */
#define TT_F_PREEXISTING (1u << 0) /* CONN_OPEN: connection existed before the capture began */
#define TT_F_PID_UNKNOWN (1u << 1) /* CONN_OPEN: pid/comm not known yet (CONN_PROC may follow) */
#define TT_F_RAW (1u << 2)	   /* TRAFFIC: one send/recv call, not a coalesced delta */
/* CONN_CLOSE: the kernel reported no close; a sampling pass found the socket gone (time:
 * that pass; counters: the pass before, or the close's own when it found the ring full) */
#define TT_F_CLOSE_INFERRED (1u << 3)
/* Between the sock_diag fallback's BPF programs (bpf/tcp_fallback.bpf.c) and that source only,
 * never in an event it delivers: a CONN_CLOSE of the TCP socket whose cookie is conn_id, at its
 * change to CLOSE, with the socket's counters then (FINs left out, our SYN not), its state the
 * one before CLOSE (source/sd_diff.c tt_sd_diff_bpf_state); a CONN_OPEN of a connection no poll
 * saw, under an id of its own (tt_sd_diff_bpf_open); a CONN_PROC of an accepted TCP socket's
 * owner (tt_sd_diff_bpf_owner) */
#define TT_F_FALLBACK_TCP (1u << 14)
/* Between the kernel side and the BPF source only, never in an event it delivers: a TRAFFIC
 * record --raw-slice 0 staged (bpf/stage.bpf.h), made while its connection was open, its
 * number on its socket in _pad */
#define TT_F_STAGED (1u << 15)

/* tt_ev_open.family */
#define TT_FAMILY_IPV4 4
#define TT_FAMILY_IPV6 6

/* tt_ev_open.direction */
#define TT_DIR_UNKNOWN 0
#define TT_DIR_OUTBOUND 1 /* active open: connect() */
#define TT_DIR_INBOUND 2  /* passive open: accept() */

/* tt_ev_reset.dir */
#define TT_RST_SENT 1
#define TT_RST_RECEIVED 2

/*
 * Why a segment was retransmitted (tt_ev_retrans.cause), from the socket at the retransmit:
 * the kernel's own classes, so each matches an nstat counter (docs/FORMAT.md).
 */
#define TT_RETRANS_UNKNOWN 0 /* the source cannot tell (sock_diag: totals only) */
#define TT_RETRANS_RTO 1  /* in loss recovery after a timeout: TCPTimeouts, TCPSlowStartRetrans */
#define TT_RETRANS_FAST 2 /* fast retransmit / RACK recovery: TCPFastRetrans */
#define TT_RETRANS_TLP 3  /* tail loss probe resending the last segment: TCPLossProbes */
#define TT_RETRANS_SYN 4  /* handshake: SYN or SYN-ACK retransmitted in SYN_SENT/SYN_RECV */
#define TT_RETRANS_SPURIOUS 5 /* not a retransmit: `spurious` segments reported as duplicates */
#define TT_RETRANS_CAUSE_MAX 6
/* tt_ev_close.fail_reason: why a connection failed or ended abnormally (0: it did not) */
#define TT_FAIL_NONE 0
#define TT_FAIL_REFUSED 1     /* RST in reply to our SYN (ECONNREFUSED) */
#define TT_FAIL_TIMEOUT 2     /* retries exhausted: SYN, data or keepalive (ETIMEDOUT) */
#define TT_FAIL_UNREACHABLE 3 /* ICMP: EHOSTUNREACH, ENETUNREACH, ... */
#define TT_FAIL_RESET 4	      /* reset by the peer (RST received) */
#define TT_FAIL_LOCAL_RESET 5 /* reset here: SO_LINGER 0, an aborted socket, a closed listener */
#define TT_FAIL_ABORT 6	      /* closed here with data it had not read (RST sent) */
#define TT_FAIL_MAX 7
#ifndef __bpf__
/*
 * A fail reason's one name, in every output (--dump, JSON, CSV, SQL's fail_reason, the view's
 * FAIL column): "refused", "timeout", ...; NULL for TT_FAIL_NONE and unknown numbers. Here, as
 * tt_tcp_state_name(), so state/ and view/ name it without format/. User space only.
 */
static inline const char *tt_fail_reason_name(unsigned reason)
{
	static const char *const names[TT_FAIL_MAX] = {
	    [TT_FAIL_REFUSED] = "refused",	   [TT_FAIL_TIMEOUT] = "timeout",
	    [TT_FAIL_UNREACHABLE] = "unreachable", [TT_FAIL_RESET] = "reset",
	    [TT_FAIL_LOCAL_RESET] = "local-reset", [TT_FAIL_ABORT] = "abort",
	};

	return reason < TT_FAIL_MAX ? names[reason] : (const char *)0;
}
#endif

/* TCP states are the kernel's numbers, 0 "no state" (UDP): enum tt_tcp_state, names and all,
 * in the one table of tt_tcp_states.h. */
#include "tt_tcp_states.h"

struct tt_ev_open {
	__u8 laddr[TT_ADDR_LEN]; /* local address, network byte order; IPv4 in the first 4 bytes */
	__u8 raddr[TT_ADDR_LEN]; /* remote address; all zero for an unconnected UDP flow with no
				    peer */
	__u16 lport;		 /* host byte order */
	__u16 rport;
	__u8 family;	/* TT_FAMILY_* (v4-mapped IPv6 is reported as IPv4) */
	__u8 proto;	/* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u8 direction; /* TT_DIR_* */
	__u8 state;	/* TCP state when first seen, 0 for UDP */
	__u32 netns;	/* network namespace inode number */
	__u32 _pad;
	__u64 cgroup_id;
	char comm[TT_COMM_LEN];
};

struct tt_ev_traffic {
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u32 tx_pkts; /* TCP segments / UDP datagrams */
	__u32 rx_pkts;
	__u32 tx_calls; /* send/recv calls (0 when only socket counters were sampled) */
	__u32 rx_calls;
};

struct tt_ev_state {
	__u8 old_state;
	__u8 new_state;
	__u8 _pad[6];
};

struct tt_ev_rtt {
	__u32 srtt_us;
	__u32 rttvar_us;
};

struct tt_ev_retrans {
	__u32 segs; /* retransmitted segments this event stands for */
	__u8 state; /* TCP state at the time */
	__u8 cause; /* TT_RETRANS_* */
	__u8 _pad[2];
	__u32 spurious; /* cause SPURIOUS: earlier retransmits the peer reported as duplicates */
	/*
	 * The socket's total_retrans with these segments: written by the sock_diag fallback's
	 * tt_retrans_k510 alone, for that source to count each retransmit once beside its polls
	 * (source/sd_diff.c); 0 past it, and in no capture.
	 */
	__u32 total;
};

struct tt_ev_reset {
	__u8 dir;   /* TT_RST_* */
	__u8 state; /* TCP state at the time */
	__u8 _pad[6];
};

struct tt_ev_close {
	__u64 tx_bytes; /* absolute, from the socket's own counters when it has them */
	__u64 rx_bytes;
	__u32 tx_pkts;
	__u32 rx_pkts;
	__u32 srtt_us;
	__u32 retrans;	  /* total retransmitted segments */
	__u8 state;	  /* last TCP state */
	__u8 fail_reason; /* TT_FAIL_* */
	__u8 _pad[6];
};
struct tt_ev_handshake {
	__u32 connect_us;  /* client: SYN sent to ESTABLISHED; server: SYN-ACK RTT (FORMAT.md) */
	__u32 syn_retrans; /* SYNs (client) or SYN-ACKs (server) retransmitted */
};
struct tt_ev_accept {
	__u32 wait_us; /* ESTABLISHED to accept() returning it */
	__u32 _pad;
};

/* As the kernel's tcp_get_info() computes the tcpi_ fields of the same names. */
struct tt_ev_sample {
	__u32 srtt_us; /* 0 in the close's sample: the close carries it */
	__u32 min_rtt_us;
	__u32 rttvar_us;
	__u32 cwnd;	  /* segments */
	__u32 ssthresh;	  /* segments; 0x7fffffff: still in initial slow start */
	__u32 in_flight;  /* segments (tcp_packets_in_flight) */
	__u32 lost;	  /* segments marked lost */
	__u32 reordering; /* reordering degree (segments) */
	__u32 dsack_dups; /* DSACKed segments */
	__u32 snd_wnd;	  /* the peer's window, bytes */
	__u32 rcv_wnd;	  /* the window we advertised last, bytes */
	__u8 app_limited; /* the delivery rate was measured while app-limited */
	__u8 _pad[3];
	__u64 pacing_rate;   /* bytes/s; ~0: no pacing; 0 in the close's sample: not given */
	__u64 delivery_rate; /* bytes/s */
	__u64 busy_us;	     /* busy + rwnd-limited + sndbuf-limited, as tcpi_busy_time */
	__u64 rwnd_limited_us;
	__u64 sndbuf_limited_us;
};

/* tt_ev_stall.side */
#define TT_STALL_LOCAL 1 /* we advertised a zero window: our process was not reading */
#define TT_STALL_PEER 2	 /* the peer's window was zero while we had data to send */
/* tt_ev_stall.phase */
#define TT_STALL_BEGIN 1 /* seen going on (ts: the pass that saw it) */
#define TT_STALL_END 2	 /* over (ts: its end) */

/* A stall began at ts - dur_us (both phases carry its start). */
struct tt_ev_stall {
	__u8 side;  /* TT_STALL_* */
	__u8 phase; /* TT_STALL_BEGIN / _END */
	__u8 _pad[6];
	__u64 dur_us; /* from the stall's start to ts */
};

struct tt_ev_proc {
	char comm[TT_COMM_LEN];
	__u32 ppid;
	__s32 exit_code; /* PROC_EXIT only */
};

struct tt_ev_lost {
	__u64 count; /* events dropped since the previous LOST record for this cpu */
	__u32 cpu;   /* TT_LOST_CPU_ANY: program runs the kernel skipped (re-entered on a cpu) */
	__u32 _pad;
};
#define TT_LOST_CPU_ANY 0xffffffffu

/* A listening socket (not a connection: conn_id 0; pid, tid: its owner when known), read by
 * the sampling pass. drops is the socket's own sk_drops: tcp_listendrop() adds one for each
 * of the namespace's ListenDrops it counts on this socket (every accept-queue overflow,
 * ListenOverflows, is one of them), so a namespace's listeners sum to its ListenDrops. */
struct tt_ev_listener {
	__u8 laddr[TT_ADDR_LEN]; /* network byte order, all zero for a wildcard */
	__u16 lport;
	__u8 family; /* TT_FAMILY_* */
	__u8 _pad;
	__u32 netns;
	__u32 accept_queue;	/* sk_ack_backlog: connections waiting for accept() */
	__u32 accept_queue_max; /* sk_max_ack_backlog: listen()'s backlog as the kernel caps it */
	__u64 drops;		/* sk_drops, since the socket was made */
	char comm[TT_COMM_LEN];
};

/* A packet freed with a drop reason (tracepoint kfree_skb). conn_id: the connection whose socket
 * the packet had, 0 for none we follow (the host). The reason's number is the recording
 * kernel's own (enum skb_drop_reason differs between kernels): user space stores its name,
 * read from that kernel's BTF, without the SKB_DROP_REASON_ prefix. */
struct tt_ev_drop {
	__u32 code;
	__u32 _pad;
	char reason[TT_NAME_LEN]; /* filled by user space */
};

struct tt_ev_stats {
	__u64 events;	 /* events received from the kernel so far */
	__u64 lost;	 /* events lost so far */
	__u64 conns;	 /* connections seen so far */
	__u64 bytes_out; /* capture bytes written so far */
};

struct tt_event {
	__u64 ts_ns; /* in the kernel: CLOCK_BOOTTIME ns; from tt_source_emit() on (the state table,
			the view, a capture's writer and reader): wall clock ns since the epoch */
	__u64 conn_id; /* socket cookie, or a per-capture flow id for UDP flows; 0 when not about a
			  connection */
	__u32 pid;     /* process id (tgid), 0 when unknown */
	__u32 tid;     /* thread id */
	__u16 kind;    /* enum tt_ev_kind */
	__u16 flags;   /* TT_F_* */
	__u32 _pad;
	union {
		struct tt_ev_open open;
		struct tt_ev_traffic traffic;
		struct tt_ev_state state;
		struct tt_ev_rtt rtt;
		struct tt_ev_retrans retrans;
		struct tt_ev_reset reset;
		struct tt_ev_close close;
		struct tt_ev_proc proc;
		struct tt_ev_lost lost;
		struct tt_ev_stats stats;
		struct tt_ev_handshake handshake;
		struct tt_ev_accept accept;
		struct tt_ev_sample sample;
		struct tt_ev_stall stall;
		struct tt_ev_listener listener;
		struct tt_ev_drop drop;
	} u;
};

#define TT_EVENT_HDR_SIZE 32 /* offsetof(struct tt_event, u) */

#include "tt_event_kinds.h"

/* A kind numbered in enum tt_ev_kind without an entry in TT_EVENT_KINDS (or the reverse). */
_Static_assert(TT_EVENT_KIND_COUNT == TT_EV_KIND_MAX - 1,
	       "every kind has one TT_EVENT_KINDS entry");
/* TT_EVENT_PERIODIC_MASK has a bit per kind. */
_Static_assert(TT_EV_KIND_MAX <= 64, "kinds are numbered below 64");
/* A state numbered past the table's last, or a gap in the numbers. */
_Static_assert(TT_TCP_STATE_COUNT == TT_TCP_STATE_MAX - 1,
	       "TCP states are numbered 1.. without a gap in TT_TCP_STATES");

/* Bytes a ring-buffer record of this kind occupies (header + its union member). */
static inline __u32 tt_event_size(__u16 kind)
{
	switch (kind) {
		TT_EVENT_KINDS(TT__KIND_SIZE, 0)
	default: return TT_EVENT_HDR_SIZE;
	}
}

/* TT_SCOPE_CONN, _PROC or _CAPTURE; 0 for a kind this build does not know. */
static inline int tt_event_scope(__u16 kind)
{
	switch (kind) {
		TT_EVENT_KINDS(TT__KIND_SCOPE, 0)
	default: return 0;
	}
}

/* Whether conn_id names the connection the event is about (whatever the kind's number). */
static inline int tt_event_about_conn(__u16 kind)
{
	return tt_event_scope(kind) == TT_SCOPE_CONN;
}

/*
 * Whether the kind is PERIODIC in TT_EVENT_KINDS (the sampling pass writes it again and again,
 * so the latest tell) rather than SPORADIC (each one tells); 0 for a kind this build does not
 * know.
 */
static inline int tt_event_periodic(__u16 kind)
{
	return kind < 64 && (TT_EVENT_PERIODIC_MASK >> kind & 1);
}

#endif /* TT_EVENT_H */
