"""Issue 20, handshake and failure: connect latency, accept wait, SYN retransmits and why a
connection failed, on real connections between two network namespaces made here.

Each scenario injects its condition (a closed port, SYNs dropped by nftables with the client
namespace's tcp_syn_retries lowered, an ICMP reject, a peer that resets, a close with unread
data, a server slow to accept) and checks what tcptop-query's connections table says against
what the applications saw themselves (their errno, their own clocks) and the kernel's
per-namespace counters (nstat -asz, which leaves nstat's history alone).
"""
import csv
import io
import json
import os
import subprocess

import pytest

from conftest import needs_bpf, needs_cmd, run, tool
from helpers.capture import query_json as query
from helpers.netns import nstat, veth_pair
from helpers.recorder import SETTLE_S, Recorder

NET = "10.214.20"
SRV = NET + ".1"  # namespace a: the server
PORT = 5420

# One client or server action in a namespace, as a user's program does it; prints JSON.
PEER = r"""
import errno, json, socket, struct, sys, time
role, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
arg = float(sys.argv[4]) if len(sys.argv) > 4 else 0
out = {}
if role == "connect":
    s = socket.socket()
    s.settimeout(30)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
        out["errno"] = 0
    except OSError as e:
        out["errno"] = e.errno
    out["t0"], out["t1"] = t0, time.monotonic()
    if out["errno"] == 0 and arg:  # send (arg < 0: nothing), then read until the peer ends it
        s.sendall(b"x" * max(int(arg), 0))
        try:
            while s.recv(65536):
                pass
            out["recv_errno"] = 0
        except OSError as e:
            out["recv_errno"] = e.errno
    s.close()
else:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(8)
    print("listening", flush=True)
    if role == "slow-accept":
        # the connection is ESTABLISHED in the accept queue before this sleep ends
        while True:
            import select
            r, _, _ = select.select([ls], [], [], 10)
            if r:
                break
        out["ready"] = time.monotonic()
        time.sleep(arg)
    c, _ = ls.accept()
    out["accepted"] = time.monotonic()
    if role == "linger0":
        time.sleep(0.2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif role == "unread":
        time.sleep(0.3)  # the client's bytes arrive, unread
    elif role == "drain":  # read to the client's end
        while c.recv(65536):
            pass
    elif role == "slow-accept":
        c.recv(1)
    c.close()
    ls.close()
print(json.dumps(out), flush=True)
"""


@pytest.fixture
def pair():
    # (pinned: no ARP, which netem would delay too: test_connect_us_known_delay measures the
    # handshake alone)
    with veth_pair(NET, tag="tths", pinned=True) as p:
        yield p



def client(ns, nbytes=0, port=PORT, timeout=60):
    r = run(["ip", "netns", "exec", ns, "python3", "-c", PEER, "connect", SRV, str(port),
             str(nbytes)], timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def server(ns, role, arg=0):
    p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", PEER, role, SRV, str(PORT),
                          str(arg)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "listening"
    return p


def server_done(p):
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0
    return json.loads(out.splitlines()[-1])


def nft(ns, rule):
    r = run(["ip", "netns", "exec", ns, "nft", "-f", "-"],
            input="table inet tths {\n chain in {\n type filter hook input priority 0;\n %s\n }\n}\n"
            % rule)
    assert r.returncode == 0, r.stderr



COLS = ("id, direction, lport, rport, state, fail_reason, connect_us, accept_wait_us, "
        "syn_retrans, retransmits, closed")


def in_pair(pair):
    """SQL: the row's netns is one of the pair's."""
    return "netns IN (%s)" % ", ".join(str(os.stat("/run/netns/" + ns).st_ino) for ns in pair)


def conns(path, pair, port=PORT):
    """The TCP connections of port in the namespaces of pair, by direction ('out': the
    client's, 'in': the server's). Only those: the namespaces of an earlier test are freed
    after their deletion, by a kernel worker, and their sockets on port can still be seen
    (by the sampling pass, or closing) while this test records."""
    rows = query(path, "SELECT %s FROM connections WHERE proto = 'tcp' AND "
                       "(rport = %d OR lport = %d) AND %s ORDER BY first_ts"
                       % (COLS, port, port, in_pair(pair)))
    by = {}
    for r in rows:
        by.setdefault(r["direction"], []).append(r)
    return by


def csv_last(path, *rows):
    """tcptop-replay --csv: the last snapshot row of each connection of ROWS (rows of conns():
    those of this test's namespaces, by their id), in the order of ROWS."""
    r = run([tool("tcptop-replay"), "--csv", "-", path])
    assert r.returncode == 0, r.stderr
    want = {str(x["id"]) for x in rows}
    last = {}
    for row in csv.DictReader(io.StringIO(r.stdout)):
        if row["conn_id"] in want:
            last[row["conn_id"]] = row
    assert set(last) == want, (last, rows)
    return [last[str(x["id"])] for x in rows]


def recording(tmp, name, *args):
    path = os.path.join(tmp, name + ".tt")
    return path, Recorder(path, "-P", str(PORT), *args)


def stop(rec):
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err


@needs_bpf
@needs_cmd("nstat")
def test_refused(tmpdir_path, pair):
    a, b = pair
    path, rec = recording(tmpdir_path, "refused")
    c = client(b)
    stop(rec)
    assert c["errno"] == 111  # ECONNREFUSED: the client's own word
    assert nstat(b).get("TcpAttemptFails", 0) == 1
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("out", [])] == ["refused"], by
    out = by["out"][0]
    assert out["closed"] == 1 and out["connect_us"] is None and out["syn_retrans"] == 0
    grouped = query(path, "SELECT fail_reason, count(*) AS n FROM connections "
                          "WHERE rport = %d AND %s GROUP BY 1" % (PORT, in_pair(pair)))
    assert grouped == [{"fail_reason": "refused", "n": 1}]
    rows = csv_last(path, out)
    assert [(r["fail_reason"], r["connect_us"], r["syn_retrans"]) for r in rows] == \
        [("refused", "", "0")], rows


@needs_bpf
@needs_cmd("nstat", "nft")
def test_syn_timeout(tmpdir_path, pair):
    a, b = pair
    nft(a, "tcp dport %d drop;" % PORT)
    assert run(["ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=1"]
               ).returncode == 0
    path, rec = recording(tmpdir_path, "timeout")
    c = client(b)
    stop(rec)
    assert c["errno"] == 110  # ETIMEDOUT
    synretrans = nstat(b).get("TcpExtTCPSynRetrans", 0)
    assert synretrans >= 1
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("out", [])] == ["timeout"], by
    assert by["out"][0]["syn_retrans"] == synretrans


# The client, as Python's connect() with a timeout does, polls and takes the error with
# getsockopt(SO_ERROR), which clears it. On 6.1 the ICMP answers the SYN while connect() still
# holds the socket: a soft error no tracepoint sees, taken by SO_ERROR, and the close comes
# with no error set (seen with bpftrace in a 6.1 guest); only the getsockopt hook sees it.
@needs_bpf
@needs_cmd("nft")
def test_icmp_unreachable(tmpdir_path, pair):
    a, b = pair
    nft(a, "tcp dport %d reject with icmp type host-unreachable;" % PORT)
    path, rec = recording(tmpdir_path, "unreach")
    c = client(b)
    stop(rec)
    assert c["errno"] == 113  # EHOSTUNREACH
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("out", [])] == ["unreachable"], by
    assert by["out"][0]["lport"] > 0, by  # opened while its port was still set


# An established client whose data an ICMP error answers for a while: a soft error, which it
# takes with SO_ERROR, and it goes on to end normally once the ICMPs stop.
SOFT_CLIENT = r"""
import json, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"a")
print("connected", flush=True)
sys.stdin.readline()  # the ICMP rule is in
s.send(b"b")
err, end = 0, time.monotonic() + 10
while not err and time.monotonic() < end:  # its retransmits meet the ICMP
    time.sleep(0.05)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
print("taken", flush=True)
sys.stdin.readline()  # the rule is gone
s.sendall(b"c")
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
print(json.dumps({"so_error": err}), flush=True)
"""


@needs_bpf
@needs_cmd("nft")
def test_soft_error_taken_then_normal_end(tmpdir_path, pair):
    """A soft error an established connection's application takes with SO_ERROR is no
    fail_reason when the connection then ends normally: only a connect's error is kept."""
    a, b = pair
    path, rec = recording(tmpdir_path, "soft")
    srv = server(a, "drain")
    c = subprocess.Popen(["ip", "netns", "exec", b, "python3", "-c", SOFT_CLIENT, SRV, str(PORT)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert c.stdout.readline().strip() == "connected"
    nft(a, "tcp dport %d reject with icmp type host-unreachable;" % PORT)
    c.stdin.write("\n")
    c.stdin.flush()
    assert c.stdout.readline().strip() == "taken"
    assert run(["ip", "netns", "exec", a, "nft", "delete", "table", "inet", "tths"]
               ).returncode == 0
    c.stdin.write("\n")
    c.stdin.flush()
    out, _ = c.communicate(timeout=60)
    assert c.returncode == 0
    assert json.loads(out.splitlines()[-1])["so_error"] == 113  # EHOSTUNREACH, taken
    server_done(srv)
    stop(rec)
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("out", [])] == [None], by
    assert [r["fail_reason"] for r in by.get("in", [])] == [None], by


@needs_bpf
@needs_cmd("nstat")
def test_reset_by_peer(tmpdir_path, pair):
    """The server closes with SO_LINGER 0: reset by the peer on the client's side, reset
    locally on the server's."""
    a, b = pair
    path, rec = recording(tmpdir_path, "reset")
    srv = server(a, "linger0")
    c = client(b, nbytes=-1)  # nothing to read on the server: not an abort
    server_done(srv)
    stop(rec)
    assert c["errno"] == 0 and c["recv_errno"] == 104  # ECONNRESET
    assert nstat(a).get("TcpExtTCPAbortOnData", 0) == 1  # tcp_close()'s linger-0 branch
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("out", [])] == ["reset"], by
    assert [r["fail_reason"] for r in by.get("in", [])] == ["local-reset"], by


@needs_bpf
@needs_cmd("nstat")
def test_abort_unread(tmpdir_path, pair):
    a, b = pair
    path, rec = recording(tmpdir_path, "abort")
    srv = server(a, "unread")
    c = client(b, nbytes=1000)
    server_done(srv)
    stop(rec)
    assert c["errno"] == 0 and c["recv_errno"] == 104
    assert nstat(a).get("TcpExtTCPAbortOnClose", 0) == 1  # unread data tossed
    by = conns(path, pair)
    assert [r["fail_reason"] for r in by.get("in", [])] == ["abort"], by
    assert [r["fail_reason"] for r in by.get("out", [])] == ["reset"], by


@needs_bpf
def test_connect_and_accept_wait(tmpdir_path, pair):
    """A server that accepts 300 ms after the connection is ESTABLISHED: accept_wait_us is that
    wait on the server's own clock; connect_us on both ends, a normal close fails nothing."""
    a, b = pair
    path, rec = recording(tmpdir_path, "accept", "--accept-wait")
    srv = server(a, "slow-accept", 0.3)
    c = client(b, nbytes=1)
    s = server_done(srv)
    stop(rec)
    assert c["errno"] == 0
    by = conns(path, pair)
    assert len(by.get("out", [])) == 1 and len(by.get("in", [])) == 1, by
    out, inb = by["out"][0], by["in"][0]
    assert out["fail_reason"] is None and inb["fail_reason"] is None
    assert out["syn_retrans"] == 0 and inb["syn_retrans"] == 0
    # the client's handshake lies inside its own connect() call
    assert 0 < out["connect_us"] <= (c["t1"] - c["t0"]) * 1e6 + 1000
    # the server's: the SYN-ACK RTT, as short as the veth link is
    assert 0 < inb["connect_us"] < 1_000_000
    assert out["accept_wait_us"] is None
    # the server's own clock: readable (ESTABLISHED, queued) to accept() returning
    waited = (s["accepted"] - s["ready"]) * 1e6
    assert abs(inb["accept_wait_us"] - waited) <= 0.2 * waited, (inb, waited)
    assert abs(inb["accept_wait_us"] - 300_000) <= 0.2 * 300_000, inb
    # the same in tcptop-replay --csv, from the state table's fold
    csv_in, csv_out = csv_last(path, inb, out)
    told = (csv_in, csv_out, inb, out)
    assert int(csv_in["accept_wait_us"]) == inb["accept_wait_us"], told
    assert int(csv_in["connect_us"]) == inb["connect_us"], told
    assert int(csv_out["connect_us"]) == out["connect_us"] and \
        csv_out["accept_wait_us"] == "" and csv_out["fail_reason"] == "", told


def netem(ns, dev, delay_ms):
    """Adds the delay; False when this kernel has no netem qdisc (tc says the kind is unknown)."""
    r = run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem",
             "delay", "%dms" % delay_ms])
    if r.returncode and "qdisc kind is unknown" in r.stderr.lower() + r.stdout.lower():
        return False
    assert r.returncode == 0, r.stderr
    return True


@needs_bpf
@needs_cmd("tc")
def test_connect_us_known_delay(tmpdir_path, pair):
    """100 ms more on the client's way out (netem): connect_us is at least 100 ms and the
    client's own connect() time within 10 % (or 10 ms), on the client and, for the SYN-ACK's
    round trip, on the server."""
    a, b = pair
    dev = [x for x in run(["ip", "-n", b, "-o", "link"]).stdout.split() if x.startswith("tths")]
    assert dev, "no veth in " + b
    # (the fixture pinned the link addresses: a connect that needed ARP would wait for netem's
    # delay twice, 205 ms measured in the 6.1 guest)
    if not netem(b, dev[0].rstrip(":").split("@")[0], 100):
        pytest.xfail("this host lacks sch_netem (tc qdisc netem): runs in the vmtest guests")
    path, rec = recording(tmpdir_path, "delay")
    srv = server(a, "accept")
    c = client(b, nbytes=1)
    server_done(srv)
    stop(rec)
    assert c["errno"] == 0
    by = conns(path, pair)
    out, inb = by["out"][0], by["in"][0]
    # the oracle is the client's own clock around connect(): an emulated guest on a busy host
    # adds real time to the handshake (110.5 ms measured in a 6.1 guest), so 100 ms is a
    # floor, not the value; and its clock takes in the time its process waits for the
    # emulated CPU before the SYN and after the SYN-ACK, which the kernel's does not (132.0 ms
    # by the client's clock against 105.9 ms SYN to ESTABLISHED in a 6.1 guest beside another
    # guest): a quarter, at least 30 ms, of slack. 100 ms missed still fails the floor.
    client_us = (c["t1"] - c["t0"]) * 1e6
    slack = max(30_000, client_us / 4)
    assert 99_000 <= out["connect_us"] <= client_us + 1000, (out, client_us)
    assert client_us - out["connect_us"] <= slack, (out, client_us)
    assert 99_000 <= inb["connect_us"] <= client_us + slack, (inb, client_us)
    assert abs(inb["connect_us"] - client_us) <= slack, (inb, client_us)


@pytest.mark.parametrize("dialect", ["postgresql", "clickhouse"])
def test_export_schemas_have_the_columns(dialect):
    """The PostgreSQL and ClickHouse tables for loading --format csv|jsonl output: connections
    and events hold the handshake and failure columns, typed as the SQLite ones are."""
    r = run([tool("tcptop-query"), "--schema=" + dialect])
    assert r.returncode == 0, r.stderr
    tables = {}
    for block in r.stdout.split("CREATE TABLE")[1:]:
        name = block.split("(", 1)[0].split()[-1].strip('"`').split(".")[-1]
        tables[name] = block.split(";", 1)[0]
    for table in ("connections", "events"):
        cols = {line.strip().split()[0].strip('"`'): line.strip().split()[1].rstrip(",")
                for line in tables[table].splitlines()[1:] if line.strip() and
                not line.strip().startswith(")")}
        for col in ("connect_us", "syn_retrans", "accept_wait_us"):
            assert col in cols and "int" in cols[col].lower(), (dialect, table, cols)
        assert "fail_reason" in cols and "int" not in cols["fail_reason"].lower(), cols
