"""Closes the kernel did not report are found by the sampling passes, never lost silently.

Under load a kernel may not run a tracing program for a tracepoint hit and not count it as a
miss: on one 6.18 build, 197 of 10 000 sockets closed in a burst had their last state changes
and their tcp_destroy_sock all unrun (perf counted the hits; recursion_misses stayed 0), and
test_load saw their closes missing. The recorder keeps every open TCP connection in a map that
each sampling pass refreshes; a connection a complete pass no longer finds is closed then,
flagged TT_F_CLOSE_INFERRED, with the counters of the last pass.

TT_TEST_SKIP_CLOSE makes the programs emit no close at all, as when the kernel skips them.
Oracle: the connection's own byte counts (this process sends them) and its close time.
"""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import background, free_port, needs_bpf, run, tool
from helpers.capture import read_cap, read_capture
from helpers.netns import veth_pair
from helpers.recorder import Recorder, wait_header
from helpers.traffic import recv_all, tcp_pair

FOUND = 8  # TT_F_CLOSE_INFERRED
COALESCE_S = 0.3
SKIP = dict(os.environ, TT_TEST_SKIP_CLOSE="1")

# One connection: the client sends C bytes, the server answers S bytes, both wait, both close.
PAIR_PY = r'''
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
host, port, c_bytes, s_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
srv = socket.socket(fam)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen()
cli = socket.socket(fam)
cli.connect((host, port))
acc, _ = srv.accept()
cli.sendall(b"c" * c_bytes)
got = 0
while got < c_bytes:
    got += len(acc.recv(65536))
acc.sendall(b"s" * s_bytes)
got = 0
while got < s_bytes:
    got += len(cli.recv(65536))
print(cli.getsockname()[1], flush=True)
sys.stdin.readline()  # the test says when: the traffic is sampled first
cli.close()
acc.close()
srv.close()
print("closed", flush=True)
'''


def closes_of(cap, port):
    """{direction: close event} of the connection on port, and every close event."""
    evs = read_cap(cap).events
    opens = {e["conn_id"]: e for e in evs if e["kind"] == 1 and port in (e["lport"], e["rport"])}
    closes = [e for e in evs if e["kind"] == 7 and e["conn_id"] in opens]
    return {opens[e["conn_id"]]["direction"]: e for e in closes}, closes


def one_connection(tmp_path, host, env, settle, pre=()):
    """Record one connection closed settle seconds before the recorder stops: (closes by
    direction, all its closes, wall time of the close, the recorder's stderr, the capture)."""
    port = free_port(socket.AF_INET6 if ":" in host else socket.AF_INET)
    cap = str(tmp_path / "cap.tt")
    rec = Recorder(cap, "--coalesce", "%dms" % (COALESCE_S * 1000), "-P", str(port), env=env)
    p = subprocess.Popen(list(pre) + ["/usr/bin/python3", "-c", PAIR_PY, host, str(port), "54321",
                                      "4321"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip().isdigit()
        time.sleep(3 * COALESCE_S)  # a pass samples the bytes
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "closed"
        t_close = time.time()
        p.wait(timeout=10)
        rc, err = rec.stop(settle=settle)
    finally:
        if p.poll() is None:
            p.kill()
    assert rc == 0, err
    by_dir, closes = closes_of(cap, port)
    return by_dir, closes, t_close, err, cap


@needs_bpf
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_unseen_close_found_by_sampling(tmp_path, host):
    by_dir, closes, t_close, err, cap = one_connection(tmp_path, host, SKIP, settle=4 * COALESCE_S)
    # each end closed once, found gone, with the bytes each end moved
    assert len(closes) == 2 and set(by_dir) == {1, 2}, closes
    assert all(c["flags"] & FOUND for c in closes), closes
    assert (by_dir[1]["tx_bytes"], by_dir[1]["rx_bytes"]) == (54321, 4321), by_dir[1]
    assert (by_dir[2]["tx_bytes"], by_dir[2]["rx_bytes"]) == (4321, 54321), by_dir[2]
    assert "2 connections closed with no close from the kernel" in err, err
    # closed by the first pass after the sockets went: within two intervals of the close
    for c in closes:
        wall = c["ts"] / 1e9  # the reader reports wall clock time
        assert t_close - 0.05 <= wall <= t_close + 2 * COALESCE_S + 0.3, (wall - t_close, c)
    # replay says so in its dump
    r = run([tool("tcptop-replay"), "--dump", cap])
    assert r.returncode == 0, r.stderr
    assert sum(1 for line in r.stdout.splitlines() if " close " in line and "found-gone" in line) == 2


@needs_bpf
def test_unseen_close_at_the_end_found_by_the_last_pass(tmp_path):
    """Closed 0.1 s before the recorder stops: the final pass finds it gone."""
    by_dir, closes, _, err, _ = one_connection(tmp_path, "127.0.0.1", SKIP, settle=0.1)
    assert len(closes) == 2 and all(c["flags"] & FOUND for c in closes), closes
    assert by_dir[1]["tx_bytes"] == 54321 and by_dir[2]["tx_bytes"] == 4321, by_dir


@needs_bpf
def test_reported_closes_are_not_flagged(tmp_path):
    """With the programs' own closes, none is marked found, and no close is doubled."""
    by_dir, closes, _, err, _ = one_connection(tmp_path, "127.0.0.1", None, settle=4 * COALESCE_S)
    assert len(closes) == 2 and not any(c["flags"] & FOUND for c in closes), closes
    assert by_dir[1]["tx_bytes"] == 54321 and by_dir[2]["rx_bytes"] == 54321, by_dir
    assert "no close from the kernel" not in err, err


@needs_bpf
def test_unseen_close_in_another_namespace(tmp_path):
    """A namespace the pass enters: its gone connections are found there too."""
    with veth_pair(net="10.214.11", tag="ttcr") as ns:
        by_dir, closes, _, err, _ = one_connection(
            tmp_path, "127.0.0.1", SKIP, settle=4 * COALESCE_S, pre=["ip", "netns", "exec", ns[0]])
    assert len(closes) == 2 and all(c["flags"] & FOUND for c in closes), closes
    assert by_dir[1]["tx_bytes"] == 54321 and by_dir[2]["tx_bytes"] == 4321, by_dir


# N connections on one port, each end moving its own byte counts; after the test's go (a pass
# sampled them) each end sends more and both close: the final counters are not a pass's.
MANY_PY = r'''
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
def move(a, b, n):
    a.sendall(b"m" * n)
    got = 0
    while got < n:
        got += len(b.recv(65536))
pairs = []
for i in range(n):
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    move(cli, acc, 1000 * (i + 1))
    move(acc, cli, 100 * (i + 1))
    pairs.append((cli, acc))
print(" ".join(str(c.getsockname()[1]) for c, _ in pairs), flush=True)
sys.stdin.readline()
for i, (cli, acc) in enumerate(pairs):
    move(cli, acc, 7 * (i + 1))
    move(acc, cli, 3 * (i + 1))
    cli.close()
    acc.close()
srv.close()
print("closed", flush=True)
'''


def record_many(tmp_path, n, env):
    """Record MANY_PY's n connections: ({client port: {direction: [closes]}} in the order they
    were made, all events, the recorder's stderr)."""
    port = free_port()
    cap = str(tmp_path / "cap.tt")
    rec = Recorder(cap, "--coalesce", "%dms" % (COALESCE_S * 1000), "-P", str(port), env=env)
    p = subprocess.Popen(["/usr/bin/python3", "-c", MANY_PY, str(port), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        cports = [int(x) for x in p.stdout.readline().split()]
        assert len(cports) == n
        time.sleep(3 * COALESCE_S)  # a pass samples the first bytes
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "closed"
        p.wait(timeout=10)
        rc, err = rec.stop(settle=4 * COALESCE_S)
    finally:
        if p.poll() is None:
            p.kill()
    assert rc == 0, err
    evs = read_cap(cap).events
    opens = {e["conn_id"]: e for e in evs if e["kind"] == 1}
    ends = {c: {1: [], 2: []} for c in cports}
    for e in evs:
        if e["kind"] == 7 and e["conn_id"] in opens:
            o = opens[e["conn_id"]]
            ends[o["lport"] if o["direction"] == 1 else o["rport"]][o["direction"]].append(e)
    return ends, evs, err


@needs_bpf
def test_close_lost_to_a_full_ring_buffer_is_found(tmp_path):
    """A close the ring buffer had no room for (injected: every close's reservation fails) is
    written by the next pass, flagged found, with the counters the socket had at its close
    (bytes moved after the last pass included), once per end, for each of several connections;
    each failed close counted lost."""
    n = 6
    ends, evs, err = record_many(tmp_path, n, dict(os.environ, TT_TEST_SKIP_CLOSE="nospace"))
    for k, (cport, by_dir) in enumerate(ends.items(), 1):
        assert len(by_dir[1]) == 1 and len(by_dir[2]) == 1, (cport, by_dir)
        cli, srv = by_dir[1][0], by_dir[2][0]
        assert cli["flags"] & FOUND and srv["flags"] & FOUND, (cli, srv)
        assert (cli["tx_bytes"], cli["rx_bytes"]) == (1007 * k, 103 * k), cli
        assert (srv["tx_bytes"], srv["rx_bytes"]) == (103 * k, 1007 * k), srv
    assert sum(e["count"] for e in evs if e["kind"] == 12) >= 2 * n
    assert "%d connections closed with no close from the kernel" % (2 * n) in err, err


@needs_bpf
def test_unseen_closes_of_several_connections(tmp_path):
    """Every close skipped, several connections: each end found gone exactly once, with what
    the last pass read (the bytes moved after it are not known)."""
    n = 6
    ends, _, err = record_many(tmp_path, n, SKIP)
    for k, (cport, by_dir) in enumerate(ends.items(), 1):
        assert len(by_dir[1]) == 1 and len(by_dir[2]) == 1, (cport, by_dir)
        cli, srv = by_dir[1][0], by_dir[2][0]
        assert cli["flags"] & FOUND and srv["flags"] & FOUND, (cli, srv)
        # a pass between the last bytes and the close (microseconds) would have read them
        assert 1000 * k <= cli["tx_bytes"] == srv["rx_bytes"] <= 1007 * k, (cli, srv)
        assert 100 * k <= srv["tx_bytes"] == cli["rx_bytes"] <= 103 * k, (cli, srv)
    assert "%d connections closed with no close from the kernel" % (2 * n) in err, err


@needs_bpf
def test_closes_under_a_full_ring_buffer_each_written_once(tmp_path):
    """A 4 KB ring buffer kept full by one socket's calls (--raw-slice 0) while connections
    open and close: every connection whose open was written gets exactly one close per end,
    the programs' own or, where the ring had no room for it, found by a pass."""
    port, fport = free_port(), free_port()
    cap = str(tmp_path / "cap.tt")
    rec = Recorder(cap, "--raw-slice", "0", "--ringbuf-kb", "16", "--coalesce", "200ms",
                   "-P", str(port), "-P", str(fport))
    stop = threading.Event()

    def flood():
        s, c, a = tcp_pair(fport)
        r = threading.Thread(target=recv_all, args=(a,))
        r.start()
        while not stop.is_set():  # bursts: the ring is full part of the time
            for _ in range(150):
                c.send(b"f")
            time.sleep(0.003)
        c.close()
        r.join()
        a.close()
        s.close()
    f = threading.Thread(target=flood)
    f.start()
    cports = []
    try:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(64)
        for i in range(300):
            cli = socket.create_connection(("127.0.0.1", port))
            acc, _ = srv.accept()
            cli.sendall(b"x" * 100)
            acc.recv(100)
            cports.append(cli.getsockname()[1])
            cli.close()
            acc.close()
        srv.close()
    finally:
        stop.set()
        f.join()
        rc, err = rec.stop(settle=1.0)  # passes with the ring read empty
    assert rc == 0, err
    evs = read_cap(cap).events
    opens = {e["conn_id"]: e for e in evs if e["kind"] == 1 and port in (e["lport"], e["rport"])}
    closes = {}
    for e in evs:
        if e["kind"] == 7 and e["conn_id"] in opens:
            closes.setdefault(e["conn_id"], []).append(e)
    lost = sum(e["count"] for e in evs if e["kind"] == 12)
    found = sum(1 for cl in closes.values() if cl[0]["flags"] & FOUND)
    print("%d opens, %d lost, %d closes found" % (len(opens), lost, found))
    if not lost:  # a slow emulated machine's flood may not outrun the recorder
        pytest.skip("the ring buffer never filled: %d opens, none lost" % len(opens))
    assert opens
    unclosed = [o for cid, o in opens.items() if cid not in closes]
    assert not unclosed, (len(unclosed), unclosed[:3])
    assert all(len(cl) == 1 for cl in closes.values()), [cl for cl in closes.values() if len(cl) > 1]


FLOOD_PY = r'''
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst, end = ("127.0.0.1", int(sys.argv[1])), time.time() + float(sys.argv[2])
while time.time() < end:
    for _ in range(1000):
        s.sendto(b"f", dst)
'''


@needs_bpf
def test_unseen_close_found_under_load(tmp_path):
    """A ring buffer that is never read empty (events come faster than the recorder takes them:
    here each one is also written to a pipe read slowly (--dump-events), while a flood of
    datagrams makes a record per call) is the load a close found by sampling exists for: the
    pass must close the gone connection then, not when the load ends."""
    import threading

    port, uport = free_port(), free_port()
    cap = str(tmp_path / "cap.tt")
    rfd, wfd = os.pipe()
    rec = subprocess.Popen([tool("tcptop-record"), "-o", cap, "--coalesce",
                            "%dms" % (COALESCE_S * 1000), "-P", str(port), "-P", str(uport),
                            "--raw", "--raw-slice", "0", "--ringbuf-kb", "256",
                            "--dump-events"], env=SKIP, stderr=wfd)
    background(rec)
    os.close(wfd)
    fast, err = threading.Event(), []

    def reader():  # at most 6 MB/s of event lines until fast: some 40 000 events a second
        while True:
            d = os.read(rfd, 1 << 16)
            if not d:
                os.close(rfd)
                return
            err.append(d[-4096:])
            if not fast.is_set():
                time.sleep(0.01)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    wait_header(cap, rec)  # attached: a 6.1 guest under TCG took longer than the 1 s slept here
    p = subprocess.Popen(["/usr/bin/python3", "-c", PAIR_PY, "127.0.0.1", str(port), "54321",
                          "4321"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    floods = []
    try:
        assert p.stdout.readline().strip().isdigit()
        # before the load: the opens find room (one made in a full ring is lost, counted, and
        # its close names a connection the capture never opened), and a pass reads the bytes
        time.sleep(3 * COALESCE_S)
        # 8 s: the close (1.5 s in) must be found within 3 s (asserted below), and the load
        # must outlast that by more than a second; an emulated kernel (make vmtest 6.12) once
        # took 13.2 s, under a pass made every ~13 s while the drain after each read a whole
        # batch: that fails the 3 s bound whatever the flood's length
        floods = [subprocess.Popen(["/usr/bin/python3", "-c", FLOOD_PY, str(uport), "8"])
                  for _ in range(2)]
        time.sleep(1.5)
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "closed"
        t_close = time.time()
        p.wait(timeout=10)
        for f in floods:
            f.wait(timeout=60)
        t_end = time.time()
    finally:
        for x in [p] + floods:
            if x.poll() is None:
                x.kill()
        fast.set()
        rec.send_signal(signal.SIGINT)
        rc = rec.wait(timeout=60)
        t.join(timeout=60)
    tail = b"".join(err[-2:]).decode(errors="replace")
    assert rc == 0, tail
    _, evs = read_capture(cap)  # the C reader: a million events
    if not sum(e["count"] for e in evs if e["kind"] == 12):
        pytest.skip("the ring buffer never overflowed: no load on this machine")
    opens = {e["conn_id"]: e for e in evs if e["kind"] == 1 and port in (e["lport"], e["rport"])}
    assert sorted(o["direction"] for o in opens.values()) == [1, 2], opens
    closes = [e for e in evs if e["kind"] == 7 and e["conn_id"] in opens]
    by_dir = {opens[e["conn_id"]]["direction"]: e for e in closes}
    assert len(closes) == 2 and set(by_dir) == {1, 2}, closes
    assert all(c["flags"] & FOUND for c in closes), closes
    # what the pass before the load read: the bytes each end's calls moved
    assert (by_dir[1]["tx_bytes"], by_dir[1]["rx_bytes"]) == (54321, 4321), by_dir[1]
    assert (by_dir[2]["tx_bytes"], by_dir[2]["rx_bytes"]) == (4321, 54321), by_dir[2]
    for c in closes:  # found while the flood went on, not once it ended
        assert c["ts"] / 1e9 < t_end - 1, (c["ts"] / 1e9 - t_close, t_end - t_close)
    # and by one of the passes due every 0.3 s, not one made every DRAIN_BUDGET records (a
    # drain that took them all at the pace of the pipe: 13 s in a guest, 10.5 s on the host)
    late = max(c["ts"] / 1e9 for c in closes) - t_close
    print("close found %.2f s after it" % late)
    assert late < 3, (late, t_end - t_close)
