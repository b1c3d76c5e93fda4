"""TCP health, listening sockets and drop reasons (issue 20, items 6 and 7), in namespaces made here.

A listener with backlog 1 that never accepts, under 50 connects from another namespace: the
kernel's own per-namespace counters (nstat TcpExtListenOverflows, TcpExtListenDrops) are the
oracle for the listener's drops in the `listeners` table, whose `overflows` is the socket's
sk_drops: tcp_listendrop() adds one to it for each ListenDrops it counts on this socket, and
each accept-queue overflow (ListenOverflows) is one of those (docs/QUERY.md).
"""
import csv
import io
import os
import subprocess
import sys
import time

import pytest

from conftest import needs_bpf, needs_root, run, tool
from helpers.netns import veth_pair
from helpers.recorder import Recorder
from helpers.traffic import wait_listen

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyreader"))
import ttcap  # noqa: E402

NET = "10.214.20"
PORT = 5320
CONNECTS = 50

LISTENER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("%s.1", %d))
s.listen(1)
print("ready", flush=True)
time.sleep(60)
""" % (NET, PORT)

# 50 connects at once, held while the listener's queues overflow, then given up: the SYNs they
# retransmit would go on counting drops after the last sample
CLIENT = """
import socket, time
cs = []
for i in range(%d):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("%s.1", %d))
    cs.append(c)
time.sleep(2.5)
for c in cs:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\\x01\\0\\0\\0\\0\\0\\0\\0")
    c.close()
""" % (CONNECTS, NET, PORT)


@pytest.fixture
def pair():
    with veth_pair(NET, tag="tthl") as p:
        if p is None:
            pytest.skip("cannot make network namespaces here")
        yield p


def nstat(ns):
    r = run(["ip", "netns", "exec", ns, "nstat", "-asz"])
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1].isdigit():
            out[f[0]] = int(f[1])
    return out


def query(path, sql):
    r = run([tool("tcptop-query"), path, sql])
    assert r.returncode == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def settled(ns, key, quiet=0.6, timeout=10):
    """The namespace's counter once it stopped moving for quiet seconds."""
    end = time.time() + timeout
    last, since = nstat(ns).get(key, 0), time.time()
    while time.time() < end:
        time.sleep(0.1)
        now = nstat(ns).get(key, 0)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return last
    return last


@needs_root
@pytest.mark.parametrize("source", [pytest.param("bpf", marks=needs_bpf), "sockdiag"])
def test_listener_overflows_equal_namespace_counters(tmpdir_path, pair, source):
    a, b = pair
    path = os.path.join(tmpdir_path, "listen-%s.tt" % source)
    # sock_diag dumps the namespace it runs in
    pre = ("ip", "netns", "exec", a) if source == "sockdiag" else ()
    rec = Recorder(path, "--source", source, "--coalesce", "200ms", pre=pre)
    srv = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", LISTENER],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        wait_listen(PORT, a)
        base = nstat(a)
        r = run(["ip", "netns", "exec", b, sys.executable, "-c", CLIENT], timeout=30)
        assert r.returncode == 0, r.stderr
        drops = settled(a, "TcpExtListenDrops")
        ns = nstat(a)
        time.sleep(0.8)  # a sampling pass after the last drop
        rc, err = rec.stop()
        assert rc == 0, err
    finally:
        srv.kill()
        srv.wait()
    overflows = ns.get("TcpExtListenOverflows", 0) - base.get("TcpExtListenOverflows", 0)
    drops -= base.get("TcpExtListenDrops", 0)
    print("%s: nstat ListenOverflows %d ListenDrops %d" % (source, overflows, drops))
    assert overflows > 0, ns
    rows = query(path, "SELECT * FROM listeners WHERE lport = %d ORDER BY ts" % PORT)
    assert rows, "no LISTENER record of port %d" % PORT
    last = rows[-1]
    print(source, [(r["accept_queue"], r["overflows"]) for r in rows])
    # the documented equation: the listener's drops are its namespace's ListenDrops, and with
    # syncookies (a namespace's default) every one of them here was an accept-queue overflow
    assert int(last["overflows"]) == drops, (rows, ns)
    assert overflows == drops, ns
    assert last["syn_drops"] == "", last
    assert last["laddr"] == NET + ".1" and int(last["accept_queue_max"]) == 1, last
    assert max(int(r["accept_queue"]) for r in rows) >= int(last["accept_queue_max"]), rows
    assert int(last["pid"]) == srv.pid and last["comm"] == "python3", last
    # the independent reader sees the same records
    cap = ttcap.read(path)
    mine = [e for e in cap.events if e["kind"] == 18 and e["lport"] == PORT]
    assert len(mine) == len(rows) and mine[-1]["drops"] == drops, mine
