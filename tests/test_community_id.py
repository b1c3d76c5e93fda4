"""Community ID (issue 16): the community_id of tcptop-query (connections, open events, every
output), of tcptop-replay's --dump, --json and --csv, with --community-id-seed.

Oracles: a Community ID computed here with hashlib and base64 from the spec's text
(corelight/community-id-spec), itself checked first against the spec's published baseline,
over the addresses the format's independent Python reader (tests/pyreader/ttcap.py) reads
from the capture; and, with root and BPF, Suricata's eve.json community_id on a tcpdump
capture of the same loopback traffic tcptop-record recorded: TCP and UDP, IPv4 and IPv6, both
ends of each connection, with seed 0 and another seed.
"""
import base64
import csv
import hashlib
import ipaddress
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "pyreader"))
from conftest import background, needs_bpf, needs_cmd, run, tool  # noqa: E402
from helpers.recorder import SETTLE_S, Recorder  # noqa: E402
from helpers.suricata import eve_flows  # noqa: E402
import ttcap  # noqa: E402

QUERY, REPLAY = tool("tcptop-query"), tool("tcptop-replay")
OPEN = 1
SEED = 4242
KEY = bytes(range(7, 39))


def community_id(seed, proto, saddr, sport, daddr, dport):
    """Community ID v1 as the spec's text defines it, or None for what it does not cover."""
    if proto not in (6, 17, 132):
        return None
    a, b = ipaddress.ip_address(saddr), ipaddress.ip_address(daddr)
    if a.version == 6 and a.ipv4_mapped and b.ipv4_mapped:
        a, b = a.ipv4_mapped, b.ipv4_mapped
    sa, da = a.packed, b.packed
    if (sa, sport) > (da, dport):
        sa, da, sport, dport = da, sa, dport, sport
    data = struct.pack(">H", seed) + sa + da + struct.pack(">BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def open_cid(seed, o):
    """What the open record o (as ttcap reads it) should give: None when an address is not
    known (no peer, or a wildcard local address) or the family is not IPv4 or IPv6."""
    n = {4: 4, 6: 16}.get(o["family"])
    la, ra = bytes.fromhex(o["laddr"]), bytes.fromhex(o["raddr"])
    if not n or not any(la) or not any(ra):
        return None
    return community_id(seed, o["proto"], ipaddress.ip_address(la[:n]), o["lport"],
                        ipaddress.ip_address(ra[:n]), o["rport"])


def query(files, sql, *opts, fmt="json"):
    r = run([QUERY, "--no-progress", "-F", fmt, *opts, *files, sql])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if fmt == "json" else r.stdout


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    """A synthetic capture of every kind (test_format gen): IPv4 and IPv6, TCP and UDP,
    and opens the ID does not cover (family 0, protocol 255)."""
    path = str(tmp_path_factory.mktemp("cid") / "g.tt")
    r = run([tool("tests/test_format"), "gen", path, "4000"])
    assert r.returncode == 0, r.stderr
    return path


def opens(path):
    return [e for e in ttcap.read(path).events if e["kind"] == OPEN]


# --------------------------------------------------------------------------- the oracle

def test_oracle_matches_spec_baseline():
    """The Python oracle reproduces the spec's baseline (baseline_deflt.json,
    baseline_seed1.json): TCP over IPv6 and IPv4, UDP, both directions, seeds 0 and 1."""
    vectors = [
        (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25,
         "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
        (6, "128.232.110.120", 34855, "66.35.250.204", 80,
         "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
        (17, "192.168.1.52", 54585, "8.8.8.8", 53,
         "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
    ]
    for proto, s, sp, d, dp, seed0, seed1 in vectors:
        assert community_id(0, proto, s, sp, d, dp) == seed0
        assert community_id(0, proto, d, dp, s, sp) == seed0
        assert community_id(1, proto, s, sp, d, dp) == seed1
        assert community_id(1, proto, d, dp, s, sp) == seed1
    # one address both ends: the reference script's output cited in community-id-spec
    # issue #32 and Arkime issue #3582 (the ports order the endpoints, as numbers)
    for a, p1, p2, want in (("1.2.3.4", 3344, 1122, "1:CY1T7/6B7r9W3LMnzSws9RXqqbQ="),
                            ("1.2.3.4", 6655, 8877, "1:7hdcx4YnNvllNYNSbtSzegQFnjg="),
                            ("127.0.0.1", 37540, 8080, "1:bVDV5YeKjjpJPUv5eIkIB7NsFYk=")):
        assert community_id(0, 6, a, p1, a, p2) == want
        assert community_id(0, 6, a, p2, a, p1) == want


def test_unit_vectors():
    """The C unit test (the spec's vectors, both ends, v4-mapped, no ID without a peer)."""
    r = run([tool("tests/test_community_id")])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ok  ") >= 35 and "FAIL" not in r.stdout


# ------------------------------------------------------------------------ tcptop-query

@pytest.mark.parametrize("seed", [0, SEED])
def test_query_open_events_and_connections(cap, seed):
    """community_id of every open event equals the oracle over the addresses the independent
    reader reads; connection rows carry the ID of their addresses; NULL where it cannot be."""
    want = [open_cid(seed, o) for o in opens(cap)]
    assert sum(w is not None for w in want) > 50 and None in want
    opt = ("--community-id-seed", str(seed)) if seed else ()
    got = query([cap], "SELECT community_id FROM events WHERE kind = 'open'", *opt)
    assert [r["community_id"] for r in got] == want
    # a key of grouped scans of events (query/group.c): the same groups as SQLite's sorter
    grouped = [query([cap], "SELECT community_id, count(*) AS n, group_concat(conn_id) AS ids "
                     "FROM events WHERE kind = 'open' GROUP BY %scommunity_id" % plus, *opt)
               for plus in ("", "+")]
    assert grouped[0] == grouped[1] and len(grouped[0]) == len(set(want))
    rows = query([cap], "SELECT proto, laddr, lport, raddr, rport, community_id "
                 "FROM connections", *opt)
    known = 0
    for r in rows:
        if r["raddr"] is None or r["proto"] not in ("tcp", "udp") or \
                r["laddr"] in ("0.0.0.0", "::"):
            assert r["community_id"] is None, r
            continue
        p = 6 if r["proto"] == "tcp" else 17
        assert r["community_id"] == community_id(seed, p, r["laddr"], r["lport"], r["raddr"],
                                                 r["rport"]), r
        assert r["community_id"] in want
        known += 1
    assert known > 50


def test_query_every_output(cap, tmp_path):
    """The same IDs in CSV, JSON lines, the table and an --db file read by the sqlite3 shell."""
    sql = "SELECT id, community_id FROM connections ORDER BY id, first_ts"
    js = [(r["id"], r["community_id"]) for r in query([cap], sql)]
    assert sum(c is not None for _, c in js) > 50
    out = query([cap], sql, fmt="csv")
    assert [(int(i), c or None) for i, c in list(csv.reader(out.splitlines()))[1:]] == js
    out = query([cap], sql, fmt="jsonl")
    assert [(r["id"], r["community_id"]) for r in map(json.loads, out.splitlines())] == js
    out = query([cap], sql, fmt="table").splitlines()
    assert out[0].split() == ["id", "community_id"]
    assert [tuple(line.split()) for line in out[2:]] == \
        [(str(i), c or "NULL") for i, c in js]
    db = str(tmp_path / "c.sqlite")
    r = run([QUERY, "--no-progress", "--db", db, cap], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    if not run(["sh", "-c", "command -v sqlite3"]).stdout:
        pytest.skip("no sqlite3 shell")
    r = run(["sqlite3", "-json", db, sql])
    assert [(x["id"], x["community_id"]) for x in json.loads(r.stdout)] == js


def test_schema_dialects():
    for args in (["--schema"], ["--schema=postgresql"], ["--schema=clickhouse"]):
        r = run([QUERY, *args])
        assert r.returncode == 0
        for table in ("connections", "events"):
            body = r.stdout.split("CREATE TABLE %s (" % table)[1].split("\n)")[0]
            assert "community_id" in body, (args, table)


def test_seed_usage_errors(cap):
    for bad in ("65536", "-1", "abc", "0x10", "", "1.5"):
        for cmd in ([QUERY, "--community-id-seed", bad, cap, "SELECT 1"],
                    [REPLAY, "--dump", "--community-id-seed", bad, cap]):
            r = run(cmd)
            assert r.returncode == 2 and r.stdout == "", (cmd, r)
            assert len(r.stderr.splitlines()) == 1 and "community-id-seed" in r.stderr, r.stderr
    for cmd in ([QUERY, cap, "SELECT 1", "--community-id-seed"],
                [REPLAY, "--dump", cap, "--community-id-seed"]):
        r = run(cmd)
        assert r.returncode == 2 and "needs a value" in r.stderr, r.stderr


# ----------------------------------------------------------------------- tcptop-replay

@pytest.mark.parametrize("seed", [0, SEED])
def test_replay_dump_json_text_csv(cap, tmp_path, seed):
    want = [open_cid(seed, o) for o in opens(cap)]
    opt = ["--community-id-seed", str(seed)] if seed else []
    r = run([REPLAY, "--dump", "--json", *opt, cap])
    assert r.returncode == 0, r.stderr
    evs = [json.loads(x) for x in r.stdout.splitlines()[1:]]
    got = [e["community_id"] for e in evs if e["kind"] == "open"]
    assert got == want
    assert all("community_id" not in e for e in evs if e["kind"] != "open")
    r = run([REPLAY, "--dump", *opt, cap])
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stdout.splitlines() if x.split()[2] == "open"]
    assert len(lines) == len(want)
    for line, w in zip(lines, want):
        if w is None:
            assert "community_id" not in line, line
        else:
            assert line.endswith(" community_id " + w), line
    # --csv: snapshots of the state table; each row's ID is its connection's
    by_id = {}
    for o, w in zip(opens(cap), want):
        by_id.setdefault(o["conn_id"], set()).add(w or "")
    out = str(tmp_path / "s.csv")
    r = run([REPLAY, "-b", "--csv", out, *opt, cap])
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0])[-11:] == ["community_id", "retrans_rto", "retrans_fast", "retrans_tlp",
                                   "retrans_spurious", "connect_us", "accept_wait_us",
                                   "syn_retrans", "fail_reason", "cwnd", "zero_window_ms"]
    checked = 0
    for row in rows:
        if int(row["conn_id"]) in by_id:
            assert row["community_id"] in by_id[int(row["conn_id"])], row
            checked += bool(row["community_id"])
    assert checked > 50


# ------------------------------------------------------------------- anonymized copies

def test_anonymized_copy_hashes_anonymized_addresses(cap, tmp_path):
    """An anonymized copy's ID is the hash of its anonymized addresses (derived on reading,
    never stored), and none of the original IDs is left in it: the original would let anyone
    who guesses a real address pair confirm it."""
    key = tmp_path / "key"
    key.write_bytes(KEY)
    anon = str(tmp_path / "a.tt")
    r = run([REPLAY, cap, "--anonymize", str(key), "-o", anon])
    assert r.returncode == 0, r.stderr
    orig_opens, anon_opens = opens(cap), opens(anon)
    assert [(o["ts"], o["conn_id"]) for o in orig_opens] == \
        [(o["ts"], o["conn_id"]) for o in anon_opens]
    assert sum(o["laddr"] != a["laddr"] for o, a in zip(orig_opens, anon_opens)) > 50
    want = [open_cid(0, o) for o in anon_opens]
    original = {open_cid(0, o) for o in orig_opens} - {None}
    got = query([anon], "SELECT community_id FROM events WHERE kind = 'open'")
    assert [r["community_id"] for r in got] == want
    conns = query([anon], "SELECT community_id FROM connections")
    ids = {r["community_id"] for r in conns} - {None}
    assert len(ids) > 50 and ids <= set(want) and not ids & original
    r = run([REPLAY, "--dump", "--json", anon])
    assert r.returncode == 0 and not any(o in r.stdout for o in original)


# ------------------------------------------------------- Suricata on the same real traffic

# Run in a network namespace of the test's own, so tcpdump there sees only this traffic. Pairs
# of one address (127.0.0.1, ::1: the ports order the endpoints) and of two (127.0.0.1 to
# 127.0.0.2, fd00:7c1d::1 to fd00:7c1d::2: the addresses order them). TCP: three connections
# each way of sending; UDP: a client that connect()s (twice), one that binds its address then
# uses sendto(), one that uses sendto() unbound (a wildcard local address); the server
# answers each datagram. Prints the flows made as JSON: [proto, family, client address,
# client port, server address, server port, how].
TRAFFIC_PY = r"""
import json, socket
made = []
def tcp(fam, caddr, saddr):
    lst = socket.socket(fam, socket.SOCK_STREAM)
    lst.bind((saddr, 0))
    lst.listen()
    sport = lst.getsockname()[1]
    for i in range(3):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.bind((caddr, 0))
        c.connect((saddr, sport))
        a, _ = lst.accept()
        c.sendall(b"x" * (1000 * (i + 1)))
        c.shutdown(socket.SHUT_WR)
        while a.recv(65536):
            pass
        a.sendall(b"y" * 100)
        a.close()
        while c.recv(65536):
            pass
        made.append(["tcp", fam, caddr, c.getsockname()[1], saddr, sport, "connect"])
        c.close()
    lst.close()
def udp(fam, caddr, saddr):
    srv = socket.socket(fam, socket.SOCK_DGRAM)
    srv.bind((saddr, 0))
    sport = srv.getsockname()[1]
    for how in ("connect", "connect", "bound", "unbound"):
        c = socket.socket(fam, socket.SOCK_DGRAM)
        c.settimeout(30)
        if how != "unbound":
            c.bind((caddr, 0))
        if how == "connect":
            c.connect((saddr, sport))
        c.sendto(b"q" * 60, (saddr, sport))
        _, peer = srv.recvfrom(2048)
        srv.sendto(b"r" * 30, peer)
        c.recvfrom(2048)
        made.append(["udp", fam, caddr if how != "unbound" else None, c.getsockname()[1],
                     saddr, sport, how])
        c.close()
    srv.close()
for fam, caddr, saddr in ((socket.AF_INET, "127.0.0.1", "127.0.0.1"),
                          (socket.AF_INET6, "::1", "::1"),
                          (socket.AF_INET, "127.0.0.1", "127.0.0.2"),
                          (socket.AF_INET6, "fd00:7c1d::1", "fd00:7c1d::2")):
    tcp(fam, caddr, saddr)
    udp(fam, caddr, saddr)
print(json.dumps([[p, 4 if f == socket.AF_INET else 6, *rest] for p, f, *rest in made]))
"""


@pytest.fixture
def netns():
    """A network namespace of the test's own: lo up, two more IPv6 addresses on it."""
    name = "ttcid%d" % os.getpid()
    r = run(["ip", "netns", "add", name])
    assert r.returncode == 0, r.stderr
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "-6", "addr", "add", "fd00:7c1d::1/128", "dev", "lo", "nodad"],
                    ["ip", "-6", "addr", "add", "fd00:7c1d::2/128", "dev", "lo", "nodad"]):
            r = run(["ip", "netns", "exec", name] + cmd)
            assert r.returncode == 0, r.stderr
        yield name, os.stat("/run/netns/" + name).st_ino
    finally:
        run(["ip", "netns", "del", name])


def suricata_flows(pcap, logdir, seed):
    flows = {}
    for e in eve_flows(pcap, logdir, seed):
        ends = frozenset({(ipaddress.ip_address(e["src_ip"]), e["src_port"]),
                          (ipaddress.ip_address(e["dest_ip"]), e["dest_port"])})
        flows[(e["proto"].lower(), ends)] = e["community_id"]
    return flows


def swapped_port_order(a, ap, b, bp):
    """Whether ports compared as Suricata 7 compares them for one address both ends (the
    network-order values read as host integers: byte-swapped on little-endian machines)
    order the endpoints other than the spec's numbers do."""
    sw = lambda p: ((p & 0xFF) << 8) | (p >> 8)  # noqa: E731
    return a == b and (ap < bp) != (sw(ap) < sw(bp)) and sys.byteorder == "little"


@needs_bpf
@needs_cmd("suricata", "tcpdump", "ip")
def test_suricata_agrees_on_real_traffic(tmp_path, netns):
    """tcptop-record and tcpdump see the same traffic; Suricata's eve.json gives each flow's
    Community ID from the packets, tcptop-query from the recorded sockets. Both ends of every
    connection (the client's row and the server's) give the spec's ID (computed here), and
    Suricata's wherever Suricata follows the spec: always between two addresses; between one
    address and itself Suricata 7 orders the ports in network byte order (see
    docs/QUERY.md), so those flows are compared with it only where both orders agree."""
    ns, ino = netns
    cap, pcap = str(tmp_path / "cap.tt"), str(tmp_path / "cap.pcap")
    rec = Recorder(cap)
    # -B 32 MB: a busy machine (the suite on 2 cores) made it drop packets with the default
    dump = background(subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", "lo", "-n",
                                        "-B", "32768", "--immediate-mode", "-U", "-w", pcap],
                                       stderr=subprocess.PIPE, text=True))
    line = dump.stderr.readline()  # tcpdump says so once it captures
    assert "listening on" in line, line
    try:
        r = run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", TRAFFIC_PY], timeout=60)
    finally:
        time.sleep(SETTLE_S)
        dump.send_signal(signal.SIGINT)
        _, dump_err = dump.communicate(timeout=30)
        rc, err = rec.stop(settle=SETTLE_S)
    assert r.returncode == 0, r.stderr
    assert rc == 0, err
    made = json.loads(r.stdout)
    assert len(made) == 28
    assert "\n0 packets dropped by kernel" in dump_err, dump_err

    for seed in (0, SEED):
        flows = suricata_flows(pcap, str(tmp_path / ("eve%d" % seed)), seed)
        opt = ("--community-id-seed", str(seed)) if seed else ()
        rows = query([cap], "SELECT proto, family, laddr, lport, raddr, rport, direction, "
                     "community_id FROM connections WHERE netns = %d" % ino, *opt)
        compared = skipped = 0
        for proto, fam, caddr, cport, saddr, sport, how in made:
            srv_end = (ipaddress.ip_address(saddr), sport)
            theirs = [(ends, cid) for (p, ends), cid in flows.items()
                      if p == proto and srv_end in ends and
                      any(port == cport for _, port in ends - {srv_end})]
            assert len(theirs) == 1, ("Suricata's flows", proto, caddr, cport, saddr, sport,
                                      sorted(flows))
            ends, theirs = theirs[0]
            (cip, _), = ends - {srv_end}
            spec = community_id(seed, 6 if proto == "tcp" else 17, cip, cport, saddr, sport)
            srv = [r for r in rows if r["proto"] == proto and r["family"] == fam and
                   r["lport"] == sport and r["rport"] == cport]
            cli = [r for r in rows if r["proto"] == proto and r["family"] == fam and
                   r["lport"] == cport and r["rport"] == sport]
            what = (seed, proto, how, str(cip), cport, saddr, sport, theirs, srv, cli)
            assert len(srv) == 1 and len(cli) == 1, what
            assert srv[0]["community_id"] == spec, what
            # an unbound sender's socket has the wildcard address, but UDP is counted per
            # datagram (the default mode), and the datagram names the address it left from
            assert cli[0]["laddr"] == str(cip) and cli[0]["community_id"] == spec, what
            if swapped_port_order(cip, cport, srv_end[0], sport):
                skipped += 1
            else:
                assert theirs == spec, what
                compared += 1
        # every flow between two addresses, and the one-address ones Suricata orders alike
        assert compared >= 14 and compared + skipped == len(made), (compared, skipped)
        # no other row of the namespace carries an ID that is not the hash of its endpoints
        for r in rows:
            if r["community_id"] is not None:
                assert r["community_id"] == community_id(
                    seed, 6 if r["proto"] == "tcp" else 17, r["laddr"], r["lport"], r["raddr"],
                    r["rport"]), r
