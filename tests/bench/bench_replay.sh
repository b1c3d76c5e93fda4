#!/usr/bin/env bash
# tcptop-replay speed. Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); progress and
# raw numbers go to stderr. ~2-3 minutes on 2 shared cores.
#
#  1. Replay with no UI (--batch -i 1h: one snapshot at the end, to /dev/null) of N events
#     (default 20M) made by `test_format gen` (every event kind, ~300 connections), beside two
#     references over the very same events:
#       - the capture reader alone (decode, no state table): the ceiling for a replay;
#       - `zstd -d` of the same events written as packed ring-buffer records (the 32-byte header
#         plus the kind's union member: what the kernel hands over, tt_event_size()), compressed
#         as one stream at level 3 (the format's default level): what a general-purpose
#         compressor costs to give back the same information, with no framing, CRCs or columns.
#     All three as events per CPU second (user + system of the process, output to /dev/null):
#     the machine is shared, and CPU time is what other jobs disturb least. Best of 3, interleaved.
#     test_format gen also writes edge-case events (time stamps 0 and 2^64 - 1); a replay would
#     then jump across 584 years of event time, so they are dropped first (same events otherwise).
#  2. The same with 100K connections (a coalesced capture: one TRAFFIC per connection per second).
#  3. Redraw time of the curses view at 100K connections (hidden --bench-redraw, in tmux),
#     sorted by TX/s and by COMM.
#  4. Seek times in an hour-long capture (2000 connections, one TRAFFIC each per second: 7.2M
#     events), after one play-through (hidden --bench-seek): mean and worst of 50 seeks to
#     pseudo-random times, against the time a decode from the start takes.
#
#   tests/bench/bench_replay.sh [N]
set -eu
N=${1:-20000000}
BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=$BUILD/tcptop-replay
GEN=$BUILD/tests/test_format
for x in "$R" "$GEN" "$BUILD/libtt-core.a"; do
	[ -e "$x" ] || { echo "bench_replay: $x not built" >&2; exit 1; }
done
for c in zstd cc bc tmux; do
	command -v $c >/dev/null || { echo "bench_replay: $c missing" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench_replay: /usr/bin/time missing (package time)" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench_replay.XXXXXX)
trap 'rm -rf "$dir"' EXIT  # set -e holds in the trap too

# The capture helper (clean, raw, read, conns): tests/bench/bench_capture.c
cc -std=c11 -D_GNU_SOURCE -O2 -I "$ROOT/include" "$ROOT/tests/bench/bench_capture.c" \
	"$BUILD/libtt-core.a" -lzstd -lz -lm -o "$dir/help"
H=$dir/help

# cpu CMD...: CPU seconds (user + system) of CMD, stdout to /dev/null
cpu() {
	/usr/bin/time -f '%U + %S' -o "$dir/time" "$@" >/dev/null 2>"$dir/err" ||
		{ cat "$dir/err" >&2; exit 1; }
	bc -l <"$dir/time"
}
# min of the arguments
least() { printf '%s\n' "$@" | sort -g | head -1; }
# events seconds -> M events/s
rate() { if [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then echo "scale=2; $1 / $2 / 1000000" | bc -l; else echo -; fi; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

# ---- 1. N events of every kind
echo "bench_replay: generating $N events" >&2
"$GEN" gen "$dir/gen.tt" "$N" >/dev/null
n=$("$H" clean "$dir/gen.tt" "$dir/cap.tt")
rm -f "$dir/gen.tt"
"$H" raw "$dir/cap.tt" | zstd -q -3 -o "$dir/raw.zst"
echo "bench_replay: $n events: capture $(stat -c %s "$dir/cap.tt") bytes," \
	"raw records zstd -3 $(stat -c %s "$dir/raw.zst") bytes" >&2
rp=() rd=() zs=()
for k in 1 2 3; do
	rp+=("$(cpu "$R" --batch -i 1h "$dir/cap.tt")")
	rd+=("$(cpu "$H" read "$dir/cap.tt")")
	zs+=("$(cpu zstd -q -d -c "$dir/raw.zst")")
done
t_rp=$(least "${rp[@]}") t_rd=$(least "${rd[@]}") t_zs=$(least "${zs[@]}")
echo "bench_replay: CPU s, replay: ${rp[*]}  reader: ${rd[*]}  zstd -d: ${zs[*]}" >&2
# the same replay by the wall clock, as a user sees it (--stats)
"$R" --batch -i 1h --stats "$dir/cap.tt" 2>&1 >/dev/null | tail -1 >&2
rm -f "$dir/raw.zst"

# ---- 2. 100K connections
m=$("$H" conns "$dir/c100k.tt" 100000 30)
"$H" raw "$dir/c100k.tt" | zstd -q -3 -o "$dir/c100k.zst"
rp2=() zs2=()
for k in 1 2 3; do
	rp2+=("$(cpu "$R" --batch -i 1h "$dir/c100k.tt")")
	zs2+=("$(cpu zstd -q -d -c "$dir/c100k.zst")")
done
t_rp2=$(least "${rp2[@]}") t_zs2=$(least "${zs2[@]}")
echo "bench_replay: 100K connections, $m events: CPU s, replay: ${rp2[*]}  zstd -d: ${zs2[*]}" >&2

# ---- 3. redraw at 100K connections, in a real (tmux) terminal
r_tx=$("$ROOT/tests/bench/redraw.sh" "$dir/c100k.tt" TX/s)
r_comm=$("$ROOT/tests/bench/redraw.sh" "$dir/c100k.tt" COMM)

# ---- 4. seeking in an hour
h=$("$H" conns "$dir/hour.tt" 2000 3600)
"$R" --bench-seek 50 "$dir/hour.tt" 2>"$dir/seek"
cat "$dir/seek" >&2
seek_mean=$(sed -n 's/.*: mean \([0-9.]*\) ms.*/\1/p' "$dir/seek")
seek_worst=$(sed -n 's/.*worst \([0-9.]*\) ms.*/\1/p' "$dir/seek")
seek_all=$(sed -n 's/.*from the start: \([0-9.]*\) ms.*/\1/p' "$dir/seek")

printf 'FIGURE\treplay: --batch, %s events of every kind (M events/CPU-s)\t%s\t>= 20\n' "$n" "$(rate "$n" "$t_rp")"
printf 'FIGURE\treplay: capture reader alone, same events (M events/CPU-s)\t%s\t\n' "$(rate "$n" "$t_rd")"
printf 'FIGURE\treplay: zstd -d of the same raw records (M events/CPU-s)\t%s\t\n' "$(rate "$n" "$t_zs")"
printf 'FIGURE\treplay: replay / zstd -d speed, every kind\t%sx\t\n' "$(ratio "$t_zs" "$t_rp")"
printf 'FIGURE\treplay: --batch, 100K connections, %s events (M events/CPU-s)\t%s\t>= 20\n' "$m" "$(rate "$m" "$t_rp2")"
printf 'FIGURE\treplay: zstd -d of the same raw records, 100K conns (M events/CPU-s)\t%s\t\n' "$(rate "$m" "$t_zs2")"
printf 'FIGURE\treplay: redraw at 100K connections, sort TX/s (ms)\t%s\t<= 20\n' "$r_tx"
printf 'FIGURE\treplay: redraw at 100K connections, sort COMM (ms)\t%s\t<= 20\n' "$r_comm"
printf 'FIGURE\treplay: seek in a 1 h capture of %s events, mean (ms)\t%s\t\n' "$h" "$seek_mean"
printf 'FIGURE\treplay: seek in a 1 h capture, worst (ms)\t%s\t\n' "$seek_worst"
printf 'FIGURE\treplay: decode of the 1 h capture from the start (ms)\t%s\t\n' "$seek_all"
