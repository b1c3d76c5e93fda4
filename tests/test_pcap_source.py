"""The pcap source (source/pcapsrc.c, source/pcap_flow.c): tcptop-record --source pcap:FILE
turns a tcpdump capture into a tcptop capture, which tcptop-query and tcptop-replay read.

Oracles, on real traffic between two namespaces made here (two addresses, so that Suricata
orders the ends right): the client's and the server's own counts of what each sent (every
payload byte), Suricata's eve.json flow records of the same pcap (packets each way, a flow
per connection), and the client namespace's TcpRetransSegs (nstat) for the segments that
nftables dropped on the server's input. Without root: pcaps written here byte by byte, for
the command line's errors and a pcap cut short.
"""
import ipaddress
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import background, needs_cmd, needs_root, run, tool
from helpers.netns import nstat, veth_dev, veth_pair
from helpers.suricata import eve_flows
from helpers.traffic import wait_listen

RECORD, QUERY, REPLAY = tool("tcptop-record"), tool("tcptop-query"), tool("tcptop-replay")
NET, NET6 = "10.214.31", "fd31:214"
PORT, UDP_PORT, CLOSED_PORT = 5501, 5502, 5503
MSG = 777  # the paced connection's message size; nftables drops every other one once

# Answers each TCP connection: reads "N M [P]\n", sleeps P s if given (its window closes: the
# client's sends fill its buffer), reads N bytes, sends M bytes, then reads to EOF (the
# client's FIN) and closes. Each UDP datagram gets one of twice its size back. Prints
# what it received and sent per client port as JSON at SIGTERM.
SERVER = r"""
import json, signal, socket, sys, threading, time
port, uport = int(sys.argv[1]), int(sys.argv[2])
seen = {}
def conn(c, addr):
    f = c.makefile("rb")
    line = f.readline()
    n, m, *pause = line.split()
    n, m = int(n), int(m)
    if pause:
        t0 = time.time(); time.sleep(float(pause[0]))
        seen["pause %s %d" % (addr[0], addr[1])] = [t0, time.time()]
    got = len(line) + (len(f.read(n)) if n else 0)
    c.sendall(b"s" * m)
    while True:
        b = f.read1(65536)
        if not b:
            break
        got += len(b)
    seen["tcp %s %d" % (addr[0], addr[1])] = [got, m]
    c.close()
def tcp(fam, host):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port)); s.listen(16)
    while True:
        c, addr = s.accept()
        threading.Thread(target=conn, args=(c, addr), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", uport))
def udp():
    while True:
        b, addr = u.recvfrom(65536)
        k = "udp %s %d" % addr
        seen.setdefault(k, [0, 0]); seen[k][0] += len(b); seen[k][1] += 2 * len(b)
        u.sendto(b"u" * (2 * len(b)), addr)
for a in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=tcp, args=a, daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
def done(*_):
    print(json.dumps(seen), flush=True); sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("up", flush=True)
signal.pause()
"""

# The client: connections of known sizes, a paced one (MSG-byte messages 0.3 s apart, their
# times kept), one refused (from a port of its choosing: a socket whose connect failed may
# forget its own), UDP datagrams. Prints JSON: per connection its ends, what it sent and
# received, and the paced one's send times.
CLIENT = r"""
import json, socket, sys, time
host, host6, port, uport, closed, msg, me = sys.argv[1:8]
port, uport, closed, msg = int(port), int(uport), int(closed), int(msg)
out = []
def one(h, n, m, fam=socket.AF_INET, pause=b""):
    s = socket.socket(fam); s.connect((h, port))
    hdr = b"%d %d%s\n" % (n, m, pause)
    s.sendall(hdr + b"c" * n)
    got = 0
    while got < m:
        got += len(s.recv(65536))
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    out.append({"proto": "tcp", "l": list(s.getsockname()[:2]), "sent": len(hdr) + n,
                "recv": got}); s.close()
one(host, 100000, 5000)
one(host, 0, 70000)
one(host6, 20000, 30000, socket.AF_INET6)
# paced: 8 messages 0.3 s apart
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.connect((host, port))
hdr = b"%d 0\n" % (8 * msg)
s.sendall(hdr); sent, times = len(hdr), []
for i in range(8):
    s.sendall(b"p" * msg); sent += msg; times.append([time.time(), sent])
    time.sleep(0.3)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
out.append({"proto": "tcp", "l": list(s.getsockname()[:2]), "sent": sent, "recv": 0,
            "paced": times}); s.close()
r = socket.socket(); r.bind((me, 46001))
try:
    r.connect((host, closed)); refused = False
except ConnectionRefusedError:
    refused = True
out.append({"proto": "tcp", "l": list(r.getsockname()[:2]), "sent": 0, "recv": 0,
            "refused": refused})
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect((host, uport))
got = 0
for i in range(5):
    u.send(b"d" * 300); got += len(u.recv(65536))
out.append({"proto": "udp", "l": list(u.getsockname()[:2]), "sent": 1500, "recv": got})
# the server reads nothing for 1.5 s: its window closes while 2 MB wait
one(host, 2000000, 0, pause=b" 1.5")
print(json.dumps(out))
"""


def query(cap, sql):
    r = run([QUERY, "--no-progress", "-F", "json", cap, sql])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@needs_root
@needs_cmd("tcpdump", "suricata", "nft", "ip", "nstat")
def test_a_tcpdump_capture_recorded_as_connections(tmp_path):
    """Every connection of the pcap, with the bytes each end said it sent, the packets
    Suricata counted each way, the retransmits the client's kernel counted, the refused
    connection's failure, the paced one's traffic told every second while it was open, and
    the zero-window stall of the one whose server paused reading."""
    pcap, cap = str(tmp_path / "t.pcap"), str(tmp_path / "t.tt")
    with veth_pair(NET, "ttpc", NET6) as (a, b):
        # every other MSG-byte data segment to the server is dropped on its input, so each
        # message is sent twice (once dropped, once through)
        drop = ("table inet tt_pcap {\n chain c {\n  type filter hook input priority 0;\n"
                "  tcp dport %d ip length %d numgen inc mod 2 == 0 drop\n }\n}\n"
                % (PORT, MSG + 20 + 32))
        r = subprocess.run(["ip", "netns", "exec", b, "nft", "-f", "-"], input=drop, text=True,
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        srv = background(subprocess.Popen(
            ["ip", "netns", "exec", b, sys.executable, "-c", SERVER, str(PORT), str(UDP_PORT)],
            stdout=subprocess.PIPE, text=True))
        assert srv.stdout.readline().strip() == "up"
        wait_listen(PORT, b)
        # on the client's end of the pair: what it sent, including what the server dropped
        dump = background(subprocess.Popen(
            ["ip", "netns", "exec", a, "tcpdump", "-i", veth_dev("ttpc"), "-n", "-B", "32768",
             "--immediate-mode", "-U", "-w", pcap], stderr=subprocess.PIPE, text=True))
        assert "listening on" in dump.stderr.readline()
        before = nstat(a)
        cl = run(["ip", "netns", "exec", a, sys.executable, "-c", CLIENT, NET + ".2",
                  NET6 + "::2", str(PORT), str(UDP_PORT), str(CLOSED_PORT), str(MSG),
                  NET + ".1"],
                 timeout=60)
        assert cl.returncode == 0, cl.stderr
        time.sleep(0.5)
        retrans = nstat(a).get("TcpRetransSegs", 0) - before.get("TcpRetransSegs", 0)
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
        srv.send_signal(signal.SIGTERM)
        served = json.loads(srv.communicate(timeout=10)[0])
    made = json.loads(cl.stdout)
    assert made[4].get("refused"), made

    r = run([RECORD, "--source", "pcap:" + pcap, "-o", cap])
    assert r.returncode == 0, r.stderr
    assert "missing process (a packet capture)" in r.stderr
    rows = query(cap, "SELECT id, proto, family, laddr, lport, raddr, rport, direction, "
                      "tx_bytes, rx_bytes, tx_packets, rx_packets, retransmits, fail_reason, "
                      "closed, rtt_us, connect_us, pid FROM connections")
    by_end = {(c["proto"], c["laddr"], c["lport"]): c for c in rows}
    assert len(rows) == len(made), rows
    flows = {}
    for e in eve_flows(pcap, str(tmp_path / "eve")):
        if e["proto"] not in ("TCP", "UDP"):
            continue  # IPv6 neighbour discovery: no connection
        ends = frozenset({(ipaddress.ip_address(e["src_ip"]), e["src_port"]),
                          (ipaddress.ip_address(e["dest_ip"]), e["dest_port"])})
        flows[(e["proto"].lower(), ends)] = e
    assert len(flows) == len(made), sorted(flows)
    for m in made:
        c = by_end[(m["proto"], m["l"][0], m["l"][1])]
        assert c["tx_bytes"] == m["sent"] and c["rx_bytes"] == m["recv"], (m, c)
        if not m.get("refused"):
            theirs = served["%s %s %d" % (m["proto"], m["l"][0], m["l"][1])]
            assert [c["tx_bytes"], c["rx_bytes"]] == theirs, (m, c, theirs)
        ends = frozenset({(ipaddress.ip_address(c["laddr"]), c["lport"]),
                          (ipaddress.ip_address(c["raddr"]), c["rport"])})
        f = flows[(m["proto"], ends)]["flow"]
        assert [c["tx_packets"], c["rx_packets"]] == [f["pkts_toserver"], f["pkts_toclient"]], \
            (m, c, f)
        assert c["pid"] is None
        if m["proto"] == "tcp" and not m.get("refused"):
            assert c["direction"] == "out" and c["closed"] == 1 and c["fail_reason"] is None
            assert c["connect_us"] is not None and c["rtt_us"] > 0, c
    # the stalled one: the server's window was zero from soon after its pause began (the client
    # filled it) to its end; nothing else stalled
    stalled = made[6]
    t0, t1 = served["pause %s %d" % tuple(stalled["l"])]
    zw = query(cap, "SELECT lport, zero_window_ms FROM connections WHERE zero_window_ms > 0")
    assert len(zw) == 1 and zw[0]["lport"] == stalled["l"][1], zw
    assert (t1 - t0) * 1000 - 500 <= zw[0]["zero_window_ms"] <= (t1 - t0) * 1000 + 50, \
        (zw, t1 - t0)
    sides = query(cap, "SELECT side FROM stalls")
    assert [r["side"] for r in sides] == ["peer"], sides
    refused = by_end[("tcp", made[4]["l"][0], made[4]["l"][1])]
    assert refused["fail_reason"] == "refused" and refused["closed"] == 1, refused
    # each paced message was dropped once and sent again: the client's kernel counted them
    assert retrans >= 8
    assert sum(c["retransmits"] for c in rows) == retrans, (retrans, rows)

    # the paced connection, while open: at each tick of 1 s its traffic so far, between what
    # the client had sent a little before the tick and a little after it
    paced = made[3]
    pid = by_end[("tcp", paced["l"][0], paced["l"][1])]["id"]
    ticks = query(cap, "SELECT ts, tx_bytes FROM events WHERE kind = 'traffic' AND conn_id = %d "
                       "ORDER BY ts" % pid)
    assert len(ticks) >= 3, ticks
    total = 0
    for t in ticks[:-1]:
        total += t["tx_bytes"]
        at = t["ts"] / 1e9
        lo = max([s for ts, s in paced["paced"] if ts < at - 0.05] or [0])
        hi = max([s for ts, s in paced["paced"] if ts < at + 0.05] or [0])
        assert lo <= total <= hi, (t, total, lo, hi, paced)
    assert total + ticks[-1]["tx_bytes"] == paced["sent"]

    # tcptop-replay plays it as any capture
    r = run([REPLAY, "--dump", cap])
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" open ") == len(made) and " fail refused" in r.stdout


# ----------------------------------------------------- without root: pcaps written here

def pcap_file(path, packets, linktype=101, nano=False):
    """A pcap (libpcap's savefile: magic, v2.4, snaplen, linktype; a record per packet, its
    time given in ns)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d if nano else 0xa1b2c3d4, 2, 4, 0, 0,
                            65535, linktype))
        for ts, data in packets:
            sub = ts % 10**9 if nano else ts % 10**9 // 1000
            f.write(struct.pack("<IIII", ts // 10**9, sub, len(data), len(data)) + data)


def ipv4_tcp(src, dst, sport, dport, flags, seq, ack, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return ip + tcp + payload


def conversation(t0, ms=10**6):
    """A connection on raw IP: handshake, 1000 bytes out, 300 back, FIN, FIN, ACK, over 32
    "ms" (of ms ns each)."""
    c, s = ("192.0.2.1", 40000), ("192.0.2.2", 80)
    p = lambda fr, fl, seq, ack, pl=b"": ipv4_tcp(*(fr[0], (s if fr == c else c)[0]),  # noqa
                                                   fr[1], (s if fr == c else c)[1], fl, seq,
                                                   ack, pl)
    return [(t0, p(c, 0x02, 100, 0)), (t0 + ms, p(s, 0x12, 500, 101)),
            (t0 + 2 * ms, p(c, 0x10, 101, 501)), (t0 + 10 * ms, p(c, 0x18, 101, 501, b"x" * 1000)),
            (t0 + 20 * ms, p(s, 0x18, 501, 1101, b"y" * 300)), (t0 + 30 * ms, p(c, 0x11, 1101, 801)),
            (t0 + 31 * ms, p(s, 0x11, 801, 1102)), (t0 + 32 * ms, p(c, 0x10, 1102, 802))]


@pytest.mark.parametrize("nano", [False, True])
def test_a_written_pcap_without_root(tmp_path, nano):
    """A pcap made here (microsecond and nanosecond times), recorded by a user without
    root: the connection's totals, its times, the handshake; a capture needs no BPF."""
    pcap, cap = str(tmp_path / "w.pcap"), str(tmp_path / "w.tt")
    t0 = 1767225600 * 10**9 + 250123456  # the last 3 digits: only in nanosecond files
    pcap_file(pcap, conversation(t0), nano=nano)
    first = t0 if nano else t0 // 1000 * 1000
    r = run([RECORD, "-q", "--source", "pcap:" + pcap, "-o", cap])
    assert r.returncode == 0, r.stderr
    rows = query(cap, "SELECT laddr, lport, raddr, rport, tx_bytes, rx_bytes, tx_packets, "
                      "rx_packets, first_ts, close_ts, connect_us, rtt_us, state FROM connections")
    assert rows == [{"laddr": "192.0.2.1", "lport": 40000, "raddr": "192.0.2.2", "rport": 80,
                     "tx_bytes": 1000, "rx_bytes": 300, "tx_packets": 5, "rx_packets": 3,
                     "first_ts": first, "close_ts": first + 32 * 10**6, "connect_us": 1000,
                     "rtt_us": 2000,
                     "state": "CLOSED"}]


def test_pcap_source_errors(tmp_path):
    """One line and exit 2 for what cannot be read; a pcap cut short is read up to the cut
    with a warning."""
    pcap, cap = str(tmp_path / "w.pcap"), str(tmp_path / "w.tt")
    pcap_file(pcap, conversation(1767225600 * 10**9))
    cases = [
        (["--source", "pcap:" + str(tmp_path / "none.pcap")], "No such file"),
        (["--source", "pcap:" + os.path.abspath(__file__)], "unknown file format"),
        (["--source", "pcap:" + pcap, "--raw"], "--raw counts send/recv calls"),
        (["--source", "pcap:" + pcap, "-p", "1"], "filters do not apply"),
        (["--source", "pcap:"], "unknown source"),
        (["--source", "pcap:" + pcap, "-G", "60"], "-G keeps time by the recorder's clock"),
        (["--source", "pcap:" + pcap, "--flight", "60"], "--flight keeps time"),
    ]
    for args, text in cases:
        r = run([RECORD, "-q", "-o", cap] + args)
        assert r.returncode == 2 and text in r.stderr and len(r.stderr.splitlines()) == 1, \
            (args, r.returncode, r.stderr)
        assert not os.path.exists(cap)
    eth = str(tmp_path / "arc.pcap")
    pcap_file(eth, [], linktype=7)  # ARCNET
    r = run([RECORD, "-q", "-o", cap, "--source", "pcap:" + eth])
    assert r.returncode == 2 and "is not one it reads" in r.stderr, r.stderr
    # cut in the middle of the 5th packet: the open and the 4 before it stand
    with open(pcap, "rb") as f:
        data = f.read()
    cut = str(tmp_path / "cut.pcap")
    sizes = [16 + len(p) for _, p in conversation(0)]
    with open(cut, "wb") as f:
        f.write(data[:24 + sum(sizes[:4]) + 20])
    r = run([RECORD, "-q", "-o", cap, "--source", "pcap:" + cut])
    assert r.returncode == 0 and "warning" in r.stderr and "read up to there" in r.stderr, \
        r.stderr
    rows = query(cap, "SELECT tx_bytes, tx_packets, rx_packets, closed FROM connections")
    assert rows == [{"tx_bytes": 1000, "tx_packets": 3, "rx_packets": 1, "closed": 0}], rows
    # a packet captured too short for its TCP header counts in no connection: said
    short = str(tmp_path / "short.pcap")
    pkts = conversation(1767225600 * 10**9)
    pcap_file(short, pkts[:3] + [(pkts[3][0], pkts[3][1][:30])])
    os.unlink(cap)
    r = run([RECORD, "-q", "-o", cap, "--source", "pcap:" + short])
    assert r.returncode == 0 and "1 packets cut before their TCP/UDP header" in r.stderr, \
        r.stderr


def test_the_live_view_plays_a_pcap_at_its_pace():
    """tcptop --source pcap: (batch mode, as nobody) shows the connection as it happened: not
    sooner than the packets took, and with the totals of the packets."""
    d = tempfile.mkdtemp(prefix="tt-pcap-")  # pytest's own tree is closed to nobody
    try:
        os.chmod(d, 0o755)
        pcap = os.path.join(d, "slow.pcap")
        pcap_file(pcap, conversation(1767225600 * 10**9, ms=50 * 10**6))  # 1.6 s
        os.chmod(pcap, 0o644)
        who = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] \
            if os.geteuid() == 0 else []
        t0 = time.time()
        r = run(who + [tool("tcptop"), "--source", "pcap:" + pcap, "-b", "-i", "0.5"],
                timeout=60)
        took = time.time() - t0
    finally:
        shutil.rmtree(d)
    assert r.returncode == 0, r.stderr
    assert took >= 1.6 - 0.2, took
    tables = r.stdout.strip().split("\n\n")
    assert len(tables) >= 3, r.stdout
    f = tables[-1].splitlines()[2].split()
    assert (f[3], f[4], f[5], int(f[8]), int(f[9])) == \
        ("192.0.2.1:40000", "192.0.2.2:80", "CLOSED", 1000, 300), tables[-1]
    # while it was open, the view had it open
    assert any("192.0.2.1:40000" in t and "ESTABLISHED" in t for t in tables), r.stdout
