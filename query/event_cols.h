/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The columns of the query's `events` table, in their order: C(name, type, doc, notnull).
 * schema.c declares them, columns.c numbers them (EC_<name>). Past the common ones, a
 * column is a field of one or more kinds: the kind table (tt_event_kinds.h) names the
 * column of each field and how it reads; a column no field names is derived (community_id).
 * Column names are an interface: only append.
 */
#ifndef TQ_EVENT_COLS_H
#define TQ_EVENT_COLS_H

/* clang-format off */
#define TQ_EVENT_COLS(C)								\
	C(file, TQ_TEXT, "capture file", NN)						\
	C(host, TQ_TEXT, "host name of the recording machine", NN)			\
	C(ts, TQ_INT, "wall clock ns since the epoch", NN)				\
	C(kind, TQ_TEXT,								\
	  "open traffic state rtt retrans reset close conn_proc exec exit "		\
	  "proc_name lost stats handshake accept sample stall listener drop (see docs/QUERY.md)",					\
	  NN)										\
	C(conn_id, TQ_INT, "connection id, NULL when not about a connection", NL)	\
	C(pid, TQ_INT, "process id, NULL when unknown", NL)				\
	C(tid, TQ_INT, "thread id, NULL when unknown", NL)				\
	C(flags, TQ_INT, "TT_F_* bits (1 preexisting, 2 pid unknown, 4 raw)", NN)	\
	C(tx_bytes, TQ_INT, "traffic: delta; close: absolute", NL)			\
	C(rx_bytes, TQ_INT, "traffic: delta; close: absolute", NL)			\
	C(tx_packets, TQ_INT, "traffic: delta; close: absolute", NL)			\
	C(rx_packets, TQ_INT, "traffic: delta; close: absolute", NL)			\
	C(tx_calls, TQ_INT, "traffic: send calls", NL)					\
	C(rx_calls, TQ_INT, "traffic: recv calls", NL)					\
	C(old_state, TQ_TEXT, "state: TCP state before", NL)				\
	C(new_state, TQ_TEXT, "state: TCP state after", NL)				\
	C(state, TQ_TEXT, "open, retrans, reset, close: TCP state at the time", NL)	\
	C(rtt_us, TQ_INT, "rtt: smoothed RTT; close: last smoothed RTT", NL)		\
	C(rttvar_us, TQ_INT, "rtt: RTT variance", NL)					\
	C(retrans, TQ_INT, "retrans: segments; close: total retransmitted segments", NL) \
	C(reset_dir, TQ_TEXT, "reset: 'sent' or 'received'", NL)			\
	C(proto, TQ_TEXT, "open: 'tcp' or 'udp'", NL)					\
	C(family, TQ_INT, "open: 4 or 6", NL)						\
	C(laddr, TQ_TEXT, "open: local address", NL)					\
	C(lport, TQ_INT, "open: local port", NL)					\
	C(raddr, TQ_TEXT, "open: remote address", NL)					\
	C(rport, TQ_INT, "open: remote port", NL)					\
	C(direction, TQ_TEXT, "open: 'out', 'in' or NULL", NL)				\
	C(netns, TQ_INT, "open: network namespace inode", NL)				\
	C(cgroup, TQ_INT, "open: cgroup v2 id", NL)					\
	C(comm, TQ_TEXT, "open, conn_proc, exec, exit, proc_name: process name", NL)	\
	C(ppid, TQ_INT, "conn_proc, exec, exit, proc_name: parent pid", NL)		\
	C(exit_code, TQ_INT, "exit: wait status (exit(n) reads n * 256, signal s reads s)", NL) \
	C(lost, TQ_INT, "lost: events lost; stats: events lost so far", NL)		\
	C(cpu, TQ_INT, "lost: cpu", NL)							\
	C(stat_events, TQ_INT, "stats: events received so far", NL)			\
	C(stat_conns, TQ_INT, "stats: connections seen so far", NL)			\
	C(stat_bytes, TQ_INT, "stats: capture bytes written so far", NL)		\
	C(community_id, TQ_TEXT,							\
	  "open: Community ID v1 flow hash, NULL when an address is unknown", NL)	\
	C(cause, TQ_TEXT,								\
	  "retrans: 'rto', 'fast', 'tlp', 'syn', 'spurious' or 'unknown'", NL)	\
	C(spurious, TQ_INT, "retrans (cause spurious): segments the peer reported as duplicates", NL)	\
	C(accept_queue, TQ_INT, "listener: connections waiting for accept()", NL)	\
	C(accept_queue_max, TQ_INT, "listener: its accept queue's limit (backlog)", NL) \
	C(listen_drops, TQ_INT, "listener: the socket's drops (sk_drops) so far", NL)	\
	C(reason, TQ_TEXT, "drop: the kernel's drop reason (SKB_DROP_REASON_ without prefix)", NL) \
	C(drop_code, TQ_INT, "drop: the reason's number on the recording kernel", NL)	\
	C(fail_reason, TQ_TEXT, "close: 'refused' 'timeout' 'unreachable' 'reset' "	\
	  "'local-reset' 'abort', NULL when it did not fail", NL)			\
	C(connect_us, TQ_INT, "handshake: SYN to ESTABLISHED (server: SYN-ACK RTT)", NL) \
	C(syn_retrans, TQ_INT, "handshake: SYNs or SYN-ACKs retransmitted", NL)	\
	C(accept_wait_us, TQ_INT, "accept: ESTABLISHED to accept()", NL)
/* clang-format on */

#endif /* TQ_EVENT_COLS_H */
