// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * From sock_diag polls to events, mirroring the BPF side (tcp_try_open, read_counters,
 * emit_delta, tcp_emit_close) with what a poll can know: a socket is opened when first seen,
 * its counters' growth is reported at each poll, and it is closed when it reaches TIME_WAIT or
 * CLOSE or is gone, with the counters of the last poll that had them. Gone is missing from the
 * dump and from a lookup by its key: a dump can miss a live socket (it resumes by position in
 * a hash chain that churn shortened), and closing that one would open it again with its whole
 * life's bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "sd_diff.h"
#include "tt_tcp_payload.h"
#include "tt_u64map.h"
#include "tt_util.h"

enum {
	P_OPEN = 1, /* CONN_OPEN sent */
	P_WAIT,	    /* a pid or name filter waits for its owner */
	P_DONE, /* closed, filtered out or never a connection: silent until it leaves the dump */
};

struct ctrs {
	uint64_t acked, rcvd;
	uint32_t segs_out, segs_in;
	/* as read: bytes_received and data_segs_in (counters() compares the next poll's) */
	uint64_t raw_rcvd;
	uint32_t raw_data_in;
};

struct conn {
	uint64_t cookie;	    /* key */
	struct ctrs base;	    /* reported by TRAFFIC so far */
	struct ctrs last;	    /* at the last poll with counters: the close's */
	uint32_t srtt, retrans;	    /* last reported */
	uint32_t dsack;		    /* sample.dsack_dups (tcpi_dsack_dups) last reported */
	struct tt_ev_sample sample; /* last SAMPLE written */
	/* zero-window stalls going on (tt_sd_stalls()): their starts, 0 for none, and the bytes
	 * received when ours began (more since: data came after we opened the window) */
	uint64_t stall_local, stall_peer, stall_local_rcvd;
	uint32_t pid;
	uint32_t inode_tried; /* inode the owner was looked up for */
	uint32_t gen;
	uint32_t netns;
	uint32_t ifindex; /* with the ends: its lookup key */
	uint8_t laddr[TT_ADDR_LEN], raddr[TT_ADDR_LEN];
	uint16_t lport, rport;
	uint8_t family;
	char comm[TT_COMM_LEN];
	uint8_t phase, state, dir, proto, preexisting, pid_known;
	uint8_t opened;	  /* a CONN_OPEN was sent (closed since or not) */
	uint8_t missed;	  /* missing from the last dump, and the lookup could not tell */
	uint8_t bpf_born; /* opened from BPF's record at its close: no poll of ours named it */
};

/* A listener as its last LISTENER record said it. */
struct lsn {
	uint64_t drops;
	uint32_t queue, max, pid, inode_tried;
	char comm[TT_COMM_LEN];
	uint8_t seen; /* a LISTENER was written */
};

struct tt_sd_diff {
	struct tt_u64map conns;	    /* cookie -> struct conn */
	struct tt_u64map lsn;	    /* cookie -> struct lsn: the listeners of the last poll */
	struct tt_u64map listeners; /* lst_key() set */
	struct tt_filter filter;
	int proc_filter; /* the filter names pids or processes: an owner is needed first */
	int bpf_states;	 /* BPF beside us tells TCP's state changes (tt_sd_diff_bpf_state) */
	uint32_t gen;
	uint64_t *gone;
	size_t cap_gone;
};

int tt_sd_diff_new(struct tt_sd_diff **out, const struct tt_filter *filter)
{
	struct tt_sd_diff *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	if (tt_u64map_init(&d->conns, sizeof(struct conn), 256) ||
	    tt_u64map_init(&d->listeners, 0, 64) ||
	    tt_u64map_init(&d->lsn, sizeof(struct lsn), 64)) {
		tt_sd_diff_free(d);
		return -ENOMEM;
	}
	if (filter)
		d->filter = *filter;
	d->proc_filter = d->filter.n_pids || d->filter.n_comms;
	*out = d;
	return 0;
}

void tt_sd_diff_free(struct tt_sd_diff *d)
{
	if (!d)
		return;
	tt_u64map_free(&d->conns);
	tt_u64map_free(&d->listeners);
	tt_u64map_free(&d->lsn);
	free(d->gone);
	free(d);
}

void tt_sd_events_free(struct tt_sd_events *ev)
{
	free(ev->v);
	ev->v = NULL;
	ev->n = ev->cap = 0;
}

int tt_sd_events_add(struct tt_sd_events *ev, const struct tt_event *e)
{
	if (tt_grow(&ev->v, &ev->cap, ev->n + 1, sizeof(*ev->v), 256))
		return -ENOMEM;
	ev->v[ev->n++] = *e;
	return 0;
}

size_t tt_sd_diff_count(const struct tt_sd_diff *d)
{
	return tt_u64map_count(&d->conns);
}

static struct tt_event *ev_new(struct tt_sd_events *out, const struct conn *c, uint16_t kind,
			       uint64_t ts)
{
	struct tt_event *e;

	if (tt_grow(&out->v, &out->cap, out->n + 1, sizeof(*out->v), 256))
		return NULL;
	e = &out->v[out->n++];
	memset(e, 0, sizeof(*e));
	e->ts_ns = ts;
	e->conn_id = c->cookie;
	e->pid = e->tid = c->pid;
	e->kind = kind;
	return e;
}

/* What a pass may ask of the world. */
struct pass_ctx {
	tt_sd_owner_fn owner;
	void *owner_ctx;
	tt_sd_lookup_fn lookup;
	void *lookup_ctx;
};

static uint64_t lst_key(uint32_t netns, uint8_t proto, uint16_t port)
{
	return (uint64_t)netns << 32 | (uint32_t)proto << 16 | port;
}

/* Not a connection: a listener, an unconnected TCP socket, or an end already reported. */
static int tcp_skip(uint8_t state)
{
	return state == TT_TCP_LISTEN || state == TT_TCP_CLOSE || state == TT_TCP_TIME_WAIT;
}

/*
 * Our FIN is acked in FIN_WAIT2, and in FIN_WAIT1, CLOSING and LAST_ACK once nothing is out:
 * inet_diag reads the state before the socket's lock and tcp_info under it, so a socket whose
 * FIN's ack came between reads as LAST_ACK with the FIN in bytes_acked (6.12 in make vmtest:
 * one byte sent by a server that sent none; the lookup of a socket missing from a dump asks
 * about exactly those in their last moments).
 */
static int fin_acked(const struct tt_sd_sock *s)
{
	return s->state == TT_TCP_FIN_WAIT2 ||
	       ((s->state == TT_TCP_FIN_WAIT1 || s->state == TT_TCP_CLOSING ||
		 s->state == TT_TCP_LAST_ACK) &&
		!s->unacked);
}

/*
 * Payload bytes, by the rule the BPF source follows too (tt_tcp_payload.h). A poll sees
 * states, not flags: FIN_WAIT2 is only reached when our FIN was acked (FIN_WAIT1,
 * CLOSING and LAST_ACK wait for that ack), and CLOSE_WAIT, LAST_ACK and CLOSING only once the
 * peer's FIN arrived.
 */
static void counters(const struct tt_sd_sock *s, uint8_t dir, struct ctrs *c)
{
	const struct ctrs was = *c; /* the last poll's, or zeros */

	c->acked = tt_tcp_payload_acked(s->bytes_acked, dir == TT_DIR_OUTBOUND, fin_acked(s));
	c->rcvd = tt_tcp_payload_rcvd(s->bytes_received, s->state == TT_TCP_CLOSE_WAIT ||
							     s->state == TT_TCP_LAST_ACK ||
							     s->state == TT_TCP_CLOSING);
	/*
	 * The state is loaded a moment before the counters: a peer FIN processed in between is in
	 * bytes_received of a socket read as FIN_WAIT1/2 (seen: rx 1 on a client that received
	 * nothing). Where no segment carried payload, there is none, FIN or not.
	 */
	if (s->has_data_segs && !s->data_segs_in)
		c->rcvd = 0;
	/*
	 * The same race on an end that did receive data (6.12 in make vmtest: a server read as
	 * ESTABLISHED with 33001 for 33000 sent): bytes_received one more than at the last poll
	 * and no data segment since is the peer's bare FIN, as a byte of payload comes in a data
	 * segment (tcp_segs_in() counts it): the payload is the last poll's.
	 */
	if (s->has_data_segs && was.raw_rcvd && s->bytes_received == was.raw_rcvd + 1 &&
	    s->data_segs_in == was.raw_data_in && c->rcvd > was.rcvd)
		c->rcvd = was.rcvd;
	c->raw_rcvd = s->bytes_received;
	c->raw_data_in = s->data_segs_in;
	if (s->has_data_segs && !s->data_segs_out)
		c->acked = 0;
	/* the same race with our own FIN (read as ESTABLISHED, its ack already counted): no more
	 * payload was acked than was sent */
	if (c->acked > s->sent_once)
		c->acked = s->sent_once;
	c->segs_out = s->segs_out;
	c->segs_in = s->segs_in;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static int emit_delta(struct conn *c, const struct ctrs *now, uint64_t ts, struct tt_sd_events *out)
{
	struct ctrs was = c->base;
	struct tt_event *e;

	c->base = *now;
	if (now->acked <= was.acked && now->rcvd <= was.rcvd && now->segs_out <= was.segs_out &&
	    now->segs_in <= was.segs_in)
		return 0;
	e = ev_new(out, c, TT_EV_TRAFFIC, ts);
	if (!e)
		return -ENOMEM;
	e->u.traffic.tx_bytes = sub0(now->acked, was.acked);
	e->u.traffic.rx_bytes = sub0(now->rcvd, was.rcvd);
	e->u.traffic.tx_pkts = sub0(now->segs_out, was.segs_out);
	e->u.traffic.rx_pkts = sub0(now->segs_in, was.segs_in);
	return 0;
}

static int emit_state(struct conn *c, uint8_t to, uint64_t ts, struct tt_sd_events *out)
{
	struct tt_event *e = ev_new(out, c, TT_EV_STATE, ts);

	if (!e)
		return -ENOMEM;
	e->u.state.old_state = c->state;
	e->u.state.new_state = to;
	c->state = to;
	return 0;
}

static int emit_stall(struct conn *c, uint8_t side, uint8_t phase, uint64_t ts, uint64_t start,
		      struct tt_sd_events *out)
{
	struct tt_event *e = ev_new(out, c, TT_EV_STALL, ts);

	if (!e)
		return -ENOMEM;
	e->u.stall.side = side;
	e->u.stall.phase = phase;
	e->u.stall.dur_us = ts > start ? (ts - start) / 1000 : 0;
	return 0;
}

/* ts less ms milliseconds, never before 1 (0 is no stall) nor after ts. */
static uint64_t ms_before(uint64_t ts, uint32_t ms)
{
	uint64_t ago = (uint64_t)ms * 1000000;

	return ts > ago ? ts - ago : 1;
}

/*
 * Zero-window stalls, as bpf/tcp.bpf.c's track_stalls() sees them at a sampling pass, from
 * what tcp_info has of the same fields (s NULL: the close ends what goes on):
 * - local: the window we advertised last is zero (tcpi_rcv_wnd, tp->rcv_wnd; 6.2+). Start: the
 *   last data received (tcpi_last_data_recv, icsk_ack.lrcvtime), which filled it. End: data
 *   received since (bytes_received grew: it came within a round trip of our window update),
 *   at the time of the latest; else the poll that saw the window open.
 * - peer: the peer's window is zero (tcpi_snd_wnd; 5.4+) while we have data not sent
 *   (tcpi_notsent_bytes). Start: the last data we sent (tcpi_last_data_sent, tp->lsndtime;
 *   window probes carry none). End: the poll that saw the window open or nothing left to send.
 * tcp_info gives these times in ms of jiffies before the dump read the socket; a poll's time is
 * its namespace's dump's end: a start is as exact as that, an end seen by a poll within one
 * poll interval, and a stall that begins and ends between two polls is not seen.
 */
static int track_stalls(struct conn *c, const struct tt_sd_sock *s, uint64_t ts,
			struct tt_sd_events *out)
{
	int local = s && (s->windows & TT_SD_WND_LOCAL) && !s->sample.rcv_wnd;
	int peer = s && (s->windows & TT_SD_WND_PEER) && !s->sample.snd_wnd && s->notsent;
	uint64_t end;

	if (!c->stall_local && local) {
		c->stall_local = ms_before(ts, s->last_data_recv_ms);
		c->stall_local_rcvd = s->bytes_received;
		if (emit_stall(c, TT_STALL_LOCAL, TT_STALL_BEGIN, ts, c->stall_local, out))
			return -ENOMEM;
	} else if (c->stall_local && !local) {
		end = ts;
		if (s && s->bytes_received > c->stall_local_rcvd) {
			uint64_t got = ms_before(ts, s->last_data_recv_ms);

			if (got > c->stall_local)
				end = got;
		}
		if (emit_stall(c, TT_STALL_LOCAL, TT_STALL_END, end, c->stall_local, out))
			return -ENOMEM;
		c->stall_local = 0;
	}
	if (!c->stall_peer && peer) {
		c->stall_peer = ms_before(ts, s->last_data_sent_ms);
		if (emit_stall(c, TT_STALL_PEER, TT_STALL_BEGIN, ts, c->stall_peer, out))
			return -ENOMEM;
	} else if (c->stall_peer && !peer) {
		if (emit_stall(c, TT_STALL_PEER, TT_STALL_END, ts, c->stall_peer, out))
			return -ENOMEM;
		c->stall_peer = 0;
	}
	return 0;
}

/* The last words: the counters of the last poll that had them, absolute. */
static int emit_close(struct conn *c, uint64_t ts, struct tt_sd_events *out)
{
	struct tt_event *e;

	/* what goes on ends with the connection, as the BPF source's close does */
	if (c->proto == IPPROTO_TCP && track_stalls(c, NULL, ts, out))
		return -ENOMEM;
	e = ev_new(out, c, TT_EV_CONN_CLOSE, ts);
	c->phase = P_DONE;
	if (!e)
		return -ENOMEM;
	if (c->proto == IPPROTO_TCP) {
		e->u.close.tx_bytes = c->last.acked;
		e->u.close.rx_bytes = c->last.rcvd;
		e->u.close.tx_pkts = c->last.segs_out;
		e->u.close.rx_pkts = c->last.segs_in;
		e->u.close.srtt_us = c->srtt;
		e->u.close.retrans = c->retrans;
		e->u.close.state = TT_TCP_CLOSE;
	}
	return 0;
}

/* TCP state and retransmits of this poll; traffic before them, as the sampler does. */
static int emit_samples(struct conn *c, const struct tt_sd_sock *s, uint64_t ts,
			struct tt_sd_events *out)
{
	struct tt_event *e;

	if (!s->has_info)
		return 0;
	counters(s, c->dir, &c->last);
	if (emit_delta(c, &c->last, ts, out))
		return -ENOMEM;
	if (s->total_retrans > c->retrans) {
		e = ev_new(out, c, TT_EV_RETRANS, ts);
		if (!e)
			return -ENOMEM;
		/*
		 * tcp_info counts retransmits, not why: cause unknown (sd_caps "retrans-cause"), or
		 * those BPF beside us did not tell (tt_sd_diff_retrans)
		 */
		e->u.retrans.segs = s->total_retrans - c->retrans;
		e->u.retrans.state = s->state;
		c->retrans = s->total_retrans;
	}
	/* what tcp_info does tell: resends the peer reported as duplicates (bpf/tcp.bpf.c) */
	if (s->sample.dsack_dups > c->dsack) {
		e = ev_new(out, c, TT_EV_RETRANS, ts);
		if (!e)
			return -ENOMEM;
		e->u.retrans.state = s->state;
		e->u.retrans.cause = TT_RETRANS_SPURIOUS;
		e->u.retrans.spurious = s->sample.dsack_dups - c->dsack;
	}
	c->dsack = s->sample.dsack_dups;
	if (track_stalls(c, s, ts, out))
		return -ENOMEM;
	/* a SAMPLE (srtt and rttvar with the rest) where the state changed, as the BPF pass */
	if (s->rtt_us && memcmp(&s->sample, &c->sample, sizeof(c->sample))) {
		e = ev_new(out, c, TT_EV_SAMPLE, ts);
		if (!e)
			return -ENOMEM;
		e->u.sample = s->sample;
		c->sample = s->sample;
	}
	if (s->rtt_us)
		c->srtt = s->rtt_us;
	return 0;
}

static void take_owner(struct conn *c, const struct tt_sd_sock *s, tt_sd_owner_fn owner, void *ctx)
{
	struct tt_sd_owner o;

	if (c->pid_known || !s->inode || c->inode_tried == s->inode)
		return;
	c->inode_tried = s->inode;
	if (owner && owner(ctx, s->inode, &o) && o.pid) {
		c->pid = o.pid;
		memcpy(c->comm, o.comm, TT_COMM_LEN);
		c->pid_known = 1;
	}
}

/* tcp_try_open(): filters, then the opening with the baselines of a socket first seen now. */
static int try_open(struct tt_sd_diff *d, struct conn *c, const struct tt_sd_sock *s,
		    struct tt_sd_events *out)
{
	struct tt_event *e;

	if (d->proc_filter && !c->pid_known) {
		c->phase = P_WAIT;
		return 0;
	}
	if (!tt_filter_match(&d->filter, s->proto, s->family, s->lport, s->rport, c->pid, c->comm,
			     s->cgroup_id)) {
		c->phase = P_DONE;
		return 0;
	}
	c->phase = P_OPEN;
	c->opened = 1;
	/* traffic before the capture began is not the capture's */
	memset(&c->base, 0, sizeof(c->base));
	c->retrans = 0;
	c->dsack = 0;
	c->stall_local = c->stall_peer = 0;
	if (s->has_info) {
		counters(s, c->dir, &c->last);
		if (c->preexisting) {
			c->base = c->last;
			c->retrans = s->total_retrans;
			c->dsack = s->sample.dsack_dups;
		}
	}
	e = ev_new(out, c, TT_EV_CONN_OPEN, s->ts_ns);
	if (!e)
		return -ENOMEM;
	if (c->preexisting)
		e->flags |= TT_F_PREEXISTING;
	if (!c->pid_known)
		e->flags |= TT_F_PID_UNKNOWN;
	memcpy(e->u.open.laddr, s->laddr, TT_ADDR_LEN);
	memcpy(e->u.open.raddr, s->raddr, TT_ADDR_LEN);
	e->u.open.lport = s->lport;
	e->u.open.rport = s->rport;
	e->u.open.family = s->family;
	e->u.open.proto = s->proto;
	e->u.open.direction = c->dir;
	e->u.open.state = s->proto == IPPROTO_TCP ? s->state : 0;
	e->u.open.netns = s->netns;
	e->u.open.cgroup_id = s->cgroup_id;
	memcpy(e->u.open.comm, c->comm, TT_COMM_LEN);
	return 0;
}

static uint8_t direction(const struct tt_sd_diff *d, const struct tt_sd_sock *s)
{
	int inbound = tt_u64map_get(&d->listeners, lst_key(s->netns, s->proto, s->lport)) != NULL;

	if (s->proto == IPPROTO_UDP && !s->rport)
		return TT_DIR_UNKNOWN; /* unconnected: it talks to whoever */
	return inbound ? TT_DIR_INBOUND : TT_DIR_OUTBOUND;
}

/* Its key as last seen (a UDP socket may connect again). */
static void remember(struct conn *c, const struct tt_sd_sock *s)
{
	c->ifindex = s->ifindex;
	memcpy(c->laddr, s->laddr, TT_ADDR_LEN);
	memcpy(c->raddr, s->raddr, TT_ADDR_LEN);
	c->lport = s->lport;
	c->rport = s->rport;
	c->family = s->family;
}

static int sock_pass(struct tt_sd_diff *d, const struct tt_sd_sock *s, int first,
		     tt_sd_owner_fn owner, void *ctx, struct tt_sd_events *out)
{
	int tcp = s->proto == IPPROTO_TCP;
	struct conn *c;
	void *v;
	uint8_t was_known;

	if (tcp && s->state == TT_TCP_LISTEN)
		return 0;
	c = tt_u64map_get(&d->conns, s->cookie);
	if (!c) {
		/* a socket already ending when first seen: shorter than an interval, or idle */
		if (tcp && tcp_skip(s->state))
			return 0;
		if (tt_u64map_put(&d->conns, s->cookie, &v) < 0)
			return -ENOMEM;
		c = v;
		c->cookie = s->cookie;
		c->proto = s->proto;
		c->netns = s->netns;
		c->state = tcp ? s->state : 0;
		c->dir = direction(d, s);
		c->preexisting = first;
		c->gen = d->gen;
		remember(c, s);
		take_owner(c, s, owner, ctx);
		if (try_open(d, c, s, out))
			return -ENOMEM;
		/* what a new socket did since it opened; a pre-existing one's RTT */
		return c->phase == P_OPEN && tcp ? emit_samples(c, s, s->ts_ns, out) : 0;
	}
	c->gen = d->gen;
	c->missed = 0;
	if (c->phase == P_DONE)
		return 0;
	remember(c, s);
	was_known = c->pid_known;
	take_owner(c, s, owner, ctx);
	if (c->phase == P_WAIT) {
		if (!c->pid_known)
			return 0;
		c->state = tcp ? s->state : 0;
		if (try_open(d, c, s, out))
			return -ENOMEM;
		if (c->phase != P_OPEN)
			return 0;
	} else if (!was_known && c->pid_known) {
		struct tt_event *e = ev_new(out, c, TT_EV_CONN_PROC, s->ts_ns);

		if (!e)
			return -ENOMEM;
		memcpy(e->u.proc.comm, c->comm, TT_COMM_LEN);
	}
	if (!tcp)
		return 0;
	/*
	 * Where BPF tells each change as it happens, a dump read before the last one told would
	 * take the connection back: its state is the first poll's only (and its close's)
	 */
	if (s->state != c->state && (!d->bpf_states || s->state == TT_TCP_TIME_WAIT)) {
		if (emit_state(c, s->state, s->ts_ns, out))
			return -ENOMEM;
	}
	if (emit_samples(c, s, s->ts_ns, out))
		return -ENOMEM;
	if (s->state == TT_TCP_TIME_WAIT || s->state == TT_TCP_CLOSE)
		return emit_close(c, s->ts_ns, out);
	return 0;
}

static int kept(const uint32_t *keep_ns, size_t n_keep, uint32_t netns)
{
	for (size_t i = 0; i < n_keep; i++)
		if (keep_ns[i] == netns)
			return 1;
	return 0;
}

/*
 * Whether a socket missing from the dump is there all the same: 1 (then seen now), 0 gone,
 * -EAGAIN when the lookup could not tell, or -ENOMEM.
 */
static int still_there(struct tt_sd_diff *d, struct conn *c, uint64_t now_ns,
		       const struct pass_ctx *p, struct tt_sd_events *out)
{
	struct tt_sd_sock want, s;
	int ret;

	/* one done with is forgotten unasked: seen again, it is filtered out or skipped again */
	if (!p->lookup || c->phase == P_DONE)
		return 0;
	memset(&want, 0, sizeof(want));
	want.cookie = c->cookie;
	want.proto = c->proto;
	want.family = c->family;
	want.netns = c->netns;
	want.ifindex = c->ifindex;
	want.lport = c->lport;
	want.rport = c->rport;
	memcpy(want.laddr, c->laddr, TT_ADDR_LEN);
	memcpy(want.raddr, c->raddr, TT_ADDR_LEN);
	ret = p->lookup(p->lookup_ctx, &want, &s);
	if (ret <= 0)
		return ret < 0 ? -EAGAIN : 0;
	s.ts_ns = now_ns;
	return sock_pass(d, &s, 0, p->owner, p->owner_ctx, out) ? -ENOMEM : 1;
}

/* What left the dump and is gone: closed now, at the counters of the last poll. */
static int sweep(struct tt_sd_diff *d, const uint32_t *keep_ns, size_t n_keep, uint64_t now_ns,
		 const struct pass_ctx *p, struct tt_sd_events *out)
{
	size_t n_gone = 0, it = 0;
	struct conn *c;
	uint64_t key;

	while ((c = tt_u64map_next(&d->conns, &it, &key))) {
		int there;

		if (c->gen == d->gen || kept(keep_ns, n_keep, c->netns))
			continue;
		there = still_there(d, c, now_ns, p, out);
		if (there == -EAGAIN && !c->missed) {
			/* a dump can miss it: closed only if the next one misses it too */
			c->missed = 1;
			continue;
		}
		if (there == -ENOMEM)
			return there;
		if (there > 0)
			continue;
		if (c->phase == P_OPEN) {
			if (c->proto == IPPROTO_TCP && emit_state(c, TT_TCP_CLOSE, now_ns, out))
				return -ENOMEM;
			if (emit_close(c, now_ns, out))
				return -ENOMEM;
		}
		if (n_gone == d->cap_gone) {
			size_t ncap = d->cap_gone ? d->cap_gone * 2 : 64;
			uint64_t *n = realloc(d->gone, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			d->gone = n;
			d->cap_gone = ncap;
		}
		d->gone[n_gone++] = c->cookie;
	}
	for (size_t i = 0; i < n_gone; i++)
		tt_u64map_del(&d->conns, d->gone[i]);
	return 0;
}

int tt_sd_diff_wants_owners(const struct tt_sd_diff *d, const struct tt_sd_snap *snap, long uid)
{
	for (size_t i = 0; i < snap->n; i++) {
		const struct tt_sd_sock *s = &snap->v[i];
		const struct conn *c;

		if (!s->inode || (uid >= 0 && s->uid != (uint32_t)uid))
			continue;
		if (s->proto == IPPROTO_TCP && s->state == TT_TCP_LISTEN) {
			const struct lsn *l = tt_u64map_get(&d->lsn, s->cookie);

			/* a listener's owner goes in its LISTENER records */
			if (!l || (!l->pid && l->inode_tried != s->inode))
				return 1;
			continue;
		}
		if (s->proto == IPPROTO_TCP && tcp_skip(s->state))
			continue;
		c = tt_u64map_get(&d->conns, s->cookie);
		if (!c || (c->phase != P_DONE && !c->pid_known && c->inode_tried != s->inode))
			return 1;
	}
	return 0;
}

/*
 * The listeners of this poll into next (those gone are left behind), a LISTENER for each one
 * first seen or whose queue, limit, drops or owner changed, as tt_iter_tcp's listener_sample().
 */
static int listener_pass(struct tt_sd_diff *d, const struct tt_sd_sock *s, struct tt_u64map *next,
			 tt_sd_owner_fn owner, void *ctx, struct tt_sd_events *out)
{
	const struct lsn *old = tt_u64map_get(&d->lsn, s->cookie);
	struct tt_sd_owner o;
	struct tt_event *e;
	struct conn c;
	struct lsn *l;
	void *v;

	if (tt_u64map_put(next, s->cookie, &v) < 0)
		return -ENOMEM;
	l = v;
	if (old)
		*l = *old;
	else
		memset(l, 0, sizeof(*l));
	if (!l->pid && s->inode && l->inode_tried != s->inode) {
		l->inode_tried = s->inode;
		if (owner && owner(ctx, s->inode, &o) && o.pid) {
			l->pid = o.pid;
			memcpy(l->comm, o.comm, TT_COMM_LEN);
		}
	}
	if (l->seen && l->queue == s->rqueue && l->max == s->wqueue && l->drops == s->drops)
		return 0;
	if (d->proc_filter && !l->pid)
		return 0;
	if (!tt_filter_match(&d->filter, s->proto, s->family, s->lport, 0, l->pid, l->comm,
			     s->cgroup_id))
		return 0;
	memset(&c, 0, sizeof(c));
	c.pid = l->pid;
	e = ev_new(out, &c, TT_EV_LISTENER, s->ts_ns);
	if (!e)
		return -ENOMEM;
	memcpy(e->u.listener.laddr, s->laddr, TT_ADDR_LEN);
	e->u.listener.lport = s->lport;
	e->u.listener.family = s->family;
	e->u.listener.netns = s->netns;
	e->u.listener.accept_queue = s->rqueue;
	e->u.listener.accept_queue_max = s->wqueue;
	e->u.listener.drops = s->drops;
	memcpy(e->u.listener.comm, l->comm, TT_COMM_LEN);
	l->queue = s->rqueue;
	l->max = s->wqueue;
	l->drops = s->drops;
	l->seen = 1;
	return 0;
}

int tt_sd_diff_pass(struct tt_sd_diff *d, const struct tt_sd_snap *snap, const uint32_t *keep_ns,
		    size_t n_keep, uint64_t now_ns, tt_sd_owner_fn owner, void *owner_ctx,
		    tt_sd_lookup_fn lookup, void *lookup_ctx, struct tt_sd_events *out)
{
	const struct pass_ctx p = {owner, owner_ctx, lookup, lookup_ctx};
	int first = d->gen == 0;

	d->gen++;
	/* anew each poll: a listener that went is no listener */
	tt_u64map_free(&d->listeners);
	if (tt_u64map_init(&d->listeners, 0, 64))
		return -ENOMEM;
	for (size_t i = 0; i < snap->n; i++) {
		const struct tt_sd_sock *s = &snap->v[i];

		if ((s->proto == IPPROTO_TCP && s->state == TT_TCP_LISTEN) ||
		    (s->proto == IPPROTO_UDP && !s->rport))
			if (tt_u64map_put(&d->listeners, lst_key(s->netns, s->proto, s->lport),
					  NULL) < 0)
				return -ENOMEM;
	}
	{
		struct tt_u64map next;

		if (tt_u64map_init(&next, sizeof(struct lsn), 64))
			return -ENOMEM;
		for (size_t i = 0; i < snap->n; i++) {
			const struct tt_sd_sock *s = &snap->v[i];

			if (s->proto == IPPROTO_TCP && s->state == TT_TCP_LISTEN &&
			    listener_pass(d, s, &next, owner, owner_ctx, out)) {
				tt_u64map_free(&next);
				return -ENOMEM;
			}
		}
		/* the listeners of a namespace whose dump failed are missing: first seen again */
		tt_u64map_free(&d->lsn);
		d->lsn = next;
	}
	for (size_t i = 0; i < snap->n; i++)
		if (sock_pass(d, &snap->v[i], first, owner, owner_ctx, out))
			return -ENOMEM;
	return sweep(d, keep_ns, n_keep, now_ns, &p, out);
}

/*
 * Retransmits told as they happen (the fallback's tt_retrans_k510) beside the polls' totals: a
 * poll tells what the socket's total_retrans has beyond what was told, an event tells its segs
 * where its total is beyond it, so whichever comes first, each is told once.
 */
uint32_t tt_sd_diff_retrans(struct tt_sd_diff *d, uint64_t cookie, uint32_t segs, uint32_t total)
{
	struct conn *c = tt_u64map_get(&d->conns, cookie);
	uint32_t n;

	if (!c || c->proto != IPPROTO_TCP || c->phase != P_OPEN || total <= c->retrans)
		return 0;
	n = total - c->retrans < segs ? total - c->retrans : segs;
	c->retrans += n;
	return n;
}

int tt_sd_diff_bpf_owner(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out)
{
	struct conn *c = tt_u64map_get(&d->conns, ev->conn_id);
	struct tt_event *e;

	if (!c || c->proto != IPPROTO_TCP || c->pid_known || !ev->pid)
		return 0;
	c->pid = ev->pid;
	memcpy(c->comm, ev->u.proc.comm, TT_COMM_LEN);
	c->pid_known = 1;
	if (c->phase != P_OPEN)
		return 1; /* one waiting for its owner opens at the next poll */
	e = ev_new(out, c, TT_EV_CONN_PROC, ev->ts_ns);
	if (!e)
		return -ENOMEM;
	memcpy(e->u.proc.comm, c->comm, TT_COMM_LEN);
	return 1;
}

int tt_sd_diff_bpf_born(const struct tt_sd_diff *d, uint64_t id)
{
	const struct conn *c = tt_u64map_get(&d->conns, id);

	return c && c->bpf_born && c->phase == P_OPEN;
}

int tt_sd_diff_known(const struct tt_sd_diff *d, uint64_t cookie)
{
	return tt_u64map_get(&d->conns, cookie) != NULL;
}

int tt_sd_diff_opened(const struct tt_sd_diff *d, uint64_t cookie)
{
	const struct conn *c = tt_u64map_get(&d->conns, cookie);

	return c && c->proto == IPPROTO_TCP && c->opened;
}

void tt_sd_diff_set_bpf_states(struct tt_sd_diff *d)
{
	d->bpf_states = 1;
}

/* A state change told by BPF: from the one known, where an earlier change was not told. */
static int bpf_state_change(struct conn *c, uint8_t old, uint8_t to, uint64_t ts,
			    struct tt_sd_events *out)
{
	if (old != c->state && emit_state(c, old, ts, out))
		return -ENOMEM;
	return to != c->state ? emit_state(c, to, ts, out) : 0;
}

int tt_sd_diff_bpf_open(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out)
{
	const struct tt_ev_open *o = &ev->u.open;
	struct tt_sd_sock s;
	struct conn *c;
	void *v;

	if (ev->kind != TT_EV_CONN_OPEN || !(ev->flags & TT_F_FALLBACK_TCP) ||
	    o->proto != IPPROTO_TCP || tt_u64map_get(&d->conns, ev->conn_id))
		return 0;
	/* the socket at its ESTABLISHED, as a dump would have read it then (no counters) */
	memset(&s, 0, sizeof(s));
	s.cookie = ev->conn_id;
	s.ts_ns = ev->ts_ns;
	s.proto = IPPROTO_TCP;
	s.family = o->family;
	s.state = o->state; /* ESTABLISHED, or SYN_SENT: a connect() that failed */
	s.netns = o->netns;
	s.cgroup_id = o->cgroup_id;
	s.lport = o->lport;
	s.rport = o->rport;
	memcpy(s.laddr, o->laddr, TT_ADDR_LEN);
	memcpy(s.raddr, o->raddr, TT_ADDR_LEN);
	if (tt_u64map_put(&d->conns, ev->conn_id, &v) < 0)
		return -ENOMEM;
	c = v;
	c->cookie = ev->conn_id;
	c->proto = IPPROTO_TCP;
	c->bpf_born = 1;
	c->netns = o->netns;
	c->state = o->state;
	c->dir = o->direction;
	c->gen = d->gen; /* the next pass, which cannot find it, forgets it */
	remember(c, &s);
	if (ev->pid) {
		c->pid = ev->pid;
		memcpy(c->comm, o->comm, TT_COMM_LEN);
		c->pid_known = 1;
	}
	if (try_open(d, c, &s, out))
		return -ENOMEM;
	return c->phase == P_OPEN;
}

int tt_sd_diff_bpf_state(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out)
{
	struct conn *c = tt_u64map_get(&d->conns, ev->conn_id);
	struct tt_sd_sock s;
	size_t first;

	if (!c || c->proto != IPPROTO_TCP || c->phase != P_OPEN)
		return 0;
	if (ev->kind == TT_EV_STATE)
		return bpf_state_change(c, ev->u.state.old_state, ev->u.state.new_state, ev->ts_ns,
					out)
			   ? -ENOMEM
			   : 1;
	if (ev->kind != TT_EV_CONN_CLOSE || !(ev->flags & TT_F_FALLBACK_TCP))
		return 0;
	/* the socket at its close, as a dump that found it closed would have read it */
	memset(&s, 0, sizeof(s));
	s.cookie = c->cookie;
	s.state = TT_TCP_CLOSE; /* no FIN left in the counters: BPF took them out */
	s.has_info = 1;
	s.bytes_acked = ev->u.close.tx_bytes;
	s.bytes_received = ev->u.close.rx_bytes;
	s.segs_out = ev->u.close.tx_pkts;
	s.segs_in = ev->u.close.rx_pkts;
	s.total_retrans = ev->u.close.retrans;
	s.sent_once = UINT64_MAX;
	/* the TCP state as last written: the close holds its srtt, no SAMPLE (nor DSACK) at it */
	s.sample = c->sample;
	s.rtt_us = ev->u.close.srtt_us;
	if (bpf_state_change(c, ev->u.close.state, TT_TCP_CLOSE, ev->ts_ns, out))
		return -ENOMEM;
	first = out->n;
	if (emit_samples(c, &s, ev->ts_ns, out))
		return -ENOMEM;
	/* what a connect() that failed resent were its SYNs (the BPF source's cause) */
	for (size_t i = first; i < out->n; i++)
		if (out->v[i].kind == TT_EV_RETRANS && ev->u.close.state == TT_TCP_SYN_SENT &&
		    !out->v[i].u.retrans.cause)
			out->v[i].u.retrans.cause = TT_RETRANS_SYN;
	c->srtt = ev->u.close.srtt_us;
	if (emit_close(c, ev->ts_ns, out))
		return -ENOMEM;
	out->v[out->n - 1].u.close.fail_reason = ev->u.close.fail_reason;
	return 1;
}
