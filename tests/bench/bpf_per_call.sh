#!/usr/bin/env bash
# The kernel's own account of a recorder's programs (kernel.bpf_stats_enabled), free of the
# run-to-run noise of CPU ratios: one `iperf3 -l 100 -n 60M` transfer over loopback recorded by
# REC -P PORT ARGS..., the run_time_ns of that recorder's programs (by the prog ids of its fds:
# another recorder's, a test's, have the same names) summed, per send/recv call (sender and
# receiver both make 100-byte calls). Prints "FIGURE<TAB>NAME: ...<TAB>value<TAB>" lines (run.sh), the
# busiest programs on stderr. Used by bench_record.sh; alone, to compare two builds:
#   tests/bench/bpf_per_call.sh NAME REC [ARGS...]
# Needs root, iperf3, bpftool.
set -u
name=$1 rec=$2
shift 2
dir=$(mktemp -d /tmp/bpf_per_call.XXXXXX)
old=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	sysctl -qw kernel.bpf_stats_enabled="$old"
	[ -s "$dir/srv.pid" ] && kill "$(cat "$dir/srv.pid")" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
iperf3 -s -p "$port" -D -I "$dir/srv.pid" || exit 1
# -D returns before the server listens
for _ in $(seq 50); do
	ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
sysctl -qw kernel.bpf_stats_enabled=1
"$rec" -o "$dir/stats.tt" -f -q -P "$port" "$@" &
rp=$!
sleep 1.5
iperf3 -c 127.0.0.1 -p "$port" -l 100 -n 60M -J >"$dir/stats.json"
grep -h '^prog_id:' /proc/"$rp"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un >"$dir/ids"
bpftool prog show -j >"$dir/progs.json"
kill -INT $rp
wait $rp
/usr/bin/python3 - "$dir" "$name" <<'PY'
import json, os, sys
d, name = sys.argv[1], sys.argv[2]
ids = {int(x) for x in open(os.path.join(d, "ids")).read().split()}
progs = [p for p in json.load(open(os.path.join(d, "progs.json"))) if p["id"] in ids]
ns = sum(p.get("run_time_ns", 0) for p in progs)
j = json.load(open(os.path.join(d, "stats.json")))["end"]
calls = 2 * j["sum_sent"]["bytes"] / 100
busy = sorted(((p.get("run_time_ns", 0), p["name"], p.get("run_cnt", 0)) for p in progs),
              reverse=True)[:3]
print("FIGURE\t%s: BPF run time per 60 MB transfer (ms)\t%.2f\t" % (name, ns / 1e6))
print("FIGURE\t%s: BPF ns per iperf3 send/recv call\t%.1f\t" % (name, ns / calls))
print("   (%s: busiest programs %s)" % (name, ", ".join("%s %d runs %.1f ms" % (n, c, t / 1e6)
                                                      for t, n, c in busy)), file=sys.stderr)
PY
