// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Packets to connection events (pcap_flow.h), each decoded by pcap_decode.c. A flow is found by its
 * two endpoints in either order (the canonical key: the lower endpoint first) through tt_u64map's
 * index, and remembers which end opened it: direction 0 is that end's sending (tx), 1 its receiving
 * (rx).
 *
 * Per direction, the highest sequence offset seen is the payload sent so far: a segment that
 * starts below it is a retransmit (at a capture point past a loss, the resend that fills the
 * hole), and one that ends above it moves it. Offsets are 64-bit, so a connection may carry
 * more than 4 GiB. The handshake gives the connect time (first SYN to SYN-ACK) and the round
 * trip (last SYN to the ACK of the SYN-ACK: at any capture point, the two halves of the
 * path add up to the whole one, as Wireshark's iRTT).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tt_tcp_states.h"
#include "tt_u64map.h"
#include "pcap_decode.h"
#include "pcap_flow.h"

#define KEY_LEN 38 /* family, proto, then the lower (addr16, port2) and the higher */
#define ADDR TT_PKT_ADDR
#define DEFAULT_TICK_NS 1000000000ull
#define DEFAULT_UDP_IDLE_NS 30000000000ull
/* a closed TCP connection is kept this long (packet time) so that its last ACKs stay its own */
#define CLOSED_KEEP_NS 60000000000ull

/*
 * Holes kept per direction: a segment that fills one was not seen before, and is a
 * retransmit only if it came later than a reordering would (REORDER_NS, or the handshake's
 * round trip where longer); the oldest is let go when more open, and what fills it counts as a
 * retransmit.
 */
#define HOLES 3
#define REORDER_NS 3000000ull

/* Data not seen yet below a direction's highest offset: a segment the capture has not had */
struct hole {
	uint64_t lo, hi; /* offsets [lo, hi); lo == hi: none */
	uint64_t ts;	 /* when the segment past it was seen */
};

struct dir {
	struct hole holes[HOLES];
	uint64_t hi;   /* payload bytes sent: the highest sequence offset seen */
	uint64_t pkts; /* packets, payload or not */
	uint64_t told_bytes, told_pkts;
	uint32_t base;	     /* the ISN: offset 0 is base + 1 */
	uint32_t fin_ack;    /* the ACK number that acknowledges this direction's FIN */
	uint64_t zero_since; /* zero: when its sender began advertising a zero window */
	uint8_t have_base, fin, zero;
};

struct flow {
	uint8_t key[KEY_LEN];
	uint32_t tag;
	uint64_t conn_id;
	uint8_t caddr[ADDR], saddr[ADDR]; /* the opening end (c) and the other (s) */
	uint16_t cport, sport;
	uint8_t family, proto, state, used, closed, dirty, synack_seen, last_fin;
	uint64_t first_syn_ns, last_syn_ns, last_ns;
	uint32_t srtt_us, syn_retrans, retrans;
	uint32_t next; /* unused: the free list's next, + 1 */
	struct dir d[2];
};

struct tt_pflow {
	int link;
	uint64_t tick_ns, udp_idle_ns, now, next_tick, next_id;
	tt_pflow_emit_fn emit;
	void *ctx;
	int stop; /* emit asked to stop */
	struct tt_u64map index;
	struct flow *flows;
	size_t n, cap;
	uint32_t free1; /* the free list's first, + 1 */
	struct tt_pflow_stats st;
};

int tt_pflow_new(struct tt_pflow **out, int link, const struct tt_pflow_opts *o,
		 tt_pflow_emit_fn emit, void *ctx)
{
	struct tt_pflow *p;

	*out = NULL;
	if (!tt_pkt_link_ok(link))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p || tt_u64map_init_index(&p->index, 1024)) {
		free(p);
		return -ENOMEM;
	}
	p->link = link;
	p->tick_ns = o->tick_ns ? o->tick_ns : DEFAULT_TICK_NS;
	p->udp_idle_ns = o->udp_idle_ns ? o->udp_idle_ns : DEFAULT_UDP_IDLE_NS;
	p->emit = emit;
	p->ctx = ctx;
	p->next_id = 1;
	*out = p;
	return 0;
}

void tt_pflow_free(struct tt_pflow *p)
{
	if (!p)
		return;
	tt_u64map_free(&p->index);
	free(p->flows);
	free(p);
}

uint64_t tt_pflow_now(const struct tt_pflow *p)
{
	return p->now;
}

void tt_pflow_stats(const struct tt_pflow *p, struct tt_pflow_stats *st)
{
	*st = p->st;
}

static void make_key(const struct tt_pkt *k, uint8_t *key)
{
	const uint8_t *lo = k->src, *hi = k->dst;
	uint16_t lp = k->sport, hp = k->dport;
	int c = memcmp(k->src, k->dst, ADDR);

	if (c > 0 || (!c && k->sport > k->dport)) {
		lo = k->dst, hi = k->src;
		lp = k->dport, hp = k->sport;
	}
	key[0] = k->family;
	key[1] = k->proto;
	memcpy(key + 2, lo, ADDR);
	key[18] = (uint8_t)(lp >> 8), key[19] = (uint8_t)lp;
	memcpy(key + 20, hi, ADDR);
	key[36] = (uint8_t)(hp >> 8), key[37] = (uint8_t)hp;
}

static struct flow *lookup(struct tt_pflow *p, const uint8_t *key, uint32_t tag)
{
	size_t i = tt_u64map_probe_start(&p->index, tag);
	uint64_t w;

	while ((w = tt_u64map_probe(&p->index, &i, tag))) {
		struct flow *f = &p->flows[tt_u64map_word_idx(w)];

		if (!memcmp(f->key, key, KEY_LEN))
			return f;
	}
	return NULL;
}

static struct flow *add(struct tt_pflow *p, const uint8_t *key, uint32_t tag)
{
	struct flow *f;
	uint32_t idx;

	if (p->free1) {
		idx = p->free1 - 1;
		p->free1 = p->flows[idx].next;
	} else {
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 256;
			struct flow *nf = realloc(p->flows, cap * sizeof(*nf));

			if (!nf)
				return NULL;
			p->flows = nf;
			p->cap = cap;
		}
		idx = (uint32_t)p->n++;
	}
	if (tt_u64map_put(&p->index, tt_u64map_word(tag, idx), NULL) < 0) {
		p->flows[idx].used = 0; /* (a slot new from realloc holds anything) */
		p->flows[idx].next = p->free1;
		p->free1 = idx + 1;
		return NULL;
	}
	f = &p->flows[idx];
	memset(f, 0, sizeof(*f));
	memcpy(f->key, key, KEY_LEN);
	f->tag = tag;
	f->used = 1;
	f->conn_id = p->next_id++;
	p->st.conns++;
	p->st.open++;
	return f;
}

static void forget(struct tt_pflow *p, struct flow *f)
{
	uint32_t idx = (uint32_t)(f - p->flows);

	tt_u64map_del(&p->index, tt_u64map_word(f->tag, idx));
	f->used = 0;
	f->next = p->free1;
	p->free1 = idx + 1;
}

static void emit(struct tt_pflow *p, const struct tt_event *ev)
{
	if (p->emit(p->ctx, ev))
		p->stop = 1;
}

static void ev_init(struct tt_event *ev, const struct flow *f, int kind, uint64_t ts)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = ts;
	ev->conn_id = f->conn_id;
	ev->kind = (uint16_t)kind;
}

static void emit_open(struct tt_pflow *p, const struct flow *f, int dir, uint16_t flags)
{
	struct tt_event ev;

	ev_init(&ev, f, TT_EV_CONN_OPEN, p->now);
	ev.flags = flags;
	memcpy(ev.u.open.laddr, f->caddr, ADDR);
	memcpy(ev.u.open.raddr, f->saddr, ADDR);
	ev.u.open.lport = f->cport;
	ev.u.open.rport = f->sport;
	ev.u.open.family = f->family;
	ev.u.open.proto = f->proto;
	ev.u.open.direction = (uint8_t)dir;
	ev.u.open.state = f->state;
	emit(p, &ev);
}

static void set_state(struct tt_pflow *p, struct flow *f, uint8_t to)
{
	struct tt_event ev;

	ev_init(&ev, f, TT_EV_STATE, p->now);
	ev.u.state.old_state = f->state;
	ev.u.state.new_state = to;
	f->state = to;
	emit(p, &ev);
}

/* The traffic since the last told, at ts (a tick, or the close). */
static void tell_traffic(struct tt_pflow *p, struct flow *f, uint64_t ts)
{
	struct tt_event ev;

	f->dirty = 0;
	if (f->d[0].hi == f->d[0].told_bytes && f->d[1].hi == f->d[1].told_bytes &&
	    f->d[0].pkts == f->d[0].told_pkts && f->d[1].pkts == f->d[1].told_pkts)
		return;
	ev_init(&ev, f, TT_EV_TRAFFIC, ts);
	ev.u.traffic.tx_bytes = f->d[0].hi - f->d[0].told_bytes;
	ev.u.traffic.rx_bytes = f->d[1].hi - f->d[1].told_bytes;
	ev.u.traffic.tx_pkts = (uint32_t)(f->d[0].pkts - f->d[0].told_pkts);
	ev.u.traffic.rx_pkts = (uint32_t)(f->d[1].pkts - f->d[1].told_pkts);
	for (int i = 0; i < 2; i++) {
		f->d[i].told_bytes = f->d[i].hi;
		f->d[i].told_pkts = f->d[i].pkts;
	}
	emit(p, &ev);
}

/*
 * A window advertised by dir's sender: zero begins a stall (the opening end's own, local, when
 * it is the sender: its process was not reading; else the peer's), any other ends it.
 */
static void window(struct tt_pflow *p, struct flow *f, int dir, int zero, uint64_t ts)
{
	struct dir *d = &f->d[dir];
	struct tt_event ev;

	if (!zero == !d->zero)
		return;
	ev_init(&ev, f, TT_EV_STALL, ts);
	ev.u.stall.side = dir == 0 ? TT_STALL_LOCAL : TT_STALL_PEER;
	ev.u.stall.phase = zero ? TT_STALL_BEGIN : TT_STALL_END;
	ev.u.stall.dur_us = zero ? 0 : (ts - d->zero_since) / 1000;
	d->zero = (uint8_t)zero;
	d->zero_since = ts;
	emit(p, &ev);
}

static void close_flow(struct tt_pflow *p, struct flow *f, uint8_t fail, uint64_t ts)
{
	struct tt_event ev;

	window(p, f, 0, 0, ts); /* a stall goes on to the close, not past it */
	window(p, f, 1, 0, ts);
	tell_traffic(p, f, ts);
	ev_init(&ev, f, TT_EV_CONN_CLOSE, ts);
	ev.u.close.tx_bytes = f->d[0].hi;
	ev.u.close.rx_bytes = f->d[1].hi;
	ev.u.close.tx_pkts = (uint32_t)f->d[0].pkts;
	ev.u.close.rx_pkts = (uint32_t)f->d[1].pkts;
	ev.u.close.srtt_us = f->srtt_us;
	ev.u.close.retrans = f->retrans;
	ev.u.close.state = f->proto == IPPROTO_TCP ? TT_TCP_CLOSE : 0;
	ev.u.close.fail_reason = fail;
	f->closed = 1;
	f->state = ev.u.close.state;
	p->st.open--;
	emit(p, &ev);
	if (f->proto != IPPROTO_TCP)
		forget(p, f);
}

/* The first tick at or after ts. */
static uint64_t tick_of(const struct tt_pflow *p, uint64_t ts)
{
	return (ts + p->tick_ns - 1) / p->tick_ns * p->tick_ns;
}

/* The traffic of every flow that moved; idle UDP flows and finished TCP ones closed. */
static void tick(struct tt_pflow *p, uint64_t at)
{
	for (size_t i = 0; i < p->n; i++) {
		struct flow *f = &p->flows[i];

		if (!f->used)
			continue;
		if (f->closed) {
			if (at - f->last_ns >= CLOSED_KEEP_NS)
				forget(p, f);
			continue;
		}
		if (f->dirty)
			tell_traffic(p, f, at);
		if (f->proto == IPPROTO_UDP && at - f->last_ns >= p->udp_idle_ns)
			close_flow(p, f, TT_FAIL_NONE, tick_of(p, f->last_ns + p->udp_idle_ns));
		else if (f->d[0].fin && f->d[1].fin && at - f->last_ns >= p->tick_ns)
			/* the last ACK was not captured */
			close_flow(p, f, TT_FAIL_NONE, tick_of(p, f->last_ns + p->tick_ns));
	}
}

/* The 64-bit offset a segment starts at, from its 32-bit sequence number; < 0: before the base. */
static int64_t seq_off(const struct dir *d, uint32_t seq)
{
	uint32_t rel = seq - d->base - 1;

	return (int64_t)d->hi + (int32_t)(rel - (uint32_t)d->hi);
}

/*
 * [start, end), below the highest offset seen, takes what it fills out of the holes: returns
 * how many of its bytes were holes, and in *ts when the oldest of them opened.
 */
static uint64_t fill_holes(struct dir *d, uint64_t start, uint64_t end, uint64_t *ts)
{
	uint64_t filled = 0;

	*ts = UINT64_MAX;
	for (int i = 0; i < HOLES; i++) {
		struct hole *h = &d->holes[i];
		uint64_t lo = start > h->lo ? start : h->lo, hi = end < h->hi ? end : h->hi;

		if (lo >= hi)
			continue;
		filled += hi - lo;
		*ts = h->ts < *ts ? h->ts : *ts;
		if (lo == h->lo)
			h->lo = hi; /* its front filled (or all of it) */
		else if (hi == h->hi)
			h->hi = lo; /* its back */
		else {		    /* its middle: the back part becomes a hole of its own */
			struct hole back = {hi, h->hi, h->ts};
			int j, oldest = 0;

			h->hi = lo;
			for (j = 0; j < HOLES && d->holes[j].lo < d->holes[j].hi; j++)
				if (d->holes[j].ts < d->holes[oldest].ts)
					oldest = j;
			d->holes[j < HOLES ? j : oldest] = back;
		}
	}
	return filled;
}

/* A gap [lo, hi) opened now: the first free slot, else the oldest hole's. */
static void open_hole(struct dir *d, uint64_t lo, uint64_t hi, uint64_t now)
{
	int slot = 0;

	for (int i = 0; i < HOLES; i++) {
		if (d->holes[i].lo >= d->holes[i].hi) {
			slot = i;
			break;
		}
		if (d->holes[i].ts < d->holes[slot].ts)
			slot = i;
	}
	d->holes[slot] = (struct hole){lo, hi, now};
}

static void tcp_data(struct tt_pflow *p, struct flow *f, int dir, const struct tt_pkt *k)
{
	struct dir *d = &f->d[dir];
	int64_t start, end;

	if (!d->have_base) { /* midstream: this segment starts offset 0 */
		d->base = k->seq - 1;
		d->have_base = 1;
	}
	start = seq_off(d, k->seq);
	end = start + k->len;
	if (start < 0)
		start = 0; /* before the first segment of a connection begun before the capture */
	if (k->len && start < (int64_t)d->hi && end > start) {
		uint64_t below = (end < (int64_t)d->hi ? (uint64_t)end : d->hi) - (uint64_t)start;
		uint64_t opened, reorder = (uint64_t)f->srtt_us * 1000;
		uint64_t filled = fill_holes(d, (uint64_t)start, (uint64_t)start + below, &opened);

		if (reorder < REORDER_NS)
			reorder = REORDER_NS;
		/* seen before, or a hole filled later than a reordering would: sent again */
		if (filled < below || p->now - opened > reorder) {
			if (dir ==
			    0) { /* the opening end's retransmits are its own; not the peer's */
				struct tt_event ev;

				f->retrans++;
				ev_init(&ev, f, TT_EV_RETRANS, p->now);
				ev.u.retrans.segs = 1;
				ev.u.retrans.state = f->state;
				ev.u.retrans.cause = TT_RETRANS_UNKNOWN;
				emit(p, &ev);
			}
		}
	}
	if (k->len && end > (int64_t)d->hi) { /* (a FIN's sequence number is not payload) */
		if (start > (int64_t)d->hi)
			open_hole(d, d->hi, (uint64_t)start, p->now);
		d->hi = (uint64_t)end;
	}
	if (k->flags & TT_TH_FIN && !d->fin) {
		d->fin = 1;
		d->fin_ack = k->seq + k->len + 1;
		f->last_fin = (uint8_t)dir;
		if (!f->d[!dir].fin && f->state == TT_TCP_ESTABLISHED)
			set_state(p, f, dir == 0 ? TT_TCP_FIN_WAIT1 : TT_TCP_CLOSE_WAIT);
		else if (f->d[!dir].fin)
			set_state(p, f, dir == 0 ? TT_TCP_LAST_ACK : TT_TCP_TIME_WAIT);
	}
}

/* Whether the SYN k is the one that opened f, sent again. */
static int same_syn(const struct flow *f, const struct tt_pkt *k)
{
	return !memcmp(k->src, f->caddr, ADDR) && k->sport == f->cport && f->d[0].have_base &&
	       k->seq == f->d[0].base;
}

static void tcp_handshake(struct tt_pflow *p, struct flow *f, int dir, const struct tt_pkt *k)
{
	struct tt_event ev;

	if (dir == 0 && (k->flags & (TT_TH_SYN | TT_TH_ACK)) == TT_TH_SYN) {
		if (f->d[0].have_base && (f->state == TT_TCP_SYN_SENT || same_syn(f, k))) {
			f->syn_retrans++;
			ev_init(&ev, f, TT_EV_RETRANS, p->now);
			ev.u.retrans.segs = 1;
			ev.u.retrans.state = TT_TCP_SYN_SENT;
			ev.u.retrans.cause = TT_RETRANS_SYN;
			emit(p, &ev);
		}
		f->d[0].base = k->seq;
		f->d[0].have_base = 1;
		f->last_syn_ns = p->now;
		return;
	}
	if (dir == 1 && (k->flags & (TT_TH_SYN | TT_TH_ACK)) == (TT_TH_SYN | TT_TH_ACK)) {
		if (f->synack_seen || f->state != TT_TCP_SYN_SENT)
			return; /* a SYN-ACK again */
		f->synack_seen = 1;
		f->d[1].base = k->seq;
		f->d[1].have_base = 1;
		set_state(p, f, TT_TCP_ESTABLISHED);
		ev_init(&ev, f, TT_EV_HANDSHAKE, p->now);
		ev.u.handshake.connect_us = (uint32_t)((p->now - f->first_syn_ns) / 1000);
		ev.u.handshake.syn_retrans = f->syn_retrans;
		emit(p, &ev);
		return;
	}
	if (dir == 0 && f->synack_seen && !f->srtt_us && k->flags & TT_TH_ACK &&
	    k->ack == f->d[1].base + 1) {
		uint64_t us = (p->now - f->last_syn_ns) / 1000;

		f->srtt_us = us ? (uint32_t)us : 1;
		ev_init(&ev, f, TT_EV_RTT, p->now);
		ev.u.rtt.srtt_us = f->srtt_us;
		emit(p, &ev);
	}
}

static void set_ends(struct flow *f, const struct tt_pkt *k, int src_opens)
{
	f->family = k->family;
	f->proto = k->proto;
	memcpy(f->caddr, src_opens ? k->src : k->dst, ADDR);
	memcpy(f->saddr, src_opens ? k->dst : k->src, ADDR);
	f->cport = src_opens ? k->sport : k->dport;
	f->sport = src_opens ? k->dport : k->sport;
}

/* The flow of a TCP packet, opened if it starts one; NULL: a stray, or no memory (*err). */
static struct flow *tcp_flow(struct tt_pflow *p, const struct tt_pkt *k, int *err)
{
	uint8_t key[KEY_LEN];
	uint32_t tag;
	struct flow *f;
	int syn = (k->flags & (TT_TH_SYN | TT_TH_ACK)) == TT_TH_SYN;

	make_key(k, key);
	tag = tt_u64map_tag_bytes(key, KEY_LEN);
	f = lookup(p, key, tag);
	/*
	 * The same ends again: a new connection (one whose end was not captured ends here); but
	 * a SYN sent again with the same ISN (its SYN-ACK was lost after the capture point) is
	 * the same one's.
	 */
	if (f && syn && (f->closed || f->state != TT_TCP_SYN_SENT) &&
	    (f->closed || !same_syn(f, k))) {
		if (!f->closed)
			close_flow(p, f, TT_FAIL_NONE, p->now);
		forget(p, f);
		f = NULL;
	}
	if (f)
		return f->closed ? NULL : f;
	if (k->flags & TT_TH_RST || k->icmp_unreach)
		return NULL;
	f = add(p, key, tag);
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	if (syn) {
		set_ends(f, k, 1);
		f->state = TT_TCP_SYN_SENT;
		f->first_syn_ns = p->now;
		emit_open(p, f, TT_DIR_OUTBOUND, 0);
		return f;
	}
	/* begun before the capture: the end on the higher port is taken as the one that opened */
	set_ends(f, k, k->sport > k->dport || (k->sport == k->dport));
	f->state = TT_TCP_ESTABLISHED;
	emit_open(p, f, TT_DIR_UNKNOWN, TT_F_PREEXISTING);
	return f;
}

static int tcp_packet(struct tt_pflow *p, const struct tt_pkt *k)
{
	int err = 0, dir;
	struct flow *f = tcp_flow(p, k, &err);

	if (!f) {
		p->st.strays += !err;
		return err;
	}
	dir = memcmp(k->src, f->caddr, ADDR) || k->sport != f->cport;
	if (k->icmp_unreach) { /* it quotes a packet of ours, dir 0, that could not get there */
		if (!dir && f->state == TT_TCP_SYN_SENT)
			close_flow(p, f, TT_FAIL_UNREACHABLE, p->now);
		return 0;
	}
	p->st.flow_pkts++;
	f->d[dir].pkts++;
	f->last_ns = p->now;
	f->dirty = 1;
	if (k->flags & TT_TH_SYN || f->state == TT_TCP_SYN_SENT || !f->srtt_us)
		tcp_handshake(p, f, dir, k);
	if (k->flags & TT_TH_RST) {
		int fail = TT_FAIL_NONE;
		struct tt_event ev;

		if (f->state == TT_TCP_SYN_SENT && dir == 1)
			fail = TT_FAIL_REFUSED;
		else if (!(f->d[0].fin && f->d[1].fin))
			fail = dir == 1 ? TT_FAIL_RESET : TT_FAIL_LOCAL_RESET;
		ev_init(&ev, f, TT_EV_RESET, p->now);
		ev.u.reset.dir = dir == 0 ? TT_RST_SENT : TT_RST_RECEIVED;
		ev.u.reset.state = f->state;
		emit(p, &ev);
		close_flow(p, f, (uint8_t)fail, p->now);
		return 0;
	}
	if (!(k->flags & TT_TH_SYN)) {
		window(p, f, dir, !k->win, p->now);
		tcp_data(p, f, dir, k);
	}
	/* the ACK of the second FIN ends it */
	if (f->d[0].fin && f->d[1].fin && dir != f->last_fin && k->flags & TT_TH_ACK &&
	    k->ack == f->d[f->last_fin].fin_ack)
		close_flow(p, f, TT_FAIL_NONE, p->now);
	return 0;
}

static int udp_packet(struct tt_pflow *p, const struct tt_pkt *k)
{
	uint8_t key[KEY_LEN];
	uint32_t tag;
	struct flow *f;
	int dir;

	make_key(k, key);
	tag = tt_u64map_tag_bytes(key, KEY_LEN);
	f = lookup(p, key, tag);
	if (!f) {
		f = add(p, key, tag);
		if (!f)
			return -ENOMEM;
		set_ends(f, k, 1);
		emit_open(p, f, TT_DIR_UNKNOWN, 0);
	}
	dir = memcmp(k->src, f->caddr, ADDR) || k->sport != f->cport;
	p->st.flow_pkts++;
	f->d[dir].pkts++;
	f->d[dir].hi += k->len;
	f->last_ns = p->now;
	f->dirty = 1;
	return 0;
}

int tt_pflow_packet(struct tt_pflow *p, uint64_t ts_ns, const uint8_t *data, size_t caplen)
{
	struct tt_pkt k;
	int ret;

	p->stop = 0;
	p->st.packets++;
	if (ts_ns > p->now)
		p->now = ts_ns;
	if (!p->next_tick)
		p->next_tick = p->now - p->now % p->tick_ns + p->tick_ns;
	/* the ticks this packet is past, told before it (their time is before it) */
	while (p->now >= p->next_tick) {
		uint64_t last = p->now - p->now % p->tick_ns; /* the last tick before this packet */

		tick(p, p->next_tick);
		/* ticks in a silence between packets tell nothing new: the last of them closes
		 * what went idle in it, each close at the tick it was due */
		p->next_tick = p->next_tick + p->tick_ns < last ? last : p->next_tick + p->tick_ns;
	}
	ret = tt_pkt_decode(p->link, data, caplen, &k);
	if (ret == TT_PKT_TRUNCATED)
		p->st.truncated++;
	else if (ret == TT_PKT_FRAGMENT)
		p->st.fragments++;
	else if (ret == TT_PKT_OTHER)
		p->st.other++;
	if (ret != TT_PKT_OK)
		return p->stop;
	ret = k.proto == IPPROTO_TCP ? tcp_packet(p, &k) : udp_packet(p, &k);
	return ret < 0 ? ret : p->stop;
}

int tt_pflow_end(struct tt_pflow *p)
{
	p->stop = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct flow *f = &p->flows[i];

		if (!f->used || f->closed)
			continue;
		if (f->d[0].fin && f->d[1].fin)
			close_flow(p, f, TT_FAIL_NONE, p->now);
		else if (f->dirty)
			tell_traffic(p, f, p->now);
	}
	return p->stop;
}
