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
trap 'rm -rf "$dir"' EXIT

# The capture writer (conns): tests/bench/bench_capture.c, against the format library only
cc -std=c11 -D_GNU_SOURCE -O2 -I "$ROOT/include" "$ROOT/tests/bench/bench_capture.c" \
	"$BUILD/libtt-core.a" -lzstd -lz -lm -o "$dir/help"

ratio() { echo "scale=2; $1 / $2" | bc -l; }

for n in 1000 10000 100000; do
	"$dir/help" conns "$dir/c$n.tt" $n 5 >/dev/null
done
declare -A ms
for sort in TX/s COMM; do
	for n in 1000 10000 100000; do
		ms[$sort,$n]=$("$ROOT/tests/bench/redraw.sh" "$dir/c$n.tt" "$sort")
	done
done
for sort in TX/s COMM; do
	printf 'FIGURE\tview: redraw, sort %s, 1K / 10K / 100K connections (ms)\t%s / %s / %s\t\n' \
		"$sort" "${ms[$sort,1000]}" "${ms[$sort,10000]}" "${ms[$sort,100000]}"
	printf 'FIGURE\tview: redraw at 100K / at 1K connections, sort %s\t%sx\t<= 5\n' "$sort" \
		"$(ratio "${ms[$sort,100000]}" "${ms[$sort,1000]}")"
done
