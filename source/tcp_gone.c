// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TCP connections that closed while the kernel ran none of our programs for it. Under load a
 * kernel may skip a tracing program for a tracepoint hit without counting a miss (seen on a
 * 6.18 build: 197 of 10 000 sockets closed in a burst had their last state changes and their
 * tcp_destroy_sock all unrun, with recursion_misses 0). Every open connection has an entry in
 * the map tcp_live, refreshed by each sampling pass that finds its socket (bpf/tcptop.h); one
 * that a complete pass over its namespace did not find is gone, and is closed here with what
 * the last pass read of it, flagged TT_F_CLOSE_INFERRED.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"
#include "stage_order.h"

#define BATCH 1024 /* entries per lookup: a hash bucket never holds more */

struct gone {
	uint64_t id;
	struct tt_tcp_live v;
};

/* Entries the last pass did not refresh, in namespaces it walked: *out (malloc'd), or -errno. */
static int collect(struct tt_src *s, int fd, struct gone **out, size_t *n_out)
{
	uint64_t keys[BATCH], in = 0, next = 0;
	struct tt_tcp_live *vals = malloc(BATCH * sizeof(*vals));
	struct gone *g = NULL;
	size_t n = 0, cap = 0;
	int first = 1, ret = 0;

	if (!vals)
		return -ENOMEM;
	for (;;) {
		__u32 count = BATCH;
		int done;

		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &next, keys, vals, &count, NULL);
		done = ret < 0 && errno == ENOENT; /* the last batch (count may be > 0) */
		if (ret < 0 && !done) {
			ret = -errno;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			if (vals[i].pass == s->pass || !tt_src_ns_walked(s, vals[i].netns))
				continue;
			if (tt_grow(&g, &cap, n + 1, sizeof(*g), 16)) {
				ret = -ENOMEM;
				goto out;
			}
			g[n].id = keys[i];
			g[n++].v = vals[i];
		}
		if (done) {
			ret = 0;
			break;
		}
		in = next;
		first = 0;
	}
out:
	free(vals);
	if (ret) {
		free(g);
		return ret;
	}
	*out = g;
	*n_out = n;
	return 0;
}

int tt_src_tcp_all_found(const struct tt_src *s, uint64_t changes)
{
	const struct tcptop_bpf__bss *b = s->skel->bss;
	int64_t n = __atomic_load_n(&b->live_n, __ATOMIC_SEQ_CST);

	/*
	 * Each entry is counted found once a pass (its pass set to this one); with no open or
	 * close meanwhile, as many found as there are entries is every one. An open or close
	 * racing the end of the walk can make the counts meet with one entry unfound: that
	 * socket, gone, is found by the next pass, which reads the map.
	 */
	return __atomic_load_n(&b->live_changes, __ATOMIC_SEQ_CST) == changes &&
	       (int64_t)__atomic_load_n(&b->pass_found, __ATOMIC_SEQ_CST) == n;
}

void tt_src_tcp_gone(struct tt_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.tcp_live);
	struct gone *g;
	size_t n;
	int ret;

	/* a batched read of the whole map, a syscall per BATCH entries: long at 200 000 sockets */
	tt_src_copy_begin(s);
	ret = collect(s, fd, &g, &n);
	tt_src_copy_end(s);
	if (ret)
		return;
	for (size_t i = 0; i < n; i++) {
		struct tt_event ev;

		/* the programs' own close, if it came meanwhile, took the entry and wrote its event
		 */
		if (bpf_map_delete_elem(fd, &g[i].id))
			continue;
		__atomic_fetch_add(&s->skel->bss->live_n, -1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&s->skel->bss->live_changes, 1, __ATOMIC_SEQ_CST);
		tt_stage_order_forget(s->order, g[i].id);
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = tt_now_boot_ns();
		ev.kind = TT_EV_CONN_CLOSE;
		ev.flags = TT_F_CLOSE_INFERRED;
		ev.conn_id = g[i].id;
		ev.pid = g[i].v.pid;
		ev.tid = g[i].v.tid;
		ev.u.close.tx_bytes = g[i].v.acked;
		ev.u.close.rx_bytes = g[i].v.rcvd;
		ev.u.close.tx_pkts = g[i].v.segs_out;
		ev.u.close.rx_pkts = g[i].v.segs_in;
		ev.u.close.srtt_us = g[i].v.srtt;
		ev.u.close.retrans = g[i].v.retrans;
		ev.u.close.state = TT_TCP_CLOSE;
		tt_source_emit(s->h, &ev);
	}
	free(g);
}
