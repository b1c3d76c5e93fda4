/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the live source: the handle and what its files share. Not a public API. */
#ifndef TT_SRC_INT_H
#define TT_SRC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tt_source.h"
#include "source_int.h"
#include "tt_u64map.h"
#include "tt_netns.h"
#include "../bpf/tcptop.h"

#define TT_SRC_MAX_LINKS 48
#define TT_SRC_MAX_NS 4096 /* namespaces whose UDP flows can be closed in one pass */
/*
 * A UDP flow that ended by idleness is closed this long after it did: BPF counts no datagram
 * in a flow idle past --udp-timeout (bpf/flow.bpf.h, flow_current), but one whose program read its
 * clock just before may still be adding to it. A program runs a few microseconds; in a guest
 * whose vCPUs take turns (QEMU TCG, 100 ms slices) one can stand still for a slice. (After
 * tt_src_halt none runs: no grace.)
 */
#define TT_SRC_UDP_GRACE_NS (250ULL * 1000000)

/* The BPF source's capabilities (source/src_caps.c): index into the handle's table. */
enum {
	TT_CAP_SENDRECV,
	TT_CAP_UDP_PKTS,
	TT_CAP_UDP_PEERS,
	TT_CAP_OWNER_SWEEP,
	TT_CAP_ACCEPT,
	TT_CAP_DESTROY,
	TT_CAP_UDP_CLOSE,
	TT_CAP_RETRANS,
	TT_CAP_RESETS,
	TT_CAP_PROCS,
	TT_CAP_NETNS,
	TT_CAP_LISTENERS,
	TT_CAP_DROPS,
	TT_CAP_SK_ERROR,
	TT_CAP_N
};

/* What has been reported of a UDP flow (the value of tt_src.udp_opened). */
struct tt_udp_done {
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t rx_pkts;
};

struct bpf_link;
struct ring_buffer;
struct tcptop_bpf;

/* What tt_src_load() (src_load.c) does with one program of the object, and why. */
struct prog_plan {
	int cap;	 /* TT_CAP_*, -1: required */
	uint8_t wanted;	 /* to be loaded in this mode */
	uint8_t unused;	 /* not needed in this mode (why says so) */
	uint8_t skipped; /* left out with --no-probe */
	uint8_t refused; /* refused at load */
	uint8_t held;	 /* held back while the refused one is looked for */
	uint8_t trying;	 /* added back in this load */
	uint8_t attached;
	char name[64];	 /* as the capture header lists it: "iter:task_file" */
	char why[224];	 /* what provides it, or why not */
	char log[65536]; /* the verifier's log, written only when the kernel refuses it */
};

struct tt_stage_order;

struct tt_src {
	struct tt_source *h; /* the handle this is the priv of: events go to tt_source_emit() */
	struct tcptop_bpf *skel;
	/* enum skb_drop_reason of this kernel, by number: DROP records carry the name */
	char (*drop_names)[TT_NAME_LEN];
	uint32_t n_drop_names;
	struct ring_buffer *rb;
	struct bpf_link *links[TT_SRC_MAX_LINKS];
	int n_links;
	struct bpf_link *it_tcp, *it_udp, *it_files, *it_owner;
	int plan_accept;		/* the accept tracepoints are wanted (a process filter) */
	int self_ns_fd;			/* our own network namespace, to come back to */
	int other_ns;			/* other network namespaces are entered to sample them */
	uint32_t ns_ino[TT_SRC_MAX_NS]; /* other namespaces walked by the last pass */
	struct tt_netns_hint held[16];	/* namespaces no process is in: where found last */
	uint32_t udp_ns[TT_SRC_MAX_NS]; /* other namespaces that had UDP flows at the last flush */
	size_t n_udp_ns;
	size_t n_ns;
	uint64_t owners_seen;	/* owners_wanted at the last tt_iter_owner run */
	uint64_t next_owner_ns; /* CLOCK_MONOTONIC: earliest next tt_iter_owner run */
	uint64_t next_sweep_ns; /* CLOCK_MONOTONIC: earliest next ownership sweep */
	uint64_t unowned_left;	/* n_unowned after the last sweep, lowered by closes since */
	int cg_fd;
	int reap_fd;	      /* tt_udp_reap_k510, run by udp.c where no lookup-and-delete, or -1 */
	int no_lookup_delete; /* this kernel reads and deletes a hash entry apart (before 5.14) */
	int raw;
	int assist;  /* beside sock_diag: only what a poll cannot see (tt_src_open_assist) */
	int use_pkt; /* UDP counted per datagram (cgroup skb hooks), not per call */
	char pkt_failed[480]; /* why UDP's packet route failed: the per-call hooks count UDP */
	uint32_t coalesce_ms;
	uint32_t tcp_table;   /* tcp_live's size, chosen at open (tcp_table_size) */
	uint64_t udp_idle_ns; /* per-remote UDP flows idle this long are closed */
	uint32_t netns;
	uint64_t next_sample_ns; /* CLOCK_MONOTONIC */
	uint64_t pass;		 /* the last sampling pass over TCP sockets (cur_pass in BPF) */
	/* sampling passes made, their wall time and this thread's CPU in them (sum, most) */
	uint64_t samples, sample_ns, sample_ns_max, sample_cpu_ns, sample_cpu_ns_max;
	char probes[512];
	int ncpu;
	uint64_t *lost_seen, *lost_now;
	uint64_t skipped_seen;	     /* sum of the programs' recursion_misses at the last look */
	uint64_t next_skip_check_ns; /* CLOCK_MONOTONIC */
	struct prog_plan plan[TT_SRC_MAX_LINKS];
	int n_progs;
	/* the current drain */
	uint32_t budget;	 /* records left in this drain (a consume stops at 0) */
	uint64_t drain_until_ns; /* and when it stops (monotonic) */
	/* scratch for the iter/udp output */
	char *udp_live;
	size_t udp_live_cap;
	/*
	 * The UDP flows whose CONN_OPEN has been delivered (until their CONN_CLOSE), each with
	 * its sums as reported so far (struct tt_udp_done): BPF adds a flow to its map before it
	 * writes the open to the ring buffer, so a flush can meet a flow whose open is still to
	 * be read, and must not report it before its open.
	 */
	struct tt_u64map udp_opened;
	uint64_t udp_last_t0; /* CLOCK_BOOTTIME: when the last flush began */
	size_t udp_later;     /* flows the last flush left for their opens */
	int halted;	      /* tt_src_halt ran: no program adds to a flow any more */
	int rb_emptied;	      /* the last drain read the ring buffer to its end */
	/* the ring buffer's consumer and producer positions (its first two pages), read-only */
	const void *rb_pos;
	size_t rb_pos_len;
	/* src_copy.c: the ring buffer read by a second thread while an iterator walks */
	struct tt_evq copies;	 /* records it moved out, not yet delivered */
	uint64_t copies_dropped; /* consumed but not queued (no memory): said as LOST */
	int copying;		 /* the copier runs: it alone reads the ring buffer */
	atomic_int copy_stop;
	/* --raw-slice 0: the flush of the per-CPU stage (bpf/stage.bpf.c), or -1 without it */
	int stage_fd;
	uint64_t next_stage_ns; /* CLOCK_MONOTONIC: the next flush */
	/* closes read since the last flush of every CPU, and what came of their connections
	   after them, held back; per connection, how many of its events are */
	struct tt_evq closes_held;
	struct tt_u64map held_ids;
	struct tt_stage_order *order; /* each socket's staged calls in its order */
	pthread_t copier;
	uint64_t copy_cpu_ns; /* the copier threads' CPU, summed: part of a pass's */
};

/* A ring buffer record as an event: a record is shorter when its kind's payload is. */
static inline void tt_src_record_event(struct tt_event *ev, const void *data, size_t size)
{
	memset(ev, 0, sizeof(*ev));
	memcpy(ev, data, size < sizeof(*ev) ? size : sizeof(*ev));
}

/*
 * The BPF source's files, each calling only those below it (no circle):
 *   src.c        the API: open, after_drop, the header's texts, close; the ops table
 *   src_load.c   plan, load, attach, capabilities (and src_caps.c, their names)
 *   src_run.c    the run loop: drain, sampling pass, flush, halt, stop
 *   udp.c        UDP flow sums and closes (called by the sampling pass)
 *   tcp_gone.c   TCP closes the kernel did not report (called by the sampling pass)
 *   src_iter.c   iterators and network namespace walks (netns.c below it)
 *   src_copy.c   the ring buffer read by a second thread while an iterator walks
 */

/* src_load.c: load and attach what this kernel offers, set the capabilities. 0, or -errno
 * with a one-line message (then tt_src_open() closes what was made). */
int tt_src_load(struct tt_src *s, const struct tt_source_opts *opts, char *err, size_t errlen);

/* Name the BPF source's capabilities in the handle's table (src_caps.c). */
void tt_src_caps_init(struct tt_source *h);

/* The verifier's one-line reason from a program's load log (size: the buffer's size). */
void tt_src_verifier_reason(const char *log, size_t size, char *out, size_t outlen);

/* src_run.c: the ring buffer's reader and the loss counters, after the load. 0 or -ENOMEM. */
int tt_src_run_begin(struct tt_src *s);
/* src_run.c: the ops of the run loop (tt_source_ops.poll, flush, halt, stop). */
int tt_src_poll(struct tt_source *h, int timeout_ms);
int tt_src_flush(struct tt_source *h);
void tt_src_halt(struct tt_source *h);
int tt_src_stop(struct tt_source *h);

/*
 * udp.c: report UDP flow sums grown since the last call, and close the flows of gone sockets.
 * A flow whose open has not been delivered yet is left for the next call (counted in
 * udp_later). OPENS_READ: the drain before this call read the ring buffer to its end, so the
 * opens of flows older than the last flush have been read (BPF writes an open right after it
 * adds the flow): one still not delivered was lost, and the flow is reported all the same.
 */
void tt_src_udp_flush(struct tt_src *s, int opens_read);

/*
 * tcp_gone.c: close the TCP connections that the sampling pass just made (number s->pass) did
 * not find in a namespace it walked, as TT_F_CLOSE_INFERRED closes. Call it right after that
 * pass, before another pass changes the namespaces walked, and only once every record written
 * before the pass ended has been delivered: an open still in the ring buffer must reach the
 * reader before its close.
 */
void tt_src_tcp_gone(struct tt_src *s);
/* Whether the pass just made found every tcp_live entry's socket, the map unchanged since
 * live_changes read changes (before the pass): then none is gone. */
int tt_src_tcp_all_found(const struct tt_src *s, uint64_t changes);

/*
 * src_copy.c: while an iterator walks, a second thread moves the ring buffer's records into
 * s->copies, which drain() delivers before it reads the ring buffer again. Between begin and
 * end the copier alone reads the ring buffer (its callback gives each record to copy_record).
 */
void tt_src_copy_begin(struct tt_src *s);
void tt_src_copy_end(struct tt_src *s);
void tt_src_copy_free(struct tt_src *s);
/* Queue a record: 0, or -ENOSPC (queued, and the queue is full) or -ENOMEM (not queued,
 * counted in copies_dropped): either stops the ring buffer's read. */
int tt_src_copy_record(struct tt_src *s, const void *data, size_t size);

/* src_iter.c: run an iterator link once, reading its output into *buf (NULL: discard), the
 * ring buffer read meanwhile by the copier. Bytes or -errno. */
int tt_src_run_iter(struct tt_src *s, struct bpf_link *l, char **buf, size_t *cap);

/*
 * src_iter.c: create an iterator of LINK in our own network namespace and in every other one
 * of the machine that want (NULL: all) accepts, entering each for the moment of the creation,
 * and read them all; the text output, if buf, is appended.
 * Returns bytes read, or -errno if even our own namespace's failed.
 */
typedef int (*tt_src_ns_want)(struct tt_src *s, uint64_t ino, void *arg);
int tt_src_run_iter_all(struct tt_src *s, struct bpf_link *l, char **buf, size_t *cap,
			tt_src_ns_want want, void *arg);

/* A tt_src_ns_want: namespaces with an open TCP connection (all, if the BPF count overflowed). */
int tt_src_ns_has_tcp(struct tt_src *s, uint64_t ino, void *arg);

/* Whether the last tt_src_run_iter_all() walked network namespace NETNS (inode). */
int tt_src_ns_walked(const struct tt_src *s, uint32_t netns);

#endif /* TT_SRC_INT_H */
