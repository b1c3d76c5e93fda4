/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The sock_diag source (record/sockdiag.c): no BPF, no root needed. Every sampling interval
 * it asks NETLINK_SOCK_DIAG for the TCP sockets (inet_diag with INET_DIAG_INFO: tcp_info's
 * bytes_acked, bytes_received, segs, rtt, retransmits) and the UDP sockets of every network
 * namespace it can enter, names owners from the socket inodes under /proc/PID/fd, and turns
 * the differences between two polls into the same events the BPF source makes: CONN_OPEN,
 * TRAFFIC, STATE, RTT, RETRANS, CONN_PROC, CONN_CLOSE. What it cannot see is said as missing
 * capabilities (connections shorter than an interval, per-call detail, exact close times,
 * UDP bytes). Capture header mode "sockdiag". Used through tt_source.h only.
 */
#ifndef TT_SOCKDIAG_H
#define TT_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_src.h"

struct tt_sockdiag;

/* opts->raw is refused (-EOPNOTSUPP with a message); filters apply in user space. */
int tt_sockdiag_open(struct tt_sockdiag **out, const struct tt_src_opts *opts, char *err,
		     size_t errlen);
int tt_sockdiag_poll(struct tt_sockdiag *d, int timeout_ms, tt_src_cb cb, void *ctx);
int tt_sockdiag_flush(struct tt_sockdiag *d, tt_src_cb cb, void *ctx);
const char *tt_sockdiag_probes(const struct tt_sockdiag *d);
const char *tt_sockdiag_missing(const struct tt_sockdiag *d);
const char *tt_sockdiag_warning(const struct tt_sockdiag *d);
void tt_sockdiag_print_missing(const struct tt_sockdiag *d, const char *prog, FILE *f);
void tt_sockdiag_print_check(const struct tt_sockdiag *d, FILE *f);
int64_t tt_sockdiag_clock_offset(const struct tt_sockdiag *d);
void tt_sockdiag_stats(const struct tt_sockdiag *d, struct tt_src_stats *st);
int tt_sockdiag_after_drop(struct tt_sockdiag *d, char *err, size_t errlen);
void tt_sockdiag_close(struct tt_sockdiag *d);

#endif /* TT_SOCKDIAG_H */
