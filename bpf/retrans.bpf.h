/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A retransmit as the tcp_retransmit_skb tracepoint shows it: why, and how many segments.
 * Shared by the BPF source's tt_retrans (tcp.bpf.c) and the fallback's tt_retrans_k510
 * (tcp_fallback.bpf.c).
 */
#ifndef TT_RETRANS_BPF_H
#define TT_RETRANS_BPF_H

#include "consts.bpf.h"

/* ICSK_TIME_LOSS_PROBE (include/net/inet_connection_sock.h): a define, not in BTF */
#define TT_ICSK_TIME_LOSS_PROBE 5

/*
 * Where the tracepoint has its own event with an err (6.18 has; 6.1 has the class
 * tcp_event_sk_skb), it also fires for a retransmit that failed, its error the third argument.
 */
#define RETRANS_HAS_ERR bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err)

/*
 * Why the kernel retransmits, read from the socket as the retransmit happens, in the
 * kernel's own classes (net/ipv4: tcp_timer.c, tcp_output.c), so each matches its counter:
 * - the retransmit timer (tcp_retransmit_timer) enters TCP_CA_Loss (tcp_enter_loss) before
 *   it resends, and the rest of that recovery resends in TCP_CA_Loss too; TCPTimeouts
 *   counts the timer, TCPSlowStartRetrans the others: cause RTO;
 * - tcp_xmit_retransmit_queue counts TCPFastRetrans for any state but TCP_CA_Loss
 *   (Recovery: fast retransmit, RACK, its reordering timer): cause FAST;
 * - the loss-probe timer runs tcp_send_loss_probe with icsk_pending still
 *   ICSK_TIME_LOSS_PROBE (tcp_write_timer_handler clears it only for the RTO and probe0
 *   timers), and only in Open or CWR; TCPLossProbes: cause TLP;
 * - SYN_SENT / SYN_RECV: the handshake's SYN (or a Fast Open SYN-ACK), counted apart.
 */
static __always_inline __u8 retrans_cause(const struct sock *sk, __u8 state)
{
	const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)sk;
	__u8 ca;

	if (state == TT_TCP_SYN_SENT || state == TT_TCP_SYN_RECV)
		return TT_RETRANS_SYN;
	ca = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
	if (ca == TCP_CA_Loss)
		return TT_RETRANS_RTO;
	if (ca != TCP_CA_Recovery && BPF_CORE_READ(icsk, icsk_pending) == TT_ICSK_TIME_LOSS_PROBE)
		return TT_RETRANS_TLP;
	return TT_RETRANS_FAST;
}

/* The segments the retransmitted skb holds: tcp_skb_pcount(), what TcpRetransSegs adds. */
static __always_inline __u32 retrans_segs(const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	struct skb_shared_info *sh = (struct skb_shared_info *)(head + BPF_CORE_READ(skb, end));
	__u16 segs = BPF_CORE_READ(sh, gso_segs);

	return segs ? segs : 1;
}

#endif /* TT_RETRANS_BPF_H */
