#!/usr/bin/env bash
# What TCP's state changes cost in the sock_diag fallback (kernels before 5.12: tt_state_k510,
# bpf/tcp_fallback.bpf.c, which tells the changes and the close of the connections sock_diag
# follows, by cookie) against the BPF source's own program on that tracepoint (tt_set_state), by
# the kernel's own run_time_ns / run_cnt of each, both recorders at once (the fallback made here
# by refusing a required program, TT_TEST_REFUSE_PROG, as 5.10 refuses it): N connections over
# loopback held open across two of sock_diag's polls (so that their sockets have cookies and are
# followed: the costly path), then closed, each end through its closing states. The recorders'
# programs are found by their pids (the prog_id of their fds). Oracle: both programs run on one
# tracepoint, so each runs at least the 6 changes per connection the closes make (an end's
# FIN_WAIT1, FIN_WAIT2, CLOSE; CLOSE_WAIT, LAST_ACK, CLOSE), and the fallback's capture closes
# every one of them. Then N short connections, most opened and closed between two polls, which
# the fallback writes whole at their close from the start it kept of each: all 2N ends closed.
# Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); no target: a cost of old kernels
# alone. Needs root, bpftool, python3; about 15 s.
#   tests/bench/bench_fallback_tcp.sh     (N in the environment, 2000)
set -u
N=${N:-2000}
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
REC=$BUILD/tcptop-record
QUERY=$BUILD/tcptop-query
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench_fallback_tcp: needs root" >&2; exit 1; }
[ -x "$REC" ] || { echo "bench_fallback_tcp: $REC missing" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "bench_fallback_tcp: bpftool missing" >&2; exit 1; }
dir=$(mktemp -d)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
rp=""
rf=""
cleanup() {
	[ -n "$rp" ] && kill -INT "$rp" "$rf" 2>/dev/null && wait "$rp" "$rf"
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
port2=$(free_port)
sysctl -qw kernel.bpf_stats_enabled=1
"$REC" -o "$dir/bpf.tt" -P "$port" -P "$port2" 2>"$dir/bpf.err" &
rp=$!
env TT_TEST_REFUSE_PROG=tt_set_state "$REC" -o "$dir/fallback.tt" -P "$port" -P "$port2" \
	2>"$dir/fallback.err" &
rf=$!
sleep 2
kill -0 "$rp" "$rf" 2>/dev/null || { echo "bench_fallback_tcp: a tcptop-record exited" >&2; exit 1; }
"$PY" - "$N" "$port" <<'PY' || exit 1
import resource, socket, sys, time
n, port = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (4 * n + 64, 4 * n + 64))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1024)
pairs = []
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = srv.accept()
    c.sendall(b"x" * 100)
    a.recv(100)
    pairs.append((c, a))
time.sleep(2.5)  # two polls of sock_diag (1 s apart): every socket has its cookie
for c, a in pairs:
    c.close()  # FIN_WAIT1, then FIN_WAIT2 at the ACK; the peer CLOSE_WAIT
    a.recv(1)
    a.close()  # LAST_ACK, CLOSE at the ACK; the client CLOSE (TIME_WAIT)
PY
sleep 2  # the closes' polls
for m in bpf:"$rp" fallback:"$rf"; do
	grep -h '^prog_id:' /proc/"${m#*:}"/fdinfo/* 2>/dev/null | awk '{print $2}' |
		sort -un >"$dir/${m%%:*}.ids"
done
bpftool prog show -j >"$dir/held.json"
# then N short connections on a port of their own, each opened, used and closed within ~a
# millisecond: most between two polls, which the fallback writes whole at their close from the
# start it kept (k510_starts: the map operations are that path's cost)
"$PY" - "$N" "$port2" <<'PY' || exit 1
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = srv.accept()
    c.sendall(b"y" * 100)
    a.recv(100)
    c.close()
    a.recv(1)
    a.close()
PY
sleep 2  # a poll after the last
bpftool prog show -j >"$dir/short.json"
kill -INT "$rp" "$rf"
wait "$rp" || echo "bench_fallback_tcp: tcptop-record exited with $?" >&2
wait "$rf" || echo "bench_fallback_tcp: tcptop-record (fallback) exited with $?" >&2
rp=
grep -q "TCP handshakes, state changes and closes" "$dir/fallback.err" ||
	{ echo "bench_fallback_tcp: the fallback did not load tt_state_k510" >&2; exit 1; }
for p in "$port" "$port2"; do
	closed=$("$QUERY" "$dir/fallback.tt" "SELECT count(*) FROM connections WHERE closed = 1 AND (lport = $p OR rport = $p)" | tail -1)
	[ "$closed" = $((2 * N)) ] ||
		{ echo "bench_fallback_tcp: the fallback closed $closed of $((2 * N)) ends on $p" >&2; exit 1; }
done

"$PY" - "$dir" "$N" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
names = ("tt_set_state", "tt_state_k510")
def runs(snap):
    """{(mode, program): (run_cnt, run_time_ns)} of the two recorders in a snapshot"""
    got = {}
    for mode in ("bpf", "fallback"):
        ids = {int(x) for x in open(os.path.join(d, mode + ".ids")).read().split()}
        for p in json.load(open(os.path.join(d, snap + ".json"))):
            if p["id"] in ids and p.get("name", "") in names:
                got[p["name"]] = (p.get("run_cnt", 0), p.get("run_time_ns", 0))
    if len(got) != 2:
        sys.exit("bench_fallback_tcp: missing a program: %s" % sorted(got))
    return got
held, short = runs("held"), runs("short")
fig = lambda name, v: print("FIGURE\tfallback tcp: %s\t%s\t" % (name, v))
for phase, before, after in (("held", {k: (0, 0) for k in names}, held), ("short", held, short)):
    ns = {}
    for k in names:
        cnt = after[k][0] - before[k][0]
        # each connection's ends change state at least 6 times (short ones 8: the handshake's)
        if cnt < 6 * n:
            sys.exit("bench_fallback_tcp: %s ran %d times for %d connections" % (k, cnt, n))
        ns[k] = (after[k][1] - before[k][1]) / cnt
    fig("%s: tt_set_state BPF ns per state change" % phase, "%.0f" % ns["tt_set_state"])
    fig("%s: tt_state_k510 BPF ns per state change" % phase, "%.0f" % ns["tt_state_k510"])
    fig("%s: tt_state_k510 / tt_set_state" % phase,
        "%.3f" % (ns["tt_state_k510"] / ns["tt_set_state"]))
PY
