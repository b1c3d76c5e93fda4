"""Black-box tests of tcptop-record on real traffic (root, BPF build).

Oracles: iperf3 -J byte counts, a UDP helper that knows what it sent,
libbpf-tools tcplife, the kernel's own view (RST, retransmits under netem
loss). Captures are read back with the format's reader (test_format dump, or
tcptop-replay --dump --json).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import ROOT, free_port, needs_bpf, needs_cmd, run, tool  # noqa: E402

pytestmark = needs_bpf

HELPERS = os.path.join(ROOT, "tests", "helpers")
PY = "/usr/bin/python3"

OPEN, TRAFFIC, STATE, RTT, RETRANS, RESET, CLOSE, PROC = 1, 2, 3, 4, 5, 6, 7, 8
LOST, STATS = 12, 13
OUTBOUND, INBOUND = 1, 2
TCP_ESTABLISHED, TCP_SYN_SENT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE = 1, 2, 4, 5, 7
RESET_RECEIVED = 2
IPERF_COOKIE = 37  # iperf3 writes a 37-byte cookie on each data stream, not in its counts


# ------------------------------------------------------------------ reading captures

def read_capture(path):
    """(header, events) with kinds as numbers, via whichever reader is built."""
    dumper = tool("tests/test_format")
    if os.path.exists(dumper):
        r = run([dumper, "dump", path])
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        return json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    r = run([tool("tcptop-replay"), "--dump", "--json", path])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    evs = []
    for e in lines[1:]:
        e["kind"] = e["kind_id"]
        evs.append(e)
    return lines[0]["header"], evs


def connections(events):
    """Per connection: its open, summed deltas, close, states, pid after CONN_PROC, events."""
    conns = {}
    for e in events:
        c = conns.get(e["conn_id"])
        if e["kind"] == OPEN:
            conns[e["conn_id"]] = c = {
                "open": e, "tx": 0, "rx": 0, "txp": 0, "rxp": 0, "close": None,
                "states": [], "pid": e["pid"], "comm": e["comm"], "kinds": [],
                "retrans": 0, "resets": [],
            }
        if c is None:
            continue
        c["kinds"].append(e["kind"])
        if e["kind"] == TRAFFIC:
            c["tx"] += e["tx_bytes"]
            c["rx"] += e["rx_bytes"]
            c["txp"] += e["tx_pkts"]
            c["rxp"] += e["rx_pkts"]
        elif e["kind"] == STATE:
            c["states"].append((e["old_state"], e["new_state"]))
        elif e["kind"] == CLOSE:
            c["close"] = e
        elif e["kind"] == PROC:
            c["pid"], c["comm"] = e["pid"], e["comm"]
        elif e["kind"] == RETRANS:
            c["retrans"] += e["segs"]
        elif e["kind"] == RESET:
            c["resets"].append(e["dir"])
    return conns


def find(conns, proto, lport=None, rport=None):
    return [c for c in conns.values() if c["open"]["proto"] == proto
            and (lport is None or c["open"]["lport"] == lport)
            and (rport is None or c["open"]["rport"] == rport)]


# ------------------------------------------------------------------ running the recorder

class Recorder:
    """tcptop-record in the background; ready once the header is on disk."""

    def __init__(self, path, *args, netns=None):
        self.path = path
        cmd = [tool("tcptop-record"), "-o", path] + list(args)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("recorder exited: " + self.p.stderr.read())
            if os.path.exists(path) and os.path.getsize(path) > 0:
                return
            time.sleep(0.05)
        raise AssertionError("recorder not ready")

    def stop(self, sig=signal.SIGINT):
        time.sleep(0.3)  # let the last interval's events reach the ring buffer
        self.p.send_signal(sig)
        _, err = self.p.communicate(timeout=30)
        return self.p.returncode, err


def record(tmp, fn, *args):
    """Record while fn() runs; returns (fn's result, header, events, stderr)."""
    path = os.path.join(tmp, "cap.tt")
    rec = Recorder(path, *args)
    try:
        res = fn()
    finally:
        rc, err = rec.stop()
    assert rc == 0, err
    hdr, evs = read_capture(path)
    return res, hdr, evs, err


def wait_listen(port, netns=None):
    """Until something listens on TCP port (a test connection would be iperf3's one client)."""
    cmd = ["ss", "-Hltn", "sport = :%d" % port]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    for _ in range(200):
        if run(cmd).stdout.strip():
            return
        time.sleep(0.025)
    raise AssertionError("nobody listens on %d" % port)


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
        raw = [e for e in evs if e["kind"] == TRAFFIC and e["flags"] & 4]
        assert raw and all(e["tx_calls"] + e["rx_calls"] == 1 for e in raw)


# ------------------------------------------------------------------ UDP flows

@pytest.mark.parametrize("mode", ["coalesce", "raw"])
@pytest.mark.parametrize("fam", ["4", "6"])
def test_udp_flows_exact(tmpdir_path, mode, fam):
    def go():
        r = run([PY, os.path.join(HELPERS, "udp_sender.py"), fam])
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    args = ["--udp"] + (["--raw"] if mode == "raw" else ["--coalesce", "100ms"])
    want, _, evs, _ = record(tmpdir_path, go, *args)
    conns = connections(evs)
    for lport, rport, txb, txp, rxb, rxp in want["flows"]:
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
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    cli.sendall(b"x" * nbytes)
    got = 0
    while got < nbytes:
        got += len(acc.recv(1 << 16))
    acc.sendall(b"y" * 1000)
    cli.recv(4096)
    lport = cli.getsockname()[1]
    cli.close()
    time.sleep(0.05)
    acc.close()
    srv.close()
    return lport


def test_state_sequence_and_reset(tmpdir_path):
    port, closed = free_port(), free_port()

    def go():
        lport = tcp_exchange(port, 50000)
        try:
            socket.create_connection(("127.0.0.1", closed), timeout=2)
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
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
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


# ------------------------------------------------------------------ retransmits

@pytest.fixture
def lossy_netns():
    """Two namespaces joined by a veth pair losing packets one way (netem 30%, else tbf)."""
    tag = "tt%d" % os.getpid()
    a, b = tag + "a", tag + "b"
    cmds = [
        ["ip", "netns", "add", a], ["ip", "netns", "add", b],
        ["ip", "link", "add", tag + "x", "netns", a, "type", "veth", "peer", "name", tag + "y",
         "netns", b],
        ["ip", "-n", a, "addr", "add", "10.77.0.1/24", "dev", tag + "x"],
        ["ip", "-n", b, "addr", "add", "10.77.0.2/24", "dev", tag + "y"],
        ["ip", "-n", a, "link", "set", tag + "x", "up"],
        ["ip", "-n", b, "link", "set", tag + "y", "up"],
        ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"],
    ]
    netem = ["ip", "netns", "exec", a, "tc", "qdisc", "add", "dev", tag + "x", "root", "netem",
             "loss", "30%"]
    # kernels without sch_netem: a token bucket with a tiny queue drops as surely
    tbf = ["ip", "netns", "exec", a, "tc", "qdisc", "add", "dev", tag + "x", "root", "tbf",
           "rate", "10mbit", "burst", "5kb", "limit", "6kb"]
    try:
        for c in cmds:
            r = run(c)
            if r.returncode:
                pytest.skip("cannot set up namespaces: " + r.stderr.strip())
        if run(netem).returncode and run(tbf).returncode:
            pytest.skip("neither netem nor tbf qdisc available")
        yield a, b
    finally:
        run(["ip", "netns", "del", a])
        run(["ip", "netns", "del", b])


@needs_cmd("iperf3", "tc")
def test_retransmits_under_loss(tmpdir_path, lossy_netns):
    a, b = lossy_netns
    port = 5201

    def go():
        srv = subprocess.Popen(["ip", "netns", "exec", b, "iperf3", "-s", "-1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listen(port, b)
        r = run(["ip", "netns", "exec", a, "iperf3", "-c", "10.77.0.2", "-p", str(port), "-n",
                 "300K", "-J"], timeout=60)
        srv.wait(timeout=30)
        return json.loads(r.stdout)

    j, _, evs, _ = record(tmpdir_path, go, "-P", str(port))
    conns = connections(evs)
    client = [c for c in find(conns, 6, rport=port) if c["open"]["direction"] == OUTBOUND]
    assert client
    retrans = sum(c["retrans"] for c in client)
    assert retrans > 0
    assert sum(c["close"]["retrans"] for c in client if c["close"]) >= 1
    data = max(client, key=lambda c: c["tx"])
    # not sampled there (other netns): the deltas at close sum to the final counters
    assert 0 < data["tx"] == data["close"]["tx_bytes"] <= j["end"]["sum_sent"]["bytes"] + \
        IPERF_COOKIE
    # other namespaces are seen by the tracepoints: its netns is not ours
    assert data["open"]["netns"] != os.stat("/proc/self/ns/net").st_ino


# ------------------------------------------------------------------ loss accounting

@needs_cmd("iperf3")
def test_tiny_ringbuf_reports_lost(tmpdir_path):
    port = free_port()
    _, _, evs, err = record(tmpdir_path, lambda: iperf("127.0.0.1", port, "-t", "1", "-l", "100"),
                            "--raw", "--ringbuf-kb", "4", "-P", str(port))
    lost = [e for e in evs if e["kind"] == LOST]
    assert lost and all(e["count"] > 0 for e in lost)
    total = sum(e["count"] for e in lost)
    assert " %d lost" % total in err
    stats = [e for e in evs if e["kind"] == STATS]
    assert stats and stats[-1]["lost"] == total


# ------------------------------------------------------------------ tcplife agrees

@needs_cmd("stdbuf")
@pytest.mark.skipif(not os.path.exists("/usr/sbin/tcplife"), reason="no tcplife")
def test_agrees_with_tcplife(tmpdir_path):
    port = free_port()
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
    rows = [r for r in rows if str(port) in (r[3], r[5])]
    assert len(rows) == 6, lines
    conns = connections(evs)
    for r in rows:
        lport, rport, tx_kb, rx_kb = int(r[3]), int(r[5]), float(r[6]), float(r[7])
        (c,) = find(conns, 6, lport, rport)
        # tcplife prints the kernel's counters (with SYN/FIN) in KB, 2 decimals
        assert abs(c["close"]["tx_bytes"] / 1024 - tx_kb) <= 0.01
        assert abs(c["close"]["rx_bytes"] / 1024 - rx_kb) <= 0.01
        assert c["pid"] == int(r[0])


# ------------------------------------------------------------------ command line, exits

def test_usage_errors(tmpdir_path):
    rec = tool("tcptop-record")
    out = os.path.join(tmpdir_path, "x.tt")
    for args in ([], ["-o"], ["-o", out, "--bogus"], ["-o", out, "-d", "abc"],
                 ["-o", out, "--ringbuf-kb", "3"], ["-o", out, "-W", "3"],
                 ["-o", out, "--port", "99999"], ["-o", out, "extra"]):
        r = run([rec] + args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("tcptop-record: ")
    assert not os.path.exists(out)
    r = run([rec, "--help"])
    assert r.returncode == 0 and "--raw" in r.stdout
    r = run([rec, "-V"])
    assert r.returncode == 0 and r.stdout.startswith("tcptop-record tcptop ")


def bpf_prog_ids():
    r = run(["bpftool", "-j", "prog", "list"])
    return {p["id"] for p in json.loads(r.stdout or "[]")}


def our_progs():
    progs = json.loads(run(["bpftool", "-j", "prog", "list"]).stdout or "[]")
    return [p for p in progs if p.get("name", "").startswith("tt_")]


@needs_cmd("bpftool")
def test_bad_output_fails_before_attach_and_no_leftovers(tmpdir_path):
    before = bpf_prog_ids()
    rec = tool("tcptop-record")
    r = run([rec, "-o", "/nonexistent/dir/x.tt", "-d", "1"])
    assert r.returncode == 1 and "/nonexistent/dir/x.tt" in r.stderr
    existing = os.path.join(tmpdir_path, "exists.tt")
    open(existing, "w").write("keep")
    r = run([rec, "-o", existing, "-d", "1"])
    assert r.returncode == 1 and "exists" in r.stderr
    assert open(existing).read() == "keep"
    r = run([rec, "-o", existing, "-d", "0.3", "-f", "-q"])
    assert r.returncode == 0 and r.stderr == ""
    assert os.stat(existing).st_mode & 0o777 == 0o600
    hdr, _ = read_capture(existing)
    assert hdr["clock"] == "boottime"
    # nothing of ours stays loaded; the kernel frees programs shortly after the last fd closes
    deadline = time.time() + 5
    while time.time() < deadline and not (bpf_prog_ids() <= before and not our_progs()):
        time.sleep(0.1)
    assert bpf_prog_ids() <= before and not our_progs()


def test_sigint_complete_file_and_stats(tmpdir_path):
    path = os.path.join(tmpdir_path, "c.tt")
    rec = Recorder(path, "--coalesce", "100ms")
    tcp_exchange(free_port(), 10000)
    rc, err = rec.stop()
    assert rc == 0
    assert "events" in err and "lost" in err and "bytes/event" in err
    hdr, evs = read_capture(path)
    assert evs[-1]["kind"] == STATS and evs[-1]["events"] == len(evs) - 1
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_stdout_and_duration(tmpdir_path):
    path = os.path.join(tmpdir_path, "s.tt")
    port = free_port()
    with open(path, "wb") as f:
        p = subprocess.Popen([tool("tcptop-record"), "-o", "-", "-d", "2", "-q", "-P", str(port)],
                             stdout=f, stderr=subprocess.PIPE)
        time.sleep(1)
        tcp_exchange(port, 4242)
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    _, evs = read_capture(path)
    conns = connections(evs)
    (c,) = find(conns, 6, rport=port)
    assert c["tx"] == 4242


def test_rotation_files_stand_alone(tmpdir_path):
    path = os.path.join(tmpdir_path, "rot.tt")
    port = free_port()
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    rec = Recorder(path, "-G", "1", "-W", "3", "-P", str(port), "--coalesce", "200ms")
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    total = 0
    for _ in range(14):
        cli.sendall(b"r" * 1000)
        total += 1000
        acc.recv(4096)
        time.sleep(0.25)
    rc, err = rec.stop()
    for s in (cli, acc, srv):
        s.close()
    assert rc == 0, err
    files = [path, path + ".1", path + ".2"]
    assert all(os.path.exists(f) for f in files) and not os.path.exists(path + ".3")
    for f in files:
        _, evs = read_capture(f)
        conns = connections(evs)
        assert find(conns, 6, rport=port), f  # every file begins with the open connection
        assert evs[-1]["kind"] == STATS


def test_flight_recorder(tmpdir_path):
    path = os.path.join(tmpdir_path, "fl.tt")
    port = free_port()
    rec = Recorder.__new__(Recorder)
    rec.path = path
    rec.p = subprocess.Popen([tool("tcptop-record"), "-o", path, "--flight", "30", "-P",
                              str(port), "--coalesce", "100ms"], stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    tcp_exchange(port, 777)
    time.sleep(0.5)
    rec.p.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    tcp_exchange(port, 888)
    rc, err = rec.stop()
    assert rc == 0, err
    _, evs = read_capture(path)
    assert [c["tx"] for c in connections(evs).values() if c["open"]["rport"] == port] == [777]
    _, evs = read_capture(path + ".1")
    txs = sorted(c["tx"] for c in connections(evs).values() if c["open"]["rport"] == port)
    assert txs == [777, 888]


def test_drop_privileges(tmpdir_path):
    path = os.path.join(tmpdir_path, "z.tt")
    rec = Recorder(path, "-Z", "nobody")
    time.sleep(0.3)
    status = open("/proc/%d/status" % rec.p.pid).read()
    uid_line = [x for x in status.splitlines() if x.startswith("Uid:")][0]
    port = free_port()
    tcp_exchange(port, 321)
    rc, err = rec.stop()
    assert rc == 0, err
    assert uid_line.split()[1:] == ["65534"] * 4
    _, evs = read_capture(path)
    assert find(connections(evs), 6, rport=port)
