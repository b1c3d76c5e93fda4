// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tt_source: one handle over the live sources (source_int.h). Each fills in a table of
 * operations; the callers (tcptop, tcptop-record) hold a tt_source and never ask which one it
 * is. What is the same for every source is here and in deliver.c, once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_util.h"
#include "source_int.h"

int tt_source_exit_code(int ret, const struct tt_source_opts *opts)
{
	if (tt_source_reads_file(opts->source) || (ret == -EINVAL && opts->skip_probes))
		return 2;
	return 1;
}

/*
 * Where the BPF source fell back to sock_diag, the programs of it that a poll cannot replace
 * and the kernel loads (exec and exit; TCP's state changes, closes, retransmits and resets, and
 * UDP per datagram, by the programs built for kernels before 5.12: Linux 5.10 loads those, not
 * the rest) run beside it, through a handle of their own (its clock raw: the sock_diag handle
 * turns it into wall time). None loading leaves sock_diag as it is, its capabilities
 * "processes", "exact-close", "resets", "retrans-cause" and "udp-bytes" missing.
 */
static void open_assist(struct tt_source *sd, char *fallback, size_t fallback_len)
{
	static const char *const said[TT_ASSIST_N] = {
	    [TT_ASSIST_PROCS] = "exec and exit events",
	    [TT_ASSIST_RETRANS] = "TCP retransmits",
	    [TT_ASSIST_RESETS] = "TCP resets",
	    [TT_ASSIST_CLOSES] = "TCP handshakes, state changes and closes",
	    [TT_ASSIST_UDP] = "UDP datagram counts",
	    [TT_ASSIST_ACCEPT] = "TCP accepts",
	};
	static const int order[] = {TT_ASSIST_PROCS,  TT_ASSIST_CLOSES, TT_ASSIST_RETRANS,
				    TT_ASSIST_RESETS, TT_ASSIST_ACCEPT, TT_ASSIST_UDP};
	struct tt_source *a = calloc(1, sizeof(*a));
	size_t used = fallback_len ? strlen(fallback) : 0;
	const char *given[TT_ASSIST_N];
	int n = 0;
	char err[256];

	if (!a)
		return;
	a->opts = sd->opts;
	a->opts.verbose = 0; /* its refusals were said by the source it stands in for */
	if (tt_src_open_assist(a, err, sizeof(err))) {
		free(a);
		return;
	}
	tt_sockdiag_set_assist(sd, a);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (tt_src_assist_gives(a, order[i]))
			given[n++] = said[order[i]];
	/* "with BPF's A", "with BPF's A and B", "with BPF's A, B and C" */
	for (int i = 0; i < n && used && used < fallback_len; i++) {
		snprintf(fallback + used, fallback_len - used, "%s%s",
			 !i	      ? ", with BPF's "
			 : i == n - 1 ? " and "
				      : ", ",
			 given[i]);
		used += strlen(fallback + used);
	}
}

int tt_source_open(struct tt_source **out, const struct tt_source_opts *opts, char *fallback,
		   size_t fallback_len, char *err, size_t errlen)
{
	struct tt_source *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (fallback_len)
		fallback[0] = '\0';
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->opts = *opts;
	/* one measure for the whole run: the events and the header's clock_offset_ns share it */
	s->to_wall = tt_boot_to_wall_ns();
	if (opts->source == TT_SOURCE_FILE) {
		ret = tt_filesrc_open(s, err, errlen);
		goto done;
	}
	if (opts->source == TT_SOURCE_PCAP) {
		ret = tt_pcapsrc_open(s, err, errlen);
		goto done;
	}
	if (opts->source != TT_SOURCE_SOCKDIAG) {
		ret = tt_src_open(s, err, errlen);
		/*
		 * Only "BPF cannot load here" falls back: a usage error (a bad --no-probe) or a
		 * --raw the kernel cannot give stays an error, as the user asked for it.
		 */
		if (!ret || opts->source == TT_SOURCE_BPF || ret == -EINVAL || ret == -EOPNOTSUPP)
			goto done;
		snprintf(fallback, fallback_len, "BPF unavailable (%s): using sock_diag", err);
	}
	ret = tt_sockdiag_open(s, err, errlen);
	if (!ret && opts->source != TT_SOURCE_SOCKDIAG)
		open_assist(s, fallback, fallback_len);
done:
	if (ret) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int tt_source_poll(struct tt_source *s, int timeout_ms, tt_source_cb cb, void *ctx)
{
	tt_source_emit_begin(s, cb, ctx);
	if (tt_source_emit_pending(s))
		return s->cb_ret;
	return tt_source_emit_end(s, s->ops->poll(s, timeout_ms));
}

int tt_source_flush(struct tt_source *s, tt_source_cb cb, void *ctx)
{
	tt_source_emit_begin(s, cb, ctx);
	if (tt_source_emit_pending(s))
		return s->cb_ret;
	return tt_source_emit_end(s, s->ops->flush(s));
}

int tt_source_stop(struct tt_source *s, tt_source_cb cb, void *ctx)
{
	tt_source_emit_begin(s, cb, ctx);
	if (s->ops->halt)
		s->ops->halt(s);
	if (tt_source_emit_pending(s))
		return s->cb_ret;
	return tt_source_emit_end(s, s->ops->stop ? s->ops->stop(s) : 0);
}

const char *tt_source_mode(const struct tt_source *s)
{
	return s->ops->mode(s);
}

const char *tt_source_probes(const struct tt_source *s)
{
	return s->ops->probes(s);
}

const char *tt_source_missing(const struct tt_source *s)
{
	return s->ops->missing ? s->ops->missing(s) : tt_source_caps_missing(s);
}

const char *tt_source_warning(const struct tt_source *s)
{
	return s->ops->warning ? s->ops->warning(s) : tt_source_caps_warning(s);
}

void tt_source_print_missing(const struct tt_source *s, const char *prog, FILE *f)
{
	if (s->ops->print_missing)
		s->ops->print_missing(s, prog, f);
	else
		tt_source_caps_print_missing(s, prog, f);
}

void tt_source_print_check(const struct tt_source *s, FILE *f)
{
	if (s->ops->print_check)
		s->ops->print_check(s, f);
	else
		tt_source_caps_print_check(s, f);
}

int64_t tt_source_clock_offset(const struct tt_source *s)
{
	return s->ops->clock_offset ? s->ops->clock_offset(s) : s->to_wall;
}

void tt_source_stats(const struct tt_source *s, struct tt_source_stat *st)
{
	*st = s->stats;
	if (s->ops->stats)
		s->ops->stats(s, st);
}

int tt_source_table_full(const struct tt_source *s, char *buf, size_t len)
{
	struct tt_source_stat st;

	tt_source_stats(s, &st);
	if (!st.untracked)
		return 0;
	snprintf(
	    buf, len,
	    "more TCP connections open than the kernel's table of %" PRIu32
	    " (--tcp-conns): the close of one opened now is found only if the kernel reports it",
	    st.tcp_table);
	return 1;
}

int tt_source_after_drop(struct tt_source *s, char *err, size_t errlen)
{
	return s->ops->after_drop ? s->ops->after_drop(s, err, errlen) : 0;
}

void tt_source_close(struct tt_source *s)
{
	if (!s)
		return;
	s->ops->close(s);
	tt_source_emit_free(s);
	free(s);
}
