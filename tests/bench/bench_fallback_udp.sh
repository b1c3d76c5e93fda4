#!/usr/bin/env bash
# What UDP per datagram costs in the sock_diag fallback (kernels before 5.12, whose hooks are
# built with a bpf_spin_lock in place of the atomics: tt_udp_{out,in}_k510) against the BPF
# source's own hooks (tt_udp_{out,in}), by the kernel's own run_time_ns / run_cnt of each, one
# recorder after the other in this run, over the same N datagrams of 64 bytes on one connected
# UDP socket over loopback (the fallback made here by refusing a required program,
# TT_TEST_REFUSE_PROG, as 5.10 refuses it). The recorder's programs are found by its pid (the
# prog_id of its fds), so another recorder's do not count. Oracle: each hook runs once per
# datagram, so each run count is at least N.
# Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); no target: a cost of old kernels
# alone. Needs root, bpftool, python3; about 15 s.
#   tests/bench/bench_fallback_udp.sh     (N in the environment, 100000)
set -u
N=${N:-100000}
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
REC=$BUILD/tcptop-record
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench_fallback_udp: needs root" >&2; exit 1; }
[ -x "$REC" ] || { echo "bench_fallback_udp: $REC missing" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "bench_fallback_udp: bpftool missing" >&2; exit 1; }
dir=$(mktemp -d)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
rp=""
rf=""
cleanup() {
	[ -n "$rp" ] && kill -INT "$rp" "$rf" 2>/dev/null && wait "$rp" "$rf"
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	rm -rf "$dir"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# both at once: every datagram runs both recorders' hooks, under the same load
"$REC" -o "$dir/bpf.tt" --udp 2>"$dir/bpf.err" &
rp=$!
env TT_TEST_REFUSE_PROG=tt_set_state "$REC" -o "$dir/fallback.tt" --udp 2>"$dir/fallback.err" &
rf=$!
sleep 2
kill -0 "$rp" "$rf" 2>/dev/null || { echo "bench_fallback_udp: a tcptop-record exited" >&2; exit 1; }
"$PY" - "$N" <<'PY'
import socket, sys
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(s.getsockname())
for i in range(n):
    c.send(b"x" * 64)
    if i % 64 == 63:  # (drained, so that none is dropped for a full buffer)
        while True:
            try:
                s.recv(100, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
PY
for m in bpf:"$rp" fallback:"$rf"; do
	grep -h '^prog_id:' /proc/"${m#*:}"/fdinfo/* 2>/dev/null | awk '{print $2}' |
		sort -un >"$dir/${m%%:*}.ids"
done
bpftool prog show -j >"$dir/progs.json"
kill -INT "$rp" "$rf"
wait "$rp" || echo "bench_fallback_udp: tcptop-record exited with $?" >&2
wait "$rf" || echo "bench_fallback_udp: tcptop-record (fallback) exited with $?" >&2
rp=
grep -q "UDP datagram counts" "$dir/fallback.err" ||
	{ echo "bench_fallback_udp: the fallback did not count UDP" >&2; exit 1; }

"$PY" - "$dir" "$N" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
ns = {}
for mode in ("bpf", "fallback"):
    ids = {int(x) for x in open(os.path.join(d, mode + ".ids")).read().split()}
    for p in json.load(open(os.path.join(d, "progs.json"))):
        if p["id"] in ids and p.get("name", "").startswith(("tt_udp_out", "tt_udp_in")):
            cnt = p.get("run_cnt", 0)
            if cnt < n:
                sys.exit("bench_fallback_udp: %s ran %d times for %d datagrams" % (p["name"], cnt, n))
            ns[p["name"]] = p["run_time_ns"] / cnt
fig = lambda name, v: print("FIGURE\tfallback udp: %s\t%s\t" % (name, v))
for base in ("tt_udp_out", "tt_udp_in"):
    k = base + "_k510"
    if base not in ns or k not in ns:
        sys.exit("bench_fallback_udp: missing %s or %s" % (base, k))
    fig("%s BPF ns per datagram" % base, "%.0f" % ns[base])
    fig("%s BPF ns per datagram" % k, "%.0f" % ns[k])
    fig("%s / %s" % (k, base), "%.3f" % (ns[k] / ns[base]))
PY
