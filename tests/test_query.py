"""Black-box tests of tcptop-query: SQL answers compared with an independent reading of the
same captures (the Python reader when present, else test_format's JSON dump, aggregated here
in Python), with the sqlite3 shell, and with iperf3's own counts on real traffic."""
import concurrent.futures
import csv
import glob
import io
import json
import os
import pty
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, needs_bpf, needs_cmd, run, tool, free_port
from helpers.recorder import SETTLE_S, Recorder
from helpers.traffic import IPERF_COOKIE, wait_listen

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyreader"))
import ttcap  # noqa: E402

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
    """Every event of a capture, read by the independent Python reader written from
    docs/FORMAT.md (tests/pyreader/ttcap.py; it shares no code with format/)."""
    return ttcap.read(path).events


CONN_KINDS = {1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17}


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
             8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost", 13: "stats",
             14: "handshake", 15: "accept", 16: "sample", 17: "stall", 18: "listener", 19: "drop"}
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
    assert r.returncode == 1 and "exists" in r.stderr
    r = run([QUERY, "--db", db, "--force", b, "SELECT count(*) FROM events"])
    assert r.returncode == 0 and r.stdout.split() == ["count(*)", "3000"]


@needs_cmd("sqlite3")
def test_line_format_as_sqlite3_line_mode(caps, tmp_path):
    """-F line: one "column = value" line per column, names right-aligned, a blank line
    between rows, for rows too wide for a table: byte for byte what `sqlite3 -line` prints
    from the --db file of the same captures (NULL shown as in a table)."""
    _, a, b = caps
    db = str(tmp_path / "line.sqlite")
    r = run([QUERY, "--no-progress", "--db", db, a, b], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    for sql in ["SELECT * FROM capture ORDER BY file",
                "SELECT * FROM connections ORDER BY file, id LIMIT 4",
                "SELECT 1 AS a, NULL AS a_much_longer_name, 'x' AS b",
                "SELECT 1 AS x WHERE 0", "SELECT 7 AS seven; SELECT 8 AS eight, 9 AS nine"]:
        mine = run([QUERY, "--no-progress", "-F", "line", a, b, sql])
        shell = run(["sqlite3", "-line", "-nullvalue", "NULL", db, sql])
        assert mine.returncode == 0 and shell.returncode == 0, (mine.stderr, shell.stderr)
        assert mine.stdout == shell.stdout, sql
    assert "line" in run([QUERY, "--help"]).stdout


def test_dot_commands_point_to_schema(caps):
    """sqlite3's dot-commands (.tables, .schema) are not SQL: one line saying so and naming
    --schema, exit 2 (was SQLite's "near ".": syntax error", exit 1)."""
    _, a, _ = caps
    for cmd in (".tables", ".schema connections", "  .tables\n"):
        for args, stdin in (([a, cmd], ""), ([a], cmd), ([cmd], "")):
            if not args[-1].strip().startswith(".") and stdin == "":
                continue
            r = run([QUERY, "--no-progress", *args], input=stdin)
            lines = r.stderr.splitlines()
            assert (r.returncode, r.stdout) == (2, ""), (args, stdin, r.stderr)
            assert len(lines) == 1 and "--schema" in lines[0], (args, stdin, r.stderr)
            assert cmd.split()[0] in lines[0], lines[0]


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
    assert run([QUERY, "--sql-file", str(f), a]).stdout == by_arg
    assert run([QUERY, a], input=sql).stdout == by_arg
    assert run([QUERY, a, b], input=sql).stdout == "n\n23000\n"
    assert run([QUERY, "--", a, sql]).stdout == by_arg
    with open(a, "rb") as cap:
        r = subprocess.run([QUERY, "-", sql], stdin=cap, capture_output=True, text=True)
    assert r.stdout == by_arg
    r = run([QUERY, a, "SELECT 1 AS x; SELECT 2 AS y"])
    assert r.stdout == "x\n1\ny\n2\n"


def test_capture_on_stdin_is_named_stdin(caps, tmp_path):
    """Errors and warnings about a capture on stdin name it 'stdin', as tcptop-replay does, not
    the spool it is read back from (they said /proc/self/fd/3)."""
    _, a, _ = caps
    r = run([QUERY, "--no-progress", "-", "SELECT 1"], input="hello, not a capture\n")
    assert r.returncode == 2 and r.stderr == "tcptop-query: stdin: not a tcptop capture\n", \
        r.stderr
    data = open(a, "rb").read()
    cut = tmp_path / "cut.tt"
    cut.write_bytes(data[:len(data) // 2])
    with open(cut, "rb") as f:
        r = subprocess.run([QUERY, "--no-progress", "-", "SELECT count(*) AS n FROM events"],
                           stdin=f, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("n\n"), (r.returncode, r.stderr)
    assert re.fullmatch(r"tcptop-query: warning: stdin: truncated capture: [^\n]*\n",
                        r.stderr), r.stderr


def test_schema():
    r = run([QUERY, "--schema"])
    assert r.returncode == 0
    for t in ("capture", "connections", "events", "processes", "lost", "samples", "stalls"):
        assert f"CREATE TABLE {t} (" in r.stdout
    # the documented column names are the ones the tables have
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "QUERY.md")).read()
    for line in r.stdout.splitlines():
        if line.startswith("\t"):
            assert f"`{line.split()[0]}`" in doc, line


def test_docs_queries_run():
    """Every SQL block of docs/QUERY.md runs on the sample captures (real traffic), and the
    worked reset-storm query finds the server that went away, as the text says."""
    samples = sorted(glob.glob(os.path.join(ROOT, "samples", "*.tt")))
    if not samples:
        pytest.skip("no samples/*.tt")
    doc = open(os.path.join(ROOT, "docs", "QUERY.md")).read()
    blocks = re.findall(r"```sql\n(.*?)```", doc, re.S)
    assert len(blocks) >= 7
    for sql in blocks:
        r = run([QUERY, "--no-progress", "--", *samples, sql], stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and r.stderr == "", (sql, r.stderr)
    resets = os.path.join(ROOT, "samples", "resets.tt")
    if os.path.exists(resets):
        storm = next(b for b in blocks if "p.exit_ts" in b)
        got = rows([resets], storm)
        assert len(got) == 1 and got[0]["accepted"] > 0 and got[0]["exit_code"] is not None


def test_damaged_middle_read_around(caps, tmp_path):
    """Bytes overwritten in the middle of a capture: the reader skips the damaged region with a
    warning naming the file, reads on after it, and the query still succeeds."""
    _, a, _ = caps
    data = bytearray(open(a, "rb").read())
    mid = len(data) // 2
    data[mid:mid + 64] = b"\xff" * 64
    bad = str(tmp_path / "bad.tt")
    open(bad, "wb").write(bytes(data))
    r = q([bad], "SELECT count(*) n, max(ts) m FROM events", fmt="json")
    got = json.loads(r.stdout)[0]
    want = read_events(bad)
    assert 0 < got["n"] == len(want) < 20000
    # events after the damage are still there
    assert got["m"] == max(signed(e["ts"]) for e in want)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcptop-query: warning: ")
    assert "bad.tt" in lines[0] and "damaged" in lines[0]


def test_usage_errors_one_line(caps, tmp_path):
    """Every usage error or bad input file: one line on stderr naming the problem, exit 2."""
    _, a, _ = caps
    cases = [
        ([a, "-F"], "needs a value"),
        ([a, "SELECT 1", "--db"], "needs a value"),
        ([a, "SELECT 1", "-x"], "'-x'"),
        ([a, "SELECT 1", "-Vx"], None),  # -V wins: version, exit 0
        ([a, "SELECT 1", "--nope"], "'--nope'"),
        ([a, "-- a comment\nSELECT 1"], "after '--'"),
        (["--schema=oracle"], "oracle"),
        (["--schema", "postgresql"], "--schema=DIALECT"),  # not SQLite's schema, silently
        (["-F", "xml", a, "SELECT 1"], "xml"),
        (["--sql-file", str(tmp_path / "nosuch.sql"), a], "nosuch.sql"),
        ([str(tmp_path), "SELECT 1"], str(tmp_path)),
        (["SELECT 1"], "no capture"),
        ([a, str(tmp_path / "gone.tt"), "SELECT 1"], "gone.tt"),
    ]
    for args, what in cases:
        r = run([QUERY, *args], stdin=subprocess.DEVNULL)
        if what is None:
            assert r.returncode == 0 and r.stdout.startswith("tcptop-query tcptop ")
            continue
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == "", args
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tcptop-query: "), (args, r.stderr)
        assert what in lines[0], (args, lines)
    # an SQL error is SQLite's message and exit 1, after the rows already printed
    r = run([QUERY, "-F", "csv", a, "SELECT 1 AS x; SELECT * FROM nosuch"])
    assert r.returncode == 1 and r.stdout == "x\n1\n"
    assert r.stderr == "tcptop-query: no such table: nosuch\n"


def test_missing_capture_is_not_taken_for_sql(caps, tmp_path):
    """A missing operand that looks like a capture (NAME.tt, a rotated NAME.tt.N, a path) is a
    missing file (exit 2, one line naming it), never the SQL: `a.tt nosuch.tt` said "no SQL
    given" and `a.tt cap.tt.7` ran cap.tt.7 as SQL. SQL with a '/' stays SQL."""
    _, a, _ = caps
    for missing in ("nosuch.tt", "cap.tt.7", str(tmp_path / "gone" / "x"), "sub/cap"):
        for sql in (None, "SELECT count(*) FROM capture"):
            r = run([QUERY, "--no-progress", a, missing], input=sql or "", timeout=20)
            lines = r.stderr.splitlines()
            assert r.returncode == 2 and r.stdout == "", (missing, sql, r.returncode, r.stderr)
            assert len(lines) == 1 and missing in lines[0], (missing, sql, r.stderr)
            assert "no such file" in lines[0].lower(), (missing, sql, lines[0])
    r = run([QUERY, "-F", "csv", a, "SELECT 9/3 AS x"])
    assert (r.returncode, r.stdout) == (0, "x\n3\n"), r.stderr


def test_table_alignment(caps):
    _, a, _ = caps
    out = q([a], "SELECT 12345 AS n, 'x' AS s, NULL AS z UNION ALL SELECT 7, 'long text', 1",
            fmt="table").stdout
    assert out.splitlines() == [
        "    n  s             z",
        "-----  ---------  ----",
        "12345  x          NULL",
        "    7  long text     1",
    ]
    # CSV keeps '' and NULL apart ("" and an empty field), as PostgreSQL's COPY reads them
    r = q([a], "SELECT '' AS e, NULL AS n, 'a,b' AS c, 'say \"hi\"' AS d")
    assert r.stdout == 'e,n,c,d\n"",,"a,b","say ""hi"""\n'


def run_tty(args, stdout_tty, slow_reader=0.0):
    """Run with stderr (and stdout if asked) on a pseudo-terminal; returns (stdout, tty text).
    slow_reader: seconds before the test starts reading stdout (the query blocks on the pipe
    meanwhile, so its scan lasts that long whatever the machine's speed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                         stdout=slave if stdout_tty else subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed and everything was read
                return
            if not b:
                return
            chunks.append(b)

    t = threading.Thread(target=drain)
    t.start()
    out = b""
    if not stdout_tty:
        time.sleep(slow_reader)
        out = p.stdout.read()
    p.wait(timeout=60)
    t.join(timeout=10)
    os.close(master)
    return out.decode(), b"".join(chunks).decode().replace("\r\n", "\n")


def test_terminal_table_and_progress(caps, tmp_path):
    _, a, _ = caps
    # stdout on a terminal: an aligned table by default
    _, tty = run_tty([QUERY, a, "SELECT kind, count(*) n FROM events GROUP BY kind"], True)
    lines = tty.splitlines()
    assert lines[0].split() == ["kind", "n"] and set(lines[1]) <= {"-", " "}
    kinds = len(rows([a], "SELECT DISTINCT kind FROM events"))
    assert kinds >= 13 and len(lines) == 2 + kinds and "," not in tty
    # a scan that lasts over half a second shows progress on a terminal stderr, then erases it
    big = str(tmp_path / "big.tt")
    assert run([GEN, "gen", big, "200000"]).returncode == 0
    out, tty = run_tty([QUERY, big, "SELECT ts, kind FROM events"], False, slow_reader=1.0)
    assert len(out.splitlines()) == 200001 and out.startswith("ts,kind\n")
    assert f"tcptop-query: reading {big}: 0." in tty and "M events" in tty, repr(tty)
    assert tty.endswith("\r\033[K"), repr(tty[-40:])
    # not with --no-progress, and not when stderr is not a terminal
    out, tty = run_tty([QUERY, "--no-progress", big, "SELECT ts FROM events"], False,
                       slow_reader=1.0)
    assert tty == "" and len(out.splitlines()) == 200001
    p = subprocess.Popen([QUERY, big, "SELECT ts FROM events"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(1.0)
    out, err = p.communicate(timeout=60)
    assert err == b"" and out.count(b"\n") == 200001


# ---------------------------------------------------------------- real traffic (BPF)

COOKIE = IPERF_COOKIE


def recorder(path, *args):
    """tcptop-record -q in the background (tests/helpers/recorder.py), ready once the header is
    on disk."""
    return Recorder(path, "-q", *args, stdout=subprocess.DEVNULL)


def stopped(rec):
    rc, err = rec.stop(settle=SETTLE_S)  # the last interval's counters reach the ring buffer
    assert rc == 0, err


def iperf3(port, *args):
    """One paced iperf3 run over loopback (paced so the receiver reads everything before the
    test ends: then iperf3's byte counts are exact); returns its -J result."""
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listen(port)
        cli = run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", "8M", "-b", "100M", "-J",
                   *args], timeout=60)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        srv.wait(timeout=30)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    return json.loads(cli.stdout)["end"]


def tcp_clients(port, sizes):
    """One TCP connection per size: the client sends `size` bytes, the server answers with
    size // 7 bytes, both close. Returns the number of connections opened."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", port))
        srv.listen(len(sizes))
        for n in sizes:
            with socket.create_connection(("127.0.0.1", port)) as cli:
                acc, _ = srv.accept()
                with acc:
                    cli.sendall(b"q" * n)
                    got = 0
                    while got < n:
                        got += len(acc.recv(65536))
                    acc.sendall(b"a" * (n // 7))
                    got = 0
                    while got < n // 7:
                        got += len(cli.recv(65536))
    return len(sizes)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One capture of real traffic: a paced iperf3 upload, the same as a download (-R), and a
    dozen plain TCP connections of known sizes, each on its own port."""
    if not os.path.exists(tool("tcptop-record")) or os.geteuid() != 0:
        pytest.skip("needs root and a BPF build")
    if shutil.which("iperf3") is None:
        pytest.skip("missing iperf3")
    cap = str(tmp_path_factory.mktemp("live") / "cap.tt")
    up, down, plain = free_port(), free_port(), free_port()
    sizes = [1000 + 977 * i for i in range(12)]
    rec = recorder(cap, "-P", str(up), "-P", str(down), "-P", str(plain), "--coalesce", "250ms")
    try:
        res_up = iperf3(up)
        res_down = iperf3(down, "-R")
        opened = tcp_clients(plain, sizes)
    finally:
        stopped(rec)
    return dict(cap=cap, up=up, down=down, plain=plain, sizes=sizes, opened=opened,
                res_up=res_up, res_down=res_down)


def conns_on(cap, port):
    """(client rows, server rows) of the TCP connections to port."""
    rs = rows([cap], f"SELECT * FROM connections WHERE proto = 'tcp' AND "
                     f"(lport = {port} OR rport = {port}) ORDER BY first_ts")
    return [r for r in rs if r["rport"] == port], [r for r in rs if r["lport"] == port]


@needs_bpf
def test_iperf3_upload_bytes(live):
    res = live["res_up"]
    sent, received = res["sum_sent"]["bytes"], res["sum_received"]["bytes"]
    assert sent == 8 << 20
    client, server = conns_on(live["cap"], live["up"])
    # iperf3 opened two connections (control, data), seen from both ends of the loopback
    assert len(client) == 2 and len(server) == 2, (client, server)
    data_c = max(client, key=lambda c: c["tx_bytes"])
    data_s = max(server, key=lambda c: c["rx_bytes"])
    # the receiving kernel got every byte iperf3 wrote, after the cookie, exactly
    assert data_s["rx_bytes"] == sent + COOKIE, (data_s, res)
    assert data_s["tx_bytes"] == 0 and data_c["rx_bytes"] == 0
    # the sender's count is what was acknowledged; iperf3's server may stop reading (and
    # reset the connection) before its last block: then that block is never acknowledged
    assert received + COOKIE <= data_c["tx_bytes"] <= sent + COOKIE, (data_c, res)
    assert data_c["direction"] == "out" and data_s["direction"] == "in"
    assert data_c["comm"] == "iperf3" and data_c["pid"]
    # the control connection is small and carries the cookie too
    ctl_c = min(client, key=lambda c: c["tx_bytes"])
    assert COOKIE <= ctl_c["tx_bytes"] < 10000


@needs_bpf
def test_iperf3_download_bytes(live):
    res = live["res_down"]
    sent, received = res["sum_sent"]["bytes"], res["sum_received"]["bytes"]
    assert sent == received == 8 << 20, res
    client, server = conns_on(live["cap"], live["down"])
    assert len(client) == 2 and len(server) == 2, (client, server)
    data_c = max(client, key=lambda c: c["rx_bytes"])
    data_s = max(server, key=lambda c: c["tx_bytes"])
    # both ends' counters equal iperf3's: -R sends from the server to the client
    assert data_c["rx_bytes"] == received and data_s["tx_bytes"] == sent, (data_c, data_s)
    assert data_c["tx_bytes"] == data_s["rx_bytes"] == COOKIE
    # the same answer through the events table: the traffic deltas and the close agree
    ev = rows([live["cap"]], f"SELECT sum(rx_bytes) rx FROM events WHERE kind = 'traffic' "
                             f"AND conn_id = {data_c['id']}")[0]
    assert ev["rx"] == received


@needs_bpf
def test_connection_count_and_sizes(live):
    client, server = conns_on(live["cap"], live["plain"])
    # as many connections as the test opened, from each end
    assert len(client) == len(server) == live["opened"] == 12
    assert sorted(c["tx_bytes"] for c in client) == live["sizes"]
    assert sorted(c["rx_bytes"] for c in server) == live["sizes"]
    assert sorted(c["rx_bytes"] for c in client) == [n // 7 for n in live["sizes"]]
    assert all(c["closed"] == 1 and c["direction"] == "out" for c in client)
    n = rows([live["cap"]], f"SELECT count(*) n FROM connections WHERE rport = {live['plain']} "
                            f"AND direction = 'out' AND pid = {os.getpid()}")[0]["n"]
    assert n == 12
    # the connections table agrees with the rules applied to the Python reader's events
    ids = {c["id"] for c in client + server}
    want = [o for o in oracle_connections(read_events(live["cap"])) if o[0] in ids]
    got = sorted(tuple(r.values()) for r in rows(
        [live["cap"]], "SELECT id, tx_bytes, rx_bytes, tx_packets, rx_packets, closed, "
        "retransmits, resets, events FROM connections"))
    assert want == [g for g in got if g[0] in ids] and len(want) == 24


@needs_bpf
def test_real_and_synthetic_kept_apart(live, caps):
    _, a, _ = caps
    cap = live["cap"]
    hosts = rows([cap, a], "SELECT host, file, count(*) n FROM connections GROUP BY host, file")
    assert {(h["host"], h["file"]) for h in hosts} == {(os.uname().nodename, cap),
                                                      ("testhost.example", a)}
    alone = rows([cap], "SELECT count(*) n, sum(tx_bytes) tx FROM connections")[0]
    both = rows([cap, a], f"SELECT count(*) n, sum(tx_bytes) tx FROM connections "
                          f"WHERE file = '{cap}'")[0]
    assert alone == both


@needs_bpf
def test_rotated_set_totals(tmp_path):
    """A connection that lives across the files of a rotation (-G 1): each file repeats its
    open and the last one has its close with absolute counters; summed over the set, the
    rows give the bytes sent, not the earlier files' bytes twice."""
    path = str(tmp_path / "rot.tt")
    port = free_port()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", port))
        srv.listen()
        rec = recorder(path, "-G", "1", "-P", str(port), "--coalesce", "200ms")
        try:
            cli = socket.create_connection(("127.0.0.1", port))
            acc, _ = srv.accept()
            sent = 0
            for i in range(11):
                cli.sendall(b"r" * (3000 + i))
                sent += 3000 + i
                got = 0
                while got < 3000 + i:
                    got += len(acc.recv(65536))
                time.sleep(0.25)
            cli.close()
            acc.close()
            time.sleep(0.2)
        finally:
            stopped(rec)
    files = [path] + [f"{path}.{i}" for i in range(1, 10) if os.path.exists(f"{path}.{i}")]
    assert len(files) >= 2
    # the shell order of a glob (cap.tt.10 before cap.tt.2) must not matter: give them reversed
    per_file = rows(files[::-1], f"SELECT file, tx_bytes, closed, preexisting FROM connections "
                                 f"WHERE rport = {port} ORDER BY first_ts")
    assert len({r["file"] for r in per_file}) >= 2, per_file
    assert per_file[-1]["closed"] == 1 and per_file[0]["preexisting"] == 0
    # the close's counters are the connection's whole life: more than its last file's share
    close = rows(files, f"SELECT tx_bytes FROM events WHERE kind = 'close' "
                        f"AND conn_id = (SELECT id FROM connections WHERE rport = {port})")
    assert [c["tx_bytes"] for c in close] == [sent]
    assert per_file[-1]["tx_bytes"] < sent
    assert sum(r["tx_bytes"] for r in per_file) == sent, per_file
    tot = rows(files, f"SELECT sum(rx_bytes) rx FROM connections WHERE lport = {port}")[0]
    assert tot["rx"] == sent
    # each file alone still reads as a complete capture of its own part
    for f in files:
        q([f], "SELECT count(*) FROM connections")
    # GROUP BY / DISTINCT / ORDER BY over the set's events: the same rows as SQLite's sorter
    check_grouped(files, (None, {"TCPTOP_QUERY_GROUP_MEM": "64K"}), min_rows=0)


# ------------------------------------------------------------------------- grouped scans
# GROUP BY (and DISTINCT ... ORDER BY) on key columns of `events` are delivered in key order by
# the table itself (query/group.c) instead of SQLite's sorter. Each query below runs both ways: as
# written (grouped) and with its keys written +col, which SQLite cannot hand to the table, so it
# sorts (the route before grouped scans). {x} marks a key column.
GROUPED = [
    "SELECT {conn_id}, count(*), sum(tx_bytes), sum(rx_bytes) FROM events GROUP BY {conn_id}",
    "SELECT {conn_id}, count(*), sum(tx_bytes), max(ts) FROM events WHERE kind = 'traffic' "
    "GROUP BY {conn_id} HAVING count(*) > 2",
    "SELECT {kind}, {conn_id}, count(*), min(ts), max(ts), sum(retrans), max(rtt_us) FROM events "
    "GROUP BY {kind}, {conn_id}",
    "SELECT {file}, {conn_id}, count(*), sum(tx_bytes), total(rx_packets) FROM events "
    "GROUP BY {file}, {conn_id}",
    "SELECT {host}, {file}, count(*), max(comm) FROM events GROUP BY {host}, {file}",
    "SELECT DISTINCT {conn_id} FROM events ORDER BY {conn_id}",
    "SELECT DISTINCT {pid}, {comm} FROM events WHERE comm IS NOT NULL ORDER BY {pid}, {comm}",
    "SELECT {conn_id}, count(*) FROM events GROUP BY {conn_id} ORDER BY {conn_id} DESC",
    "SELECT {kind}, {conn_id}, count(*) FROM events GROUP BY {kind}, {conn_id} "
    "ORDER BY {kind} DESC, {conn_id}",
    "SELECT {raddr}, {rport}, {proto}, count(*), min(laddr) FROM events WHERE kind = 'open' "
    "GROUP BY {raddr}, {rport}, {proto} ORDER BY {raddr}, {rport}, {proto}",
    "SELECT {conn_id}, group_concat(kind), group_concat(ts) FROM events GROUP BY {conn_id}",
    "SELECT {pid}, {kind}, max(ts), sum(tx_bytes), file FROM events GROUP BY {pid}, {kind} "
    "ORDER BY {kind}, {pid}",
    "SELECT {tid}, {flags}, count(*), sum(tx_calls) FROM events "
    "WHERE ts < (SELECT (min(ts) + max(ts)) / 2 FROM events) GROUP BY {tid}, {flags}",
    "SELECT {state}, {old_state}, {new_state}, {reset_dir}, count(*) FROM events "
    "GROUP BY {state}, {old_state}, {new_state}, {reset_dir}",
    "SELECT {conn_id}, count(*) FROM events WHERE conn_id IN "
    "(SELECT {conn_id} FROM events GROUP BY {conn_id} HAVING count(*) > 20) GROUP BY {conn_id}",
]


def both_ways(sql):
    keys = set(re.findall(r"\{(\w+)\}", sql))
    return sql.format(**{k: k for k in keys}), sql.format(**{k: "+" + k for k in keys})


def answers(files, sql, env=None):
    """CSV rows (no header) and stderr; row order kept (compare sorted unless ORDER BY)."""
    r = run([QUERY, "-F", "csv", "--no-header", "--no-progress", *files, sql],
            stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    assert r.returncode == 0, (sql, r.stderr)
    return r.stdout.splitlines(), r.stderr


def check_grouped(files, envs=(None,), min_rows=1, plan=False):
    """Each GROUPED query over FILES: the grouped route (under each of ENVS) gives the sorter's
    rows and warnings. The sorter's answer is read once; the queries run two at a time (each
    is one tcptop-query process: two cores, half the wait). PLAN: also check that the grouped
    route is the one taken."""
    def one(tmpl):
        grouped, sorted_ = both_ways(tmpl)
        if plan:
            p, _ = answers(files, "EXPLAIN QUERY PLAN " + grouped)
            assert any(":g " in line for line in p), (grouped, p)
            assert not any("FOR GROUP BY" in line for line in p), (grouped, p)
        want, err_s = answers(files, sorted_)
        ordered = "ORDER BY" in tmpl.split("FROM events")[-1]
        assert len(want) >= min_rows, grouped
        for env in envs:
            got, err_g = answers(files, grouped, env)
            assert (got if ordered else sorted(got)) == (want if ordered else sorted(want)), \
                (files, grouped, env)
            assert err_g.count("warning") == err_s.count("warning"), (grouped, err_g, err_s)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as ex:
        for f in [ex.submit(one, t) for t in GROUPED]:
            f.result()


def test_grouped_plan(caps):
    """The grouped route is taken (no temporary B-tree), and +col still takes the sorter."""
    _, a, _ = caps
    g, s = both_ways(GROUPED[0])
    plan_g = q([a], "EXPLAIN QUERY PLAN " + g).stdout
    plan_s = q([a], "EXPLAIN QUERY PLAN " + s).stdout
    assert "TEMP B-TREE" not in plan_g and "VIRTUAL TABLE INDEX 0:g " in plan_g, plan_g
    assert "USE TEMP B-TREE FOR GROUP BY" in plan_s, plan_s
    o = q([a], "EXPLAIN QUERY PLAN SELECT conn_id, count(*) FROM events GROUP BY conn_id "
               "ORDER BY conn_id DESC").stdout
    assert "TEMP B-TREE" not in o, o
    o = q([a], "EXPLAIN QUERY PLAN SELECT DISTINCT conn_id FROM events ORDER BY 1").stdout
    assert ":g " in o and "FOR ORDER BY" not in o, o
    # ts is no key (nearly one group per event): the sorter keeps it; a plain ORDER BY (a LIMIT
    # keeps the top N only) and a DISTINCT alone (a LIMIT stops it early) stay SQLite's
    for sql in ("SELECT ts, count(*) FROM events GROUP BY ts",
                "SELECT * FROM events ORDER BY conn_id LIMIT 3",
                "SELECT DISTINCT conn_id FROM events LIMIT 3"):
        t = q([a], "EXPLAIN QUERY PLAN " + sql).stdout
        assert ":g " not in t, (sql, t)


def test_grouped_matches_reader(caps):
    """Per-connection counts and traffic sums, against the Python reader."""
    _, a, b = caps
    want = {}
    for e in read_events(a) + read_events(b):
        c = want.setdefault(signed(e["conn_id"]) if e["conn_id"] else None, [0, 0, 0])
        c[0] += 1
        if e["kind"] == 2:
            c[1] += e["tx_bytes"]
            c[2] += e["rx_bytes"]
    got = rows([a, b], "SELECT conn_id, count(*) n, total(tx_bytes) tx, total(rx_bytes) rx "
                       "FROM events WHERE kind = 'traffic' OR kind <> 'traffic' GROUP BY conn_id")
    assert len(got) == len(want) > 100
    for r in got:
        n, tx, rx = want[r["conn_id"]]
        assert r["n"] == n
    traffic = rows([a, b], "SELECT conn_id, sum(tx_bytes) tx, sum(rx_bytes) rx FROM events "
                           "WHERE kind = 'traffic' GROUP BY conn_id")
    for r in traffic:
        assert [r["tx"], r["rx"]] == [signed(want[r["conn_id"]][1]), signed(want[r["conn_id"]][2])]


def test_grouped_same_as_sorter(caps):
    """Two captures of the same conn ids (like a rotated set), in one pass and, with a 64K budget,
    in many passes over key ranges with the biggest groups streamed alone."""
    _, a, b = caps
    env = {"TCPTOP_QUERY_GROUP_MEM": "64K", "TCPTOP_QUERY_DEBUG": "1"}
    check_grouped([a, b], (None, env), plan=True)
    # the group_concat query keeps ts per row: its NULL conn_id group alone outgrows 64K / 4
    _, err = answers([a, b], both_ways(GROUPED[10])[0], env)
    m = re.search(r"grouped scan: (\d+) passes, (\d+) alone, peak (\d+) bytes", err)
    assert m and int(m[1]) > 2 and int(m[2]) >= 1, err
    # memory held stays near the budget (it is checked after each row: one chunk or table
    # growth over it)
    assert int(m[3]) <= 2 * 65536 + 65536, err


def test_grouped_samples(caps):
    """The recorded samples together (several hosts' worth of kinds, addresses, comms)."""
    samples = sorted(glob.glob(os.path.join(ROOT, "samples", "*.tt")))
    if not samples:
        pytest.skip("no samples")
    check_grouped(samples, (None, {"TCPTOP_QUERY_GROUP_MEM": "64K"}))


def test_same_file_twice_is_refused(caps, tmp_path):
    """One capture named twice, by the same path, another path, a symbolic link, a hard link,
    or as stdin twice, would count every event twice (40000 events of a 20000-event capture):
    one line naming both, exit 2, nothing on stdout. Two different captures still go."""
    d, a, b = caps
    link, hard = tmp_path / "link.tt", tmp_path / "hard.tt"
    link.symlink_to(a)
    os.link(a, hard)
    other = os.path.join(os.path.relpath(d, os.getcwd()), "a.tt")
    for files in ([a, a], [a, b, other], [str(link), a], [a, str(hard)], ["-", "-"]):
        r = run([QUERY, "--no-progress", *files, "SELECT count(*) FROM events"],
                stdin=open(a, "rb"))
        lines = r.stderr.splitlines()
        assert (r.returncode, r.stdout, len(lines)) == (2, "", 1), (files, r)
        first = files.index(files[-1]) if files[-1] in files[:-1] else 0
        assert lines[0] == "tcptop-query: %s and %s are the same file" % (
            files[first], files[-1]), (files, lines)
    assert rows([a, b], "SELECT count(*) n FROM events") == [{"n": 23000}]


def test_grouped_damaged_captures(caps, tmp_path):
    """Truncated and damaged-in-the-middle captures: the same rows as the sorter, read up to and
    around the damage, and each warning printed once however many passes read the file."""
    _, a, b = caps
    data = bytearray(open(a, "rb").read())
    trunc = str(tmp_path / "trunc.tt")
    open(trunc, "wb").write(bytes(data[: len(data) * 2 // 3]))
    mid = len(data) // 2
    data[mid:mid + 64] = b"\xff" * 64
    bad = str(tmp_path / "bad.tt")
    open(bad, "wb").write(bytes(data))
    for files in ([trunc], [bad, b], [b, trunc, bad]):
        check_grouped(files, (None, {"TCPTOP_QUERY_GROUP_MEM": "64K"}))
        for env in (None, {"TCPTOP_QUERY_GROUP_MEM": "64K"}):
            _, err = answers(files, both_ways(GROUPED[0])[0], env)
            lines = err.splitlines()
            assert len(lines) == (len(files) - (b in files)), err
            assert all(x.startswith("tcptop-query: warning: ") for x in lines), err
            assert len(set(lines)) == len(lines), err


def test_grouped_memory_env_errors(caps):
    _, a, _ = caps
    for bad in ("1", "10K", "lots", "-5M", "5X"):
        r = run([QUERY, "--no-progress", a, "SELECT count(*) FROM events"],
                env=dict(os.environ, TCPTOP_QUERY_GROUP_MEM=bad), stdin=subprocess.DEVNULL)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, (bad, r.stderr)
        assert "TCPTOP_QUERY_GROUP_MEM" in r.stderr


def test_conn_ids_copy_between_outputs(tmp_path):
    """UDP flow ids have the top bit set (2^63 and more: samples/dns-udp.tt holds 120). An id
    copied from tcptop-replay --dump, --dump --json or --csv finds its events in SQL
    (`WHERE conn_id = ID`), and one copied from SQL finds them in the dumps: one text for an
    id everywhere (SQLite's signed 64-bit INTEGER). Counts from the Python reader."""
    cap = os.path.join(ROOT, "samples", "dns-udp.tt")
    replay = tool("tcptop-replay")
    n = {}
    for e in read_events(cap):
        if e["conn_id"]:
            n[e["conn_id"]] = n.get(e["conn_id"], 0) + 1
    big = {c for c in n if c >= 1 << 63}
    assert len(big) >= 10
    r = run([replay, "--dump", "--json", cap])
    assert r.returncode == 0, r.stderr
    from_json = {json.loads(x)["conn_id"] for x in r.stdout.splitlines()[1:]} - {0}
    r = run([replay, "--dump", cap])
    assert r.returncode == 0, r.stderr
    text = r.stdout
    from_text = set(int(x) for x in re.findall(r" conn (-?\d+)", text))
    csv_path = str(tmp_path / "s.csv")
    r = run([replay, "-b", "-i", "1h", "--csv", csv_path, cap])
    assert r.returncode == 0, r.stderr
    from_csv = {int(x["conn_id"]) for x in csv.DictReader(open(csv_path))}
    sql = {x["conn_id"] for x in rows([cap], "SELECT DISTINCT conn_id FROM events "
                                             "WHERE conn_id IS NOT NULL")}
    assert from_json == from_text == sql and from_csv <= sql and len(from_csv) > len(big) / 2
    for cid in sorted(big)[:10]:
        shown = signed(cid)
        got = rows([cap], "SELECT count(*) n FROM events WHERE conn_id = %d" % shown)
        assert got == [{"n": n[cid]}], cid
        assert text.count(" conn %d " % shown) + text.count(" conn %d\n" % shown) == n[cid]
    for x in rows([cap], "SELECT id FROM connections"):
        assert x["id"] in from_text
