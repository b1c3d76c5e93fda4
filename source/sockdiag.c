// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The sock_diag source (source/sockdiag.c): no BPF, no root needed. Every sampling interval
 * it asks NETLINK_SOCK_DIAG for the TCP sockets (inet_diag with INET_DIAG_INFO: tcp_info's
 * bytes_acked, bytes_received, segs, rtt, retransmits) and the UDP sockets of every network
 * namespace it can enter, names owners from the socket inodes under /proc/PID/fd, and turns
 * the differences between two polls into the same events the BPF source makes: CONN_OPEN,
 * TRAFFIC, STATE, RTT, RETRANS, CONN_PROC, CONN_CLOSE. What it cannot see is said as missing
 * capabilities (connections shorter than an interval, per-call detail, exact close times,
 * UDP bytes). Capture header mode "sockdiag". Used through tt_source.h only.
 */
/*
 * Every sampling interval, the sockets of each network namespace it can enter (sd_netlink.c),
 * their owners when new ones appear (sd_owners.c), and the differences made into events
 * (sd_diff.c). opts.raw is refused (-EOPNOTSUPP with a message); filters apply in user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "source_int.h"
#include "sd_caps.h"
#include "sd_diff.h"
#include "sd_netlink.h"
#include "sd_owners.h"
#include "tt_netns.h"
#include "tt_util.h"

#define SD_PROBES "sock_diag:tcp sock_diag:udp"
#define SD_MAX_KEEP 256 /* namespaces whose failed dump keeps their sockets */

struct tt_sockdiag {
	struct tt_sd_diff *diff;
	struct tt_sd_owners *owners;
	struct tt_sd_snap snap;
	struct tt_sd_events evs; /* one pass's, emitted */
	struct tt_sd_events fwd; /* made of one of the assist's events, emitted */
	/* the assist's events of sockets the pass to come meets first, told after its opens */
	struct tt_sd_events held;
	int holding;	  /* the assist is drained before a pass: hold those */
	uint64_t pass_ts; /* the time of the last pass's comparison, its opens' */
	struct tt_source *h;
	int self_fd; /* our own network namespace, to come back to */
	int nl_fd;   /* a sock_diag socket in our own namespace, kept */
	uint32_t self_ino;
	int other_ns;	/* other namespaces are entered */
	long owner_uid; /* -1: every process's fds are readable; else only this uid's */
	uint32_t seq;
	uint64_t interval_ns;
	uint64_t next_ns; /* CLOCK_MONOTONIC of the next poll */
	uint32_t keep_ns[SD_MAX_KEEP];
	size_t n_keep;
	struct {
		uint32_t ino;
		int fd;
	} ns_fd[SD_MAX_KEEP]; /* this poll's sock_diag sockets of other namespaces, for lookups */
	size_t n_ns_fd;
	int ns_fd_full;	 /* a namespace was dumped whose socket could not be kept */
	int fatal;	 /* coming back to our own namespace failed */
	int no_tcp_both; /* the kernel has no TCPDIAG_GETSOCK: TCP dumped per family */
	/* BPF's exec, exit, TCP state changes, closes, retransmits and resets, and UDP where the
	 * BPF source does not load (tt_src_open_assist), or NULL */
	struct tt_source *assist;
	int bpf_udp;	/* the assist counts UDP: no UDP dumps */
	int assist_ret; /* the assist's error in this pass */
	char probes[560];
};

static uint32_t ns_ino(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (uint32_t)sb.st_ino;
}

/* Which sides of a zero-window stall this kernel's tcp_info shows (sd_diff.c track_stalls()). */
static void set_stalls_cap(struct tt_sockdiag *d)
{
	int w = tt_sd_kernel_windows();
	char why[160];

	if (w < 0)
		snprintf(why, sizeof(why), "cannot tell which windows tcp_info has: TCP_INFO: %s",
			 strerror(-w));
	else if (w == (TT_SD_WND_PEER | TT_SD_WND_LOCAL))
		snprintf(why, sizeof(why),
			 "tcpi_snd_wnd and tcpi_rcv_wnd at each poll: both sides, ends within an "
			 "interval");
	else if (w == TT_SD_WND_PEER)
		snprintf(why, sizeof(why),
			 "this kernel's tcp_info has no tcpi_rcv_wnd (6.2+): peer side only");
	else
		snprintf(why, sizeof(why),
			 "this kernel's tcp_info has neither tcpi_snd_wnd (5.4+) nor tcpi_rcv_wnd");
	tt_source_cap_set(d->h, TT_SD_CAP_STALLS,
			  w == (TT_SD_WND_PEER | TT_SD_WND_LOCAL) ? TT_SOURCE_CAP_OK
								  : TT_SOURCE_CAP_MISSING,
			  why);
}

static void set_caps(struct tt_sockdiag *d, uint32_t ms)
{
	char why[160];

	snprintf(why, sizeof(why), "sock_diag polls every %u ms", ms);
	tt_source_cap_set(d->h, TT_SD_CAP_SHORT, TT_SOURCE_CAP_MISSING, why);
	tt_source_cap_set(d->h, TT_SD_CAP_CLOSE, TT_SOURCE_CAP_MISSING, why);
	tt_source_cap_set(d->h, TT_SD_CAP_PERCALL, TT_SOURCE_CAP_MISSING,
			  "sock_diag reads socket counters, not calls");
	tt_source_cap_set(d->h, TT_SD_CAP_UDP, TT_SOURCE_CAP_MISSING,
			  "sock_diag has no UDP byte counters");
	tt_source_cap_set(d->h, TT_SD_CAP_RESETS, TT_SOURCE_CAP_MISSING,
			  "a poll sees counters, not segments");
	tt_source_cap_set(d->h, TT_SD_CAP_PROCS, TT_SOURCE_CAP_MISSING,
			  "no exec/exit tracepoints without BPF");
	tt_source_cap_set(d->h, TT_SD_CAP_RETRANS_CAUSE, TT_SOURCE_CAP_MISSING,
			  "tcp_info counts retransmits, not why");
	tt_source_cap_set(
	    d->h, TT_SD_CAP_LISTENERS, TT_SOURCE_CAP_OK,
	    "inet_diag of LISTEN sockets: idiag_rqueue, idiag_wqueue, SK_MEMINFO_DROPS");
	tt_source_cap_set(d->h, TT_SD_CAP_DROPS, TT_SOURCE_CAP_MISSING,
			  "sock_diag counts a socket's drops, not each packet's reason");
	tt_source_cap_set(d->h, TT_SD_CAP_HANDSHAKE, TT_SOURCE_CAP_MISSING,
			  "a poll sees no handshake, and a connection that fails between polls "
			  "is gone before one sees it");
	set_stalls_cap(d);
	if (d->owner_uid < 0)
		tt_source_cap_set(d->h, TT_SD_CAP_OWNERS, TT_SOURCE_CAP_OK,
				  "every /proc/PID/fd is readable");
	else
		tt_source_cap_set(d->h, TT_SD_CAP_OWNERS, TT_SOURCE_CAP_MISSING,
				  "not root: only the user's own /proc/PID/fd can be read");
}

/* Whether every process's file table can be read: root, or CAP_SYS_PTRACE. */
static long owner_uid(void)
{
	int fd = open("/proc/1/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return -1;
	}
	return (long)geteuid();
}

/* Whether setns() works here: entering our own namespace needs what entering others does. */
static void probe_netns(struct tt_sockdiag *d)
{
	char why[160];

	if (tt_netns_enter(d->self_fd) == 0) {
		d->other_ns = 1;
		tt_source_cap_set(d->h, TT_SD_CAP_NETNS, TT_SOURCE_CAP_OK,
				  "a sock_diag socket made in each namespace");
		return;
	}
	snprintf(why, sizeof(why), "not root: setns: %s", strerror(errno));
	d->other_ns = 0;
	tt_source_cap_set(d->h, TT_SD_CAP_NETNS, TT_SOURCE_CAP_MISSING, why);
}

static void sd_close(struct tt_source *h);
static const struct tt_source_ops sockdiag_ops;

int tt_sockdiag_open(struct tt_source *h, char *err, size_t errlen)
{
	const struct tt_source_opts *opts = &h->opts;
	struct tt_sockdiag *d;
	uint32_t ms = opts->coalesce_ms ? opts->coalesce_ms : TT_SOURCE_DEFAULT_COALESCE_MS;
	int ret;

	if (opts->raw) {
		snprintf(err, errlen,
			 "--raw needs the BPF source: sock_diag has no per-call detail");
		return -EOPNOTSUPP;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->self_fd = d->nl_fd = -1;
	d->h = h;
	h->priv = d;
	h->ops = &sockdiag_ops;
	tt_sd_caps_init(h);
	if (tt_sd_diff_new(&d->diff, &opts->filter) || tt_sd_owners_new(&d->owners)) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	d->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->self_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		goto fail;
	}
	d->self_ino = ns_ino("/proc/self/ns/net");
	d->nl_fd = tt_sd_socket();
	if (d->nl_fd < 0) {
		ret = d->nl_fd;
		snprintf(err, errlen, "NETLINK_SOCK_DIAG socket: %s", strerror(-ret));
		goto fail;
	}
	/* a first dump says now whether this kernel answers at all */
	ret = tt_sd_dump(d->nl_fd, AF_INET, IPPROTO_TCP, d->self_ino, &d->seq, &d->snap);
	d->snap.n = 0;
	if (ret) {
		snprintf(err, errlen, "sock_diag TCP dump: %s", strerror(-ret));
		goto fail;
	}
	d->interval_ns = (uint64_t)ms * 1000000;
	d->owner_uid = owner_uid();
	set_caps(d, ms);
	probe_netns(d);
	d->next_ns = tt_now_mono_ns(); /* the first poll reports what exists now */
	return 0;
fail:
	sd_close(h);
	return ret;
}

/* The four dumps of one namespace through fd; failure drops the namespace's whole part. */
static int dump_all(struct tt_sockdiag *d, int fd, uint32_t ino)
{
	static const int fams[] = {AF_INET, AF_INET6}, protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	size_t first = d->snap.n;
	int p = 0;

	if (!d->no_tcp_both) {
		int ret = tt_sd_dump_tcp_both(fd, ino, &d->seq, &d->snap);

		if (ret == -EINVAL || ret == -ENOENT || ret == -EOPNOTSUPP)
			d->no_tcp_both = 1; /* gone from this kernel: a dump per family */
		else if (ret)
			return ret;
		else
			p = 1;
	}
	for (; p < (d->bpf_udp ? 1 : 2); p++)
		for (int f = 0; f < 2; f++) {
			int ret = tt_sd_dump(fd, fams[f], protos[p], ino, &d->seq, &d->snap);

			/* IPv6 or UDP diag not built: nothing of that kind to see */
			if (ret == -ENOENT || ret == -EAFNOSUPPORT || ret == -EOPNOTSUPP)
				continue;
			if (ret) {
				d->snap.n = first;
				return ret;
			}
		}
	return 0;
}

static void keep_ns(struct tt_sockdiag *d, uint32_t ino)
{
	if (d->n_keep < SD_MAX_KEEP)
		d->keep_ns[d->n_keep++] = ino;
}

static int visit_ns(int ns_fd, uint64_t ino, void *ctx)
{
	struct tt_sockdiag *d = ctx;
	int fd, ret;

	if (tt_netns_enter(ns_fd))
		return 0; /* gone since it was listed */
	fd = tt_sd_socket();
	if (tt_netns_enter(d->self_fd)) {
		d->fatal = 1;
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	if (fd < 0) {
		keep_ns(d, ino);
		return 0;
	}
	ret = dump_all(d, fd, ino);
	if (ret && ret != -ENOMEM)
		keep_ns(d, ino);
	if (!ret && d->n_ns_fd < SD_MAX_KEEP) {
		d->ns_fd[d->n_ns_fd].ino = ino;
		d->ns_fd[d->n_ns_fd++].fd = fd; /* stays in its namespace */
	} else {
		d->ns_fd_full |= !ret;
		close(fd);
	}
	return ret == -ENOMEM ? ret : 0;
}

static int owner_of(void *ctx, uint32_t inode, struct tt_sd_owner *out)
{
	return tt_sd_owners_find(ctx, inode, out);
}

/* A socket missing from its namespace's dump, looked up by its key there. */
static int lookup_of(void *ctx, const struct tt_sd_sock *want, struct tt_sd_sock *out)
{
	struct tt_sockdiag *d = ctx;

	if (want->netns == d->self_ino)
		return tt_sd_lookup(d->nl_fd, want, &d->seq, out);
	for (size_t i = 0; i < d->n_ns_fd; i++)
		if (d->ns_fd[i].ino == want->netns)
			return tt_sd_lookup(d->ns_fd[i].fd, want, &d->seq, out);
	/* not dumped this poll, its namespace is gone (a failed dump keeps its sockets unasked);
	 * unless more were dumped than sockets kept: then it cannot be told */
	return d->ns_fd_full ? -EMFILE : 0;
}

static int forward(void *ctx, const struct tt_event *ev);
static int assist_err(int ret);

/* One poll of every namespace, its events queued. */
static int sample_ns(struct tt_sockdiag *d)
{
	int ret;

	d->snap.n = 0;
	d->n_keep = 0;
	ret = dump_all(d, d->nl_fd, d->self_ino);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		keep_ns(d, d->self_ino);
	if (d->other_ns) {
		ret = tt_netns_each(d->self_ino, visit_ns, d);
		if (d->fatal)
			return -EPERM;
		if (ret == -ENOMEM)
			return ret;
	}
	/* /proc is read again only when a socket of unknown owner is there to be named */
	if (tt_sd_diff_wants_owners(d->diff, &d->snap, d->owner_uid))
		tt_sd_owners_scan(d->owners);
	/*
	 * A caller that takes nothing: the pass is not compared, and nothing is lost by it (the
	 * next pass compares with the last one compared), so it is no lost event to count.
	 */
	if (tt_evq_len(&d->h->pending) >= TT_SOURCE_MAX_PENDING)
		return 0;
	/*
	 * What BPF beside us wrote until now, before the dump is compared: each retransmit the dump
	 * counted is then told with its cause, not as one of the dump's (cause unknown), and a
	 * reset of a connection this pass finds closed comes before its close.
	 */
	if (d->assist) {
		d->held.n = 0;
		d->holding = 1;
		d->assist_ret = assist_err(tt_src_assist_drain(d->assist, forward, d->h));
		d->holding = 0;
	}
	d->pass_ts = tt_now_boot_ns();
	return tt_sd_diff_pass(d->diff, &d->snap, d->keep_ns, d->n_keep, d->pass_ts, owner_of,
			       d->owners, lookup_of, d, &d->evs);
}

static int sample(struct tt_sockdiag *d)
{
	int ret = sample_ns(d);

	while (d->n_ns_fd) /* the other namespaces' sockets, kept for this poll's lookups */
		close(d->ns_fd[--d->n_ns_fd].fd);
	d->ns_fd_full = 0;
	return ret;
}

/* One pass, its events emitted; a refused one is kept by the handle, with those after it. */
static int pass_and_emit(struct tt_sockdiag *d)
{
	int ret;

	d->assist_ret = 0;
	ret = sample(d);
	if (ret == -EPERM)
		return ret;
	/* out of memory: what was made is still delivered, the rest of the pass is lost */
	for (size_t i = 0; i < d->evs.n; i++)
		tt_source_emit(d->h, &d->evs.v[i]);
	d->evs.n = 0;
	/*
	 * The assist's events of sockets this pass opened: after their opens, and dated no earlier
	 * (what a socket did between the dump that read it and the comparison is told at its open).
	 */
	for (size_t i = 0; i < d->held.n; i++) {
		struct tt_event *e = &d->held.v[i];

		if (e->ts_ns < d->pass_ts)
			e->ts_ns = d->pass_ts;
		forward(d->h, e);
	}
	d->held.n = 0;
	return d->assist_ret;
}

/* What sd_diff made of one of the assist's events, emitted. */
static void emit_fwd(struct tt_sockdiag *d)
{
	for (size_t i = 0; i < d->fwd.n; i++)
		tt_source_emit(d->h, &d->fwd.v[i]);
}

/* The assist's TCP events, each about a connection of the polls, named by its cookie. */
static int of_a_connection(const struct tt_event *ev)
{
	return ev->kind == TT_EV_RESET || ev->kind == TT_EV_STATE || ev->kind == TT_EV_RETRANS ||
	       ev->kind == TT_EV_HANDSHAKE || ev->kind == TT_EV_ACCEPT ||
	       ((ev->kind == TT_EV_CONN_CLOSE || ev->kind == TT_EV_CONN_PROC) &&
		(ev->flags & TT_F_FALLBACK_TCP));
}

/*
 * The assist's events, handed on as this source's: a refusal by the caller keeps the event in
 * this handle (tt_source_emit), so the assist is never asked to keep it too. Its TCP events are
 * about connections of the polls (by cookie): a reset only of one this source opened; a state
 * change or a close applied to the connection, which makes this source's events of it
 * (tt_sd_diff_bpf_state); a retransmit for the segments no poll told yet
 * (tt_sd_diff_retrans), its kernel total left out, as it is of no capture.
 */
static int forward(void *ctx, const struct tt_event *ev)
{
	struct tt_source *h = ctx;
	struct tt_sockdiag *d = h->priv;
	struct tt_event e;

	/*
	 * A socket's cookie is made by the dump that reads it: an event of one no pass knows yet,
	 * drained after that dump, waits for the pass that opens it. Dropped, its retransmits
	 * would be the next poll's, cause unknown, and its close a poll's.
	 */
	if (d->holding && of_a_connection(ev) && !tt_sd_diff_known(d->diff, ev->conn_id)) {
		if (tt_sd_events_add(&d->held, ev))
			h->stats.dropped++; /* out of memory: told as lost, as a refused event */
		return 0;
	}
	/* a record at a close, as if no poll saw the connection: only if none did */
	if ((ev->kind == TT_EV_HANDSHAKE || ev->kind == TT_EV_ACCEPT ||
	     ev->kind == TT_EV_RETRANS) &&
	    (ev->flags & TT_F_FALLBACK_TCP) && !tt_sd_diff_bpf_born(d->diff, ev->conn_id))
		return 0;
	switch (ev->kind) {
	case TT_EV_RESET:
	case TT_EV_HANDSHAKE:
	case TT_EV_ACCEPT:
		if (!tt_sd_diff_opened(d->diff, ev->conn_id))
			return 0;
		memcpy(&e, ev, sizeof(e));
		e.flags &= ~TT_F_FALLBACK_TCP; /* ours alone, never delivered */
		tt_source_emit(h, &e);
		return 0;
	case TT_EV_RETRANS:
		memcpy(&e, ev, offsetof(struct tt_event, u) + sizeof(e.u.retrans));
		e.u.retrans.segs = tt_sd_diff_retrans(d->diff, ev->conn_id, ev->u.retrans.segs,
						      ev->u.retrans.total);
		e.u.retrans.total = 0;
		e.flags &= ~TT_F_FALLBACK_TCP;
		if (e.u.retrans.segs)
			tt_source_emit(h, &e);
		return 0;
	case TT_EV_CONN_PROC:
		if (!(ev->flags & TT_F_FALLBACK_TCP))
			break;
		/* an accepted connection's owner, at its accept() */
		d->fwd.n = 0;
		if (tt_sd_diff_bpf_owner(d->diff, ev, &d->fwd) < 0)
			h->stats.dropped++;
		emit_fwd(d);
		return 0;
	case TT_EV_CONN_OPEN:
	case TT_EV_CONN_CLOSE:
	case TT_EV_STATE:
		if (ev->kind != TT_EV_STATE && !(ev->flags & TT_F_FALLBACK_TCP))
			break;
		/*
		 * what it makes of a connection of ours, now (a poll's own events wait in d->evs);
		 * or of one no poll saw, at its close
		 */
		d->fwd.n = 0;
		if ((ev->kind == TT_EV_CONN_OPEN ? tt_sd_diff_bpf_open(d->diff, ev, &d->fwd)
						 : tt_sd_diff_bpf_state(d->diff, ev, &d->fwd)) < 0)
			h->stats.dropped++; /* out of memory: told as lost, as a refused event */
		emit_fwd(d);
		return 0;
	}
	tt_source_emit(h, ev);
	return 0;
}

/*
 * An assist's poll, flush or stop says how many events it delivered, or -EINTR / -ENODATA for
 * none: only its error is this source's (the caller looks at its clock and flags either way).
 */
static int assist_err(int ret)
{
	return ret < 0 && ret != -EINTR && ret != -ENODATA ? ret : 0;
}

/* Wait up to ms: for the assist's events where there is one (a signal ends either). */
static int sd_wait(struct tt_sockdiag *d, uint64_t ms)
{
	if (!d->assist)
		return poll(NULL, 0, (int)ms) < 0 && errno == EINTR ? -EINTR : 0;
	return assist_err(tt_source_poll(d->assist, (int)ms, forward, d->h));
}

static int sd_poll(struct tt_source *h, int timeout_ms)
{
	struct tt_sockdiag *d = h->priv;
	uint64_t now = tt_now_mono_ns();

	if (now < d->next_ns) {
		uint64_t wait = (d->next_ns - now + 999999) / 1000000;
		int ret;

		if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
			wait = timeout_ms;
		ret = sd_wait(d, wait);
		if (ret)
			return ret;
		now = tt_now_mono_ns();
		if (now < d->next_ns)
			return 0;
	}
	/* keep the cadence; after a stall, start it again from now */
	d->next_ns += d->interval_ns;
	if (d->next_ns <= now)
		d->next_ns = now + d->interval_ns;
	return pass_and_emit(d);
}

static int sd_flush(struct tt_source *h)
{
	struct tt_sockdiag *d = h->priv;

	/* a pass like the others (tcptop's ticks flush): the next one an interval after it */
	d->next_ns = tt_now_mono_ns() + d->interval_ns;
	if (d->assist) {
		int ret = assist_err(tt_source_flush(d->assist, forward, h));

		if (ret)
			return ret;
	}
	return pass_and_emit(d);
}

/* The last delivery: the assist's programs detached, what they wrote until then. */
static int sd_stop(struct tt_source *h)
{
	struct tt_sockdiag *d = h->priv;

	return d->assist ? assist_err(tt_source_stop(d->assist, forward, h)) : 0;
}

void tt_sockdiag_set_assist(struct tt_source *h, struct tt_source *a)
{
	struct tt_sockdiag *d = h->priv;
	const char *procs = tt_src_assist_gives(a, TT_ASSIST_PROCS);
	const char *udp = tt_src_assist_gives(a, TT_ASSIST_UDP);
	const char *retrans = tt_src_assist_gives(a, TT_ASSIST_RETRANS);
	const char *resets = tt_src_assist_gives(a, TT_ASSIST_RESETS);
	const char *closes = tt_src_assist_gives(a, TT_ASSIST_CLOSES);
	const char *accepts = tt_src_assist_gives(a, TT_ASSIST_ACCEPT);
	char why[480];

	d->assist = a;
	d->bpf_udp = udp != NULL;
	snprintf(d->probes, sizeof(d->probes), "%s %.500s", udp ? "sock_diag:tcp" : SD_PROBES,
		 tt_source_probes(a));
	if (procs) {
		snprintf(why, sizeof(why), "BPF beside sock_diag: %.400s", procs);
		tt_source_cap_set(h, TT_SD_CAP_PROCS, TT_SOURCE_CAP_OK, why);
	}
	if (udp) {
		snprintf(why, sizeof(why), "BPF beside sock_diag, per datagram: %.400s", udp);
		tt_source_cap_set(h, TT_SD_CAP_UDP, TT_SOURCE_CAP_OK, why);
	}
	/* of the connections a poll has seen: before it, a socket has no cookie to name it by */
	if (retrans) {
		snprintf(why, sizeof(why),
			 "BPF beside sock_diag: %.300s; before a connection's first poll, cause "
			 "unknown",
			 retrans);
		tt_source_cap_set(h, TT_SD_CAP_RETRANS_CAUSE, TT_SOURCE_CAP_OK, why);
	}
	if (closes) {
		tt_sd_diff_set_bpf_states(d->diff);
		snprintf(why, sizeof(why),
			 "BPF beside sock_diag: %.300s; of connections a poll has seen: each state "
			 "change and the close as they happen, the close with the last bytes (no "
			 "TCP sample at it)",
			 closes);
		tt_source_cap_set(h, TT_SD_CAP_CLOSE, TT_SOURCE_CAP_OK, why);
		snprintf(
		    why, sizeof(why),
		    "BPF beside sock_diag: %.100s; connect_us and syn_retrans of connections "
		    "made since the start (a poll's told at its first change after that poll), "
		    "fail_reason at each close; %s%.100s",
		    closes, accepts ? "accept_wait_us: " : "accept_wait_us only with --accept-wait",
		    accepts ? accepts : "");
		tt_source_cap_set(h, TT_SD_CAP_HANDSHAKE, TT_SOURCE_CAP_OK, why);
	}
	if (resets) {
		snprintf(why, sizeof(why),
			 "BPF beside sock_diag: %.300s; of connections a poll has seen", resets);
		tt_source_cap_set(h, TT_SD_CAP_RESETS, TT_SOURCE_CAP_OK, why);
	}
	/* a TCP connection no poll saw is written whole at its close (tt_sd_diff_bpf_open) */
	if (closes && udp) {
		snprintf(
		    why, sizeof(why),
		    "BPF beside sock_diag: a TCP connection no poll saw, at its close (%.100s; "
		    "its open at ESTABLISHED, %s, no state but its last before the close), UDP "
		    "per datagram",
		    closes,
		    accepts ? "an accepted one's owner from accept()"
			    : "an accepted one's owner unknown without --accept-wait");
		tt_source_cap_set(h, TT_SD_CAP_SHORT, TT_SOURCE_CAP_OK, why);
	}
}

static const char *sd_mode(const struct tt_source *h)
{
	(void)h;
	return "sockdiag";
}

static const char *sd_probes(const struct tt_source *h)
{
	const struct tt_sockdiag *d = h->priv;

	return d->assist ? d->probes : SD_PROBES;
}

static int sd_after_drop(struct tt_source *h, char *err, size_t errlen)
{
	struct tt_sockdiag *d = h->priv;

	(void)err;
	(void)errlen;
	/*
	 * sock_diag and our own /proc need no privilege: nothing to refuse. The assist's map
	 * reads may be refused without root (before 5.19): then its events are gone, and said so.
	 */
	if (d->assist && tt_source_after_drop(d->assist, err, errlen)) {
		char why[480];

		snprintf(why, sizeof(why), "privileges dropped (-Z): %.400s", err);
		tt_source_close(d->assist);
		d->assist = NULL;
		tt_source_cap_set(d->h, TT_SD_CAP_PROCS, TT_SOURCE_CAP_MISSING, why);
		if (d->bpf_udp) { /* UDP is sock_diag's again: sockets, no bytes */
			d->bpf_udp = 0;
			tt_source_cap_set(d->h, TT_SD_CAP_UDP, TT_SOURCE_CAP_MISSING, why);
		}
	}
	if (d->other_ns) {
		d->other_ns = 0;
		tt_source_cap_set(d->h, TT_SD_CAP_NETNS, TT_SOURCE_CAP_MISSING,
				  "privileges dropped (-Z)");
	}
	if (d->owner_uid < 0) {
		d->owner_uid = owner_uid();
		if (d->owner_uid >= 0)
			tt_source_cap_set(
			    d->h, TT_SD_CAP_OWNERS, TT_SOURCE_CAP_MISSING,
			    "privileges dropped (-Z): only the user's own /proc/PID/fd");
	}
	return 0;
}

static void sd_close(struct tt_source *h)
{
	struct tt_sockdiag *d = h->priv;

	if (!d)
		return;
	tt_source_close(d->assist);
	if (d->nl_fd >= 0)
		close(d->nl_fd);
	if (d->self_fd >= 0)
		close(d->self_fd);
	tt_sd_diff_free(d->diff);
	tt_sd_owners_free(d->owners);
	tt_sd_snap_free(&d->snap);
	tt_sd_events_free(&d->evs);
	tt_sd_events_free(&d->fwd);
	tt_sd_events_free(&d->held);
	free(d);
	h->priv = NULL;
}

static const struct tt_source_ops sockdiag_ops = {
    .poll = sd_poll,
    .flush = sd_flush,
    .stop = sd_stop,
    .mode = sd_mode,
    .probes = sd_probes,
    .after_drop = sd_after_drop,
    .close = sd_close,
};
