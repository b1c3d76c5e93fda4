"""Black-box tests of anonymized copies: tcptop-replay FILE --anonymize KEY -o OUT.tt.

Oracles: the format's independent Python reader (tests/pyreader/ttcap.py) reading the
original and the copy event by event, and the decompressed bytes of every block (the file
is zstd-compressed: grepping only the raw file would prove little); prefix lengths
computed here with ipaddress; tcptop-query and tcptop-replay run on the copy. A synthetic
capture from test_format gen covers every kind; with root and BPF, a real recording of
loopback and of a veth pair between two network namespaces made here.
"""
import csv
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "pyreader"))
from conftest import free_port, needs_bpf, needs_cmd, run, tool  # noqa: E402
from helpers.netns import veth_pair  # noqa: E402
import ttcap  # noqa: E402

OPEN, PROC_KINDS = 1, (8, 9, 10, 11)
KEY = bytes(range(1, 33))           # fixed keys: the tests are deterministic
KEY_HEX = "a3" * 16 + "5c" * 16
TOKEN = re.compile(r"^c-[0-9a-f]{8}$")


def gen(path, n=6000):
    r = run([tool("tests/test_format"), "gen", path, str(n)])
    assert r.returncode == 0, r.stderr
    return path


def keyfile(tmp, name="key", data=KEY):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def anonymize(srcs, out, key, *extra):
    srcs = [srcs] if isinstance(srcs, str) else srcs
    r = run([tool("tcptop-replay")] + srcs + ["--anonymize", key, "-o", out] + list(extra))
    assert r.returncode == 0, r.stderr
    return ttcap.read(out)


def blocks_content(path):
    """The file's bytes plus every block payload, EVENTS blocks decompressed."""
    with open(path, "rb") as f:
        data = f.read()
    parts, off = [data], 16
    while off < len(data):
        btype, payload = ttcap.check_block(data, off)
        assert btype is not None, "damaged block at %d in %s" % (off, path)
        payload = bytes(payload)
        if btype == ttcap.EVENTS:
            raw_len = int.from_bytes(payload[20:24], "little")
            parts.append(zstandard.ZstdDecompressor().decompress(payload[24:],
                                                                 max_output_size=raw_len))
        else:
            parts.append(payload)
        off += len(payload) + 20
    return b"\n".join(parts)


def addr(family, hexstr):
    b = bytes.fromhex(hexstr)
    if family == 4:
        return ipaddress.IPv4Address(b[:4])
    return ipaddress.IPv6Address(b)


def common_prefix(a, b):
    bits = a.max_prefixlen
    x = int(a) ^ int(b)
    return bits - x.bit_length()


def mapping(orig, anon):
    """Pairs the two captures event by event: checks every field that must stay, returns
    {original address: anonymized address} and {original comm: token}."""
    assert len(orig.events) == len(anon.events) > 0
    addrs, comms = {}, {}
    for o, a in zip(orig.events, anon.events):
        same = {k: v for k, v in o.items() if k not in ("laddr", "raddr", "comm")}
        assert same == {k: v for k, v in a.items() if k not in ("laddr", "raddr", "comm")}
        if o["kind"] == OPEN:
            fam = 4 if o["family"] == 4 else 6
            for f in ("laddr", "raddr"):
                oa, aa = addr(fam, o[f]), addr(fam, a[f])
                if int(oa) == 0:
                    assert int(aa) == 0, "the zero address means none and stays zero"
                    continue
                assert addrs.setdefault(oa, aa) == aa, "%s mapped two ways" % oa
        if "comm" in o:
            comms.setdefault(o["comm"], set()).add(a["comm"])
    return addrs, comms


def check_prefixes(addrs):
    """Every pair of addresses of a family shares as many leading bits after as before."""
    pairs = 0
    for fam in (4, 6):
        items = [(o, a) for o, a in addrs.items() if o.version == fam]
        for i, (o1, a1) in enumerate(items):
            for o2, a2 in items[i + 1:]:
                assert common_prefix(o1, o2) == common_prefix(a1, a2), (o1, o2, a1, a2)
                pairs += 1
    return pairs


def check_absent(path, addrs, names, header_texts=()):
    """No original address or name in the file or in any decompressed block, looked for
    as stored (a length byte, then the bytes: a 4-byte pattern alone would also match
    unrelated columns), nor in the dump's JSON strings; header_texts anywhere at all."""
    content = blocks_content(path)
    for o in addrs:
        packed = o.packed
        assert bytes([len(packed)]) + packed not in content, "%s found in %s" % (o, path)
        assert str(o).encode() not in content
    for n in names:
        raw = n.encode("latin-1")[:16]
        assert bytes([len(raw)]) + raw not in content, "%r found in %s" % (n, path)
    for t in header_texts:
        assert t.encode() not in content, "%r found in %s" % (t, path)
    out = run([tool("tcptop-replay"), "--dump", "--json", path])
    assert out.returncode == 0, out.stderr
    for o in addrs:
        assert '"%s"' % o not in out.stdout
    for n in list(names) + list(header_texts):
        assert json.dumps(n) not in out.stdout, n


# ------------------------------------------------------------------ a capture written here

def _varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _zz(x):
    return ((x << 1) ^ (x >> 63)) & ttcap.U64


def _tlv(tag, val):
    return struct.pack("<HH", tag, len(val)) + val


def _payload(e):
    """The kind's fields in docs/FORMAT.md order (varints, or length-prefixed bytes)."""
    out = bytearray()
    for name, typ, size in ttcap.KINDS[e["kind"]]:
        v = e.get(name, 0 if typ not in ("h", "s") else b"")
        if typ in ("h", "s"):
            out += _varint(len(v)) + v
        elif typ == "z32":
            out += _varint(_zz(v))
        else:
            out += _varint(v)
    return bytes(out)


OFFSET = 1764000000 * 10**9 - 100 * 10**9   # wall = event clock + OFFSET
T0 = 1764000000 * 10**9                      # wall time the capture starts


def write_capture(path, header, events, per_block=500):
    """A capture from docs/FORMAT.md alone (ttcap's block framing): events are dicts with
    wall ts and the ttcap field names; addresses as 16 bytes, comm as bytes."""
    tags = [(1, "hostname"), (2, "kernel"), (3, "boot_id"), (4, "tool_version"), (5, "mode"),
            (7, "filters"), (8, "probes"), (10, "clock")]
    head = b"".join(_tlv(t, header[n].encode()) for t, n in tags)
    head += _tlv(6, struct.pack("<I", 1000)) + _tlv(9, struct.pack("<q", OFFSET))
    head += _tlv(11, struct.pack("<Q", T0))
    data = bytearray(ttcap.preamble() + ttcap.block(ttcap.HEADER, head))
    nblocks = 0
    for i in range(0, len(events), per_block):
        chunk = events[i:i + per_block]
        streams = [bytearray() for _ in range(7)]
        pts = pconn = ppid = 0
        for e in chunk:
            ts = e["ts"] - OFFSET
            streams[0] += _varint(e["kind"])
            streams[1] += _varint(e.get("flags", 0))
            streams[2] += _varint(_zz(ts - pts))
            streams[3] += _varint(_zz(e["conn_id"] - pconn))
            streams[4] += _varint(_zz(e["pid"] - ppid))
            streams[5] += _varint(_zz(e.get("tid", e["pid"]) - e["pid"]))
            p = _payload(e)
            streams[6] += _varint(len(p)) + p
            pts, pconn, ppid = ts, e["conn_id"], e["pid"]
        raw = struct.pack("<8I", 7, *(len(x) for x in streams)) + b"".join(streams)
        tss = [e["ts"] - OFFSET for e in chunk]
        data += ttcap.block(ttcap.EVENTS, struct.pack("<IQQI", len(chunk), min(tss), max(tss),
                                                       len(raw)) +
                            zstandard.ZstdCompressor().compress(raw))
        nblocks += 1
    data += ttcap.block(ttcap.END, _tlv(1, struct.pack("<Q", len(events))) +
                        _tlv(2, struct.pack("<Q", nblocks)) + _tlv(3, struct.pack("<Q", 0)))
    with open(path, "wb") as f:
        f.write(data)
    return path


SCENARIO_HEADER = {
    "hostname": "web-17.corp.example", "kernel": "6.18.0-1-amd64",
    "boot_id": "5b0e3c5e-8a51-4d7c-9b7a-2f0d5e1c9a44", "tool_version": "0.1.0",
    "mode": "coalesce", "probes": "tp_btf:sock/inet_sock_set_state", "clock": "boottime",
    "filters": "port=443,8443 comm=nginx,haproxy tcp "
               "cgroup=/sys/fs/cgroup/system.slice/nginx.service",
}
SCENARIO_COMMS = ["nginx", "haproxy", "postgres", "redis-server"]


def scenario(path, conns=160, secs=10):
    """A front end over 10 s: clients from four /24s of 10.20.0.0/16 and two IPv6 /64s, each
    connection opened, sending every half second, closed; process names by exec. In time
    order, as a recorder writes it."""
    S = 10**9
    evs = []
    for pid, name in enumerate(SCENARIO_COMMS, 4000):
        evs.append({"ts": T0, "conn_id": 0, "pid": pid, "kind": 9, "comm": name.encode(),
                    "ppid": 1})
    for i in range(conns):
        t0 = T0 + (i * S * secs // 2) // conns
        pid = 4000 + i % len(SCENARIO_COMMS)
        if i % 5 == 4:
            fam, la = 6, ipaddress.IPv6Address("2001:db8:50::10").packed
            ra = ipaddress.IPv6Address("2001:db8:77:%x::%x" % (i % 2, i + 1)).packed
        else:
            fam, la = 4, ipaddress.IPv4Address("192.168.50.10").packed + bytes(12)
            ra = ipaddress.IPv4Address("10.20.%d.%d" % (i % 4, i + 1)).packed + bytes(12)
        cid = 0x5000 + i * 3
        evs.append({"ts": t0, "conn_id": cid, "pid": pid, "kind": OPEN, "family": fam,
                    "proto": 6, "direction": 2, "state": 1, "lport": 443,
                    "rport": 30000 + i, "netns": 4026531840, "cgroup_id": 77,
                    "laddr": la, "raddr": ra,
                    "comm": SCENARIO_COMMS[i % len(SCENARIO_COMMS)].encode()})
        n = 2 + i % 9
        for k in range(1, n + 1):
            evs.append({"ts": t0 + k * S // 2, "conn_id": cid, "pid": pid, "kind": 2,
                        "tx_bytes": 1000 * (i + 1) + k, "rx_bytes": 300 + k, "tx_pkts": 2,
                        "rx_pkts": 1, "tx_calls": 1, "rx_calls": 1})
        evs.append({"ts": t0 + (n + 1) * S // 2, "conn_id": cid, "pid": pid, "kind": 7,
                    "tx_bytes": sum(1000 * (i + 1) + k for k in range(1, n + 1)),
                    "rx_bytes": sum(300 + k for k in range(1, n + 1)), "tx_pkts": 2 * n,
                    "rx_pkts": n, "state": 7})
    evs.sort(key=lambda e: e["ts"])
    return write_capture(path, SCENARIO_HEADER, evs)


# ------------------------------------------------------------------ synthetic captures

def test_synthetic_capture(tmpdir_path):
    src = gen(os.path.join(tmpdir_path, "g.tt"))
    out = os.path.join(tmpdir_path, "a.tt")
    orig = ttcap.read(src)
    anon = anonymize(src, out, keyfile(tmpdir_path), "--anonymize-comm")
    assert not anon.warnings
    addrs, comms = mapping(orig, anon)
    v4 = [o for o in addrs if o.version == 4]
    v6 = [o for o in addrs if o.version == 6]
    assert len(v4) > 50 and len(v6) > 50
    assert len(set(addrs.values())) == len(addrs), "two addresses mapped to one"
    assert not set(addrs) & set(addrs.values())
    assert check_prefixes(addrs) > 5000
    # subnets stay subnets: the 10.0.X.2 addresses all keep a common /16, the ::1 stays one
    assert len({int(addrs[o]) >> 16 for o in v4 if str(o).startswith("10.0.")}) == 1
    # comms: each name one token, different names different tokens, none left
    names = [c for c in comms if c]
    assert names and all(len(comms[c]) == 1 for c in comms)
    assert all(TOKEN.match(t) for c in names for t in comms[c])
    assert len({t for c in names for t in comms[c]}) == len(names)
    assert comms.get("", {""}) == {""}
    # header: host fields hashed, the rest as it was
    h, oh = anon.header, orig.header
    assert re.match(r"^h-[0-9a-f]{12}$", h["hostname"])
    assert re.match(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", h["boot_id"])
    for k in ("kernel", "probes", "mode", "clock", "clock_offset_ns", "tool_version",
              "filters"):
        assert h[k] == oh[k], k
    check_absent(out, addrs, names, [oh["hostname"], oh["boot_id"]])


def test_without_comm_flag_names_stay(tmpdir_path):
    src = gen(os.path.join(tmpdir_path, "g.tt"), 2000)
    orig = ttcap.read(src)
    anon = anonymize(src, os.path.join(tmpdir_path, "a.tt"), keyfile(tmpdir_path))
    addrs, comms = mapping(orig, anon)
    assert addrs and all(comms[c] == {c} for c in comms)
    assert anon.header["hostname"] != orig.header["hostname"]


def test_same_key_same_copy_other_key_other_mapping(tmpdir_path):
    src = gen(os.path.join(tmpdir_path, "g.tt"), 3000)
    outs = [os.path.join(tmpdir_path, n) for n in ("a1.tt", "a2.tt", "a3.tt", "b.tt")]
    raw = keyfile(tmpdir_path, "raw", bytes.fromhex(KEY_HEX))
    hexk = keyfile(tmpdir_path, "hex", (KEY_HEX.upper() + "\n").encode())
    other = keyfile(tmpdir_path)
    caps = [anonymize(src, outs[0], raw, "--anonymize-comm"),
            anonymize(src, outs[1], raw, "--anonymize-comm"),
            anonymize(src, outs[2], hexk, "--anonymize-comm"),
            anonymize(src, outs[3], other, "--anonymize-comm")]
    data = [open(p, "rb").read() for p in outs]
    assert data[0] == data[1], "two runs with one key differ"
    assert data[0] == data[2], "the hex form of a key is not the same key"
    orig = ttcap.read(src)
    m1, c1 = mapping(orig, caps[0])
    m2, c2 = mapping(orig, caps[3])
    assert m1.keys() == m2.keys()
    assert all(m1[o] != m2[o] for o in m1)
    assert all(c1[c] != c2[c] for c in c1 if c)
    assert caps[0].header["hostname"] != caps[3].header["hostname"]


def test_written_scenario_and_filters_text(tmpdir_path):
    src = scenario(os.path.join(tmpdir_path, "s.tt"))
    orig = ttcap.read(src)
    assert not orig.warnings and orig.header["filters"] == SCENARIO_HEADER["filters"]
    out = os.path.join(tmpdir_path, "a.tt")
    anon = anonymize(src, out, keyfile(tmpdir_path), "--anonymize-comm")
    addrs, comms = mapping(orig, anon)
    assert len(addrs) == 2 + 160
    check_prefixes(addrs)
    # the four /24s stay four /24s of one /16, the two /64s two /64s of one /63
    v4 = {o: a for o, a in addrs.items() if str(o).startswith("10.20.")}
    assert len({int(a) >> 8 for a in v4.values()}) == 4
    assert len({int(a) >> 16 for a in v4.values()}) == 1
    v6 = {o: a for o, a in addrs.items() if str(o).startswith("2001:db8:77:")}
    assert len({int(a) >> 64 for a in v6.values()}) == 2
    assert len({int(a) >> 65 for a in v6.values()}) == 1
    # the filters text names the same tokens as the events
    tok = {c: comms[c].pop() for c in SCENARIO_COMMS}
    f = anon.header["filters"]
    assert f.startswith("port=443,8443 comm=%s,%s tcp cgroup=g-" % (tok["nginx"],
                                                                  tok["haproxy"])), f
    assert re.match(r"^g-[0-9a-f]{12}$", f.split("cgroup=")[1])
    check_absent(out, addrs, SCENARIO_COMMS,
                 [SCENARIO_HEADER[k] for k in ("hostname", "boot_id")] +
                 ["system.slice", "nginx", "haproxy"])
    # without --anonymize-comm names stay, in the header too
    plain = anonymize(src, os.path.join(tmpdir_path, "b.tt"), keyfile(tmpdir_path))
    assert plain.header["filters"] == SCENARIO_HEADER["filters"]
    assert plain.header["hostname"] == anon.header["hostname"]


def test_from_to_and_filters(tmpdir_path):
    """A cut anonymized in one go equals the anonymized copy of the plain cut: the
    connections reopened at --from go through the anonymizer too."""
    src = scenario(os.path.join(tmpdir_path, "s.tt"))
    key = keyfile(tmpdir_path)
    cut = os.path.join(tmpdir_path, "cut.tt")
    r = run([tool("tcptop-replay"), src, "--from", "+3s", "--to", "+6s", "-o", cut])
    assert r.returncode == 0, r.stderr
    one = anonymize(src, os.path.join(tmpdir_path, "one.tt"), key, "--anonymize-comm",
                    "--from", "+3s", "--to", "+6s")
    two = anonymize(cut, os.path.join(tmpdir_path, "two.tt"), key, "--anonymize-comm")
    plain = ttcap.read(cut)
    assert sum(e["kind"] == OPEN and e["flags"] & 1 for e in plain.events) > 10
    assert one.events == two.events
    assert one.header["hostname"] == two.header["hostname"]
    addrs, _ = mapping(plain, one)
    # the reopened connections map as they do in the whole capture
    whole, _ = mapping(ttcap.read(src), anonymize(src, os.path.join(tmpdir_path, "w.tt"), key))
    assert addrs and all(whole[o] == a for o, a in addrs.items())
    check_absent(os.path.join(tmpdir_path, "one.tt"), addrs, SCENARIO_COMMS,
                 [SCENARIO_HEADER["hostname"]])
    # with a filter: still a readable copy, still nothing original
    out = os.path.join(tmpdir_path, "f.tt")
    anonymize(src, out, key, "--anonymize-comm", "-c", "nginx", "--tcp")
    check_absent(out, whole, SCENARIO_COMMS, [SCENARIO_HEADER["hostname"]])


def test_replays_and_queries(tmpdir_path):
    src = gen(os.path.join(tmpdir_path, "g.tt"), 4000)
    out = os.path.join(tmpdir_path, "a.tt")
    anon = anonymize(src, out, keyfile(tmpdir_path), "--anonymize-comm")
    addrs, comms = mapping(ttcap.read(src), anon)
    # per-connection numbers: identical; addresses: the mapped ones
    q = ("SELECT id, proto, family, laddr, lport, raddr, rport, tx_bytes, rx_bytes, "
         "tx_packets, rx_packets, retransmits, resets, pid, comm FROM connections ORDER BY id")
    rows = []
    for path in (src, out):
        r = run([tool("tcptop-query"), "-F", "jsonl", "--no-progress", path, q])
        assert r.returncode == 0, r.stderr
        rows.append([json.loads(x) for x in r.stdout.splitlines()])
    assert len(rows[0]) == len(rows[1]) > 100
    by_text = {str(o): str(a) for o, a in addrs.items()}
    checked = named = 0
    for o, a in zip(*rows):
        for k in ("id", "proto", "family", "lport", "rport", "tx_bytes", "rx_bytes",
                  "tx_packets", "rx_packets", "retransmits", "resets", "pid"):
            assert o[k] == a[k], k
        for k in ("laddr", "raddr"):
            if o[k] in by_text:
                assert a[k] == by_text[o[k]]
                checked += 1
        if o["comm"] in comms and o["comm"]:
            assert a["comm"] in comms[o["comm"]]
            named += 1
    assert checked > 200 and named > 100
    # the replay's final snapshot: the same rows but for names and addresses
    snaps = []
    for path in (src, out):
        csv_path = os.path.join(tmpdir_path, os.path.basename(path) + ".csv")
        r = run([tool("tcptop-replay"), "--batch", "--csv", csv_path, path])
        assert r.returncode == 0, r.stderr
        with open(csv_path, newline="", encoding="latin-1") as f:
            snaps.append(sorted((d["conn_id"], d["pid"], d["proto"], d["lport"], d["rport"],
                                 d["tx_bytes"], d["rx_bytes"], d["state"])
                                for d in csv.DictReader(f)))
    assert snaps[0] == snaps[1] and len(snaps[0]) > 100


def test_fleet_groups_by_host(tmpdir_path):
    """Two captures of one host anonymized apart, one of another: two hosts in a query."""
    key = keyfile(tmpdir_path)
    a = gen(os.path.join(tmpdir_path, "a.tt"), 500)
    b = gen(os.path.join(tmpdir_path, "b.tt"), 700)
    outs = [os.path.join(tmpdir_path, n) for n in ("a1.tt", "b1.tt")]
    anonymize(a, outs[0], key)
    anonymize(b, outs[1], key)
    r = run([tool("tcptop-query"), "-F", "csv", "--no-header", "--no-progress"] + outs +
            ["SELECT host, count(*) FROM capture GROUP BY host"])
    assert r.returncode == 0, r.stderr
    rows = r.stdout.split()
    assert len(rows) == 1 and rows[0].startswith("h-") and rows[0].endswith(",2"), rows


@pytest.mark.parametrize("args,msg", [
    (["--anonymize", "KEY"], "give it -o"),
    (["--anonymize-comm", "-o", "OUT"], "goes with --anonymize"),
    (["--anonymize", "/nonexistent/key", "-o", "OUT"], "No such file"),
    (["--anonymize", "SHORT", "-o", "OUT"], "32 bytes or 64 hex digits"),
    (["--anonymize", "DIR", "-o", "OUT"], "Is a directory"),
])
def test_usage_errors(tmpdir_path, args, msg):
    src = gen(os.path.join(tmpdir_path, "g.tt"), 100)
    keyfile(tmpdir_path, "KEY")
    keyfile(tmpdir_path, "SHORT", b"0123456789abcdef\n")
    os.mkdir(os.path.join(tmpdir_path, "DIR"))
    args = [os.path.join(tmpdir_path, a) if a in ("KEY", "SHORT", "DIR", "OUT") else a
            for a in args]
    r = run([tool("tcptop-replay"), src] + args)
    assert r.returncode == 2
    assert msg in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not os.path.exists(os.path.join(tmpdir_path, "OUT"))


# ------------------------------------------------------------------ a real recording

needs_real = needs_bpf


@pytest.fixture
def veth_netns():
    """Namespaces a and b joined by a veth pair: 10.213.7.1/24, fd13:7::1/64 in a, .2/::2 in b."""
    with veth_pair("10.213.7", "tth5", net6="fd13:7") as pair:
        yield pair


# One process per namespace: a server accepting N connections, a client making them.
SERVER = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print("ready", flush=True)
for _ in range(int(sys.argv[3])):
    c, _ = s.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(b"k" * 777); c.close()
"""
CLIENT = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
for _ in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    c.sendall(b"x" * 54321); c.shutdown(socket.SHUT_WR)
    while c.recv(65536): pass
    c.close()
"""


def exchange(host, port, n, server_ns=None, client_ns=None):
    pre = lambda ns: ["ip", "netns", "exec", ns] if ns else []  # noqa: E731
    srv = subprocess.Popen(pre(server_ns) + ["/usr/bin/python3", "-c", SERVER, host, str(port),
                                             str(n)], stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        r = run(pre(client_ns) + ["/usr/bin/python3", "-c", CLIENT, host, str(port), str(n)])
        assert r.returncode == 0, r.stderr
        srv.wait(timeout=30)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


@needs_real
@needs_cmd("ip")
def test_real_recording(tmpdir_path, veth_netns):
    a, b = veth_netns
    cap = os.path.join(tmpdir_path, "cap.tt")
    rec = subprocess.Popen([tool("tcptop-record"), "-o", cap], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        while not (os.path.exists(cap) and os.path.getsize(cap) > 0):
            assert rec.poll() is None and time.time() < deadline, "recorder not ready"
            time.sleep(0.05)
        ports = [free_port(), free_port(socket.AF_INET6), 20000 + os.getpid() % 20000]
        exchange("127.0.0.1", ports[0], 3)
        exchange("::1", ports[1], 3)
        exchange("10.213.7.2", ports[2], 3, server_ns=b, client_ns=a)
        exchange("fd13:7::2", ports[2] + 1, 3, server_ns=b, client_ns=a)
        time.sleep(1.2)
    finally:
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, err

    out = os.path.join(tmpdir_path, "anon.tt")
    orig = ttcap.read(cap)
    anon = anonymize(cap, out, keyfile(tmpdir_path), "--anonymize-comm")
    addrs, comms = mapping(orig, anon)
    ours = [ipaddress.ip_address(x) for x in
            ("127.0.0.1", "::1", "10.213.7.1", "10.213.7.2", "fd13:7::1", "fd13:7::2")]
    for o in ours:
        assert o in addrs, "%s not recorded" % o
    assert common_prefix(addrs[ours[2]], addrs[ours[3]]) == 30
    assert common_prefix(addrs[ours[4]], addrs[ours[5]]) == 126
    check_prefixes(addrs)
    # ports and byte counters of our connections as the oracle (the test programs) knows them
    conns = {}
    for e in anon.events:
        if e["kind"] == OPEN and e["lport"] in ports + [ports[2] + 1]:
            conns[e["conn_id"]] = e
    rx = {}
    for e in anon.events:
        if e["conn_id"] in conns and e["kind"] == 2:
            rx[e["conn_id"]] = rx.get(e["conn_id"], 0) + e["rx_bytes"]
    assert len(conns) >= 12 and sorted(set(rx.values())) == [54321]
    assert all(TOKEN.match(t) for c in comms if c for t in comms[c])
    assert "python3" in comms
    assert anon.header["hostname"] != orig.header["hostname"]
    assert re.match(r"^h-[0-9a-f]{12}$", anon.header["hostname"])
    assert orig.header["boot_id"] and anon.header["boot_id"] != orig.header["boot_id"]
    check_absent(out, addrs, [c for c in comms if c], [orig.header["boot_id"]])
    # and the copy replays
    r = run([tool("tcptop-replay"), "--batch", "-n", "1", out])
    assert r.returncode == 0 and "10.213.7" not in r.stdout and "127.0.0.1" not in r.stdout
