/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_source: where live events come from, whichever source it is: the BPF ring buffer
 * (source/src.c), sock_diag polls (source/sockdiag.c, no BPF, no root), or a capture file
 * played at its recorded pace (source/filesrc.c). The live view and the recorder hold one of
 * these and never ask which (libpcap's pcap_t shape, source/source_int.h: what every source
 * shares is in the handle once, each source fills in a table of operations that take it).
 */
#ifndef TT_SOURCE_H
#define TT_SOURCE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_event.h"
#include "tt_filter.h"

/*
 * The types every source shares (named tt_src_* since the BPF source was the only one): its
 * options, its stats, the callback events go to, the capability states.
 */
/* --raw's default slice: 1.45x CPU with a record per 100-byte write, ~1.1x with this */
#define TT_SOURCE_RAW_SLICE_NS 1000000ULL
#define TT_SOURCE_RAW_PER_CALL UINT64_MAX

struct tt_source_opts {
	struct tt_filter filter;
	int raw; /* 1: send/recv calls counted by per-call hooks; 0: sampled */
	/* --raw: a socket's TCP calls are summed over slices this long, each slice one event
	 * (tt_source_raw_slice_ns); 0: TT_SOURCE_RAW_SLICE_NS; TT_SOURCE_RAW_PER_CALL: a record
	 * per call */
	uint64_t raw_slice_ns;
	/*
	 * --raw-slice 0 writes each call straight to the ring buffer, not gathered per CPU: the
	 * flush of what a CPU gathered is a bpf() call, which kernels before 5.19 refuse to a
	 * process without root where unprivileged BPF is disabled (tcptop-record -Z; 6.18 allows
	 * it on the fd the process holds, tried)
	 */
	int no_stage;
	uint32_t coalesce_ms; /* coalescing / sampling interval, 0 = default
				 (TT_SOURCE_DEFAULT_COALESCE_MS) */
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
	 * idle this long is closed, as conntrack does (0 = TT_SOURCE_DEFAULT_UDP_IDLE_MS).
	 */
	uint32_t udp_idle_ms;
	uint32_t udp_flows; /* UDP flows the kernel side holds at once, 0 = default (65536) */
	/* open TCP connections the kernel side holds (--tcp-conns), 0 = sized from the host */
	uint32_t tcp_conns;
	int source; /* enum tt_source_kind (tt_source.h): which source tt_source_open takes */
	const char *source_path; /* TT_SOURCE_FILE: the capture; TT_SOURCE_PCAP: the pcap */
	/*
	 * TT_SOURCE_PCAP: its packets at the pace they were captured, moved so that the first is
	 * now (tcptop: a view shows a capture as it happened); 0: as fast as they are taken, at
	 * their own times (tcptop-record imports it). A capture (TT_SOURCE_FILE) always plays at
	 * its pace.
	 */
	int pace;
};

/* The slice these options record --raw with (0: one event per call, and not --raw). */
static inline uint64_t tt_source_raw_slice_ns(const struct tt_source_opts *o)
{
	if (!o->raw || o->raw_slice_ns == TT_SOURCE_RAW_PER_CALL)
		return 0;
	return o->raw_slice_ns ? o->raw_slice_ns : TT_SOURCE_RAW_SLICE_NS;
}

#define TT_SOURCE_DEFAULT_COALESCE_MS 1000
/*
 * tt_src_open(): the kernel refused a program the source cannot do without (a verifier
 * older than the programs, as 5.10's before atomic fetch). Not a usage error (-EINVAL):
 * --source auto falls back to sock_diag on it.
 */
#define TT_SOURCE_REFUSED (-ENOEXEC)
#define TT_SOURCE_DEFAULT_UDP_IDLE_MS 30000

struct tt_source_stat {
	uint64_t events; /* delivered to the callback */
	uint64_t lost;	 /* reported as LOST (ring buffer full) */
	uint64_t conns;	 /* CONN_OPEN events delivered */
	/* CONN_CLOSE events delivered that the sampling pass inferred (TT_F_CLOSE_INFERRED) */
	uint64_t closes_inferred;
	/* TCP connections opened while more were open than a close found by sampling allows */
	uint64_t untracked;
	uint32_t tcp_table; /* how many that is: the kernel's table of open ones (0: none) */
	/*
	 * Events the caller refused, with more after them than could be kept for it: dropped,
	 * and not yet told to it as a LOST event (which it gets once it takes events again).
	 */
	uint64_t dropped;
	/* sampling passes (BPF: over every open TCP socket); their wall time and the CPU the
	 * caller's thread and the source's own threads spent in them, summed and the most one
	 * took, in ns (0: no passes) */
	uint64_t samples, sample_ns, sample_ns_max, sample_cpu_ns, sample_cpu_ns_max;
};

/*
 * Events have ts_ns in wall clock ns since the epoch, whichever source made them (one offset,
 * tt_source_clock_offset(), turned the kernel's clock into it). Return 0 to go on,
 * non-zero to stop tt_source_poll() early (that value is returned; the refused event and those
 * after it are offered again first at the next call).
 */
typedef int (*tt_source_cb)(void *ctx, const struct tt_event *ev);

/*
 * Capabilities: each optional program (or facility, such as entering other network
 * namespaces) is one, ok, not needed in this mode, or missing with the reason (the
 * verifier's one-line reason, an errno, or "left out (--no-probe)").
 */
enum { TT_SOURCE_CAP_OK, TT_SOURCE_CAP_UNUSED, TT_SOURCE_CAP_MISSING };

enum tt_source_kind {
	TT_SOURCE_AUTO = 0, /* BPF where it loads, else sock_diag, saying why */
	TT_SOURCE_BPF,
	TT_SOURCE_SOCKDIAG,
	TT_SOURCE_FILE, /* tt_source_opts.source_path */
	TT_SOURCE_PCAP, /* a packet capture (tcpdump's), tt_source_opts.source_path */
};

/* Whether a source of this kind reads a file: what cannot be read is a usage error (exit 2),
 * and a recorder refuses filters with it (tcptop-replay -o cuts a capture by filter). */
static inline int tt_source_reads_file(int kind)
{
	return kind == TT_SOURCE_FILE || kind == TT_SOURCE_PCAP;
}

struct tt_source;

/*
 * Open the source opts->source names (tt_source_opts.source). AUTO tries BPF first; if it
 * cannot load (no privileges, no BTF, a locked-down container) it opens sock_diag and puts
 * the reason in *fallback (a line for the caller to print; "" when BPF loaded).
 * Returns 0, or a negative errno with a one-line message in err.
 */
int tt_source_open(struct tt_source **out, const struct tt_source_opts *opts, char *fallback,
		   size_t fallback_len, char *err, size_t errlen);

/*
 * Wait up to timeout_ms for events (poll), or take now what the source holds back (flush: the
 * ring buffer, counters not yet sampled, UDP sums), and hand them to cb. Events cb refused
 * before are offered again first, in order. Returns the number delivered, cb's non-zero value
 * (the event it refused is kept for the next call), or a negative errno: -EINTR when a signal
 * came before any event, -ENODATA when the source has ended (a capture file played to its
 * end); neither is an error.
 */
int tt_source_poll(struct tt_source *s, int timeout_ms, tt_source_cb cb, void *ctx);
int tt_source_flush(struct tt_source *s, tt_source_cb cb, void *ctx);
/*
 * After the last tt_source_flush(): stop what makes events (the BPF programs that write by
 * themselves) and deliver what it made until then, so that nothing is left at close; a source
 * that makes none between calls (sock_diag, a file) has nothing to do. Returns as
 * tt_source_flush().
 */
int tt_source_stop(struct tt_source *s, tt_source_cb cb, void *ctx);

/* For the capture header: "coalesce", "raw", "sockdiag"; attach points; what is missing. */
const char *tt_source_mode(const struct tt_source *s);
const char *tt_source_probes(const struct tt_source *s);
const char *tt_source_missing(const struct tt_source *s); /* NULL when nothing is */
const char *tt_source_warning(const struct tt_source *s); /* a short line for a view header */
void tt_source_print_missing(const struct tt_source *s, const char *prog, FILE *f);
void tt_source_print_check(const struct tt_source *s, FILE *f);
/*
 * For a capture's header (its clock_offset_ns): wall time = the recording's event clock
 * (CLOCK_BOOTTIME) + this. The kernel's sources: the one offset measured at open, which their
 * events got; a capture played as a source: its header's, moved as its events were.
 */
int64_t tt_source_clock_offset(const struct tt_source *s);
/*
 * Now, in the time the source's events carry (wall clock ns; a capture played as a source:
 * the moment of its playing). What a recorder stamps itself (its STATS, the opens it repeats
 * at a new file) takes it, so that it is in order with the events.
 */
uint64_t tt_source_now(const struct tt_source *s);
void tt_source_stats(const struct tt_source *s, struct tt_source_stat *st);
/*
 * Once the kernel's table of open TCP connections has been full (tt_source_stat.untracked), the
 * one text that says so, for a warning line or a view header: 1 and buf filled, else 0.
 */
int tt_source_table_full(const struct tt_source *s, char *buf, size_t len);
/*
 * After the caller dropped root: 0, or -EPERM with a message when the source cannot go on
 * without it (BPF map reads and iterators before Linux 5.19); what needs root (other network
 * namespaces, other users' owners) becomes a missing capability.
 */
int tt_source_after_drop(struct tt_source *s, char *err, size_t errlen);
void tt_source_close(struct tt_source *s);

/*
 * The exit status for a failed tt_source_open(): a usage error (a --no-probe name) or a bad
 * input file (file:PATH missing, not a capture) is 2, anything else 1 (HACKING.md).
 */
int tt_source_exit_code(int ret, const struct tt_source_opts *opts);

/* "auto", "bpf", "sockdiag", "file:PATH" (*path = PATH) -> TT_SOURCE_*, or -1. */
int tt_source_parse(const char *name, const char **path);

/*
 * The source options of every live tool (tcptop and tcptop-record take the same): put
 * TT_SOURCE_LONGOPTS in the getopt_long table, TT_SOURCE_HELP in the usage, and offer every
 * option to tt_source_getopt() (source/source_opts.c), as tt_filter_getopt(). --no-probe
 * names gather in the caller's skip buffer, which opts->skip_probes then points to.
 * Returns 1 when opt was a source option and was applied, 0 when it is not one, -EINVAL on a
 * bad value (the one-line reason in err).
 */
enum {
	TT_OPT_SRC_RAW = 0x1101,
	TT_OPT_SRC_RAW_SLICE,
	TT_OPT_SRC_COALESCE,
	TT_OPT_SRC_RINGBUF,
	TT_OPT_SRC_NO_PROBE,
	TT_OPT_SRC_ACCEPT_WAIT,
	TT_OPT_SRC_SOURCE,
	TT_OPT_SRC_UDP_TIMEOUT,
	TT_OPT_SRC_UDP_FLOWS,
	TT_OPT_SRC_TCP_CONNS,
};
#define TT_SOURCE_LONGOPTS                                                                         \
	{"raw", no_argument, NULL, TT_OPT_SRC_RAW},                                                \
	    {"raw-slice", required_argument, NULL, TT_OPT_SRC_RAW_SLICE},                          \
	    {"coalesce", required_argument, NULL, TT_OPT_SRC_COALESCE},                            \
	    {"ringbuf-kb", required_argument, NULL, TT_OPT_SRC_RINGBUF},                           \
	    {"no-probe", required_argument, NULL, TT_OPT_SRC_NO_PROBE},                            \
	    {"accept-wait", no_argument, NULL, TT_OPT_SRC_ACCEPT_WAIT},                            \
	    {"source", required_argument, NULL, TT_OPT_SRC_SOURCE},                                \
	    {"udp-timeout", required_argument, NULL, TT_OPT_SRC_UDP_TIMEOUT},                      \
	    {"udp-flows", required_argument, NULL, TT_OPT_SRC_UDP_FLOWS},                          \
	{                                                                                          \
		"tcp-conns", required_argument, NULL, TT_OPT_SRC_TCP_CONNS                         \
	}
#define TT_SOURCE_HELP                                                                             \
	"      --raw            count every send/recv call: each socket's calls summed per\n"      \
	"                       millisecond (costs more than the default mode)\n"                  \
	"      --raw-slice TIME --raw, with a socket's calls summed over TIME instead\n"           \
	"                       (0: one event per call, which costs the most)\n"                   \
	"      --coalesce TIME  sampling interval of the default mode (default 1s)\n"              \
	"      --ringbuf-kb N   ring buffer size in KiB, a power of two >= 4 (default 8192)\n"     \
	"      --udp-timeout T  close a remote's UDP flow on an unconnected socket after\n"        \
	"                       T without a datagram (default 30s, as conntrack)\n"                \
	"      --udp-flows N    UDP flows held in the kernel at once (default 65536); a flow\n"    \
	"                       that finds the table full is counted as lost\n"                    \
	"      --tcp-conns N    open TCP connections held in the kernel at once, whose\n"          \
	"                       unreported closes sampling finds (default: twice the host's\n"     \
	"                       TCP sockets at start, at least 65536); past it, said at once\n"    \
	"      --accept-wait    how long each accepted connection waited for accept()\n"           \
	"                       (ACCEPT events): attaches the accept syscall tracepoints,\n"       \
	"                       which slow every syscall of the machine a little\n"                \
	"      --no-probe PROBE leave out an optional probe, named as in the capture header\n"     \
	"                       (e.g. tracepoint:syscalls/sys_exit_accept4; repeatable)\n"         \
	"      --source SOURCE  bpf, sockdiag (no BPF, no root: the sockets' own counters\n"       \
	"                       every interval), file:CAPTURE (played at its pace),\n"             \
	"                       pcap:PCAP (a tcpdump capture's connections), or\n"                 \
	"                       auto (default: bpf where it loads, else sockdiag)\n"
int tt_source_getopt(struct tt_source_opts *o, char *skip, size_t skiplen, int opt, const char *arg,
		     char *err, size_t errlen);

#endif /* TT_SOURCE_H */
