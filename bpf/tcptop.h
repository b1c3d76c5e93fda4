/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private contract between the kernel side (the .bpf.c files here) and record/: map layouts that
 * user space reads directly (UDP flow sums, lost counters). Events themselves
 * are struct tt_event (include/tt_event.h). Plain fixed-width types only.
 */
#ifndef TT_BPF_TCPTOP_H
#define TT_BPF_TCPTOP_H

#include "tt_event.h"

#define TT_BPF_MAX_TCP 65536   /* open TCP connections whose unseen close can be found */
#define TT_BPF_MAX_FLOWS 65536 /* default size of the UDP flow map (--udp-flows) */
#define TT_FILTER_MAX_BPF 8    /* TT_FILTER_MAX; tt_filter.h is not usable from BPF */

/* Filter verdicts kept per connection so that filtering costs one lookup. */
#define TT_V_PASS 1
#define TT_V_DROP 2

/*
 * One UDP flow: a socket and one remote endpoint; for a connected socket, one connection. gen
 * is 0, but for a flow that ended, which waits under a key no datagram looks up for its close:
 * of a connection that ended, TT_FLOW_GEN_ENDED | the socket's count of connections then
 * (flow.bpf.h, udp_conn_end); of a flow a datagram found idle, TT_FLOW_GEN_ENDED |
 * TT_FLOW_GEN_IDLE | bits of its last datagram's time (flow.bpf.h, flow_current).
 */
struct tt_flow_key {
	__u64 cookie;
	__u8 raddr[TT_ADDR_LEN];
	__u16 rport;
	__u8 family;
	__u8 _pad;
	__u32 gen;
};
#define TT_FLOW_GEN_ENDED (1U << 31)
#define TT_FLOW_GEN_IDLE (1U << 30)
/* In last_ts, with the gen of the key the flow moves to: it is moving (flow.bpf.h) */
#define TT_FLOW_MOVED (1ULL << 63)

/* Top bit of the flow ids BPF makes (never reused in a run): every flow's id but that of a
 * connected socket's first connection, which is the socket's cookie. */
#define TT_FLOW_PEER_BIT (1ULL << 63)

/* Sums only grow (atomic adds); user space keeps what it already reported (source/udp.c). */
struct tt_flow_val {
	__u64 id;
	__u64 first_ts; /* CLOCK_BOOTTIME of the first datagram */
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 tx_pkts;
	__u64 rx_pkts;
	__u64 last_ts; /* CLOCK_BOOTTIME of the latest datagram: idle flows are closed */
	__u32 pid;
	__u32 netns;
	__u8 verdict;	/* TT_V_* */
	__u8 connected; /* a connection: closed with it or its socket, not when idle */
	__u8 ended;	/* connected elsewhere (or disconnected), or idle: to be closed */
	__u8 _pad[5];
};

/*
 * An open TCP connection (map "tcp_live", key its id), with what the last sampling pass read
 * of it. Under load a kernel may not run a program for a tracepoint hit, and does not always
 * count that as a miss (seen on a 6.18 build: a socket's last state changes and its
 * tcp_destroy_sock, none run). A connection that a complete pass no longer finds has closed
 * unseen: user space closes it from here (source/tcp_gone.c). Passes are numbered by user
 * space (global cur_pass); an entry the current pass did not refresh is a socket it did not
 * find.
 */
struct tt_tcp_live {
	__u64 pass; /* the last pass that found the socket, or the one before its open */
	__u64 acked;
	__u64 rcvd;
	__u32 segs_out;
	__u32 segs_in;
	__u32 srtt;
	__u32 retrans;
	__u32 netns;
	__u32 pid;
	__u32 tid;
	__u32 _pad;
};

#endif /* TT_BPF_TCPTOP_H */
