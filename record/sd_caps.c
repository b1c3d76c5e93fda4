// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The sock_diag source's capabilities (sd_caps.h), in record/caps.c's words and layout. */
#include <stdio.h>

#include "sd_caps.h"
#include "tt_src.h"

static const struct {
	const char *name;
	const char *loss;
} cap_desc[TT_SD_CAP_N] = {
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

static void compose(struct tt_sd_caps *d)
{
	size_t used = 0, wused = 0;
	char names[256];

	d->missing[0] = names[0] = '\0';
	for (int c = 0; c < TT_SD_CAP_N; c++) {
		if (d->state[c] != TT_SRC_CAP_MISSING)
			continue;
		if (used < sizeof(d->missing))
			used += snprintf(d->missing + used, sizeof(d->missing) - used,
					 "%s%s (%s): %s", used ? "; " : "", cap_desc[c].name,
					 d->why[c], cap_desc[c].loss);
		if (wused < sizeof(names))
			wused += snprintf(names + wused, sizeof(names) - wused, "%s%s",
					  wused ? " " : "", cap_desc[c].name);
	}
	d->warning[0] = '\0';
	if (names[0])
		snprintf(d->warning, sizeof(d->warning),
			 "missing with sock_diag: %s (tcptop-record --source sockdiag --check "
			 "tells why)",
			 names);
}

void tt_sd_caps_set(struct tt_sd_caps *d, int cap, int state, const char *why)
{
	d->state[cap] = state;
	snprintf(d->why[cap], sizeof(d->why[cap]), "%s", why);
	compose(d);
}

void tt_sd_caps_print_missing(const struct tt_sd_caps *d, const char *prog, FILE *f)
{
	for (int c = 0; c < TT_SD_CAP_N; c++)
		if (d->state[c] == TT_SRC_CAP_MISSING)
			fprintf(f, "%s: warning: missing %s (%s): %s\n", prog, cap_desc[c].name,
				d->why[c], cap_desc[c].loss);
}

void tt_sd_caps_print_check(const struct tt_sd_caps *d, FILE *f)
{
	static const char *const state[] = {
	    [TT_SRC_CAP_OK] = "ok",
	    [TT_SRC_CAP_UNUSED] = "not needed",
	    [TT_SRC_CAP_MISSING] = "MISSING",
	};

	for (int c = 0; c < TT_SD_CAP_N; c++) {
		int st = d->state[c];

		fprintf(f, "%-15s %-10s %s", cap_desc[c].name, state[st], d->why[c]);
		if (st == TT_SRC_CAP_MISSING)
			fprintf(f, ": %s", cap_desc[c].loss);
		fputc('\n', f);
	}
}
