"""Black-box tests of tcptop-record on real traffic (root, BPF build).

Oracles: iperf3 -J byte counts, a UDP helper that knows what it sent,
libbpf-tools tcplife, the kernel's own view (RST, retransmits under netem
loss). Captures are read back with the format's reader (test_format dump, or
tcptop-replay --dump --json).
"""
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import ROOT, background, free_port, needs_bpf, needs_cmd, run, tool  # noqa: E402
from helpers.capture import (CLOSE, INBOUND, LOST, OPEN, OUTBOUND, PROC, STATS,  # noqa: E402
                             TRAFFIC, connections, find, read_cap, read_capture)
from helpers.netns import nstat, veth_dev, veth_pair  # noqa: E402
from helpers.recorder import (SETTLE_S, Recorder, assert_bpf_gone, bpf_objects,  # noqa: E402
                              record, wait_header)
from helpers.traffic import IPERF_COOKIE, PY, call_flood, tcp_pair, wait_listen  # noqa: E402

pytestmark = needs_bpf

HELPERS = os.path.join(ROOT, "tests", "helpers")

TCP_ESTABLISHED, TCP_SYN_SENT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE = 1, 2, 4, 5, 7
RESET_RECEIVED = 2
CLOSE_INFERRED = 8  # TT_F_CLOSE_INFERRED: a pass found the socket gone


# ------------------------------------------------------------------ traffic

def iperf(host, port, *client_args):
    """One iperf3 run; returns (client JSON, client pid, server pid)."""
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", host, "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listen(port)
        cli = subprocess.Popen(["iperf3", "-c", host, "-p", str(port), "-J"] + list(client_args),
                               stdout=subprocess.PIPE, text=True)
        out, _ = cli.communicate(timeout=60)
        srv.wait(timeout=30)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    return json.loads(out), cli.pid, srv.pid


# ------------------------------------------------------------------ TCP bytes

@needs_cmd("iperf3")
@pytest.mark.parametrize("mode", ["coalesce", "raw"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_iperf_bytes_pids_direction(tmpdir_path, mode, host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = free_port(fam)
    args = ["-P", str(port)] + (["--raw"] if mode == "raw" else ["--coalesce", "200ms"])
    (j, cpid, spid), hdr, evs, _ = record(
        tmpdir_path, lambda: iperf(host, port, "-t", "1", "-P", "2"), *args)
    assert hdr["mode"] == mode
    assert "tp_btf:inet_sock_set_state" in hdr["probes"]
    conns = connections(evs)
    client = find(conns, 6, rport=port)
    server = find(conns, 6, lport=port)
    # one control connection and two data streams, each seen from both ends
    assert len(client) == 3 and len(server) == 3, conns
    fam_no = 6 if fam == socket.AF_INET6 else 4
    by_lport = {c["open"]["lport"]: c for c in client}
    sock2port = {x["socket"]: x["local_port"] for x in j["start"]["connected"]}
    for st in j["end"]["streams"]:
        c = by_lport[sock2port[st["sender"]["socket"]]]
        (peer,) = [s for s in server if s["open"]["rport"] == c["open"]["lport"]]
        sent = st["sender"]["bytes"] + IPERF_COOKIE
        got = st["receiver"]["bytes"] + IPERF_COOKIE
        if mode == "raw":
            # per call: exactly what each application wrote and read
            assert c["tx"] == sent and peer["rx"] == got
        elif RESET_RECEIVED not in c["resets"]:
            # the kernel's counters, on both ends, equal what the applications did
            assert c["tx"] == peer["rx"] == sent == got
            assert c["close"]["tx_bytes"] == peer["close"]["rx_bytes"] == sent
            # and they came as samples while the 1 s stream ran (200 ms apart), not only
            # as the delta its close sends
            for end, total in ((c, sent), (peer, got)):
                n, nbytes = samples_before_close(evs, end["open"]["conn_id"])
                assert n >= 2 and nbytes >= total // 2, (n, nbytes, total)
        else:
            # iperf3's server may close with unread data: RST; the counts bound ours
            assert got <= peer["rx"] and c["tx"] <= sent and c["tx"] <= peer["rx"]
    if mode == "raw":
        assert sum(c["tx"] for c in client if c["open"]["lport"] in by_lport) >= \
            j["end"]["sum_sent"]["bytes"]
    for c in client:
        assert c["open"]["family"] == fam_no
        assert c["open"]["direction"] == OUTBOUND
        assert c["pid"] == cpid and c["comm"] == "iperf3"
        assert c["states"][0] == (TCP_CLOSE, TCP_SYN_SENT)
        assert c["states"][-1][1] == TCP_CLOSE and c["kinds"][-1] == CLOSE
    for s in server:
        assert s["open"]["direction"] == INBOUND
        assert s["pid"] == spid and s["comm"] == "iperf3"
    if mode == "raw":
        # counted per call (test_raw.py matches the records to the calls one by one)
        raw = [e for e in evs if e["kind"] == TRAFFIC and e["flags"] & 4]
        assert raw and all(e["tx_bytes"] >= e["tx_calls"] and e["rx_bytes"] >= e["rx_calls"]
                           and e["tx_calls"] + e["rx_calls"] >= 1 for e in raw)


# ------------------------------------------------------------------ UDP flows

# coalesce-1ms: flushes every millisecond meet flows while the helper (run several times, for
# more of them) makes them: some in BPF's map with their open not yet read from the ring buffer,
# which the recorder must not report before their open (a reader drops such events)
@pytest.mark.parametrize("mode", ["coalesce", "coalesce-1ms", "raw"])
@pytest.mark.parametrize("fam", ["4", "6"])
def test_udp_flows_exact(tmpdir_path, mode, fam):
    def go():
        res = []
        for _ in range(4 if mode == "coalesce-1ms" else 1):
            r = run([PY, os.path.join(HELPERS, "udp_sender.py"), fam])
            assert r.returncode == 0, r.stderr
            res.append(json.loads(r.stdout))
        return res

    args = ["--udp"] + {"raw": ["--raw"], "coalesce": ["--coalesce", "100ms"],
                        "coalesce-1ms": ["--coalesce", "1ms"]}[mode]
    runs, _, evs, _ = record(tmpdir_path, go, *args)
    conns = connections(evs)
    for want, lport, rport, txb, txp, rxb, rxp in [[w] + f for w in runs for f in w["flows"]]:
        got = find(conns, 17, lport, rport)
        assert len(got) == 1, (lport, rport, [c["open"] for c in conns.values()])
        c = got[0]
        assert (c["tx"], c["txp"], c["rx"], c["rxp"]) == (txb, txp, rxb, rxp)
        assert c["pid"] == want["pid"]
        assert c["open"]["family"] == int(fam)
        assert c["open"]["direction"] == (OUTBOUND if txp else INBOUND)
        # the helper closed its sockets: the flow is closed with the same totals
        assert c["close"] is not None
        assert (c["close"]["tx_bytes"], c["close"]["rx_bytes"]) == (txb, rxb)
    ids = [c["open"]["conn_id"] for c in conns.values()]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------ lifecycle

def tcp_exchange(port, nbytes):
    srv, cli, acc = tcp_pair(port)
    cli.sendall(b"x" * nbytes)
    got = 0
    while got < nbytes:
        got += len(acc.recv(1 << 16))
    acc.sendall(b"y" * 1000)
    cli.recv(4096)
    return close_client_first(srv, cli, acc)


def close_client_first(srv, cli, acc):
    """The client closes, 50 ms later the server's end: the client's port."""
    lport = cli.getsockname()[1]
    cli.close()
    time.sleep(0.05)
    acc.close()
    srv.close()
    return lport


def samples_before_close(evs, cid):
    """(count, tx + rx bytes) of the TRAFFIC samples of connection cid that came while it was
    open: before its close, leaving out the last delta the close itself sends (same instant)."""
    close = min(e["ts"] for e in evs if e["kind"] == CLOSE and e["conn_id"] == cid)
    got = [e for e in evs if e["kind"] == TRAFFIC and e["conn_id"] == cid and
           e["ts"] < close - 1000000]
    return len(got), sum(e["tx_bytes"] + e["rx_bytes"] for e in got)


def held_exchange(port, secs, step=2000, every=0.05):
    """One connection sending step bytes every `every` s for secs, all read by its server end:
    (client port, bytes sent)."""
    srv, cli, acc = tcp_pair(port)
    sent, t0 = 0, time.time()
    for k in range(int(secs / every)):
        time.sleep(max(0.0, t0 + k * every - time.time()))
        cli.sendall(b"h" * step)
        sent += step
        got = 0
        while got < step:
            got += len(acc.recv(1 << 16))
    lport = cli.getsockname()[1]
    cli.close()
    acc.close()
    srv.close()
    return lport, sent


def test_state_sequence_and_reset(tmpdir_path):
    port, closed = free_port(), free_port()

    def go():
        lport = tcp_exchange(port, 50000)
        try:
            socket.create_connection(("127.0.0.1", closed), timeout=30)
        except ConnectionRefusedError:
            pass
        return lport

    lport, _, evs, _ = record(tmpdir_path, go, "-P", str(port), "-P", str(closed))
    conns = connections(evs)
    (c,) = find(conns, 6, lport, port)
    assert c["states"] == [(TCP_CLOSE, TCP_SYN_SENT), (TCP_SYN_SENT, TCP_ESTABLISHED),
                           (TCP_ESTABLISHED, TCP_FIN_WAIT1), (TCP_FIN_WAIT1, TCP_FIN_WAIT2),
                           (TCP_FIN_WAIT2, TCP_CLOSE)]
    assert (c["tx"], c["rx"]) == (50000, 1000)
    assert c["pid"] == os.getpid()
    (s,) = find(conns, 6, port, lport)
    assert s["open"]["state"] == 3 and s["states"][0] == (3, TCP_ESTABLISHED)
    assert (s["tx"], s["rx"]) == (1000, 50000)
    (r,) = find(conns, 6, rport=closed)
    assert r["resets"] == [2]  # TT_RST_RECEIVED
    assert r["states"] == [(TCP_CLOSE, TCP_SYN_SENT), (TCP_SYN_SENT, TCP_CLOSE)]


def test_close_after_shutdown_changes_no_state(tmpdir_path):
    """close() after shutdown(SHUT_WR): the kernel sets the state the socket is in again
    (tcp_close_state(): FIN_WAIT2 stays FIN_WAIT2), and the tracepoint fires: no change, no
    event."""
    port = free_port()

    def go():
        srv, cli, acc = tcp_pair(port)
        cli.sendall(b"x" * 1000)
        cli.shutdown(socket.SHUT_WR)
        got = 0
        while True:
            d = acc.recv(1 << 16)
            if not d:
                break
            got += len(d)
        assert got == 1000
        time.sleep(0.05)
        return close_client_first(srv, cli, acc)

    lport, _, evs, _ = record(tmpdir_path, go, "-P", str(port))
    (c,) = find(connections(evs), 6, lport, port)
    assert c["states"] == [(TCP_CLOSE, TCP_SYN_SENT), (TCP_SYN_SENT, TCP_ESTABLISHED),
                           (TCP_ESTABLISHED, TCP_FIN_WAIT1), (TCP_FIN_WAIT1, TCP_FIN_WAIT2),
                           (TCP_FIN_WAIT2, TCP_CLOSE)]


def test_refused_and_reset_connections_say_so_in_the_state_column(tmpdir_path):
    """A refused connect() reads REFUSED and a connection ended by a reset RESET, not a
    plain CLOSED, in tcptop-replay -b of the recording; a normal end reads CLOSED. Oracle: the
    errors the client's own calls got (ECONNREFUSED, ECONNRESET) and its clean EOF."""
    port, closed = free_port(), free_port()
    seen = {}

    def go():
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(4)
        try:
            try:
                socket.create_connection(("127.0.0.1", closed), timeout=30)
            except ConnectionRefusedError:
                seen["refused"] = True
            for how in ("reset", "normal"):
                c = socket.create_connection(("127.0.0.1", port), timeout=30)
                a, _ = srv.accept()
                c.sendall(b"x" * 100)
                a.recv(100)
                if how == "reset":  # linger 0: close() sends an RST
                    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                a.close()
                try:
                    seen[how] = (c.getsockname()[1], c.recv(10) == b"" and "eof")
                except ConnectionResetError:
                    seen[how] = (c.getsockname()[1], "reset")
                c.close()
        finally:
            srv.close()

    record(tmpdir_path, go, "-P", str(port), "-P", str(closed))
    assert seen["refused"] and seen["reset"][1] == "reset" and seen["normal"][1] == "eof", seen
    r = run([tool("tcptop-replay"), "-b", os.path.join(tmpdir_path, "cap.tt")])
    assert r.returncode == 0, r.stderr
    last = r.stdout.split("tcptop-replay ")[-1].splitlines()[2:]
    state = {(f[3].rsplit(":", 1)[1], f[4].rsplit(":", 1)[1]): f[5]
             for f in map(str.split, last) if len(f) > 5}
    refused = [v for (lp, rp), v in state.items() if rp == str(closed)]
    assert refused == ["REFUSED"], state
    rst, ok = str(seen["reset"][0]), str(seen["normal"][0])
    # both sides: the server's RST of its linger-0 close() comes after that close (tcp_close
    # sets TCP_CLOSE first, then sends it)
    assert state[(rst, str(port))] == state[(str(port), rst)] == "RESET", state
    assert state[(ok, str(port))] == state[(str(port), ok)] == "CLOSED", state


def test_port_filter(tmpdir_path):
    a, b = free_port(), free_port()

    def go():
        tcp_exchange(a, 1000)
        tcp_exchange(b, 1000)

    _, hdr, evs, _ = record(tmpdir_path, go, "--port", str(a))
    conns = connections(evs)
    assert find(conns, 6, rport=a) and find(conns, 6, lport=a)
    assert all(a in (c["open"]["lport"], c["open"]["rport"]) for c in conns.values())
    assert "port=%d" % a in hdr["filters"]


def test_pid_filter_waits_for_owner(tmpdir_path):
    """With --pid, a passive connection is reported once its owner touches it."""
    port = free_port()
    _, _, evs, _ = record(tmpdir_path, lambda: tcp_exchange(port, 5000), "--pid",
                          str(os.getpid()))
    conns = connections(evs)
    assert find(conns, 6, rport=port) and find(conns, 6, lport=port)
    assert all(c["pid"] == os.getpid() for c in conns.values())
    (s,) = find(conns, 6, lport=port)
    assert s["open"]["pid"] == os.getpid() and s["rx"] == 5000


def test_preexisting_connection_attributed(tmpdir_path):
    port = free_port()
    srv, cli, acc = tcp_pair(port)
    try:
        def go():
            cli.sendall(b"p" * 3000)
            got = 0
            while got < 3000:
                got += len(acc.recv(4096))
            time.sleep(0.4)

        _, _, evs, _ = record(tmpdir_path, go, "-P", str(port), "--coalesce", "100ms")
    finally:
        for s in (cli, acc, srv):
            s.close()
    conns = connections(evs)
    (c,) = find(conns, 6, rport=port)
    assert c["open"]["flags"] & 1  # TT_F_PREEXISTING
    assert c["open"]["pid"] == os.getpid() and c["open"]["comm"]
    assert c["tx"] == 3000
    names = [e for e in evs if e["kind"] == 11 and e["pid"] == os.getpid()]
    assert names


def test_unnameable_owner_does_not_sweep_every_pass(tmpdir_path):
    """A connection no file holds (still in its listener's accept queue) cannot be named by the
    sweep of the file tables: it is looked for again every 5 s, not at every pass (each sweep
    walks every file of the machine). Each sweep names the holders of the port's sockets
    (PROC_NAME) as it meets them, so a second process's names count the sweeps."""
    port = free_port()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    cport = cli.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))  # never accepted
    child = subprocess.Popen([sys.executable, "-c",
                              "import socket,sys,time\n"
                              "s=socket.create_connection(('127.0.0.1',%d))\n"
                              "print('up',flush=True)\ntime.sleep(30)" % port],
                             stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"up"
        _, _, evs, _ = record(tmpdir_path, lambda: time.sleep(2.5), "-P", str(port),
                              "--coalesce", "100ms")
    finally:
        child.kill()
        child.wait()
        for s in (queued, acc, cli, srv):
            s.close()
    names = [e for e in evs if e["kind"] == 11 and e["pid"] == child.pid]
    (a,) = find(connections(evs), 6, lport=port, rport=cport)
    assert a["open"]["pid"] == os.getpid()
    # the sweep at start, the first pass's (the queued connections are new), none after
    assert 1 <= len(names) <= 3, len(names)


# ------------------------------------------------------------------ retransmits

@pytest.fixture
def lossy_netns():
    """Two namespaces joined by a veth pair losing packets one way (netem 30%, else tbf)."""
    with veth_pair("10.77.0", "tt", pinned=True) as pair:
        a, dev = pair[0], veth_dev("tt")
        netem = ["ip", "netns", "exec", a, "tc", "qdisc", "add", "dev", dev, "root", "netem",
                 "loss", "30%"]
        # kernels without sch_netem: a token bucket slower than the test's 1 Mbit/s stream,
        # with a tiny queue, drops as surely
        tbf = ["ip", "netns", "exec", a, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
               "rate", "500kbit", "burst", "5kb", "limit", "6kb"]
        # loaded first: the qdisc's first use loads the module, and under emulation (make
        # vmtest 6.12, CI) that add once failed and left the link lossless
        run(["modprobe", "-q", "sch_netem"])
        if run(netem).returncode and run(tbf).returncode:
            pytest.skip("neither netem nor tbf qdisc available")
        yield pair


@needs_cmd("iperf3", "tc")
def test_retransmits_under_loss(tmpdir_path, lossy_netns):
    a, b = lossy_netns
    port = 5201

    def go():
        srv = subprocess.Popen(["ip", "netns", "exec", b, "iperf3", "-s", "-1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listen(port, b)
        # paced, 2 s: long enough to be sampled on the way
        r = run(["ip", "netns", "exec", a, "iperf3", "-c", "10.77.0.2", "-p", str(port), "-t",
                 "2", "-b", "1M", "-J"], timeout=60)
        try:  # the server's end of the exchange crosses the lossy link: its own backoff
            srv.wait(timeout=60)
        except subprocess.TimeoutExpired:  # (make vmtest 6.12: past 30 s) is not under test
            srv.kill()
            srv.wait()
        # the FINs cross the lossy link too: until the client's sockets are closed (TIME-WAIT
        # is closed for the recorder), which under emulation takes seconds of backoff
        for _ in range(100):
            ss = run(["ip", "netns", "exec", a, "ss", "-Htan", "dport", "=", ":%d" % port])
            done = all(x.startswith("TIME-WAIT") for x in ss.stdout.splitlines())
            if done:
                break
            time.sleep(0.1)
        # the namespace holds only these clients: its counter is theirs (read while the
        # recorder still runs; final once they are all closed)
        kernel = nstat(a).get("TcpRetransSegs", 0)
        qdisc = run(["ip", "netns", "exec", a, "tc", "-s", "qdisc", "show"]).stdout
        return json.loads(r.stdout), kernel, done, " ".join(qdisc.split())

    (j, kernel, closed, qdisc), _, evs, _ = record(tmpdir_path, go, "-P", str(port),
                                                   "--coalesce", "100ms")
    assert "error" not in j, j["error"]
    assert kernel > 0, "no retransmit in the lossy namespace: " + qdisc
    conns = connections(evs)
    client = [c for c in find(conns, 6, rport=port) if c["open"]["direction"] == OUTBOUND]
    assert client
    # every segment the kernel counted, each told by an event (with its cause, or as unknown);
    # a socket still open when it was read may have retransmitted since
    retrans = sum(c["retrans"] for c in client)
    assert retrans == kernel if closed else retrans >= kernel, (
        retrans, kernel, closed, [c["close"] and c["close"]["retrans"] for c in client])
    assert sum(c["close"]["retrans"] for c in client if c["close"]) >= 1
    data = max(client, key=lambda c: c["tx"])
    # the deltas sum to the final counters
    assert 0 < data["tx"] == data["close"]["tx_bytes"] <= j["end"]["sum_sent"]["bytes"] + \
        IPERF_COOKIE
    # sampled in its namespace too, while it ran (2 s, 100 ms apart): most of the bytes came
    # before the close (acked bytes move in bursts between RTO backoffs under 30% loss: two
    # samples at least, as seen on Debian's 6.1)
    n, nbytes = samples_before_close(evs, data["open"]["conn_id"])
    assert n >= 2 and nbytes >= data["tx"] // 2, (n, nbytes, data["tx"])
    # other namespaces are seen by the tracepoints: its netns is not ours
    assert data["open"]["netns"] != os.stat("/proc/self/ns/net").st_ino


# ------------------------------------------------------------------ loss accounting

def test_tiny_ringbuf_reports_lost(tmpdir_path):
    """--raw-slice 0 into a 4 KB ring buffer: one event per call, and every call that has no
    event is counted lost, exactly (nothing but calls and retransmits meets the full ring: no
    sampling pass runs, the connection opens, is owned and closes while the ring is read
    empty)."""
    port = free_port()
    (sends, recvs, _, lport), _, evs, err = record(
        tmpdir_path, lambda: call_flood(port, 1.0), "--raw-slice", "0", "--ringbuf-kb", "4",
        "--coalesce", "1h", "-P", str(port))
    lost = [e for e in evs if e["kind"] == LOST]
    assert lost and all(e["count"] > 0 for e in lost)
    # stamped with the time they were noticed, inside the capture
    first, last = min(e["ts"] for e in evs), max(e["ts"] for e in evs)
    assert all(first <= e["ts"] <= last and e["ts"] > 10**18 for e in lost)
    total = sum(e["count"] for e in lost)
    assert " %d lost" % total in err
    stats = [e for e in evs if e["kind"] == STATS]
    assert stats and stats[-1]["lost"] == total
    assert_calls_missing_are_lost(evs, lport, sends, recvs, total)


def assert_calls_missing_are_lost(evs, lport, sends, recvs, lost):
    """call_flood()'s connection (client port lport, sends and recvs calls) recorded with
    --raw-slice 0: calls missing == lost. Both closes are there, each counting what its end's
    calls moved."""
    ends = [c for c in connections(evs).values() if lport in (c["open"]["lport"],
                                                               c["open"]["rport"])]
    assert len(ends) == 2 and all(c["close"] for c in ends), ends
    ids = {c["open"]["conn_id"] for c in ends}
    recorded = sum(e["tx_calls"] + e["rx_calls"] for e in evs
                   if e["kind"] == TRAFFIC and e["conn_id"] in ids)
    missing = sends + recvs - recorded
    # a retransmit is an event too (a few runs in ten on this loopback load): then its event may
    # be what was lost (the kernel's count bounds them; a loss probe is not in it)
    retrans = sum(c["close"]["retrans"] for c in ends) + sum(c["retrans"] for c in ends)
    if not retrans:
        assert missing == lost, (sends, recvs, recorded, lost)
    else:
        assert missing <= lost <= missing + retrans + 1, (missing, lost, retrans)


# ------------------------------------------------------------------ tcplife agrees

@needs_cmd("stdbuf")
def tcplife_round(tmpdir_path, port):
    """tcplife (bcc) running while three exchanges on port are recorded: (its rows of port,
    our connections)."""
    tl = subprocess.Popen(["stdbuf", "-oL", "/usr/sbin/tcplife"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(tl.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 20
        while not lines and time.time() < deadline:
            time.sleep(0.05)
        assert lines and lines[0].startswith("PID"), lines

        def go():
            for n in (123456, 2000000, 777):
                tcp_exchange(port, n)
            time.sleep(0.5)

        _, _, evs, _ = record(tmpdir_path, go, "-P", str(port))
    finally:
        tl.send_signal(signal.SIGINT)
        tl.wait(timeout=20)
        reader.join(timeout=5)
    rows = [x.split() for x in lines[1:] if x.strip()]
    return [r for r in rows if str(port) in (r[3], r[5])], connections(evs)


@pytest.mark.skipif(not os.path.exists("/usr/sbin/tcplife"), reason="no tcplife")
def test_agrees_with_tcplife(tmpdir_path):
    """Each connection end tcplife prints (the kernel's counters at close, with SYN and FIN)
    is in the capture with the same bytes and pid, and the capture has all six ends of the three
    exchanges. tcplife is a BPF program too, which a loaded 6.18 build sometimes does not run
    for a tracepoint hit (docs/KERNELS.md): where it printed fewer than six, the round is made
    again once, and one of the two must show all six."""
    full = []
    for attempt in range(2):
        port = free_port()
        rows, conns = tcplife_round(tmpdir_path, port)
        ours = [c for c in conns.values() if c["open"]["proto"] == 6 and
                port in (c["open"]["lport"], c["open"]["rport"])]
        assert len(ours) == 6 and all(c["close"] for c in ours), ours
        for r in rows:
            lport, rport, tx_kb, rx_kb = int(r[3]), int(r[5]), float(r[6]), float(r[7])
            (c,) = find(conns, 6, lport, rport)
            assert abs(c["close"]["tx_bytes"] / 1024 - tx_kb) <= 0.01
            assert abs(c["close"]["rx_bytes"] / 1024 - rx_kb) <= 0.01
            assert c["pid"] == int(r[0])
        full.append(len(rows))
        if len(rows) == 6:
            break
    assert full[-1] == 6, full


# ------------------------------------------------------------------ command line, exits

def test_usage_errors(tmpdir_path):
    rec = tool("tcptop-record")
    out = os.path.join(tmpdir_path, "x.tt")
    for args in ([], ["-o"], ["-o", out, "--bogus"], ["-o", out, "-d", "abc"],
                 ["-o", out, "--ringbuf-kb", "3"], ["-o", out, "-W", "3"],
                 ["-o", out, "--port", "99999"], ["-o", out, "extra"],
                 ["-o", out, "--duration"], ["-o", out, "--coalesce", "0"],
                 ["-o", out, "-C", "0"], ["-o", out, "-C", "1.5"], ["-o", out, "-C", "2x"],
                 ["-o", out, "-C", "1048577"], ["-o", out, "-G", "0.5"], ["-o", "-", "-G", "2"],
                 ["-o", "-", "--flight", "10"], ["-o", out, "--flight", "5", "-C", "1"],
                 ["-o", out, "-Z", "no-such-user-tt"], ["-o", out, "--no-probe", "bogus:x"],
                 ["-o", out, "--no-probe", "tp_btf:inet_sock_set_state"], ["-o", out, "-x"],
                 ["-o", out, "--cgroup", "/nonexistent-cgroup"]):
        r = run([rec] + args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("tcptop-record: ")
    assert not os.path.exists(out)
    r = run([rec, "--help"])
    assert r.returncode == 0 and "--raw" in r.stdout
    r = run([rec, "-V"])
    assert r.returncode == 0 and r.stdout.startswith("tcptop-record tcptop ")


def bpf_calls(args):
    """Run the recorder under strace: (result, number of bpf() calls it made)."""
    log = args[-1] + ".strace"
    # LeakSanitizer cannot run under ptrace: off for a sanitizer build
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = run(["strace", "-f", "-qq", "-e", "trace=bpf", "-o", log, tool("tcptop-record")] +
            args[:-1], env=env)
    calls = [x for x in open(log).read().splitlines() if "bpf(" in x]
    os.unlink(log)
    return r, len(calls)


@needs_cmd("bpftool", "strace")
def test_bad_output_fails_before_attach_and_no_leftovers(tmpdir_path):
    # an unwritable output fails before any bpf() call: nothing was ever loaded
    log = os.path.join(tmpdir_path, "t")
    r, calls = bpf_calls(["-o", "/nonexistent/dir/x.tt", "-d", "1", log])
    assert r.returncode == 1 and "/nonexistent/dir/x.tt" in r.stderr and calls == 0
    assert r.stderr.count("\n") == 1
    existing = os.path.join(tmpdir_path, "exists.tt")
    open(existing, "w").write("keep")
    r, calls = bpf_calls(["-o", existing, "-d", "1", log])
    assert r.returncode == 1 and "exists" in r.stderr and calls == 0
    assert open(existing).read() == "keep"
    # and a normal run releases everything it loaded
    os.chmod(existing, 0o644)
    rec = Recorder(existing, "-f", "-q")
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0 and err == ""
    assert_bpf_gone(rec.objs, "normal exit")
    assert os.stat(existing).st_mode & 0o777 == 0o600
    hdr, _ = read_capture(existing)
    assert hdr["clock"] == "boottime"


@needs_cmd("bpftool", "iperf3")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "duration", "disk-full", "SIGKILL"])
def test_every_exit_releases_bpf(tmpdir_path, how):
    """Whatever ends the recorder, no program, map or link of it stays in the kernel."""
    path = os.path.join(tmpdir_path, "x.tt")
    args = ["-q"]
    mnt = None
    if how == "duration":
        args += ["-d", "1.5"]
    if how == "disk-full":
        mnt = os.path.join(tmpdir_path, "mnt")
        os.mkdir(mnt)
        assert run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt]).returncode == 0
        path = os.path.join(mnt, "x.tt")
        args += ["--raw-slice", "0"]
    try:
        rec = Recorder(path, *args)
        if how == "disk-full":
            fill_until_stopped(rec)
        if how in ("duration", "disk-full"):
            rec.p.wait(timeout=30)
        else:
            rec.p.send_signal(getattr(signal, how))
        rec.p.communicate(timeout=30)
        assert rec.p.returncode == {"duration": 0, "disk-full": 1, "SIGKILL": -9}.get(how, 0)
        assert_bpf_gone(rec.objs, how)
    finally:
        if mnt:
            run(["umount", mnt])


def fill_until_stopped(rec, rounds=10):
    """Traffic of an event per 100-byte call (--raw-slice 0) until the recorder exits by itself."""
    for _ in range(rounds):
        if rec.p.poll() is not None:
            return
        iperf("127.0.0.1", free_port(), "-t", "1", "-l", "100")
    raise AssertionError("the recorder did not stop")


@needs_cmd("iperf3")
def test_disk_full_stops_cleanly(tmpdir_path):
    """ENOSPC: one clear line, exit 1, the file readable up to its last complete block."""
    mnt = os.path.join(tmpdir_path, "mnt")
    os.mkdir(mnt)
    # room for a few blocks of raw events
    assert run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", mnt]).returncode == 0
    try:
        path = os.path.join(mnt, "full.tt")
        rec = Recorder(path, "--raw-slice", "0", "-q")
        fill_until_stopped(rec)
        _, err = rec.p.communicate(timeout=30)
        assert rec.p.returncode == 1
        assert err.count("\n") == 1 and err.startswith("tcptop-record: " + path)
        assert "No space left on device" in err
        r = run([tool("tests/test_format"), "dump", path])
        assert r.returncode == 0 and "warning" in r.stderr
        lines = r.stdout.splitlines()
        assert json.loads(lines[0])["mode"] == "raw" and len(lines) > 1000
        # the independent reader agrees on what is readable
        cap = read_cap(path)
        assert cap.warnings and len(cap.events) == len(lines) - 1
    finally:
        run(["umount", mnt])


def test_kill9_loses_at_most_a_second(tmpdir_path):
    """Blocks reach the file at least once a second: what happened >1s before a kill -9 is there."""
    path = os.path.join(tmpdir_path, "k.tt")
    port = free_port()
    rec = Recorder(path, "--coalesce", "100ms", "-P", str(port))
    lport = tcp_exchange(port, 6543)
    time.sleep(1.3)
    rec.p.kill()
    rec.p.wait(timeout=10)
    r = run([tool("tests/test_format"), "dump", path])
    assert r.returncode == 0 and "no end block" in r.stderr
    conns = connections([json.loads(x) for x in r.stdout.splitlines()[1:]])
    (c,) = find(conns, 6, lport, port)
    close = c["close"]
    assert close is not None, c
    if close["flags"] & CLOSE_INFERRED:
        # the kernel ran none of our programs at the close (a 6.18 build skips some under
        # load): a pass found the socket gone and closed it with what the last pass read, flagged
        # so; the close reached the file all the same
        assert c["tx"] <= 6543, c
    else:
        assert c["tx"] == 6543, c


def test_symlink_never_followed(tmpdir_path):
    target = os.path.join(tmpdir_path, "target")
    link = os.path.join(tmpdir_path, "link.tt")
    os.symlink(target, link)
    rec = tool("tcptop-record")
    r = run([rec, "-o", link, "-d", "1"])
    assert r.returncode == 1 and "exists" in r.stderr
    r = run([rec, "-o", link, "-f", "-d", "1"])
    assert r.returncode == 1 and "symbolic link" in r.stderr and r.stderr.count("\n") == 1
    assert not os.path.exists(target) and os.path.islink(link)
    # a ring file name taken by a symlink is found before recording starts
    out = os.path.join(tmpdir_path, "ring.tt")
    os.symlink(target, out + ".2")
    r = run([rec, "-o", out, "-G", "1", "-W", "3", "-d", "1"])
    assert r.returncode == 1 and out + ".2: file exists" in r.stderr
    assert not os.path.exists(out) and not os.path.exists(target)


@needs_cmd("setpriv")
def test_without_privilege_says_so():
    d = tempfile.mkdtemp(prefix="tt-noroot-")  # pytest's own tree is closed to nobody
    try:
        os.chmod(d, 0o1777)
        path = os.path.join(d, "np.tt")
        r = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                 tool("tcptop-record"), "--source", "bpf", "-o", path, "-d", "1"])
        assert r.returncode == 1 and "needs root" in r.stderr and r.stderr.count("\n") == 1
        assert not os.path.exists(path)  # the output it had created is removed again
    finally:
        shutil.rmtree(d)


def test_exit_line_says_the_sampling_passes(tmpdir_path):
    """The exit statistics say how many sampling passes were made (one per --coalesce interval
    and the last at the stop) and what they cost: averages within the longest, and no pass
    with more CPU than its two threads (the source's, and the copier that reads the ring buffer
    while an iterator walks) could spend in the longest's wall time."""
    path = os.path.join(tmpdir_path, "p.tt")
    t0 = time.time()
    rec = Recorder(path, "--coalesce", "100ms")
    t_ready = time.time()
    tcp_exchange(free_port(), 10000)
    time.sleep(max(0, t_ready + 1.5 - time.time()))
    t_stop = time.time()
    rc, err = rec.stop()
    t1 = time.time()
    assert rc == 0, err
    m = re.search(r"^(\d+) sampling passes: ([\d.]+) ms each on average \(longest ([\d.]+) ms\), "
                  r"CPU ([\d.]+) ms each on average \(most ([\d.]+) ms\)$", err, re.M)
    assert m, err
    n, avg, longest, cpu, most = int(m.group(1)), *(float(x) for x in m.groups()[1:])
    # at least one pass per interval while it was surely running (half of them, on a loaded
    # machine), at most one per interval over its whole life and the last one
    assert (t_stop - t_ready) / 0.1 / 2 <= n <= (t1 - t0) / 0.1 + 2, (n, t_stop - t_ready, t1 - t0)
    assert 0 < avg <= longest and 0 < cpu <= most <= 2 * longest + 1, err


def test_sigint_complete_file_and_stats(tmpdir_path):
    path = os.path.join(tmpdir_path, "c.tt")
    rec = Recorder(path, "--coalesce", "100ms")
    tcp_exchange(free_port(), 10000)
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0
    assert "events" in err and "lost" in err and "bytes/event" in err
    hdr, evs = read_capture(path)
    assert evs[-1]["kind"] == STATS and evs[-1]["events"] == len(evs) - 1
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_stdout_streams_while_recording(tmpdir_path):
    """-o - (capture over ssh): blocks arrive on the pipe while recording, not only at exit."""
    path = os.path.join(tmpdir_path, "s.tt")
    port = free_port()
    p = subprocess.Popen([tool("tcptop-record"), "-o", "-", "-d", "30", "-q", "-P", str(port),
                          "--coalesce", "100ms"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    background(p)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: p.stdout.read1(65536),
                                                                b"")), daemon=True)
    reader.start()
    # the header is written once the probes are attached (seconds under an emulated kernel)
    for _ in range(300):
        if chunks:
            break
        time.sleep(0.05)
    assert chunks, "no header on stdout"
    lport = tcp_exchange(port, 4242)
    found = []
    t0 = time.time()
    while time.time() - t0 < 10 and not found:
        time.sleep(0.25)
        with open(path, "wb") as f:
            f.write(b"".join(chunks))
        r = run([tool("tests/test_format"), "dump", path])
        assert r.returncode == 0 and "no end block" in r.stderr
        found = [c for c in find(connections([json.loads(x) for x in r.stdout.splitlines()[1:]]),
                                 6, lport, port) if c["close"]]
    # streamed while the recorder still runs (its -d is far away), within the tick's half second
    # (plus what an emulated kernel adds)
    assert p.poll() is None and len(found) == 1 and found[0]["tx"] == 4242, found
    p.send_signal(signal.SIGINT)
    p.wait(timeout=20)
    reader.join(timeout=5)
    err = p.stderr.read()
    assert p.returncode == 0, err
    with open(path, "wb") as f:
        f.write(b"".join(chunks))
    _, evs = read_capture(path)
    assert evs[-1]["kind"] == STATS
    (c,) = find(connections(evs), 6, lport, port)
    assert c["tx"] == 4242


def rotated(path):
    """FILE, FILE.1, ... that exist."""
    files = [path] if os.path.exists(path) else []
    n = 1
    while os.path.exists("%s.%d" % (path, n)):
        files.append("%s.%d" % (path, n))
        n += 1
    return files


def test_rotation_files_stand_alone(tmpdir_path):
    path = os.path.join(tmpdir_path, "rot.tt")
    port = free_port()
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    # umask 0: capture files are 0600 all the same
    rec = Recorder(path, "-G", "1", "-W", "3", "-P", str(port), "--coalesce", "200ms",
                   preexec_fn=lambda: os.umask(0))
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    total = 0
    for _ in range(14):
        cli.sendall(b"r" * 1000)
        total += 1000
        acc.recv(4096)
        time.sleep(0.25)
    rc, err = rec.stop(settle=SETTLE_S)
    for s in (cli, acc, srv):
        s.close()
    assert rc == 0, err
    files = [path, path + ".1", path + ".2"]
    assert rotated(path) == files and not os.path.exists(path + ".3")
    for f in files:
        assert os.stat(f).st_mode & 0o777 == 0o600
        _, evs = read_capture(f)
        conns = connections(evs)
        assert find(conns, 6, rport=port), f  # every file begins with the open connection
        assert evs[-1]["kind"] == STATS


def test_rotation_stats_count_what_the_source_delivered(tmpdir_path):
    """-C: each file's STATS counts the events, connections and lost events delivered until it
    ended, as the independent reader counts them in the files (every event but the opens a new
    file repeats), the event a rotation happens in included; the exit line says the last
    file's. The counts are the source's, read by the recorder: no second count to drift."""
    path = os.path.join(tmpdir_path, "st.tt")
    port = free_port()
    rec = Recorder(path, "--raw-slice", "0", "-C", "30k", "-P", str(port))
    # floods until the third file is begun (an emulated guest makes fewer calls a second)
    deadline = time.time() + 30
    while len(rotated(path)) < 3 and time.time() < deadline:
        call_flood(port, 0.5)
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    files = rotated(path)
    assert len(files) > 2, files
    opened, events, conns, lost = set(), 0, 0, 0
    for f in files:
        cap = read_cap(f)
        assert not cap.warnings, (f, cap.warnings)
        evs = cap.events
        assert evs[-1]["kind"] == STATS and all(e["kind"] != STATS for e in evs[:-1]), f
        for e in evs[:-1]:
            if e["kind"] == OPEN and e["conn_id"] in opened:
                continue  # repeated at the top of a new file: delivered once, before it
            events += 1
            if e["kind"] == OPEN:
                opened.add(e["conn_id"])
                conns += 1
            elif e["kind"] == LOST:
                lost += e["count"]
        st = evs[-1]
        assert (st["events"], st["conns"], st["lost"]) == (events, conns, lost), f
    m = re.search(r"^(\d+) events, (\d+) connections, .*, (\d+) lost,", err, re.M)
    assert m and tuple(int(x) for x in m.groups()) == (events, conns, lost), err


@pytest.mark.parametrize("how", ["rotate", "live", "flight", "sockdiag"])
def test_files_hold_boot_time_tools_show_wall_time(tmpdir_path, how):
    """Above the sources every time is wall time; the file holds CLOCK_BOOTTIME (format 1.1:
    wall - the header's clock_offset_ns). Read raw by the independent Python reader, every
    event of every file (kernel events, the recorder's STATS, the opens it repeats at a new
    file or a dump) is a boot time of the recording and the offset is the machine's; what
    tcptop-replay --dump and tcptop-query show is the wall time the test saw the connection
    open and close at. tcptop-record with rotation, tcptop -o (the live view's recorder) and a
    flight dump each write through the recorder; the sock_diag source stamps its own times."""
    path = os.path.join(tmpdir_path, "cap.tt")
    port = free_port()
    boot_lo = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    if how == "live":  # ready once the header is on disk, as Recorder waits for it
        p = subprocess.Popen([tool("tcptop"), "-b", "-i", "0.5", "-o", path, "-P", str(port)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        background(p)
        wait_header(path, p)
    else:
        rec = Recorder(path, "-P", str(port), "--coalesce", "200ms",
                       *{"rotate": ["-G", "1"], "flight": ["--flight", "60"],
                         "sockdiag": ["--source", "sockdiag"]}[how],
                       header=how != "flight")
        if how == "flight":
            rec.wait_attached()
    w0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
    srv, cli, acc = tcp_pair(port)
    w1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
    for _ in range(9):  # across two rotations (-G 1)
        cli.sendall(b"t" * 1000)
        acc.recv(4096)
        time.sleep(0.25)
    w2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
    for x in (cli, acc, srv):
        x.close()
    w3 = time.clock_gettime_ns(time.CLOCK_REALTIME)
    if how == "live":
        time.sleep(SETTLE_S)
        p.send_signal(signal.SIGINT)
        err = p.communicate(timeout=30)[1]
        rc = p.returncode
    else:
        rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    boot_hi, w_end = (time.clock_gettime_ns(c) for c in (time.CLOCK_BOOTTIME, time.CLOCK_REALTIME))
    offset = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(
        time.CLOCK_BOOTTIME)
    files = rotated(path)
    assert len(files) >= (3 if how == "rotate" else 1), files
    for f in files:
        cap = read_cap(f)
        off = cap.header["clock_offset_ns"]
        assert cap.header["clock"] == "boottime" and not cap.warnings, (f, cap.warnings)
        assert abs(off - offset) < 0.05e9, (f, off, offset)
        stored = [((e["ts"] - off) % (1 << 64), e["kind"]) for e in cap.events]
        assert stored and all(boot_lo <= t <= boot_hi for t, _ in stored), \
            (f, boot_lo, boot_hi, [x for x in stored if not boot_lo <= x[0] <= boot_hi][:3])
        # the tools: wall time, the same as the raw reader's
        r = run([tool("tcptop-replay"), "--dump", "--json", f])
        assert r.returncode == 0, r.stderr
        shown = [json.loads(x)["ts"] for x in r.stdout.splitlines()[1:]]
        assert shown == [e["ts"] for e in cap.events], f
        assert all(boot_lo + off <= t <= boot_hi + off for t in shown), f
    (c,) = json.loads(run([tool("tcptop-query"), "-F", "json", "--no-progress", *files,
                           "SELECT min(first_ts) AS o, max(close_ts) AS c FROM connections "
                           "WHERE rport = %d" % port], stdin=subprocess.DEVNULL).stdout)
    assert w0 <= c["o"] <= w1 + 1e9, ((c["o"] - w0) / 1e9, (w1 - w0) / 1e9)
    # (sock_diag sees the close at its next poll: by the end, however slow the machine)
    assert w2 <= c["c"] <= (w_end if how == "sockdiag" else w3 + 1e9), (c["c"] - w2) / 1e9


@needs_cmd("iperf3")
def test_rotation_by_size_ring(tmpdir_path):
    """-C: files end near the size, the ring keeps N, each is complete and readable alone."""
    path = os.path.join(tmpdir_path, "size.tt")
    port = free_port()
    # (a second of 100-byte calls in an emulated guest: some 100 kB of capture, whose size per
    # event depends on how the calls interleave)
    rec = Recorder(path, "--raw-slice", "0", "-C", "10k", "-W", "3", "-P", str(port))
    iperf("127.0.0.1", port, "-t", "1", "-l", "100")
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    assert rotated(path) == [path, path + ".1", path + ".2"]
    assert int(err.split(" file")[0].split()[-1]) > 3  # the ring wrapped
    for f in rotated(path):
        r = run([tool("tests/test_format"), "dump", f])
        assert r.returncode == 0 and r.stderr == "", (f, r.stderr)
        evs = [json.loads(x) for x in r.stdout.splitlines()[1:]]
        assert evs[-1]["kind"] == STATS
        # a file ends with the block that passes the size (blocks are kept small with -C)
        assert os.path.getsize(f) < 2 * 10 * 1024


class PacedSender:
    """A connection to a sink on port sending CHUNK bytes every STEP s on an absolute schedule
    (RATE bytes/s), in a thread; .log is [(wall time after the send, bytes)]: the oracle."""
    CHUNK, STEP = 50000, 0.05
    RATE = CHUNK / STEP

    def __init__(self, port):
        self.srv, self.cli, self.acc = tcp_pair(port)
        self.lport = self.cli.getsockname()[1]
        self.log, self.stop = [], threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        self.t = threading.Thread(target=self._send, daemon=True)
        self.t.start()

    def _drain(self):
        try:
            while self.acc.recv(1 << 20):
                pass
        except OSError:
            pass

    def _send(self):
        t0, k = time.time(), 0
        while not self.stop.is_set():
            self.cli.sendall(b"p" * self.CHUNK)
            self.log.append((time.time(), self.CHUNK))
            k += 1
            time.sleep(max(0.0, t0 + k * self.STEP - time.time()))

    def sent(self, lo, hi):
        return sum(n for t, n in self.log if lo < t <= hi)

    def close(self):
        self.stop.set()
        self.t.join()
        for s in (self.cli, self.acc, self.srv):
            s.close()


def replay_tx_rates(path, lport, interval):
    """[(snapshot wall time s, TX/s of the connection from lport)] from tcptop-replay -b."""
    r = run([tool("tcptop-replay"), "-b", "-i", str(interval), path])
    assert r.returncode == 0, r.stderr
    out, t, cols = [], None, None
    for line in r.stdout.splitlines():
        if line.startswith("tcptop-replay "):
            d = line.split()[1] + " " + line.split()[2]
            t = time.mktime(time.strptime(d[:19], "%Y-%m-%d %H:%M:%S")) - time.timezone + \
                float(d[19:])
        elif line.split()[:1] == ["PID"]:
            cols = line.split()
        elif line.strip() and t is not None:
            row = dict(zip(cols, line.split()))
            if row.get("LOCAL", "").endswith(":%d" % lport):
                out.append((t, int(row["TX/s"])))
    return out


def exchanges_sent(evs, port, sent):
    """The client ends to port in evs are one per exchange of `sent` bytes, each with its bytes:
    exactly, or at most them where the kernel ran none of our programs at the close (a 6.18
    build skips some under load) and a pass found the socket gone with what it last read."""
    ends = [c for c in connections(evs).values() if c["open"]["rport"] == port]
    assert len(ends) == len(sent), ends
    def found_gone(c):
        return c["close"] is not None and c["close"]["flags"] & CLOSE_INFERRED
    exact = sorted(c["tx"] for c in ends if not found_gone(c))
    assert all(any(x == n for n in sent) for x in exact), (exact, sent)
    found = [c["tx"] for c in ends if found_gone(c)]
    left = list(sent)
    for x in exact:
        left.remove(x)
    assert all(x <= max(left) for x in found), (found, left)
    return True


def test_flight_recorder(tmpdir_path):
    """--flight: nothing on disk before a dump; a dump (SIGUSR1, and at the end) holds the last
    window of events with its timeline: a connection opened before the window gets its open
    again, stamped at the start of the window (not at the dump, which made the whole file
    replay as one instant), events in time order, and replayed per-interval rates that follow
    the sender's own pacing."""
    path = os.path.join(tmpdir_path, "fl.tt")
    port, pport = free_port(), free_port()
    window = 3
    rec = Recorder(path, "--flight", str(window), "-P", str(port), "-P", str(pport),
                   "--coalesce", "100ms", header=False)
    rec.wait_attached()  # nothing on disk to wait for
    paced = PacedSender(pport)
    try:
        time.sleep(1.5)
        assert os.path.getsize(path) == 0  # nothing is written before a dump
        time.sleep(window)  # the paced connection's open is older than the window now
        tcp_exchange(port, 777)
        time.sleep(0.5)
        rec.p.send_signal(signal.SIGUSR1)
        dumped = time.time()
        time.sleep(0.5)
        tcp_exchange(port, 888)
        rc, err = rec.stop(settle=SETTLE_S)
    finally:
        paced.close()
    assert rc == 0, err
    _, evs = read_capture(path)
    assert exchanges_sent(evs, port, [777])
    _, evs1 = read_capture(path + ".1")
    assert exchanges_sent(evs1, port, [777, 888])
    assert os.stat(path + ".1").st_mode & 0o777 == 0o600

    # the timeline of the first dump
    (pc,) = [c for c in connections(evs).values() if c["open"]["lport"] == paced.lport]
    mine = [e for e in evs if e["conn_id"] == pc["open"]["conn_id"]]
    assert pc["open"]["flags"] & 1  # TT_F_PREEXISTING: open again, before the window
    assert pc["open"]["ts"] <= min(e["ts"] for e in mine), "the open comes after its traffic"
    ts = [e["ts"] for e in evs if e["kind"] != STATS]
    assert evs[0]["ts"] == min(ts), "the first event of the file is not its oldest"
    # nearly in order (the ring buffer of several CPUs is), never a jump back of a window
    assert all(b >= a - 50 * 10**6 for a, b in zip(ts, ts[1:]))
    assert window - 0.5 < (max(ts) - min(ts)) / 1e9 < window + 1.5, (min(ts), max(ts))
    assert (dumped - max(ts) / 1e9) < 1.0

    # replayed, per interval, the rates are the sender's own
    interval = 0.5
    rates = replay_tx_rates(path, paced.lport, interval)
    assert len(rates) >= window / interval - 1, rates  # not one snapshot: the window
    for t, rate in rates[1:-1]:  # whole intervals inside the window
        want = paced.sent(t - interval, t) / interval
        assert abs(rate - want) <= 0.3 * paced.RATE, (t, rate, want, rates)
    # the first interval also has what the window's first TRAFFIC counted before it (up to a
    # coalescing interval): nothing like the whole window at once
    t, rate = rates[0]
    assert rate * interval <= paced.sent(t - interval - 0.2, t) + 0.3 * paced.RATE * interval, \
        rates


class Churn:
    """Connections to a listener on port, one every `every` s, each closed `life` s after its
    open, in a thread: .log is {client port: [open time, close time or None]}, the oracle."""

    def __init__(self, port, every=0.04, life=2.5):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(256)
        self.port, self.every, self.life = port, every, life
        self.log, self.stop = {}, threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        held = []  # (close time, client, server end)
        nxt = time.time()
        while not self.stop.is_set() or held:
            now = time.time()
            while held and (held[0][0] <= now or self.stop.is_set()):
                _, cli, acc = held.pop(0)
                lport = cli.getsockname()[1]
                cli.close()
                acc.close()
                self.log[lport][1] = time.time()
            if not self.stop.is_set() and now >= nxt:
                cli = socket.create_connection(("127.0.0.1", self.port))
                acc, _ = self.srv.accept()
                cli.sendall(b"c" * 100)
                acc.recv(100)
                self.log[cli.getsockname()[1]] = [time.time(), None]
                held.append((time.time() + self.life, cli, acc))
                nxt += self.every
            time.sleep(0.005)

    def close(self):
        self.stop.set()
        self.t.join()
        self.srv.close()


def test_flight_dump_keeps_opens_of_connections_closed_inside(tmpdir_path):
    """--flight: a connection opened before the window and closed inside it keeps its identity
    in the dump: every connection there has its open, with its endpoints and its process (the
    connections that ended during an incident are the ones an incident recorder is for)."""
    path = os.path.join(tmpdir_path, "fl.tt")
    port, aport = free_port(), free_port()
    window = 2
    rec = Recorder(path, "--flight", str(window), "-P", str(port), "-P", str(aport),
                   "--coalesce", "100ms", header=False)
    rec.wait_attached()
    churn = Churn(port)
    try:
        srv, cli, acc = tcp_pair(aport)
        alport = cli.getsockname()[1]
        time.sleep(window + 1.5)  # its open is older than the window now
        cli.sendall(b"x" * 777)
        got = 0
        while got < 777:
            got += len(acc.recv(4096))
        for s in (cli, acc, srv):
            s.close()
        time.sleep(0.5)
        dumped = time.time()
        rec.p.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
    finally:
        churn.close()
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    _, evs = read_capture(path)
    opens = {e["conn_id"]: e for e in evs if e["kind"] == OPEN}
    ids = {e["conn_id"] for e in evs if e["conn_id"]}
    nameless = ids - set(opens)
    assert not nameless, "%d of %d connections in the dump have no open" % (
        len(nameless), len(ids))
    me, comm = os.getpid(), open("/proc/self/comm").read().strip()
    for c in connections(evs).values():
        o = c["open"]
        assert all(o[a] in ("127.0.0.1", "7f000001" + "0" * 24) for a in ("laddr", "raddr")), o
        if o["direction"] == OUTBOUND:
            cport, lport = o["lport"], o["rport"]
        else:
            lport, cport = o["lport"], o["rport"]
        assert lport in (port, aport), o
        assert cport in churn.log or (lport == aport and cport == alport), o
        # an accepted end's owner comes from the next sampling pass: unknown until then
        young = o["ts"] > max(e["ts"] for e in evs) - 0.5e9 and o["flags"] & 2
        assert (c["pid"], c["comm"]) in ([(me, comm)] + [(0, "")] * bool(young)), (c, o)
    # the idle connection, both ends, with its bytes and its close
    (a_cli,) = find(connections(evs), 6, lport=alport, rport=aport)
    (a_srv,) = find(connections(evs), 6, lport=aport, rport=alport)
    assert a_cli["tx"] == a_srv["rx"] == 777 and a_cli["close"] and a_srv["close"]
    # churned connections opened before the window and closed well inside it: all there
    inside = [lp for lp, (t0, t1) in churn.log.items()
              if t0 < dumped - window - 0.3 and t1 is not None
              and dumped - window + 0.3 < t1 < dumped - 0.3]
    assert len(inside) >= 10, churn.log
    for lp in inside:
        (c,) = find(connections(evs), 6, lport=lp, rport=port)
        assert c["close"] and c["open"]["flags"] & 1, c  # TT_F_PREEXISTING: open again


def proc_status(pid):
    return dict(x.split(":", 1) for x in open("/proc/%d/status" % pid).read().splitlines())


def test_drop_privileges(tmpdir_path):
    """-Z: supplementary groups, gid and uid dropped after attach; rotation goes on as nobody,
    even in a directory only root may write (the ring's files were opened before)."""
    os.chmod(tmpdir_path, 0o700)
    path = os.path.join(tmpdir_path, "z.tt")
    port = free_port()
    rec = Recorder(path, "-Z", "nobody", "-G", "1", "-W", "4", "-P", str(port),
                   "--coalesce", "100ms")
    time.sleep(0.3)
    st = proc_status(rec.p.pid)
    tcp_exchange(port, 321)
    time.sleep(1.5)  # a rotation or two as nobody
    tcp_exchange(port, 654)
    held, held_sent = held_exchange(port, 0.8)  # sampled as nobody: 8 samples or so
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    nobody = str(__import__("pwd").getpwnam("nobody").pw_uid)
    nogroup = str(__import__("pwd").getpwnam("nobody").pw_gid)
    assert st["Uid"].split() == [nobody] * 4
    assert st["Gid"].split() == [nogroup] * 4
    assert st["Groups"].split() == []
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert int(err.split(" file")[0].split()[-1]) >= 2
    txs, held_evs, files = [], [], []
    for f in rotated(path):
        assert os.stat(f).st_mode & 0o777 == 0o600
        _, evs = read_capture(f)
        assert evs[-1]["kind"] == STATS
        txs += [c["tx"] for c in find(connections(evs), 6, rport=port) if c["tx"]]
        held_evs += evs
        # each file's events, said if the check below fails (CI's sanitizer run once found no
        # 654 in any file, and nothing to tell why)
        files.append((f, [(e["ts"], e["kind"], e["conn_id"], e.get("lport"), e.get("rport"),
                           e.get("tx_bytes"), e.get("flags")) for e in evs]))
    assert 654 in txs, (txs, err, files)  # recorded after the drop and after rotating
    # the connection held for 0.8 s was sampled as it went (the iterator still runs as nobody):
    # samples before its close carry most of what it sent (one or two files, in time order)
    held_evs.sort(key=lambda e: e["ts"])
    (cid,) = {e["conn_id"] for e in held_evs if e["kind"] == OPEN and e["lport"] == held and
              e["rport"] == port}
    n, nbytes = samples_before_close(held_evs, cid)
    assert n >= 3 and nbytes >= held_sent // 2, (n, nbytes, held_sent)


def test_drop_privileges_needs_writable_dir(tmpdir_path):
    """Without -W, files made after the drop need USER to write the directory: said up front."""
    os.chmod(tmpdir_path, 0o700)
    path = os.path.join(tmpdir_path, "z.tt")
    for extra in (["-G", "1"], ["--flight", "10"]):
        r = run([tool("tcptop-record"), "-o", path, "-Z", "nobody", "-d", "1"] + extra)
        assert r.returncode == 1 and "nobody cannot create files" in r.stderr
        assert r.stderr.count("\n") == 1 and not os.path.exists(path)


# ------------------------------------------------------------------ filters

def tcp_exchange6(port, nbytes):
    srv, cli, acc = tcp_pair(port, "::1")
    cli.sendall(b"6" * nbytes)
    got = 0
    while got < nbytes:
        got += len(acc.recv(65536))
    for x in (cli, acc, srv):
        x.close()


def udp_exchange(port):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", port))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"u" * 300, ("127.0.0.1", port))
    r.recvfrom(2048)
    s.close()
    r.close()


@pytest.mark.parametrize("flt,want", [
    (["-4"], {(6, 4), (17, 4)}),
    (["-6"], {(6, 6)}),
    (["--udp"], {(17, 4)}),
    (["--tcp", "-4"], {(6, 4)}),
])
def test_family_and_protocol_filters(tmpdir_path, flt, want):
    p4, p6, pu = free_port(), free_port(socket.AF_INET6), free_port()

    def go():
        tcp_exchange(p4, 1000)
        tcp_exchange6(p6, 1000)
        udp_exchange(pu)

    ports = ["-P", str(p4), "-P", str(p6), "-P", str(pu), "--coalesce", "100ms"]
    _, hdr, evs, _ = record(tmpdir_path, go, *(ports + flt))
    got = {(c["open"]["proto"], c["open"]["family"]) for c in connections(evs).values()}
    assert got == want
    for f in flt:
        assert {"-4": "ipv4", "-6": "ipv6", "--udp": "udp", "--tcp": "tcp"}[f] in hdr["filters"]


def cgroup2_root():
    for line in open("/proc/mounts"):
        f = line.split()
        if f[2] == "cgroup2":
            return f[1]
    return None


@pytest.mark.skipif(cgroup2_root() is None, reason="no cgroup v2")
def test_cgroup_filter(tmpdir_path):
    """--cgroup: only connections of processes in that cgroup, both ends (accept attributes)."""
    cg = os.path.join(cgroup2_root(), "tt-test-%d" % os.getpid())
    os.mkdir(cg)
    try:
        inside, outside = free_port(), free_port()

        def go():
            # the child moves itself into the cgroup before exec (writing 0 moves the writer)
            r = run([PY, os.path.join(HELPERS, "tcp_pair.py"), str(inside), "2500"],
                    preexec_fn=lambda: open(os.path.join(cg, "cgroup.procs"), "w").write("0"))
            assert r.returncode == 0, r.stderr
            tcp_exchange(outside, 2500)
            return int(r.stdout)

        lport, hdr, evs, _ = record(tmpdir_path, go, "--cgroup", cg, "-P", str(inside), "-P",
                                    str(outside))
        conns = connections(evs)
        assert {(c["open"]["lport"], c["open"]["rport"]) for c in conns.values()} == \
            {(lport, inside), (inside, lport)}
        cgid = os.stat(cg).st_ino
        assert all(c["open"]["cgroup_id"] == cgid for c in conns.values())
        assert "cgroup=" in hdr["filters"]
    finally:
        os.rmdir(cg)


@pytest.mark.parametrize("filtered", [False, True])
def test_process_events_follow_filters(tmpdir_path, filtered):
    """With a filter, exec/exit are recorded only for owners of recorded connections (not every
    process of the machine); without one, for every process."""
    port = free_port()

    def go():
        other = subprocess.Popen(["/bin/true"])
        other.wait()
        owner = subprocess.Popen([PY, os.path.join(HELPERS, "tcp_pair.py"), str(port), "100"],
                                 stdout=subprocess.PIPE, text=True)
        lport = int(owner.communicate(timeout=30)[0])
        return other.pid, owner.pid, lport

    args = ["-P", str(port)] if filtered else []
    (other, owner, lport), _, evs, _ = record(tmpdir_path, go, *args)
    procs = {(e["kind"], e["pid"]) for e in evs if e["kind"] in (9, 10, 11)}
    (c,) = find(connections(evs), 6, lport, port)
    assert c["pid"] == owner
    assert (10, owner) in procs  # the owner's exit: wanted either way
    if filtered:
        assert not any(pid == other for _, pid in procs)
        assert all(e["pid"] == owner for e in evs if e["kind"] in (9, 10))
    else:
        assert {(9, other), (10, other), (9, owner)} <= procs


# ------------------------------------------------------------------ owners

def accept_late(port, t):
    """A connection that waits 0.3 s in the accept queue, is accepted (t["before"]), and closes
    0.3 s later, client first (the server's close() is CLOSE_WAIT -> LAST_ACK)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    cli = socket.create_connection(("127.0.0.1", port))
    time.sleep(0.3)  # waits in the accept queue: owner unknown
    t["before"] = time.clock_gettime_ns(time.CLOCK_REALTIME)
    acc, _ = srv.accept()
    time.sleep(0.3)
    t["close"] = time.clock_gettime_ns(time.CLOCK_REALTIME)
    for x in (cli, acc, srv):
        x.close()


def test_owner_from_accept_is_prompt_with_a_process_filter(tmpdir_path):
    """A process filter needs the owner to open an accepted connection: the accept tracepoint
    gives it at once (the connection opens right after accept, with its pid)."""
    port, t = free_port(), {}
    _, hdr, evs, _ = record(tmpdir_path, lambda: accept_late(port, t), "-P", str(port),
                            "-p", str(os.getpid()), "--coalesce", "5s")
    assert "tracepoint:syscalls/sys_exit_accept4" in hdr["probes"]
    (s,) = find(connections(evs), 6, lport=port)
    assert s["open"]["pid"] == os.getpid()
    # well before any sampling pass (5 s) or the close could have told
    assert 0 <= s["open"]["ts"] - t["before"] < 0.2e9


def test_owner_without_syscall_tracepoints_by_default(tmpdir_path):
    """Without a process filter no syscalls:* tracepoint is attached (it would slow every
    syscall of the machine); an accepted connection no sweep has named yet gets its owner when
    that owner closes it."""
    port, t = free_port(), {}
    _, hdr, evs, _ = record(tmpdir_path, lambda: accept_late(port, t), "-P", str(port),
                            "--coalesce", "5s")
    assert "syscalls" not in hdr["probes"], hdr["probes"]
    (s,) = find(connections(evs), 6, lport=port)
    assert s["open"]["pid"] == 0 and s["open"]["flags"] & 2  # TT_F_PID_UNKNOWN
    (proc,) = [e for e in evs if e["kind"] == PROC and e["conn_id"] == s["open"]["conn_id"]]
    with open("/proc/self/comm") as f:
        assert proc["pid"] == os.getpid() and proc["comm"] == f.read().strip()
    assert t["close"] <= proc["ts"] < t["close"] + 0.2e9
    assert s["close"] and s["close"]["pid"] == os.getpid()


@pytest.mark.parametrize("skip", [False, True])
def test_pid_filter_connection_accepted_late(tmpdir_path, skip):
    """--pid and a connection that waits in the accept queue, then stays open: it is reported
    with its owner from the accept tracepoint, or without them from the file-table sweep."""
    port = free_port()

    def go():
        srv = socket.socket()
        srv.bind(("127.0.0.1", port))
        srv.listen()
        cli = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.4)
        acc, _ = srv.accept()
        cli.sendall(b"w" * 3000)
        got = 0
        while got < 3000:
            got += len(acc.recv(4096))
        time.sleep(0.6)  # open across a sampling pass
        for x in (cli, acc, srv):
            x.close()

    args = ["--pid", str(os.getpid()), "-P", str(port), "--coalesce", "200ms"]
    if skip:
        args += ["--no-probe", "tracepoint:syscalls/sys_exit_accept4",
                 "--no-probe", "tracepoint:syscalls/sys_exit_accept"]
    _, hdr, evs, _ = record(tmpdir_path, go, *args)
    assert ("sys_exit_accept" in hdr["probes"]) != skip
    (s,) = find(connections(evs), 6, lport=port)
    assert s["open"]["pid"] == os.getpid() and s["open"]["direction"] == INBOUND
    assert s["rx"] == 3000 and s["close"] is not None


def test_unfiltered_server_side_owner_without_accept_probes(tmpdir_path):
    """Fallback: without the accept tracepoints a held-open server side still gets its owner."""
    port = free_port()

    def go():
        srv, cli, acc = tcp_pair(port)
        time.sleep(0.6)  # across a sampling pass
        for x in (cli, acc, srv):
            x.close()

    _, hdr, evs, _ = record(tmpdir_path, go, "-P", str(port), "--coalesce", "200ms",
                            "--no-probe", "tracepoint:syscalls/sys_exit_accept4",
                            "--no-probe", "tracepoint:syscalls/sys_exit_accept")
    assert "sys_exit_accept" not in hdr["probes"]
    (s,) = find(connections(evs), 6, lport=port)
    assert s["pid"] == os.getpid() and s["comm"]


def test_owner_of_a_connection_accepted_after_a_sweep_that_missed_it(tmpdir_path):
    """Without the accept tracepoints (no process filter) a new connection asks for a sweep of
    the file tables at the next pass; one still in the accept queue then is held by no file and
    cannot be named. Once accept() gives it one, the next pass sweeps again: named while open,
    not 5 s later. Its owner then resets it (SO_LINGER 0: no FIN state, so no close() the
    recorder could take its owner from); before, it kept no pid (an iperf3 server's connection,
    make vmtest 6.1)."""
    port, t = free_port(), {}

    def go():
        srv = socket.socket()
        srv.bind(("127.0.0.1", port))
        srv.listen()
        cli = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.8)  # passes every 0.2 s, and the sweep the new connection asked for
        acc, _ = srv.accept()
        t["accept"] = time.clock_gettime_ns(time.CLOCK_REALTIME)
        time.sleep(1.0)
        t["reset"] = time.clock_gettime_ns(time.CLOCK_REALTIME)
        acc.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        acc.close()
        cli.close()
        srv.close()

    _, hdr, evs, _ = record(tmpdir_path, go, "-P", str(port), "--coalesce", "200ms")
    assert "sys_exit_accept" not in hdr["probes"]
    (s,) = find(connections(evs), 6, lport=port)
    assert s["open"]["pid"] == 0 and s["open"]["flags"] & 2  # TT_F_PID_UNKNOWN at the open
    procs = [e for e in evs if e["kind"] == PROC and e["conn_id"] == s["open"]["conn_id"]]
    assert procs and procs[0]["pid"] == os.getpid(), procs
    # named by a sweep after accept(), while it was open
    assert t["accept"] < procs[0]["ts"] < t["reset"], (t, procs[0]["ts"])
    assert s["pid"] == os.getpid()
    assert s["close"] is not None and s["states"][-1][1] == TCP_CLOSE
    assert not any(st[1] in (4, 9) for st in s["states"]), s["states"]  # no FIN_WAIT1, LAST_ACK


@pytest.mark.parametrize("how", ["record", "live", "flight"])
def test_no_event_before_the_capture_start(tmpdir_path, how):
    """The header's start_ns is when the capture began: no event comes before it, the process
    names of the sweep at start and a connection open before included (they came ~3 ms
    before it, so `ts - start_ns` was negative), and the first event follows within the recorder's start-up. tcptop-record and
    tcptop -o write through the same recorder. A --flight dump begins with the window it holds
    (it began at the dump, after all its events). Read with the independent Python reader."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
    import ttcap
    path = os.path.join(tmpdir_path, "cap.tt")
    port, port2 = free_port(), free_port()
    before = tcp_pair(port2)
    if how == "live":
        cmd = [tool("tcptop"), "-b", "-n", "4", "-i", "0.5", "-o", path]
    else:
        cmd = [tool("tcptop-record"), "-o", path] + (["--flight", "60"] if how == "flight" else [])
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    background(p)
    deadline = time.time() + 30
    # attached: the header is on disk (a flight recorder writes nothing before its dump, but
    # holds its BPF links then)
    while not (os.path.exists(path) and os.path.getsize(path) > 0 if how != "flight"
               else bpf_objects(p.pid).get("link")):
        assert p.poll() is None and time.time() < deadline, p.stderr.read()
        time.sleep(0.02)
    srv, cli, acc = tcp_pair(port)
    cli.sendall(b"x" * 1000)
    acc.recv(4096)
    for s in (cli, acc, srv):
        s.close()
    if how != "live":
        time.sleep(SETTLE_S)
        p.send_signal(signal.SIGINT)  # (--flight: the dump at exit)
    _, err = p.communicate(timeout=30)
    for s in before:
        s.close()
    assert p.returncode == 0, err
    cap = ttcap.read(path)
    start = cap.header["start_ns"]
    first = min(e["ts"] for e in cap.events)
    for prt in (port, port2):  # (port2: found open by the sampling pass at start)
        assert any(e["kind"] == OPEN and prt in (e["lport"], e["rport"]) for e in cap.events)
    assert start <= first < start + 10 * 10**9, (first - start) / 1e6


FD_HOG = """
import os, resource, sys
total = int(sys.argv[1])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
per = min(hard - 64, total)
fd = os.open("/dev/null", os.O_RDONLY)
for _ in range(per):
    os.dup(fd)
kids = []
for _ in range(total // per):  # each fork has a table of its own: its files are walked again
    pid = os.fork()
    if not pid:
        os.read(0, 1)
        os._exit(0)
    kids.append(pid)
print("ready", flush=True)
os.read(0, 1)
for pid in kids:
    os.waitpid(pid, 0)
"""

def nofile_hard():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@needs_cmd("strace")
@pytest.mark.skipif(1000100 // (nofile_hard() - 64) > 100,
                    reason="RLIMIT_NOFILE too low for a million files in 100 processes")
def test_iterators_read_past_a_million_objects(tmpdir_path):
    """The kernel ends an iterator's read() with EAGAIN after a million objects that wrote no
    output (kernel/bpf/bpf_iter.c, bpf_seq_read, MAX_ITER_OBJECTS), the walk to be taken up by
    the next read(); the owner sweep (iter/task_file) walks every open file of the machine, so a
    host with a million open files ended it there, the owners after them never found. Oracle:
    the recorder's own system calls: every read() of an iterator that says EAGAIN is followed
    by another read() of it, never by its close()."""
    hog = subprocess.Popen([sys.executable, "-c", FD_HOG, "1000100"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    background(hog)
    log = os.path.join(tmpdir_path, "strace")
    try:
        assert hog.stdout.readline().strip() == "ready"
        # the first sweep, at the start, walks every file (owners of existing connections)
        r = run(["strace", "-f", "-qq", "-e", "trace=read,close", "-o", log,
                 tool("tcptop-record"), "-q", "-o", os.path.join(tmpdir_path, "c.tt"),
                 "--duration", "1"], env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    finally:
        hog.stdin.close()
        hog.wait(timeout=30)
    assert r.returncode == 0, r.stderr
    calls = [line.split(None, 1) for line in open(log).read().splitlines()]
    again = 0
    for k, (pid, call) in enumerate(calls):
        if not (call.startswith("read(") and "EAGAIN" in call):
            continue
        fd = call[5:call.index(",")]
        nxt = [c for p, c in calls[k + 1:] if p == pid and
               (c.startswith("read(%s," % fd) or c.startswith("close(%s)" % fd))]
        assert nxt and nxt[0].startswith("read("), "fd %s closed after EAGAIN: %s" % (
            fd, nxt[:1])
        again += 1
    assert again, "no iterator read ended at a million objects: no test"


HELD_ACCEPT = """
import socket, sys, time
port = int(sys.argv[1])
srv = socket.socket()
srv.bind(("127.0.0.1", port))
srv.listen()
cli = socket.create_connection(("127.0.0.1", port))
acc, _ = srv.accept()
time.sleep(float(sys.argv[2]))
for x in (cli, acc, srv):
    x.close()
"""


@pytest.mark.skipif(1000100 // (nofile_hard() - 64) > 100,
                    reason="RLIMIT_NOFILE too low for a million files in 100 processes")
def test_owner_sweep_past_a_million_files(tmpdir_path):
    """The same, seen in the data: a process holding a million files before the owner of an
    accepted connection (started later: walked later) does not keep the sweep from naming it
    while the connection is open."""
    port = free_port()
    hog = subprocess.Popen([sys.executable, "-c", FD_HOG, "1000100"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    background(hog)
    try:
        assert hog.stdout.readline().strip() == "ready"

        def go():
            p = subprocess.Popen([sys.executable, "-c", HELD_ACCEPT, str(port), "3"])
            p.wait(timeout=30)
            return p.pid

        owner, hdr, evs, _ = record(tmpdir_path, go, "-P", str(port), "--coalesce", "200ms",
                                    "--no-probe", "tracepoint:syscalls/sys_exit_accept4",
                                    "--no-probe", "tracepoint:syscalls/sys_exit_accept")
    finally:
        hog.stdin.close()
        hog.wait(timeout=30)
    if owner < hog.pid:
        pytest.skip("pids wrapped: the owner is walked before the million files")
    (s,) = find(connections(evs), 6, lport=port)
    assert s["pid"] == owner, s
    # named by a sweep while held open (3 s, a pass every 0.2 s), not by its close()
    named = [e["ts"] for e in evs if e["kind"] == PROC and e["conn_id"] == s["open"]["conn_id"]]
    assert named and named[0] < s["close"]["ts"] - 0.5e9, (named, s["close"]["ts"])


def link_count(pid):
    """How many BPF links process pid holds (fdinfo), or None once it is gone."""
    try:
        fds = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return None
    n = 0
    for fd in fds:
        try:
            n += "link_id:" in open("/proc/%d/fdinfo/%s" % (pid, fd)).read()
        except OSError:
            pass
    return n


# On 6.1 (per-call hooks through fexit, no sock_*_length tracepoints) make vmtest lost 252 of
# 1725 calls here in one run of two on 2026-12-04, with no LOST in the file. It has passed there
# in every run since the ring buffer got its own reader thread (2026-12-05): CI twice, and ten
# runs in a row in a 6.1 guest on 2026-12-06, none with a recursion miss on the fexit programs.
def test_events_until_detach_are_recorded(tmpdir_path):
    """At the end every event the programs wrote while attached is in the capture (or counted
    lost): none is written after the last read of the ring buffer. Here the end is slowed down
    (the capture goes to a pipe read slowly), while a sender makes a call a millisecond, each a
    record (--raw-slice 0), and the recorder's links are watched: every call made before its
    programs went is in the capture (before, those written after the final read of the ring
    buffer were dropped with it, counted nowhere: 4869 of 11217 here)."""
    port = free_port()
    rfd, wfd = os.pipe()
    fcntl.fcntl(rfd, 1031, 4096)  # F_SETPIPE_SZ: a page
    cap = os.path.join(tmpdir_path, "cap.tt")
    mode = ["fast"]

    def reader():
        with open(cap, "wb") as out:
            while True:
                if mode[0] == "stop":
                    time.sleep(0.01)
                    continue
                d = os.read(rfd, 1024 if mode[0] == "slow" else 1 << 16)
                if not d:
                    os.close(rfd)
                    return
                out.write(d)
                if mode[0] == "slow":
                    time.sleep(0.1)

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()
    rec = Recorder("-", "-P", str(port), "--raw", "--raw-slice", "0", header=False, stdout=wfd)
    os.close(wfd)
    # every link, not the first seen: the watch below takes "fewer than this" for the detach,
    # and with a count taken mid-attach (make vmtest 6.12, CI 2026-12-06: 28 of 664 calls
    # "missing") it still saw "all attached" while the send hook's link was already gone
    rec.wait_attached()
    links = len(rec.objs["link"])  # all of them: unchanged for 0.5 s
    assert links, "the recorder holds no link"
    srv, cli, acc = tcp_pair(port)
    lport = cli.getsockname()[1]
    calls, stop = [], threading.Event()
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: acc.recv(1 << 16),
                                                                  b"")], daemon=True)
    drain.start()

    def send():
        while not stop.is_set():
            cli.send(b"s" * 100)
            calls.append(time.time())
            time.sleep(0.0002)

    st = threading.Thread(target=send, daemon=True)
    st.start()
    detached = []

    def watch():  # the last time the recorder still held all its links, seen from here
        while True:
            t = time.time()
            n = link_count(rec.p.pid)
            if n is None or n < links:
                return
            detached[:] = [t]
            time.sleep(0.005)

    wt = threading.Thread(target=watch, daemon=True)
    wt.start()
    try:
        time.sleep(0.5)
        mode[0] = "stop"  # the pipe fills: the recorder's writes wait
        time.sleep(1)
        rec.p.send_signal(signal.SIGINT)
        time.sleep(0.5)
        mode[0] = "slow"  # its last writes take a while
        wt.join(timeout=60)
        mode[0] = "fast"
        rc, err = rec.p.wait(timeout=60), rec.p.stderr.read()
    finally:
        stop.set()
        st.join()
        mode[0] = "fast"
        cli.close()
        drain.join(timeout=10)  # its end of file, before acc goes from under its recv
        for s in (acc, srv):
            s.close()
        rt.join(timeout=30)
    assert rc == 0, err
    assert detached
    _, evs = read_capture(cap)
    assert not [e for e in evs if e["kind"] == LOST]
    (c,) = find(connections(evs), 6, lport=lport, rport=port)
    got = sum(e["tx_calls"] for e in evs if e["kind"] == TRAFFIC
              and e["conn_id"] == c["open"]["conn_id"])
    made = sum(1 for t in calls if t < detached[0])  # done while every program was attached
    assert got >= made, "%d calls made while the programs were attached, %d recorded: %s" % (
        made, got, err[-300:])
