#!/usr/bin/env bash
# The sampling pass over idle connections (issue 24): N open loopback connections that send
# nothing (test_load's generator), recorded by one recorder or several in turn, twice each
# (REC="build-a/tcptop-record build-b/tcptop-record": a before and after within one run). For
# each recorder and round: its CPU a second over 8 s of the hold (/proc, the kernel's accounting
# off: with kernel.bpf_stats_enabled every program run reads the clock twice, 9% of the pass at
# 100 000 connections, bench_scale.sh), then over 4 s with the accounting on the kernel's run
# time of tt_iter_tcp per socket visited (the recorder's own program by the ids in its fdinfo),
# and its exit line (its CPU per pass, averaged over all 15 s: the walk, the program, tcp_gone's
# read of tcp_live, the sweeps). Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh).
# Needs root and bpftool; about a minute at the default N of 20 000.
#   tests/bench/bench_pass.sh [N]
set -u
N=${1:-20000}
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${TT_BUILD:-$here/../../build}
export TT_BUILD=$BUILD
[ "$(id -u)" = 0 ] || { echo "bench_pass: needs root" >&2; exit 1; }
[ -x "$BUILD/tcptop-record" ] || { echo "bench_pass: $BUILD/tcptop-record missing" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench_pass.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$dir"' EXIT

/usr/bin/python3 - "$here/.." "$dir" "$N" ${REC:-$BUILD/tcptop-record} <<'PY'
import json, os, re, subprocess, sys, time

tests, d, N, recs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
sys.path.insert(0, tests)
import test_load as tl  # noqa: E402
from conftest import free_port  # noqa: E402


def iter_tcp(pid):
    """(run_time_ns, run_cnt) of the recorder's own tt_iter_tcp."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            for ln in open("/proc/%d/fdinfo/%s" % (pid, fd)):
                if ln.startswith("prog_id:"):
                    ids.add(int(ln.split()[1]))
        except OSError:
            pass
    progs = json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True,
                                      text=True, check=True).stdout)
    for p in progs:
        if p["id"] in ids and p.get("name") == "tt_iter_tcp":
            return p.get("run_time_ns", 0), p.get("run_cnt", 0)
    raise SystemExit("bench_pass: no tt_iter_tcp in the recorder")


def cpu_ms(pid):
    """The process's user and system CPU so far, all its threads (ms)."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def stats(on):
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=%d" % on], check=True)


procs = []
try:
    port = free_port()
    tl.open_conns(N, port, procs)
    for rnd in (1, 2):
        for k, rec in enumerate(recs):
            stats(0)
            r = subprocess.Popen([rec, "-o", os.path.join(d, "p.tt"), "-f", "-P", str(port)],
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(3)  # past the first pass, which opens every connection
            c0, t0 = cpu_ms(r.pid), time.monotonic()
            time.sleep(8)
            c1, t1 = cpu_ms(r.pid), time.monotonic()
            stats(1)
            a = iter_tcp(r.pid)
            time.sleep(4)
            b = iter_tcp(r.pid)
            stats(0)
            r.send_signal(2)
            err = r.communicate()[1]
            assert r.returncode == 0, err
            m = re.search(r"CPU ([0-9.]+) ms each on average", err)
            name = "recorder %d" % (k + 1) if len(recs) > 1 else "recorder"
            ns = (b[0] - a[0]) / max(1, b[1] - a[1])
            print("FIGURE\tpass: %d idle connections, %s, round %d: tt_iter_tcp ns a socket"
                  % (N, name, rnd), "%.0f" % ns, "", sep="\t")
            print("FIGURE\tpass: %d idle connections, %s, round %d: CPU ms a second of the hold"
                  " (/proc, accounting off)" % (N, name, rnd),
                  "%.1f" % ((c1 - c0) / (t1 - t0)), "", sep="\t")
            print("FIGURE\tpass: %d idle connections, %s, round %d: CPU ms a pass (exit line)"
                  % (N, name, rnd), m.group(1) if m else "?", "", sep="\t")
            if len(recs) > 1:
                print("   %s = %s" % (name, rec), file=sys.stderr)
finally:
    for p in procs:
        tl.stop(p)
PY
