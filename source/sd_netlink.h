/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One poll of the sock_diag source (source/sd_netlink.c): the TCP and UDP sockets of one network
 * namespace, as NETLINK_SOCK_DIAG reports them, appended to a snapshot. libc and uapi only.
 */
#ifndef TT_SD_NETLINK_H
#define TT_SD_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

/* One socket as the kernel described it; tcp_info counters raw (sequence space). */
struct tt_sd_sock {
	uint64_t cookie;
	uint64_t ts_ns; /* CLOCK_BOOTTIME at the end of its namespace's dump */
	uint64_t cgroup_id;
	uint64_t bytes_acked, bytes_received;
	uint32_t segs_out, segs_in, rtt_us, rttvar_us, total_retrans;
	uint32_t unacked; /* segments out, not acked (tcpi_unacked), read with bytes_acked */
	/* segments that carried payload (tcpi_data_segs_*): 0 means no payload, whatever FIN or
	 * SYN the byte counters hold */
	uint32_t data_segs_out, data_segs_in;
	/* payload bytes sent once (tcpi_bytes_sent - tcpi_bytes_retrans): what can have been
	 * acked, FIN or not; UINT64_MAX where tcp_info lacks them (before 4.19) */
	uint64_t sent_once;
	/* a listener: its accept queue (idiag_rqueue), the queue's limit (idiag_wqueue) and
	 * sk_drops (INET_DIAG_SKMEMINFO's SK_MEMINFO_DROPS) */
	uint32_t rqueue, wqueue;
	uint64_t drops;
	uint32_t inode; /* 0: no file (in an accept queue, orphaned, TIME_WAIT) */
	uint32_t uid;
	uint32_t netns;
	uint32_t ifindex; /* the device it is bound to, 0: none (a lookup's key, with the ends) */
	uint16_t lport, rport;
	uint8_t family;	  /* TT_FAMILY_*, v4-mapped IPv6 as IPv4 */
	uint8_t proto;	  /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t state;	  /* kernel TCP state; UDP: 7 (CLOSE) unconnected, 1 connected */
	uint8_t has_info; /* the tcp_info fields are there */
	/* this kernel's tcp_info has the data segment counts (4.6+) */
	uint8_t has_data_segs;
	uint8_t laddr[TT_ADDR_LEN], raddr[TT_ADDR_LEN];
	/* the TCP state, from the same tcp_info (rcv_wnd 0 where the kernel's lacks it) */
	struct tt_ev_sample sample;
	/* for zero-window stalls: what the windows of sample mean (TT_SD_WND_*: 0, a window
	 * this kernel's tcp_info lacks, reads as 0), bytes written and not sent
	 * (tcpi_notsent_bytes), and how long ago data was last sent and received, ms */
	uint8_t windows;
	uint32_t notsent, last_data_sent_ms, last_data_recv_ms;
};

/* The windows a tcp_info has: the peer's (tcpi_snd_wnd, 5.4+), ours (tcpi_rcv_wnd, 6.2+). */
#define TT_SD_WND_PEER 1u
#define TT_SD_WND_LOCAL 2u

/* TT_SD_WND_* of this kernel's tcp_info (a TCP_INFO of a socket made here), or -errno. */
int tt_sd_kernel_windows(void);

struct tt_sd_snap {
	struct tt_sd_sock *v;
	size_t n, cap;
};

/* A NETLINK_SOCK_DIAG socket in the calling thread's namespace: an fd or -errno. */
int tt_sd_socket(void);

/*
 * Dump family (AF_INET / AF_INET6) x proto (IPPROTO_TCP / IPPROTO_UDP) through fd and append
 * the sockets to snap, marked with netns. Listening TCP sockets are included (they tell
 * inbound from outbound), request sockets are not. 0 or -errno.
 */
int tt_sd_dump(int fd, int family, int proto, uint32_t netns, uint32_t *seq,
	       struct tt_sd_snap *snap);

/*
 * The TCP sockets of both families in one dump (the older TCPDIAG_GETSOCK request), as
 * tt_sd_dump(). A kernel without it answers -EINVAL or -ENOENT: use tt_sd_dump() per family.
 */
int tt_sd_dump_tcp_both(int fd, uint32_t netns, uint32_t *seq, struct tt_sd_snap *snap);

/*
 * The one socket of want's protocol with want's ends, device and cookie, through fd (a
 * sock_diag socket of want->netns): 1 and *out filled (its netns want's), 0 when it is gone,
 * or -errno. A dump resumes by position in a hash chain and can miss a socket that lives on;
 * this lookup by key cannot.
 */
int tt_sd_lookup(int fd, const struct tt_sd_sock *want, uint32_t *seq, struct tt_sd_sock *out);

void tt_sd_snap_free(struct tt_sd_snap *snap);

#endif /* TT_SD_NETLINK_H */
