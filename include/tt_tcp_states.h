/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one table of TCP states (the shape of tt_event_kinds.h): the kernel's numbers
 * (include/net/tcp_states.h), which captures store, and the one name each state has in every
 * output: the view, the text and JSON dumps, CSV and SQL. State 7 is "CLOSED" (RFC 793's
 * name, and what a user types in `WHERE state = 'CLOSED'`), not the kernel's TCP_CLOSE.
 *
 * Plain macros only: included by tt_event.h, so also compiled by clang -target bpf.
 *
 * TT_TCP_STATES(X, a) calls X(a, ID, number, name) for each state:
 *   ID      TT_TCP_<ID> of enum tt_tcp_state (the kernel's TCP_<ID>)
 *   number  the kernel's number, stored in captures (frozen)
 *   name    what every tool prints and the query's state columns hold (tt_tcp_state_name():
 *           format/ for the dumps and SQL, state/ for the view's STATE cell and CSV's state)
 */
#ifndef TT_TCP_STATES_H
#define TT_TCP_STATES_H

/* clang-format off */
#define TT_TCP_STATES(X, a)					\
	X(a, ESTABLISHED,  1,  "ESTABLISHED")			\
	X(a, SYN_SENT,     2,  "SYN_SENT")			\
	X(a, SYN_RECV,     3,  "SYN_RECV")			\
	X(a, FIN_WAIT1,    4,  "FIN_WAIT1")			\
	X(a, FIN_WAIT2,    5,  "FIN_WAIT2")			\
	X(a, TIME_WAIT,    6,  "TIME_WAIT")			\
	X(a, CLOSE,        7,  "CLOSED")			\
	X(a, CLOSE_WAIT,   8,  "CLOSE_WAIT")			\
	X(a, LAST_ACK,     9,  "LAST_ACK")			\
	X(a, LISTEN,       10, "LISTEN")			\
	X(a, CLOSING,      11, "CLOSING")			\
	X(a, NEW_SYN_RECV, 12, "NEW_SYN_RECV")
/* clang-format on */

#define TT__TCP_STATE_ENUM(a, id, num, name) TT_TCP_##id = num,
/* 0 is "no state" (UDP); TT_TCP_STATE_MAX, one past the last, sizes tables indexed by state. */
enum tt_tcp_state { TT_TCP_NONE = 0, TT_TCP_STATES(TT__TCP_STATE_ENUM, 0) TT_TCP_STATE_MAX };
#undef TT__TCP_STATE_ENUM

/* The numbers run 1.. without a gap (tt_event.h checks), so a table indexed by them is full. */
#define TT__TCP_STATE_COUNT(a, id, num, name) +1
#define TT_TCP_STATE_COUNT (0 TT_TCP_STATES(TT__TCP_STATE_COUNT, 0))

/*
 * A state's number is the kernel's: TT_TCP_STATES(TT_TCP_STATE_IS_KERNEL, TCP_) in BPF
 * (vmlinux.h, the running kernel's own enum) and with BPF_TCP_ in user space (linux/bpf.h,
 * kept in sync with include/net/tcp_states.h) fail to compile once an entry drifts.
 */
#define TT_TCP_STATE_IS_KERNEL(a, id, num, name)                                                   \
	_Static_assert((int)TT_TCP_##id == (int)a##id, "TT_TCP_" #id " is the kernel's number");

#ifndef __bpf__
/*
 * The name of a state, the one every output prints ("ESTABLISHED", ...; "CLOSED" for 7), ""
 * for 0 (no state: UDP), "?" out of range. User space only: the kernel side needs no names.
 */
#define TT__TCP_STATE_NAME(a, id, num, name) [num] = name,
static inline const char *tt_tcp_state_name(unsigned state)
{
	static const char *const names[TT_TCP_STATE_MAX] = {[TT_TCP_NONE] = "",
							    TT_TCP_STATES(TT__TCP_STATE_NAME, 0)};

	return state < TT_TCP_STATE_MAX ? names[state] : "?";
}
#undef TT__TCP_STATE_NAME
#endif

#endif /* TT_TCP_STATES_H */
