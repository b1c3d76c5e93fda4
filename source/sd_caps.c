// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The sock_diag source's capabilities (sd_caps.h), said by the handle (caps.c). */
#include "sd_caps.h"

static const struct tt_source_cap_desc cap_desc[TT_SD_CAP_N] = {
    [TT_SD_CAP_SHORT] = {"short-lived",
			 "connections opened and closed within one interval are not seen"},
    [TT_SD_CAP_PERCALL] = {"per-call",
			   "no per-call detail (send/recv calls are 0) and --raw is refused"},
    [TT_SD_CAP_CLOSE] = {"exact-close",
			 "close times and the last interval's bytes are those of the last poll, "
			 "and TCP samples are at polls only (none at the close)"},
    [TT_SD_CAP_UDP] = {"udp-bytes", "UDP sockets are seen opening and closing, with no traffic"},
    [TT_SD_CAP_RESETS] = {"resets", "no reset events"},
    [TT_SD_CAP_PROCS] = {"processes", "no exec/exit events: process names may be stale"},
    [TT_SD_CAP_OWNERS] = {"owners", "sockets of other users' processes have no owner (pid 0)"},
    [TT_SD_CAP_NETNS] = {"namespaces", "connections in other network namespaces are not seen"},
    [TT_SD_CAP_RETRANS_CAUSE] = {"retrans-cause",
				 "retransmits are totals with cause unknown (no rto/fast/tlp); "
				 "spurious ones (DSACK) are counted"},
    [TT_SD_CAP_LISTENERS] = {"listeners", "no LISTENER records (accept queues, listen drops)"},
    [TT_SD_CAP_DROPS] = {"drop-reasons", "no DROP records (packets the kernel dropped, with why)"},
    [TT_SD_CAP_HANDSHAKE] = {"handshake",
			     "no connect_us, accept_wait_us, syn_retrans or fail_reason"},
    [TT_SD_CAP_STALLS] = {"stalls",
			  "no zero-window stalls of a side whose window tcp_info lacks (local: "
			  "tcpi_rcv_wnd; peer: tcpi_snd_wnd)"},
};

_Static_assert(TT_SD_CAP_N <= TT_SOURCE_MAX_CAPS, "the handle's table holds them all");

void tt_sd_caps_init(struct tt_source *h)
{
	tt_source_caps_init(h, cap_desc, TT_SD_CAP_N, "missing with sock_diag: ",
			    " (tcptop-record --source sockdiag --check tells why)");
}
