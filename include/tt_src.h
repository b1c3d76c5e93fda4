/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The types every live source shares (tt_source.h): its options, its stats, the callback
 * events go to, the capability states. The BPF source itself (source/src.c: loads the
 * programs, picks attach points the running kernel offers, pushes filters into the kernel,
 * drains the ring buffer; needs root) is reached through tt_source only.
 */
#ifndef TT_SRC_H
#define TT_SRC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_event.h"
#include "tt_filter.h"

/* --raw's default slice: 1.45x CPU with a record per 100-byte write, ~1.1x with this */
#define TT_SRC_RAW_SLICE_NS 1000000ULL
#define TT_SRC_RAW_PER_CALL UINT64_MAX

struct tt_src_opts {
	struct tt_filter filter;
	int raw; /* 1: send/recv calls counted by per-call hooks; 0: sampled */
	/* --raw: a socket's TCP calls are summed over slices this long, each slice one event
	 * (tt_src_raw_slice_ns); 0: TT_SRC_RAW_SLICE_NS; TT_SRC_RAW_PER_CALL: one per call */
	uint64_t raw_slice_ns;
	uint32_t coalesce_ms; /* coalescing / sampling interval, 0 = default
				 (TT_SRC_DEFAULT_COALESCE_MS) */
	uint32_t ringbuf_kb;  /* ring buffer size in KiB (power of two), 0 = default */
	int verbose;	      /* libbpf messages on stderr */
	/*
	 * Optional probes to leave out, spelled as in tt_source_probes() and separated by
	 * spaces or commas ("tracepoint:syscalls/sys_exit_accept4"), NULL for none: for
	 * kernels where one misbehaves, and to test the fallbacks.
	 */
	const char *skip_probes;
	int check_all;	 /* load every optional program, wanted in this mode or not (--check) */
	int accept_wait; /* attach the accept tracepoints for ACCEPT (--accept-wait) */
	/*
	 * UDP per-remote flows of unconnected sockets (a DNS server's clients) have no end: one
	 * idle this long is closed, as conntrack does (0 = TT_SRC_DEFAULT_UDP_IDLE_MS).
	 */
	uint32_t udp_idle_ms;
	uint32_t udp_flows; /* UDP flows the kernel side holds at once, 0 = default (65536) */
	int source; /* enum tt_source_kind (tt_source.h): which source tt_source_open takes */
	const char *source_path; /* TT_SOURCE_FILE: the capture */
};

/* The slice these options record --raw with (0: one event per call, and not --raw). */
static inline uint64_t tt_src_raw_slice_ns(const struct tt_src_opts *o)
{
	if (!o->raw || o->raw_slice_ns == TT_SRC_RAW_PER_CALL)
		return 0;
	return o->raw_slice_ns ? o->raw_slice_ns : TT_SRC_RAW_SLICE_NS;
}

#define TT_SRC_DEFAULT_COALESCE_MS 1000
/*
 * tt_src_open(): the kernel refused a program the source cannot do without (a verifier
 * older than the programs, as 5.10's before atomic fetch). Not a usage error (-EINVAL):
 * --source auto falls back to sock_diag on it.
 */
#define TT_SRC_REFUSED (-ENOEXEC)
#define TT_SRC_DEFAULT_UDP_IDLE_MS 30000

struct tt_src_stats {
	uint64_t events; /* delivered to the callback */
	uint64_t lost;	 /* reported as LOST (ring buffer full) */
	uint64_t conns;	 /* CONN_OPEN events delivered */
	/* TCP connections opened while more were open than a close found by sampling allows */
	uint64_t untracked;
	/*
	 * Events the caller refused, with more after them than could be kept for it: dropped,
	 * and not yet told to it as a LOST event (which it gets once it takes events again).
	 */
	uint64_t dropped;
};

/*
 * Events have ts_ns in the source's event clock (tt_source_boot_shift()). Return 0 to go on,
 * non-zero to stop tt_source_poll() early (that value is returned; the refused event and those
 * after it are offered again first at the next call).
 */
typedef int (*tt_src_cb)(void *ctx, const struct tt_event *ev);

/*
 * Capabilities: each optional program (or facility, such as entering other network
 * namespaces) is one, ok, not needed in this mode, or missing with the reason (the
 * verifier's one-line reason, an errno, or "left out (--no-probe)").
 */
enum { TT_SRC_CAP_OK, TT_SRC_CAP_UNUSED, TT_SRC_CAP_MISSING };

#endif /* TT_SRC_H */
