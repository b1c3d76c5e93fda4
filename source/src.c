// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tt_src: load the BPF object (the bpf/ parts joined), pick the attach points this kernel offers,
 * push filters into the kernel, drain the ring buffer on a short timer and
 * run the sampling passes (TCP counters, UDP flow sums) every interval.
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "tt_source.h"
#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"
#include "tt_netns.h"

#define DRAIN_MS 5 /* ring buffer records carry no wakeup: drain this often */
/*
 * Records per drain: a consume runs as long as the kernel adds records, so a
 * producer faster than us would keep it from returning (no flush, no signal).
 */
#define DRAIN_BUDGET 65536
/*
 * And time per drain: a consumer slower than the producer (a recorder whose output is a slow
 * pipe) would take a whole budget each time, and the sampling passes, due every interval,
 * would come only every DRAIN_BUDGET records (13 s in an emulated guest). The clock is read
 * every DRAIN_CLOCK_EVERY records.
 */
#define DRAIN_SLICE_NS (50 * 1000000ULL)
#define DRAIN_CLOCK_EVERY 256
/* a pass waits this long at most for the records made before it (a full 8 MB ring buffer
 * read by a slow pipe) */
#define DRAIN_PAST_NS (20 * 1000000000ULL)
#define SKIP_CHECK_NS (100 * 1000000ULL) /* how often runs the kernel skipped are looked up */
#define DEFAULT_RINGBUF_KB 8192
/* a process filter waits for an accepted connection's owner: look at most this often */
#define OWNER_PASS_NS (20 * 1000000ULL)
/*
 * Connections of unknown owner left after a sampling pass: sweep the file
 * tables this often. With the accept tracepoints those are only the not yet
 * accepted and the io_uring-accepted; without them, every passive one.
 */
#define SWEEP_NS (5000 * 1000000ULL)

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

static void set_rodata(struct tcptop_bpf *skel, const struct tt_src *s, const struct tt_src_opts *o)
{
	const struct tt_filter *f = &o->filter;
	const char *skip_close = getenv("TT_TEST_SKIP_CLOSE");

	skel->rodata->raw_mode = o->raw ? 1 : 0;
	skel->rodata->raw_slice_ns = tt_src_raw_slice_ns(o);
	/* fault injection for tests: the programs emit no close, as when the kernel skips them
	 * ("nospace": the close finds the ring buffer full) */
	skel->rodata->test_skip_close = !skip_close ? 0 : strcmp(skip_close, "nospace") ? 1 : 2;
	skel->rodata->udp_by_packet = s->use_pkt ? 1 : 0;
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

/* UDP counted per datagram: the cgroup skb hooks, and the creator as the owner. */
static int pkt_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	return p == skel->progs.tt_udp_out || p == skel->progs.tt_udp_in ||
	       p == skel->progs.tt_sock_create;
}

/* The capability an optional program gives (source/src_caps.c), or -1 for a required one. */
static int prog_cap(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	if (io_prog(skel, p))
		return TT_CAP_SENDRECV;
	if (pkt_prog(skel, p))
		return TT_CAP_UDP_PKTS;
	if (!strncmp(bpf_program__section_name(p), "cgroup/", 7))
		return TT_CAP_UDP_PEERS;
	if (p == skel->progs.tt_iter_files)
		return TT_CAP_OWNER_SWEEP;
	if (p == skel->progs.tt_accept4 || p == skel->progs.tt_accept)
		return TT_CAP_ACCEPT;
	if (p == skel->progs.tt_destroy)
		return TT_CAP_DESTROY;
	if (p == skel->progs.tt_iter_udp)
		return TT_CAP_UDP_CLOSE;
	if (p == skel->progs.tt_retrans)
		return TT_CAP_RETRANS;
	if (p == skel->progs.tt_send_reset || p == skel->progs.tt_recv_reset)
		return TT_CAP_RESETS;
	if (p == skel->progs.tt_exec || p == skel->progs.tt_exit)
		return TT_CAP_PROCS;
	if (p == skel->progs.tt_drop)
		return TT_CAP_DROPS;
	if (p == skel->progs.tt_sk_error)
		return TT_CAP_SK_ERROR;
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
static int wants_udp(const struct tt_src_opts *o)
{
	return o->filter.proto != IPPROTO_TCP;
}

static int use_pkt_route(const struct tt_src *s, const struct tt_src_opts *o, const char *cgroot)
{
	return !o->raw && wants_udp(o) && cgroot[0] && !s->pkt_failed[0];
}

static int needs_io_hooks(const struct tt_src *s, const struct tt_src_opts *o, const char *cgroot)
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
static int plan_programs(struct tt_src *s, struct tcptop_bpf *skel, const struct tt_src_opts *o,
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
		plan_unused(s, skel, skel->progs.tt_accept4,
			    "not needed without a process filter or --accept-wait");
		plan_unused(s, skel, skel->progs.tt_accept,
			    "not needed without a process filter or --accept-wait");
	}
	if (!cgroot[0]) {
		bpf_object__for_each_program(p, skel->obj)
		{
			int i = prog_index(skel, p);

			if ((s->plan[i].cap == TT_CAP_UDP_PEERS ||
			     s->plan[i].cap == TT_CAP_UDP_PKTS) &&
			    !s->plan[i].skipped && !s->plan[i].unused) {
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
static uint32_t tcp_table_size(const struct tt_src_opts *o)
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

static struct tcptop_bpf *open_planned(struct tt_src *s, const struct tt_src_opts *o)
{
	struct tcptop_bpf *skel = tcptop_bpf__open();
	uint32_t kb = o->ringbuf_kb ? o->ringbuf_kb : DEFAULT_RINGBUF_KB;
	struct bpf_program *p;
	int i = 0;

	if (!skel)
		return NULL;
	set_rodata(skel, s, o);
	bpf_map__set_max_entries(skel->maps.events, kb * 1024);
	if (o->udp_flows)
		bpf_map__set_max_entries(skel->maps.flows, o->udp_flows);
	s->tcp_table = tcp_table_size(o);
	bpf_map__set_max_entries(skel->maps.tcp_live, s->tcp_table);
	/* a sweep adds every open TCP socket's owner: the sockets the table was sized for */
	if (s->tcp_table / 2 > bpf_map__max_entries(skel->maps.owners))
		bpf_map__set_max_entries(skel->maps.owners, s->tcp_table / 2);
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

static int load(struct tt_src *s, const struct tt_src_opts *o, char *err, size_t errlen)
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
				return TT_SRC_REFUSED;
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
			return TT_SRC_REFUSED;
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
		if (!strncmp(sec, "iter/", 5)) {
			l = bpf_program__attach_iter(p, NULL);
		} else if (!strncmp(sec, "cgroup/", 7) || !strncmp(sec, "cgroup_skb/", 11)) {
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
			return e == EPERM ? -e : TT_SRC_REFUSED;
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
				snprintf(ok + used, sizeof(ok) - used, "%s%s", used ? " " : "",
					 name);
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
			tt_source_cap_set(s->h, c, TT_SRC_CAP_MISSING, why);
		} else if (n_att) {
			tt_source_cap_set(s->h, c, TT_SRC_CAP_OK, ok);
		} else {
			tt_source_cap_set(s->h, c, TT_SRC_CAP_UNUSED, unused);
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

static int on_record(void *ctx, void *data, size_t size)
{
	struct tt_src *s = ctx;
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	if (ev.kind == TT_EV_DROP && ev.u.drop.code < s->n_drop_names)
		memcpy(ev.u.drop.reason, s->drop_names[ev.u.drop.code], TT_NAME_LEN);
	/* udp.c reports a UDP flow only after its open (a failed put: as if the open was lost) */
	if (ev.kind == TT_EV_CONN_OPEN && ev.u.open.proto == IPPROTO_UDP)
		tt_u64map_put(&s->udp_opened, ev.conn_id, NULL);
	if (tt_source_emit(s->h, &ev))
		return -ECANCELED; /* consumed, but kept: offered again at the next poll */
	/* the rest waits for the next drain */
	if (!--s->budget)
		return -EAGAIN;
	if (s->budget % DRAIN_CLOCK_EVERY == 0 && tt_now_mono_ns() >= s->drain_until_ns)
		return -EAGAIN;
	return 0;
}

/*
 * Read an iterator's fd to its end and close it; the output (if buf) is appended at *used.
 * The kernel ends a read() with EAGAIN after a million objects that wrote nothing
 * (MAX_ITER_OBJECTS, kernel/bpf/bpf_iter.c bpf_seq_read): the walk goes on at the next read,
 * and our programs write their findings to maps and the ring buffer, not to the output.
 */
static int read_iter(int fd, char **buf, size_t *cap, size_t *used)
{
	ssize_t n;

	for (;;) {
		if (buf && *used + 4096 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 65536;
			char *nb = realloc(*buf, ncap);

			if (!nb) {
				close(fd);
				return -ENOMEM;
			}
			*buf = nb;
			*cap = ncap;
		}
		if (buf) {
			n = read(fd, *buf + *used, *cap - *used);
		} else {
			char scratch[4096];

			n = read(fd, scratch, sizeof(scratch));
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		*used += n;
	}
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Run an iterator once; its text output (if any) goes into buf. Returns bytes read or -errno. */
int tt_src_run_iter(struct bpf_link *l, char **buf, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(l)), ret;
	size_t used = 0;

	if (fd < 0)
		return -errno;
	ret = read_iter(fd, buf, cap, &used);
	return ret ? ret : (int)used;
}

struct iter_pass {
	struct tt_src *s;
	struct bpf_link *link;
	tt_src_ns_want want;
	void *arg;
	char **buf;
	size_t *cap, used;
	uint64_t *seen; /* every namespace the walk met, wanted or not */
	size_t n_seen, cap_seen;
};

static void note_seen(struct iter_pass *ip, uint64_t ino)
{
	if (ip->n_seen == ip->cap_seen) {
		size_t ncap = ip->cap_seen ? ip->cap_seen * 2 : 64;
		uint64_t *n = realloc(ip->seen, ncap * sizeof(*n));

		if (!n)
			return; /* then it may be looked for again among the held ones */
		ip->seen = n;
		ip->cap_seen = ncap;
	}
	ip->seen[ip->n_seen++] = ino;
}

/* In one other namespace: create the iterator there, come back, read it here. */
static int iter_in_ns(int ns_fd, uint64_t ino, void *ctx)
{
	struct iter_pass *ip = ctx;
	struct tt_src *s = ip->s;
	int fd, ret;

	note_seen(ip, ino);
	if (ip->want && !ip->want(s, ino, ip->arg))
		return 0;
	ret = tt_netns_enter(ns_fd);
	if (ret) {
		char why[160];

		snprintf(why, sizeof(why), "cannot enter other network namespaces: %s",
			 strerror(-ret));
		s->other_ns = 0;
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SRC_CAP_MISSING, why);
		return 1;
	}
	fd = bpf_iter_create(bpf_link__fd(ip->link));
	ret = fd < 0 ? -errno : 0;
	ret = tt_netns_enter(s->self_ns_fd);
	if (ret) {
		/* cannot happen for root; if it did, every later pass would sample the wrong one */
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (fd < 0)
		return 0; /* a namespace on its way out */
	ret = read_iter(fd, ip->buf, ip->cap, &ip->used);
	/* walked: only a namespace read to its end (tcp_gone.c closes what it did not find) */
	if (!ret && s->n_ns < TT_SRC_MAX_NS)
		s->ns_ino[s->n_ns++] = (uint32_t)ino;
	return ret == -ENOMEM ? -ENOMEM : 0;
}

/* Add ino to the namespaces to look for: one with connections that the walk did not meet. */
static void add_missing(struct tt_src *s, const struct iter_pass *ip, uint64_t ino, uint64_t *miss,
			size_t *n)
{
	if (!ino || ino == s->netns || *n == TT_SRC_MAX_NS)
		return;
	for (size_t i = 0; i < ip->n_seen; i++)
		if (ip->seen[i] == ino)
			return;
	for (size_t i = 0; i < *n; i++)
		if (miss[i] == ino)
			return;
	if (!ip->want || ip->want(s, ino, ip->arg))
		miss[(*n)++] = ino;
}

/*
 * Namespaces the programs saw connections in (TCP: ns_tcp; UDP: the flows' last flush) that
 * no process is in and /run/netns does not name: found through the sockets kept there.
 */
static void walk_held(struct tt_src *s, struct iter_pass *ip)
{
	int fd = bpf_map__fd(s->skel->maps.ns_tcp);
	uint64_t *miss = malloc(TT_SRC_MAX_NS * sizeof(*miss));
	uint32_t key, next, *prev = NULL;
	size_t n = 0;
	int64_t open;

	if (!miss)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &open) == 0 && open > 0)
			add_missing(s, ip, key, miss, &n);
	}
	for (size_t i = 0; i < s->n_udp_ns; i++)
		add_missing(s, ip, s->udp_ns[i], miss, &n);
	if (n)
		tt_netns_find_held(miss, n, s->held, sizeof(s->held) / sizeof(s->held[0]),
				   iter_in_ns, ip);
	free(miss);
}

int tt_src_run_iter_all(struct tt_src *s, struct bpf_link *l, char **buf, size_t *cap,
			tt_src_ns_want want, void *arg)
{
	struct iter_pass ip = {.s = s, .link = l, .want = want, .arg = arg, .buf = buf, .cap = cap};
	int fd = bpf_iter_create(bpf_link__fd(l)), ret;

	if (fd < 0)
		return -errno;
	ret = read_iter(fd, buf, cap, &ip.used);
	if (ret)
		return ret;
	s->n_ns = 0;
	if (s->other_ns && tt_netns_each(s->netns, iter_in_ns, &ip) != -ENOMEM && s->other_ns)
		walk_held(s, &ip);
	free(ip.seen);
	return (int)ip.used;
}

int tt_src_ns_has_tcp(struct tt_src *s, uint64_t ino, void *arg)
{
	uint32_t key = (uint32_t)ino;
	int64_t n = 0;

	(void)arg;
	if (s->skel->bss->ns_tcp_full)
		return 1;
	return bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.ns_tcp), &key, &n) == 0 && n > 0;
}

/* Whether the last pass over every namespace walked this one. */
int tt_src_ns_walked(const struct tt_src *s, uint32_t netns)
{
	if (netns == s->netns)
		return 1;
	for (size_t i = 0; i < s->n_ns; i++)
		if (s->ns_ino[i] == netns)
			return 1;
	return 0;
}

/* Failed reservations since the last look, per cpu, as LOST events. */
static void report_lost(struct tt_src *s)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.lost), &zero, s->lost_now))
		return;
	for (int c = 0; c < s->ncpu; c++) {
		struct tt_event ev;

		if (s->lost_now[c] <= s->lost_seen[c])
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = tt_now_boot_ns();
		ev.kind = TT_EV_LOST;
		ev.u.lost.count = s->lost_now[c] - s->lost_seen[c];
		ev.u.lost.cpu = c;
		s->lost_seen[c] = s->lost_now[c];
		tt_source_emit(s->h, &ev);
	}
}

/*
 * Runs the kernel skipped because the program was already running on that CPU (a softirq
 * interrupting it): whatever those runs would have recorded is gone. Each skipped run is
 * reported as one lost event on TT_LOST_CPU_ANY, so a capture never loses them silently.
 */
static void report_skipped(struct tt_src *s)
{
	uint64_t sum = 0, now = tt_now_mono_ns();
	struct bpf_program *p;

	/* a syscall per program: every SKIP_CHECK_NS is enough (and at flush) */
	if (now < s->next_skip_check_ns)
		return;
	s->next_skip_check_ns = now + SKIP_CHECK_NS;

	bpf_object__for_each_program(p, s->skel->obj)
	{
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			sum += info.recursion_misses;
	}
	if (sum > s->skipped_seen) {
		struct tt_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = tt_now_boot_ns();
		ev.kind = TT_EV_LOST;
		ev.u.lost.count = sum - s->skipped_seen;
		ev.u.lost.cpu = TT_LOST_CPU_ANY;
		s->skipped_seen = sum;
		tt_source_emit(s->h, &ev);
	}
}

/*
 * Deliver what the ring buffer holds, up to DRAIN_BUDGET records or DRAIN_SLICE_NS.
 * -EAGAIN: more is waiting.
 */
static int drain(struct tt_src *s)
{
	int n;

	s->budget = DRAIN_BUDGET;
	s->drain_until_ns = tt_now_mono_ns() + DRAIN_SLICE_NS;
	n = ring_buffer__consume(s->rb);
	s->rb_emptied = n >= 0;
	report_lost(s);
	report_skipped(s);
	return n == -ECANCELED ? 0 : n;
}

/* Where the ring buffer's producer stands now: every record before it is reserved. */
static uint64_t rb_producer(const struct tt_src *s)
{
	const unsigned long *p = (const void *)((const char *)s->rb_pos + s->rb_pos_len / 2);

	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static uint64_t rb_consumer(const struct tt_src *s)
{
	return __atomic_load_n((const unsigned long *)s->rb_pos, __ATOMIC_ACQUIRE);
}

/*
 * Drain until every record reserved before the producer stood at TARGET is read (a
 * callback's refusal or MAX_NS end it sooner): whether it was. Under load the ring buffer is
 * never read empty, and need not be: what came before is all that must come first, at most a
 * ring buffer's worth however fast others write.
 */
static int drain_to(struct tt_src *s, uint64_t target, uint64_t max_ns)
{
	uint64_t now = tt_now_mono_ns(),
		 end = max_ns > UINT64_MAX - now ? UINT64_MAX : now + max_ns;

	while (!s->h->cb_ret && tt_now_mono_ns() < end) {
		int n = drain(s);

		if (s->rb_pos ? (int64_t)(rb_consumer(s) - target) >= 0 : s->rb_emptied)
			return !s->h->cb_ret;
		if (n != -EAGAIN && !s->rb_pos)
			return 0;
	}
	return 0;
}

/* The records before a sampling pass's walk: whether all were read (rb_caught_up). */
static void drain_past(struct tt_src *s, uint64_t target, uint64_t max_ns)
{
	s->rb_caught_up = drain_to(s, target, max_ns);
}

/*
 * Every record reserved until now: at a flush within MAX_NS (others still write), at the stop
 * all of them (the links are gone; SIGINT/SIGTERM flush everything, however slow the output).
 */
static void drain_out(struct tt_src *s, uint64_t max_ns)
{
	drain_to(s, s->rb_pos ? rb_producer(s) : 0, max_ns);
}

/*
 * One sampling pass: TCP counters and RTT from iter/tcp (which also applies
 * owners left by the accept tracepoints), owners still unknown from the file
 * tables, then UDP sums.
 */
/*
 * Namespaces an owner pass enters: those with an open connection, and with a process filter
 * every one, as a connection waiting for its owner to be opened is not counted yet.
 */
static int owner_ns(struct tt_src *s, uint64_t ino, void *arg)
{
	return s->plan_accept || tt_src_ns_has_tcp(s, ino, arg);
}

static void sample_once(struct tt_src *s)
{
	uint64_t now;

	drain(s);
	if (s->it_tcp) {
		s->skel->bss->cur_pass = ++s->pass;
		if (tt_src_run_iter_all(s, s->it_tcp, NULL, NULL, tt_src_ns_has_tcp, NULL) >= 0) {
			drain_past(s, s->rb_pos ? rb_producer(s) : 0, DRAIN_PAST_NS);
			tt_src_tcp_gone(s);
		}
	}
	drain(s);
	now = tt_now_mono_ns();
	/* without the accept tracepoints a sweep is how accepted connections get an owner */
	if (s->it_files && s->skel->bss->n_unowned &&
	    (!s->plan_accept || now >= s->next_sweep_ns)) {
		/* a sweep cut short is made again at the next pass, not SWEEP_NS later */
		if (tt_src_run_iter(s->it_files, NULL, NULL) >= 0)
			s->next_sweep_ns = now + SWEEP_NS;
		drain(s);
		/*
		 * The owners it found (even by a sweep cut short) are applied by the programs
		 * that hold the sockets; those left wait in their map for the next pass.
		 */
		if (s->skel->bss->owners_n && s->it_owner)
			tt_src_run_iter_all(s, s->it_owner, NULL, NULL, owner_ns, NULL);
		drain(s);
	}
	tt_src_udp_flush(s);
	drain(s);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/*
 * A sampling pass, timed: its cost grows with the open connections, and a big host's recorder
 * is to say what it is (tt_src_stats.sample_*, the recorder's exit line; docs/BENCHMARKS.md).
 */
static void sample(struct tt_src *s)
{
	uint64_t t0 = tt_now_mono_ns(), c0 = thread_cpu_ns(), dt, dc;

	sample_once(s);
	dt = tt_now_mono_ns() - t0;
	dc = thread_cpu_ns() - c0;
	s->samples++;
	s->sample_ns += dt;
	s->sample_cpu_ns += dc;
	if (dt > s->sample_ns_max)
		s->sample_ns_max = dt;
	if (dc > s->sample_cpu_ns_max)
		s->sample_cpu_ns_max = dc;
}

/* A process filter waits for the owner of an accepted connection: open it now, not at the next
 * sample. */
static void owner_pass(struct tt_src *s, uint64_t now)
{
	uint64_t wanted = s->skel->bss->owners_wanted;

	if (wanted == s->owners_seen || !s->it_owner || now < s->next_owner_ns)
		return;
	s->next_owner_ns = now + OWNER_PASS_NS;
	/* a pass that failed is made again (OWNER_PASS_NS later), not left to the next sample */
	if (tt_src_run_iter_all(s, s->it_owner, NULL, NULL, owner_ns, NULL) >= 0)
		s->owners_seen = wanted;
	drain(s);
}

static void plan_init_netns(struct tt_src *s)
{
	/* listeners ride in the sampling pass, which every recording has */
	tt_source_cap_set(
	    s->h, TT_CAP_LISTENERS, TT_SRC_CAP_OK,
	    "iter:tcp reads each listener's sk_ack_backlog, sk_max_ack_backlog, sk_drops");
	s->self_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_ns_fd < 0) {
		char why[160];

		snprintf(why, sizeof(why), "/proc/self/ns/net: %s", strerror(errno));
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SRC_CAP_MISSING, why);
		return;
	}
	s->other_ns = 1;
	tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SRC_CAP_OK, "each namespace entered to sample it");
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

static int plan_load_attach(struct tt_src *s, const struct tt_src_opts *opts, const char *cgroot,
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

static void bpf_close(struct tt_source *h);
static const struct tt_source_ops bpf_ops;

int tt_src_open(struct tt_source *h, char *err, size_t errlen)
{
	const struct tt_src_opts *opts = &h->opts;
	struct tt_src *s;
	char cgroot[512];
	struct stat sb;
	int ret;

	if (errlen)
		err[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->h = h;
	h->priv = s;
	h->ops = &bpf_ops;
	tt_src_caps_init(h);
	s->cg_fd = -1;
	s->self_ns_fd = -1;
	s->raw = opts->raw;
	s->coalesce_ms = opts->coalesce_ms ? opts->coalesce_ms : TT_SRC_DEFAULT_COALESCE_MS;
	s->udp_idle_ns =
	    (uint64_t)(opts->udp_idle_ms ? opts->udp_idle_ms : TT_SRC_DEFAULT_UDP_IDLE_MS) *
	    1000000;
	libbpf_set_print(opts->verbose ? libbpf_verbose : libbpf_quiet);
	cgroup2_root(cgroot, sizeof(cgroot));
	if (stat("/proc/self/ns/net", &sb) == 0)
		s->netns = sb.st_ino;

	for (int round = 0;; round++) {
		ret = plan_load_attach(s, opts, cgroot, err, errlen);
		if (ret)
			goto fail;
		set_caps(s);
		if (round || !s->use_pkt || s->h->caps.state[TT_CAP_UDP_PKTS] == TT_SRC_CAP_OK)
			break;
		/* the packet route is incomplete: load again with the per-call hooks for UDP */
		snprintf(s->pkt_failed, sizeof(s->pkt_failed), "%s",
			 s->h->caps.why[TT_CAP_UDP_PKTS]);
		unload(s);
	}
	plan_init_netns(s);
	if (s->h->caps.state[TT_CAP_DROPS] == TT_SRC_CAP_OK && drop_names_load(s) < 0)
		tt_source_cap_set(
		    s->h, TT_CAP_DROPS, TT_SRC_CAP_MISSING,
		    "no enum skb_drop_reason in this kernel's BTF to name the reasons");
	if (s->raw && s->h->caps.state[TT_CAP_SENDRECV] != TT_SRC_CAP_OK) {
		snprintf(err, errlen, "--raw needs per-call send/recv hooks: %s",
			 s->h->caps.why[TT_CAP_SENDRECV]);
		ret = -EOPNOTSUPP;
		goto fail;
	}

	s->ncpu = libbpf_num_possible_cpus();
	s->lost_seen = calloc(s->ncpu, sizeof(uint64_t));
	s->lost_now = calloc(s->ncpu, sizeof(uint64_t));
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	if (!s->lost_seen || !s->lost_now || !s->rb ||
	    tt_u64map_init(&s->udp_opened, sizeof(struct tt_udp_done), 256)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "cannot set up the ring buffer");
		goto fail;
	}
	/* read-only, as the kernel allows: where the consumer and the producer stand */
	s->rb_pos_len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	s->rb_pos =
	    mmap(NULL, s->rb_pos_len, PROT_READ, MAP_SHARED, bpf_map__fd(s->skel->maps.events), 0);
	if (s->rb_pos == MAP_FAILED)
		s->rb_pos = NULL; /* then only a drain read to the end tells */
	s->clock_offset = tt_boot_to_wall_ns();
	/*
	 * Owners of existing sockets first, so that existing connections are attributed (a
	 * sweep that fails leaves them to the sampling passes' sweeps), then every existing
	 * connection, whichever namespace it is in: without them a recording is not one.
	 */
	if (s->it_files)
		tt_src_run_iter(s->it_files, NULL, NULL);
	if (s->it_tcp) {
		ret = tt_src_run_iter_all(s, s->it_tcp, NULL, NULL, NULL, NULL);
		if (ret < 0) {
			snprintf(err, errlen, "cannot walk the TCP sockets (iter/tcp): %s",
				 strerror(-ret));
			goto fail;
		}
	}
	s->next_sample_ns = tt_now_mono_ns() + (uint64_t)s->coalesce_ms * 1000000;
	return 0;
fail:
	bpf_close(h);
	return ret;
}

/*
 * After the caller dropped its privileges: check that reading the maps and running the
 * iterators still works (kernels before 5.19 with unprivileged_bpf_disabled refuse them).
 * 0, or -EPERM with a one-line message: the caller must not go on without them.
 * Capabilities that need privileges (entering other namespaces) become missing.
 */
static int bpf_after_drop(struct tt_source *h, char *err, size_t errlen)
{
	struct tt_src *s = h->priv;
	uint32_t zero = 0;
	int fd = bpf_map__fd(s->skel->maps.lost), by_id = -1, ret;

	/*
	 * Test hook: the map read through an fd got by its id, which needs CAP_SYS_ADMIN on every
	 * kernel, as any map read does before 5.19: the read below fails only if root is gone.
	 */
	if (getenv("TT_TEST_UNPRIV_BPF")) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		fd = by_id =
		    bpf_obj_get_info_by_fd(fd, &info, &len) ? -1 : bpf_map_get_fd_by_id(info.id);
	}
	/* kernels before 5.19 check privileges on each map and iterator use, not at open */
	ret = bpf_map_lookup_elem(fd, &zero, s->lost_now);
	if (by_id >= 0)
		close(by_id);
	if (ret) {
		snprintf(err, errlen,
			 "this kernel refuses BPF map reads once root is dropped "
			 "(kernel.unprivileged_bpf_disabled, Linux < 5.19): run without -Z");
		return -EPERM;
	}
	if (s->it_tcp) {
		fd = bpf_iter_create(bpf_link__fd(s->it_tcp));
		if (fd < 0) {
			snprintf(err, errlen,
				 "this kernel refuses BPF iterators once root is dropped (%s): run "
				 "without -Z",
				 strerror(errno));
			return -EPERM;
		}
		close(fd);
	}
	if (s->other_ns && tt_netns_enter(s->self_ns_fd)) {
		s->other_ns = 0;
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SRC_CAP_MISSING,
				  "cannot enter other network namespaces without root (-Z)");
	}
	return 0;
}

/*
 * Wait up to timeout_ms for events and deliver them, run the periodic sampling when it is
 * due, and report lost events as TT_EV_LOST.
 */
static int bpf_poll(struct tt_source *h, int timeout_ms)
{
	struct tt_src *s = h->priv;
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	int ret = 0;

	for (;;) {
		uint64_t now = tt_now_mono_ns();
		int step, busy;

		if (now >= s->next_sample_ns) {
			sample(s);
			s->next_sample_ns = now + (uint64_t)s->coalesce_ms * 1000000;
		}
		owner_pass(s, now);
		busy = drain(s) == -EAGAIN;
		if (h->cb_ret)
			return 0;
		if (now >= end)
			break;
		if (busy)
			continue; /* more is waiting: no sleep, but the deadline still holds */
		step = (int)((end - now + 999999) / 1000000);
		if (step > DRAIN_MS)
			step = DRAIN_MS;
		/* records carry no wakeup: this is a sleep that a signal can end */
		s->budget = DRAIN_BUDGET;
		s->drain_until_ns = tt_now_mono_ns() + DRAIN_SLICE_NS;
		ret = ring_buffer__poll(s->rb, step);
		if (ret == -EINTR) {
			drain(s);
			return -EINTR;
		}
	}
	return 0;
}

/*
 * Deliver now what the kernel holds (ring buffer, counters not yet sampled, UDP sums): called
 * before closing so the last interval is not lost.
 */
static int bpf_flush(struct tt_source *h)
{
	struct tt_src *s = h->priv;

	s->next_skip_check_ns = 0;
	/* all of it: what stays in the ring buffer now is gone at close (bounded: others still
	 * write) */
	drain_out(s, DRAIN_PAST_NS);
	sample(s);
	/* a sample like the others (tcptop's ticks flush): the next one an interval after it */
	s->next_sample_ns = tt_now_mono_ns() + (uint64_t)s->coalesce_ms * 1000000;
	drain_out(s, DRAIN_PAST_NS);
	/* UDP flows the sample left for their opens, which that drain read: not left out */
	if (s->udp_later && !s->h->cb_ret) {
		tt_src_udp_flush(s);
		drain(s);
	}
	return 0;
}

/*
 * The last delivery, after the last flush: detach every program that writes events by itself
 * (all but the iterators) and wait for the runs already under way (bpf_halt); then deliver
 * what they wrote and the UDP sums counted meanwhile (bpf_stop). Nothing is written after it,
 * so nothing is left in the ring buffer at close.
 */
static void bpf_halt(struct tt_source *h)
{
	struct tt_src *s = h->priv;
	int k = 0;

	for (int i = 0; i < s->n_links; i++) {
		struct bpf_link *l = s->links[i];

		if (l == s->it_tcp || l == s->it_udp || l == s->it_files || l == s->it_owner)
			s->links[k++] = l;
		else
			bpf_link__destroy(l);
	}
	s->n_links = k;
	/*
	 * A run that began before its link went ends within an RCU grace period (tracepoints,
	 * perf events and cgroup hooks run their programs inside RCU read sections), which
	 * membarrier(MEMBARRIER_CMD_GLOBAL) waits for; where it is refused (nohz_full), a while
	 * far longer than a run.
	 */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
		usleep(50000);
	s->next_skip_check_ns = 0;
}

static int bpf_stop(struct tt_source *h)
{
	struct tt_src *s = h->priv;

	drain_out(s, UINT64_MAX);
	/* the sums the packet hooks counted since the last flush, final now */
	if (!h->cb_ret) {
		tt_src_udp_flush(s);
		drain_out(s, UINT64_MAX);
	}
	return 0;
}

/* The attach points in use, as text for the capture header ("tp_btf:sock/sock_send_length"). */
static const char *bpf_probes(const struct tt_source *h)
{
	const struct tt_src *s = h->priv;

	return s->probes;
}

static const char *bpf_mode(const struct tt_source *h)
{
	const struct tt_src *s = h->priv;

	return s->raw ? "raw" : "coalesce";
}

/* wall clock ns = CLOCK_BOOTTIME ns + this, measured at open */
static int64_t bpf_clock_offset(const struct tt_source *h)
{
	const struct tt_src *s = h->priv;

	return s->clock_offset;
}

static void bpf_stats(const struct tt_source *h, struct tt_src_stats *st)
{
	const struct tt_src *s = h->priv;

	st->untracked = s->skel ? s->skel->bss->tcp_live_full : 0;
	st->tcp_table = s->skel ? s->tcp_table : 0;
	st->samples = s->samples;
	st->sample_ns = s->sample_ns;
	st->sample_ns_max = s->sample_ns_max;
	st->sample_cpu_ns = s->sample_cpu_ns;
	st->sample_cpu_ns_max = s->sample_cpu_ns_max;
}

/* Detach and free everything; no BPF object stays behind. */
static void bpf_close(struct tt_source *h)
{
	struct tt_src *s = h->priv;

	if (!s)
		return;
	h->priv = NULL;
	ring_buffer__free(s->rb);
	if (s->rb_pos)
		munmap((void *)s->rb_pos, s->rb_pos_len);
	for (int i = s->n_links - 1; i >= 0; i--)
		bpf_link__destroy(s->links[i]);
	if (s->cg_fd >= 0)
		close(s->cg_fd);
	if (s->self_ns_fd >= 0)
		close(s->self_ns_fd);
	tcptop_bpf__destroy(s->skel);
	free(s->udp_live);
	free(s->drop_names);
	tt_u64map_free(&s->udp_opened);
	free(s->lost_seen);
	free(s->lost_now);
	free(s);
}

static const struct tt_source_ops bpf_ops = {
    .poll = bpf_poll,
    .flush = bpf_flush,
    .halt = bpf_halt,
    .stop = bpf_stop,
    .mode = bpf_mode,
    .probes = bpf_probes,
    .clock_offset = bpf_clock_offset,
    .stats = bpf_stats,
    .after_drop = bpf_after_drop,
    .close = bpf_close,
};
