// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tt_src, the BPF source's API: open (negotiate with the kernel, src_load.c; set up the run
 * loop, src_run.c; walk the connections already open, src_iter.c), the checks after root is
 * dropped, what the capture header says of it, and close. Its ops table is the only way in:
 * the run loop's poll, flush, halt and stop are src_run.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tt_source.h"
#include "tt_util.h"
#include "tcptop.skel.h"
#include "src_int.h"
#include "stage_order.h"
#include "tt_netns.h"

static void bpf_close(struct tt_source *h);
static const struct tt_source_ops bpf_ops;

static int src_open(struct tt_source *h, int assist, char *err, size_t errlen)
{
	const struct tt_source_opts *opts = &h->opts;
	struct tt_src *s;
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
	s->stage_fd = -1;
	s->reap_fd = -1;
	/* test hook: read and delete apart, as before Linux 5.14 (source/udp.c, flow_take) */
	s->no_lookup_delete = getenv("TT_TEST_NO_LOOKUP_DELETE") != NULL;
	s->self_ns_fd = -1;
	s->raw = opts->raw;
	s->assist = assist;
	s->coalesce_ms = opts->coalesce_ms ? opts->coalesce_ms : TT_SOURCE_DEFAULT_COALESCE_MS;
	s->udp_idle_ns =
	    (uint64_t)(opts->udp_idle_ms ? opts->udp_idle_ms : TT_SOURCE_DEFAULT_UDP_IDLE_MS) *
	    1000000;
	ret = tt_src_load(s, opts, err, errlen);
	if (ret)
		goto fail;
	if (assist) {
		int what = 0;

		while (what < TT_ASSIST_N && !tt_src_assist_gives(h, what))
			what++;
		if (what == TT_ASSIST_N) {
			snprintf(err, errlen, "%s", h->caps.why[TT_CAP_PROCS]);
			ret = -ENOENT;
			goto fail;
		}
	}
	ret = tt_src_run_begin(s);
	if (ret) {
		snprintf(err, errlen,
			 ret == -ENOMEM ? "cannot set up the ring buffer"
					: "cannot run the --raw-slice 0 flush: %s",
			 strerror(-ret));
		goto fail;
	}
	/*
	 * Owners of existing sockets first, so that existing connections are attributed (a
	 * sweep that fails leaves them to the sampling passes' sweeps), then every existing
	 * connection, whichever namespace it is in: without them a recording is not one.
	 */
	if (s->it_files)
		tt_src_run_iter(s, s->it_files, NULL, NULL);
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

const char *tt_src_assist_gives(const struct tt_source *h, int what)
{
	static const int cap_of[TT_ASSIST_N] = {
	    [TT_ASSIST_PROCS] = TT_CAP_PROCS,	  [TT_ASSIST_UDP] = TT_CAP_UDP_PKTS,
	    [TT_ASSIST_RETRANS] = TT_CAP_RETRANS, [TT_ASSIST_RESETS] = TT_CAP_RESETS,
	    [TT_ASSIST_CLOSES] = TT_CAP_DESTROY,  [TT_ASSIST_ACCEPT] = TT_CAP_ACCEPT,
	};
	int cap = cap_of[what];

	return h->caps.state[cap] == TT_SOURCE_CAP_OK ? h->caps.why[cap] : NULL;
}

int tt_src_open(struct tt_source *h, char *err, size_t errlen)
{
	return src_open(h, 0, err, errlen);
}

int tt_src_open_assist(struct tt_source *h, char *err, size_t errlen)
{
	return src_open(h, 1, err, errlen);
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
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SOURCE_CAP_MISSING,
				  "cannot enter other network namespaces without root (-Z)");
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

static void bpf_stats(const struct tt_source *h, struct tt_source_stat *st)
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
	tt_src_copy_free(s);
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
	tt_evq_free(&s->closes_held);
	tt_u64map_free(&s->held_ids);
	tt_stage_order_free(s->order);
	free(s);
}

static const struct tt_source_ops bpf_ops = {
    .poll = tt_src_poll,
    .flush = tt_src_flush,
    .halt = tt_src_halt,
    .stop = tt_src_stop,
    .mode = bpf_mode,
    .probes = bpf_probes,
    .stats = bpf_stats,
    .after_drop = bpf_after_drop,
    .close = bpf_close,
};
