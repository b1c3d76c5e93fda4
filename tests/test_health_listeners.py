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
from helpers.netns import nstat, veth_pair
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
        yield p



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
        time.sleep(1.2)  # sampling passes (every 200 ms) after the last drop
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


DPORT = 5321

SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("%s.1", %d))
s.listen(4)
print("ready", flush=True)
c, _ = s.accept()
while c.recv(65536):
    pass
""" % (NET, DPORT)

# small writes every 50 ms for 3 s: the rule drops some, TCP retransmits them after
SENDER = """
import socket, sys, time
c = socket.create_connection(("%s.1", %d))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("connected", flush=True)
for i in range(60):
    c.sendall(b"x" * 200)
    time.sleep(0.05)
c.close()
""" % (NET, DPORT)


def nft(ns, *args):
    r = run(["ip", "netns", "exec", ns, "nft"] + list(args))
    assert r.returncode == 0, r.stderr
    return r.stdout


@needs_bpf
def test_drops_named_and_attributed(tmpdir_path, pair):
    """N data segments dropped by an nftables rule (a named counter counts them): N drops
    with reason NETFILTER_DROP, as this kernel's BTF spells it, each on the sender's
    connection, whose socket the packets had."""
    a, b = pair
    path = os.path.join(tmpdir_path, "drops.tt")
    rec = Recorder(path, "--coalesce", "200ms")
    # and one filtered to the connection's port: only its drops (the host's have no place)
    fpath = os.path.join(tmpdir_path, "filtered.tt")
    frec = Recorder(fpath, "--coalesce", "200ms", "-P", str(DPORT))
    nft(b, "add", "table", "inet", "tthl")
    nft(b, "add", "counter", "inet", "tthl", "dropped")
    nft(b, "add", "chain", "inet", "tthl", "out", "{ type filter hook output priority 0 ; }")
    srv = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", SERVER],
                           stdout=subprocess.PIPE, text=True)
    cli = None
    try:
        assert srv.stdout.readline().strip() == "ready"
        cli = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", SENDER],
                               stdout=subprocess.PIPE, text=True)
        assert cli.stdout.readline().strip() == "connected"
        time.sleep(0.5)
        # the connection's data segments (not its bare ACKs), dropped for 0.6 s
        nft(b, "add", "rule", "inet", "tthl", "out", "tcp", "dport", str(DPORT), "meta",
            "length", "gt", "100", "counter", "name", "dropped", "drop")
        time.sleep(0.6)
        nft(b, "flush", "chain", "inet", "tthl", "out")
        out = nft(b, "list", "counter", "inet", "tthl", "dropped")
        assert cli.wait(timeout=30) == 0
        srv.wait(timeout=10)
        # three datagrams to a closed port: NO_SOCKET drops, the host's (no socket followed)
        run(["ip", "netns", "exec", b, sys.executable, "-c", "import socket; s = socket."
             "socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'x', ('%s.1', 9)) for _ in "
             "range(3)]" % NET])
        time.sleep(0.5)  # the ring buffer drained
        rc, err = rec.stop()
        assert rc == 0, err
        rc, ferr = frec.stop()
        assert rc == 0, ferr
    finally:
        for p in (srv, cli):
            if p and p.poll() is None:
                p.kill()
        run(["ip", "netns", "exec", b, "nft", "delete", "table", "inet", "tthl"])
    assert "drop-reasons" not in err, err
    dropped = int(out.split("packets")[1].split()[0])
    print("nft dropped %d" % dropped)
    assert dropped > 0, out
    b_ns = os.stat("/run/netns/" + b).st_ino
    conn = query(path, "SELECT conn_id FROM events WHERE kind = 'open' AND rport = %d AND "
                 "netns = %d" % (DPORT, b_ns))
    assert len(conn) == 1, conn
    cid = int(conn[0]["conn_id"])
    rows = query(path, "SELECT reason, count(*) AS n FROM drops WHERE conn_id = %d "
                 "GROUP BY reason" % cid)
    assert {r["reason"]: int(r["n"]) for r in rows} == {"NETFILTER_DROP": dropped}, rows
    host = query(path, "SELECT count(*) AS n FROM drops WHERE conn_id IS NULL AND "
                 "reason = 'NO_SOCKET'")
    assert int(host[0]["n"]) >= 3, host
    frows = query(fpath, "SELECT conn_id, reason, count(*) AS n FROM drops GROUP BY 1, 2")
    assert [(r["conn_id"], r["reason"], int(r["n"])) for r in frows] == \
        [(str(cid), "NETFILTER_DROP", dropped)], frows


@needs_bpf
def test_check_names_listeners_and_drop_reasons():
    """Both capabilities in --check, as the capture header's `missing` would name them."""
    r = run([tool("tcptop-record"), "--check"])
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[0]: ln.split()[1] for ln in r.stdout.splitlines() if len(ln.split()) > 1}
    assert lines.get("listeners") == "ok", r.stdout
    # kfree_skb carries a reason from 6.0 on: every kernel of make vmtest (6.1, 6.12, 6.18)
    assert lines.get("drop-reasons") == "ok", r.stdout
    # left out, it is said missing, and why
    r = run([tool("tcptop-record"), "--check", "--no-probe", "tp_btf:kfree_skb"])
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("drop-reasons")]
    assert line and line[0].split()[1] == "MISSING", r.stdout


@needs_root
def test_sockdiag_check_says_what_it_gives():
    """sock_diag has each listener's counters, and no drop reasons: one line says why."""
    r = run([tool("tcptop-record"), "--source", "sockdiag", "--check"])
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.strip()}
    assert lines["listeners"].split()[1] == "ok", r.stdout
    assert lines["drop-reasons"].split()[1] == "MISSING" and "reason" in lines["drop-reasons"], \
        r.stdout
