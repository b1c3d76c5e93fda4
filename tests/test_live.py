"""Live tcptop on real loopback traffic (root and a BPF build): the curses view in tmux,
batch snapshots, recording while viewing, and the refusal without root."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import free_port, needs_bpf, needs_cmd, run, tool
from test_replay import REPLAY, batch_snapshots, dump_json

TCPTOP = tool("tcptop")
pytestmark = [needs_bpf, needs_cmd("iperf3", "tmux"),
              pytest.mark.skipif(not os.path.exists(TCPTOP), reason="tcptop not built")]


class Iperf:
    """iperf3 server + client on 127.0.0.1, the client running for secs."""

    def __init__(self, secs, port):
        self.port = port
        self.srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.4)
        self.cli = subprocess.Popen(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t",
                                     str(secs), "-J"], stdout=subprocess.PIPE,
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
