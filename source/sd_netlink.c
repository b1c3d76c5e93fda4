// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Walking NETLINK_SOCK_DIAG: an inet_diag_req_v2 dump per family and protocol, each reply's
 * inet_diag_msg and its INET_DIAG_INFO (struct tcp_info) and INET_DIAG_CGROUP_ID attributes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h> /* RTA_* walk the attributes */
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include "sd_netlink.h"
#include "tt_util.h"

/* Kernel TCP states wanted: ESTABLISHED (1) to CLOSING (11), LISTEN included; not
 * BOUND_INACTIVE (13, bound and never used). NEW_SYN_RECV (12, request sockets) is left out
 * too, but the kernel adds it to SYN_RECV: parse() drops those. */
#define SD_TCP_STATES (((1u << TT_TCP_NEW_SYN_RECV) - 1) & ~(1u << TT_TCP_NONE))
/* tcp_info, and the memory counters for a listener's drops (SK_MEMINFO_DROPS, as ss -m) */
#define SD_TCP_EXT ((1u << (INET_DIAG_INFO - 1)) | (1u << (INET_DIAG_SKMEMINFO - 1)))
/* UDP sockets are CLOSE unconnected, ESTABLISHED connected */
#define SD_UDP_STATES ((1u << TT_TCP_ESTABLISHED) | (1u << TT_TCP_CLOSE))

int tt_sd_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

void tt_sd_snap_free(struct tt_sd_snap *snap)
{
	free(snap->v);
	snap->v = NULL;
	snap->n = snap->cap = 0;
}

static struct tt_sd_sock *snap_add(struct tt_sd_snap *snap)
{
	if (tt_grow(&snap->v, &snap->cap, snap->n + 1, sizeof(*snap->v), 256))
		return NULL;
	memset(&snap->v[snap->n], 0, sizeof(*snap->v));
	return &snap->v[snap->n++];
}

static int is_v4mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(a, pfx, sizeof(pfx));
}

/* As the BPF source reports them: a v6 socket talking v4 has both ends as IPv4. */
static void put_addrs(struct tt_sd_sock *s, const struct inet_diag_msg *m)
{
	const uint8_t *l = (const uint8_t *)m->id.idiag_src, *r = (const uint8_t *)m->id.idiag_dst;

	if (m->idiag_family == AF_INET) {
		s->family = TT_FAMILY_IPV4;
		memcpy(s->laddr, l, 4);
		memcpy(s->raddr, r, 4);
	} else if (is_v4mapped(l)) {
		s->family = TT_FAMILY_IPV4;
		memcpy(s->laddr, l + 12, 4);
		memcpy(s->raddr, r + 12, 4);
	} else {
		s->family = TT_FAMILY_IPV6;
		memcpy(s->laddr, l, TT_ADDR_LEN);
		memcpy(s->raddr, r, TT_ADDR_LEN);
	}
}

/*
 * tcpi_rcv_wnd (6.2) follows tcpi_snd_wnd (5.4) in the kernel's tcp_info: the uapi struct only
 * ever grows at its end, so its place holds whatever this build's header has, which may end at
 * tcpi_snd_wnd.
 */
#define TCPI_SND_WND_END (offsetof(struct tcp_info, tcpi_snd_wnd) + sizeof(uint32_t))
#define TCPI_RCV_WND_END (TCPI_SND_WND_END + sizeof(uint32_t))

static unsigned windows(size_t len)
{
	return (len >= TCPI_SND_WND_END ? TT_SD_WND_PEER : 0) |
	       (len >= TCPI_RCV_WND_END ? TT_SD_WND_LOCAL : 0);
}

int tt_sd_kernel_windows(void)
{
	/* a tcp_info is as long as the kernel's (inet_diag's INET_DIAG_INFO is the same struct) */
	uint8_t buf[512];
	socklen_t len = sizeof(buf);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP), ret;

	if (fd < 0)
		return -errno;
	ret = getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) ? -errno : (int)windows(len);
	close(fd);
	return ret;
}

static void put_info(struct tt_sd_sock *s, const void *data, size_t len)
{
	struct tcp_info ti;
	uint32_t rcv_wnd = 0;

	/* an older kernel's tcp_info is shorter: what it lacks reads as 0 */
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, data, len < sizeof(ti) ? len : sizeof(ti));
	s->bytes_acked = ti.tcpi_bytes_acked;
	s->bytes_received = ti.tcpi_bytes_received;
	s->segs_out = ti.tcpi_segs_out;
	s->segs_in = ti.tcpi_segs_in;
	s->rtt_us = ti.tcpi_rtt;
	s->rttvar_us = ti.tcpi_rttvar;
	s->total_retrans = ti.tcpi_total_retrans;
	s->unacked = ti.tcpi_unacked;
	s->data_segs_out = ti.tcpi_data_segs_out;
	s->data_segs_in = ti.tcpi_data_segs_in;
	s->has_data_segs = len >= offsetof(struct tcp_info, tcpi_data_segs_in) + 4;
	s->sent_once = len >= offsetof(struct tcp_info, tcpi_bytes_retrans) + 8
			   ? ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans
			   : UINT64_MAX;
	/*
	 * tcp_get_info() loads the state just before it locks the socket to read the counters;
	 * idiag_state was loaded earlier, before the attributes were filled: the later load leaves
	 * far less time for a FIN to arrive between the state and the counters read with it.
	 */
	s->state = ti.tcpi_state;
	s->sample = (struct tt_ev_sample){
	    .srtt_us = ti.tcpi_rtt,
	    .min_rtt_us = ti.tcpi_min_rtt,
	    .rttvar_us = ti.tcpi_rttvar,
	    .cwnd = ti.tcpi_snd_cwnd,
	    .ssthresh = ti.tcpi_snd_ssthresh,
	    /* tcp_packets_in_flight(), from what tcp_info has of it */
	    .in_flight = ti.tcpi_unacked - (ti.tcpi_sacked + ti.tcpi_lost) + ti.tcpi_retrans,
	    .lost = ti.tcpi_lost,
	    .reordering = ti.tcpi_reordering,
	    .dsack_dups = ti.tcpi_dsack_dups,
	    .snd_wnd = ti.tcpi_snd_wnd,
	    .app_limited = ti.tcpi_delivery_rate_app_limited,
	    .pacing_rate = ti.tcpi_pacing_rate,
	    .delivery_rate = ti.tcpi_delivery_rate,
	    .busy_us = ti.tcpi_busy_time,
	    .rwnd_limited_us = ti.tcpi_rwnd_limited,
	    .sndbuf_limited_us = ti.tcpi_sndbuf_limited,
	};
	s->windows = windows(len);
	if (s->windows & TT_SD_WND_LOCAL) {
		memcpy(&rcv_wnd, (const uint8_t *)data + TCPI_SND_WND_END, sizeof(rcv_wnd));
		s->sample.rcv_wnd = rcv_wnd;
	}
	s->notsent = ti.tcpi_notsent_bytes;
	s->last_data_sent_ms = ti.tcpi_last_data_sent;
	s->last_data_recv_ms = ti.tcpi_last_data_recv;
	s->has_info = 1;
}

static int parse(const struct nlmsghdr *h, int proto, uint32_t netns, struct tt_sd_snap *snap)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	struct tt_sd_sock *s;
	int info = 0;

	if (len < 0)
		return -EBADMSG;
	s = snap_add(snap);
	if (!s)
		return -ENOMEM;
	s->cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	s->state = m->idiag_state;
	s->inode = m->idiag_inode;
	s->uid = m->idiag_uid;
	s->netns = netns;
	s->ifindex = m->id.idiag_if;
	s->proto = proto;
	s->rqueue = m->idiag_rqueue;
	s->wqueue = m->idiag_wqueue;
	put_addrs(s, m);
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_INFO && proto == IPPROTO_TCP) {
			put_info(s, RTA_DATA(a), RTA_PAYLOAD(a));
			info = 1;
		} else if (a->rta_type == INET_DIAG_SKMEMINFO &&
			   RTA_PAYLOAD(a) >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
			s->drops = ((const uint32_t *)RTA_DATA(a))[SK_MEMINFO_DROPS];
		else if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= 8)
			memcpy(&s->cgroup_id, RTA_DATA(a), 8);
	}
	/*
	 * A request socket (NEW_SYN_RECV): inet_diag dumps them whenever SYN_RECV is asked for, as
	 * SYN_RECV with no tcp_info (inet_req_diag_fill). It is no connection yet, and taking it
	 * for one is wrong: the cookie the dump gives it is copied to the accepted socket only if
	 * it was there when the kernel cloned the request, so a dump racing the handshake's end
	 * made one server end two connections (make vmtest 6.1 under load: 601 for 600 ends).
	 */
	if (proto == IPPROTO_TCP && s->state == TT_TCP_SYN_RECV && !info)
		snap->n--;
	return 0;
}

/*
 * Send one request (its nlmsg_seq set here) and parse every reply into snap, up to the dump's
 * NLMSG_DONE or the acknowledgement (an NLMSG_ERROR of 0) a request with NLM_F_ACK ends with.
 */
static int dump(int fd, struct nlmsghdr *req, int proto, uint32_t netns, uint32_t *seq,
		struct tt_sd_snap *snap)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	/* the kernel fills up to a page or 32 KiB a message batch: room for either */
	long buf[65536 / sizeof(long)];
	size_t first = snap->n;
	int ret = 0, done = 0;

	req->nlmsg_seq = ++*seq;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != *seq)
				continue; /* the rest of a dump an earlier failure abandoned */
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error;
				done = 1;
				break;
			}
			if (h->nlmsg_type != req->nlmsg_type)
				continue; /* replies carry the request's type */
			ret = parse(h, proto, netns, snap);
			if (ret) {
				done = 1;
				break;
			}
		}
	}
	if (ret) {
		snap->n = first; /* a namespace is dumped whole or not at all */
		return ret;
	}
	{
		uint64_t ts = tt_now_boot_ns();

		for (size_t i = first; i < snap->n; i++)
			snap->v[i].ts_ns = ts;
	}
	return 0;
}

int tt_sd_dump(int fd, int family, int proto, uint32_t netns, uint32_t *seq,
	       struct tt_sd_snap *snap)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
		    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = family,
		  .sdiag_protocol = proto,
		  .idiag_ext = proto == IPPROTO_TCP ? SD_TCP_EXT : 0,
		  .idiag_states = proto == IPPROTO_TCP ? SD_TCP_STATES : SD_UDP_STATES},
	};

	return dump(fd, &req.nlh, proto, netns, seq, snap);
}

/*
 * Each dump walks the kernel's whole TCP hash table, most of a poll's cost: the old
 * TCPDIAG_GETSOCK request dumps both families in one walk.
 */
int tt_sd_dump_tcp_both(int fd, uint32_t netns, uint32_t *seq, struct tt_sd_snap *snap)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
		    .nlmsg_type = TCPDIAG_GETSOCK,
		    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.idiag_family = AF_UNSPEC,
		  .idiag_ext = SD_TCP_EXT,
		  .idiag_states = SD_TCP_STATES},
	};

	return dump(fd, &req.nlh, IPPROTO_TCP, netns, seq, snap);
}

int tt_sd_lookup(int fd, const struct tt_sd_sock *want, uint32_t *seq, struct tt_sd_sock *out)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
		    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		    .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK},
	    .r = {.sdiag_family = want->family == TT_FAMILY_IPV6 ? AF_INET6 : AF_INET,
		  .sdiag_protocol = want->proto,
		  .idiag_ext = want->proto == IPPROTO_TCP ? 1u << (INET_DIAG_INFO - 1) : 0},
	};
	struct inet_diag_sockid *id = &req.r.id;
	/* udp_dump_one() takes the ends the other way round (a packet's source is the peer) */
	int udp = want->proto == IPPROTO_UDP;
	size_t alen = want->family == TT_FAMILY_IPV6 ? TT_ADDR_LEN : 4;
	struct tt_sd_snap one = {0};
	int ret;

	id->idiag_sport = htons(udp ? want->rport : want->lport);
	id->idiag_dport = htons(udp ? want->lport : want->rport);
	memcpy(id->idiag_src, udp ? want->raddr : want->laddr, alen);
	memcpy(id->idiag_dst, udp ? want->laddr : want->raddr, alen);
	id->idiag_if = want->ifindex;
	id->idiag_cookie[0] = (uint32_t)want->cookie;
	id->idiag_cookie[1] = (uint32_t)(want->cookie >> 32);
	ret = dump(fd, &req.nlh, want->proto, want->netns, seq, &one);
	if (ret == 0 && one.n == 1 && one.v[0].cookie == want->cookie) {
		*out = one.v[0];
		ret = 1;
	} else if (ret == 0 || ret == -ENOENT || ret == -ESTALE) {
		ret = 0; /* no such socket, or another one in its place (UDP says ESTALE) */
	}
	tt_sd_snap_free(&one);
	return ret;
}
