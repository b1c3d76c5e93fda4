// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What the live source can do on this kernel: each optional program (or facility) is a
 * capability that is ok, not needed in this mode, or missing with the reason, and what its
 * absence does to the data. Kernels differ (a verifier that refuses one program, a
 * tracepoint that does not exist yet, fexit refused): each refusal costs only its own
 * capability, and is said.
 */
#include <stdio.h>
#include <string.h>

#include "src_int.h"

static const struct {
	const char *name;
	const char *loss; /* what the data lacks without it */
} cap_desc[TT_CAP_N] = {
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

const char *tt_src_cap_name(int cap)
{
	return cap >= 0 && cap < TT_CAP_N ? cap_desc[cap].name : "?";
}

static void compose(const struct tt_src *s, char *buf, size_t len, int with_loss);

void tt_src_cap_set(struct tt_src *s, int cap, int state, const char *why)
{
	char names[256];

	s->cap_state[cap] = state;
	snprintf(s->cap_why[cap], sizeof(s->cap_why[cap]), "%s", why ? why : "");
	compose(s, s->missing, sizeof(s->missing), 1);
	compose(s, names, sizeof(names), 0);
	s->warning[0] = '\0';
	if (names[0])
		snprintf(s->warning, sizeof(s->warning),
			 "missing on this kernel: %s (tcptop-record --check tells why)", names);
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

/* "name (why): loss" of each missing capability, joined by "; ". */
static void compose(const struct tt_src *s, char *buf, size_t len, int with_loss)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int c = 0; c < TT_CAP_N; c++) {
		if (s->cap_state[c] != TT_SRC_CAP_MISSING)
			continue;
		if (with_loss)
			used += snprintf(buf + used, len - used, "%s%s (%s): %s", used ? "; " : "",
					 cap_desc[c].name, s->cap_why[c], cap_desc[c].loss);
		else
			used += snprintf(buf + used, len - used, "%s%s", used ? " " : "",
					 cap_desc[c].name);
		if (used >= len) {
			buf[len - 1] = '\0';
			return;
		}
	}
}

const char *tt_src_missing(const struct tt_src *s)
{
	return s->missing[0] ? s->missing : NULL;
}

const char *tt_src_warning(const struct tt_src *s)
{
	return s->warning[0] ? s->warning : NULL;
}

void tt_src_print_missing(const struct tt_src *s, const char *prog, FILE *f)
{
	for (int c = 0; c < TT_CAP_N; c++)
		if (s->cap_state[c] == TT_SRC_CAP_MISSING)
			fprintf(f, "%s: warning: missing %s (%s): %s\n", prog, cap_desc[c].name,
				s->cap_why[c], cap_desc[c].loss);
}

void tt_src_print_check(const struct tt_src *s, FILE *f)
{
	static const char *const state[] = {
	    [TT_SRC_CAP_OK] = "ok",
	    [TT_SRC_CAP_UNUSED] = "not needed",
	    [TT_SRC_CAP_MISSING] = "MISSING",
	};

	for (int c = 0; c < TT_CAP_N; c++) {
		int st = s->cap_state[c];

		fprintf(f, "%-15s %-10s %s", cap_desc[c].name, state[st], s->cap_why[c]);
		if (st == TT_SRC_CAP_MISSING)
			fprintf(f, ": %s", cap_desc[c].loss);
		fputc('\n', f);
	}
}
