/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tcp.bpf.c shares with the per-call hooks of udp.bpf.c, which see TCP sockets too under
 * --raw: a TCP connection's first sight, its opening and its owner, the counters it is opened
 * with, and its --raw sums. A header because a program's helpers are inlined from its own file
 * (a global BPF function would be verified apart, and differently by each kernel). The rest of
 * the TCP logic (close, samples, stalls) is tcp.bpf.c's.
 */
#ifndef TT_TCP_SOCK_BPF_H
#define TT_TCP_SOCK_BPF_H

#include "maps.bpf.h"
#include "emit.bpf.h"
#include "filter.bpf.h"
#include "sock.bpf.h"
#include "tt_tcp_payload.h"

/* One call in a socket's --raw sums (calls << 40 | bytes). A slice holds far fewer than
 * 2^23 calls or 2^39 bytes, unless the ring buffer stays full: then the sums are written
 * (or counted lost) before they overflow. */
#define TT_RAW_CALL (1ULL << 40)
static __always_inline int tt_raw_near_full(__u64 sum)
{
	return sum >= (1ULL << 63) || (sum & (TT_RAW_CALL - 1)) >= (1ULL << 39);
}

/*
 * --raw: the TCP calls a socket made since its last record, as one TRAFFIC record stamped with
 * the last of those calls. With a full ring buffer the sums stay for the next record (nothing
 * is lost), unless this is their last chance (final: the socket's close, or sums about to
 * overflow): then they are counted lost like any record.
 */
static __always_inline void raw_flush(struct sk_st *st, int final)
{
	struct tt_event *e;
	__u64 tx, rx;

	if (!st->raw_tx && !st->raw_rx)
		return;
	/* a call was summed, so raw_call_ts is set (ev_try_new reads no clock) */
	e = ev_try_new(TT_EV_TRAFFIC, st->id, st->pid, st->tid, TT_F_RAW, st->raw_call_ts);
	if (!e && !final)
		return;
	tx = __sync_lock_test_and_set(&st->raw_tx, 0);
	rx = __sync_lock_test_and_set(&st->raw_rx, 0);
	/* after the reservation: a close that reads these totals comes after this record */
	__sync_fetch_and_add(&st->raw_tx_done, tx & (TT_RAW_CALL - 1));
	__sync_fetch_and_add(&st->raw_rx_done, rx & (TT_RAW_CALL - 1));
	if (!e) {
		count_lost();
		return;
	}
	/* stamped again after the take: a call stores its time before its add, so a call taken
	 * here is never newer than the stamp (another CPU's call may be made meanwhile) */
	e->ts_ns = st->raw_call_ts;
	e->u.traffic.tx_bytes = tx & (TT_RAW_CALL - 1);
	e->u.traffic.rx_bytes = rx & (TT_RAW_CALL - 1);
	e->u.traffic.tx_calls = tx / TT_RAW_CALL;
	e->u.traffic.rx_calls = rx / TT_RAW_CALL;
	ev_send(e);
}

static __always_inline void ns_tcp_add(const struct sock *sk, __s64 d)
{
	__u32 ns = sk_netns(sk);
	__s64 *n = bpf_map_lookup_elem(&ns_tcp, &ns);

	if (!n && d > 0) {
		if (bpf_map_update_elem(&ns_tcp, &ns, &d, BPF_NOEXIST) == 0)
			return;
		n = bpf_map_lookup_elem(&ns_tcp, &ns); /* made by another CPU meanwhile */
		if (!n)
			ns_tcp_full = 1;
	}
	if (n)
		__sync_fetch_and_add(n, d);
}

/*
 * A field of a TCP socket, in place (direct) where the program holds it as a whole tcp_sock (the
 * sampling iterator's, from bpf_skc_to_tcp_sock(): a plain load, which the verifier guards),
 * else through bpf_probe_read_kernel() (a tracepoint's struct sock, past whose end the verifier
 * lets no load go). A probe read is a helper call: the pass reads ~40 fields of every socket,
 * and those calls were a third of its program's time. direct is a constant where the readers
 * are inlined, so each copy keeps one form.
 */
#define TT_SK_READ(direct, p, ...) ((direct) ? (p)->__VA_ARGS__ : BPF_CORE_READ(p, __VA_ARGS__))

struct tcp_counters {
	__u64 acked, rcvd;
	__u32 segs_out, segs_in, srtt, rttvar, retrans;
};

/* These states are only reached by sending a FIN. */
static __always_inline int tcp_state_fin_sent(__u8 state)
{
	return state == TT_TCP_FIN_WAIT1 || state == TT_TCP_FIN_WAIT2 || state == TT_TCP_CLOSING ||
	       state == TT_TCP_LAST_ACK;
}

/*
 * Payload bytes acked and received from the kernel's counters of sequence space
 * (tt_tcp_payload.h, sock_diag's rule too): our SYN out of an active open's (our_syn); our FIN,
 * where one was sent (fin), once acked, when nothing is left; the peer's, where tcp_fin() ran
 * (SOCK_DONE). Shared by the BPF source's counters and the sock_diag fallback's close
 * (tcp_fallback.bpf.c).
 */
static __always_inline void tcp_payload(const struct sock *sk, int fin, int our_syn, __u64 *acked,
					__u64 *rcvd, int direct)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	unsigned long flags = TT_SK_READ(direct, sk, __sk_common.skc_flags);

	*acked = tt_tcp_payload_acked(TT_SK_READ(direct, tp, bytes_acked), our_syn,
				      fin && TT_SK_READ(direct, tp, snd_una) ==
						 TT_SK_READ(direct, tp, write_seq));
	*rcvd = tt_tcp_payload_rcvd(
	    TT_SK_READ(direct, tp, bytes_received),
	    !!(flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))));
}

/* The counters, in payload bytes. At inet_sock_set_state the socket still has its old state. */
static __always_inline void read_counters(const struct sock *sk, const struct sk_st *st,
					  struct tcp_counters *c, int direct)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u8 state = TT_SK_READ(direct, sk, __sk_common.skc_state);

	/* at tcp_destroy_sock the state is CLOSE already: what we saw of the socket tells */
	tcp_payload(sk, tcp_state_fin_sent(state) || (state == TT_TCP_CLOSE && st->fin_sent),
		    st->dir == TT_DIR_OUTBOUND, &c->acked, &c->rcvd, direct);
	c->segs_out = TT_SK_READ(direct, tp, segs_out);
	c->segs_in = TT_SK_READ(direct, tp, segs_in);
	c->srtt = TT_SK_READ(direct, tp, srtt_us) >> 3;
	c->rttvar = TT_SK_READ(direct, tp, mdev_us) >> 2;
	c->retrans = TT_SK_READ(direct, tp, total_retrans);
}

static __always_inline void mark_unowned(struct sk_st *st)
{
	if (__sync_val_compare_and_swap(&st->unowned, 0, 1) == 0)
		__sync_fetch_and_add(&n_unowned, 1);
}

static __always_inline void clear_unowned(struct sk_st *st)
{
	if (__sync_lock_test_and_set(&st->unowned, 0))
		__sync_fetch_and_add(&n_unowned, -1);
}

/* tcp_live's entries counted as they come and go (live_n above) */
static __always_inline void live_added(void)
{
	__sync_fetch_and_add(&live_n, 1);
	__sync_fetch_and_add(&live_changes, 1);
}

/* 0 if this deleted the entry, as bpf_map_delete_elem() */
static __always_inline long live_delete(__u64 id)
{
	long err = bpf_map_delete_elem(&tcp_live, &id);

	if (!err) {
		__sync_fetch_and_add(&live_n, -1);
		__sync_fetch_and_add(&live_changes, 1);
	}
	return err;
}

static __always_inline void live_fill(struct tt_tcp_live *v, const struct sk_st *st,
				      const struct tcp_counters *c)
{
	v->pass = cur_pass;
	v->acked = c->acked;
	v->rcvd = c->rcvd;
	v->segs_out = c->segs_out;
	v->segs_in = c->segs_in;
	v->srtt = c->srtt;
	v->retrans = c->retrans;
	v->pid = st->pid;
	v->tid = st->tid;
}

/*
 * What a sampling pass (create 0) or the open (1) read of a connection, for tcp_gone.c; 1 if
 * this made the entry. What changed replaces the entry as a whole value (BPF_EXIST), never
 * through a looked-up element: a close may delete that element meanwhile and another
 * connection's open reuse it (a preallocated hash map hands a freed element out again at once).
 * Only the pass of an entry that holds what the pass read already (an idle connection: the
 * common case, where a replacement was a fifth of the pass's program) is stored in place; an
 * element reused meanwhile holds another connection's counters, so the comparison fails, or
 * it was made during this pass and holds this pass already, or it is a close's left to the
 * next pass (pass 0), which is then written one pass later.
 */
static __always_inline int live_note(const struct sock *sk, struct sk_st *st,
				     const struct tcp_counters *c, int create)
{
	struct tt_tcp_live nv = {}, *old;
	long err;

	nv.netns = sk_netns(sk);
	live_fill(&nv, st, c);
	if (!create) {
		old = bpf_map_lookup_elem(&tcp_live, &st->id);
		if (!old)
			return 0;
		if (old->pass != nv.pass)
			__sync_fetch_and_add(&pass_found, 1);
		if (old->acked == nv.acked && old->rcvd == nv.rcvd &&
		    old->segs_out == nv.segs_out && old->segs_in == nv.segs_in &&
		    old->srtt == nv.srtt && old->retrans == nv.retrans && old->netns == nv.netns &&
		    old->pid == nv.pid && old->tid == nv.tid && old->pass)
			old->pass = nv.pass;
		else
			bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_EXIST);
		return 0;
	}
	err = bpf_map_update_elem(&tcp_live, &st->id, &nv, BPF_NOEXIST);
	if (!err) {
		live_added();
		st->live = 1;
		return 1;
	}
	if (err != -EEXIST) /* made by another CPU opening it at the same time: not full */
		__sync_fetch_and_add(&tcp_live_full, 1);
	return 0;
}

/* The handshake measured at ESTABLISHED, once (a state change and a late open may race). */
static __always_inline void emit_handshake(struct sk_st *st)
{
	struct tt_event *e;

	if (__sync_val_compare_and_swap(&st->hs, 1, 2) != 1)
		return;
	e = ev_new(TT_EV_HANDSHAKE, st->id, st->pid, st->tid, 0, 0);
	if (!e)
		return;
	e->u.handshake.connect_us = st->hs_connect_us;
	e->u.handshake.syn_retrans = st->hs_syn_retrans;
	ev_send(e);
}

/* Whether an owners entry names this socket: the entry is keyed by the socket's address, and a
 * socket freed at that address since (another connection) has other ports. */
static __always_inline int owner_of(const struct owner *o, const struct sock *sk)
{
	return o->lport == BPF_CORE_READ(sk, __sk_common.skc_num) &&
	       o->rport == bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/*
 * With the accept tracepoints and no process filter (--accept-wait; with a filter the accept
 * announces nothing, the open waits for its owner instead): an accept() on another CPU
 * between this open's cookie (st->id, which it reads) and the open's event announces the
 * owner first, and a reader drops a CONN_PROC that comes before its connection. The accept
 * stores the owner before it reserves its CONN_PROC: one not stored yet comes after this
 * open in the ring buffer; one stored is said again here, after the open. The entry stays
 * for take_owner, which also times the accept.
 */
static __always_inline void owner_after_open(const struct sock *sk, struct sk_st *st)
{
	__u64 key = (__u64)sk;
	struct owner *o;

	if (st->pid_known || !owners_n)
		return;
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o || !o->announced || !owner_of(o, sk))
		return;
	own_by(st, o);
	clear_unowned(st);
	emit_proc(st->id, st);
}

/*
 * Decide whether a TCP connection is reported, and report its opening.
 * state: the connection's state at first sight.
 */
static __always_inline void tcp_try_open(const struct sock *sk, struct sk_st *st, __u8 state,
					 int closing)
{
	__u64 cur = st->open;
	struct tuple t;
	__u16 flags = 0;
	struct tcp_counters c;
	int made;

	if (cur != O_NONE && cur != O_PENDING && cur != O_WAITPID && cur != O_PASSIVE)
		return;
	read_tuple(sk, &t);
	/* connect() sets SYN_SENT before it picks the local port */
	if (cur == O_PENDING && !t.lport && !closing)
		return;
	/* a passive child enters SYN_RECV before its ports and addresses are copied (6.1, 6.12) */
	if (cur == O_PASSIVE && !t.rport && !closing)
		return;
	if (!net_match(IPPROTO_TCP, t.family, t.lport, t.rport)) {
		st->open = O_DROP;
		return;
	}
	if (proc_filter_active()) {
		if (!st->pid_known) {
			st->open = O_WAITPID;
			mark_unowned(st);
			return;
		}
		if (!proc_match(st->pid, st->comm, st->cgroup_id)) {
			st->open = O_DROP;
			return;
		}
	}
	/*
	 * Baselines and the tcp_live entry before the connection is open to the other programs: a
	 * pass's exchange or a close (on another CPU: --raw's calls hold no socket lock) that sees
	 * it open finds them set. Traffic before the capture began is not the capture's.
	 */
	if (!st->id)
		st->id = bpf_get_socket_cookie((struct sock *)sk);
	read_counters(sk, st, &c, 0);
	st->acked = st->preexisting ? c.acked : 0;
	st->rcvd = st->preexisting ? c.rcvd : 0;
	st->segs_out = st->preexisting ? c.segs_out : 0;
	st->segs_in = st->preexisting ? c.segs_in : 0;
	made = live_note(sk, st, &c, 1);
	if (__sync_val_compare_and_swap(&st->open, cur, O_OPEN) != cur) {
		/* closed meanwhile without an open: no entry for tcp_gone.c to close */
		if (made && st->open != O_OPEN)
			live_delete(st->id);
		return;
	}
	ns_tcp_add(sk, 1);
	if (st->preexisting)
		flags |= TT_F_PREEXISTING;
	if (!st->pid_known) {
		flags |= TT_F_PID_UNKNOWN;
		mark_unowned(st);
	} else {
		clear_unowned(st);
	}
	if (cur == O_PENDING) {
		emit_open(sk, st, &t, IPPROTO_TCP, TT_TCP_SYN_SENT, st->open_ts, flags);
		emit_state(st, TT_TCP_CLOSE, TT_TCP_SYN_SENT, st->open_ts);
	} else if (cur == O_PASSIVE) {
		emit_open(sk, st, &t, IPPROTO_TCP, TT_TCP_SYN_RECV, st->open_ts, flags);
	} else {
		emit_open(sk, st, &t, IPPROTO_TCP, state, 0, flags);
	}
	/* established while it waited for its owner */
	if (st->hs == 1)
		emit_handshake(st);
	if (cur == O_PASSIVE || cur == O_NONE)
		owner_after_open(sk, st);
}

/*
 * The owner of a socket is now in st: open what waited for it, or tell user
 * space (unless the accept tracepoint did already: announce = 0).
 */
static __always_inline void tcp_owned(const struct sock *sk, struct sk_st *st, int announce)
{
	clear_unowned(st);
	if (st->open == O_WAITPID) {
		tcp_try_open(sk, st, BPF_CORE_READ(sk, __sk_common.skc_state), 0);
		return;
	}
	if (st->open != O_OPEN || !announce)
		return;
	emit_proc(st->id, st);
}

/* The caller of this send/recv owns the socket. */
static __always_inline void tcp_attribute(const struct sock *sk, struct sk_st *st)
{
	own_by_current(st);
	tcp_owned(sk, st, 1);
}

/* Apply what the accept tracepoint left for this socket, if anything. */
static __always_inline void take_owner(const struct sock *sk, struct sk_st *st)
{
	__u64 key = (__u64)sk;
	struct owner *o, own;

	if (!owners_n)
		return;
	o = bpf_map_lookup_elem(&owners, &key);
	if (!o)
		return;
	own = *o;
	/* the one that deletes the entry applies it: a program on another CPU that found it too
	   (the socket's state change beside a sampling pass) lost the race and leaves it, so its
	   CONN_PROC and ACCEPT are not told twice */
	if (bpf_map_delete_elem(&owners, &key))
		return;
	__sync_fetch_and_add(&owners_n, -1);
	if (!owner_of(&own, sk))
		return; /* a socket freed at that address since: not this one's owner */
	if (own.swept && st->pid_known)
		return; /* a sweep finds any holder (a forked child too): the known owner stays */
	own_by(st, &own);
	tcp_owned(sk, st, !own.announced);
	/* accept() returned it: how long it waited in the accept queue since ESTABLISHED */
	if (own.accept_ts && st->est_ts && own.accept_ts >= st->est_ts && st->open == O_OPEN) {
		struct tt_event *e = ev_new(TT_EV_ACCEPT, st->id, st->pid, st->tid, 0, 0);
		__u64 wait = own.accept_ts - st->est_ts;

		st->est_ts = 0; /* once */
		if (e) {
			e->u.accept.wait_us = wait / 1000;
			ev_send(e);
		}
	}
}

/*
 * A socket open before the capture: what its counters said before it is no event of it
 * (duplicates reported, as spurious retransmits; retransmits, as untold ones).
 */
static __always_inline void tcp_preexisting(const struct sock *sk, struct sk_st *st)
{
	st->preexisting = 1;
	if (bpf_core_field_exists(((struct tcp_sock *)0)->dsack_dups))
		st->dsack = BPF_CORE_READ((const struct tcp_sock *)sk, dsack_dups);
	st->retrans_told = BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
}

/* A socket already open but never seen: reported as existing before the capture. */
static __always_inline void tcp_first_sight(const struct sock *sk, struct sk_st *st)
{
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);

	if (state == TT_TCP_LISTEN) {
		/* made before the capture: the sweep at start names its owner */
		if (!st->pid_known)
			mark_unowned(st);
		st->open = O_LISTEN;
		ns_tcp_add(sk, 1);
		return;
	}
	if (state == TT_TCP_CLOSE) {
		st->open = O_IGNORE;
		return;
	}
	tcp_preexisting(sk, st);
	/* a passive child is a copy of its listener, listen()'s backlog included */
	st->dir = BPF_CORE_READ(sk, sk_max_ack_backlog) ? TT_DIR_INBOUND : TT_DIR_OUTBOUND;
	tcp_try_open(sk, st, state, 0);
}

/*
 * Why a TCP connection is entering CLOSE (old: the state it leaves, -1 when not known).
 * The kernel sets sk_err before tcp_done() when the end is an error: tcp_reset()
 * (ECONNREFUSED in SYN_SENT, EPIPE in CLOSE_WAIT, else ECONNRESET), tcp_write_err()
 * (ETIMEDOUT, or the soft error an ICMP left), tcp_v4_err()/tcp_v6_err() in SYN_SENT (the
 * ICMP's errno), tcp_abort() (ECONNABORTED). An abortive close of our own sets no error
 * before CLOSE (tcp_disconnect() sets ECONNRESET after it): it is a CLOSE straight from a
 * synchronized state a normal close never leaves that way (ESTABLISHED, CLOSE_WAIT,
 * SYN_RECV, FIN_WAIT1), and tcp_close() threw away unread data (copied_seq short of
 * rcv_nxt, the peer's FIN not counted) or the socket lingered 0 s. err: the socket's sk_err,
 * or an error reported before that the application took (SO_ERROR clears sk_err). A connect()
 * the application gave up on itself fails nothing here.
 */
static __always_inline __u8 fail_reason_of(const struct sock *sk, int err, int old)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	unsigned long flags;
	__u32 unread;

	/* an ICMP error that came while connect() held the socket is left as a soft error,
	 * which a connect() with a timeout reads, and closes the socket without one */
	switch (err) {
	case 0: break;
	case TT_ECONNREFUSED: return TT_FAIL_REFUSED;
	case TT_ETIMEDOUT: return TT_FAIL_TIMEOUT;
	case TT_ECONNRESET:
	case TT_EPIPE: return TT_FAIL_RESET;
	case TT_ECONNABORTED: return TT_FAIL_LOCAL_RESET;
	case TT_EHOSTUNREACH:
	case TT_ENETUNREACH:
	case TT_EHOSTDOWN:
	case TT_ENETDOWN:
	case TT_ENONET:
	case TT_EPROTO:
	case TT_ENOPROTOOPT:
	case TT_EMSGSIZE:
	case TT_EOPNOTSUPP:
	case TT_EACCES: return TT_FAIL_UNREACHABLE;
	default: return TT_FAIL_NONE;
	}
	if (old == TT_TCP_SYN_RECV)
		return TT_FAIL_LOCAL_RESET;
	if (old != TT_TCP_ESTABLISHED && old != TT_TCP_CLOSE_WAIT && old != TT_TCP_FIN_WAIT1)
		return TT_FAIL_NONE;
	unread = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
	flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if ((flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))) && unread)
		unread--;
	return unread ? TT_FAIL_ABORT : TT_FAIL_LOCAL_RESET;
}

#endif /* TT_TCP_SOCK_BPF_H */
