// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Names of event kinds and field values, for every tool that prints them (TCP states':
 * tt_tcp_state_name(), tt_tcp_states.h). */
#include "tt_fmt.h"

const char *tt_fmt_kind_name(unsigned kind)
{
#define NAME(a, id, name, member, scope, cadence) [TT_EV_##id] = name,
	static const char *const names[TT_EV_KIND_MAX] = {TT_EVENT_KINDS(NAME, 0)};
#undef NAME

	return kind < TT_EV_KIND_MAX && names[kind] ? names[kind] : "unknown";
}

const char *tt_fmt_proto_name(unsigned proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : NULL;
}

const char *tt_fmt_dir_name(unsigned dir)
{
	return dir == TT_DIR_OUTBOUND ? "out" : dir == TT_DIR_INBOUND ? "in" : NULL;
}

const char *tt_fmt_rst_dir_name(unsigned dir)
{
	return dir == TT_RST_SENT ? "sent" : dir == TT_RST_RECEIVED ? "received" : NULL;
}

const char *tt_fmt_retrans_cause_name(unsigned cause)
{
	static const char *const names[TT_RETRANS_CAUSE_MAX] = {
	    [TT_RETRANS_UNKNOWN] = "unknown", [TT_RETRANS_RTO] = "rto",
	    [TT_RETRANS_FAST] = "fast",	      [TT_RETRANS_TLP] = "tlp",
	    [TT_RETRANS_SYN] = "syn",	      [TT_RETRANS_SPURIOUS] = "spurious",
	};

	return cause < TT_RETRANS_CAUSE_MAX ? names[cause] : NULL;
}

const char *tt_fmt_stall_side_name(unsigned side)
{
	return side == TT_STALL_LOCAL ? "local" : side == TT_STALL_PEER ? "peer" : "?";
}

const char *tt_fmt_stall_phase_name(unsigned phase)
{
	return phase == TT_STALL_BEGIN ? "begin" : phase == TT_STALL_END ? "end" : "?";
}

const char *tt_fmt_fail_reason_name(unsigned reason)
{
	return tt_fail_reason_name(reason);
}
