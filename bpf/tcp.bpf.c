// SPDX-License-Identifier: GPL-2.0
/*
 * TCP: the lifecycle from the state-change tracepoint, retransmits, resets, and the
 * sampling iterators over the TCP sockets of a namespace; what they write of a connection
 * (counters, samples, stalls, the close). Its opening and owner, which udp.bpf.c's --raw
 * calls need as well, are in tcp_sock.bpf.h.
 */
#include "maps.bpf.h"
#include "emit.bpf.h"
#include "filter.bpf.h"
#include "sock.bpf.h"
#include "tcp_sock.bpf.h"
#include "retrans.bpf.h"

/* The states compared here and stored in captures are the kernel's numbers (vmlinux.h). */
TT_TCP_STATES(TT_TCP_STATE_IS_KERNEL, TCP_)

/* ------------------------------------------------------------ counters */

static __always_inline __u64 sub0(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* A pass's record, which a full ring buffer leaves for the next pass (nothing counted lost). */
static __always_inline struct tt_event *pass_try_new(__u16 kind, __u64 id, __u32 pid, __u32 tid,
						     __u64 ts)
{
	if (cur_pass <= test_pass_nospace) {
		ring_short_pass = cur_pass;
		return NULL;
	}
	return ev_try_new(kind, id, pid, tid, 0, ts);
}

/*
 * Report the counters' growth since the last report. The sampler (process context, the
 * socket locked) and the close may still race (a listener's close resets its unaccepted
 * children without their lock): each claims its baseline with an exchange so no byte is
 * reported twice, and a pass (pass 1) reserves its record before it claims, and only while the
 * connection is open, so that its record is never after the close, whose absolute counters
 * already hold the delta. A pass that finds no room leaves the delta for the next one; the
 * close's is counted lost (its counters hold it).
 */
static __always_inline void emit_delta(struct sk_st *st, const struct tcp_counters *c, int pass)
{
	struct tt_event *e;
	__u64 acked, rcvd, so, si;

	if (c->acked <= st->acked && c->rcvd <= st->rcvd && c->segs_out <= st->segs_out &&
	    c->segs_in <= st->segs_in)
		return;
	e = pass ? pass_try_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, 0)
		 : ev_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	/* atomic: ordered after the reservation, as the close's state change is before its */
	if (pass && __sync_fetch_and_add(&st->open, 0) != O_OPEN) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	acked = __sync_lock_test_and_set(&st->acked, c->acked);
	rcvd = __sync_lock_test_and_set(&st->rcvd, c->rcvd);
	so = __sync_lock_test_and_set(&st->segs_out, c->segs_out);
	si = __sync_lock_test_and_set(&st->segs_in, c->segs_in);
	if (c->acked <= acked && c->rcvd <= rcvd && c->segs_out <= so && c->segs_in <= si) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	e->u.traffic.tx_bytes = sub0(c->acked, acked);
	e->u.traffic.rx_bytes = sub0(c->rcvd, rcvd);
	e->u.traffic.tx_pkts = c->segs_out > so ? c->segs_out - so : 0;
	e->u.traffic.rx_pkts = c->segs_in > si ? c->segs_in - si : 0;
	ev_send(e);
}

/*
 * --raw: a TCP connection's counters (its close's, and the pass's for tcp_gone.c) are the bytes
 * its calls moved, on top of what it had moved before the capture (preexisting): calls made after
 * the close (a read of the receive queue once the state is CLOSE) are written after it and add
 * to them, where the kernel's counters would hold those bytes already.
 */
static __always_inline void raw_totals(const struct sk_st *st, struct tcp_counters *c)
{
	c->acked = st->acked + st->raw_tx_done;
	c->rcvd = st->rcvd + st->raw_rx_done;
}

/*
 * Spurious retransmits: the segments the peer reported as received twice (DSACK; the
 * socket's dsack_dups, TcpExtTCPDSACKRecvSegs) since the last report, as a RETRANS of cause
 * SPURIOUS whose segs is 0, so the retransmit total stays the kernel's. Called by the
 * sampling pass and at the close; a kernel without the counter (before 5.0) has no such event.
 */
static __always_inline void tcp_emit_spurious(const struct sock *sk, struct sk_st *st, int direct)
{
	struct tt_event *e;
	__u64 d, old;

	if (!bpf_core_field_exists(((struct tcp_sock *)0)->dsack_dups))
		return;
	d = TT_SK_READ(direct, (const struct tcp_sock *)sk, dsack_dups);
	if (d == st->dsack)
		return;
	old = __sync_lock_test_and_set(&st->dsack, d);
	if (d <= old || d - old > 0xffffffffULL)
		return;
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.retrans.segs = 0;
	e->u.retrans.state = TT_SK_READ(direct, sk, __sk_common.skc_state);
	e->u.retrans.cause = TT_RETRANS_SPURIOUS;
	e->u.retrans.spurious = (__u32)(d - old);
	ev_send(e);
}

/*
 * Retransmits the kernel counted (tp->total_retrans, what TcpRetransSegs adds, counted in
 * __tcp_retransmit_skb() before the send) that no RETRANS event has told: their event was
 * lost (ring buffer full), their program run skipped (LOST on no cpu), the send failed
 * after the count (TcpExtTCPRetransFail, or -EBUSY on 6.18), or the tracepoint did not
 * reach the program at all (6.18 under load, docs/KERNELS.md). One RETRANS of cause
 * UNKNOWN tells them, so a connection's events always add up to its total. Called before a
 * retransmit's own event, by the sampling pass and at the close, all holding the socket's
 * lock (the iterator takes it since 5.15): told needs no atomics. total below told is a
 * kernel that counts after the hook: nothing untold.
 */
static __always_inline void tcp_emit_untold(struct sk_st *st, __u8 state, __u32 total)
{
	__u32 n = total - st->retrans_told;
	struct tt_event *e;

	if (!n || n > 0x7fffffffU)
		return;
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return; /* counted lost; the next one tells them */
	e->u.retrans.segs = n;
	e->u.retrans.state = state;
	e->u.retrans.cause = TT_RETRANS_UNKNOWN;
	e->u.retrans.spurious = 0;
	ev_send(e);
	st->retrans_told = total;
}

/* ------------------------------------------------------------ samples and stalls */

#define TT_NSEC_PER_SEC 1000000000ULL
#define TT_USEC_PER_SEC 1000000ULL
#define TT_CHRONO_RWND_LIMITED 2 /* enum tcp_chrono */
#define TT_CHRONO_MAX 4

/*
 * The kernel's HZ, which turns the jiffies of tcp_sock's clocks into time. CONFIG_HZ is not
 * readable everywhere (a __kconfig extern needs /boot/config-* or /proc/config.gz, which the
 * Debian guests of make vmtest lack), but jiffies_64 starts at INITIAL_JIFFIES,
 * (u32)(-300 * HZ), and counts HZ a second of the monotonic clock: the candidate that fits is
 * the one (HZ values differ by >= 50 a second, the clocks by a few ticks).
 */
static __always_inline __u64 tt_hz(void)
{
	static const __u32 cands[] = {100, 250, 300, 1000, 1024, 1200, 24, 48, 128, 512, 864};
	__u64 hz = hz_found, j, ns, best = 0, best_d = ~0ULL;

	if (hz)
		return hz;
	j = bpf_jiffies64();
	ns = bpf_ktime_get_ns();
	for (int i = 0; i < (int)(sizeof(cands) / sizeof(cands[0])); i++) {
		__u64 c = cands[i], init = (__u32)(-300 * (__s32)c), want = ns / 1000 * c / 1000000;
		__u64 got = j - init, d = got > want ? got - want : want - got;

		if (d < best_d) {
			best_d = d;
			best = c;
		}
	}
	hz_found = best;
	return best;
}

/* Nanoseconds of jiffies ago (u32 jiffies as tcp_jiffies32), never past now. */
static __always_inline __u64 tt_jiffies_ago_ns(__u32 then, __u32 now_j, __u64 now, __u64 hz)
{
	__u64 ago = (__u64)(__u32)(now_j - then) * (TT_NSEC_PER_SEC / hz);

	return ago < now ? now - ago : 0;
}

/* The kernel's TCP state as tcp_get_info() computes the tcpi_ fields (net/ipv4/tcp.c). */
static __always_inline void read_sample(const struct sock *sk, struct tt_ev_sample *s, __u32 now_j,
					__u64 hz, int direct)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 rate, intv, stats[TT_CHRONO_MAX] = {}, total = 0;
	__u32 ctype = BPF_CORE_READ_BITFIELD_PROBED(tp, chrono_type);
	__u32 cstart = TT_SK_READ(direct, tp, chrono_start);
	unsigned long pacing = TT_SK_READ(direct, sk, sk_pacing_rate);

	s->srtt_us = TT_SK_READ(direct, tp, srtt_us) >> 3;
	s->min_rtt_us = TT_SK_READ(direct, tp, rtt_min.s[0].v);
	s->rttvar_us = TT_SK_READ(direct, tp, mdev_us) >> 2;
	s->cwnd = TT_SK_READ(direct, tp, snd_cwnd);
	s->ssthresh = TT_SK_READ(direct, tp, snd_ssthresh);
	/* tcp_packets_in_flight() */
	s->in_flight = TT_SK_READ(direct, tp, packets_out) -
		       (TT_SK_READ(direct, tp, sacked_out) + TT_SK_READ(direct, tp, lost_out)) +
		       TT_SK_READ(direct, tp, retrans_out);
	s->lost = TT_SK_READ(direct, tp, lost_out);
	s->reordering = TT_SK_READ(direct, tp, reordering);
	s->dsack_dups = TT_SK_READ(direct, tp, dsack_dups);
	s->snd_wnd = TT_SK_READ(direct, tp, snd_wnd);
	s->rcv_wnd = TT_SK_READ(direct, tp, rcv_wnd);
	s->app_limited = BPF_CORE_READ_BITFIELD_PROBED(tp, rate_app_limited);
	s->pacing_rate = pacing != ~0UL ? pacing : ~0ULL;
	/* tcp_compute_delivery_rate() */
	rate = TT_SK_READ(direct, tp, rate_delivered);
	intv = TT_SK_READ(direct, tp, rate_interval_us);
	if (rate && intv)
		s->delivery_rate =
		    rate * TT_SK_READ(direct, tp, mss_cache) * TT_USEC_PER_SEC / intv;
	/* tcp_get_info_chrono_stats() */
	for (int i = 1; i < TT_CHRONO_MAX; i++) {
		stats[i] = BPF_CORE_READ(tp, chrono_stat[i - 1]); /* an index: probed */
		if (i == (int)ctype)
			stats[i] += (__u32)(now_j - cstart);
		stats[i] *= TT_USEC_PER_SEC / hz;
		total += stats[i];
	}
	s->busy_us = total;
	s->rwnd_limited_us = stats[TT_CHRONO_RWND_LIMITED];
	s->sndbuf_limited_us = stats[3];
}

/* FNV-1a over the sample's words: what tells a pass the state changed. */
static __always_inline __u64 sample_hash(const struct tt_ev_sample *s)
{
	const __u64 *w = (const __u64 *)s;
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < (int)(sizeof(*s) / sizeof(__u64)); i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h | 1; /* 0: no sample written yet */
}

/*
 * A SAMPLE if the state changed since the last one written; a full ring buffer leaves the
 * change for the next pass (or, at the close, counts it lost). The close's sample, written at
 * the close's very time, leaves out the srtt (0: the close carries it; readers take it from
 * there) and the pacing rate (0: the rate further sending would be paced at, where none
 * follows), the costliest fields of a short connection's only sample: with them, the capture
 * of 500 short HTTP fetches grew by a third (docs/BENCHMARKS.md).
 */
static __always_inline void emit_sample(const struct sock *sk, struct sk_st *st, __u32 now_j,
					__u64 hz, __u64 now, int final, int direct)
{
	struct tt_ev_sample s = {};
	struct tt_event *e;
	__u64 h, pacing;

	read_sample(sk, &s, now_j, hz, direct);
	pacing = s.pacing_rate;
	s.pacing_rate = 0;
	h = sample_hash(&s);
	if (h == st->sample_hash && (final || pacing == st->sample_pacing))
		return;
	e = final ? ev_new(TT_EV_SAMPLE, st->id, st->pid, st->tid, 0, now)
		  : pass_try_new(TT_EV_SAMPLE, st->id, st->pid, st->tid, now);
	if (!e)
		return;
	st->sample_hash = h;
	if (!final)
		st->sample_pacing = s.pacing_rate = pacing;
	else
		s.srtt_us = 0; /* the close, at the same time, carries it */
	e->u.sample = s;
	ev_send(e);
}

static __always_inline void emit_stall(const struct sk_st *st, __u8 side, __u8 phase, __u64 ts,
				       __u64 start)
{
	struct tt_event *e = ev_new(TT_EV_STALL, st->id, st->pid, st->tid, 0, ts);

	if (!e)
		return;
	e->u.stall.side = side;
	e->u.stall.phase = phase;
	e->u.stall.dur_us = ts > start ? (ts - start) / 1000 : 0;
	ev_send(e);
}

/*
 * Zero-window stalls, as a sampling pass sees them (no program on the data path):
 * - local: the window we advertised last is zero (tp->rcv_wnd, what TCPToZeroWindowAdv
 *   counts). Start: the last data received (icsk_ack.lrcvtime), which filled the window:
 *   exact to a jiffy. End: data received since (it came after our window update, within
 *   one RTT of it), else the pass that saw the window open (within one pass interval).
 * - peer: the peer's window is zero while we have data not sent. Start: the last data
 *   segment we sent (tp->lsndtime; zero-window probes carry none): to a jiffy and one RTT.
 *   End: the pass that saw the window open or nothing left to send (one pass interval).
 * A stall shorter than a pass interval can be missed. final: the close ends what goes on.
 */
static __always_inline void track_stalls(const struct sock *sk, struct sk_st *st, __u32 now_j,
					 __u64 hz, __u64 now, int final, int direct)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 end;
	__u32 lrcv;
	int local, peer;

	lrcv = TT_SK_READ(direct, (const struct inet_connection_sock *)sk, icsk_ack.lrcvtime);
	local = !final && TT_SK_READ(direct, tp, rcv_wnd) == 0;
	peer = !final && TT_SK_READ(direct, tp, snd_wnd) == 0 &&
	       TT_SK_READ(direct, tp, write_seq) != TT_SK_READ(direct, tp, snd_nxt);
	if (!st->stall_local_start && local) {
		st->stall_local_start = tt_jiffies_ago_ns(lrcv, now_j, now, hz);
		st->stall_local_lrcv = lrcv;
		emit_stall(st, TT_STALL_LOCAL, TT_STALL_BEGIN, now, st->stall_local_start);
	} else if (st->stall_local_start && !local) {
		end = now;
		if (lrcv != st->stall_local_lrcv) {
			__u64 got = tt_jiffies_ago_ns(lrcv, now_j, now, hz);

			if (got > st->stall_local_start)
				end = got;
		}
		emit_stall(st, TT_STALL_LOCAL, TT_STALL_END, end, st->stall_local_start);
		st->stall_local_start = 0;
	}
	if (!st->stall_peer_start && peer) {
		st->stall_peer_start =
		    tt_jiffies_ago_ns(TT_SK_READ(direct, tp, lsndtime), now_j, now, hz);
		emit_stall(st, TT_STALL_PEER, TT_STALL_BEGIN, now, st->stall_peer_start);
	} else if (st->stall_peer_start && !peer) {
		emit_stall(st, TT_STALL_PEER, TT_STALL_END, now, st->stall_peer_start);
		st->stall_peer_start = 0;
	}
}

/* A sampling pass's or the close's look at the connection's TCP state, at boot time now. */
static __always_inline void tcp_look(const struct sock *sk, struct sk_st *st, __u64 now, int final,
				     int direct)
{
	__u64 hz = tt_hz();
	__u32 now_j = (__u32)bpf_jiffies64();

	if (!hz)
		return;
	track_stalls(sk, st, now_j, hz, now, final, direct);
	emit_sample(sk, st, now_j, hz, now, final, direct);
}

/* ------------------------------------------------------------ the close */

/*
 * Why a TCP connection is entering CLOSE (tcp_sock.bpf.h, fail_reason_of()): its sk_err, or
 * where the application took that (SO_ERROR after a connect() with a timeout, a read) before it
 * closed the socket, the error tt_sk_error saw reported last.
 */
static __always_inline __u8 tcp_fail_reason(const struct sock *sk, const struct sk_st *st, int old)
{
	int err = BPF_CORE_READ(sk, sk_err);

	return fail_reason_of(sk, err ? err : st->last_err, old);
}

/*
 * The last words of a TCP connection: its final counters, from the socket itself.
 * Its tcp_live entry says who writes the close: the program that deletes it (here, once the
 * close is reserved) or the sampling pass (tcp_gone.c: a socket a pass did not find). A close
 * the ring buffer has no room for leaves the entry, with the final counters and as not found
 * by any pass, so the next pass writes the close (inferred) instead of the connection staying
 * open forever.
 */
static __always_inline void tcp_emit_close(const struct sock *sk, struct sk_st *st, __u8 fail)
{
	__u64 now;
	struct tcp_counters c;
	struct tt_event *e;

	if (test_skip_close == TT_SKIP_CLOSE_ALL)
		return;
	/* once: the state change and tcp_destroy_sock may both get here, on two CPUs */
	if (__sync_val_compare_and_swap(&st->open, O_OPEN, O_ENDED) != O_OPEN)
		return;
	clear_unowned(st);
	read_counters(sk, st, &c, 0);
	if (!raw_mode) {
		emit_delta(st, &c, 0);
	} else {
		raw_flush(st, 1);
		raw_totals(st, &c);
	}
	tcp_emit_spurious(sk, st, 0);
	tcp_emit_untold(st, BPF_CORE_READ(sk, __sk_common.skc_state), c.retrans);
	/* the last sample at the close's very time, just before it: a delta of 0 on disk */
	now = bpf_ktime_get_boot_ns();
	tcp_look(sk, st, now, 1, 0);
	e = test_skip_close == TT_SKIP_CLOSE_NOSPACE
		? NULL
		: ev_try_new(TT_EV_CONN_CLOSE, st->id, st->pid, st->tid, 0, now);
	if (!e) {
		struct tt_tcp_live nv = {};

		count_lost();
		/* its namespace stays counted: a pass must walk it to find the socket gone */
		nv.netns = sk_netns(sk);
		live_fill(&nv, st, &c);
		nv.pass = 0; /* no pass found it */
		bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_EXIST);
		__sync_fetch_and_add(&live_changes, 1);
		return;
	}
	e->u.close.tx_bytes = c.acked;
	e->u.close.rx_bytes = c.rcvd;
	e->u.close.tx_pkts = c.segs_out;
	e->u.close.rx_pkts = c.segs_in;
	e->u.close.srtt_us = c.srtt;
	e->u.close.retrans = c.retrans;
	e->u.close.state = TT_TCP_CLOSE;
	e->u.close.fail_reason = fail;
	ns_tcp_add(sk, -1);
	/* gone already: a pass found the socket gone before the kernel ran this (a state change
	 * skipped, tcp_destroy_sock later) and wrote the close */
	if (live_delete(st->id) && st->live) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	ev_send(e);
}

/* ------------------------------------------------------------ lifecycle */

/*
 * The handshake is over (ESTABLISHED from old), measured now, written once the connection is
 * open. A client's: from connect() (CLOSE -> SYN_SENT, before the first SYN) to now, and the
 * SYNs it retransmitted (total_retrans: nothing else was sent yet). A server's child socket
 * is made when the handshake's last ACK arrives, so its own times say nothing: what it holds
 * is the SYN-ACK RTT that tcp_check_req() measured into srtt_us (tcp_synack_rtt_meas(): from
 * the request's first SYN-ACK, snt_synack, to this ACK; with a retransmitted SYN-ACK, from
 * the TCP timestamps, or no sample), and total_retrans, which tcp_create_openreq_child()
 * sets to the request's num_retrans: its SYN-ACKs retransmitted.
 */
static __always_inline void handshake_done(const struct sock *sk, struct sk_st *st, int old)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 now = bpf_ktime_get_boot_ns();

	if (old == TT_TCP_SYN_SENT)
		st->hs_connect_us =
		    st->open_ts && now > st->open_ts ? (now - st->open_ts) / 1000 : 0;
	else
		st->hs_connect_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	st->hs_syn_retrans = BPF_CORE_READ(tp, total_retrans);
	if (old == TT_TCP_SYN_RECV) {
		st->est_ts = now;
		/* its SYN-ACKs are the handshake's, no RETRANS (tcp_rtx_synack() has no hook here)
		 */
		st->retrans_told = st->hs_syn_retrans;
	}
	st->hs = 1;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tt_set_state, const struct sock *sk, int oldstate, int newstate)
{
	struct sk_st *st;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = sk_st_get((struct sock *)sk);
	if (!st)
		return 0;
	take_owner(sk, st);
	if (st->open == O_LISTEN) {
		/* listen() again, or its close: no longer a listener, never a connection */
		if (newstate != TT_TCP_LISTEN) {
			st->open = O_IGNORE;
			clear_unowned(st);
			ns_tcp_add(sk, -1);
		}
		return 0;
	}
	/* process context (close, shutdown): seen even when a later softirq change is skipped */
	if (newstate == TT_TCP_FIN_WAIT1 || newstate == TT_TCP_LAST_ACK) {
		st->fin_sent = 1;
		/* the owner closing it: an accepted socket no sweep has named yet is theirs */
		if (!st->pid_known && (st->open == O_OPEN || st->open == O_WAITPID))
			tcp_attribute(sk, st);
	}
	if (st->open == O_NONE) {
		/* a passive child is cloned from its listener: LISTEN -> SYN_RECV */
		if (newstate == TT_TCP_LISTEN) {
			/* listen(): the caller owns it; sampled from now on */
			if (!st->pid_known)
				own_by_current(st);
			st->open = O_LISTEN;
			ns_tcp_add(sk, 1);
			return 0;
		}
		if (oldstate == TT_TCP_LISTEN && newstate == TT_TCP_CLOSE) {
			st->open = O_IGNORE;
			return 0;
		}
		if (oldstate == TT_TCP_CLOSE && newstate == TT_TCP_SYN_SENT) {
			/* connect(): process context, the caller owns the socket */
			if (!st->pid_known)
				own_by_current(st);
			st->dir = TT_DIR_OUTBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PENDING;
			return 0;
		}
		if (newstate == TT_TCP_SYN_RECV) {
			/* passive open, softirq: the owner is whoever accept()s it */
			st->dir = TT_DIR_INBOUND;
			st->open_ts = bpf_ktime_get_boot_ns();
			st->open = O_PASSIVE;
			tcp_try_open(sk, st, newstate, 0);
			return 0;
		}
		if (oldstate == TT_TCP_SYN_RECV) {
			st->dir = TT_DIR_INBOUND;
		} else {
			tcp_preexisting(sk, st);
			st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND
									: TT_DIR_OUTBOUND;
		}
		tcp_try_open(sk, st, oldstate, newstate == TT_TCP_CLOSE);
	} else if (st->open == O_PASSIVE && newstate == TT_TCP_CLOSE &&
		   !BPF_CORE_READ((const struct tcp_sock *)sk, fastopen_rsk)) {
		/*
		 * A passive child made at the handshake's last ACK goes on to ESTABLISHED at once;
		 * one that closes from SYN_RECV unopened (Linux before 6.18 opens a child at its
		 * next change) and is no Fast Open child was never a connection: the loser of two
		 * CPUs that completed one handshake together (tcp_v4_syn_recv_sock()'s !own_req:
		 * the ACK on one, the first data on the other, a client thread moved between its
		 * connect() and its write), or a child of a listener closed meanwhile. Recorded,
		 * it was a second server end of one connection, with no owner and a local reset
		 * (make vmtest 6.1, an iperf3 run with 3 client ends and 4 server ends).
		 */
		st->open = O_IGNORE;
	} else if (st->open == O_PENDING || st->open == O_PASSIVE) {
		tcp_try_open(sk, st, oldstate, newstate == TT_TCP_CLOSE);
	}
	if (newstate == TT_TCP_ESTABLISHED && !st->hs &&
	    (oldstate == TT_TCP_SYN_SENT || oldstate == TT_TCP_SYN_RECV))
		handshake_done(sk, st, oldstate);
	if (st->open != O_OPEN) {
		if (newstate == TT_TCP_CLOSE && st->open != O_IGNORE) {
			st->open = O_CLOSED;
			clear_unowned(st);
		}
		return 0;
	}
	/* close() after shutdown() sets the state again (FIN_WAIT1/2): no change, no event */
	if (oldstate != newstate)
		emit_state(st, oldstate, newstate, 0);
	if (st->hs == 1)
		emit_handshake(st);
	if (newstate == TT_TCP_CLOSE)
		tcp_emit_close(sk, st, tcp_fail_reason(sk, st, oldstate));
	return 0;
}

/*
 * The kernel does not re-enter a running tracing program on the same CPU: a softirq that
 * closes a socket while tt_set_state runs in process context is skipped. The socket is still
 * destroyed, so its close is recorded here (the skipped runs are reported as LOST too).
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tt_destroy, struct sock *sk)
{
	struct sk_st *st;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (st && st->open == O_OPEN)
		tcp_emit_close(sk, st, tcp_fail_reason(sk, st, -1));
	return 0;
}

/* ------------------------------------------------------------ TCP events */

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tt_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct sk_st *st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	struct tt_event *e;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	__u32 segs;

	if (!st)
		return 0;
	/*
	 * a failed retransmit: none at all (-EBUSY, -ENOMEM: before the count), or counted and
	 * not sent (the next event tells it as untold)
	 */
	if (RETRANS_HAS_ERR && (int)ctx[2])
		return 0;
	take_owner(sk, st);
	if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, state, 0);
	if (st->open != O_OPEN)
		return 0;
	segs = retrans_segs(skb);
	/* the kernel has counted this one's segs already: what is untold before them */
	tcp_emit_untold(st, state,
			BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans) - segs);
	e = ev_new(TT_EV_RETRANS, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return 0;
	e->u.retrans.segs = segs;
	e->u.retrans.state = state;
	e->u.retrans.cause = retrans_cause(sk, state);
	ev_send(e);
	st->retrans_told += segs;
	return 0;
}

static __always_inline int reset(const struct sock *sk, __u8 dir)
{
	struct sk_st *st;
	struct tt_event *e;
	__u8 state;

	if (!sk)
		return 0;
	st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	if (!st)
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	take_owner(sk, st);
	if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, state, 1);
	/*
	 * O_ENDED too: an abortive close() (SO_LINGER 0, unread data) sets TCP_CLOSE, which
	 * writes the close, before tcp_send_active_reset() sends the RST it ends with.
	 */
	if (st->open != O_OPEN && st->open != O_ENDED)
		return 0;
	e = ev_new(TT_EV_RESET, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return 0;
	e->u.reset.dir = dir;
	e->u.reset.state = state;
	ev_send(e);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tt_send_reset, const struct sock *sk)
{
	return reset(sk, TT_RST_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tt_recv_reset, struct sock *sk)
{
	return reset(sk, TT_RST_RECEIVED);
}

/*
 * A packet dropped with a reason (6.0+: the tracepoint's third argument). Not on the
 * send/receive path: kfree_skb fires for drops only (a consumed packet is consume_skb's).
 * NOT_SPECIFIED drops (and anything below it) say nothing and are left in the kernel. The
 * reason is the number; user space names it from this kernel's BTF.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tt_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct sock *sk;
	struct tt_event *e;
	__u64 id = 0;

	if ((__u32)reason <=
	    bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return 0;
	/* a closing socket's queues freed (6.8+): no traffic lost, and one per close */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE) &&
	    (__u32)reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QUEUE_PURGE))
		return 0;
	sk = BPF_CORE_READ(skb, sk);
	if (sk) {
		/* the socket cookie is the connection id, made when the connection was opened */
		__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);

		if (cookie && bpf_map_lookup_elem(&tcp_live, &cookie))
			id = cookie;
	}
	/* a filter (-P, -p, ...) keeps the drops of the connections it records, as it keeps the
	 * process events of their owners: the host's other drops are not what was asked for, and
	 * a busy host's would take the ring buffer from the events that were */
	if (!id && any_filter())
		return 0;
	e = ev_new(TT_EV_DROP, id, 0, 0, 0, 0);
	if (!e)
		return 0;
	e->u.drop.code = reason;
	ev_send(e);
	return 0;
}

/*
 * An error reported on a socket (sk_error_report(): an ICMP error, a reset, a timeout), kept
 * for its close: an application may take it (SO_ERROR, a failed read) and clear sk_err
 * before it closes the socket, which is then the close (tcp_fail_reason()).
 */
SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(tt_sk_error, const struct sock *sk)
{
	struct sk_st *st;
	int err;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	st = bpf_sk_storage_get(&socks, (struct sock *)sk, 0, 0);
	if (!st)
		return 0;
	/* an ICMP error while connect() held the socket is reported as a soft error; a report
	 * with neither set (6.1 reports an ICMP error to a socket connect() holds before it sets
	 * the soft error) keeps what was seen before, and tt_so_error sees the soft one taken */
	err = BPF_CORE_READ(sk, sk_err) ?: BPF_CORE_READ(sk, sk_err_soft);
	if (err)
		st->last_err = err;
	/* a failing connect(): open it while its local port is still set (its close may come
	 * from the application, after the port is released) */
	if (st->open == O_PENDING)
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
	return 0;
}

/*
 * The error an application took with getsockopt(SO_ERROR), which clears it: Python's connect()
 * with a timeout, and any poll()-then-SO_ERROR connect, takes an ICMP error this way. On 6.1
 * an ICMP that answers the SYN while connect() still holds the socket leaves a soft error no
 * tracepoint sees (tt_sk_error's report comes before it is set), and the application's close
 * then ends the connection with neither error set: this is the only place it shows.
 */
SEC("cgroup/getsockopt")
int tt_so_error(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct sk_st *st;
	int *val;

	/* a buffer larger than a page is the application's own, untouched (optlen 0 says so;
	 * kernels before 6.5 fail the call with EFAULT if a program leaves it larger) */
	if (ctx->optlen > TT_PAGE_SIZE) {
		ctx->optlen = 0;
		return 1;
	}
	/* a connect's error only: a hard error after it closes the socket at once (the close
	 * reads sk_err), and a soft one of an established connection (a passing ICMP) ends
	 * nothing, so its normal close must not take it for a reason */
	if (ctx->level != SOL_SOCKET || ctx->optname != SO_ERROR || ctx->retval || !sk ||
	    sk->protocol != IPPROTO_TCP || sk->state != TT_TCP_SYN_SENT)
		return 1;
	val = ctx->optval;
	if ((void *)(val + 1) > ctx->optval_end || *val <= 0)
		return 1;
	st = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (st)
		st->last_err = *val;
	return 1;
}

/* ------------------------------------------------------------ iterators */

/* The drops the kernel counted on this socket (sk_drops_read(): 6.18 keeps a UDP socket's in
 * per-NUMA counters, a TCP socket's in sk_drops). */
static __always_inline __u64 sock_drops(const struct sock *sk)
{
	__u64 n = (__u32)BPF_CORE_READ(sk, sk_drops.counter);

	if (bpf_core_field_exists(sk->sk_drop_counters)) {
		struct numa_drop_counters *dc = BPF_CORE_READ(sk, sk_drop_counters);

		if (dc)
			n += (__u32)BPF_CORE_READ(dc, drops0.counter) +
			     (__u32)BPF_CORE_READ(dc, drops1.counter);
	}
	return n;
}

/* A listener's queue and drops, written when first seen and when one of them changed. */
static __always_inline void listener_sample(const struct sock *sk, struct sk_st *st)
{
	__u32 q = BPF_CORE_READ(sk, sk_ack_backlog);
	__u32 max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	__u64 drops = sock_drops(sk);
	struct tt_event *e;
	struct tuple t;

	/* the owner too: a listener made before the capture is named by the sweep after */
	if (st->l_seen && q == st->l_queue && max == st->l_max && drops == st->l_drops &&
	    st->pid == st->l_pid)
		return;
	read_tuple(sk, &t);
	if (!net_match(IPPROTO_TCP, t.family, t.lport, 0))
		return;
	if (proc_filter_active() &&
	    (!st->pid_known || !proc_match(st->pid, st->comm, st->cgroup_id)))
		return;
	e = ev_new(TT_EV_LISTENER, 0, st->pid, st->tid, 0, 0);
	if (!e)
		return; /* counted lost; the next pass tries again */
	__builtin_memcpy(e->u.listener.laddr, t.laddr, TT_ADDR_LEN);
	e->u.listener.lport = t.lport;
	e->u.listener.family = t.family;
	e->u.listener.netns = sk_netns(sk);
	e->u.listener.accept_queue = q;
	e->u.listener.accept_queue_max = max;
	e->u.listener.drops = drops;
	__builtin_memcpy(e->u.listener.comm, st->comm, TT_COMM_LEN);
	ev_send(e);
	st->l_queue = q;
	st->l_max = max;
	st->l_drops = drops;
	st->l_pid = st->pid;
	st->l_seen = 1;
}

/*
 * An open connection nothing happened to since the pass that last read it: its pass is stored
 * in its tcp_live entry (tcp_gone.c looks for the sockets no pass found) and nothing else is
 * done. At 100 000 mostly idle connections the socket storage lookup, a cache miss a socket,
 * was a quarter of the pass (docs/BENCHMARKS.md); tcp_live's entry, looked up anyway, holds
 * the segment counts the last pass read. Idle means, in the socket itself:
 * - no segment in or out and no retransmit since: every byte acked or received comes in a
 *   segment, and so does every change of the sample's fields but the chrono timers (below);
 *   a state change that moves no segment is the state tracepoint's, not the pass's;
 * - no chrono timer running (busy, window- or buffer-limited time grows by itself);
 * - neither zero-window condition (a stall's begin and end are the full path's);
 * - an owner known (the unowned count the sweep waits on) and none waiting in `owners`;
 * - not --raw (a pass flushes the calls staged since the last record);
 * - no record found the ring buffer full since the last pass began: a delta, sample or
 *   retransmit a pass could not write is left for the next pass, which must look.
 * Anything else takes the full path, as does an entry reused by another connection meanwhile
 * (its counters differ, as live_note() says) or left by a close for the next pass (pass 0).
 */
static __always_inline int tcp_idle_since_last_pass(const struct tcp_sock *tp)
{
	const struct sock *sk = (const struct sock *)tp;
	__u64 cookie = sk->__sk_common.skc_cookie.counter, key = (__u64)sk;
	struct tt_tcp_live *v;

	if (raw_mode || !cookie || ring_short_pass + 1 >= cur_pass)
		return 0;
	v = bpf_map_lookup_elem(&tcp_live, &cookie);
	if (!v || !v->pass || !v->pid)
		return 0;
	if (v->segs_out != tp->segs_out || v->segs_in != tp->segs_in ||
	    v->retrans != tp->total_retrans || BPF_CORE_READ_BITFIELD(tp, chrono_type))
		return 0;
	if (!tp->rcv_wnd || (!tp->snd_wnd && tp->write_seq != tp->snd_nxt))
		return 0;
	if (owners_n && bpf_map_lookup_elem(&owners, &key))
		return 0;
	if (v->pass != cur_pass) {
		v->pass = cur_pass;
		__sync_fetch_and_add(&pass_found, 1);
	}
	return 1;
}

/* Sampling pass over the TCP sockets of this netns: deltas, TCP state and stalls that changed. */
SEC("iter/tcp")
int tt_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sock *sk;
	struct sk_st *st;
	struct tcp_counters c;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	if (tcp_idle_since_last_pass(tp))
		return 0;
	sk = (struct sock *)tp;
	st = sk_st_get(tp);
	if (!st)
		return 0;
	take_owner(sk, st);
	if (st->open == O_NONE)
		tcp_first_sight(sk, st);
	else if (st->open == O_PENDING || st->open == O_PASSIVE)
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
	if (st->open == O_LISTEN) {
		listener_sample(sk, st);
		return 0;
	}
	if (st->open != O_OPEN)
		return 0;
	/*
	 * Owner unknown, and accept() has given it a file since the last sweep walked the file
	 * tables: user space sweeps again. A sweep that ran while it waited in the accept queue
	 * could not name it, and its close may be one no owner is seen making (a reset).
	 */
	if (!st->pid_known) {
		if (!st->filed_pass && BPF_CORE_READ(sk, sk_socket))
			st->filed_pass = cur_pass;
		if (st->filed_pass > sweep_pass)
			__sync_fetch_and_add(&n_filed_new, 1);
	}
	/* sk is the whole tcp_sock here: its fields are read in place */
	read_counters(sk, st, &c, 1);
	if (!raw_mode) {
		live_note(sk, st, &c, 0);
		emit_delta(st, &c, 1);
	} else {
		raw_flush(st, 0); /* calls made since the socket's last record */
		raw_totals(st, &c);
		live_note(sk, st, &c, 0);
	}
	tcp_emit_spurious(sk, st, 1);
	tcp_emit_untold(st, sk->__sk_common.skc_state, c.retrans);
	/* a SAMPLE carries srtt and rttvar: no RTT event (older captures have those) */
	tcp_look(sk, st, bpf_ktime_get_boot_ns(), 0, 1);
	return 0;
}

/* Owners only, between samples: what a process filter waits for (see owners_wanted). */
SEC("iter/tcp")
int tt_iter_owner(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct sk_st *st;
	__u64 key;

	if (!skc || !owners_n)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	/* the few sockets with an owner waiting, not the storage of every one */
	key = (__u64)tp;
	if (!bpf_map_lookup_elem(&owners, &key))
		return 0;
	st = bpf_sk_storage_get(&socks, tp, 0, 0);
	if (st)
		take_owner((struct sock *)tp, st);
	return 0;
}
