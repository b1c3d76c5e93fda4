#!/usr/bin/env bash
# tcptop-record overhead and capture size on `iperf3 -c 127.0.0.1 -l 100` (one event per 100-byte
# call in --raw mode). Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); progress goes
# to stderr. Everything is a ratio or a rate within this run:
#
#   throughput and CPU ratios, recorder running / not, interleaved pairs with medians
#   (../shared/tools/cpu-cost): default mode, default mode --tcp, --raw, and tcpdump -i lo -s 96
#   -w beside them
#   one --raw capture of a fixed transfer: events/s captured and lost, events per CPU second of
#   the recorder (its headroom), bytes per event on disk; the same transfer under tcpdump -s 96
#   for the file size
# Needs root, iperf3, tcpdump, GNU time. About 2-3 minutes on 2 shared cores.
#   tests/bench/bench_record.sh [PAIRS]
set -u
PAIRS=${1:-5}
BYTES=20M
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
REC=$BUILD/tcptop-record
COST=${TT_CPU_COST:-$here/../../../shared/tools/cpu-cost}
[ "$(id -u)" = 0 ] || { echo "bench_record: needs root" >&2; exit 1; }
for x in "$REC" "$COST"; do
	[ -x "$x" ] || { echo "bench_record: $x missing" >&2; exit 1; }
done
for c in iperf3 tcpdump /usr/bin/time /usr/bin/python3; do
	command -v "$c" >/dev/null || { echo "bench_record: $c missing" >&2; exit 1; }
done
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
dir=$(mktemp -d /tmp/bench_record.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$dir"' EXIT

fig() { printf 'FIGURE\t%s\t%s\t%s\n' "$1" "$2" "$3"; }

# cost NAME TARGET CMD...: cpu-cost pairs; figures for the throughput and CPU ratios
cost() {
	local name=$1 target=$2 out line
	shift 2
	echo "-- $name: $PAIRS interleaved pairs of iperf3 -l 100 -n $BYTES" >&2
	out=$("$COST" -n "$PAIRS" -l 100 -b "$BYTES" -- "$@" 2>&1)
	echo "$out" | grep '^pair' >&2
	line=$(echo "$out" | grep '^median') || { echo "$out" >&2; return 1; }
	# "median cost ratio X  median throughput ratio Y"
	fig "$name: throughput with / without (median)" "$(echo "$line" | awk '{print $8}')" "$target"
	fig "$name: CPU with / without (median)" "$(echo "$line" | awk '{print $4}')" ""
}

cost "record (default, coalesce 1s)" ">=0.97" "$REC" -o "$dir/cost.tt" -f -q
# --tcp: no per-call program at all (UDP's are the default mode's only per-call cost)
cost "record --tcp (default mode)" "" "$REC" -o "$dir/cost.tt" -f -q --tcp
cost "record --raw" ">=0.85" "$REC" -o "$dir/cost.tt" -f -q --raw
cost "tcpdump -i lo -s 96 -w" "" tcpdump -i lo -s 96 -w "$dir/cost.pcap" -q

# One fixed transfer captured in --raw mode, then the same under tcpdump.
port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
iperf3 -s -p "$port" -D -I "$dir/srv.pid" || exit 1
sleep 0.5
srv=$(cat "$dir/srv.pid")
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# transfer OUT.json: iperf3 client, 60 MB in 100-byte writes
transfer() { iperf3 -c 127.0.0.1 -p "$port" -l 100 -n 60M -J >"$1"; }

echo "-- record --raw: one 60 MB transfer" >&2
"$REC" -o "$dir/raw.tt" -f --raw -P "$port" 2>"$dir/raw.err" &
rp=$!
sleep 1.5
t0=$(ticks $rp)
transfer "$dir/raw.json"
t1=$(ticks $rp)
kill -INT $rp
wait $rp
cat "$dir/raw.err" >&2
echo "-- tcpdump -i lo -s 96: the same transfer" >&2
tcpdump -i lo -s 96 -w "$dir/same.pcap" -q "tcp port $port" 2>"$dir/td.err" &
tp=$!
sleep 1.5
transfer "$dir/td.json"
sleep 0.3
kill -INT $tp
wait $tp
cat "$dir/td.err" >&2

/usr/bin/python3 - "$dir" "$(( t1 - t0 ))" <<'PY'
import json, os, re, sys
d, ticks = sys.argv[1], int(sys.argv[2])
err = open(os.path.join(d, "raw.err")).read()
m = re.search(r"(\d+) events, \d+ connections?, (\d+) bytes written .*?, (\d+) lost", err)
events, written, lost = (int(x) for x in m.groups())
j = json.load(open(os.path.join(d, "raw.json")))["end"]["sum_sent"]
secs = j["seconds"]
cpu = ticks / 100.0
td = os.path.getsize(os.path.join(d, "same.pcap"))
fig = lambda n, v, t: print("FIGURE\t%s\t%s\t%s" % (n, v, t))
fig("record --raw: events/s captured on iperf3 -l 100 (%.2f MB/s)" % (j["bytes"] / secs / 1e6),
    "%.0f" % (events / secs), ">=2M/s")
fig("record --raw: events lost", lost, "0")
fig("record --raw: events per recorder CPU second (headroom)",
    "%.0f" % (events / cpu) if cpu else "n/a", "")
fig("record --raw: bytes per event on disk", "%.2f" % (written / events), "<=3")
fig("record --raw: capture bytes for 60 MB in 100-byte writes", written, "")
fig("tcpdump -s 96: capture bytes for the same transfer", td, "")
fig("capture size, tcpdump -s 96 / record --raw", "%.1f" % (td / written), "")
PY
