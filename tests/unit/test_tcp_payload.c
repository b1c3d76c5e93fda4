// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the one rule from the kernel's TCP counters to payload bytes
 * (include/tt_tcp_payload.h), which the BPF programs and sock_diag both follow.
 *
 * Oracle: RFC 793's sequence space written out. A client that connects, sends 100 bytes and
 * closes has bytes_acked 102 at the end (SYN + 100 + FIN), the server bytes_received 101
 * (100 + FIN) and bytes_acked 1 (its FIN; its SYN-ACK is not in bytes_acked).
 */
#include <stdio.h>

#include "check.h"
#include "tt_tcp_payload.h"

int main(void)
{
	/* the client's end, at each step of its life */
	check(tt_tcp_payload_acked(1, 1, 0) == 0, "client: SYN acked, nothing sent: 0");
	check(tt_tcp_payload_acked(101, 1, 0) == 100, "client: SYN and 100 bytes acked: 100");
	check(tt_tcp_payload_acked(102, 1, 1) == 100, "client: and its FIN acked: 100");
	check(tt_tcp_payload_acked(101, 1, 0) == 100, "client: its FIN sent, not acked: 100");
	/* the server's end: no SYN of its own counted */
	check(tt_tcp_payload_rcvd(100, 0) == 100, "server: 100 bytes received, no FIN: 100");
	check(tt_tcp_payload_rcvd(101, 1) == 100, "server: and the client's FIN: 100");
	check(tt_tcp_payload_acked(1, 0, 1) == 0, "server: only its FIN acked: 0");
	check(tt_tcp_payload_acked(0, 0, 0) == 0, "server: nothing sent: 0");
	/* a SYN or FIN read as seen before the kernel counted it is no byte, never -1 */
	check(tt_tcp_payload_acked(0, 1, 1) == 0, "SYN and FIN seen, nothing counted: 0");
	check(tt_tcp_payload_acked(1, 1, 1) == 0, "SYN and FIN seen, one counted: 0");
	check(tt_tcp_payload_rcvd(0, 1) == 0, "peer's FIN seen, nothing counted: 0");
	/* counters past 4 GiB stay whole (the kernel's are u64) */
	check(tt_tcp_payload_acked(0x100000002ull, 1, 1) == 0x100000000ull, "acked past 4 GiB");
	check(tt_tcp_payload_rcvd(0x100000001ull, 1) == 0x100000000ull, "received past 4 GiB");
	printf("%d failures\n", failures);
	return failures != 0;
}
