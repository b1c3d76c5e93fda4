// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the BPF source can do on this kernel: each optional program (or facility) is a
 * capability that is ok, not needed in this mode, or missing with the reason, and what its
 * absence does to the data. Kernels differ (a verifier that refuses one program, a
 * tracepoint that does not exist yet, fexit refused): each refusal costs only its own
 * capability, and is said. The handle keeps the states and says them (caps.c).
 */
#include <stdio.h>
#include <string.h>

#include "src_int.h"

static const struct tt_source_cap_desc cap_desc[TT_CAP_N] = {
    [TT_CAP_SENDRECV] = {"send-recv", "UDP traffic is not recorded and --raw is unavailable"},
    [TT_CAP_UDP_PKTS] = {"udp-counts",
			 "UDP is counted by the per-call hooks instead, which cost every send and "
			 "receive of the machine (TCP's too) some CPU"},
    [TT_CAP_UDP_PEERS] =
	{"udp-peers",
	 "where UDP is counted per call (--raw, or udp-counts missing), the traffic of "
	 "unconnected sockets is summed per socket, not per remote"},
    [TT_CAP_OWNER_SWEEP] = {"owner-sweep",
			    "owners of accepted and pre-existing TCP connections stay unknown "
			    "('-') until the owner closes them"},
    [TT_CAP_ACCEPT] = {"accept-owner",
		       "with a process filter, an accepted connection is recorded only when a "
		       "file-table sweep names its owner (within a sampling interval); "
		       "--accept-wait has no accept waits"},
    [TT_CAP_DESTROY] = {"close-recovery",
			"a close the kernel skipped (counted as lost) is not recovered"},
    [TT_CAP_UDP_CLOSE] = {"udp-close",
			  "a connected UDP socket's flow is closed after --udp-timeout without a "
			  "datagram (as a remote of an unconnected socket), not when the socket "
			  "closes"},
    [TT_CAP_RETRANS] = {"retransmits", "no retransmit events, so no causes (rto, fast, tlp, syn): "
				       "the close still carries the total"},
    [TT_CAP_RESETS] = {"resets", "no reset events"},
    [TT_CAP_PROCS] = {"processes", "no exec/exit events: process names may be stale"},
    [TT_CAP_NETNS] = {"namespaces",
		      "TCP connections in other network namespaces are not sampled while open: "
		      "their traffic and RTT show only at state changes and the close"},
    [TT_CAP_LISTENERS] = {"listeners", "no LISTENER records (accept queues, listen drops)"},
    [TT_CAP_DROPS] = {"drop-reasons", "no DROP records (packets the kernel dropped, with why)"},
    [TT_CAP_SK_ERROR] = {"socket-errors",
			 "a connection whose error its application took (SO_ERROR after a "
			 "connect() with a timeout) before closing it has no fail_reason"},
};

_Static_assert(TT_CAP_N <= TT_SOURCE_MAX_CAPS, "the handle's table holds them all");

void tt_src_caps_init(struct tt_source *h)
{
	tt_source_caps_init(h, cap_desc, TT_CAP_N,
			    "missing on this kernel: ", " (tcptop-record --check tells why)");
}

/*
 * The verifier's reason: the last line of its log that is not a statistic. Kernels before 6.4
 * keep the log's beginning when it overflows: then the reason is not there to show.
 */
void tt_src_verifier_reason(const char *log, size_t size, char *out, size_t outlen)
{
	const char *line = log, *best = NULL;
	size_t best_len = 0;

	snprintf(out, outlen, "refused by the verifier");
	if (strnlen(log, size) >= size - 1)
		return; /* full: truncated at the start or the end, whichever the kernel keeps */
	while (*line) {
		size_t len = strcspn(line, "\n");

		if (len && strncmp(line, "processed ", 10) &&
		    strncmp(line, "verification time", 17) && strncmp(line, "stack depth", 11) &&
		    strncmp(line, "max_states_per_insn", 19) && strncmp(line, "Validating ", 11)) {
			best = line;
			best_len = len;
		}
		line += len;
		if (*line)
			line++;
	}
	if (best)
		snprintf(out, outlen, "refused by the verifier: %.*s", (int)best_len, best);
}
