#!/usr/bin/env bash
# What the recorder loses while an iterator walks (issue 24): a walk is one read() that returns
# when it ends, and source/src_copy.c reads the ring buffer on a second thread meanwhile.
#   start: tcptop-record started beside N open loopback connections (test_load's generator),
#     --ringbuf-kb 1024: its walk at the start writes an open per end (~5 MB at N = 10 000);
#     opens recorded against 2 x N, and records lost
#   churn: N idle connections (each pass walks their 2 x N sockets) and RATE short connections a
#     second on another port for 5 s, --ringbuf-kb 64 --coalesce 200ms: records lost, and the
#     churn's opens recorded against 2 per connection the client made
# Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh). Needs root; about 30 s.
#   tests/bench/bench_walk.sh [N [RATE]]     (defaults 10000, 1000; REC=path: another recorder;
#                                             START_KB=k: the start's ring buffer, default 1024;
#                                             START_ONLY=1: the start alone)
set -u
N=${1:-10000}
RATE=${2:-1000}
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
export TT_BUILD=$BUILD
[ "$(id -u)" = 0 ] || { echo "bench_walk: needs root" >&2; exit 1; }
[ -x "$BUILD/tcptop-record" ] || { echo "bench_walk: $BUILD/tcptop-record missing" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench_walk.XXXXXX)
trap '[ -n "${KEEP:-}" ] && cp -r "$dir" "$KEEP"; rm -rf "$dir"' EXIT

/usr/bin/python3 - "$here/.." "$dir" "$N" "$RATE" "${REC:-$BUILD/tcptop-record}" \
	"${START_KB:-1024}" "${START_ONLY:-}" <<'PY'
import os, socket, subprocess, sys, threading, time

tests, d, N, RATE, REC = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), \
    sys.argv[5]
START_KB, START_ONLY = int(sys.argv[6]), sys.argv[7] == "1"
sys.path.insert(0, tests)
import test_load as tl  # noqa: E402
from conftest import free_port, tool  # noqa: E402


def fig(name, value, target=""):
    print("FIGURE\twalk: %s\t%s\t%s" % (name, value, target), flush=True)


def query(cap, sql):
    r = subprocess.run([tool("tcptop-query"), cap, sql], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [int(x or 0) for x in r.stdout.splitlines()[-1].split(",")]


def record(cap, *args):
    return subprocess.Popen([REC, "-o", cap, "-f", *args], stderr=subprocess.PIPE, text=True)


def stop(rec):
    rec.send_signal(2)
    err = rec.communicate()[1]
    assert rec.returncode == 0, err
    return err


procs = []
try:
    port, cport = free_port(), free_port()
    srvs, clis, _ = tl.open_conns(N, port, procs)

    cap = os.path.join(d, "start.tt")
    rec = record(cap, "-P", str(port), "--ringbuf-kb", str(START_KB))
    time.sleep(2)
    stop(rec)
    opens, lost = query(cap, "SELECT (SELECT count(*) FROM events WHERE kind = 'open'), "
                        "(SELECT sum(lost) FROM events WHERE kind = 'lost')")
    fig("start beside %d connections, %d KiB ring: opens recorded / ends" % (N, START_KB),
        "%d / %d" % (opens, 2 * N), "equal")
    fig("start beside %d connections, %d KiB ring: records lost" % (N, START_KB), lost, "0")
    if START_ONLY:
        sys.exit(0)

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", cport))
    ls.listen(4096)
    done = [False]
    made = [0]

    def acceptor():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            c.close()

    def churn():
        t0 = time.monotonic()
        while not done[0]:
            s = socket.socket()
            s.connect(("127.0.0.1", cport))
            s.close()
            made[0] += 1
            wait = t0 + made[0] / RATE - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    cap = os.path.join(d, "churn.tt")
    rec = record(cap, "-P", str(port), "-P", str(cport), "--ringbuf-kb", "64",
                 "--coalesce", "200ms")
    time.sleep(3)  # its start's walk over the idle ones, whose opens a 64 KiB ring loses
    threading.Thread(target=acceptor, daemon=True).start()
    th = threading.Thread(target=churn)
    th.start()
    time.sleep(5)
    done[0] = True
    th.join()
    time.sleep(1)
    err = stop(rec)
    ls.close()
    # by direction: an idle client's ephemeral port, from its own address, can be cport
    churned = ("kind = 'open' AND ((direction = 'out' AND rport = %d) OR "
               "(direction = 'in' AND lport = %d))" % (cport, cport))
    t = query(cap, "SELECT min(ts) FROM events WHERE " + churned)[0]
    opens, lost = query(cap, "SELECT (SELECT count(*) FROM events WHERE %s), (SELECT sum(lost) "
                        "FROM events WHERE kind = 'lost' AND ts >= %d)" % (churned, t))
    fig("%d idle + %.0f/s short connections, 64 KiB ring: records lost from the first"
        % (N, RATE), lost, "")
    fig("%d idle + %.0f/s short connections: the short ones' opens / 2 per connection"
        % (N, RATE), "%d / %d" % (opens, 2 * made[0]), "equal")
    print("   (%s)" % " / ".join(err.strip().splitlines()), file=sys.stderr)
finally:
    for p in procs:
        tl.stop(p)
PY
