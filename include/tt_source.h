/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_source: where live events come from, whichever source it is: the BPF ring buffer
 * (tt_src.h, record/src.c), sock_diag polls (record/sockdiag.c, no BPF, no root), or a
 * capture file played at its recorded pace (record/filesrc.c). The live view and the recorder
 * hold one of these and never ask which (libpcap's pcap_t shape: a table of operations each
 * source fills in).
 */
#ifndef TT_SOURCE_H
#define TT_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_src.h"

enum tt_source_kind {
	TT_SOURCE_AUTO = 0, /* BPF where it loads, else sock_diag, saying why */
	TT_SOURCE_BPF,
	TT_SOURCE_SOCKDIAG,
	TT_SOURCE_FILE, /* tt_src_opts.source_path */
};

struct tt_source;

/*
 * Open the source opts->source names (tt_src_opts.source). AUTO tries BPF first; if it
 * cannot load (no privileges, no BTF, a locked-down container) it opens sock_diag and puts
 * the reason in *fallback (a line for the caller to print; "" when BPF loaded).
 * Returns 0, or a negative errno with a one-line message in err.
 */
int tt_source_open(struct tt_source **out, const struct tt_src_opts *opts, char *fallback,
		   size_t fallback_len, char *err, size_t errlen);

/*
 * As tt_src_poll() / tt_src_flush(): events to cb; counts, cb's value or -errno (-EINTR).
 * -ENODATA: the source has ended (a capture file played to its end); not an error.
 */
int tt_source_poll(struct tt_source *s, int timeout_ms, tt_src_cb cb, void *ctx);
int tt_source_flush(struct tt_source *s, tt_src_cb cb, void *ctx);
/*
 * After the last tt_source_flush(): stop what makes events and deliver what it made until
 * then (tt_src_stop); a source that makes none between calls (sock_diag, a file) has nothing
 * to do. Returns as tt_source_flush().
 */
int tt_source_stop(struct tt_source *s, tt_src_cb cb, void *ctx);

/* For the capture header: "coalesce", "raw", "sockdiag"; attach points; what is missing. */
const char *tt_source_mode(const struct tt_source *s);
const char *tt_source_probes(const struct tt_source *s);
const char *tt_source_missing(const struct tt_source *s); /* NULL when nothing is */
const char *tt_source_warning(const struct tt_source *s); /* a short line for a view header */
void tt_source_print_missing(const struct tt_source *s, const char *prog, FILE *f);
void tt_source_print_check(const struct tt_source *s, FILE *f);
int64_t tt_source_clock_offset(const struct tt_source *s);
void tt_source_stats(const struct tt_source *s, struct tt_src_stats *st);
/* After the caller dropped root: 0, or -EPERM with a message (see tt_src_after_drop). */
int tt_source_after_drop(struct tt_source *s, char *err, size_t errlen);
void tt_source_close(struct tt_source *s);

/*
 * The exit status for a failed tt_source_open(): a usage error (a --no-probe name) or a bad
 * input file (file:PATH missing, not a capture) is 2, anything else 1 (HACKING.md).
 */
int tt_source_exit_code(int ret, const struct tt_src_opts *opts);

/* "auto", "bpf", "sockdiag", "file:PATH" (*path = PATH) -> TT_SOURCE_*, or -1. */
int tt_source_parse(const char *name, const char **path);

#endif /* TT_SOURCE_H */
