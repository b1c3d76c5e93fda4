"""Black-box tests of tcptop-query: SQL answers compared with an independent reading of the
same captures (the Python reader when present, else test_format's JSON dump, aggregated here
in Python), with the sqlite3 shell, and with iperf3's own counts on real traffic."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import needs_bpf, needs_cmd, run, tool, free_port

QUERY = tool("tcptop-query")
GEN = tool("tests/test_format")
U64 = 1 << 64

pytestmark = pytest.mark.skipif(not os.path.exists(QUERY), reason="tcptop-query not built")


def signed(v):
    """How SQLite (64-bit signed INTEGER) shows an unsigned 64-bit value."""
    v %= U64
    return v - U64 if v >= 1 << 63 else v


def q(files, sql, *opts, fmt="csv", check=True):
    """Run a query; returns the CompletedProcess (stdout text)."""
    r = run([QUERY, "-F", fmt, "--no-progress", *opts, *files, sql], stdin=subprocess.DEVNULL)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def rows(files, sql, *opts):
    """Query result as a list of dicts, through the JSON output (numbers stay numbers)."""
    return json.loads(q(files, sql, *opts, fmt="json").stdout)


def read_events(path):
    """Every event of a capture, read by an independent reader: tests/pyreader/ttcap.py when
    the format engineer's Python reader exists, else test_format's JSON dump."""
    pyreader = os.path.join(os.path.dirname(__file__), "pyreader")
    if os.path.exists(os.path.join(pyreader, "ttcap.py")):
        sys.path.insert(0, pyreader)
        try:
            import ttcap  # noqa: E402
            if hasattr(ttcap, "dump_events"):
                return list(ttcap.dump_events(path))
        except Exception:  # an unfinished reader must not break these tests
            pass
        finally:
            sys.path.remove(pyreader)
    r = run([GEN, "dump", path])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return [json.loads(line) for line in lines[1:]]


CONN_KINDS = {1, 2, 3, 4, 5, 6, 7, 8}


def oracle_connections(events):
    """Connection rows by the rules in docs/QUERY.md: traffic deltas summed, the close's absolute
    counters taken when larger, an id opened again after its open or close is a new row."""
    out, live = [], {}
    for e in events:
        cid = e["conn_id"]
        if e["kind"] not in CONN_KINDS or cid == 0:
            continue
        c = live.get(cid)
        if e["kind"] == 1 and c is not None and (c["closed"] or c["opened"]):
            c = None
        if c is None:
            c = dict(id=cid, tx=0, rx=0, txp=0, rxp=0, closed=0, opened=0, retrans=0,
                     resets=0, events=0)
            live[cid] = c
            out.append(c)
        c["events"] += 1
        k = e["kind"]
        if k == 1:
            c["opened"] = 1
        elif k == 2:
            c["tx"] += e["tx_bytes"]
            c["rx"] += e["rx_bytes"]
            c["txp"] += e["tx_pkts"]
            c["rxp"] += e["rx_pkts"]
        elif k == 5:
            c["retrans"] = (c["retrans"] + e["segs"]) % (1 << 32)
        elif k == 6:
            c["resets"] += 1
        elif k == 7:
            c["closed"] = 1
            c["tx"] = max(c["tx"] % U64, e["tx_bytes"])
            c["rx"] = max(c["rx"] % U64, e["rx_bytes"])
            c["txp"] = max(c["txp"] % U64, e["tx_pkts"])
            c["rxp"] = max(c["rxp"] % U64, e["rx_pkts"])
            c["retrans"] = max(c["retrans"], e["retrans"])
    return sorted((signed(c["id"]), signed(c["tx"]), signed(c["rx"]), signed(c["txp"]),
                   signed(c["rxp"]), c["closed"], c["retrans"], c["resets"], c["events"])
                  for c in out)


@pytest.fixture(scope="module")
def caps(tmp_path_factory):
    if not os.path.exists(GEN):
        pytest.skip("test_format not built")
    d = tmp_path_factory.mktemp("query")
    a, b = str(d / "a.tt"), str(d / "b.tt")
    assert run([GEN, "gen", a, "20000"]).returncode == 0
    assert run([GEN, "gen", b, "3000"]).returncode == 0
    return d, a, b


def test_event_count_matches_reader(caps):
    _, a, _ = caps
    ev = read_events(a)
    got = rows([a], "SELECT count(*) AS n FROM events")[0]["n"]
    assert got == len(ev) == 20000
    kinds = {r["kind"]: r["n"] for r in rows([a], "SELECT kind, count(*) n FROM events GROUP BY kind")}
    names = {1: "open", 2: "traffic", 3: "state", 4: "rtt", 5: "retrans", 6: "reset", 7: "close",
             8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost", 13: "stats"}
    want = {}
    for e in ev:
        want[names[e["kind"]]] = want.get(names[e["kind"]], 0) + 1
    assert kinds == want


def test_event_columns_match_reader(caps):
    _, a, _ = caps
    ev = read_events(a)
    got = rows([a], "SELECT ts, conn_id, pid, tx_bytes, rx_bytes, kind FROM events")
    assert len(got) == len(ev)
    for e, g in zip(ev, got):
        assert g["ts"] == signed(e["ts"])
        assert g["conn_id"] == (signed(e["conn_id"]) if e["conn_id"] else None)
        assert g["pid"] == (e["pid"] or None)
        if e["kind"] == 2:
            assert (g["tx_bytes"], g["rx_bytes"]) == (signed(e["tx_bytes"]), signed(e["rx_bytes"]))
        elif e["kind"] != 7:
            assert g["tx_bytes"] is None


def test_connection_totals_match_python(caps):
    _, a, _ = caps
    want = oracle_connections(read_events(a))
    got = sorted(tuple(r.values()) for r in rows(
        [a], "SELECT id, tx_bytes, rx_bytes, tx_packets, rx_packets, closed, retransmits, resets,"
        " events FROM connections"))
    assert len(got) == len(want) > 250
    assert got == want


def test_lost_and_processes(caps):
    _, a, _ = caps
    ev = read_events(a)
    lost = sorted((signed(e["ts"]), e["cpu"], signed(e["count"])) for e in ev if e["kind"] == 12)
    got = sorted(tuple(r.values()) for r in rows([a], "SELECT ts, cpu, count FROM lost"))
    assert got == lost
    exits = sum(1 for e in ev if e["kind"] == 10 and e["pid"])
    # every exit ends one process row, so rows with an exit = exit events
    n = rows([a], "SELECT count(*) n FROM processes WHERE exit_ts IS NOT NULL")[0]["n"]
    assert n == exits


def test_json_matches_csv_and_table(caps):
    _, a, _ = caps
    sql = ("SELECT id, proto, laddr, lport, raddr, direction, comm, tx_bytes, rtt_us, state "
           "FROM connections ORDER BY id, first_ts")
    js = rows([a], sql)
    rd = list(csv.reader(io.StringIO(q([a], sql).stdout)))
    assert rd[0] == list(js[0].keys())
    assert len(rd) - 1 == len(js) > 100
    for c, j in zip(rd[1:], js):
        assert c == ["" if v is None else str(v) for v in j.values()]
    jl = [json.loads(line) for line in q([a], sql, fmt="jsonl").stdout.splitlines()]
    assert jl == js
    assert any(isinstance(v, int) for v in js[0].values())
    tab = q([a], sql, fmt="table").stdout.splitlines()
    assert tab[0].split() == list(js[0].keys())
    assert set(tab[1]) <= {"-", " "}
    assert len(tab) == len(js) + 2
    # NULL reads NULL in a table, nothing in CSV, null in JSON
    nulls = sum(v is None for j in js for v in j.values())
    assert nulls > 0
    assert sum(line.split().count("NULL") for line in tab[2:]) == nulls


def test_time_function_and_views(caps):
    _, a, _ = caps
    r = rows([a], "SELECT tt_time(1764067225123456789) t, tt_iso(0) i, tt_time(NULL) n")[0]
    assert r == {"t": "2025-11-25 10:40:25.123456", "i": "1970-01-01T00:00:00.000000000Z", "n": None}
    r = rows([a], "SELECT count(*) n FROM events_v WHERE time = tt_time(ts) AND ts > 0")[0]
    assert r["n"] == rows([a], "SELECT count(*) n FROM events WHERE ts > 0")[0]["n"]


def test_ts_and_file_constraints(caps):
    """The events table pushes ts ranges and file = ? into the scan: same answers as without."""
    _, a, b = caps
    ts = [r["ts"] for r in rows([a], "SELECT ts FROM events WHERE ts > 0 ORDER BY ts")]
    lo, hi = ts[len(ts) // 3], ts[2 * len(ts) // 3]
    want = sum(1 for t in ts if lo <= t < hi)
    got = rows([a], f"SELECT count(*) n FROM events WHERE ts >= {lo} AND ts < {hi}")[0]["n"]
    assert got == want
    # the same through a function call, which the scan cannot see
    got = rows([a], f"SELECT count(*) n FROM events WHERE abs(ts) >= {lo} AND abs(ts) < {hi}")
    assert got[0]["n"] == want
    got = rows([a, b], f"SELECT count(*) n FROM events WHERE file = '{b}'")[0]["n"]
    assert got == 3000


def test_two_captures_kept_apart(caps):
    _, a, b = caps
    per = {r["file"]: r for r in rows(
        [a, b], "SELECT file, host, count(*) n, sum(tx_bytes) tx FROM events GROUP BY file")}
    assert per[a]["n"] == 20000 and per[b]["n"] == 3000
    assert per[a]["host"] == per[b]["host"] == "testhost.example"
    for f in (a, b):
        alone = rows([f], "SELECT count(*) n, sum(tx_bytes) tx FROM connections")[0]
        both = rows([a, b], f"SELECT count(*) n, sum(tx_bytes) tx FROM connections "
                            f"WHERE file = '{f}'")[0]
        assert alone == both
    cap = rows([a, b], "SELECT file, events FROM capture ORDER BY rowid")
    assert cap == [{"file": a, "events": 20000}, {"file": b, "events": 3000}]


@needs_cmd("sqlite3")
def test_db_file_same_answers(caps):
    d, a, b = caps
    db = str(d / "out.sqlite")
    r = run([QUERY, "--no-progress", "--db", db, a, b], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    queries = [
        "SELECT count(*) FROM events",
        "SELECT file, conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events "
        "GROUP BY file, conn_id ORDER BY 1, 2",
        "SELECT * FROM connections ORDER BY file, id, first_ts",
        "SELECT * FROM processes ORDER BY file, pid, first_ts",
        "SELECT file, host, kernel, start_ns, format_version, events FROM capture ORDER BY file",
        "SELECT count(*), sum(count) FROM lost",
        "SELECT time, kind FROM events_v ORDER BY ts LIMIT 5",
    ]
    for sql in queries:
        mine = q([a, b], sql).stdout
        shell = run(["sqlite3", "-csv", "-header", db, sql])
        assert shell.returncode == 0, shell.stderr
        # the shell quotes more than it must (fields with spaces): compare parsed CSV
        assert list(csv.reader(io.StringIO(shell.stdout))) == \
            list(csv.reader(io.StringIO(mine))), sql
    # an existing file is not replaced without --force
    r = run([QUERY, "--db", db, a], stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "exists" in r.stderr
    r = run([QUERY, "--db", db, "--force", b, "SELECT count(*) FROM events"])
    assert r.returncode == 0 and r.stdout.split() == ["count(*)", "3000"]


def test_truncated_capture_warns(caps):
    d, a, _ = caps
    t = str(d / "trunc.tt")
    with open(a, "rb") as f:
        data = f.read()
    with open(t, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    r = q([t], "SELECT count(*) n FROM events")
    n = int(r.stdout.split()[1])
    assert 0 < n < 20000
    assert "warning" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert n == len(read_events(t))
    # the same warning once, however many tables read the file
    r = q([t], "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM connections)")
    assert r.stderr.count("warning") == 1


def test_errors_and_exit_codes(caps, tmp_path):
    _, a, _ = caps
    r = q([a], "SELECT nosuch FROM events", check=False)
    assert r.returncode == 1
    assert r.stderr == "tcptop-query: no such column: nosuch\n"
    r = q([a], "SELEC 1", check=False)
    assert r.returncode == 1 and r.stderr.startswith("tcptop-query: ") and "syntax error" in r.stderr
    r = q([str(tmp_path / "missing.tt")], "SELECT 1", check=False)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "missing.tt" in r.stderr
    notcap = tmp_path / "notcap.tt"
    notcap.write_bytes(b"hello, this is not a capture at all\n" * 10)
    r = q([str(notcap)], "SELECT 1", check=False)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "notcap.tt" in r.stderr
    r = run([QUERY, "--format", "xml", a, "SELECT 1"])
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    r = run([QUERY, a], stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "no SQL" in r.stderr
    r = run([QUERY, "--help"])
    assert r.returncode == 0 and "Usage" in r.stdout
    r = run([QUERY, "--version"])
    assert r.returncode == 0 and r.stdout.startswith("tcptop-query tcptop ")


def test_sql_sources(caps, tmp_path):
    """SQL as the last argument, from -f FILE, from stdin; several statements; a capture on stdin."""
    _, a, b = caps
    sql = "SELECT count(*) AS n FROM events;"
    f = tmp_path / "q.sql"
    f.write_text(sql)
    by_arg = run([QUERY, a, sql]).stdout
    assert by_arg == "n\n20000\n"
    assert run([QUERY, "-f", str(f), a]).stdout == by_arg
    assert run([QUERY, a], input=sql).stdout == by_arg
    assert run([QUERY, a, b], input=sql).stdout == "n\n23000\n"
    assert run([QUERY, "--", a, sql]).stdout == by_arg
    with open(a, "rb") as cap:
        r = subprocess.run([QUERY, "-", sql], stdin=cap, capture_output=True, text=True)
    assert r.stdout == by_arg
    r = run([QUERY, a, "SELECT 1 AS x; SELECT 2 AS y"])
    assert r.stdout == "x\n1\ny\n2\n"


def test_schema():
    r = run([QUERY, "--schema"])
    assert r.returncode == 0
    for t in ("capture", "connections", "events", "processes", "lost"):
        assert f"CREATE TABLE {t} (" in r.stdout
    # the documented column names are the ones the tables have
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "QUERY.md")).read()
    for line in r.stdout.splitlines():
        if line.startswith("\t"):
            assert f"`{line.split()[0]}`" in doc, line


# ---------------------------------------------------------------- real traffic (BPF)

@needs_bpf
@needs_cmd("iperf3")
def test_iperf3_bytes(tmp_path, caps):
    cap = str(tmp_path / "cap.tt")
    port = free_port()
    rec = subprocess.Popen([tool("tcptop-record"), "-o", cap, "-d", "6", "-P", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        cli = run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "2", "-J"])
        srv.wait(timeout=10)
        assert cli.returncode == 0, cli.stderr
        _, err = rec.communicate(timeout=20)
    finally:
        if rec.poll() is None:
            rec.kill()
    assert rec.returncode == 0, err
    res = json.loads(cli.stdout)
    sent = res["end"]["sum_sent"]["bytes"]
    conns = rows([cap], f"SELECT * FROM connections WHERE proto = 'tcp' AND "
                        f"(lport = {port} OR rport = {port})")
    # one control and one data connection, each seen from both ends over loopback
    client = [c for c in conns if c["rport"] == port]
    server = [c for c in conns if c["lport"] == port]
    assert len(client) == 2 and len(server) == 2, conns
    data_c = max(client, key=lambda c: c["tx_bytes"])
    data_s = max(server, key=lambda c: c["rx_bytes"])
    # iperf3 counts payload only; its data connection first carries the 37-byte cookie
    # (COOKIE_SIZE in iperf_api.h). The sender counts what it wrote, the receiver what it read
    # before the test ended; the kernel's counters lie between the two.
    received = res["end"]["sum_received"]["bytes"]
    for n in (data_c["tx_bytes"], data_s["rx_bytes"]):
        assert received + 37 <= n <= sent + 37, (n, received, sent, conns)
    # the capture's other connection on the port is the control connection: small
    assert min(c["tx_bytes"] for c in client) < 10000
    # a real capture (this host) beside a synthetic one (testhost.example): rows stay apart
    _, a, _ = caps
    hosts = rows([cap, a], "SELECT host, file, count(*) n FROM connections GROUP BY host, file")
    assert len(hosts) == 2
    assert {h["host"] for h in hosts} == {os.uname().nodename, "testhost.example"}
