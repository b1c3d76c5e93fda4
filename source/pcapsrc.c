// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A packet capture as a source (tt_source "pcap:PATH"): a tcpdump or Wireshark file (pcap or
 * pcapng, read by libpcap) turned into connection events by source/pcap_flow.c.
 *
 * For tcptop-record it reads as fast as it is taken, so that the capture it makes (for
 * tcptop-replay and tcptop-query) has the packets' own times: its clock is the packets' (wall
 * time already: the handle's to_wall and the header's clock offset are 0), and the
 * recorder's own stamps (STATS, rotation) take the last packet's time. For a view
 * (tt_source_opts.pace, tcptop) it plays them at the pace they were captured, moved so that
 * the first happens now, as the file source plays a capture. At the end of the file, poll
 * tells the traffic not yet told and returns -ENODATA.
 *
 * What packets cannot say is said as missing capabilities: no process owns a packet, and the
 * kernel's view of a socket (its RTT samples, windows, the cause of a retransmit) is not on
 * the wire.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_util.h"
#include "pcap_flow.h"
#include "source_int.h"

_Static_assert(TT_PKT_LINK_EN10MB == DLT_EN10MB && TT_PKT_LINK_RAW == DLT_RAW &&
		   TT_PKT_LINK_SLL == DLT_LINUX_SLL && TT_PKT_LINK_SLL2 == DLT_LINUX_SLL2 &&
		   TT_PKT_LINK_NULL == DLT_NULL && TT_PKT_LINK_IPV4 == DLT_IPV4 &&
		   TT_PKT_LINK_IPV6 == DLT_IPV6,
	       "pcap_decode.h numbers link types as libpcap does");

/* Packets read in one poll at most, so that a caller's own work (a recorder's tick) is not
 * put off for a whole file. */
#define POLL_PACKETS 65536

enum { CAP_PROCESS, CAP_SOCKET };

static const struct tt_source_cap_desc pcap_caps[] = {
    [CAP_PROCESS] = {"process", "packets carry no process: no pid, command or cgroup"},
    [CAP_SOCKET] = {"socket-state",
		    "the kernel's socket view is not on the wire: states follow the TCP flags, "
		    "RTT is the handshake's, no samples (cwnd, RTT over time), retransmit causes "
		    "are unknown"},
};

struct tt_pcapsrc {
	pcap_t *pc;
	struct tt_pflow *flow;
	int eof, have_next, told_end;
	/* the packet read ahead (libpcap's buffer is reused by its next read) */
	uint64_t next_ts;
	size_t next_len;
	unsigned char next[65536];
	/* the pace (opts.pace): packet time + shift = now as played */
	uint64_t first_ts, start_mono, open_wall;
	char probes[600];
};

static void pcap_src_close(struct tt_source *h);
static void read_ahead(struct tt_source *h);
static const struct tt_source_ops pcap_ops;

/* pcap_flow's events go to the handle, which makes them wall time (+ to_wall) and counts them */
static int to_handle(void *ctx, const struct tt_event *ev)
{
	return tt_source_emit(ctx, ev);
}

int tt_pcapsrc_open(struct tt_source *h, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct tt_pflow_opts fo = {
	    .tick_ns = (uint64_t)(h->opts.coalesce_ms ? h->opts.coalesce_ms
						      : TT_SOURCE_DEFAULT_COALESCE_MS) *
		       1000000,
	    .udp_idle_ns = (uint64_t)(h->opts.udp_idle_ms ? h->opts.udp_idle_ms
							  : TT_SOURCE_DEFAULT_UDP_IDLE_MS) *
			   1000000,
	};
	struct tt_pcapsrc *s;
	int link, ret;

	if (h->opts.raw) {
		snprintf(err, errlen,
			 "--raw counts send/recv calls, which a packet capture has not");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* nanosecond times where the file has them, microseconds scaled up where not */
	s->pc = pcap_open_offline_with_tstamp_precision(h->opts.source_path,
							PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!s->pc) {
		/* libpcap names the file in some of its errors ("x: No such file") only */
		if (strstr(perr, h->opts.source_path))
			snprintf(err, errlen, "%s", perr);
		else
			snprintf(err, errlen, "%s: %s", h->opts.source_path, perr);
		free(s);
		return -EINVAL;
	}
	link = pcap_datalink(s->pc);
	ret = tt_pflow_new(&s->flow, link, &fo, to_handle, h);
	if (ret) {
		if (ret == -EINVAL)
			snprintf(err, errlen,
				 "%s: link type %s is not one it reads (Ethernet, raw IP, "
				 "Linux cooked, BSD loopback)",
				 h->opts.source_path,
				 pcap_datalink_val_to_name(link) ? pcap_datalink_val_to_name(link)
								 : "?");
		else
			snprintf(err, errlen, "out of memory");
		pcap_close(s->pc);
		free(s);
		return ret;
	}
	h->priv = s;
	h->ops = &pcap_ops;
	/* the packets' times are wall time; played at pace, moved so that the first is now */
	read_ahead(h);
	s->first_ts = s->next_ts;
	s->open_wall = tt_now_wall_ns();
	s->start_mono = tt_now_mono_ns();
	h->to_wall = h->opts.pace && s->have_next ? (int64_t)(s->open_wall - s->first_ts) : 0;
	snprintf(s->probes, sizeof(s->probes), "pcap:%s (%s)", h->opts.source_path,
		 pcap_datalink_val_to_name(link) ? pcap_datalink_val_to_name(link) : "?");
	tt_source_caps_init(h, pcap_caps, (int)(sizeof(pcap_caps) / sizeof(pcap_caps[0])),
			    "from packets, missing: ", "");
	tt_source_cap_set(h, CAP_PROCESS, TT_SOURCE_CAP_MISSING, "a packet capture");
	tt_source_cap_set(h, CAP_SOCKET, TT_SOURCE_CAP_MISSING, "a packet capture");
	return 0;
}

/* The next packet into s->next, or s->eof set (with a warning where the file is damaged). */
static void read_ahead(struct tt_source *h)
{
	struct tt_pcapsrc *s = h->priv;
	struct pcap_pkthdr *ph;
	const u_char *data;
	int ret;

	if (s->have_next || s->eof)
		return;
	ret = pcap_next_ex(s->pc, &ph, &data);
	if (ret != 1) {
		/* a file cut short: what came before it stands, as a damaged capture's */
		if (ret == PCAP_ERROR)
			fprintf(stderr, "%s: warning: %s: %s: read up to there\n",
				program_invocation_short_name, h->opts.source_path,
				pcap_geterr(s->pc));
		s->eof = 1;
		return;
	}
	/* (with nanosecond precision asked for, tv_usec holds nanoseconds) */
	s->next_ts = (uint64_t)ph->ts.tv_sec * 1000000000 + (uint64_t)ph->ts.tv_usec;
	s->next_len = ph->caplen < sizeof(s->next) ? ph->caplen : sizeof(s->next);
	memcpy(s->next, data, s->next_len);
	s->have_next = 1;
}

/*
 * The end: the traffic not yet told (a view gets no stop), and, in one line, the packets no
 * connection could count (their headers cut short by the capture's snap length, or IP
 * fragments after the first): what they carried is missing from the totals.
 */
static void tell_end(struct tt_source *h)
{
	struct tt_pcapsrc *s = h->priv;
	struct tt_pflow_stats st;

	s->told_end = 1;
	tt_pflow_end(s->flow);
	tt_pflow_stats(s->flow, &st);
	if (st.truncated || st.fragments)
		fprintf(stderr,
			"%s: warning: %s: %" PRIu64 " packets cut before their TCP/UDP header and "
			"%" PRIu64 " later IP fragments are in no connection's counts\n",
			program_invocation_short_name, h->opts.source_path, st.truncated,
			st.fragments);
}

/* Whether the packet read ahead is due: always, unless played at pace. *wait_ns: until it is. */
static int due(const struct tt_source *h, uint64_t *wait_ns)
{
	const struct tt_pcapsrc *s = h->priv;
	uint64_t played = tt_now_mono_ns() - s->start_mono;

	if (!h->opts.pace || s->next_ts - s->first_ts <= played)
		return 1;
	*wait_ns = s->next_ts - s->first_ts - played;
	return 0;
}

/*
 * The packets due (at most POLL_PACKETS, so that a caller's own work, a recorder's tick, is
 * not put off for a whole file), waiting up to timeout_ms for one when played at pace;
 * -ENODATA at the end, once the traffic not yet told is told (a view gets no stop).
 */
static int pcap_src_poll(struct tt_source *h, int timeout_ms)
{
	struct tt_pcapsrc *s = h->priv;
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;

	for (int i = 0; i < POLL_PACKETS; i++) {
		uint64_t wait = 0, now;
		int ret;

		read_ahead(h);
		if (s->eof) {
			if (!s->told_end)
				tell_end(h);
			return -ENODATA;
		}
		if (!due(h, &wait)) {
			struct timespec ts;

			now = tt_now_mono_ns();
			if (now >= end)
				return 0;
			wait = wait < end - now ? wait : end - now;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
			if (nanosleep(&ts, NULL) && errno == EINTR)
				return -EINTR;
			continue;
		}
		s->have_next = 0;
		ret = tt_pflow_packet(s->flow, s->next_ts, s->next, s->next_len);
		if (ret < 0)
			return ret;
		if (ret)
			return 0; /* the caller refused an event: its handle keeps it */
	}
	return 0;
}

static int pcap_src_flush(struct tt_source *h)
{
	(void)h;
	return 0; /* traffic is told at ticks of packet time, and at the stop */
}

/* Stopped before the end of the file (a signal), or after it: told once either way. */
static int pcap_src_stop(struct tt_source *h)
{
	struct tt_pcapsrc *s = h->priv;

	if (!s->told_end)
		tell_end(h);
	return 0;
}

static const char *pcap_src_mode(const struct tt_source *h)
{
	(void)h;
	return "pcap";
}

static const char *pcap_src_probes(const struct tt_source *h)
{
	const struct tt_pcapsrc *s = h->priv;

	return s->probes;
}

static int64_t pcap_src_clock_offset(const struct tt_source *h)
{
	return h->to_wall;
}

/* Played at pace: the moment of the playing; else the last packet's time. */
static uint64_t pcap_src_now(const struct tt_source *h)
{
	const struct tt_pcapsrc *s = h->priv;

	if (h->opts.pace)
		return s->open_wall + (tt_now_mono_ns() - s->start_mono);
	return tt_pflow_now(s->flow);
}

static void pcap_src_close(struct tt_source *h)
{
	struct tt_pcapsrc *s = h->priv;

	if (!s)
		return;
	tt_pflow_free(s->flow);
	pcap_close(s->pc);
	free(s);
	h->priv = NULL;
}

static const struct tt_source_ops pcap_ops = {
    .poll = pcap_src_poll,
    .flush = pcap_src_flush,
    .stop = pcap_src_stop,
    .mode = pcap_src_mode,
    .probes = pcap_src_probes,
    .clock_offset = pcap_src_clock_offset,
    .now = pcap_src_now,
    .close = pcap_src_close,
};
