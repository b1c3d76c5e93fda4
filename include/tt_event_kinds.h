/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One description of each event kind (the shape of the kernel's bpf_types.h and
 * __BPF_FUNC_MAPPER): every place that needs a list of kinds or of a kind's
 * fields expands these lines with its own macro, so adding a kind is one entry
 * here plus the logic that is truly new, and no list can forget it.
 *
 * Plain macros only: included by tt_event.h, so also compiled by clang -target bpf.
 *
 * TT_EVENT_KINDS(X, a) calls X(a, ID, name, member, scope, cadence) for each kind:
 *   ID      TT_EV_<ID> of enum tt_ev_kind (numbers are frozen there)
 *   name    what dumps, the query's `kind` column and tcptop-record --dump call it
 *   member  its payload: the member of tt_event.u, whose size is the ring-buffer record's
 *   scope   CONN (about the connection conn_id), PROC (about the process pid) or
 *           CAPTURE (about the whole capture)
 *   cadence PERIODIC (written again by every sampling pass or tick where it changed: the
 *           latest ones tell, and they are many, so a reader that keeps history bounds them
 *           apart, as the state table's timeline does) or SPORADIC (written when something
 *           happens: each one tells); tt_event_periodic()
 *
 * TT_EV_FIELDS_<ID>(F, a) calls F(a, field, type, jpos, label, text, column, sql) for
 * each field of the kind's payload, in the frozen order of the capture format
 * (docs/FORMAT.md, "Event payloads": only ever append):
 *   field   the member of the payload struct, also its key in the JSON dump
 *   type    U8 U16 U32 U64 (varint), S32 (zigzag varint), ADDR (bytes <= TT_ADDR_LEN,
 *           trailing zeros dropped; its family is the `family` member of the same struct),
 *           COMM (bytes <= TT_COMM_LEN, up to the first NUL), NAME (the same, <= TT_NAME_LEN)
 *   jpos    its place in the JSON dump's object (after the common keys)
 *   label   its word in the text dump (tcptop-replay --dump): " label value", or only
 *           " value" when "" (text `no`: not in the text dump)
 *   text    how the text dump shows it: no, val (as is), us (val then "us"), tcpstate
 *           (the state's name), rstdir ("sent"/"received"), cause (the retransmit
 *           cause's name), nz (as val, left out when 0), failreason (its name; nothing
 *           at all, label included, when 0)
 *   column  its column in the query's `events` table, none for no column
 *   sql     how the column reads it (NULL rules, docs/QUERY.md): none, u64 (always), nz
 *           (NULL when 0), i32, tcpstate, proto, dir, rstdir, cause, addr (NULL without a
 *           family), addr_nz (also NULL when all zero), comm, name (NULL when empty),
 *           failreason (its name, NULL when 0)
 */
#ifndef TT_EVENT_KINDS_H
#define TT_EVENT_KINDS_H

/* clang-format off */
#define TT_EVENT_KINDS(X, a)						\
	X(a, CONN_OPEN,  "open",      open,      CONN,    SPORADIC) \
	X(a, TRAFFIC,    "traffic",   traffic,   CONN,    PERIODIC) \
	X(a, STATE,      "state",     state,     CONN,    SPORADIC) \
	X(a, RTT,        "rtt",       rtt,       CONN,    PERIODIC) \
	X(a, RETRANS,    "retrans",   retrans,   CONN,    SPORADIC) \
	X(a, RESET,      "reset",     reset,     CONN,    SPORADIC) \
	X(a, CONN_CLOSE, "close",     close,     CONN,    SPORADIC) \
	X(a, CONN_PROC,  "conn_proc", proc,      CONN,    SPORADIC) \
	X(a, PROC_EXEC,  "exec",      proc,      PROC,    SPORADIC) \
	X(a, PROC_EXIT,  "exit",      proc,      PROC,    SPORADIC) \
	X(a, PROC_NAME,  "proc_name", proc,      PROC,    SPORADIC) \
	X(a, LOST,       "lost",      lost,      CAPTURE, SPORADIC) \
	X(a, STATS,      "stats",     stats,     CAPTURE, PERIODIC) \
	X(a, HANDSHAKE,  "handshake", handshake, CONN,    SPORADIC) \
	X(a, ACCEPT,     "accept",    accept,    CONN,    SPORADIC) \
	X(a, SAMPLE,     "sample",    sample,    CONN,    PERIODIC) \
	X(a, STALL,      "stall",     stall,     CONN,    SPORADIC) \
	X(a, LISTENER,   "listener",  listener,  CAPTURE, PERIODIC) \
	X(a, DROP,       "drop",      drop,      CAPTURE, SPORADIC)

/* The open's text dump is its own (endpoints, flags, Community ID): text `no` here. */
#define TT_EV_FIELDS_CONN_OPEN(F, a)						\
	F(a, family,    U8,   4,  "", no, family,    nz)			\
	F(a, proto,     U8,   5,  "", no, proto,     proto)			\
	F(a, direction, U8,   6,  "", no, direction, dir)			\
	F(a, state,     U8,   7,  "", no, state,     tcpstate)			\
	F(a, lport,     U16,  2,  "", no, lport,     u64)			\
	F(a, rport,     U16,  3,  "", no, rport,     u64)			\
	F(a, netns,     U32,  8,  "", no, netns,     u64)			\
	F(a, cgroup_id, U64,  9,  "", no, cgroup,    u64)			\
	F(a, laddr,     ADDR, 0,  "", no, laddr,     addr)			\
	F(a, raddr,     ADDR, 1,  "", no, raddr,     addr_nz)			\
	F(a, comm,      COMM, 10, "", no, comm,      comm)

#define TT_EV_FIELDS_TRAFFIC(F, a)						\
	F(a, tx_bytes, U64, 0, "tx",      val, tx_bytes,   u64)			\
	F(a, rx_bytes, U64, 1, "rx",      val, rx_bytes,   u64)			\
	F(a, tx_pkts,  U32, 2, "tx_pkts", val, tx_packets, u64)			\
	F(a, rx_pkts,  U32, 3, "rx_pkts", val, rx_packets, u64)			\
	F(a, tx_calls, U32, 4, "",        no,  tx_calls,   u64)			\
	F(a, rx_calls, U32, 5, "",        no,  rx_calls,   u64)

#define TT_EV_FIELDS_STATE(F, a)						\
	F(a, old_state, U8, 0, "",   tcpstate, old_state, tcpstate)		\
	F(a, new_state, U8, 1, "->", tcpstate, new_state, tcpstate)

#define TT_EV_FIELDS_RTT(F, a)							\
	F(a, srtt_us,   U32, 0, "srtt",   us, rtt_us,    u64)			\
	F(a, rttvar_us, U32, 1, "rttvar", us, rttvar_us, u64)

#define TT_EV_FIELDS_RETRANS(F, a)						\
	F(a, segs,     U32, 0, "segs",     val,   retrans,  u64)			\
	F(a, state,    U8,  1, "",         no,    state,    tcpstate)		\
	F(a, cause,    U8,  2, "",         cause, cause,    cause)			\
	F(a, spurious, U32, 3, "spurious", nz,    spurious, nz)

#define TT_EV_FIELDS_RESET(F, a)						\
	F(a, dir,   U8, 0, "", rstdir, reset_dir, rstdir)			\
	F(a, state, U8, 1, "", no,     state,     tcpstate)

#define TT_EV_FIELDS_CONN_CLOSE(F, a)						\
	F(a, tx_bytes, U64, 0, "tx",      val, tx_bytes,   u64)			\
	F(a, rx_bytes, U64, 1, "rx",      val, rx_bytes,   u64)			\
	F(a, tx_pkts,  U32, 2, "tx_pkts", val, tx_packets, u64)			\
	F(a, rx_pkts,  U32, 3, "rx_pkts", val, rx_packets, u64)			\
	F(a, srtt_us,  U32, 4, "srtt",    us,  rtt_us,     nz)			\
	F(a, retrans,  U32, 5, "retrans", val, retrans,    u64)			\
	F(a, state,    U8,  6, "",        no,  state,      tcpstate)		\
	F(a, fail_reason, U8, 7, "fail",  failreason, fail_reason, failreason)

/* The four process kinds share their payload; only an exit shows its exit code. */
#define TT_EV_FIELDS_CONN_PROC(F, a)						\
	F(a, comm,      COMM, 0, "comm", val, comm, comm)			\
	F(a, ppid,      U32,  1, "ppid", val, ppid, nz)				\
	F(a, exit_code, S32,  2, "",     no,  none, none)
#define TT_EV_FIELDS_PROC_EXEC(F, a) TT_EV_FIELDS_CONN_PROC(F, a)
#define TT_EV_FIELDS_PROC_NAME(F, a) TT_EV_FIELDS_CONN_PROC(F, a)
#define TT_EV_FIELDS_PROC_EXIT(F, a)						\
	F(a, comm,      COMM, 0, "comm", val, comm,      comm)			\
	F(a, ppid,      U32,  1, "ppid", val, ppid,      nz)			\
	F(a, exit_code, S32,  2, "exit", val, exit_code, i32)

#define TT_EV_FIELDS_LOST(F, a)							\
	F(a, count, U64, 0, "count", val, lost, u64)				\
	F(a, cpu,   U32, 1, "cpu",   val, cpu,  u64)

#define TT_EV_FIELDS_STATS(F, a)						\
	F(a, events,    U64, 0, "events", val, stat_events, u64)		\
	F(a, lost,      U64, 1, "lost",   val, lost,        u64)		\
	F(a, conns,     U64, 2, "conns",  val, stat_conns,  u64)		\
	F(a, bytes_out, U64, 3, "",       no,  stat_bytes,  u64)
#define TT_EV_FIELDS_HANDSHAKE(F, a)						\
	F(a, connect_us,  U32, 0, "connect",     us,  connect_us,  u64)		\
	F(a, syn_retrans, U32, 1, "syn_retrans", val, syn_retrans, u64)

#define TT_EV_FIELDS_ACCEPT(F, a)						\
	F(a, wait_us, U32, 0, "wait", us, accept_wait_us, u64)

#define TT_EV_FIELDS_SAMPLE(F, a)						\
	F(a, srtt_us,           U32, 0,  "srtt",      us,  rtt_us,            u64)	\
	F(a, min_rtt_us,        U32, 1,  "min_rtt",   us,  none,        none)	\
	F(a, rttvar_us,         U32, 2,  "rttvar",    us,  rttvar_us,         u64)	\
	F(a, cwnd,              U32, 3,  "cwnd",      val, none,              none)	\
	F(a, ssthresh,          U32, 4,  "ssthresh",  val, none,          none)	\
	F(a, in_flight,         U32, 7,  "in_flight", val, none,         none)	\
	F(a, lost,              U32, 8,  "lost",      val, none,         none)	\
	F(a, reordering,        U32, 9,  "reord",     val, none,        none)	\
	F(a, dsack_dups,        U32, 10, "dsack",     val, none,        none)	\
	F(a, snd_wnd,           U32, 11, "snd_wnd",   val, none,           none)	\
	F(a, rcv_wnd,           U32, 12, "rcv_wnd",   val, none,           none)	\
	F(a, app_limited,       U8,  6,  "app_lim",   val, none,       none)	\
	F(a, pacing_rate,       U64, 13, "pacing",    val, none,       none)	\
	F(a, delivery_rate,     U64, 5,  "delivery",  val, none,     none)	\
	F(a, busy_us,           U64, 14, "busy",      us,  none,           none)	\
	F(a, rwnd_limited_us,   U64, 15, "rwnd_lim",  us,  none,   none)	\
	F(a, sndbuf_limited_us, U64, 16, "sndbuf_lim", us, none, none)

#define TT_EV_FIELDS_STALL(F, a)						\
	F(a, side,   U8,  0, "side",  stallside,  none, none)	\
	F(a, phase,  U8,  1, "",      stallphase, none, none)	\
	F(a, dur_us, U64, 2, "dur",   us,  none,    none)

/* A listener is no connection (scope CAPTURE, conn_id 0): the query's `listeners` table. */
#define TT_EV_FIELDS_LISTENER(F, a)						\
	F(a, family,           U8,   1, "",          no,  family,           nz)	\
	F(a, lport,            U16,  2, "port",      val, lport,            u64)	\
	F(a, netns,            U32,  3, "netns",     val, netns,            u64)	\
	F(a, accept_queue,     U32,  4, "queue",     val, accept_queue,     u64)	\
	F(a, accept_queue_max, U32,  5, "max",       val, accept_queue_max, u64)	\
	F(a, drops,            U64,  6, "drops",     val, listen_drops,     u64)	\
	F(a, laddr,            ADDR, 0, "",          no,  laddr,            addr)	\
	F(a, comm,             COMM, 7, "comm",      val, comm,             comm)
/* About the host, or the connection conn_id names (not 0) when the packet had its socket. */
#define TT_EV_FIELDS_DROP(F, a)							\
	F(a, reason, NAME, 0, "reason", val, reason,    name)			\
	F(a, code,   U32,  1, "code",   val, drop_code, u64)
/* clang-format on */

/* What an event is about (enum tt_ev_scope); 0 for a kind this build does not know. */
#define TT_SCOPE_CONN 1
#define TT_SCOPE_PROC 2
#define TT_SCOPE_CAPTURE 3

/* clang-format 14 would join a case label in a macro body with the next #define */
/* clang-format off */
#define TT__KIND_SCOPE(a, id, name, member, scope, cadence)                                       \
	case TT_EV_##id:                                                                           \
		return TT_SCOPE_##scope;
#define TT__KIND_SIZE(a, id, name, member, scope, cadence)                                        \
	case TT_EV_##id:                                                                           \
		return TT_EVENT_HDR_SIZE + sizeof(((struct tt_event *)0)->u.member);
#define TT__KIND_COUNT(a, id, name, member, scope, cadence) +1
#define TT__CADENCE_PERIODIC 1ull
#define TT__CADENCE_SPORADIC 0ull
#define TT__KIND_PERIODIC(a, id, name, member, scope, cadence) | (TT__CADENCE_##cadence << TT_EV_##id)
/* clang-format on */

/* Bit k set: kind k is PERIODIC (tt_event_periodic()); kinds are numbered below 64. */
#define TT_EVENT_PERIODIC_MASK (0 TT_EVENT_KINDS(TT__KIND_PERIODIC, 0))

/* Kinds in the table: tt_event.h checks it against TT_EV_KIND_MAX. */
#define TT_EVENT_KIND_COUNT (0 TT_EVENT_KINDS(TT__KIND_COUNT, 0))

#endif /* TT_EVENT_KINDS_H */
