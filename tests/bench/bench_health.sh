#!/usr/bin/env bash
# What issue 20's TCP health programs cost (its Budget: "measure the new programs' cost
# (kernel.bpf_stats_enabled)"): the kernel's own run_time_ns / run_cnt of each of the recorder's
# BPF programs over a scenario that makes every one of them run, in two network namespaces made
# here (A the client, B the server, joined by a veth pair):
#   a 3 s stream A -> B losing every 25th data packet (nftables on B's input, as
#     tests/test_health_retrans.py's fast scenario: a drop on A's own output is no retransmit)
#     -> tt_retrans, and tt_drop (the nftables drops)
#   SHORT short connections to a server in B that answers and closes -> tt_set_state, tt_destroy
#   REFUSED connects to a closed port of B, every other one with a timeout (the error taken with
#     SO_ERROR) -> tt_send_reset, tt_recv_reset, tt_sk_error, tt_so_error, tt_drop
#   OVERFLOW connects at once to a listener in B with backlog 1 that never accepts, given up with
#     a reset after 2.5 s -> accept-queue overflows, SYN retransmits, tt_drop
# and the sampling pass (tt_iter_tcp) over all of it, recorded by `tcptop-record` in its default
# mode. The recorder's programs are found by its pid: the prog_id of each BPF fd in
# /proc/PID/fdinfo (this bpftool lists no pids), their names and counters from `bpftool prog show`
# read while it still runs. The programs are the machine's, not the namespaces': other work on the
# machine runs them too, so run counts are at least the scenario's.
# Oracle: tt_retrans runs once per attempt to retransmit an skb, which here (gso_max_segs 1 on A's
# veth) is one segment: its runs are at least TcpRetransSegs (nstat, both namespaces), more by the
# attempts that failed (-EBUSY: the original still queued below TCP), which no counter counts; the
# segments it recorded for the namespaces' connections (tcptop-query) equal TcpRetransSegs less
# B's SYN-ACKs resent (tcp_rtx_synack, another tracepoint). tt_drop runs at least once per packet
# nftables dropped (the rule's counter).
# Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); the issue gives no target. Needs
# root, bpftool, nft, nstat, python3; about 6 s.
#   tests/bench/bench_health.sh      (SHORT, REFUSED, OVERFLOW in the environment; 300, 200, 60;
#                                     KEEP=FILE keeps the capture)
set -u
SHORT=${SHORT:-300}
REFUSED=${REFUSED:-200}
OVERFLOW=${OVERFLOW:-60}
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
REC=$BUILD/tcptop-record
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench_health: needs root" >&2; exit 1; }
[ -x "$REC" ] || { echo "bench_health: $REC missing" >&2; exit 1; }
for c in bpftool nft nstat ip "$PY"; do
	command -v "$c" >/dev/null || { echo "bench_health: $c missing" >&2; exit 1; }
done
[ -e /proc/sys/kernel/bpf_stats_enabled ] || {
	echo "bench_health: this kernel has no kernel.bpf_stats_enabled" >&2
	exit 1
}

NET=10.214.77
tag=ttbh$$
A=${tag}a
B=${tag}b
dir=$(mktemp -d /tmp/bench_health.XXXXXX)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
rp=''
srv=''
cleanup() {
	[ -n "$rp" ] && kill -INT "$rp" 2>/dev/null && wait "$rp" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

if ! { ip netns add "$A" && ip netns add "$B" &&
	ip link add "${tag}x" netns "$A" type veth peer name "${tag}y" netns "$B" &&
	ip -n "$A" addr add "$NET.1/24" dev "${tag}x" &&
	ip -n "$B" addr add "$NET.2/24" dev "${tag}y" &&
	ip -n "$A" link set "${tag}x" gso_max_segs 1 && # an skb per segment: a run per packet resent
	ip -n "$A" link set "${tag}x" up && ip -n "$B" link set "${tag}y" up &&
	ip -n "$A" link set lo up && ip -n "$B" link set lo up; }; then
	echo "bench_health: cannot make network namespaces here" >&2
	exit 1
fi

# B's servers, one thread each: 5401 reads a stream to its end, 5402 answers each connection's
# request and closes, 5403 listens with backlog 1 and never accepts; nothing listens on 5404
cat >"$dir/server.py" <<'PY'
import socket, threading, time

def listener(port, backlog):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(backlog)
    return s

def reader(s):
    while True:
        c, _ = s.accept()
        while c.recv(1 << 16):
            pass
        c.close()

def answerer(s):
    while True:
        c, _ = s.accept()
        c.recv(512)
        c.sendall(b"r" * 200)
        c.close()

keep = listener(5403, 1)
for port, body in ((5401, reader), (5402, answerer)):
    threading.Thread(target=body, args=(listener(port, 128),), daemon=True).start()
print("ready", flush=True)
time.sleep(120)
PY

# A's clients, all at once: the lossy stream, the short connections, the refused connects, the
# connects that overflow the listener (held 2.5 s, then reset: their SYN retransmits stop)
cat >"$dir/client.py" <<'PY'
import socket, sys, threading, time
host = sys.argv[1]
short, refused, overflow = (int(x) for x in sys.argv[2:5])

def stream():
    s = socket.create_connection((host, 5401))
    end = time.time() + 3
    while time.time() < end:
        s.sendall(b"x" * 65536)
    s.close()

def shorts():
    for _ in range(short):
        s = socket.create_connection((host, 5402))
        s.sendall(b"q" * 100)
        while s.recv(4096):
            pass
        s.close()

def refuse():
    for i in range(refused):
        s = socket.socket()
        if i % 2:  # connect() with a timeout: poll(), then getsockopt(SO_ERROR) -> tt_so_error
            s.settimeout(5)
        try:
            s.connect((host, 5404))
        except ConnectionRefusedError:
            pass
        s.close()

def overflows():
    cs = []
    for _ in range(overflow):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex((host, 5403))
        cs.append(c)
    time.sleep(2.5)
    for c in cs:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        c.close()

ts = [threading.Thread(target=f) for f in (stream, shorts, refuse, overflows)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY

ip netns exec "$B" "$PY" "$dir/server.py" >"$dir/server.out" &
srv=$!
for _ in $(seq 50); do
	grep -q ready "$dir/server.out" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$dir/server.out" || { echo "bench_health: the server in $B did not start" >&2; exit 1; }
ip netns exec "$B" nft -f - <<EOF || exit 1
table inet $tag {
	chain c {
		type filter hook input priority 0;
		tcp dport 5401 meta length > 200 numgen inc mod 25 == 0 counter drop
	}
}
EOF

sysctl -qw kernel.bpf_stats_enabled=1
"$REC" -o "$dir/health.tt" -f 2>"$dir/rec.err" &
rp=$!
sleep 1.5
kill -0 "$rp" 2>/dev/null || { echo "bench_health: tcptop-record exited at once" >&2; rp=; exit 1; }
ip netns exec "$A" nstat -asz --json >"$dir/a0.json"
ip netns exec "$B" nstat -asz --json >"$dir/b0.json"
t0=$(date +%s.%N)
ip netns exec "$A" "$PY" "$dir/client.py" "$NET.2" "$SHORT" "$REFUSED" "$OVERFLOW" ||
	echo "bench_health: the clients failed" >&2
sleep 1.2 # a sampling pass after the last close (default interval 1 s)
t1=$(date +%s.%N)
ip netns exec "$A" nstat -asz --json >"$dir/a1.json"
ip netns exec "$B" nstat -asz --json >"$dir/b1.json"
# the recorder's programs: every prog_id among its fds (its programs and their links)
grep -h '^prog_id:' /proc/"$rp"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un >"$dir/ids"
bpftool prog show -j >"$dir/progs.json"
now_stats=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled="$old_stats"
kill -INT "$rp"
wait "$rp" || echo "bench_health: tcptop-record exited with $?" >&2
rp=
# its statistics at exit: a record it lost would be a retransmit missing from the oracle's check
grep -i lost "$dir/rec.err" | sed 's/^/   (tcptop-record: /; s/$/)/' >&2
[ "$now_stats" = 1 ] || echo "bench_health: kernel.bpf_stats_enabled was set to $now_stats" \
	"by someone else during the run: run times are short" >&2
ip netns exec "$B" nft -j list table inet "$tag" >"$dir/nft.json"
[ -n "${KEEP:-}" ] && cp "$dir/health.tt" "$KEEP"
# what tt_retrans recorded for the namespaces' connections: its runs less the failed attempts
"$BUILD/tcptop-query" "$dir/health.tt" "SELECT count(*) AS n, coalesce(sum(retrans), 0) AS segs
	FROM events WHERE kind = 'retrans' AND conn_id IN (SELECT id FROM connections
	WHERE laddr LIKE '$NET.%' OR raddr LIKE '$NET.%')" >"$dir/retrans.csv" ||
	echo "bench_health: tcptop-query failed" >&2

"$PY" - "$dir" "$t0" "$t1" <<'PY'
import json, os, sys
d, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
load = lambda n: json.load(open(os.path.join(d, n)))
ids = {int(x) for x in open(os.path.join(d, "ids")).read().split()}
progs = [p for p in load("progs.json") if p["id"] in ids]
if not progs:
    sys.exit("bench_health: found none of the recorder's programs")

def nstat(n):
    j = load(n)
    return j.get("kernel", j)

def delta(key):
    return sum(nstat(n + "1.json").get(key, 0) - nstat(n + "0.json").get(key, 0) for n in "ab")

fig = lambda n, v: print("FIGURE\thealth: %s\t%s\t" % (n, v))
total = 0
ran = {}
for p in sorted(progs, key=lambda p: p["name"]):
    cnt, ns = p.get("run_cnt", 0), p.get("run_time_ns", 0)
    total += ns
    if cnt:
        ran[p["name"]] = cnt
        fig("%s BPF ns per run (%d runs)" % (p["name"], cnt), "%.0f" % (ns / cnt))
fig("recorder's BPF ms in all, over %.1f s of scenario" % (t1 - t0), "%.2f" % (total / 1e6))
print("   (%d of the recorder's %d programs ran; none ran: %s)" % (
    len(ran), len(progs), ", ".join(sorted(p["name"] for p in progs if not p.get("run_cnt")))),
    file=sys.stderr)
segs = delta("TcpRetransSegs")
fig("tt_retrans runs / TcpRetransSegs of both namespaces",
    "%d / %d" % (ran.get("tt_retrans", 0), segs))
try:
    n, rsegs = open(os.path.join(d, "retrans.csv")).read().split()[1].split(",")
except (OSError, IndexError, ValueError):
    n = rsegs = "failed"
# B only serves: its TCPSynRetrans are SYN-ACKs, resent from request sockets through
# tcp_rtx_synack(), which counts in TcpRetransSegs but is not tcp_retransmit_skb
synack = nstat("b1.json").get("TcpExtTCPSynRetrans", 0) - nstat("b0.json").get("TcpExtTCPSynRetrans", 0)
fig("recorded retransmit segments / TcpRetransSegs less SYN-ACKs", "%s / %d" % (rsegs, segs - synack))
print("   (%s retransmit records of the namespaces' connections; %d SYN-ACKs resent; tt_retrans runs "
      "beyond the records are failed attempts, -EBUSY, that count nowhere, and the rest of the "
      "machine's)" % (n, synack), file=sys.stderr)
dropped = sum(e["counter"]["packets"] for r in load("nft.json")["nftables"] if "rule" in r
              for e in r["rule"]["expr"] if "counter" in e)
fig("tt_drop runs / nftables drops (at least equal)", "%d / %d" % (ran.get("tt_drop", 0), dropped))
print("   (nstat of both namespaces: TcpRetransSegs %d, TcpExtTCPFastRetrans %d, TcpExtTCPTimeouts %d, "
      "TcpExtTCPRetransFail %d, TcpExtTCPSynRetrans %d, TcpExtListenOverflows %d, TcpActiveOpens %d, "
      "TcpAttemptFails %d, TcpOutRsts %d)" % (
          segs, delta("TcpExtTCPFastRetrans"), delta("TcpExtTCPTimeouts"),
          delta("TcpExtTCPRetransFail"), delta("TcpExtTCPSynRetrans"),
          delta("TcpExtListenOverflows"), delta("TcpActiveOpens"), delta("TcpAttemptFails"),
          delta("TcpOutRsts")), file=sys.stderr)
PY
