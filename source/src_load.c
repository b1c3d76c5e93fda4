// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The BPF source's kernel negotiation: plan which programs this mode and this kernel want,
 * load them (a program the kernel refuses costs its own capability only), attach them, and
 * set the capabilities from what attached. It reads no events: the run loop (src_run.c) does.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"

#define DEFAULT_RINGBUF_KB 8192
#define ASSIST_RINGBUF_KB 2048 /* exec, exit and UDP flows' opens */

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	(void)lvl;
	(void)fmt;
	(void)ap;
	return 0;
}

static int libbpf_verbose(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Where cgroup v2 is mounted ("" when it is not). */
static void cgroup2_root(char *buf, size_t len)
{
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[512], type[64];

	buf[0] = '\0';
	if (!f)
		return;
	while (fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			break;
		}
	}
	fclose(f);
}

static void set_rodata(struct tcptop_bpf *skel, const struct tt_src *s,
		       const struct tt_source_opts *o)
{
	const struct tt_filter *f = &o->filter;
	const char *skip_close = getenv("TT_TEST_SKIP_CLOSE");
	const char *pass_nospace = getenv("TT_TEST_PASS_NOSPACE");

	skel->rodata->raw_mode = o->raw ? 1 : 0;
	skel->rodata->raw_slice_ns = tt_source_raw_slice_ns(o);
	skel->rodata->raw_stage = o->raw && !tt_source_raw_slice_ns(o) && !o->no_stage;
	/* fault injection for tests: the programs emit no close, as when the kernel skips them
	 * ("nospace": the close finds the ring buffer full) */
	skel->rodata->test_skip_close = !skip_close ? 0 : strcmp(skip_close, "nospace") ? 1 : 2;
	/* and the first N sampling passes find no room for their TRAFFIC and SAMPLE records */
	skel->rodata->test_pass_nospace = pass_nospace ? (uint8_t)atoi(pass_nospace) : 0;
	skel->rodata->udp_by_packet = s->use_pkt ? 1 : 0;
	skel->rodata->udp_idle_ns = s->udp_idle_ns;
	for (unsigned i = 0; i < f->n_pids && i < TT_FILTER_MAX_BPF; i++)
		skel->rodata->f_pids[i] = f->pids[i];
	skel->rodata->f_n_pids = f->n_pids;
	for (unsigned i = 0; i < f->n_ports && i < TT_FILTER_MAX_BPF; i++)
		skel->rodata->f_ports[i] = f->ports[i];
	skel->rodata->f_n_ports = f->n_ports;
	for (unsigned i = 0; i < f->n_comms && i < TT_FILTER_MAX_BPF; i++)
		memcpy((char *)skel->rodata->f_comms[i], f->comms[i], TT_COMM_LEN);
	skel->rodata->f_n_comms = f->n_comms;
	skel->rodata->f_proto = f->proto;
	skel->rodata->f_family = f->family;
	skel->rodata->f_cgroup = f->cgroup_id;
}

/* A program's probe name as the capture header lists it: "tp_btf:inet_sock_set_state". */
static void probe_name(const struct bpf_program *p, char *buf, size_t len)
{
	const char *sec = bpf_program__section_name(p);
	const char *slash = strchr(sec, '/');

	if (!slash)
		snprintf(buf, len, "%s", sec);
	else
		snprintf(buf, len, "%.*s:%s", (int)(slash - sec), sec, slash + 1);
}

/* The per-call send/recv hooks: sock_{send,recv}_length tracepoints, or fexit on inet_*msg. */
static int io_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return p == skel->progs.tt_send || p == skel->progs.tt_recv ||
	       p == skel->progs.tt_send_inet || p == skel->progs.tt_send_inet6 ||
	       p == skel->progs.tt_recv_inet || p == skel->progs.tt_recv_inet6;
}

/* The cgroup skb hooks built for kernels before 5.12 (-DTT_K510): a lock for the atomics. */
static int k510_udp_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return p == skel->progs.tt_udp_out_k510 || p == skel->progs.tt_udp_in_k510 ||
	       p == skel->progs.tt_udp_reap_k510;
}

/*
 * TCP's state changes and closes, retransmits, resets and accepts for sock_diag's connections,
 * by cookie, and those of connections no poll saw (tcp_fallback.bpf.c).
 */
static int k510_tcp_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return p == skel->progs.tt_state_k510 || p == skel->progs.tt_retrans_k510 ||
	       p == skel->progs.tt_send_reset_k510 || p == skel->progs.tt_recv_reset_k510 ||
	       p == skel->progs.tt_accept4_k510 || p == skel->progs.tt_accept_k510;
}

/* The programs for kernels before 5.12, used beside sock_diag only. */
static int k510_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return k510_udp_prog(skel, p) || k510_tcp_prog(skel, p);
}

/* UDP counted per datagram: the cgroup skb hooks, and the creator as the owner. */
static int pkt_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return p == skel->progs.tt_udp_out || p == skel->progs.tt_udp_in ||
	       p == skel->progs.tt_sock_create || k510_udp_prog(skel, p);
}

/* A program attached to a cgroup (the root of the cgroup v2 mount): none without one. */
static int cgroup_prog(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);

	return !strncmp(sec, "cgroup/", 7) || !strncmp(sec, "cgroup_skb/", 11);
}

/* The capability an optional program gives (source/src_caps.c), or -1 for a required one. */
static int prog_cap(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	if (io_prog(skel, p))
		return TT_CAP_SENDRECV;
	if (pkt_prog(skel, p))
		return TT_CAP_UDP_PKTS;
	if (p == skel->progs.tt_sk_error || p == skel->progs.tt_so_error)
		return TT_CAP_SK_ERROR;
	if (!strncmp(bpf_program__section_name(p), "cgroup/", 7))
		return TT_CAP_UDP_PEERS;
	if (p == skel->progs.tt_iter_files)
		return TT_CAP_OWNER_SWEEP;
	if (p == skel->progs.tt_accept4 || p == skel->progs.tt_accept ||
	    p == skel->progs.tt_accept4_k510 || p == skel->progs.tt_accept_k510)
		return TT_CAP_ACCEPT;
	/* the kernel's closes: those a state change missed; beside sock_diag, every one */
	if (p == skel->progs.tt_destroy || p == skel->progs.tt_state_k510)
		return TT_CAP_DESTROY;
	if (p == skel->progs.tt_iter_udp)
		return TT_CAP_UDP_CLOSE;
	if (p == skel->progs.tt_retrans || p == skel->progs.tt_retrans_k510)
		return TT_CAP_RETRANS;
	if (p == skel->progs.tt_send_reset || p == skel->progs.tt_recv_reset ||
	    p == skel->progs.tt_send_reset_k510 || p == skel->progs.tt_recv_reset_k510)
		return TT_CAP_RESETS;
	if (p == skel->progs.tt_exec || p == skel->progs.tt_exit)
		return TT_CAP_PROCS;
	if (p == skel->progs.tt_drop)
		return TT_CAP_DROPS;
	return -1;
}

/* Programs the source works without: it falls back or loses a detail. */
static int optional_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return prog_cap(skel, p) >= 0;
}

/* Leave out the probes the caller named. 0, or -EINVAL with a message. */
static int skip_probes(struct tt_src *s, struct tcptop_bpf *skel, const char *list, char *err,
		       size_t errlen)
{
	char name[128], want[128];
	struct bpf_program *p;
	const char *c = list;

	while (c && *c) {
		size_t n = strcspn(c, " ,");
		int found = 0, i = 0;

		if (!n) {
			c++;
			continue;
		}
		snprintf(want, sizeof(want), "%.*s", (int)n, c);
		c += n;
		bpf_object__for_each_program(p, skel->obj)
		{
			probe_name(p, name, sizeof(name));
			if (!strcmp(name, want)) {
				if (!optional_prog(skel, p)) {
					snprintf(err, errlen, "probe %s is required", want);
					return -EINVAL;
				}
				s->plan[i].skipped = 1;
				s->plan[i].wanted = 0;
				snprintf(s->plan[i].why, sizeof(s->plan[i].why),
					 "%s left out (--no-probe)", want);
				found = 1;
			}
			i++;
		}
		if (!found) {
			snprintf(err, errlen, "unknown probe '%s'", want);
			return -EINVAL;
		}
	}
	return 0;
}

/* Whether the running kernel has tracepoint TP for tp_btf programs (as libbpf looks it up). */
static int kernel_has_tp_btf(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

/*
 * The default mode counts TCP from the sockets themselves and UDP per datagram (cgroup skb
 * hooks): nothing runs on every send and recv of the machine (that costs ~4% CPU on 100-byte
 * TCP writes). The per-call hooks are for --raw, and count UDP where the packet route fails.
 */
static int wants_udp(const struct tt_source_opts *o)
{
	return o->filter.proto != IPPROTO_TCP;
}

static int use_pkt_route(const struct tt_src *s, const struct tt_source_opts *o, const char *cgroot)
{
	return !o->raw && wants_udp(o) && cgroot[0] && !s->pkt_failed[0];
}

static int needs_io_hooks(const struct tt_src *s, const struct tt_source_opts *o,
			  const char *cgroot)
{
	return o->raw || (wants_udp(o) && !use_pkt_route(s, o, cgroot)) || o->check_all;
}

static int prog_index(const struct tcptop_bpf *skel, const struct bpf_program *want)
{
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, skel->obj)
	{
		if (p == want)
			return i;
		i++;
	}
	return -1;
}

static void plan_unused(struct tt_src *s, const struct tcptop_bpf *skel,
			const struct bpf_program *p, const char *why)
{
	int i = prog_index(skel, p);

	if (i < 0 || s->plan[i].skipped)
		return;
	s->plan[i].wanted = 0;
	s->plan[i].unused = 1;
	snprintf(s->plan[i].why, sizeof(s->plan[i].why), "%s", why);
}

/*
 * Which programs to load, decided once from the options and the kernel's BTF: every one, but
 * those left out (--no-probe), those this mode does not need, and one of the two sets of
 * per-call hooks: the sock_{send,recv}_length tracepoints (Linux 6.3), else fexit on
 * inet{,6}_{send,recv}msg.
 */
static int plan_programs(struct tt_src *s, struct tcptop_bpf *skel, const struct tt_source_opts *o,
			 const char *cgroot, char *err, size_t errlen)
{
	struct bpf_program *tp[] = {skel->progs.tt_send, skel->progs.tt_recv};
	struct bpf_program *fx[] = {skel->progs.tt_send_inet, skel->progs.tt_send_inet6,
				    skel->progs.tt_recv_inet, skel->progs.tt_recv_inet6};
	struct bpf_program *p;
	int n = 0, use_tp = 0, ret;

	bpf_object__for_each_program(p, skel->obj)
	{
		if (n == TT_SRC_MAX_LINKS) {
			snprintf(err, errlen, "too many programs (raise TT_SRC_MAX_LINKS)");
			return -E2BIG;
		}
		s->plan[n].wanted = 1;
		s->plan[n].cap = prog_cap(skel, p);
		probe_name(p, s->plan[n].name, sizeof(s->plan[n].name));
		n++;
	}
	s->n_progs = n;
	ret = skip_probes(s, skel, o->skip_probes, err, errlen);
	if (ret)
		return ret;
	bpf_object__for_each_program(p, skel->obj)
	{
		int i = prog_index(skel, p);

		if (pkt_prog(skel, p) && s->plan[i].skipped && !s->pkt_failed[0] &&
		    use_pkt_route(s, o, cgroot))
			snprintf(s->pkt_failed, sizeof(s->pkt_failed), "%s", s->plan[i].why);
	}
	s->use_pkt = use_pkt_route(s, o, cgroot);
	bpf_object__for_each_program(p, skel->obj)
	{
		int i = prog_index(skel, p);

		if (!pkt_prog(skel, p) || s->plan[i].skipped)
			continue;
		if (s->pkt_failed[0]) {
			/* said as missing: the per-call hooks count UDP instead */
			s->plan[i].wanted = 0;
			snprintf(s->plan[i].why, sizeof(s->plan[i].why), "%.223s", s->pkt_failed);
		} else if (!use_pkt_route(s, o, cgroot) && !(o->check_all && cgroot[0])) {
			plan_unused(s, skel, p,
				    o->raw	    ? "--raw counts every call"
				    : !wants_udp(o) ? "not needed with --tcp"
						    : "no cgroup v2 mount");
		}
	}
	if (needs_io_hooks(s, o, cgroot)) {
		struct btf *vmlinux = btf__load_vmlinux_btf();

		use_tp = kernel_has_tp_btf(vmlinux, "sock_send_length") &&
			 kernel_has_tp_btf(vmlinux, "sock_recv_length");
		btf__free(vmlinux);
		for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
			if (s->plan[prog_index(skel, tp[i])].skipped)
				use_tp = 0;
		for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]) && !use_tp; i++)
			plan_unused(s, skel, tp[i], "no sock_send_length tracepoint (Linux < 6.3)");
		for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]) && use_tp; i++)
			plan_unused(s, skel, fx[i], "the tracepoints are used");
	} else {
		const char *why = wants_udp(o) ? "UDP is counted per datagram (udp-counts)"
					       : "not needed with --tcp";

		for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
			plan_unused(s, skel, tp[i], why);
		for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++)
			plan_unused(s, skel, fx[i], why);
	}
	/*
	 * A syscalls:* tracepoint puts every syscall of every task on the slow path: 8% more CPU
	 * on iperf3 -l 100 (cpu-cost, 9 pairs: 1.091 with, 1.012 without). Only a process filter
	 * needs an accepted socket's owner at once, to open it; otherwise the file-table sweep
	 * names it within a sampling interval, and its owner's close() at the latest.
	 */
	if (!o->filter.n_pids && !o->filter.n_comms && !o->filter.cgroup_id && !o->check_all &&
	    !o->accept_wait) {
		struct bpf_program *acc[] = {skel->progs.tt_accept4, skel->progs.tt_accept,
					     skel->progs.tt_accept4_k510,
					     skel->progs.tt_accept_k510};

		for (size_t i = 0; i < sizeof(acc) / sizeof(acc[0]); i++)
			plan_unused(s, skel, acc[i],
				    "not needed without a process filter or --accept-wait");
	}
	if (!o->raw || tt_source_raw_slice_ns(o))
		plan_unused(s, skel, skel->progs.tt_stage_flush, "for --raw-slice 0 only");
	else if (o->no_stage)
		plan_unused(s, skel, skel->progs.tt_stage_flush, "-Z: calls not gathered per CPU");
	/*
	 * Beside sock_diag (tt_src_open_assist): what no poll can see and a kernel that refuses the
	 * rest may still load: exec and exit; TCP's state changes, closes, retransmits and resets;
	 * UDP per datagram, by
	 * the hooks built for kernels before 5.12 (whichever kernel: one way, tested everywhere),
	 * with their owners. Elsewhere those are not used: the others count.
	 */
	bpf_object__for_each_program(p, skel->obj)
	{
		int cap = prog_cap(skel, p);

		if (!s->assist) {
			if (k510_prog(skel, p))
				plan_unused(s, skel, p,
					    "for kernels before 5.12, beside sock_diag");
		} else if (cap != TT_CAP_PROCS && !k510_tcp_prog(skel, p) &&
			   !(s->use_pkt &&
			     (k510_udp_prog(skel, p) || p == skel->progs.tt_sock_create ||
			      cap == TT_CAP_UDP_PEERS))) {
			plan_unused(s, skel, p, "sock_diag samples the sockets");
		}
	}
	if (!cgroot[0]) {
		bpf_object__for_each_program(p, skel->obj)
		{
			int i = prog_index(skel, p);

			if (cgroup_prog(p) && !s->plan[i].skipped && !s->plan[i].unused) {
				s->plan[i].wanted = 0;
				snprintf(s->plan[i].why, sizeof(s->plan[i].why),
					 "no cgroup v2 mount");
			}
		}
	}
	return 0;
}

/* Open the object and set it up to load what the plan wants, with a log buffer per program. */
/*
 * Fault injection for tests (TT_TEST_REFUSE_PROG=name): the program named becomes one the
 * verifier refuses (it reads r2, never written), as a kernel older than our programs refuses
 * them (5.10: atomic fetch), so that the refusal takes the path a real one takes.
 */
static void test_refuse(struct bpf_program *p)
{
	static const struct bpf_insn bad[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_2},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	const char *name = getenv("TT_TEST_REFUSE_PROG");

	if (name && !strcmp(name, bpf_program__name(p)))
		bpf_program__set_insns(p, (struct bpf_insn *)bad, 2);
}

/*
 * The size of the kernel's table of open TCP connections (tcp_live): --tcp-conns, or twice the
 * TCP sockets the host has now (sockstat's alloc counts every namespace's), at least
 * TT_BPF_MAX_TCP. Past it a connection's unreported close cannot be found: a host of 100,000
 * connections is not to meet a table made for 65,536.
 */
static uint32_t tcp_table_size(const struct tt_source_opts *o)
{
	unsigned long long alloc = 0, n;
	char line[256];
	FILE *f;

	if (o->tcp_conns)
		return o->tcp_conns;
	f = fopen("/proc/net/sockstat", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %*u orphan %*u tw %*u alloc %llu", &alloc) == 1)
			break;
	if (f)
		fclose(f);
	n = 2 * alloc;
	return n < TT_BPF_MAX_TCP ? TT_BPF_MAX_TCP : n > (1u << 24) ? 1u << 24 : (uint32_t)n;
}

static struct tcptop_bpf *open_planned(struct tt_src *s, const struct tt_source_opts *o)
{
	struct tcptop_bpf *skel = tcptop_bpf__open();
	uint32_t kb = o->ringbuf_kb ? o->ringbuf_kb : DEFAULT_RINGBUF_KB;
	struct bpf_program *p;
	int i = 0;

	if (!skel)
		return NULL;
	set_rodata(skel, s, o);
	if (o->udp_flows)
		bpf_map__set_max_entries(skel->maps.flows, o->udp_flows);
	if (s->assist) {
		/* exec, exit and UDP only: TCP's tables are made (one object) but never used */
		kb = o->ringbuf_kb ? o->ringbuf_kb : ASSIST_RINGBUF_KB;
		s->tcp_table = 1;
		if (!s->use_pkt)
			bpf_map__set_max_entries(skel->maps.flows, 1);
		bpf_map__set_max_entries(skel->maps.owners, 1024); /* LRU: some per CPU */
		/* the starts of connections no poll saw yet (tcp_fallback.bpf.c): one a socket */
		bpf_map__set_max_entries(skel->maps.k510_starts, tcp_table_size(o));
	} else {
		s->tcp_table = tcp_table_size(o);
		/* a sweep adds every open TCP socket's owner: the sockets of the table's size */
		if (s->tcp_table / 2 > bpf_map__max_entries(skel->maps.owners))
			bpf_map__set_max_entries(skel->maps.owners, s->tcp_table / 2);
	}
	bpf_map__set_max_entries(skel->maps.events, kb * 1024);
	bpf_map__set_max_entries(skel->maps.tcp_live, s->tcp_table);
	bpf_object__for_each_program(p, skel->obj)
	{
		struct prog_plan *pl = &s->plan[i++];

		test_refuse(p);
		bpf_program__set_autoload(p, pl->wanted && !pl->refused && !pl->held);
		/* written only by a refused load (libbpf retries it with a log): tells which */
		pl->log[0] = '\0';
		bpf_program__set_log_buf(p, pl->log, sizeof(pl->log));
	}
	return skel;
}

/*
 * Load what the plan wants. A program the kernel refuses costs its own capability only: if it
 * is optional, it is left out and the rest loaded again. The refused program is the one whose
 * log the kernel wrote; a refusal without a log (an attach target the kernel lacks, fexit
 * refused by policy) is found by loading the required programs alone, then adding the
 * optional ones one at a time.
 */
static int next_held(struct tt_src *s)
{
	for (int i = 0; i < s->n_progs; i++) {
		if (s->plan[i].held) {
			s->plan[i].held = 0;
			s->plan[i].trying = 1;
			return i;
		}
	}
	return -1;
}

static int load(struct tt_src *s, const struct tt_source_opts *o, char *err, size_t errlen)
{
	int ret = 0, bisect = 0;

	for (int attempt = 0; attempt < 2 * TT_SRC_MAX_LINKS + 2; attempt++) {
		struct tcptop_bpf *skel = open_planned(s, o);
		struct prog_plan *pl = NULL;

		if (!skel)
			return -errno;
		ret = tcptop_bpf__load(skel);
		if (!ret) {
			for (int i = 0; i < s->n_progs; i++)
				s->plan[i].trying = 0;
			if (next_held(s) < 0) {
				s->skel = skel;
				return 0;
			}
			tcptop_bpf__destroy(skel);
			continue;
		}
		tcptop_bpf__destroy(skel);
		for (int i = 0; i < s->n_progs && !pl; i++)
			if (s->plan[i].wanted && !s->plan[i].refused && !s->plan[i].held &&
			    s->plan[i].log[0])
				pl = &s->plan[i];
		for (int i = 0; i < s->n_progs && !pl; i++)
			if (s->plan[i].trying)
				pl = &s->plan[i];
		if (pl) {
			if (pl->cap < 0) {
				char why[160];

				tt_src_verifier_reason(pl->log, sizeof(pl->log), why, sizeof(why));
				snprintf(err, errlen, "cannot load BPF program %s: %s", pl->name,
					 why);
				return TT_SOURCE_REFUSED;
			}
			pl->refused = 1;
			pl->trying = 0;
			if (pl->log[0]) {
				char why[128];

				tt_src_verifier_reason(pl->log, sizeof(pl->log), why, sizeof(why));
				snprintf(pl->why, sizeof(pl->why), "%s %s", pl->name, why);
			} else {
				snprintf(pl->why, sizeof(pl->why), "%s refused at load: %s",
					 pl->name, strerror(-ret));
			}
			next_held(s);
			continue;
		}
		if (ret == -EPERM && geteuid() != 0)
			return ret; /* no privileges */
		if (bisect) {	    /* the required programs alone fail */
			snprintf(err, errlen, "the kernel refuses the required BPF programs: %s",
				 strerror(-ret));
			return TT_SOURCE_REFUSED;
		}
		/* no log names the refused program: the required ones alone, then one by one */
		bisect = 1;
		for (int i = 0; i < s->n_progs; i++)
			if (s->plan[i].cap >= 0 && s->plan[i].wanted && !s->plan[i].refused)
				s->plan[i].held = 1;
	}
	return ret ? ret : -ELOOP;
}

static void probe_add(struct tt_src *s, const struct bpf_program *p)
{
	size_t used = strlen(s->probes);
	char name[128];

	probe_name(p, name, sizeof(name));
	for (const char *c = s->probes; (c = strstr(c, name)); c += strlen(name))
		if ((c == s->probes || c[-1] == ' ') &&
		    (!c[strlen(name)] || c[strlen(name)] == ' '))
			return; /* two programs on one attach point (iter:tcp) */
	snprintf(s->probes + used, sizeof(s->probes) - used, "%s%s", used ? " " : "", name);
}

static int attach(struct tt_src *s, const char *cgroot, char *err, size_t errlen)
{
	struct bpf_program *p;
	struct bpf_link *l;
	int i = -1;

	bpf_object__for_each_program(p, s->skel->obj)
	{
		const char *sec = bpf_program__section_name(p);
		struct prog_plan *pl = &s->plan[++i];

		if (!bpf_program__autoload(p))
			continue;
		/* never attached: the run loop runs it on each CPU (src_run.c, stage_flush) */
		if (p == s->skel->progs.tt_stage_flush) {
			s->stage_fd = bpf_program__fd(p);
			pl->attached = 1;
			continue;
		}
		/* never attached either: udp.c runs it to move an idle flow aside (flow_reap) */
		if (p == s->skel->progs.tt_udp_reap_k510) {
			s->reap_fd = bpf_program__fd(p);
			pl->attached = 1;
			continue;
		}
		if (!strncmp(sec, "iter/", 5)) {
			l = bpf_program__attach_iter(p, NULL);
		} else if (cgroup_prog(p)) {
			if (s->cg_fd < 0)
				s->cg_fd = open(cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			l = s->cg_fd < 0 ? NULL : bpf_program__attach_cgroup(p, s->cg_fd);
		} else {
			l = bpf_program__attach(p);
		}
		if (!l) {
			int e = errno;

			if (optional_prog(s->skel, p)) {
				snprintf(pl->why, sizeof(pl->why), "cannot attach %s: %s", sec,
					 strerror(e));
				continue;
			}
			snprintf(err, errlen, "cannot attach %s: %s", sec, strerror(e));
			return e == EPERM ? -e : TT_SOURCE_REFUSED;
		}
		pl->attached = 1;
		if (p == s->skel->progs.tt_iter_tcp)
			s->it_tcp = l;
		else if (p == s->skel->progs.tt_iter_owner)
			s->it_owner = l;
		else if (p == s->skel->progs.tt_iter_udp)
			s->it_udp = l;
		else if (p == s->skel->progs.tt_iter_files)
			s->it_files = l;
		s->links[s->n_links++] = l;
		probe_add(s, p);
	}
	return 0;
}

/*
 * Each capability from its programs: ok when every program it wanted attached, missing with
 * the first reason otherwise (for the per-call hooks, a tracepoint left out counts only if the
 * fexit fallback failed too), not needed when none was wanted.
 */
/* Whether the space-separated list has word. */
static int word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *c = strstr(list, word); c; c = strstr(c + 1, word))
		if ((c == list || c[-1] == ' ') && (c[n] == ' ' || !c[n]))
			return 1;
	return 0;
}

static void set_caps(struct tt_src *s)
{
	struct bpf_program *p;

	for (int c = 0; c < TT_CAP_N; c++) {
		char ok[192] = "", skipped[224] = "";
		const char *fail = NULL, *unused = NULL;
		int i = -1, n_att = 0;

		if (c == TT_CAP_NETNS)
			continue;
		bpf_object__for_each_program(p, s->skel->obj)
		{
			struct prog_plan *pl = &s->plan[++i];
			char name[128];
			size_t used = strlen(ok);

			if (pl->cap != c)
				continue;
			if (pl->attached) {
				n_att++;
				probe_name(p, name, sizeof(name));
				/* a hook named once (tt_udp_reap_k510 is egress's, never attached)
				 */
				if (!word_in(ok, name))
					snprintf(ok + used, sizeof(ok) - used, "%s%s",
						 used ? " " : "", name);
			} else if (pl->unused) {
				unused = unused ? unused : pl->why;
			} else if (pl->skipped && c == TT_CAP_SENDRECV) {
				if (!skipped[0])
					snprintf(skipped, sizeof(skipped), "%s", pl->why);
			} else if (!fail) {
				fail = pl->why;
			}
		}
		if (c == TT_CAP_SENDRECV && !n_att && !fail && skipped[0])
			fail = skipped;
		if (fail) {
			char why[480];

			snprintf(why, sizeof(why), "%s%s%s",
				 skipped[0] && fail != skipped ? skipped : "",
				 skipped[0] && fail != skipped ? ", and " : "", fail);
			tt_source_cap_set(s->h, c, TT_SOURCE_CAP_MISSING, why);
		} else if (n_att) {
			tt_source_cap_set(s->h, c, TT_SOURCE_CAP_OK, ok);
		} else {
			tt_source_cap_set(s->h, c, TT_SOURCE_CAP_UNUSED, unused);
		}
	}
}

/*
 * The names of this kernel's drop reasons (enum skb_drop_reason in its BTF), by number, as DROP
 * records store them: SKB_DROP_REASON_NETFILTER_DROP is NETFILTER_DROP. The numbers differ
 * between kernels; the names are what a capture read elsewhere can compare. 0, or -errno
 * (then DROP records carry only the number).
 */
static int drop_names_load(struct tt_src *s)
{
	static const char pfx[] = "SKB_DROP_REASON_";
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *v;
	uint32_t max = 0;
	int id, ret = 0;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0) {
		ret = id;
		goto out;
	}
	t = btf__type_by_id(btf, id);
	v = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++)
		if ((uint32_t)v[i].val + 1 > max && (uint32_t)v[i].val < 65536)
			max = (uint32_t)v[i].val + 1;
	s->drop_names = calloc(max ? max : 1, TT_NAME_LEN);
	if (!s->drop_names) {
		ret = -ENOMEM;
		goto out;
	}
	s->n_drop_names = max;
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(btf, v[i].name_off);

		if (!name || (uint32_t)v[i].val >= max)
			continue;
		if (!strncmp(name, pfx, sizeof(pfx) - 1))
			name += sizeof(pfx) - 1;
		strncpy(s->drop_names[v[i].val], name, TT_NAME_LEN);
	}
out:
	btf__free(btf);
	return ret;
}

static void plan_init_netns(struct tt_src *s)
{
	/* listeners ride in the sampling pass, which every recording has */
	tt_source_cap_set(
	    s->h, TT_CAP_LISTENERS, TT_SOURCE_CAP_OK,
	    "iter:tcp reads each listener's sk_ack_backlog, sk_max_ack_backlog, sk_drops");
	s->self_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_ns_fd < 0) {
		char why[160];

		snprintf(why, sizeof(why), "/proc/self/ns/net: %s", strerror(errno));
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SOURCE_CAP_MISSING, why);
		return;
	}
	s->other_ns = 1;
	tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SOURCE_CAP_OK,
			  "each namespace entered to sample it");
}

/* Back to before plan_load_attach(): no links, no object, an empty plan. */
static void unload(struct tt_src *s)
{
	for (int i = s->n_links - 1; i >= 0; i--)
		bpf_link__destroy(s->links[i]);
	s->n_links = 0;
	s->it_tcp = s->it_udp = s->it_files = s->it_owner = NULL;
	tcptop_bpf__destroy(s->skel);
	s->skel = NULL;
	s->probes[0] = '\0';
	memset(s->plan, 0, sizeof(s->plan));
	s->n_progs = 0;
}

static int plan_load_attach(struct tt_src *s, const struct tt_source_opts *opts, const char *cgroot,
			    char *err, size_t errlen)
{
	struct tcptop_bpf *skel = tcptop_bpf__open();
	int ret;

	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-ret));
		return ret;
	}
	ret = plan_programs(s, skel, opts, cgroot, err, errlen);
	s->plan_accept = s->plan[prog_index(skel, skel->progs.tt_accept4)].wanted;
	tcptop_bpf__destroy(skel);
	if (ret)
		return ret;
	ret = load(s, opts, err, errlen);
	if (ret) {
		if (err[0])
			return ret;
		if (ret == -EPERM || geteuid() != 0)
			snprintf(err, errlen,
				 "needs root (CAP_BPF and CAP_PERFMON) to load BPF programs");
		else
			snprintf(err, errlen, "cannot load BPF programs: %s", strerror(-ret));
		return ret;
	}
	return attach(s, cgroot, err, errlen);
}

int tt_src_load(struct tt_src *s, const struct tt_source_opts *opts, char *err, size_t errlen)
{
	char cgroot[512];
	struct stat sb;
	int ret;

	libbpf_set_print(opts->verbose ? libbpf_verbose : libbpf_quiet);
	cgroup2_root(cgroot, sizeof(cgroot));
	if (stat("/proc/self/ns/net", &sb) == 0)
		s->netns = sb.st_ino;

	for (int round = 0;; round++) {
		ret = plan_load_attach(s, opts, cgroot, err, errlen);
		if (ret)
			return ret;
		set_caps(s);
		if (round || !s->use_pkt || s->h->caps.state[TT_CAP_UDP_PKTS] == TT_SOURCE_CAP_OK)
			break;
		/* the packet route is incomplete: load again with the per-call hooks for UDP */
		snprintf(s->pkt_failed, sizeof(s->pkt_failed), "%s",
			 s->h->caps.why[TT_CAP_UDP_PKTS]);
		unload(s);
	}
	plan_init_netns(s);
	/* without iter/udp the end of a connected socket is not seen: its flows end when idle */
	s->skel->bss->udp_idle_connected = s->it_udp ? 0 : 1;
	if (s->h->caps.state[TT_CAP_DROPS] == TT_SOURCE_CAP_OK && drop_names_load(s) < 0)
		tt_source_cap_set(
		    s->h, TT_CAP_DROPS, TT_SOURCE_CAP_MISSING,
		    "no enum skb_drop_reason in this kernel's BTF to name the reasons");
	if (s->raw && s->h->caps.state[TT_CAP_SENDRECV] != TT_SOURCE_CAP_OK) {
		snprintf(err, errlen, "--raw needs per-call send/recv hooks: %s",
			 s->h->caps.why[TT_CAP_SENDRECV]);
		return -EOPNOTSUPP;
	}
	return 0;
}
