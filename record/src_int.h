/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the live source: the handle and what its files share. Not a public API. */
#ifndef TT_SRC_INT_H
#define TT_SRC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_src.h"
#include "../bpf/tcptop.h"

#define TT_SRC_MAX_LINKS 24

struct bpf_link;
struct ring_buffer;
struct tcptop_bpf;

struct tt_src {
	struct tcptop_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[TT_SRC_MAX_LINKS];
	int n_links;
	struct bpf_link *it_tcp, *it_udp, *it_files, *it_owner;
	int accept_tps;          /* accept tracepoints attached (0: owners come from sweeps) */
	int io_wanted, io_hooks; /* per-call send/recv programs loaded, and attached */
	int io_refused;          /* errno of the last send/recv hook that would not attach */
	char warning[256];       /* tt_src_warning() */
	uint64_t owners_seen;    /* owners_wanted at the last tt_iter_owner run */
	uint64_t next_owner_ns;  /* CLOCK_MONOTONIC: earliest next tt_iter_owner run */
	uint64_t next_sweep_ns;  /* CLOCK_MONOTONIC: earliest next ownership sweep */
	int cg_fd;
	int raw;
	uint32_t coalesce_ms;
	uint32_t netns;
	int64_t clock_offset;
	uint64_t next_sample_ns; /* CLOCK_MONOTONIC */
	char probes[512];
	int ncpu;
	uint64_t *lost_seen, *lost_now;
	uint64_t skipped_seen; /* sum of the programs' recursion_misses at the last look */
	uint64_t next_skip_check_ns; /* CLOCK_MONOTONIC */
	struct tt_src_stats stats;
	/* the current tt_src_poll() call */
	tt_src_cb cb;
	void *cb_ctx;
	int cb_ret;
	uint64_t delivered;
	uint32_t budget; /* records left in this drain (a consume stops at 0) */
	/* scratch for the iter/udp output */
	char *udp_live;
	size_t udp_live_cap;
};

/* Hand one event to the caller's callback and count it. Returns the callback's value. */
int tt_src_deliver(struct tt_src *s, const struct tt_event *ev);

/* Run an iterator link once, reading its output into *buf (NULL: discard). Bytes or -errno. */
int tt_src_run_iter(struct bpf_link *l, char **buf, size_t *cap);

/* Report UDP flow sums grown since the last call, and close the flows of gone sockets. */
void tt_src_udp_flush(struct tt_src *s);

#endif /* TT_SRC_INT_H */
