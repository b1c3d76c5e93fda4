// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Names of event kinds and TCP states, for every tool that prints them. */
#include "tt_fmt.h"

const char *tt_fmt_kind_name(unsigned kind)
{
	static const char *const names[TT_EV_KIND_MAX] = {
	    [TT_EV_CONN_OPEN] = "open",	     [TT_EV_TRAFFIC] = "traffic",
	    [TT_EV_STATE] = "state",	     [TT_EV_RTT] = "rtt",
	    [TT_EV_RETRANS] = "retrans",     [TT_EV_RESET] = "reset",
	    [TT_EV_CONN_CLOSE] = "close",    [TT_EV_CONN_PROC] = "conn_proc",
	    [TT_EV_PROC_EXEC] = "exec",	     [TT_EV_PROC_EXIT] = "exit",
	    [TT_EV_PROC_NAME] = "proc_name", [TT_EV_LOST] = "lost",
	    [TT_EV_STATS] = "stats",
	};

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
