#!/usr/bin/env bash
# tcptop-record overhead beside its peers, and capture size, on `iperf3 -c 127.0.0.1 -l 100` (an
# event per socket and millisecond in --raw mode, one per 100-byte call with --raw-slice 0).
# Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh), then the overhead figures again
# as a markdown table (issue 15) to paste into docs/BENCHMARKS.md; progress goes to stderr.
# Everything is a ratio or a rate within this run:
#
#   CPU cost and throughput ratios, tracer running / not, PAIRS interleaved pairs of iperf3 -l 100
#   -n 60M with medians (../shared/tools/cpu-cost -n PAIRS -l 100 -b 60M), for tcptop-record in
#   its default mode, --tcp, --raw and --raw-slice 0, and beside it tcpdump -i lo -s 96 -w,
#   libbpf-tools tcplife, and bpftrace doing nothing but count() on every call of the tracepoint
#   our per-call program uses (sock:sock_send_length). A peer that is not installed is said on
#   stderr and its row says "missing"; a tracer that exits at once or ignores SIGINT is said and
#   its row says "failed" (cpu-cost would otherwise measure an absent tracer as free)
#   one --raw-slice 0 capture of a fixed transfer: events/s captured and lost, events per CPU
#   second of the recorder (its headroom), bytes per event on disk; the same transfer under
#   tcpdump -s 96 for the file size
# Needs root, iperf3, GNU time; the peers need tcpdump, libbpf-tools (tcplife), bpftrace. About
# 3 minutes with 6 pairs on 2 shared cores (longer when they are busy).
#   tests/bench/bench_record.sh [PAIRS]     (or PAIRS=N in the environment; default 6)
set -u
PAIRS=${1:-${PAIRS:-6}}
BYTES=60M
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
REC=$BUILD/tcptop-record
COST=${TT_CPU_COST:-$here/../../../shared/tools/cpu-cost}
TCPLIFE=${TT_TCPLIFE:-/usr/sbin/tcplife}
[ "$(id -u)" = 0 ] || { echo "bench_record: needs root" >&2; exit 1; }
for x in "$REC" "$COST"; do
	[ -x "$x" ] || { echo "bench_record: $x missing" >&2; exit 1; }
done
for c in iperf3 /usr/bin/time /usr/bin/python3; do
	command -v "$c" >/dev/null || { echo "bench_record: $c missing" >&2; exit 1; }
done
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
dir=$(mktemp -d /tmp/bench_record.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$dir"' EXIT

fig() { printf 'FIGURE\t%s\t%s\t%s\n' "$1" "$2" "$3"; }

# The markdown table: one row per tracer, "CPU cost (throughput)" medians.
rows=()
row() { rows+=("| $1 | $2 | $3 |"); }

# starts NAME CMD...: the tracer keeps running for 2 s and stops on SIGINT; says why not on stderr.
starts() {
	local name=$1 p
	shift
	"$@" >"$dir/start.log" 2>&1 &
	p=$!
	sleep 2
	if ! kill -0 "$p" 2>/dev/null; then
		wait "$p"
		echo "bench_record: $name exited at once (status $?): $(grep -v RLIMIT_MEMLOCK "$dir/start.log" | head -1)" >&2
		return 1
	fi
	kill -INT "$p"
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$p" 2>/dev/null; then
		kill -KILL "$p"
		wait "$p"
		echo "bench_record: $name did not stop within 5 s of SIGINT" >&2
		return 1
	fi
	wait "$p"
	return 0
}

# cost NAME ROW CPU_TARGET THROUGHPUT_TARGET CMD...: cpu-cost pairs; figures NAME for the
# throughput and CPU ratios, and the table's row ROW
cost() {
	local name=$1 label=$2 ctarget=$3 ttarget=$4 out line c=failed t=failed
	shift 4
	if starts "$name" "$@"; then
		echo "-- $name: $PAIRS interleaved pairs of iperf3 -l 100 -n $BYTES" >&2
		out=$("$COST" -n "$PAIRS" -l 100 -b "$BYTES" -- "$@" 2>&1)
		echo "$out" | grep '^pair' >&2
		# "median cost ratio X  median throughput ratio Y" (of an even count: a mean, unrounded)
		if line=$(echo "$out" | grep '^median'); then
			c=$(echo "$line" | awk '{printf "%.3f", $4}')
			t=$(echo "$line" | awk '{printf "%.3f", $8}')
		else
			echo "$out" >&2
		fi
	fi
	fig "$name: throughput with / without (median)" "$t" "$ttarget"
	fig "$name: CPU with / without (median)" "$c" "$ctarget"
	if [ "$c" = failed ]; then
		row "$label" failed "$ctarget"
		return 1
	fi
	row "$label" "$c ($t)" "$ctarget"
}

# missing NAME ROW WHY: a peer that is not here, said in one line and kept in the table
missing() {
	echo "bench_record: peer $1 missing: $3" >&2
	fig "$1: throughput with / without (median)" missing ""
	fig "$1: CPU with / without (median)" missing ""
	row "$2" missing "(peer)"
}

cost "record (default, coalesce 1s)" "tcptop-record default" "<=1.02" ">=0.97" \
	"$REC" -o "$dir/cost.tt" -f -q
# --tcp: no per-call program at all (UDP's are the default mode's only per-call cost)
cost "record --tcp (default mode)" "tcptop-record \`--tcp\`" "" "" \
	"$REC" -o "$dir/cost.tt" -f -q --tcp
cost "record --raw" "tcptop-record \`--raw\`" "<=1.15" ">=0.85" \
	"$REC" -o "$dir/cost.tt" -f -q --raw
cost "record --raw-slice 0" "tcptop-record \`--raw-slice 0\` (an event per call)" "" "" \
	"$REC" -o "$dir/cost.tt" -f -q --raw-slice 0
if command -v tcpdump >/dev/null; then
	cost "tcpdump -i lo -s 96 -w" "\`tcpdump -i lo -s 96 -w\`" "(peer)" "" \
		tcpdump -i lo -s 96 -w "$dir/cost.pcap" -q
else
	missing "tcpdump -i lo -s 96 -w" "\`tcpdump -i lo -s 96 -w\`" "tcpdump not installed (Debian package tcpdump)"
fi
# tcplife: a line per closed TCP connection, to a file (exec, so that SIGINT reaches tcplife)
if [ -x "$TCPLIFE" ]; then
	# shellcheck disable=SC2016
	cost "tcplife" "tcplife" "(peer)" "" sh -c 'exec "$0" >"$1"' "$TCPLIFE" "$dir/tcplife.txt" &&
		echo "   (tcplife saw $(($(wc -l <"$dir/tcplife.txt") - 1)) connections in the last pair)" >&2
else
	missing "tcplife" "tcplife" "$TCPLIFE not installed (Debian package libbpf-tools)"
fi
# bpftrace: about the least a per-call program on our tracepoint can cost, one count() per call
bt_name="bpftrace count() on sock:sock_send_length"
bt_row="bpftrace, bare per-call count on sock_send_length"
if ! command -v bpftrace >/dev/null; then
	missing "$bt_name" "$bt_row" "bpftrace not installed (Debian package bpftrace)"
elif [ ! -d /sys/kernel/tracing/events/sock/sock_send_length ]; then
	missing "$bt_name" "$bt_row" "this kernel has no tracepoint sock:sock_send_length"
else
	cost "$bt_name" "$bt_row" "(peer)" "" \
		bpftrace -o "$dir/bpftrace.txt" -e 'tracepoint:sock:sock_send_length { @n = count(); }' &&
		echo "   (bpftrace counted $(awk '/^@n:/ {print $2}' "$dir/bpftrace.txt") calls in the last pair)" >&2
fi

# One fixed transfer captured with an event per call, then the same under tcpdump.
port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
iperf3 -s -p "$port" -D -I "$dir/srv.pid" || exit 1
sleep 0.5
srv=$(cat "$dir/srv.pid")
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# transfer OUT.json: iperf3 client, 60 MB in 100-byte writes
transfer() { iperf3 -c 127.0.0.1 -p "$port" -l 100 -n 60M -J >"$1"; }

echo "-- record --raw-slice 0: one 60 MB transfer" >&2
"$REC" -o "$dir/raw.tt" -f --raw-slice 0 -P "$port" 2>"$dir/raw.err" &
rp=$!
sleep 1.5
t0=$(ticks $rp)
transfer "$dir/raw.json"
t1=$(ticks $rp)
kill -INT $rp
wait $rp
cat "$dir/raw.err" >&2
if command -v tcpdump >/dev/null; then
	echo "-- tcpdump -i lo -s 96: the same transfer" >&2
	tcpdump -i lo -s 96 -w "$dir/same.pcap" -q "tcp port $port" 2>"$dir/td.err" &
	tp=$!
	sleep 1.5
	transfer "$dir/td.json"
	sleep 0.3
	kill -INT $tp
	wait $tp
	cat "$dir/td.err" >&2
fi

# The kernel's own account of our programs' run time (bpf_per_call.sh), free of the run-to-run
# noise of the ratios above: one transfer per mode.
bpf_time() { # NAME ARGS...: figures for one transfer recorded with ARGS
	local name=$1
	shift
	"$here/bpf_per_call.sh" "$name" "$REC" "$@"
}
if command -v bpftool >/dev/null && [ -e /proc/sys/kernel/bpf_stats_enabled ]; then
	echo "-- BPF run time per transfer (kernel.bpf_stats_enabled)" >&2
	bpf_time "record default"
	bpf_time "record --raw" --raw
	bpf_time "record --raw-slice 0" --raw-slice 0
else
	echo "bench_record: no bpftool or kernel.bpf_stats_enabled: BPF run times left out" >&2
fi

/usr/bin/python3 - "$dir" "$(( t1 - t0 ))" <<'PY'
import json, os, re, sys
d, ticks = sys.argv[1], int(sys.argv[2])
err = open(os.path.join(d, "raw.err")).read()
m = re.search(r"(\d+) events, \d+ connections?, (\d+) bytes written .*?, (\d+) lost", err)
events, written, lost = (int(x) for x in m.groups())
j = json.load(open(os.path.join(d, "raw.json")))["end"]["sum_sent"]
secs = j["seconds"]
cpu = ticks / 100.0
pcap = os.path.join(d, "same.pcap")
td = os.path.getsize(pcap) if os.path.exists(pcap) else None
fig = lambda n, v, t: print("FIGURE\t%s\t%s\t%s" % (n, v, t))
fig("record --raw-slice 0: events/s captured on iperf3 -l 100 (%.2f MB/s)" % (j["bytes"] / secs / 1e6),
    "%.0f" % (events / secs), ">=2M/s")
fig("record --raw-slice 0: events lost", lost, "0")
fig("record --raw-slice 0: events per recorder CPU second (headroom)",
    "%.0f" % (events / cpu) if cpu else "n/a", "")
fig("record --raw-slice 0: bytes per event on disk", "%.2f" % (written / events), "<=3")
fig("record --raw-slice 0: capture bytes for 60 MB in 100-byte writes", written, "")
fig("tcpdump -s 96: capture bytes for the same transfer", "missing" if td is None else td, "")
fig("capture size, tcpdump -s 96 / record --raw-slice 0",
    "missing" if td is None else "%.1f" % (td / written), "")
PY

echo
echo "Recorder overhead beside its peers, \`cpu-cost -n $PAIRS -l 100 -b $BYTES\` (iperf3 -l 100 -n $BYTES"
echo "over loopback, $PAIRS interleaved pairs, medians; CPU cost ratio, throughput ratio in parentheses):"
echo
echo "| tracer | CPU cost (throughput) | target |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
