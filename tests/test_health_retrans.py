"""Retransmits by cause (issue 20, item 3), against the sender namespace's own counters.

Two namespaces joined by veth; a sender in A streams to a reader in B. nftables on B's input
drops chosen data segments (a drop on A's own output would be resent at once, no retransmit),
or on A's input the ACKs, and `ip netns exec A nstat -asz` before and after each scenario is
the oracle. The kernel's counters and the causes (bpf/tcp.bpf.c retrans_cause):
  rto       == TcpExtTCPTimeouts + TcpExtTCPSlowStartRetrans (the timer's resend, then the
               rest of that loss recovery)
  fast      == TcpExtTCPFastRetrans
  tlp       <= TcpExtTCPLossProbes, which also counts probes that send new data; == where the
               sender has none (the bursts)
  spurious  == TcpExtTCPDSACKRecvSegs (not part of the total)
  rto + fast + tlp + syn + unknown == TcpRetransSegs (only this test's sockets live in A),
               exactly, and so does the connection's `retransmits` (the socket's total at
               its close). unknown is what the tracepoint did not report as sent: its run
               skipped or its event lost (LOST), or, on 6.18 (bpftrace on the tracepoint, the
               socket's total_retrans before and after), segments the kernel counted and then
               reported with -EBUSY, or never reported; the recorder tells them at the
               socket's next retransmit, sampling pass or close. At most 10% (CI saw 4%).
  syn       == TcpRetransSegs == TcpExtTCPTimeouts of a connect whose SYNs are dropped
Each kind must land at least 95% in its cause. A sock_diag recorder beside the BPF one gives
every retransmit cause unknown and its DSACKs as spurious (at most TCPDSACKRecvSegs).
"""
import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import have_bpf, needs_bpf, needs_cmd, run, tool
from helpers.capture import query_json as query
from helpers.netns import nstat as netns_nstat, veth_pair
from helpers.recorder import SETTLE_S, Recorder
from helpers.traffic import wait_listen

NET = "10.214.20"
PORTS = {"fast": 5411, "tlp": 5412, "rto": 5413, "spurious": 5414, "syn": 5415,
         "fbfast": 5417, "fbrto": 5418, "fbsyn": 5419}

READER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept()
while c.recv(1 << 16):
    pass
"""

# mode stream: SECONDS of back-to-back 64 KiB writes; mode bursts: N single-segment writes,
# GAP s apart (each the tail of its burst: a lost one is a tail loss)
SENDER = r"""
import socket, sys, time
mode, host, port, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("up", flush=True)
if mode == "stream":
    end = time.time() + arg
    while time.time() < end:
        s.sendall(b"x" * 65536)
    # open and idle a second before closing: the sock_diag recorder reads tcp_info only while
    # the socket lives, and a busy guest (make vmtest, 6.1 beside another VM) can keep its
    # 200 ms polls from running while both ends stream: a DSACK seen last can go unpolled
    time.sleep(1.0)
else:
    for _ in range(int(arg)):
        s.sendall(b"y" * 1000)
        time.sleep(0.25)
    time.sleep(0.5)
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
"""

CAUSES = ("retrans_rto", "retrans_fast", "retrans_tlp", "retrans_spurious")
CONNECT = r"""
import socket, sys
s = socket.socket()
s.settimeout(1.6)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except socket.timeout:
    print("timeout")
"""

COUNTERS = ("TcpRetransSegs", "TcpExtTCPTimeouts", "TcpExtTCPSlowStartRetrans",
            "TcpExtTCPFastRetrans", "TcpExtTCPLossProbes", "TcpExtTCPDSACKRecvSegs",
            "TcpExtTCPSpuriousRTOs", "TcpExtTCPDSACKRecv", "TcpExtTCPRetransFail")


def nstat(ns):
    """The counters this test compares (0 where this kernel has none)."""
    vals = netns_nstat(ns)
    return {k: vals.get(k, 0) for k in COUNTERS}


def nft(ns, script):
    r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=script, text=True,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, script + r.stderr


def scenario(a, b, name, mode, arg, rules_ns, rules, during=None):
    """One transfer from A to B with rules on rules_ns; the counters' deltas in A."""
    port = PORTS[name]
    rd = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", READER, str(port)])
    try:
        wait_listen(port, b)
        nft(rules_ns, "table inet tt_%s {\n chain c {\n  type filter hook input priority 0;\n"
            "  %s\n }\n}\n" % (name, rules % {"port": port}))
        before = nstat(a)
        sd = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", SENDER, mode,
                               NET + ".2", str(port), str(arg)], stdout=subprocess.PIPE, text=True)
        assert sd.stdout.readline().strip() == "up"
        if during:
            during()
        assert sd.wait(timeout=30) == 0
        rd.wait(timeout=10)
        after = nstat(a)
    finally:
        for p in (rd,):
            if p.poll() is None:
                p.kill()
        run(["ip", "netns", "exec", rules_ns, "nft", "delete", "table", "inet", "tt_" + name])
    return {k: after[k] - before[k] for k in COUNTERS}


def blackout(ns, name, seconds, start=0.3):
    """Drop everything the rules' table sees for seconds, from start s into the transfer."""
    def go():
        time.sleep(start)
        run(["ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "tt_" + name, "c",
             "tcp", "sport" if name == "spurious" else "dport", str(PORTS[name]), "drop"])
        time.sleep(seconds)
        run(["ip", "netns", "exec", ns, "nft", "flush", "chain", "inet", "tt_" + name, "c"])
    return go


def stall(rec, seconds):
    """Stop the recorder for seconds, from 0.3 s into the transfer: its ring buffer fills."""
    def go():
        time.sleep(0.3)
        os.kill(rec.p.pid, signal.SIGSTOP)
        time.sleep(seconds)
        os.kill(rec.p.pid, signal.SIGCONT)
    return go


def by_cause(cap, where):
    """{cause: {cause, segs, dup}} of the RETRANS events of cap's outbound connections where
    the SQL condition `where` holds."""
    ev = query(cap, "SELECT cause, sum(retrans) AS segs, sum(spurious) AS dup FROM events "
               "WHERE kind = 'retrans' AND conn_id IN (SELECT id FROM connections WHERE "
               "direction = 'out' AND %s) GROUP BY cause" % where)
    return {e["cause"]: e for e in ev}


def sender_retransmits(path, port, columns):
    """The one outbound connection to port in path (the connections columns asked for), its
    RETRANS events by cause (by_cause), their segments (the spurious ones aside) and those of
    cause unknown."""
    rows = query(path, "SELECT %s FROM connections WHERE direction = 'out' AND rport = %d"
                 % (columns, port))
    assert len(rows) == 1, (port, rows)
    by = by_cause(path, "rport = %d" % port)
    segs = sum(e["segs"] or 0 for k, e in by.items() if k != "spurious")
    return rows[0], by, segs, by.get("unknown", {}).get("segs") or 0


def close_to(got, want, what, missing=0):
    """got within 5% of want (each kind at least 95% in its cause, and no more than 5% extra);
    below it by as many more as the retransmits of cause unknown (each takes one from some
    cause, never adds one). At 5 RTOs 5% is 0: a
    TLP scenario in the ASan run recorded 4 rto + 5 tlp events of 10 retransmits."""
    assert -0.05 * want - missing <= got - want <= 0.05 * want, \
        "%s: capture %d, nstat %d, events missing %d" % (what, got, want, missing)


@needs_bpf
@needs_cmd("nft", "nstat")
def test_retransmits_by_cause_match_the_kernels_counters(tmpdir_path):
    with veth_pair(NET, "ttrt") as pair:
        a, b = pair
        path = os.path.join(tmpdir_path, "rt.tt")
        rec = Recorder(path)
        # the sock_diag source beside it: tcp_info tells totals and DSACKs, not causes
        sd_path = os.path.join(tmpdir_path, "rt-sd.tt")
        sd = Recorder(sd_path, "--source", "sockdiag", "--coalesce", "200ms")
        # and one whose ring buffer (4 KiB) the fast retransmits overflow
        small_path = os.path.join(tmpdir_path, "rt-small.tt")
        small = Recorder(small_path, "--ringbuf-kb", "4", "-P", str(PORTS["fast"]))
        deltas = {}
        try:
            # every 25th data packet reaching the reader: SACK recovery (fast retransmits)
            deltas["fast"] = scenario(
                a, b, "fast", "stream", 1.5, b,
                "tcp dport %(port)d meta length > 200 numgen inc mod 25 == 0 drop",
                during=stall(small, 0.8))
            # every other single-segment burst's only (so last) segment, its probe let through
            deltas["tlp"] = scenario(
                a, b, "tlp", "bursts", 10, b,
                "tcp dport %(port)d meta length > 200 numgen inc mod 2 == 0 drop")
            # all data for 1.2 s: retransmit timeouts, then the loss recovery
            deltas["rto"] = scenario(a, b, "rto", "stream", 2.5, b, "",
                                     during=blackout(b, "rto", 1.2))
            # the reader's ACKs for 1 s, at the sender: its resends arrive twice (DSACK)
            deltas["spurious"] = scenario(a, b, "spurious", "stream", 2.5, a, "",
                                          during=blackout(a, "spurious", 1.0))
            # a connect whose SYNs the reader's side drops: one SYN resent at 1 s, then given up
            before = nstat(a)
            nft(b, "table inet tt_syn {\n chain c {\n  type filter hook input priority 0;\n"
                "  tcp dport %d drop\n }\n}\n" % PORTS["syn"])
            try:
                r = run(["ip", "netns", "exec", a, sys.executable, "-c", CONNECT, NET + ".2",
                         str(PORTS["syn"])])
                assert r.stdout.strip() == "timeout", r.stdout + r.stderr
            finally:
                run(["ip", "netns", "exec", b, "nft", "delete", "table", "inet", "tt_syn"])
            after = nstat(a)
            syn = {k: after[k] - before[k] for k in COUNTERS}
        finally:
            rc, err = rec.stop(settle=SETTLE_S + 0.7)
            sd_rc, sd_err = sd.stop()
            small_rc, small_err = small.stop()
        assert rc == 0, err
        assert sd_rc == 0, sd_err
        assert small_rc == 0, small_err
    # tcptop-replay --csv: the last snapshot of each sender's row says what the query says
    r = run([tool("tcptop-replay"), "--csv", "-", path])
    assert r.returncode == 0, r.stderr
    snaps = list(csv.DictReader(io.StringIO(r.stdout)))
    # the recorder stopped for 0.8 s: its 4 KiB ring overflowed (LOST), and the retransmits
    # whose events were lost are told as cause unknown at the socket's next one, so the
    # events still add up to the kernel's count
    lost = query(small_path, "SELECT sum(lost) AS n FROM events WHERE kind = 'lost'")[0]["n"]
    assert lost and lost > 0, "a stopped recorder with a 4 KiB ring lost nothing?"
    by = by_cause(small_path, "rport = %d" % PORTS["fast"])
    print("4 KiB ring: lost", lost, by)
    assert sum(e["segs"] or 0 for k, e in by.items() if k != "spurious") == \
        deltas["fast"]["TcpRetransSegs"], by
    assert by["unknown"]["segs"] > 0 and by["fast"]["segs"] > 0, by
    for name, d in deltas.items():
        c, by, segs, unknown = sender_retransmits(
            path, PORTS[name], "retransmits, retrans_rto, retrans_fast, retrans_tlp, "
            "retrans_spurious")
        print(name, d, c, by)
        # the socket's own total is the namespace's, and so is the events' sum: what the
        # tracepoint did not report as sent (its run skipped or its event lost, LOST; counted
        # and then failed, or never reported: see the module's docstring) is cause unknown
        assert c["retransmits"] == d["TcpRetransSegs"], (name, c, d)
        assert segs == d["TcpRetransSegs"], (name, d, by)
        assert unknown <= max(2, 0.1 * segs), (name, d, by)
        assert c["retrans_rto"] + c["retrans_fast"] + c["retrans_tlp"] == segs - sum(
            by.get(k, {}).get("segs") or 0 for k in ("syn", "unknown")), (name, c, by)
        missing = unknown
        close_to(c["retrans_rto"], d["TcpExtTCPTimeouts"] + d["TcpExtTCPSlowStartRetrans"],
                 name + " rto", missing)
        close_to(c["retrans_fast"], d["TcpExtTCPFastRetrans"], name + " fast", missing)
        mine = [x for x in snaps if x["raddr"] == NET + ".2" and x["rport"] == str(PORTS[name])]
        assert mine, name
        assert {k: int(mine[-1][k]) for k in CAUSES} == {k: c[k] for k in CAUSES}, name
        # a probe sends new data when it has some (TCPLossProbes counts it, no retransmit)
        assert c["retrans_tlp"] <= d["TcpExtTCPLossProbes"], (name, c, d)
        if name == "tlp":
            close_to(c["retrans_tlp"], d["TcpExtTCPLossProbes"], name + " tlp", missing)
        close_to(c["retrans_spurious"], d["TcpExtTCPDSACKRecvSegs"], name + " spurious")
    # sock_diag: every retransmit of cause unknown, the DSACKs it polled as spurious
    ev = query(sd_path, "SELECT cause, sum(retrans) AS segs, sum(spurious) AS dup FROM events "
               "WHERE kind = 'retrans' AND conn_id IN (SELECT id FROM connections WHERE "
               "direction = 'out' AND rport BETWEEN 5411 AND 5415) GROUP BY cause")
    by = {e["cause"]: e for e in ev}
    assert set(by) == {"unknown", "spurious"}, ev
    assert 0 < by["spurious"]["dup"] <= sum(d["TcpExtTCPDSACKRecvSegs"] for d in deltas.values())
    # a handshake's resent SYN is cause syn, no rto (TCPTimeouts counts its timer too)
    ev = query(path, "SELECT cause, sum(retrans) AS segs FROM events WHERE kind = 'retrans' AND "
               "conn_id IN (SELECT id FROM connections WHERE direction = 'out' AND rport = %d) "
               "GROUP BY cause" % PORTS["syn"])
    assert syn["TcpRetransSegs"] >= 1, syn
    assert ev == [{"cause": "syn", "segs": syn["TcpRetransSegs"]}], (ev, syn)
    assert syn["TcpExtTCPTimeouts"] == syn["TcpRetransSegs"], syn
    # each scenario made the kind it is named for
    assert deltas["fast"]["TcpExtTCPFastRetrans"] > 0, deltas["fast"]
    assert deltas["tlp"]["TcpExtTCPLossProbes"] >= 3, deltas["tlp"]
    assert deltas["rto"]["TcpExtTCPTimeouts"] > 0, deltas["rto"]
    assert deltas["spurious"]["TcpExtTCPDSACKRecvSegs"] > 0, deltas["spurious"]


@pytest.mark.skipif(not have_bpf(), reason="needs root and a BPF build")
@needs_cmd("nft", "nstat")
def test_fallback_retransmits_by_cause_from_bpf(tmpdir_path):
    """Where --source auto falls back to sock_diag (a required program refused: Debian's 5.10
    refuses the atomics), each retransmit of a connection its polls follow is told by BPF
    beside it (tcp_fallback.bpf.c) with its cause, and the polls tell the rest (cause unknown),
    so the events add up to the kernel's count whichever comes first. Before a connection's
    first poll its socket has no cookie to be named by: what it resent by then (over veth,
    reordering makes fast retransmits from the first milliseconds) is told at that poll, cause
    unknown, and only there. Oracle: the sender namespace's counters, as above:
    rto + fast + tlp + unknown == TcpRetransSegs == the connection's total, exactly; unknown
    after the first poll at most 1%; rto and fast each within 5% of their counters, less what
    the first poll told."""
    env = dict(os.environ, TT_TEST_REFUSE_PROG="tt_set_state")
    with veth_pair(NET, "ttrf") as pair:
        a, b = pair
        path = os.path.join(tmpdir_path, "rt-fb.tt")
        rec = Recorder(path, "--source", "auto", "--coalesce", "200ms", env=env)
        deltas = {}
        try:
            # every 25th data packet reaching the reader: fast retransmits (from the start: a
            # rule added later by a process of its own may come too late in an emulated guest)
            deltas["fbfast"] = scenario(
                a, b, "fbfast", "stream", 2.0, b,
                "tcp dport %(port)d meta length > 200 numgen inc mod 25 == 0 drop")
            # all data for 1.2 s from 0.5 s on: retransmit timeouts, then the loss recovery
            deltas["fbrto"] = scenario(a, b, "fbrto", "stream", 2.5, b, "",
                                       during=blackout(b, "fbrto", 1.2, start=0.5))
        finally:
            rc, err = rec.stop(settle=SETTLE_S + 0.7)
        assert rc == 0, err
    said = [line for line in err.splitlines() if "using sock_diag" in line]
    assert len(said) == 1 and "TCP retransmits" in said[0], err
    for name, d in deltas.items():
        c, by, segs, unknown = sender_retransmits(
            path, PORTS[name], "id, retransmits, retrans_rto, retrans_fast, retrans_tlp")
        # the first poll: the open's time (its handshake, told later, is dated before it)
        (opened,) = query(path, "SELECT ts FROM events WHERE kind = 'open' AND conn_id = %d"
                          % c["id"])
        first, later = (query(path, "SELECT coalesce(sum(retrans), 0) AS n FROM events WHERE "
                              "kind = 'retrans' AND cause = 'unknown' AND conn_id = %d AND ts %s %d"
                              % (c["id"], op, opened["ts"]))[0]["n"] for op in ("=", ">"))
        print(name, d, c, by, "unknown at the first poll", first, "after", later)
        assert segs == d["TcpRetransSegs"] == c["retransmits"], (name, d, c, by)
        assert first + later == unknown and later <= max(2, 0.01 * segs), (name, first, later)
        close_to(c["retrans_rto"], d["TcpExtTCPTimeouts"] + d["TcpExtTCPSlowStartRetrans"],
                 name + " rto", unknown)
        close_to(c["retrans_fast"], d["TcpExtTCPFastRetrans"], name + " fast", unknown)
        assert c["retrans_tlp"] <= d["TcpExtTCPLossProbes"], (name, c, d)
    assert deltas["fbfast"]["TcpExtTCPFastRetrans"] > 0, deltas["fbfast"]
    assert deltas["fbrto"]["TcpExtTCPTimeouts"] > 0, deltas["fbrto"]
    # what BPF told: the blackout's timeouts by cause rto, fast retransmits by cause fast
    rto = by_cause(path, "rport = %d" % PORTS["fbrto"])
    assert (rto.get("rto", {}).get("segs") or 0) > 0, rto
    fast = by_cause(path, "rport = %d" % PORTS["fbfast"])
    assert (fast.get("fast", {}).get("segs") or 0) > 0, fast


@pytest.mark.skipif(not have_bpf(), reason="needs root and a BPF build")
@needs_cmd("nft", "nstat")
def test_fallback_short_connection_resends_by_cause_from_bpf(tmpdir_path):
    """Where --source auto falls back to sock_diag (Debian's 5.10), a connection opened and
    closed between two polls is written at its close from the start BPF kept of it
    (tcp_fallback.bpf.c), and what it resent is kept there by cause until then: a connect whose
    first SYN the reader's side drops (its resend, at the 1 s timer, gets through), a little
    data, a close, all within one 10 s interval. Oracle: the sender namespace's counters:
    TcpRetransSegs (1) == its resends of cause syn == its handshake's syn_retrans == its
    total, none of cause unknown; connect_us at least the 1 s timer and at most the sender's
    own connect()."""
    port = PORTS["fbsyn"]
    env = dict(os.environ, TT_TEST_REFUSE_PROG="tt_set_state")
    with veth_pair(NET, "ttrs") as pair:
        a, b = pair
        path = os.path.join(tmpdir_path, "rt-fbsyn.tt")
        rec = Recorder(path, "--source", "auto", "--coalesce", "10s", "-P", str(port), env=env)
        rd = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", READER, str(port)])
        try:
            wait_listen(port, b)
            nft(b, "table inet tt_fbsyn {\n chain c {\n  type filter hook input priority 0;\n"
                "  tcp dport %d tcp flags syn numgen inc mod 2 == 0 drop\n }\n}\n" % port)
            before = nstat(a)
            t0 = time.time_ns()
            sd = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", SENDER,
                                   "bursts", NET + ".2", str(port), "1"],
                                  stdout=subprocess.PIPE, text=True)
            assert sd.stdout.readline().strip() == "up"
            t1 = time.time_ns()
            assert sd.wait(timeout=30) == 0
            rd.wait(timeout=10)
            d = {k: v - before[k] for k, v in nstat(a).items()}
        finally:
            if rd.poll() is None:
                rd.kill()
            run(["ip", "netns", "exec", b, "nft", "delete", "table", "inet", "tt_fbsyn"])
            rc, err = rec.stop()
        assert rc == 0, err
    said = [line for line in err.splitlines() if "using sock_diag" in line]
    assert len(said) == 1 and "TCP handshakes" in said[0], err
    assert d["TcpRetransSegs"] == 1 and d["TcpExtTCPTimeouts"] == 1, d
    c, by, segs, unknown = sender_retransmits(path, port,
                                              "retransmits, syn_retrans, connect_us, tx_bytes")
    print(d, c, by)
    assert segs == c["retransmits"] == c["syn_retrans"] == d["TcpRetransSegs"], (c, by, d)
    assert set(by) == {"syn"} and unknown == 0, by
    assert 900_000 <= c["connect_us"] <= (t1 - t0) // 1000, (c, t1 - t0)
    assert c["tx_bytes"] == 1000, c


def test_sockdiag_says_causes_are_unknown():
    """tcp_info counts retransmits, not why: --check says so in the capability's one line."""
    r = run([tool("tcptop-record"), "--source", "sockdiag", "--check"])
    line = [x for x in r.stdout.splitlines() if x.split()[:1] == ["retrans-cause"]]
    assert len(line) == 1 and "MISSING" in line[0] and "cause unknown" in line[0], r.stdout


# streams for argv[3] s, says "idle", and closes when its stdin says so
HOLDER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
end = time.time() + float(sys.argv[3])
while time.time() < end:
    s.sendall(b"x" * 65536)
time.sleep(0.5)
print("idle", flush=True)
sys.stdin.readline()
s.close()
"""


@needs_bpf
@needs_cmd("nft", "nstat")
def test_retransmits_before_the_capture_are_no_events(tmpdir_path):
    """A connection that retransmitted before the recorder started, then idles and closes while
    it records: its retransmits are in its total (the socket's, at the close) but are no
    RETRANS events of the capture, of any cause (the socket's total_retrans when first seen is
    what its events start from; its DSACKs likewise)."""
    port = 5416
    with veth_pair(NET, "ttrp") as pair:
        a, b = pair
        rd = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", READER,
                               str(port)])
        hd = None
        try:
            wait_listen(port, b)
            nft(b, "table inet tt_pre {\n chain c {\n  type filter hook input priority 0;\n"
                "  tcp dport %d meta length > 200 numgen inc mod 25 == 0 drop\n }\n}\n" % port)
            before = nstat(a)
            hd = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", HOLDER,
                                   NET + ".2", str(port), "1.0"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
            assert hd.stdout.readline().strip() == "idle"
            run(["ip", "netns", "exec", b, "nft", "delete", "table", "inet", "tt_pre"])
            mid = nstat(a)
            path = os.path.join(tmpdir_path, "pre.tt")
            rec = Recorder(path, "-P", str(port))
            try:
                time.sleep(1.5)  # a sampling pass finds it open
                hd.stdin.write("close\n")
                hd.stdin.flush()
                assert hd.wait(timeout=10) == 0
                rd.wait(timeout=10)
                after = nstat(a)
            finally:
                rc, err = rec.stop(settle=SETTLE_S + 0.7)
            assert rc == 0, err
        finally:
            for p in (rd, hd):
                if p and p.poll() is None:
                    p.kill()
    assert mid["TcpRetransSegs"] - before["TcpRetransSegs"] > 0, (before, mid)
    assert after["TcpRetransSegs"] == mid["TcpRetransSegs"], (mid, after)
    (c,) = query(path, "SELECT id, preexisting, retransmits, retrans_spurious FROM connections "
                       "WHERE direction = 'out' AND rport = %d" % port)
    assert c["preexisting"] in (1, "1", True), c
    assert c["retransmits"] == after["TcpRetransSegs"] - before["TcpRetransSegs"], (c, after)
    assert by_cause(path, "id = %d" % c["id"]) == {}, by_cause(path, "id = %d" % c["id"])
