/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * From the kernel's TCP counters to payload bytes, the one rule for every source (the BPF
 * programs, bpf/tcp_sock.bpf.h, and sock_diag, source/sd_diff.c). The kernel counts sequence
 * space: bytes_acked includes our SYN (active opens) and our FIN once it is acked,
 * bytes_received the peer's FIN. Reported counts are what the applications wrote and read.
 * Each source says what it saw of the three; how it sees them differs (a BPF program reads the
 * socket's sequence numbers and flags, sock_diag infers from the state it was dumped in).
 *
 * Compiled by clang -target bpf too: no library, __u64 from tt_event.h's includes.
 */
#ifndef TT_TCP_PAYLOAD_H
#define TT_TCP_PAYLOAD_H

#include "tt_event.h"

/* A counter never goes below 0: a SYN or FIN seen with nothing counted is no byte. */
static inline __attribute__((always_inline)) __u64 tt_tcp_payload_acked(__u64 acked, int our_syn,
									int our_fin_acked)
{
	if (our_syn && acked)
		acked--;
	if (our_fin_acked && acked)
		acked--;
	return acked;
}

static inline __attribute__((always_inline)) __u64 tt_tcp_payload_rcvd(__u64 rcvd, int their_fin)
{
	return their_fin && rcvd ? rcvd - 1 : rcvd;
}

#endif /* TT_TCP_PAYLOAD_H */
