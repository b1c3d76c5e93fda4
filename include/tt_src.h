/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_src: the live event source. Loads the BPF programs, picks attach points
 * the running kernel offers, pushes filters into the kernel, drains the ring
 * buffer and hands events to a callback. Used by tcptop-record and by the
 * live tcptop view. Needs root (CAP_BPF + CAP_PERFMON or CAP_SYS_ADMIN).
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
	 * Optional probes to leave out, spelled as in tt_src_probes() and separated by
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

struct tt_src;

/*
 * Events have ts_ns in CLOCK_BOOTTIME. Return 0 to go on, non-zero to stop
 * tt_src_poll() early (that value is returned).
 */
typedef int (*tt_src_cb)(void *ctx, const struct tt_event *ev);

/*
 * Load, configure and attach. Returns 0, or a negative errno with a one-line
 * message in err (-EPERM "needs root ..." when privileges are missing, -EINVAL
 * for a skip_probes name that is unknown or not optional).
 * Connections that exist already are reported on the first tt_src_poll().
 */
int tt_src_open(struct tt_src **out, const struct tt_src_opts *opts, char *err, size_t errlen);

/*
 * Wait up to timeout_ms for events and deliver them, run the periodic
 * sampling when it is due, and report lost events as TT_EV_LOST. Returns the
 * number of events delivered, the callback's non-zero value, or a negative
 * errno (-EINTR when a signal arrived: not an error for the caller).
 */
int tt_src_poll(struct tt_src *s, int timeout_ms, tt_src_cb cb, void *ctx);

/*
 * Deliver now what the kernel holds (ring buffer, counters not yet sampled,
 * UDP sums): call before closing so the last interval is not lost. Returns
 * the number of events delivered, or the callback's non-zero value.
 */
int tt_src_flush(struct tt_src *s, tt_src_cb cb, void *ctx);

/*
 * The last delivery, after tt_src_flush(): detach every program that writes events by itself
 * (all but the iterators), wait for the runs already under way, and deliver what they wrote
 * and the UDP sums counted meanwhile; nothing is written after it, so nothing is left in the
 * ring buffer at close. Returns as tt_src_flush().
 */
int tt_src_stop(struct tt_src *s, tt_src_cb cb, void *ctx);

/* The attach points in use, as text for the capture header ("tp_btf:sock/sock_send_length ..."). */
const char *tt_src_probes(const struct tt_src *s);

/*
 * Capabilities: each optional program (or facility, such as entering other network
 * namespaces) is one, ok, not needed in this mode, or missing with the reason (the
 * verifier's one-line reason, an errno, or "left out (--no-probe)").
 */
enum { TT_SRC_CAP_OK, TT_SRC_CAP_UNUSED, TT_SRC_CAP_MISSING };

struct tt_src_cap {
	const char *name; /* "owner-sweep" */
	int state;	  /* TT_SRC_CAP_* */
	const char *why;  /* what provides it (ok), or why it is missing */
	const char *loss; /* what the data lacks without it */
};

/* Fill up to max capabilities; returns how many. */
size_t tt_src_caps(const struct tt_src *s, struct tt_src_cap *out, size_t max);

/*
 * NULL, or every missing capability as "name (why): loss", joined by "; ": what the capture
 * header records.
 */
const char *tt_src_missing(const struct tt_src *s);

/* NULL, or one short line naming the missing capabilities, for a view's header. */
const char *tt_src_warning(const struct tt_src *s);

/* One line per missing capability, "PROG: missing NAME (why): loss". */
void tt_src_print_missing(const struct tt_src *s, const char *prog, FILE *f);

/* Every capability with ok / not needed / MISSING and why, one per line (--check). */
void tt_src_print_check(const struct tt_src *s, FILE *f);

/*
 * After the caller dropped its privileges: check that reading the maps and running the
 * iterators still works (kernels before 5.19 with unprivileged_bpf_disabled refuse them).
 * 0, or -EPERM with a one-line message: the caller must not go on without them.
 * Capabilities that need privileges (entering other namespaces) become missing.
 */
int tt_src_after_drop(struct tt_src *s, char *err, size_t errlen);

/* Mode name for the capture header: "coalesce" or "raw". */
const char *tt_src_mode(const struct tt_src *s);

/* wall clock ns = CLOCK_BOOTTIME ns + this, measured at open. */
int64_t tt_src_clock_offset(const struct tt_src *s);

void tt_src_stats(const struct tt_src *s, struct tt_src_stats *st);

/* Detach and free everything; no BPF object stays behind. NULL is accepted. */
void tt_src_close(struct tt_src *s);

#endif /* TT_SRC_H */
