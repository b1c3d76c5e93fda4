"""The sample captures: each replays (--dump, --batch) and queries as an unprivileged user, agrees
with the independent Python reader, and shows what samples/README.md says to look for."""
import glob
import json
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import time

import pytest

from conftest import ROOT, run, tool

sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
import ttcap  # noqa: E402

SAMPLES_DIR = os.path.join(ROOT, "samples")
README = os.path.join(SAMPLES_DIR, "README.md")
SAMPLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SAMPLES_DIR, "*.tt")))
NOBODY = 65534
SEC = 1000000000

# event kinds (include/tt_event.h) and their names in tcptop-query
KIND_NAMES = {1: "open", 2: "traffic", 3: "state", 4: "rtt", 5: "retrans", 6: "reset", 7: "close",
              8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost", 13: "stats",
              14: "handshake", 15: "accept", 16: "sample", 17: "stall", 18: "listener", 19: "drop"}
RETRANS, RESET = 5, 6
RESET_RECEIVED, TCP_SYN_SENT = 2, 2


@pytest.fixture(scope="module")
def sandbox():
    """The samples and the two tools copied where nobody can read them (pytest's tmp dirs are
    0700), so every run below is as a user without root."""
    d = tempfile.mkdtemp(prefix="tt-samples-")
    try:
        os.chmod(d, 0o755)
        for name in SAMPLES:
            shutil.copy(os.path.join(SAMPLES_DIR, name), d)
            os.chmod(os.path.join(d, name), 0o644)
        for t in ("tcptop-replay", "tcptop-query"):
            shutil.copy(tool(t), d)
            os.chmod(os.path.join(d, t), 0o755)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_user(cmd):
    """CMD as uid/gid 65534 with no groups and no capabilities, when we are root."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
            "--inh-caps=-all", "--"] + cmd


def replay(box, *args):
    r = run(as_user([os.path.join(box, "tcptop-replay")] + list(args)), cwd=box)
    assert r.returncode == 0, (args, r.stderr)
    return r


def query(box, name, sql):
    """Rows of SQL on one sample, as dicts (tcptop-query -F json, as nobody)."""
    r = run(as_user([os.path.join(box, "tcptop-query"), "-F", "json", name, sql]), cwd=box)
    assert r.returncode == 0, (name, sql, r.stderr)
    assert r.stderr == "", r.stderr
    return json.loads(r.stdout)


def one(box, name, sql):
    rows = query(box, name, sql)
    assert len(rows) == 1, rows
    return list(rows[0].values())[0] if len(rows[0]) == 1 else rows[0]


def readme_rows():
    """{sample: (scenario, what to look for)} from the table in samples/README.md."""
    rows = {}
    for line in open(README):
        m = re.match(r"\|\s*`([^`]+\.tt)`\s*\|(.*)\|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
    return rows


def test_samples_exist_are_small_and_each_has_a_readme_line():
    assert len(SAMPLES) >= 6, SAMPLES
    assert set(readme_rows()) == set(SAMPLES)
    for name in SAMPLES:
        size = os.path.getsize(os.path.join(SAMPLES_DIR, name))
        assert 0 < size < 1000000, (name, size)
        assert os.stat(os.path.join(SAMPLES_DIR, name)).st_mode & stat.S_IROTH, name


def test_runs_really_are_unprivileged(sandbox):
    if os.geteuid() != 0:
        pytest.skip("not root: every run is unprivileged anyway")
    r = run(as_user(["sh", "-c", "id -u; id -G; grep CapEff /proc/self/status"]))
    uid, groups, caps = r.stdout.split("\n")[:3]
    assert uid == str(NOBODY) and groups == str(NOBODY), r.stdout
    assert caps.split()[1] == "0000000000000000", caps


@pytest.mark.parametrize("name", SAMPLES)
def test_replays_and_queries_without_root(sandbox, name):
    oracle = ttcap.read(os.path.join(SAMPLES_DIR, name))
    assert oracle.warnings == [] and oracle.end is not None, oracle.warnings
    n = len(oracle.events)
    assert n > 0

    # --dump: one line per event, no warnings
    r = replay(sandbox, "--dump", name)
    assert r.stderr == ""
    assert len(r.stdout.splitlines()) == n
    # --dump --json: the same events, in the file's order, with the same ids (as SQL shows
    # them: signed, UDP flow ids of 2^63 and more negative) and kinds
    r = replay(sandbox, "--dump", "--json", name)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert "header" in lines[0] and len(lines) == n + 1
    assert [(e["kind_id"], e["conn_id"], e["ts"]) for e in lines[1:]] == \
        [(e["kind"], e["conn_id"] - (e["conn_id"] >> 63 << 64), e["ts"]) for e in oracle.events]

    # --batch: snapshots, the last one counts every connection of the capture (all younger
    # than the 30 s TTL), as many as the query's connections table
    r = replay(sandbox, "--batch", name)
    heads = [l for l in r.stdout.splitlines() if l.startswith("tcptop-replay ")]
    assert heads, r.stdout[:500]
    m = re.search(r"conns: (\d+) open, (\d+) closed .* lost (\d+)", heads[-1])
    assert m, heads[-1]
    conns = one(sandbox, name, "SELECT count(*) FROM connections")
    assert int(m.group(1)) + int(m.group(2)) == conns > 0
    assert m.group(3) == "0"

    # query: as many events as the Python reader, per kind too
    rows = query(sandbox, name, "SELECT kind, count(*) n FROM events GROUP BY kind")
    per_kind = {}
    for e in oracle.events:
        per_kind[KIND_NAMES[e["kind"]]] = per_kind.get(KIND_NAMES[e["kind"]], 0) + 1
    assert {r["kind"]: r["n"] for r in rows} == per_kind
    # no sample lost anything (README)
    assert not one(sandbox, name, "SELECT coalesce(sum(count), 0) FROM lost")


def test_readme_queries_run(sandbox):
    """Every command under 'Queries that show it' runs as printed and returns rows."""
    text = open(README).read()
    block = text.split("## Queries that show it", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    block = "\n".join(l for l in block.splitlines() if not l.lstrip().startswith("#"))
    words = shlex.split(block)
    cmds, cur = [], None
    for w in words:
        if w == "tcptop-query":
            cur = []
            cmds.append(cur)
        else:
            cur.append(w.replace("samples/", ""))
    assert len(cmds) == len(SAMPLES), cmds
    for args in cmds:
        r = run(as_user([os.path.join(sandbox, "tcptop-query"), "-F", "csv"] + args),
                cwd=sandbox)
        assert r.returncode == 0 and r.stderr == "", (args, r.stderr)
        assert len(r.stdout.splitlines()) >= 2, (args, r.stdout)


# ------------------------------------------------------------------ what to look for

def test_web(sandbox):
    q = lambda sql: query(sandbox, "web.tt", sql)  # noqa: E731
    out = q("SELECT * FROM connections WHERE direction = 'out' AND rport = 18080")
    assert len(out) == 121 and {c["comm"] for c in out} == {"curl"}
    assert all(c["proto"] == "tcp" and c["closed"] == 1 for c in out)
    assert sum(1 for c in out if 20000 <= c["rx_bytes"] < 21000) == 120  # the page
    assert all(50 < c["tx_bytes"] < 200 for c in out)                       # the request
    assert all(c["last_ts"] - c["first_ts"] < SEC for c in out)
    srv = q("SELECT * FROM connections WHERE direction = 'in' AND lport = 18080")
    assert len(srv) == 121 and {c["comm"] for c in srv} == {"python3"}
    # each client connection has its server side: same ports, bytes mirrored
    by_port = {c["rport"]: c for c in srv}
    for c in out:
        s = by_port[c["lport"]]
        assert (s["tx_bytes"], s["rx_bytes"]) == (c["rx_bytes"], c["tx_bytes"])


def test_iperf3(sandbox):
    out = query(sandbox, "iperf3.tt",
                "SELECT * FROM connections WHERE direction = 'out' ORDER BY tx_bytes")
    assert len(out) == 2 and {c["comm"] for c in out} == {"iperf3"}
    assert {c["rport"] for c in out} == {15201}
    control, data = out
    assert control["tx_bytes"] < 10000
    assert data["tx_bytes"] > 100 * 1000000 and data["rx_bytes"] == 0
    samples = one(sandbox, "iperf3.tt", "SELECT count(*) FROM events WHERE kind = 'traffic' "
                  "AND conn_id = %d AND tx_bytes > 0" % data["id"])
    assert samples >= 2  # sampled once a second over 2 s


def test_dns_udp(sandbox):
    out = query(sandbox, "dns-udp.tt", "SELECT * FROM connections WHERE direction = 'out'")
    assert len(out) == 60 and len({c["lport"] for c in out}) == 60
    for c in out:
        assert (c["proto"], c["raddr"], c["rport"]) == ("udp", "127.0.0.1", 15353)
        assert (c["tx_packets"], c["rx_packets"]) == (1, 1)
        assert c["tx_bytes"] in (35, 36) and c["rx_bytes"] in (111, 112)
    srv = query(sandbox, "dns-udp.tt", "SELECT * FROM connections WHERE direction = 'in'")
    assert len(srv) == 60 and {c["lport"] for c in srv} == {15353}
    assert {c["rport"] for c in srv} == {c["lport"] for c in out}
    assert_udp_clients_have_both_ends(out, srv, "127.0.0.1")


def assert_udp_clients_have_both_ends(out, srv, addr):
    """docs/QUERY.md: in the default mode a UDP flow takes both ends from its datagrams, so a
    client that sendto()s without bind()ing has its real source address, and its row has the
    community_id of the server's row of the same flow (not a wildcard laddr and NULL)."""
    by_port = {c["rport"]: c for c in srv}
    for c in out:
        assert c["laddr"] == addr, c
        s = by_port[c["lport"]]
        assert c["community_id"] and c["community_id"] == s["community_id"], (c, s)


def test_resets(sandbox):
    q = lambda sql: query(sandbox, "resets.tt", sql)  # noqa: E731
    resets = q("SELECT * FROM events WHERE kind = 'reset'")
    assert len(resets) == 150
    assert {(e["reset_dir"], e["state"]) for e in resets} == {("received", "SYN_SENT")}
    refused = q("SELECT * FROM connections WHERE resets > 0")
    assert len(refused) == 150 and {c["comm"] for c in refused} == {"curl"}
    assert all(c["tx_bytes"] == 0 and c["rx_bytes"] == 0 for c in refused)
    served = q("SELECT * FROM connections WHERE direction = 'in'")
    assert len(served) == 20 and all(s["rx_bytes"] > 0 for s in served)
    # the server process exited before the storm began
    pids = {s["pid"] for s in served}
    assert len(pids) == 1 and None not in pids, pids
    proc = q("SELECT * FROM processes WHERE pid = %d" % pids.pop())
    assert proc and proc[-1]["exit_ts"] is not None, proc
    assert proc[-1]["exit_ts"] < min(e["ts"] for e in resets)
    assert max(s["last_ts"] for s in served) < min(e["ts"] for e in resets)
    # the Python reader sees the same
    cap = ttcap.read(os.path.join(SAMPLES_DIR, "resets.tt"))
    raw = [e for e in cap.events if e["kind"] == RESET]
    assert len(raw) == 150
    assert all(e["dir"] == RESET_RECEIVED and e["state"] == TCP_SYN_SENT for e in raw)


def refused_and_closed(path):
    """From the Python reader: ids of the connections refused (a reset received in SYN_SENT)
    and of the others that closed, without a reset."""
    cap = ttcap.read(path)
    reset = {e["conn_id"] for e in cap.events if e["kind"] == RESET}
    refused = {e["conn_id"] for e in cap.events if e["kind"] == RESET and
               e["dir"] == RESET_RECEIVED and e["state"] == TCP_SYN_SENT}
    closed = {e["conn_id"] for e in cap.events if e["kind"] == 7} - reset
    return refused, closed


def test_resets_show_as_refused(sandbox):
    """The reset storm in the STATE column: REFUSED, not CLOSED with 0 bytes (--batch)."""
    refused, closed = refused_and_closed(os.path.join(SAMPLES_DIR, "resets.tt"))
    assert len(refused) == 150
    out = replay(sandbox, "--batch", "resets.tt").stdout
    last = out.split("tcptop-replay ")[-1].splitlines()[2:]
    states = {}
    for ln in last:
        f = ln.split()
        if len(f) > 5:
            states[f[5]] = states.get(f[5], 0) + 1
    assert states == {"REFUSED": len(refused), "CLOSED": len(closed)}, states


def test_readme_reset_storm_recipe_in_the_view(sandbox):
    """samples/README.md's recipe, through tmux as written: `/` and REFUSED, then `S` until
    the sort is on STATE (and `r`), in tcptop-replay samples/resets.tt."""
    if not shutil.which("tmux"):
        pytest.skip("no tmux")
    from test_view import Pane, table
    text = " ".join(open(README).read().split())
    assert "`tcptop-replay samples/resets.tt`, then `/`, `REFUSED` and Enter" in text
    assert "`S` until the header says `sort: STATE`" in text
    refused, closed = refused_and_closed(os.path.join(SAMPLES_DIR, "resets.tt"))
    cmd = as_user([os.path.join(sandbox, "tcptop-replay"), "resets.tt"])
    p = Pane("cd %s && exec %s" % (sandbox, " ".join(shlex.quote(a) for a in cmd)),
             width=160, height=50)
    try:
        p.wait(lambda t: "sort: TX/s" in t, stable=False)
        p.keys("/", "REFUSED", "Enter")
        # the rest of the 23 s storm at 8x (the view's own speed key, three doublings)
        p.keys("+", "+", "+")
        # while the storm plays, every row shown is a refused curl; at its end, all of them
        s = p.wait(lambda t: "(end of capture)" in t, timeout=60)
        rows = table(s)
        assert "of %d " % len(refused) in s, s
        assert rows and all(r[1] == "curl" and r[4].endswith(":18081") and r[5] == "REFUSED"
                            for r in rows), s
        p.keys("Escape")
        for _ in range(13):  # one key per column at most
            if "sort: STATE" in p.text():
                break
            p.keys("S")
            time.sleep(0.3)
        s = p.wait(lambda t: "sort: STATE" in t and "filter: none" in t)
        states = [r[5] for r in table(s)]
        assert states == sorted(states) and states[0] == "CLOSED", s
        assert "of %d " % (len(refused) + len(closed)) in s, s
        p.keys("r")
        s = p.wait(lambda t: "reversed" in t)
        assert {r[5] for r in table(s)} == {"REFUSED"}, s
    finally:
        p.close()


def test_ipv6(sandbox):
    conns = query(sandbox, "ipv6.tt", "SELECT * FROM connections")
    assert conns and all(c["family"] == 6 for c in conns)
    tcp_out = [c for c in conns if c["proto"] == "tcp" and c["direction"] == "out"]
    tcp_in = [c for c in conns if c["proto"] == "tcp" and c["direction"] == "in"]
    assert len(tcp_out) == 10 and len(tcp_in) == 10
    assert {(c["laddr"], c["raddr"], c["rport"], c["comm"]) for c in tcp_out} == \
        {("fd00:7474::1", "fd00:7474::2", 18086, "curl")}
    # the two ends live in two namespaces
    assert len({c["netns"] for c in tcp_out}) == 1 and len({c["netns"] for c in tcp_in}) == 1
    assert tcp_out[0]["netns"] != tcp_in[0]["netns"]
    udp_out = [c for c in conns if c["proto"] == "udp" and c["direction"] == "out"]
    assert len(udp_out) == 10
    assert {(c["raddr"], c["rport"]) for c in udp_out} == {("::1", 15354)}
    udp_in = [c for c in conns if c["proto"] == "udp" and c["direction"] == "in"]
    assert_udp_clients_have_both_ends(udp_out, udp_in, "::1")


def test_retransmits(sandbox):
    out = query(sandbox, "retransmits.tt",
                "SELECT * FROM connections WHERE direction = 'out' ORDER BY tx_bytes")
    assert len(out) == 2
    control, data = out
    assert (data["laddr"], data["raddr"], data["rport"]) == ("10.98.0.1", "10.98.0.2", 15202)
    assert data["retransmits"] >= 50
    assert control["retransmits"] * 10 < data["retransmits"]
    ev = query(sandbox, "retransmits.tt", "SELECT count(*) n, min(ts) a, max(ts) b FROM events "
               "WHERE kind = 'retrans' AND conn_id = %d" % data["id"])[0]
    assert ev["n"] >= 10 and ev["b"] - ev["a"] > SEC  # spread over the transfer
    cap = ttcap.read(os.path.join(SAMPLES_DIR, "retransmits.tt"))
    assert sum(e["segs"] for e in cap.events
               if e["kind"] == RETRANS and e["conn_id"] == data["id"]) >= 50


def test_health(sandbox):
    """health.tt shows why each connection failed or was slow, as README.md says; the oracle is
    the Python reader's own events (the failing connects' closes, the stall events, the
    listener records), the scenario's numbers (tcp_syn_retries 1: 2 SYNs resent; 2 s without
    reading; backlog 1)."""
    conns = {(c["rport"], c["lport"]): c for c in query(
        sandbox, "health.tt", "SELECT * FROM connections WHERE direction = 'out'")}
    by_port = {}
    for (rport, _), c in sorted(conns.items()):
        by_port.setdefault(rport, []).append(c)
    assert [c["fail_reason"] for c in by_port[15300]] == ["refused"]
    assert [(c["fail_reason"], c["syn_retrans"]) for c in by_port[15301]] == [("timeout", 2)]
    assert [c["fail_reason"] for c in by_port[15302]] == ["unreachable"]
    lossy, = by_port[15303]
    assert lossy["tx_bytes"] == 8 << 20 and lossy["fail_reason"] is None
    assert lossy["retransmits"] > 0
    assert lossy["retrans_fast"] + lossy["retrans_rto"] + lossy["retrans_tlp"] == lossy["retransmits"]
    cap = ttcap.read(os.path.join(SAMPLES_DIR, "health.tt"))
    closes = {e["conn_id"]: e for e in cap.events if e["kind"] == 7}
    fail = {c["id"]: c["fail_reason"] for p in (15300, 15301, 15302) for c in by_port[p]}
    assert {closes[i]["fail_reason"] for i in fail} == {1, 2, 3}  # refused, timeout, unreachable
    # the receiver that did not read for 2 s: a local stall on its end, a peer one on the sender's
    stalls = query(sandbox, "health.tt", "SELECT side, conn_id, (end_ns - start_ns) / 1e6 ms "
                   "FROM stalls ORDER BY side")
    sender, = by_port[15304]
    assert [s["side"] for s in stalls] == ["local", "peer"]
    assert stalls[1]["conn_id"] == sender["id"]
    for s in stalls:
        assert 1600 <= s["ms"] <= 2400, stalls
    assert abs(sender["zero_window_ms"] - stalls[1]["ms"]) <= 1
    ends = [e for e in cap.events if e["kind"] == 17 and e["phase"] == 2]
    assert sorted(e["side"] for e in ends) == [1, 2]
    # the listener that never accepts: its queue full (max + 1), its drops counted up
    lst = query(sandbox, "health.tt", "SELECT accept_queue, accept_queue_max, overflows FROM "
                "listeners WHERE lport = 15305 ORDER BY ts")
    assert lst[-1]["accept_queue"] == lst[-1]["accept_queue_max"] + 1 == 2
    assert lst[-1]["overflows"] > 0
    assert [x["overflows"] for x in lst] == sorted(x["overflows"] for x in lst)
    # samples of the stalled upload while it was open (over 2 s: passes saw it), not only at
    # its close
    n = one(sandbox, "health.tt", "SELECT count(*) FROM samples s JOIN connections c ON "
            "c.id = s.conn_id WHERE c.rport = 15304 AND c.direction = 'out' AND s.ts < c.last_ts")
    assert n >= 1
    assert one(sandbox, "health.tt",
               "SELECT count(*) FROM drops WHERE reason = 'NETFILTER_DROP'") > 0
