// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * UDP flows of the live source. The kernel keeps no byte counters per UDP
 * socket, so BPF sums per flow (map "flows", sums only grow); here each
 * interval the growth since the last report becomes a TRAFFIC event, and
 * flows whose socket is gone (not listed by iter/udp), whose connection was
 * replaced, or whose remote went quiet get their CONN_CLOSE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void flow_event(struct tt_src *s, uint16_t kind, const struct tt_flow_val *v,
		       const struct tt_udp_done *d)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = tt_now_boot_ns();
	ev.conn_id = v->id;
	ev.pid = v->pid;
	ev.kind = kind;
	if (kind == TT_EV_TRAFFIC) {
		ev.u.traffic.tx_bytes = v->tx_bytes - d->tx_bytes;
		ev.u.traffic.rx_bytes = v->rx_bytes - d->rx_bytes;
		ev.u.traffic.tx_pkts = v->tx_pkts - d->tx_pkts;
		ev.u.traffic.rx_pkts = v->rx_pkts - d->rx_pkts;
		/* one call per datagram */
		ev.u.traffic.tx_calls = ev.u.traffic.tx_pkts;
		ev.u.traffic.rx_calls = ev.u.traffic.rx_pkts;
	} else {
		ev.u.close.tx_bytes = v->tx_bytes;
		ev.u.close.rx_bytes = v->rx_bytes;
		ev.u.close.tx_pkts = v->tx_pkts;
		ev.u.close.rx_pkts = v->rx_pkts;
	}
	tt_source_emit(s->h, &ev);
}

static int has_flows(struct tt_src *s, uint64_t ino, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < s->n_udp_ns; i++)
		if (s->udp_ns[i] == (uint32_t)ino)
			return 1;
	return 0;
}

/* The namespaces the flows are in, for the next pass's walk (a new one waits a pass). */
static void note_ns(struct tt_src *s, uint32_t netns, uint32_t *next, size_t *n_next)
{
	if (netns == s->netns)
		return;
	for (size_t i = 0; i < *n_next; i++)
		if (next[i] == netns)
			return;
	if (*n_next < TT_SRC_MAX_NS)
		next[(*n_next)++] = netns;
}

/*
 * Before Linux 5.14 (no BPF_MAP_LOOKUP_AND_DELETE_ELEM for hash maps) an idle flow at its own
 * key is not deleted here: a datagram moving it meanwhile would lose its new flow to the delete.
 * BPF moves it aside (tt_udp_reap_k510, under the lock the datagrams take) and the next flush
 * closes it there, where no datagram looks. -EAGAIN: asked.
 */
static int flow_reap(struct tt_src *s, const struct tt_flow_key *key)
{
	uint32_t zero = 0;
	char pkt[64] = {0}; /* (a test run wants a frame; the program reads none) */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.udp_reap), &zero, key, BPF_ANY) ||
	    bpf_prog_test_run_opts(s->reap_fd, &o))
		return -errno;
	return -EAGAIN;
}

/* Take flow key out of the map, its last sums in *v: 0, or -errno (left in place). */
static int flow_take(struct tt_src *s, int flows, const struct tt_flow_key *key,
		     struct tt_flow_val *v, int idle)
{
	if (!s->no_lookup_delete) {
		if (!bpf_map_lookup_and_delete_elem(flows, key, v))
			return 0;
		if (errno != EINVAL && errno != EOPNOTSUPP && errno != 524 /* ENOTSUPP */)
			return -errno;
		s->no_lookup_delete = 1;
	}
	/*
	 * Read, then deleted: where no program runs any more (halted), or where no datagram
	 * looks (a moved flow's key; a socket gone). An idle flow at its own key is moved by BPF
	 * first where it can be (the sock_diag fallback's _k510 programs); the BPF source on
	 * 5.12 and 5.13 has no such program: a datagram at that moment may be lost, uncounted.
	 */
	if (idle && !key->gen && !s->halted && s->reap_fd >= 0)
		return flow_reap(s, key);
	if (bpf_map_lookup_elem(flows, key, v) || bpf_map_delete_elem(flows, key))
		return -errno;
	return 0;
}

/*
 * Close flow key, found closed when its sums were read as *v: taken out of the map and read in
 * one step (BPF_MAP_LOOKUP_AND_DELETE_ELEM), right where the walk meets it, so that a datagram
 * counted since that read is in the close, not dropped with the entry; one after the delete
 * starts a new flow. A program that found the entry before the delete and adds after it would
 * add to no flow: so a flow is closed only where no datagram comes any more (its socket gone,
 * its key one no datagram looks up) or where BPF counts none (idle past --udp-timeout,
 * TT_SRC_UDP_GRACE_NS ago). Its growth since the last report and its CLOSE
 * are reported from the sums at the delete. 0, or -errno (not closed: it is reported as a live
 * flow, and closed at a later flush).
 */
static int flow_close(struct tt_src *s, int flows, const struct tt_flow_key *key,
		      struct tt_flow_val *v, const struct tt_udp_done *d, int idle)
{
	int ret = flow_take(s, flows, key, v, idle);

	if (ret)
		return ret;
	if (v->verdict != TT_V_PASS)
		return 0;
	if (!s->raw && (v->tx_pkts != d->tx_pkts || v->rx_pkts != d->rx_pkts))
		flow_event(s, TT_EV_TRAFFIC, v, d);
	flow_event(s, TT_EV_CONN_CLOSE, v, d);
	tt_u64map_del(&s->udp_opened, v->id);
	return 0;
}

void tt_src_udp_flush(struct tt_src *s, int opens_read)
{
	int flows = bpf_map__fd(s->skel->maps.flows);
	struct tt_flow_key key;
	size_t n_live = 0, n_later = 0;
	uint64_t t0 = tt_now_boot_ns(), last_t0 = s->udp_last_t0;
	uint64_t grace = s->halted ? 0 : TT_SRC_UDP_GRACE_NS;
	const uint64_t *live = NULL;
	uint32_t next_ns[TT_SRC_MAX_NS];
	size_t n_next = 0;
	int have_live = 0, n;

	/* live sockets first: a flow older than this list and not on it is closed */
	if (s->it_udp) {
		/* in the namespaces that have flows: an idle one costs nothing */
		n = tt_src_run_iter_all(s, s->it_udp, &s->udp_live, &s->udp_live_cap, has_flows,
					NULL);
		if (n >= 0) {
			have_live = 1;
			n_live = (size_t)n / sizeof(uint64_t);
			live = (const uint64_t *)s->udp_live;
			qsort(s->udp_live, n_live, sizeof(uint64_t), cmp_u64);
		}
	}
	/* a flow is deleted where it is met: the next key is taken before, so the walk goes on */
	for (int more = bpf_map_get_next_key(flows, NULL, &key) == 0; more;) {
		struct tt_flow_key next;
		struct tt_flow_val v;
		struct tt_udp_done d = {0}, *done = NULL;
		int closed, idle;

		more = bpf_map_get_next_key(flows, &key, &next) == 0;
		if (bpf_map_lookup_elem(flows, &key, &v))
			goto next;
		note_ns(s, v.netns, next_ns, &n_next);
		/*
		 * Its open not read yet: BPF adds a flow to the map before it writes the open to
		 * the ring buffer, and the last drain may have come between. Nothing of the flow
		 * may go before its open (a reader ignores a TRAFFIC or CLOSE of an unknown id):
		 * it waits for the next flush. Unless the flow was already there at the last
		 * flush and the drain since read the ring buffer to its end: then its open was
		 * lost (a full ring buffer, counted as lost) and it is reported all the same.
		 */
		if (v.verdict == TT_V_PASS) {
			done = tt_u64map_get(&s->udp_opened, v.id);
			if (!done && (v.first_ts >= last_t0 || !opens_read)) {
				n_later++;
				goto next;
			}
			/* (no memory to keep what is reported: nothing is, until a later flush) */
			if (!done && tt_u64map_put(&s->udp_opened, v.id, (void **)&done) < 0)
				goto next;
			d = *done;
		}
		closed = have_live && v.first_ts < t0 && tt_src_ns_walked(s, v.netns) &&
			 !bsearch(&key.cookie, live, n_live, sizeof(uint64_t), cmp_u64);
		/* a remote of an unconnected socket: no end but silence; and without iter/udp
		 * (udp-close missing), whose sockets' ends are not seen, any flow (one being moved
		 * has TT_FLOW_MOVED in last_ts: never idle here) */
		idle = (!v.connected || !s->it_udp) && v.last_ts + s->udp_idle_ns + grace < t0;
		if (idle)
			closed = 1;
		/* a connection that ended (its socket connected elsewhere, or disconnected); a flow
		 * a datagram found idle, moved (last_ts: when) */
		if (v.ended && (!(key.gen & TT_FLOW_GEN_IDLE) || v.last_ts + grace < t0))
			closed = 1;
		if (closed && flow_close(s, flows, &key, &v, &d, idle && !v.ended) == 0)
			goto next;
		if (done) {
			/* kept in place (no update that can fail), then reported */
			done->tx_bytes = v.tx_bytes;
			done->rx_bytes = v.rx_bytes;
			done->tx_pkts = v.tx_pkts;
			done->rx_pkts = v.rx_pkts;
			if (!s->raw && (v.tx_pkts != d.tx_pkts || v.rx_pkts != d.rx_pkts))
				flow_event(s, TT_EV_TRAFFIC, &v, &d);
		}
	next:
		key = next;
	}
	memcpy(s->udp_ns, next_ns, n_next * sizeof(*next_ns));
	s->n_udp_ns = n_next;
	s->udp_last_t0 = t0;
	s->udp_later = n_later;
}
