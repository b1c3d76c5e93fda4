// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tt_src: load bpf/tcptop.bpf.c, pick the attach points this kernel offers,
 * push filters into the kernel, drain the ring buffer on a short timer and
 * run the sampling passes (TCP counters, UDP flow sums) every interval.
 */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "tt_src.h"
#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"

#define DRAIN_MS 5 /* ring buffer records carry no wakeup: drain this often */
/*
 * Records per drain: a consume runs as long as the kernel adds records, so a
 * producer faster than us would keep it from returning (no flush, no signal).
 */
#define DRAIN_BUDGET 65536
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

static void set_rodata(struct tcptop_bpf *skel, const struct tt_src_opts *o)
{
	const struct tt_filter *f = &o->filter;

	skel->rodata->raw_mode = o->raw ? 1 : 0;
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

/* Programs the source works without: it falls back or loses a detail. */
static int optional_prog(const struct tcptop_bpf *skel, const struct bpf_program *p)
{
	if (io_prog(skel, p))
		return 1; /* without them only UDP and --raw lose out: tt_src_open() says so */
	return !strncmp(bpf_program__section_name(p), "cgroup/", 7) ||
	       p == skel->progs.tt_iter_files || p == skel->progs.tt_accept4 ||
	       p == skel->progs.tt_accept || p == skel->progs.tt_destroy;
}

/* Leave out the probes the caller named. 0, or -EINVAL with a message. */
static int skip_probes(struct tcptop_bpf *skel, const char *list, char *err, size_t errlen)
{
	char name[128], want[128];
	struct bpf_program *p;
	const char *c = list;

	while (c && *c) {
		size_t n = strcspn(c, " ,");
		int found = 0;

		if (!n) {
			c++;
			continue;
		}
		snprintf(want, sizeof(want), "%.*s", (int)n, c);
		c += n;
		bpf_object__for_each_program(p, skel->obj)
		{
			probe_name(p, name, sizeof(name));
			if (strcmp(name, want))
				continue;
			if (!optional_prog(skel, p)) {
				snprintf(err, errlen, "probe %s is required", want);
				return -EINVAL;
			}
			bpf_program__set_autoload(p, false);
			found = 1;
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
 * Per-call send/recv hooks, best first: the sock_{send,recv}_length tracepoints (Linux 6.3),
 * else fexit on inet{,6}_{send,recv}msg, which every TCP and UDP call goes through (if the
 * kernel lets fexit attach). Leaves one set to load. Returns 1 if the fexit set was chosen.
 */
/*
 * The default mode counts TCP from the sockets themselves: with --tcp nothing needs a program on
 * every send and recv of the machine (it costs ~8% CPU on small writes).
 */
static int needs_io_hooks(const struct tt_src_opts *o)
{
	return o->raw || o->filter.proto != IPPROTO_TCP;
}

static int pick_io_hooks(struct tcptop_bpf *skel, const struct tt_src_opts *o, int fexit_ok)
{
	struct bpf_program *tp[] = {skel->progs.tt_send, skel->progs.tt_recv};
	struct bpf_program *fx[] = {skel->progs.tt_send_inet, skel->progs.tt_send_inet6,
				    skel->progs.tt_recv_inet, skel->progs.tt_recv_inet6};
	int use_tp = 0, use_fx;

	if (needs_io_hooks(o) && bpf_program__autoload(tp[0]) && bpf_program__autoload(tp[1])) {
		struct btf *vmlinux = btf__load_vmlinux_btf();

		use_tp = kernel_has_tp_btf(vmlinux, "sock_send_length") &&
			 kernel_has_tp_btf(vmlinux, "sock_recv_length");
		btf__free(vmlinux);
	}
	use_fx = needs_io_hooks(o) && !use_tp && fexit_ok;
	for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
		if (!use_tp)
			bpf_program__set_autoload(tp[i], false);
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++)
		if (!use_fx)
			bpf_program__set_autoload(fx[i], false);
	return use_fx;
}

/*
 * Open and load the object. LEVEL 2 loads everything the kernel may offer; 1 leaves out the
 * fexit fallback of the send/recv hooks; 0 also drops the programs this tool can do without
 * (UDP peer hooks, ownership sweep, accept tracepoints), for kernels that refuse them.
 * *used_fexit says whether level 2 chose the fexit hooks (else level 1 is the same load).
 */
static int load(struct tt_src *s, const struct tt_src_opts *o, int level, const char *cgroot,
		int *used_fexit, char *errbuf, size_t errlen)
{
	int optional = level > 0;
	struct tcptop_bpf *skel = tcptop_bpf__open();
	uint32_t kb = o->ringbuf_kb ? o->ringbuf_kb : DEFAULT_RINGBUF_KB;
	int err;

	if (!skel)
		return -errno;
	err = skip_probes(skel, o->skip_probes, errbuf, errlen);
	if (err) {
		tcptop_bpf__destroy(skel);
		return err;
	}
	set_rodata(skel, o);
	*used_fexit = pick_io_hooks(skel, o, level == 2);
	/*
	 * A syscalls:* tracepoint puts every syscall of every task on the slow path: 8% more CPU
	 * on iperf3 -l 100 (cpu-cost, 9 pairs: 1.091 with, 1.012 without). Only a process filter
	 * needs an accepted socket's owner at once, to open it; otherwise the file-table sweep
	 * names it within a sampling interval, and its owner's close() at the latest.
	 */
	if (!o->filter.n_pids && !o->filter.n_comms && !o->filter.cgroup_id) {
		bpf_program__set_autoload(skel->progs.tt_accept4, false);
		bpf_program__set_autoload(skel->progs.tt_accept, false);
	}
	bpf_map__set_max_entries(skel->maps.events, kb * 1024);
	if (!optional || !cgroot[0]) {
		bpf_program__set_autoload(skel->progs.tt_sendmsg4, false);
		bpf_program__set_autoload(skel->progs.tt_sendmsg6, false);
		bpf_program__set_autoload(skel->progs.tt_recvmsg4, false);
		bpf_program__set_autoload(skel->progs.tt_recvmsg6, false);
	}
	if (!optional) {
		bpf_program__set_autoload(skel->progs.tt_iter_files, false);
		bpf_program__set_autoload(skel->progs.tt_accept4, false);
		bpf_program__set_autoload(skel->progs.tt_accept, false);
	}
	err = tcptop_bpf__load(skel);
	if (err) {
		tcptop_bpf__destroy(skel);
		return err;
	}
	s->skel = skel;
	return 0;
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

	bpf_object__for_each_program(p, s->skel->obj)
	{
		const char *sec = bpf_program__section_name(p);

		if (!bpf_program__autoload(p))
			continue;
		if (io_prog(s->skel, p))
			s->io_wanted++;
		if (!strncmp(sec, "iter/", 5)) {
			l = bpf_program__attach_iter(p, NULL);
		} else if (!strncmp(sec, "cgroup/", 7)) {
			if (s->cg_fd < 0)
				s->cg_fd = open(cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			l = s->cg_fd < 0 ? NULL : bpf_program__attach_cgroup(p, s->cg_fd);
		} else {
			l = bpf_program__attach(p);
		}
		if (!l) {
			int e = errno;

			if (io_prog(s->skel, p))
				s->io_refused = e;
			if (optional_prog(s->skel, p))
				continue;
			snprintf(err, errlen, "cannot attach %s: %s", sec, strerror(e));
			return -e;
		}
		if (p == s->skel->progs.tt_accept4 || p == s->skel->progs.tt_accept)
			s->accept_tps++;
		if (io_prog(s->skel, p))
			s->io_hooks++;
		if (p == s->skel->progs.tt_iter_tcp)
			s->it_tcp = l;
		else if (p == s->skel->progs.tt_iter_owner)
			s->it_owner = l;
		else if (p == s->skel->progs.tt_iter_udp)
			s->it_udp = l;
		else if (p == s->skel->progs.tt_iter_files)
			s->it_files = l;
		if (s->n_links == TT_SRC_MAX_LINKS) {
			bpf_link__destroy(l);
			snprintf(err, errlen, "too many programs (raise TT_SRC_MAX_LINKS)");
			return -E2BIG;
		}
		s->links[s->n_links++] = l;
		probe_add(s, p);
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tt_src *s = ctx;
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	if (tt_src_deliver(s, &ev))
		return -ECANCELED;
	/* this record is consumed either way; the rest waits for the next drain */
	return --s->budget ? 0 : -EAGAIN;
}

int tt_src_deliver(struct tt_src *s, const struct tt_event *ev)
{
	int ret;

	if (s->cb_ret)
		return s->cb_ret;
	s->stats.events++;
	s->delivered++;
	if (ev->kind == TT_EV_CONN_OPEN)
		s->stats.conns++;
	else if (ev->kind == TT_EV_LOST)
		s->stats.lost += ev->u.lost.count;
	ret = s->cb ? s->cb(s->cb_ctx, ev) : 0;
	if (ret)
		s->cb_ret = ret;
	return ret;
}

/* Run an iterator once; its text output (if any) goes into buf. Returns bytes read or -errno. */
int tt_src_run_iter(struct bpf_link *l, char **buf, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(l));
	size_t used = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (buf && used + 4096 > *cap) {
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
			n = read(fd, *buf + used, *cap - used);
		} else {
			char scratch[4096];

			n = read(fd, scratch, sizeof(scratch));
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += n;
	}
	close(fd);
	return n < 0 ? -errno : (int)used;
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
		tt_src_deliver(s, &ev);
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

	bpf_object__for_each_program(p, s->skel->obj) {
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
		tt_src_deliver(s, &ev);
	}
}

/* Deliver what the ring buffer holds, up to DRAIN_BUDGET records. -EAGAIN: more is waiting. */
static int drain(struct tt_src *s)
{
	int n;

	s->budget = DRAIN_BUDGET;
	n = ring_buffer__consume(s->rb);
	report_lost(s);
	report_skipped(s);
	return n == -ECANCELED ? 0 : n;
}

/*
 * One sampling pass: TCP counters and RTT from iter/tcp (which also applies
 * owners left by the accept tracepoints), owners still unknown from the file
 * tables, then UDP sums.
 */
static void sample(struct tt_src *s)
{
	uint64_t now;

	drain(s);
	if (s->it_tcp)
		tt_src_run_iter(s->it_tcp, NULL, NULL);
	drain(s);
	now = tt_now_mono_ns();
	if (s->it_files && s->skel->bss->n_unowned && (!s->accept_tps || now >= s->next_sweep_ns)) {
		tt_src_run_iter(s->it_files, NULL, NULL);
		s->next_sweep_ns = now + SWEEP_NS;
		drain(s);
	}
	tt_src_udp_flush(s);
	drain(s);
}

/* A process filter waits for the owner of an accepted connection: open it now, not at the next
 * sample. */
static void owner_pass(struct tt_src *s, uint64_t now)
{
	uint64_t wanted = s->skel->bss->owners_wanted;

	if (wanted == s->owners_seen || !s->it_owner || now < s->next_owner_ns)
		return;
	s->owners_seen = wanted;
	s->next_owner_ns = now + OWNER_PASS_NS;
	tt_src_run_iter(s->it_owner, NULL, NULL);
	drain(s);
}

/*
 * Without a per-call hook the default mode still has every TCP figure (from the sockets
 * themselves) but no UDP traffic, and --raw has nothing to stand on.
 */
static int check_io_hooks(struct tt_src *s, const struct tt_src_opts *o, char *err,
			  size_t errlen)
{
	const char *why = s->io_refused ? strerror(s->io_refused) : "left out";

	if ((s->io_hooks && s->io_hooks == s->io_wanted) || !needs_io_hooks(o))
		return 0;
	if (!s->io_hooks && s->raw) {
		snprintf(err, errlen,
			 "--raw needs per-call send/recv hooks: tracepoint sock:sock_send_length "
			 "missing or left out, and fexit on inet_sendmsg: %s",
			 why);
		return -EOPNOTSUPP;
	}
	snprintf(s->warning, sizeof(s->warning),
		 s->io_hooks ? "some per-call send/recv hooks did not attach (%s): UDP traffic may "
			       "be missing"
			     : "no per-call send/recv hook (tracepoint sock:sock_send_length missing "
			       "or left out, fexit on inet_sendmsg: %s): UDP traffic is not recorded",
		 why);
	return 0;
}

int tt_src_open(struct tt_src **out, const struct tt_src_opts *opts, char *err, size_t errlen)
{
	struct tt_src *s;
	char cgroot[512];
	struct stat sb;
	int ret, fexit = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0'; /* load() only writes it for a bad skip_probes */
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->cg_fd = -1;
	s->raw = opts->raw;
	s->coalesce_ms = opts->coalesce_ms ? opts->coalesce_ms : TT_SRC_DEFAULT_COALESCE_MS;
	libbpf_set_print(opts->verbose ? libbpf_verbose : libbpf_quiet);
	cgroup2_root(cgroot, sizeof(cgroot));
	if (stat("/proc/self/ns/net", &sb) == 0)
		s->netns = sb.st_ino;

	ret = load(s, opts, 2, cgroot, &fexit, err, errlen);
	if (ret && ret != -EINVAL && fexit) {
		/* some kernels refuse fexit programs at load (EPERM here), others at attach */
		s->io_refused = -ret;
		ret = load(s, opts, 1, cgroot, &fexit, err, errlen);
	}
	if (ret && ret != -EPERM && ret != -EINVAL)
		ret = load(s, opts, 0, cgroot, &fexit, err, errlen);
	if (ret == -EINVAL && err[0])
		goto fail;
	if (ret) {
		if (ret == -EPERM || geteuid() != 0)
			snprintf(err, errlen, "needs root (CAP_BPF and CAP_PERFMON) to load BPF programs");
		else
			snprintf(err, errlen, "cannot load BPF programs: %s", strerror(-ret));
		goto fail;
	}
	ret = attach(s, cgroot, err, errlen);
	if (ret)
		goto fail;
	ret = check_io_hooks(s, opts, err, errlen);
	if (ret)
		goto fail;

	s->ncpu = libbpf_num_possible_cpus();
	s->lost_seen = calloc(s->ncpu, sizeof(uint64_t));
	s->lost_now = calloc(s->ncpu, sizeof(uint64_t));
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	if (!s->lost_seen || !s->lost_now || !s->rb) {
		ret = -ENOMEM;
		snprintf(err, errlen, "cannot set up the ring buffer");
		goto fail;
	}
	s->clock_offset = (int64_t)(tt_now_wall_ns() - tt_now_boot_ns());
	/* owners of existing sockets first, so that existing connections are attributed */
	if (s->it_files)
		tt_src_run_iter(s->it_files, NULL, NULL);
	if (s->it_tcp)
		tt_src_run_iter(s->it_tcp, NULL, NULL);
	s->next_sample_ns = tt_now_mono_ns() + (uint64_t)s->coalesce_ms * 1000000;
	*out = s;
	return 0;
fail:
	tt_src_close(s);
	return ret;
}

int tt_src_poll(struct tt_src *s, int timeout_ms, tt_src_cb cb, void *ctx)
{
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	int ret = 0;

	s->cb = cb;
	s->cb_ctx = ctx;
	s->cb_ret = 0;
	s->delivered = 0;
	for (;;) {
		uint64_t now = tt_now_mono_ns();
		int step, busy;

		if (now >= s->next_sample_ns) {
			sample(s);
			s->next_sample_ns = now + (uint64_t)s->coalesce_ms * 1000000;
		}
		owner_pass(s, now);
		busy = drain(s) == -EAGAIN;
		if (s->cb_ret)
			return s->cb_ret;
		if (now >= end)
			break;
		if (busy)
			continue; /* more is waiting: no sleep, but the deadline still holds */
		step = (int)((end - now + 999999) / 1000000);
		if (step > DRAIN_MS)
			step = DRAIN_MS;
		/* records carry no wakeup: this is a sleep that a signal can end */
		s->budget = DRAIN_BUDGET;
		ret = ring_buffer__poll(s->rb, step);
		if (ret == -EINTR) {
			drain(s);
			return s->cb_ret ? s->cb_ret : -EINTR;
		}
	}
	return s->cb_ret ? s->cb_ret : (int)(s->delivered > INT32_MAX ? INT32_MAX : s->delivered);
}

int tt_src_flush(struct tt_src *s, tt_src_cb cb, void *ctx)
{
	s->next_skip_check_ns = 0;
	s->cb = cb;
	s->cb_ctx = ctx;
	s->cb_ret = 0;
	s->delivered = 0;
	/* all of it: what stays in the ring buffer now is gone at close (bounded: others still
	 * write) */
	for (int i = 0; i < 256 && drain(s) == -EAGAIN && !s->cb_ret; i++)
		;
	sample(s);
	for (int i = 0; i < 256 && drain(s) == -EAGAIN && !s->cb_ret; i++)
		;
	return s->cb_ret ? s->cb_ret : (int)(s->delivered > INT32_MAX ? INT32_MAX : s->delivered);
}

const char *tt_src_probes(const struct tt_src *s)
{
	return s->probes;
}

const char *tt_src_warning(const struct tt_src *s)
{
	return s->warning[0] ? s->warning : NULL;
}

const char *tt_src_mode(const struct tt_src *s)
{
	return s->raw ? "raw" : "coalesce";
}

int64_t tt_src_clock_offset(const struct tt_src *s)
{
	return s->clock_offset;
}

void tt_src_stats(const struct tt_src *s, struct tt_src_stats *st)
{
	*st = s->stats;
}

void tt_src_close(struct tt_src *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	for (int i = s->n_links - 1; i >= 0; i--)
		bpf_link__destroy(s->links[i]);
	if (s->cg_fd >= 0)
		close(s->cg_fd);
	tcptop_bpf__destroy(s->skel);
	free(s->udp_live);
	free(s->lost_seen);
	free(s->lost_now);
	free(s);
}
