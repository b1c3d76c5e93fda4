#!/usr/bin/env bash
# The mean redraw time of the curses view over CAPTURE sorted by SORT, in ms: tcptop-replay's
# hidden --bench-redraw plays the capture to its end in a real (tmux) terminal, then redraws
# 200 times, scrolling a page each. Prints the number on stdout, the tool's own line on stderr.
# Used by bench_replay.sh and bench_view.sh.
#
#   tests/bench/redraw.sh CAPTURE SORT
set -eu
[ $# = 2 ] || { echo "usage: $0 CAPTURE SORT" >&2; exit 2; }
BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
out=$(mktemp /tmp/bench_redraw.XXXXXX)
name=bench-redraw-$$
trap 'tmux kill-session -t "$name" 2>/dev/null || true; rm -f "$out"' EXIT
tmux new-session -d -s "$name" -x 200 -y 50 \
	"$BUILD/tcptop-replay --bench-redraw 200 --sort $2 $1 2> $out; sleep 60"
for _ in $(seq 600); do
	grep -q 'redraw:' "$out" 2>/dev/null && break
	sleep 0.2
done
cat "$out" >&2
sed -n 's/^redraw: \([0-9.]*\) ms.*/\1/p' "$out"
