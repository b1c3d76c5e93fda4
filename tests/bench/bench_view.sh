#!/usr/bin/env bash
# Redraw cost of the curses view against the size of the table. Prints
# "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); progress and raw numbers go to stderr.
# ~30 s on 2 shared cores.
#
# The view draws one screen of a table it never sorts whole (tt_state_select: virtual
# scrolling), so a table 100 times larger should cost a redraw only a few times more. Captures
# of 1K, 10K and 100K connections (one open each, then one TRAFFIC per connection per second
# for 5 s) are played to their end by tcptop-replay's hidden --bench-redraw, in a real (tmux)
# terminal, which then scrolls a page per redraw: the mean of 200 redraws, sorted by TX/s and by
# COMM. The figures are the ratios 100K / 1K, measured within this run (the absolute redraw
# times at 100K are in bench_replay.sh).
#
#   tests/bench/bench_view.sh
set -eu
BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=$BUILD/tcptop-replay
for x in "$R" "$BUILD/libtt-core.a"; do
	[ -e "$x" ] || { echo "bench_view: $x not built" >&2; exit 1; }
done
for c in cc bc tmux; do
	command -v $c >/dev/null || { echo "bench_view: $c missing" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/bench_view.XXXXXX)
tmux_name=bench-view-$$
trap 'tmux kill-session -t "$tmux_name" 2>/dev/null || true; rm -rf "$dir"' EXIT

# The capture writer: against tt_fmt.h only (the format library), not against view code.
cat >"$dir/conns.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tt_fmt.h"
#define S 1000000000ull
int main(int argc, char **argv)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_event ev;
	char err[256];
	unsigned long nc, secs;

	if (argc != 4) {
		fprintf(stderr, "usage: help OUT N SECS\n");
		return 2;
	}
	nc = strtoul(argv[2], NULL, 10);
	secs = strtoul(argv[3], NULL, 10);
	memset(&h, 0, sizeof(h));
	strcpy(h.hostname, "bench");
	strcpy(h.mode, "coalesce");
	strcpy(h.clock, "boottime");
	h.coalesce_ms = 1000;
	h.clock_offset_ns = 1764000000ll * (long long)S - 1000ll * (long long)S;
	h.start_ns = 1764000000ull * S;
	if (tt_fmt_writer_open(&w, argv[1], &h, &(struct tt_fmt_wopts){.force = 1}, err,
			       sizeof(err))) {
		fprintf(stderr, "help: %s\n", err);
		return 1;
	}
	for (unsigned long s = 0; s <= secs; s++) {
		for (unsigned long i = 0; i < nc; i++) {
			memset(&ev, 0, sizeof(ev));
			ev.ts_ns = 1764000000ull * S + s * S + i * (S / 2 / nc); /* wall */
			ev.conn_id = 0x100000 + i * 13;
			ev.pid = ev.tid = 1000 + (unsigned)(i % 500);
			if (!s) {
				ev.kind = TT_EV_CONN_OPEN;
				ev.u.open.family = 4;
				ev.u.open.proto = 6;
				ev.u.open.state = 1;
				ev.u.open.laddr[0] = 127;
				ev.u.open.laddr[3] = 1;
				ev.u.open.raddr[0] = 10;
				ev.u.open.raddr[1] = (unsigned char)(i >> 16);
				ev.u.open.raddr[2] = (unsigned char)(i >> 8);
				ev.u.open.raddr[3] = (unsigned char)i;
				ev.u.open.lport = (unsigned short)(1024 + i % 60000);
				ev.u.open.rport = 443;
				snprintf(ev.u.open.comm, TT_COMM_LEN, "proc%lu", i % 500);
			} else {
				ev.kind = TT_EV_TRAFFIC;
				ev.u.traffic.tx_bytes = 1000 + (i * 7919 + s * 104729) % 100000;
				ev.u.traffic.rx_bytes = (i * 104729 + s * 7919) % 50000;
				ev.u.traffic.tx_pkts = 1 + (unsigned)(ev.u.traffic.tx_bytes / 1448);
				ev.u.traffic.rx_pkts = 1 + (unsigned)(ev.u.traffic.rx_bytes / 1448);
			}
			if (tt_fmt_writer_add(w, &ev))
				return 1;
		}
	}
	return tt_fmt_writer_close(w) ? 1 : 0;
}
CEOF
cc -std=c11 -D_GNU_SOURCE -O2 -I "$ROOT/include" "$dir/conns.c" "$BUILD/libtt-core.a" -lzstd -lz \
	-lm -lcrypto -o "$dir/conns"

# redraw CAPTURE SORT -> mean ms of 200 redraws
redraw() {
	rm -f "$dir/redraw"
	tmux new-session -d -s "$tmux_name" -x 200 -y 50 \
		"$R --bench-redraw 200 --sort $2 $1 2> $dir/redraw; sleep 60"
	for _ in $(seq 600); do
		grep -q 'redraw:' "$dir/redraw" 2>/dev/null && break
		sleep 0.2
	done
	tmux kill-session -t "$tmux_name" 2>/dev/null || true
	cat "$dir/redraw" >&2
	sed -n 's/^redraw: \([0-9.]*\) ms.*/\1/p' "$dir/redraw"
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }

for n in 1000 10000 100000; do
	"$dir/conns" "$dir/c$n.tt" $n 5
done
declare -A ms
for sort in TX/s COMM; do
	for n in 1000 10000 100000; do
		ms[$sort,$n]=$(redraw "$dir/c$n.tt" $sort)
	done
done
for sort in TX/s COMM; do
	printf 'FIGURE\tview: redraw, sort %s, 1K / 10K / 100K connections (ms)\t%s / %s / %s\t\n' \
		"$sort" "${ms[$sort,1000]}" "${ms[$sort,10000]}" "${ms[$sort,100000]}"
	printf 'FIGURE\tview: redraw at 100K / at 1K connections, sort %s\t%sx\t<= 5\n' "$sort" \
		"$(ratio "${ms[$sort,100000]}" "${ms[$sort,1000]}")"
done
