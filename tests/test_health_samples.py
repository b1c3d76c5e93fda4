"""TCP health, items 4 and 5 of issue 20: samples of the kernel's TCP state and zero-window stalls.

Between two network namespaces made here (a veth pair), recorded from the root namespace with a
short sampling pass (--coalesce 100ms):
- samples taken while the connection is open agree with `ss -tin` read in its namespace at the
  same moment (srtt, min_rtt, cwnd, delivery rate): read after each transfer, once the
  connection is idle, when no ACK moves them, so that "the same moment" is exact;
- a receiver that stops reading for 2 s gives one local stall on its end and one peer stall on
  the sender's, each from the wire's zero window to its opening (tcpdump in the receiver's
  namespace), with the receiver namespace's own counters (TcpExtTCPToZeroWindowAdv,
  TCPFromZeroWindowAdv) as the oracle that a zero window happened; recorded by the sock_diag
  source (--source sockdiag, a poll every 100 ms), the same stalls within a poll interval of
  the wire's (the local one where tcp_info has tcpi_rcv_wnd, 6.2+).
"""
import re
import subprocess
import sys
import time

import pytest

from conftest import free_port, needs_bpf, needs_cmd, needs_root, run, tool
from helpers import kernel
from helpers.capture import query_json as query
from helpers.netns import nstat, veth_pair
from helpers.recorder import SETTLE_S, Recorder
from helpers.traffic import wait_listen

NET = "10.214.29"
PASS = "100ms"

# A server that reads everything it is sent; with PAUSE s p: reads for s seconds, then not at
# all for p seconds, then to the end; a fourth argument sets its SO_RCVBUF (no autotuning).
SERVER = r"""
import socket, sys, time
port, read_s, pause_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if len(sys.argv) > 4: ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[4]))
ls.bind(("0.0.0.0", port)); ls.listen(1)
s, _ = ls.accept()
end = time.time() + read_s
while read_s and time.time() < end:
    if not s.recv(1 << 20): sys.exit(0)
if pause_s:
    print("pause", time.time(), flush=True); time.sleep(pause_s); print("read", time.time(), flush=True)
while s.recv(1 << 20): pass
"""

# A client that sends what stdin asks: "N" sends N bytes and says "sent LPORT"; "for T" sends
# for T seconds as fast as the window lets it; EOF closes.
CLIENT = r"""
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
for line in sys.stdin:
    w = line.split()
    if w[0] == "for":
        end = time.time() + float(w[1])
        while time.time() < end: c.sendall(b"x" * 65536); time.sleep(0.002)
    else:
        c.sendall(b"x" * int(w[0]))
    print("sent", c.getsockname()[1], flush=True)
c.close()
"""


@pytest.fixture
def pair():
    with veth_pair(NET, tag="tths") as p:
        yield p



def ss_info(ns, lport):
    """`ss -tin` of the connection from local port lport in ns: (wall time, fields)."""
    t = time.time()
    r = run(["ip", "netns", "exec", ns, "ss", "-tinH", "sport = :%d" % lport])
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    out = r.stdout
    f = {"rtt": re.search(r"\brtt:([\d.]+)/", out), "minrtt": re.search(r"\bminrtt:([\d.]+)", out),
         "cwnd": re.search(r"\bcwnd:(\d+)", out),
         "delivery": re.search(r"\bdelivery_rate (\d+)bps", out)}
    assert all(f.values()), out
    return t, {k: float(v.group(1)) for k, v in f.items()}


@needs_bpf
@needs_cmd("ss")
def test_samples_agree_with_ss_while_open(pair, tmp_path):
    a, b = pair
    port = free_port()
    cap = str(tmp_path / "s.tt")
    srv = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", SERVER, str(port),
                            "0", "0"])
    rec = Recorder(cap, "--coalesce", PASS, "-P", str(port))
    cli = None
    try:
        wait_listen(port, netns=b)
        cli = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", CLIENT,
                                NET + ".2", str(port)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        reads = []
        for n in (100_000, 4_000_000):
            cli.stdin.write("%d\n" % n)
            cli.stdin.flush()
            lport = int(cli.stdout.readline().split()[1])
            time.sleep(0.6)  # all acked, and passes since: no ACK moves the state now
            t1, s1 = ss_info(a, lport)
            t2, s2 = ss_info(a, lport)
            assert s1 == s2, "the connection is not idle"
            reads.append((t1, s1))
            time.sleep(0.3)
        cli.stdin.close()
        cli.wait(timeout=10)
    finally:
        if cli and cli.poll() is None:
            cli.kill()
        rc, err = rec.stop(settle=SETTLE_S)
        srv.kill()
    assert rc == 0, err
    conn = query(cap, "SELECT id, close_ts, rtt_us FROM connections WHERE lport = %d AND rport = %d"
                 % (lport, port))
    assert len(conn) == 1, conn
    samples = query(cap, "SELECT * FROM samples WHERE conn_id = %d ORDER BY ts" % conn[0]["id"])
    assert reads[0][1] != reads[1][1]
    for t, s in reads:
        # the last sample at that moment, written by a pass while the connection was open
        at = [x for x in samples if x["ts"] <= (t + 0.05) * 1e9]
        assert at and at[-1]["ts"] < conn[0]["close_ts"], (t, samples)
        x = at[-1]
        # written after this transfer's state settled (the 0.6 s sleep, and a slow guest's
        # late return of the client's sendall(): 0.61 s once in make vmtest's 6.1)
        assert x["ts"] >= (t - 1.5) * 1e9, (t, x)
        assert (x["srtt_us"], x["min_rtt_us"], x["cwnd"]) == \
            (round(s["rtt"] * 1000), round(s["minrtt"] * 1000), s["cwnd"]), (x, s)
        assert x["delivery_rate"] * 8 == pytest.approx(s["delivery"], abs=8), (x, s)
    # and one at the close, at its time, its srtt the close's own
    assert samples[-1]["ts"] == conn[0]["close_ts"], samples[-1]
    assert samples[-1]["srtt_us"] == conn[0]["rtt_us"] > 0



def not_reading(a, b, cap, rec_args, pause, *srv_args):
    """A client in a sending to a server in b that reads for 0.5 s, stops for pause s and reads
    again, recorded with rec_args into cap, while tcpdump in b watches the server's segments:
    (port, the client's port, times), times holding the server's own "pause" and "read" and the
    wire's "zero" (its first segment advertising a zero window) and "open" (its first after
    that advertising one again), once the receiver's namespace also counted a zero window
    advertised and opened again (TcpExtTCPToZeroWindowAdv, TCPFromZeroWindowAdv)."""
    port = free_port()
    # into a file, not a pipe read at the end: a full pipe stops tcpdump, whose kernel buffer
    # then drops packets (the zero window went missing once in the CI's sanitizer run)
    wire_out = open(cap + ".wire", "w+")
    dump = subprocess.Popen(["ip", "netns", "exec", b, "tcpdump", "-i", "any", "-n", "-tt",
                             "-B", "8192", "-s", "96", "tcp src port %d" % port],
                            stdout=wire_out, stderr=subprocess.PIPE, text=True)
    dump.stderr.readline()  # "listening on any": it captures from here on
    srv = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", SERVER, str(port),
                            "0.5", str(pause)] + list(srv_args), stdout=subprocess.PIPE,
                           text=True)
    rec = Recorder(cap, *rec_args, "-P", str(port))
    cli = None
    try:
        wait_listen(port, netns=b)
        cli = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", CLIENT,
                                NET + ".2", str(port)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        cli.stdin.write("for %g\n" % (pause + 1.5))
        cli.stdin.close()
        lport = int(cli.stdout.readline().split()[1])
        cli.wait(timeout=20)
        srv.wait(timeout=20)
    finally:
        for p in (cli, srv):
            if p and p.poll() is None:
                p.kill()
        rc, err = rec.stop(settle=SETTLE_S)
        dump.send_signal(2)
        said = dump.communicate(timeout=20)[1]
        wire_out.seek(0)
        wire = wire_out.read()
        wire_out.close()
    assert rc == 0, err
    dropped = re.search(r"(\d+) packets? dropped by kernel", said)
    assert dropped and dropped.group(1) == "0", said
    times = {k: float(v) for k, v in (line.split() for line in srv.stdout.read().splitlines())}
    assert times["read"] - times["pause"] >= pause
    # the wire: the window the server advertised, segment by segment
    wins = [(float(m.group(1)), int(m.group(2))) for m in
            re.finditer(r"^(\d+\.\d+) .* win (\d+)", wire, re.M)]
    zero = next((t for t, w in wins if w == 0 and t >= times["pause"] - 0.05), None)
    assert zero is not None, (times, len(wins), wire[-2000:])
    times["zero"] = zero
    times["open"] = next((t for t, w in wins if w > 0 and t > zero), None)
    assert times["open"] is not None, (times, wire[-2000:])
    # zero windows before that one: a server the machine's load kept from reading for a while
    times["earlier"], closed = [], None
    for t, w in wins:
        if t >= zero:
            break
        if w == 0 and closed is None:
            closed = t
        elif w > 0 and closed is not None:
            times["earlier"].append((closed, t))
            closed = None
    # it closed while the server did not read, and opened once it read again (the server reads
    # its clock after its last read: on a loaded machine the window closed up to 5 ms before)
    assert times["pause"] - 0.05 <= zero and times["read"] - 0.05 <= times["open"], \
        (times, wire[-2000:])
    # the oracle: the receiver's namespace advertised a zero window, and opened it again
    counters = nstat(b)
    assert counters.get("TcpExtTCPToZeroWindowAdv", 0) >= 1, counters
    assert counters.get("TcpExtTCPFromZeroWindowAdv", 0) >= 1, counters
    return port, lport, times


def unexplained(stalls, t, late):
    """The stalls but those inside one of the wire's earlier zero windows (t["earlier"]), from
    at most a delayed ACK before it closed to at most LATE after it opened: those are right."""
    return [s for s in stalls if not any(z - 0.25 <= s["start_ns"] / 1e9 and
                                         s["end_ns"] / 1e9 <= o + late for z, o in t["earlier"])]


def stalls_of(cap, port, lport):
    """The receiver's and the sender's connection rows, and the capture's stalls."""
    conns = query(cap, "SELECT id, lport, rport, zero_window_ms FROM connections "
                       "WHERE proto = 'tcp' AND %d IN (lport, rport)" % port)
    # both ports: a recording of every namespace may see another connection on one of them
    recv = [c for c in conns if (c["lport"], c["rport"]) == (port, lport)]
    send = [c for c in conns if (c["lport"], c["rport"]) == (lport, port)]
    assert len(recv) == len(send) == 1, conns
    stalls = query(cap, "SELECT conn_id, side, start_ns, end_ns FROM stalls ORDER BY start_ns")
    return recv[0], send[0], stalls


@needs_bpf
@needs_cmd("nstat", "ss", "tcpdump")
def test_receiver_not_reading_gives_a_stall_on_each_end(pair, tmp_path):
    """Each end's stall is the wire's: from the server's first segment advertising a zero
    window to its first advertising one again. The local stall begins at the last data
    received (to a jiffy) and ends at the data after the window update (one RTT); the peer
    stall begins at the last data sent and ends at the pass that saw the window open (one
    pass interval). The wire, not the server's pause, is the oracle: the window closes when
    the buffer is full, which on 6.1 came ~0.4 s after the pause (the 6.12 guest and the 6.18
    host fill it within milliseconds). A zero window the wire shows before that one (a server
    the machine's load kept from reading for a while) may give a stall of its own, within it."""
    a, b = pair
    cap = str(tmp_path / "z.tt")
    pause, pass_s, slack = 2.0, 0.1, 0.15
    # a small SO_RCVBUF fills soon after the pause: with autotuning the buffer went on growing
    port, lport, t = not_reading(a, b, cap, ["--coalesce", PASS], pause, str(256 << 10))
    recv, send, stalls = stalls_of(cap, port, lport)
    for c, side in ((recv, "local"), (send, "peer")):
        every = [s for s in stalls if s["conn_id"] == c["id"]]
        mine = unexplained(every, t, pass_s + slack)
        assert [s["side"] for s in mine] == [side], (stalls, t)
        assert {s["side"] for s in every} == {side}, stalls
        start, end = mine[0]["start_ns"] / 1e9, mine[0]["end_ns"] / 1e9
        # began with the data that filled the window, before the zero went out (at most a
        # delayed ACK's 200 ms before; to a jiffy)
        assert t["zero"] - 0.25 <= start <= t["zero"] + 0.02, (t, mine)
        # ended with the window opening: the data after it (local; or the pass that saw it
        # open before that data), or a pass (peer)
        assert t["open"] - 0.02 <= end <= t["open"] + pass_s + slack, (t, mine)
        assert c["zero_window_ms"] == pytest.approx(
            sum(s["end_ns"] - s["start_ns"] for s in every) / 1e6, abs=len(every))


@needs_root
@needs_cmd("nstat", "tcpdump")
def test_sockdiag_receiver_not_reading_gives_stalls_within_a_poll(pair, tmp_path):
    """The same receiver, recorded by the sock_diag source: the sender's peer stall (and, where
    tcp_info has tcpi_rcv_wnd, 6.2+, the receiver's local one) from the windows each poll reads,
    its times within a poll interval of the wire's (tcpdump: the server's first segment
    advertising a zero window, and its first advertising one again)."""
    a, b = pair
    cap = str(tmp_path / "zs.tt")
    pause, poll = 2.0, 0.1
    # polls come late on a loaded machine (a 2-core CI runner, a TCG guest)
    slack = 0.2
    local = kernel.release() >= (6, 2)
    port, lport, t = not_reading(a, b, cap, ["--source", "sockdiag", "--coalesce", PASS], pause,
                                 str(256 << 10))
    recv, send, stalls = stalls_of(cap, port, lport)
    for c, side in ((send, "peer"), (recv, "local")):
        every = [s for s in stalls if s["conn_id"] == c["id"]]
        if side == "local" and not local:
            assert every == [] and c["zero_window_ms"] == 0, stalls
            continue
        mine = unexplained(every, t, poll + slack)
        assert [s["side"] for s in mine] == [side], (stalls, t)
        assert {s["side"] for s in every} == {side}, stalls
        start, end = mine[0]["start_ns"] / 1e9, mine[0]["end_ns"] / 1e9
        # a poll saw each edge of the wire's zero window, within one interval of it; the start
        # is the last data's (tcpi_last_data_recv/_sent, as the BPF source's): before the zero
        # went out by up to a delayed ACK's 200 ms (57 ms measured in a local CI)
        assert t["zero"] - 0.25 <= start <= t["zero"] + poll + slack, (t, mine)
        assert t["open"] - 0.05 <= end <= t["open"] + poll + slack, (t, mine)
        assert c["zero_window_ms"] == pytest.approx(
            sum(s["end_ns"] - s["start_ns"] for s in every) / 1e6, abs=len(every))
    # and the source says which sides it sees
    r = run([tool("tcptop-record"), "--source", "sockdiag", "--check"])
    line = [x for x in r.stdout.splitlines() if x.startswith("stalls ")]
    assert len(line) == 1 and (" ok " in line[0]) == local, r.stdout
