"""Live tcptop on real loopback traffic (root and a BPF build): the curses view in tmux,
batch snapshots, recording while viewing, and the refusal without root."""
import calendar
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import free_port, needs_bpf, needs_cmd, run, tool
from helpers.capture import query_json
from helpers.recorder import wait_header
from test_replay import REPLAY, assert_iperf_totals, batch_snapshots, dump_json

TCPTOP = tool("tcptop")
pytestmark = [needs_bpf, needs_cmd("iperf3", "tmux"),
              pytest.mark.skipif(not os.path.exists(TCPTOP), reason="tcptop not built")]


class Iperf:
    """iperf3 server + client on 127.0.0.1, the client running for secs."""

    def __init__(self, secs, port, *args):
        self.port = port
        self.srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.4)
        self.cli = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J"] +
                                    (list(args) or ["-t", str(secs)]), stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)

    def result(self):
        out, _ = self.cli.communicate(timeout=60)
        self.srv.wait(timeout=10)
        return json.loads(out)

    def stop(self):
        for p in (self.cli, self.srv):
            if p.poll() is None:
                p.kill()
                p.wait()


def view_bytes(cell):
    """A byte count as the view shows it: 1.5MB is 1.5 MiB (common/util.c human())."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    assert cell.endswith("B"), cell
    cell = cell[:-1]
    return float(cell[:-1]) * units[cell[-1]] if cell[-1] in units else float(cell)


def test_view_shows_running_iperf3(tmp_path):
    """The view's TX/s of iperf3's data connection, read off the screen while it runs, is the
    rate iperf3 paces itself to (5 MB/s), within 25 %, on several screens in a row."""
    port = free_port()
    name = "tt-live-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                    "%s --port %d --sort TX/s" % (TCPTOP, port)], check=True)
    ip = None
    try:
        wait_pane(name, lambda t: "LIVE" in t)
        ip = Iperf(0, port, "-t", "8", "-b", "40M")
        seen, rows = [], set()
        end = time.time() + 20
        while time.time() < end and len(seen) < 4:
            time.sleep(0.7)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            for line in screen.splitlines():
                f = line.split()
                # PID COMM PROTO LOCAL REMOTE STATE TX/s ...: the data connection, sending
                if len(f) >= 8 and f[1] == "iperf3" and f[6] not in ("0", "-") \
                        and f[4].endswith(":%d" % port) and view_bytes(f[6]) > 1e6:
                    # one tick read twice is the same row (its totals grow at every tick);
                    # the header around it may have changed meanwhile
                    if line not in rows:
                        rows.add(line)
                        seen.append(view_bytes(f[6]))
        assert len(seen) >= 3, (seen, screen)
        # the first screen may hold a partial first second; the others are steady: each
        # tick's rate covers the bytes up to that tick (tcptop samples on it), never 0 then
        # twice the pace as when the source's own sampling drifted across the ticks
        assert all(abs(r - 5e6) <= 0.25 * 5e6 for r in seen[1:]), seen
        assert "LIVE" in screen and "port=%d" % port in screen
        ip.result()
        subprocess.run(["tmux", "send-keys", "-t", name, "q"])
        end = time.time() + 5
        while time.time() < end and subprocess.run(["tmux", "has-session", "-t", name],
                                                   capture_output=True).returncode == 0:
            time.sleep(0.1)
        assert subprocess.run(["tmux", "has-session", "-t", name],
                              capture_output=True).returncode != 0
    finally:
        if ip:
            ip.stop()
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def iperf_rate(res, t0, a, b):
    """Bytes/s iperf3's client says it sent over [a, b] (wall s), its test begun at t0: its
    -J intervals, each taken as steady within itself, weighted by their overlap with [a, b]."""
    n = 0.0
    for iv in res["intervals"]:
        s, e = t0 + iv["sum"]["start"], t0 + iv["sum"]["end"]
        if e > s:
            n += iv["sum"]["bytes"] * max(0.0, min(b, e) - max(a, s)) / (e - s)
    return n / (b - a)


def data_rates(csv_path, cap, res, port):
    """The iperf3 client data connection's rates as [(a, b, tx_rate)] from tcptop's CSV (each
    snapshot's interval: from the one before it), and t0, the time its open was recorded
    (iperf3 starts its intervals a few ms after its streams connect)."""
    import csv as csvmod
    lport = res["start"]["connected"][0]["local_port"]
    rows = [x for x in csvmod.DictReader(open(csv_path))]
    stamps = sorted({int(x["time_ns"]) for x in rows})
    mine = {int(x["time_ns"]): int(x["tx_rate"]) for x in rows
            if int(x["lport"]) == lport and int(x["rport"]) == port}
    cid = {int(x["conn_id"]) for x in rows if int(x["lport"]) == lport and
           int(x["rport"]) == port}
    assert len(cid) == 1, cid
    _, events = dump_json(cap)
    (t0,) = [e["ts"] / 1e9 for e in events if e["kind"] == "open" and e["conn_id"] in cid]
    return [(a / 1e9, b / 1e9, mine.get(b, 0)) for a, b in zip(stamps, stamps[1:])], t0


def assert_rates_follow_iperf(got, res, t0, tol, need):
    """Every interval of got [(a, b, rate)] that lies within iperf3's test has tcptop's rate
    within tol of what iperf3 sent in that same stretch of time; at least need of them."""
    span = res["intervals"][-1]["sum"]["end"]
    inside = [(a, b, r) for a, b, r in got if a >= t0 + 0.05 and b <= t0 + span - 0.05]
    assert len(inside) >= need, (got, t0, span)
    for a, b, r in inside:
        want = iperf_rate(res, t0, a, b)
        print("%.3f-%.3f s: tcptop %d B/s, iperf3 %d B/s" % (a - t0, b - t0, r, want))
        assert abs(r - want) <= tol * want, ("interval %.3f-%.3f s of the test: tcptop %d B/s, "
                                             "iperf3 %d B/s" % (a - t0, b - t0, r, want), got)


@pytest.mark.parametrize("coalesce", ["100ms", "700ms"])
@pytest.mark.parametrize("source", ["bpf", "sockdiag"])
def test_batch_snapshots_rates_and_recording(tmp_path, source, coalesce):
    """tcptop --batch --csv -o while iperf3 sends at a paced 40 Mbit/s: each snapshot's TX/s of
    the data connection is what iperf3 -J says it sent in that same second (within 20 %), the
    batch rows say the same as the CSV, and the recording has the connections. The same checks
    hold for both live sources. With samples 700 ms apart a second would hold one of them or two
    (70 % or 140 % of the rate) if tcptop did not sample on its ticks."""
    port = free_port()
    cap, csv = str(tmp_path / "live.tt"), str(tmp_path / "live.csv")
    top = subprocess.Popen([TCPTOP, "--source", source, "--batch", "-n", "5", "-i", "1",
                            "--coalesce", coalesce, "--port", str(port), "-o", cap, "--csv", csv],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ip = None
    try:
        wait_header(cap, None, timeout=20)  # tcptop -o writes it once attached
        ip = Iperf(0, port, "-t", "5", "-b", "40M", "-l", "16K")
        res = ip.result()
        out, err = top.communicate(timeout=30)
    finally:
        if ip:
            ip.stop()
        if top.poll() is None:
            top.kill()
            top.communicate()
    assert top.returncode == 0, err
    snaps = batch_snapshots(out)
    assert len(snaps) == 5
    t = [re.search(r"\d\d:\d\d:\d\d\.\d{3}", h).group(0) for h, _ in snaps]
    assert len(set(t)) == 5
    got, t0 = data_rates(csv, cap, res, port)
    assert_rates_follow_iperf(got, res, t0, 0.2, 3)
    # the batch rows are the CSV's numbers
    lport = res["start"]["connected"][0]["local_port"]
    batch = [int(x["TX/s"]) for _, rs in snaps for x in rs
             if x["COMM"] == "iperf3" and x["LOCAL"].endswith(":%d" % lport)]
    import csv as csvmod
    rows = sorted((int(x["time_ns"]), int(x["tx_rate"])) for x in csvmod.DictReader(open(csv))
                  if int(x["lport"]) == lport and int(x["rport"]) == port)
    assert len(batch) >= 4 and batch == [r for _, r in rows]
    # The recording made while viewing replays to the same connections.
    hdr, events = dump_json(cap)
    assert any(e["kind"] == "open" and e.get("comm") == "iperf3" for e in events)
    # written by the recorder's own output, as tcptop-record writes it: the header's mode and
    # probes, and the STATS event last
    if source == "bpf":
        assert hdr["mode"] == "coalesce" and "iter:tcp" in hdr["probes"], hdr
    else:
        assert hdr["mode"] == "sockdiag" and "sock_diag:tcp" in hdr["probes"], hdr
    assert events[-1]["kind"] == "stats", events[-1]
    lines = open(csv).read().splitlines()
    assert lines[0].startswith("time,time_ns,conn_id") and len(lines) > 2


def test_bpf_needs_root():
    """The BPF source needs root; without it, auto falls back to sock_diag (test_sockdiag)."""
    r = subprocess.run([TCPTOP, "--source", "bpf", "--batch", "-n", "1"], capture_output=True,
                       text=True,
                       preexec_fn=lambda: os.setuid(65534), timeout=30)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "root" in lines[0]


def test_bad_usage():
    r = run([TCPTOP, "--interval", "fast"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


# A second kind of traffic, from a process called python3: a TCP pair on loopback sending
# 64 KiB every 10 ms for SECS seconds.
PY_TRAFFIC = r'''
import socket, sys, threading, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
def sink():
    c, _ = srv.accept()
    while c.recv(1 << 16):
        pass
threading.Thread(target=sink, daemon=True).start()
cli = socket.create_connection(("127.0.0.1", port))
end = time.time() + secs
while time.time() < end:
    cli.sendall(b"x" * 65536)
    time.sleep(0.01)
cli.close()
'''


def pane_text(name):
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True,
                          text=True).stdout


def wait_pane(name, pred, timeout=15.0, stable=True):
    """Until pred holds on the screen. stable: on the same table twice, not in the middle of a
    redraw. The same table is the same rows in the same order, each by its first five cells
    (PID COMM PROTO LOCAL REMOTE): the header's clock and the rates and totals move at every
    redraw, and an emulated kernel (make vmtest) may never show one screen twice while traffic
    flows. A wait on the moving rates themselves gives stable=False."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        t = pane_text(name)
        body = [ln.split()[:5] for ln in t.split("\n")[1:]]
        if pred(t) and (body == last or not stable):
            return t
        last = body
        time.sleep(0.2)
    raise AssertionError("pane never matched; last screen:\n" + pane_text(name))


def live_rows(screen):
    """(COMM, REMOTE-or-LOCAL ports, TX/s) of the table rows of the live view."""
    lines = screen.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.split()[:2] == ["PID", "COMM"])
    return [ln.split() for ln in lines[i + 1:] if ln.strip() and not re.search(r"\d+ of \d+", ln)]


def whole_frame(screen):
    """Every table line of the screen is a whole row (PID or -, COMM, PROTO first). A capture can
    come while a frame is drawn, and stay so until the next: curses writes only the cells that
    changed, and under emulation (make vmtest 6.1 and 6.12) tmux twice showed a row as a few of
    its cells (` 12  709  5K  5.4K  1.6m`) for two captures in a row."""
    rows = live_rows(screen) if "PID" in screen else []
    return all(len(r) > 4 and (r[0].isdigit() or r[0] == "-") and
               r[2] in ("TCP", "UDP", "TCP6", "UDP6") for r in rows)


def test_batch_health_columns(tmp_path):
    """tcptop -b --columns comm,local,remote,connect,fail: exactly those columns; a connect to a
    closed port (the client's own connect() got ECONNREFUSED) shows FAIL refused and CONNECT -,
    an accepted one FAIL - and its handshake time; every row's CONNECT and FAIL are what
    tcptop-query says of the recording -o made at the same time."""
    closed, port = free_port(), free_port()
    cap = str(tmp_path / "live.tt")
    top = subprocess.Popen([TCPTOP, "-b", "-n", "6", "-i", "500ms", "-P", str(closed), "-P",
                            str(port), "--columns", "fail,comm,local,remote,connect_us",
                            "-o", cap], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        wait_header(cap, None, timeout=20)
        srv = socket.socket()
        srv.bind(("127.0.0.1", port))
        srv.listen()
        cli = socket.create_connection(("127.0.0.1", port))
        acc, _ = srv.accept()
        mine = ("127.0.0.1:%d" % cli.getsockname()[1], "127.0.0.1:%d" % port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", closed))
        out, err = top.communicate(timeout=30)
        for x in (cli, acc, srv):
            x.close()
    finally:
        if top.poll() is None:
            top.kill()
            top.communicate()
    assert top.returncode == 0, err
    assert out.splitlines()[1].split() == ["COMM", "LOCAL", "REMOTE", "CONNECT", "FAIL"]
    rows = batch_snapshots(out)[-1][1]
    want = {("127.0.0.1:%d" % r["lport"], "127.0.0.1:%d" % r["rport"]):
            ("-" if r["connect_us"] is None else "%dus" % r["connect_us"],
             r["fail_reason"] or "-")
            for r in query_json(cap, "SELECT lport, rport, connect_us, fail_reason FROM "
                                     "connections WHERE raddr = '127.0.0.1'")}
    got = {(r["LOCAL"], r["REMOTE"]): (r["CONNECT"], r["FAIL"]) for r in rows}
    assert got == want
    assert [v for k, v in got.items() if k[1].endswith(":%d" % closed)] == [("-", "refused")]
    mine = got[mine]
    assert re.fullmatch(r"\d+us", mine[0]) and mine[1] == "-", got


def test_view_keys_sort_filter_and_quit_restores_terminal(tmp_path):
    """Live view over two real traffic sources (iperf3 and python3), the kernel filtering on
    their two ports: sort by COMM and reverse change the order, '/' hides the other process,
    Esc brings it back, q exits 0 with the terminal settings as they were."""
    p1, p2 = free_port(), free_port()
    name = "tt-livek-%d" % os.getpid()
    before, after = tmp_path / "before", tmp_path / "after"
    cmd = "stty -g > %s; %s -P %d -P %d -i 500ms; echo EXIT=$?; stty -g > %s; sleep 30" % (
        before, TCPTOP, p1, p2, after)
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "40",
                    "sh", "-c", cmd], check=True)
    ip = py = None
    try:
        wait_pane(name, lambda t: "LIVE" in t)
        # long enough for an emulated kernel (make vmtest) to start both; q ends the test early
        ip = Iperf(40, p1)
        py = subprocess.Popen(["/usr/bin/python3", "-c", PY_TRAFFIC, str(p2), "40"])

        def both_sending(t):
            rows = live_rows(t) if "PID" in t else []
            busy = {r[1] for r in rows if len(r) > 7 and r[6] not in ("0", "-")}
            return {"iperf3", "python3"} <= busy
        s = wait_pane(name, both_sending, timeout=40, stable=False)
        assert "filter: port=%d port=%d" % (p1, p2) in s or "port=%d" % p1 in s
        # Every row is on one of the two ports (the filter is in the kernel and the table).
        for r in live_rows(s):
            assert r[3].endswith((":%d" % p1, ":%d" % p2)) or r[4].endswith((":%d" % p1,
                                                                              ":%d" % p2)), r
        # '<' five times: TX/s -> STATE -> REMOTE -> LOCAL -> PROTO -> COMM
        for _ in range(5):
            subprocess.run(["tmux", "send-keys", "-t", name, "<"])
        s = wait_pane(name, lambda t: "sort: COMM" in t and whole_frame(t))
        comms = [r[1] for r in live_rows(s)]
        assert comms == sorted(comms) and comms[0] == "iperf3" and comms[-1] == "python3"
        subprocess.run(["tmux", "send-keys", "-t", name, "r"])
        s = wait_pane(name, lambda t: "sort: COMM (reversed)" in t and whole_frame(t))
        comms = [r[1] for r in live_rows(s)]
        assert comms == sorted(comms, reverse=True) and comms[0] == "python3"
        # The text filter hides python3's connections; Esc clears it.
        subprocess.run(["tmux", "send-keys", "-t", name, "/", "i", "p", "e", "r", "f", "Enter"])
        s = wait_pane(name, lambda t: 'text "iperf"' in t and whole_frame(t))
        assert {r[1] for r in live_rows(s)} == {"iperf3"}, s
        subprocess.run(["tmux", "send-keys", "-t", name, "Escape"])
        s = wait_pane(name, lambda t: "filter: port" in t and 'text "' not in t and
                      whole_frame(t))
        assert {r[1] for r in live_rows(s)} == {"iperf3", "python3"}, s
        subprocess.run(["tmux", "send-keys", "-t", name, "q"])
        s = wait_pane(name, lambda t: "EXIT=" in t, timeout=10)
        assert "EXIT=0" in s and "PID" not in s
        time.sleep(0.3)
        assert before.read_text() == after.read_text()
    finally:
        if ip:
            ip.stop()
        if py and py.poll() is None:
            py.kill()
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_recording_while_viewing_has_iperf3_totals(tmp_path):
    """tcptop --batch -o: the capture written while viewing replays to iperf3's own counts
    (end.sum_sent + its 37-byte cookie), CSV snapshots have a header row, a timestamp column
    and one snapshot per interval, and each half second's TX/s of the data connection is what
    iperf3 -J says it sent then (within 25 %)."""
    port = free_port()
    cap, csv = str(tmp_path / "live.tt"), str(tmp_path / "live.csv")
    top = subprocess.Popen([TCPTOP, "--batch", "-i", "500ms", "--coalesce", "50ms", "--port",
                            str(port), "-o", cap, "--csv", csv], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    ip = None
    try:
        wait_header(cap, None, timeout=20)  # tcptop -o writes it once attached
        # paced, so that the server reads all before it closes (no RST, see assert_iperf_totals),
        # and so that its rate is steady over 3.4 s: every half second is compared
        ip = Iperf(0, port, "-n", "8M", "-b", "20M", "-l", "16K")
        res = ip.result()
        time.sleep(1.5)
    finally:
        top.send_signal(signal.SIGINT)
        out, err = top.communicate(timeout=20)
        if ip:
            ip.stop()
    assert top.returncode == 0, err
    sent = res["end"]["sum_sent"]["bytes"] + 37
    received = res["end"]["sum_received"]["bytes"] + 37
    rcsv = str(tmp_path / "replay.csv")
    r = run([REPLAY, "--batch", "-i", "1000", "--csv", rcsv, cap])
    assert r.returncode == 0, r.stderr
    rows = batch_snapshots(r.stdout)[-1][1]
    client = max(rows, key=lambda x: int(x["TX"]))
    server = max(rows, key=lambda x: int(x["RX"]))
    assert client["COMM"] == server["COMM"] == "iperf3"
    import csv as csvmod
    resets = sum(int(x["resets"]) for x in csvmod.DictReader(open(rcsv)))
    assert_iperf_totals(int(client["TX"]), int(server["RX"]), sent, received, resets)
    crow = list(csvmod.DictReader(open(csv)))
    assert crow and list(crow[0])[:3] == ["time", "time_ns", "conn_id"]
    stamps = sorted({int(x["time_ns"]) for x in crow})
    assert len(stamps) >= 4
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert all(0.3e9 < g < 0.9e9 for g in gaps), gaps
    got, t0 = data_rates(csv, cap, res, port)
    assert_rates_follow_iperf(got, res, t0, 0.25, 5)
    # the same snapshots as --batch printed (CSV rows exist once a connection does)
    assert len([s for s in batch_snapshots(out) if s[1]]) == len(stamps)


def test_enter_shows_the_timeline_of_a_live_connection():
    """Live: a connection the server resets (SO_LINGER 0). Enter on the client's row shows
    that connection's timeline: its open first, its handshake to ESTABLISHED, the reset it
    received, its close last, in order, each stamped between the client's own clock readings
    around connect() and the ECONNRESET it got, the time since the open agreeing with the wall
    times; Esc goes back to the table. Oracle: the client's own calls and clock."""
    port = free_port()
    name = "tt-livep-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                    "%s -P %d --sort LOCAL -i 500ms" % (TCPTOP, port)], check=True)
    srv = socket.socket()
    try:
        wait_pane(name, lambda t: "LIVE" in t)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(1)
        t0 = time.time_ns()
        c = socket.create_connection(("127.0.0.1", port), timeout=30)
        cport = c.getsockname()[1]
        a, _ = srv.accept()
        c.sendall(b"x" * 100)
        a.recv(100)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        a.close()
        with pytest.raises(ConnectionResetError):
            c.recv(10)
        c.close()
        t1 = time.time_ns()
        mine = "127.0.0.1:%d" % cport

        def closed_row(t):
            rows = live_rows(t) if "PID" in t else []
            return [i for i, r in enumerate(rows) if mine in r[3:4] and "RESET" in r]
        s = wait_pane(name, closed_row)
        for _ in range(closed_row(s)[0]):
            subprocess.run(["tmux", "send-keys", "-t", name, "Down"])
        subprocess.run(["tmux", "send-keys", "-t", name, "Enter"])
        s = wait_pane(name, lambda t: "CONNECTION " in t and " close " in t)
        assert "TCP %s > 127.0.0.1:%d" % (mine, port) in s and "RESET" in s
        lines = s.splitlines()
        body = lines[next(i for i, ln in enumerate(lines) if ln.startswith(" TIME (UTC)")) + 1:]
        ev = []
        for ln in body:
            m = re.match(r" (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{6})Z \+(\d+)\.(\d{6})s  "
                         r"(\S+) *(.*)$", ln)
            if m:
                wall = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) * \
                    10**9 + int(m.group(2)) * 1000
                ev.append((wall, int(m.group(3)) * 10**6 + int(m.group(4)), m.group(5),
                           m.group(6).strip()))
        kinds = [e[2] for e in ev]
        assert kinds[0] == "open" and kinds[-1] == "close", ev
        assert kinds.count("reset") == 1 and ev[kinds.index("reset")][3] == "received", ev
        est = [i for i, e in enumerate(ev) if e[2] == "state" and e[3].endswith("-> ESTABLISHED")]
        assert est and est[0] < kinds.index("reset"), ev
        assert set(kinds) <= {"open", "state", "rtt", "retrans", "reset", "close", "conn_proc",
                              "handshake", "accept", "sample", "stall"}
        # the handshake, then the reset (the kinds of the TCP health work show in the pane
        # with no change to the view)
        assert "handshake" in kinds and kinds.index("handshake") < kinds.index("reset"), ev
        # wall times within the client's clock readings (a ms of slack for the stamps'
        # clock conversion), in order; times since the open are the wall times' differences
        for e in ev:
            assert t0 - 10**6 <= e[0] <= t1 + 10**6, (e, t0, t1)
        assert [e[0] for e in ev] == sorted(e[0] for e in ev)
        for e in ev:
            assert abs((e[0] - ev[0][0]) // 1000 - e[1]) <= 1, e
        subprocess.run(["tmux", "send-keys", "-t", name, "Escape"])
        s = wait_pane(name, lambda t: "CONNECTION" not in t and "PID" in t)
        assert any(mine in r[3:4] for r in live_rows(s))
    finally:
        srv.close()
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_live_takes_the_recorders_source_options(tmp_path):
    """tcptop takes tcptop-record's source options (one parser): --raw-slice 0 with a 64 KiB
    ring buffer and the UDP table options records one event per send call, in the header's
    mode, as tcptop-record does (oracle: the sender's own calls)."""
    from helpers.capture import TRAFFIC, read_capture
    from helpers.traffic import recv_all, tcp_pair
    port = free_port()
    cap = str(tmp_path / "raw.tt")
    top = subprocess.Popen([TCPTOP, "--batch", "-i", "200ms", "-P", str(port), "-o", cap,
                            "--raw-slice", "0", "--ringbuf-kb", "64", "--udp-flows", "1024",
                            "--udp-timeout", "1s"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        wait_header(cap, None, timeout=20)
        srv, cli, acc = tcp_pair(port)
        sizes = list(range(1, 60))
        for n in sizes:
            cli.send(b"x" * n)
            time.sleep(0.002)
        lport = cli.getsockname()[1]
        cli.close()
        assert recv_all(acc) == sum(sizes)
        acc.close()
        srv.close()
        time.sleep(0.5)
    finally:
        top.send_signal(signal.SIGINT)
        _, err = top.communicate(timeout=20)
    assert top.returncode == 0, err
    hdr, evs = read_capture(cap)
    assert hdr["mode"] == "raw" and hdr["raw_slice_ns"] == 0, hdr
    opens = {e["conn_id"] for e in evs if e["kind"] == 1 and e["lport"] == lport}
    tx = [e for e in evs if e["kind"] == TRAFFIC and e["conn_id"] in opens and e["tx_calls"]]
    assert [(e["tx_calls"], e["tx_bytes"]) for e in tx] == [(1, n) for n in sizes], tx
