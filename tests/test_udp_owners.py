"""Owners and counts of UDP sockets that existed before the recording began.

The default mode counts UDP per datagram at the cgroup skb hooks, where no process is at hand:
a socket's owner is its creator (cgroup/sock_create), and for sockets made before the capture,
the process whose file table holds it (the sweep at start). The oracle is a child process that
makes its sockets first, waits for the recorder, then sends and receives known datagrams and
reports its pid and ports."""
import json
import os
import subprocess
import textwrap

from conftest import needs_bpf
from helpers.capture import CLOSE, OPEN, PROC, TRAFFIC
from helpers.recorder import SETTLE_S, Recorder
from helpers.capture import read_capture

CHILD = textwrap.dedent("""
    import json, os, socket, sys
    fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
    host = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
    rcv = socket.socket(fam, socket.SOCK_DGRAM)
    rcv.bind((host, 0))
    conn = socket.socket(fam, socket.SOCK_DGRAM)
    conn.connect(rcv.getsockname()[:2])
    unc = socket.socket(fam, socket.SOCK_DGRAM)
    unc.bind((host, 0))
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(4):
        conn.send(b"c" * (50 + i))
    for _ in range(3):
        unc.sendto(b"u" * 70, rcv.getsockname()[:2])
    for _ in range(7):
        rcv.recvfrom(2048)
    print(json.dumps({"pid": os.getpid(), "rcv": rcv.getsockname()[1],
                      "conn": conn.getsockname()[1], "unc": unc.getsockname()[1]}), flush=True)
""")


def flows(evs, port):
    """{(lport, rport): [pid, tx bytes, tx pkts, rx bytes, rx pkts, closed]} of UDP flows."""
    out, by_id = {}, {}
    for e in evs:
        if e["kind"] == OPEN and e["proto"] == 17 and port in (e["lport"], e["rport"]):
            by_id[e["conn_id"]] = out.setdefault((e["lport"], e["rport"]),
                                                 [e["pid"], 0, 0, 0, 0, False])
        f = by_id.get(e["conn_id"])
        if f is None:
            continue
        if e["kind"] == PROC and e["pid"]:
            f[0] = e["pid"]
        elif e["kind"] == TRAFFIC:
            f[1] += e["tx_bytes"]
            f[2] += e["tx_pkts"]
            f[3] += e["rx_bytes"]
            f[4] += e["rx_pkts"]
        elif e["kind"] == CLOSE:
            f[5] = True
    return out


def run_child(tmpdir_path, fam):
    child = subprocess.Popen(["/usr/bin/python3", "-c", CHILD, fam], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        path = os.path.join(tmpdir_path, "pre%s.tt" % fam)
        rec = Recorder(path, "--udp")
        try:
            child.stdin.write("go\n")
            child.stdin.flush()
            got = json.loads(child.stdout.readline())
            child.stdin.close()
            assert child.wait(timeout=10) == 0
        finally:
            rc, err = rec.stop(settle=SETTLE_S)
        assert rc == 0, err
    finally:
        if child.poll() is None:
            child.kill()
    _, evs = read_capture(path)
    return got, evs


@needs_bpf
def test_udp_sockets_made_before_the_capture(tmpdir_path):
    for fam in ("4", "6"):
        got, evs = run_child(tmpdir_path, fam)
        f = flows(evs, got["rcv"])
        pid = got["pid"]
        want = {
            (got["conn"], got["rcv"]): [pid, 4 * 50 + 6, 4, 0, 0, True],
            (got["unc"], got["rcv"]): [pid, 210, 3, 0, 0, True],
            (got["rcv"], got["conn"]): [pid, 0, 0, 4 * 50 + 6, 4, True],
            (got["rcv"], got["unc"]): [pid, 0, 0, 210, 3, True],
        }
        assert f == want, (fam, f, want)
