// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of what a source says it lacks (the handle's one capability table, source/caps.c,
 * with the BPF source's and sock_diag's names, src_caps.c and sd_caps.c): the verifier's
 * one-line reason picked out of a real log, and the lines, header text and view warning made
 * from the capabilities' states. One line per check, exit 1 on any failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../source/src_int.h"
#include "../../source/sd_caps.h"
#include "check.h"

/* The tail of the log a 6.18 verifier wrote for tt_iter_files (tcptop-record -v). */
static const char log_618[] =
    "0: R1=ctx() R10=fp0\n"
    "5: (85) call bpf_sock_from_file#162   ; R0=ptr_or_null_socket(id=3)\n"
    "14: (85) call bpf_sk_storage_get#107\n"
    "R2 type=untrusted_ptr_ expected=ptr_, trusted_ptr_, rcu_ptr_\n"
    "processed 14 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 "
    "mark_read 0\n";

#define OWNER_TEXT "owner-sweep (iter:task_file refused): owners of"
#define OWNER_LINE "prog: warning: missing owner-sweep (iter:task_file refused): owners of"

/* --check's text into buf; returns its lines. */
static int print_check(const struct tt_source *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	int lines = 0;

	tt_source_caps_print_check(s, f);
	fclose(f);
	for (const char *c = buf; (c = strchr(c, '\n')); c++)
		lines++;
	return lines;
}

int main(void)
{
	struct tt_source *s = calloc(1, sizeof(*s));
	char why[160], buf[4096];
	FILE *f;
	int lines;

	tt_src_verifier_reason(log_618, sizeof(log_618) + 100, why, sizeof(why));
	check(!strcmp(why, "refused by the verifier: R2 type=untrusted_ptr_ expected=ptr_, "
			   "trusted_ptr_, rcu_ptr_"),
	      "the reason is the last line that is not a statistic: '%s'", why);
	{
		/* a log as long as its buffer: kernels before 6.4 cut its end, and the reason */
		char full[64];

		memset(full, 'x', sizeof(full) - 1);
		full[sizeof(full) - 1] = '\0';
		tt_src_verifier_reason(full, sizeof(full), why, sizeof(why));
		check(!strcmp(why, "refused by the verifier"), "a full log gives no reason: '%s'",
		      why);
	}
	tt_src_verifier_reason("processed 3 insns\n", 64, why, sizeof(why));
	check(!strcmp(why, "refused by the verifier"), "statistics only: no reason: '%s'", why);

	tt_src_caps_init(s);
	for (int c = 0; c < TT_CAP_N; c++)
		tt_source_cap_set(s, c, TT_SOURCE_CAP_OK, "x:y");
	check(!tt_source_caps_missing(s) && !tt_source_caps_warning(s),
	      "nothing missing: no header text, no warning");
	tt_source_cap_set(s, TT_CAP_OWNER_SWEEP, TT_SOURCE_CAP_MISSING, "iter:task_file refused");
	tt_source_cap_set(s, TT_CAP_NETNS, TT_SOURCE_CAP_MISSING, "setns: Operation not permitted");
	check(tt_source_caps_missing(s) &&
		  !strncmp(tt_source_caps_missing(s), OWNER_TEXT, strlen(OWNER_TEXT)) &&
		  strstr(tt_source_caps_missing(s),
			 "; namespaces (setns: Operation not permitted): TCP"),
	      "header text: each missing one, 'name (why): loss', joined by '; ': %s",
	      tt_source_caps_missing(s));
	check(tt_source_caps_warning(s) && !strcmp(tt_source_caps_warning(s),
						   "missing on this kernel: owner-sweep namespaces "
						   "(tcptop-record --check tells why)"),
	      "view warning names them: %s", tt_source_caps_warning(s));
	f = fmemopen(buf, sizeof(buf), "w");
	tt_source_caps_print_missing(s, "prog", f);
	fclose(f);
	check(!strncmp(buf, OWNER_LINE, strlen(OWNER_LINE)) &&
		  strstr(buf, "\nprog: warning: missing namespaces (") &&
		  buf[strlen(buf) - 1] == '\n' && strchr(buf, '\n') != strrchr(buf, '\n'),
	      "one stderr line per missing capability");
	tt_source_cap_set(s, TT_CAP_OWNER_SWEEP, TT_SOURCE_CAP_OK, "iter:task_file");
	tt_source_cap_set(s, TT_CAP_NETNS, TT_SOURCE_CAP_UNUSED, "not needed");
	check(!tt_source_caps_missing(s) && !tt_source_caps_warning(s),
	      "found again: nothing said");
	lines = print_check(s, buf, sizeof(buf));
	check(lines == TT_CAP_N && strstr(buf, "owner-sweep     ok         iter:task_file\n") &&
		  strstr(buf, "namespaces      not needed not needed\n"),
	      "--check: a line per capability, state and why (%d lines)", lines);

	/* sock_diag's names in the same table, with its own warning */
	tt_sd_caps_init(s);
	check(!tt_source_caps_missing(s) && !tt_source_caps_warning(s), "a new table: all ok");
	tt_source_cap_set(s, TT_SD_CAP_SHORT, TT_SOURCE_CAP_MISSING,
			  "sock_diag polls every 1000 ms");
	tt_source_cap_set(s, TT_SD_CAP_UDP, TT_SOURCE_CAP_MISSING,
			  "sock_diag has no UDP byte counters");
	check(tt_source_caps_missing(s) &&
		  !strcmp(
		      tt_source_caps_missing(s),
		      "short-lived (sock_diag polls every 1000 ms): connections opened and "
		      "closed within one interval are not seen; udp-bytes (sock_diag has no UDP "
		      "byte counters): UDP sockets are seen opening and closing, with no traffic"),
	      "sock_diag header text: %s", tt_source_caps_missing(s));
	check(tt_source_caps_warning(s) &&
		  !strcmp(tt_source_caps_warning(s),
			  "missing with sock_diag: short-lived udp-bytes (tcptop-record --source "
			  "sockdiag --check tells why)"),
	      "sock_diag warning: %s", tt_source_caps_warning(s));
	lines = print_check(s, buf, sizeof(buf));
	check(
	    lines == TT_SD_CAP_N &&
		strstr(buf, "udp-bytes       MISSING    sock_diag has no UDP byte counters: UDP") &&
		strstr(buf, "\nlisteners       ok         \n"),
	    "sock_diag --check: a line per capability (%d lines)", lines);
	free(s);
	return failures ? 1 : 0;
}
