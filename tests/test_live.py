"""Live tcptop on real loopback traffic (root and a BPF build): the curses view in tmux,
batch snapshots, recording while viewing, and the refusal without root."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import free_port, needs_bpf, needs_cmd, run, tool
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


def test_view_shows_running_iperf3(tmp_path):
    port = free_port()
    name = "tt-live-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                    "%s --port %d --sort TX/s" % (TCPTOP, port)], check=True)
    ip = None
    try:
        time.sleep(2)
        ip = Iperf(6, port)
        found = None
        end = time.time() + 15
        while time.time() < end and not found:
            time.sleep(0.5)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            for line in screen.splitlines():
                f = line.split()
                # PID COMM PROTO LOCAL REMOTE STATE TX/s ...: the data connection, sending
                if len(f) >= 8 and f[1] == "iperf3" and f[6] not in ("0", "-") \
                        and f[4].endswith(":%d" % port):
                    found = line
        assert found, screen
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


def test_batch_two_snapshots_and_recording(tmp_path):
    port = free_port()
    cap, csv = str(tmp_path / "live.tt"), str(tmp_path / "live.csv")
    ip = Iperf(4, port)
    try:
        r = run([TCPTOP, "--batch", "-n", "2", "-i", "1", "--port", str(port), "-o", cap,
                 "--csv", csv], timeout=30)
        res = ip.result()
    finally:
        ip.stop()
    assert r.returncode == 0, r.stderr
    snaps = batch_snapshots(r.stdout)
    assert len(snaps) == 2
    rows = [x for _, rs in snaps for x in rs]
    assert any(x["COMM"] == "iperf3" and int(x["TX/s"]) > 0 for x in rows)
    t = [re.search(r"\d\d:\d\d:\d\d\.\d{3}", h).group(0) for h, _ in snaps]
    assert t[0] != t[1]
    # The recording made while viewing replays to the same connections.
    _, events = dump_json(cap)
    assert any(e["kind"] == "open" and e.get("comm") == "iperf3" for e in events)
    lines = open(csv).read().splitlines()
    assert lines[0].startswith("time,time_ns,conn_id") and len(lines) > 2
    assert res["end"]["sum_sent"]["bytes"] > 0


def test_needs_root():
    r = subprocess.run([TCPTOP, "--batch", "-n", "1"], capture_output=True, text=True,
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


def wait_pane(name, pred, timeout=15.0):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        t = pane_text(name)
        # The same table twice (the header's clock always moves): not in the middle of a redraw.
        body = t.split("\n", 1)[-1]
        if pred(t) and body == last:
            return t
        last = body
        time.sleep(0.2)
    raise AssertionError("pane never matched; last screen:\n" + pane_text(name))


def live_rows(screen):
    """(COMM, REMOTE-or-LOCAL ports, TX/s) of the table rows of the live view."""
    lines = screen.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.split()[:2] == ["PID", "COMM"])
    return [ln.split() for ln in lines[i + 1:] if ln.strip() and not re.search(r"\d+ of \d+", ln)]


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
        ip = Iperf(12, p1)
        py = subprocess.Popen(["/usr/bin/python3", "-c", PY_TRAFFIC, str(p2), "12"])

        def both_sending(t):
            rows = live_rows(t) if "PID" in t else []
            busy = {r[1] for r in rows if len(r) > 7 and r[6] not in ("0", "-")}
            return {"iperf3", "python3"} <= busy
        s = wait_pane(name, both_sending)
        assert "filter: port=%d port=%d" % (p1, p2) in s or "port=%d" % p1 in s
        # Every row is on one of the two ports (the filter is in the kernel and the table).
        for r in live_rows(s):
            assert r[3].endswith((":%d" % p1, ":%d" % p2)) or r[4].endswith((":%d" % p1,
                                                                              ":%d" % p2)), r
        # '<' five times: TX/s -> STATE -> REMOTE -> LOCAL -> PROTO -> COMM
        for _ in range(5):
            subprocess.run(["tmux", "send-keys", "-t", name, "<"])
        s = wait_pane(name, lambda t: "sort: COMM" in t)
        comms = [r[1] for r in live_rows(s)]
        assert comms == sorted(comms) and comms[0] == "iperf3" and comms[-1] == "python3"
        subprocess.run(["tmux", "send-keys", "-t", name, "r"])
        s = wait_pane(name, lambda t: "sort: COMM (reversed)" in t)
        comms = [r[1] for r in live_rows(s)]
        assert comms == sorted(comms, reverse=True) and comms[0] == "python3"
        # The text filter hides python3's connections; Esc clears it.
        subprocess.run(["tmux", "send-keys", "-t", name, "/", "i", "p", "e", "r", "f", "Enter"])
        s = wait_pane(name, lambda t: 'text "iperf"' in t)
        assert {r[1] for r in live_rows(s)} == {"iperf3"}
        subprocess.run(["tmux", "send-keys", "-t", name, "Escape"])
        s = wait_pane(name, lambda t: "filter: port" in t and 'text "' not in t)
        assert {r[1] for r in live_rows(s)} == {"iperf3", "python3"}
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
    and one snapshot per interval."""
    port = free_port()
    cap, csv = str(tmp_path / "live.tt"), str(tmp_path / "live.csv")
    top = subprocess.Popen([TCPTOP, "--batch", "-i", "500ms", "--port", str(port), "-o", cap,
                            "--csv", csv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    ip = None
    try:
        time.sleep(1.5)
        # paced, so that the server reads all before it closes (no RST, see assert_iperf_totals)
        ip = Iperf(0, port, "-n", "8M", "-b", "100M")
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
    assert any(x["comm"] == "iperf3" and int(x["tx_rate"]) > 0 for x in crow)
    # the same snapshots as --batch printed (CSV rows exist once a connection does)
    assert len([s for s in batch_snapshots(out) if s[1]]) == len(stamps)
