// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Names of event kinds and TCP states, for every tool that prints them. */
#include "tt_fmt.h"

const char *tt_fmt_kind_name(unsigned kind)
{
#define NAME(a, id, name, member, scope) [TT_EV_##id] = name,
	static const char *const names[TT_EV_KIND_MAX] = {TT_EVENT_KINDS(NAME, 0)};
#undef NAME

	return kind < TT_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}

const char *tt_fmt_tcp_state_name(unsigned state)
{
	/* The kernel's numbering (include/net/tcp_states.h). */
	static const char *const names[TT_TCP_STATE_MAX] = {
	    "",		 "ESTABLISHED", "SYN_SENT",	"SYN_RECV",   "FIN_WAIT1",
	    "FIN_WAIT2", "TIME_WAIT",	"CLOSE",	"CLOSE_WAIT", "LAST_ACK",
	    "LISTEN",	 "CLOSING",	"NEW_SYN_RECV",
	};

	return state < TT_TCP_STATE_MAX ? names[state] : "?";
}
