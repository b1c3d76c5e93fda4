"""Fleet export (docs/SCALE.md): tcptop-query's CSV (and JSON lines) output loaded into a real
PostgreSQL server that the test starts itself (initdb + pg_ctl as the unprivileged `postgres`
user, in a temporary directory, listening only on a unix socket there), with the tables of
`tcptop-query --schema=postgresql`; the server's answers must equal tcptop-query's own.

The captures are made to look like a fleet: synthetic captures (every event kind, edge values:
64-bit counters, IPv6, empty strings, NULLs) and the real sample captures when present, each
given another host name, as captures collected from several machines would be."""
import csv
import glob
import io
import json
import os
import pwd
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ROOT, free_port, run, tool

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyreader"))
import ttcap  # noqa: E402

QUERY = tool("tcptop-query")
GEN = tool("tests/test_format")
INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
TABLES = ["capture", "connections", "events", "processes", "lost", "listeners", "drops",
          "samples", "stalls"]
# the TCP health tables: a synthetic fleet may hold none of their rows (they load all the same)
HEALTH = {"listeners", "drops", "samples", "stalls"}

pytestmark = [
    pytest.mark.skipif(not os.path.exists(QUERY) or not os.path.exists(GEN),
                       reason="tcptop-query or test_format not built"),
    pytest.mark.skipif(not INITDB or shutil.which("psql") is None,
                       reason="PostgreSQL not installed (Debian package postgresql)"),
]


def with_host(src, dst, name, no_filters=False):
    """Copy a capture, giving it another host name (and no filters: ''). The HEADER block
    keeps its length (strings are padded with NULs, which end a header string), so every
    offset after it, the index's included, stays right."""
    data = open(src, "rb").read()
    btype, payload = ttcap.check_block(data, 16)
    assert btype == ttcap.HEADER
    out = bytearray()
    for tag, val in ttcap.tlv(bytes(payload)):
        if tag == 1:  # hostname
            assert len(name) <= len(val), (name, bytes(val))
            val = name.encode() + b"\0" * (len(val) - len(name))
        if tag == 7 and no_filters:
            val = b"\0" * len(val)
        out += struct.pack("<HH", tag, len(val)) + bytes(val)
    blk = ttcap.block(ttcap.HEADER, bytes(out))
    assert len(blk) == len(payload) + 20
    with open(dst, "wb") as f:
        f.write(data[:16] + blk + data[16 + len(blk):])
    return dst


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    d = tmp_path_factory.mktemp("fleet")
    files = []
    for i, n in enumerate((20000, 3000, 7000)):
        raw = str(d / f"gen{i}.raw")
        assert run([GEN, "gen", raw, str(n)]).returncode == 0
        files.append(with_host(raw, str(d / f"web-{i + 1}.tt"), f"web-{i + 1}", i == 1))
    # real traffic: the samples (their host name may be as short as "vm": 2-byte new names)
    for i, s in enumerate(sorted(glob.glob(os.path.join(ROOT, "samples", "*.tt")))[:3]):
        files.append(with_host(s, str(d / ("sample-" + os.path.basename(s))), f"s{i + 1}"))
    return files


@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL server of our own: (psql command prefix), stopped and removed after."""
    bindir = os.path.dirname(INITDB[-1])
    d = tempfile.mkdtemp(prefix="tt-pg-")
    as_user = []
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pw = pwd.getpwnam("nobody")
        os.chown(d, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", pw.pw_name, "--"]
    data, port = os.path.join(d, "data"), free_port()
    r = run(as_user + [os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "tt",
                       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
    assert r.returncode == 0, r.stdout + r.stderr
    opts = f"-k {d} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    r = run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(d, "log"),
                       "-w", "-t", "30", "-o", opts, "start"])
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", d, "-p", str(port),
               "-U", "tt", "-d", "postgres"]
    finally:
        run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w",
                       "stop"])
        shutil.rmtree(d, ignore_errors=True)


def psql(pg, *args, input=None):
    r = run(pg + list(args), input=input)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pg_rows(pg, sql):
    return list(csv.reader(io.StringIO(psql(pg, "--csv", "-c", sql))))


def tq(files, sql, fmt="csv"):
    r = run([QUERY, "--no-progress", "-F", fmt, *files, sql], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout


def tq_rows(files, sql):
    return list(csv.reader(io.StringIO(tq(files, sql))))


def test_schema_in_docs_is_the_tools():
    """docs/SCALE.md shows the tables tcptop-query --schema prints, verbatim."""
    doc = open(os.path.join(ROOT, "docs", "SCALE.md")).read()
    for dialect in ("postgresql", "clickhouse"):
        r = run([QUERY, f"--schema={dialect}"])
        assert r.returncode == 0
        stmts = [s.strip() + ";" for s in r.stdout.split(";") if "CREATE TABLE" in s]
        assert len(stmts) == len(TABLES)
        for s in stmts:
            s = s[s.index("CREATE TABLE"):]
            assert s in doc, (dialect, s.splitlines()[0])


def test_csv_export_loads_into_postgresql(pg, fleet):
    t0 = time.time()
    psql(pg, "-f", "-", input=run([QUERY, "--schema=postgresql"]).stdout)
    for t in TABLES:
        # the loading command of docs/SCALE.md
        exp = subprocess.Popen([QUERY, "--no-progress", "-F", "csv", *fleet, f"SELECT * FROM {t}"],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        r = subprocess.run(pg + ["-c", f"COPY {t} FROM STDIN (FORMAT csv, HEADER true)"],
                           stdin=exp.stdout, capture_output=True, text=True, timeout=120)
        exp.stdout.close()
        assert exp.wait() == 0 and r.returncode == 0, (t, r.stderr)
        n = int(tq_rows(fleet, f"SELECT count(*) FROM {t}")[1][0])
        assert pg_rows(pg, f"SELECT count(*) FROM {t}")[1] == [str(n)], t
        assert n > 0 or t in HEALTH, t

    # per-connection totals: every row the same on both sides
    cols = ("host, file, id, first_ts, last_ts, tx_bytes, rx_bytes, tx_packets, rx_packets, "
            "retransmits, resets, closed, pid, comm, laddr, raddr")
    sql = f"SELECT {cols} FROM connections ORDER BY host, file, id, first_ts"
    mine, theirs = tq_rows(fleet, sql), pg_rows(pg, sql)
    assert len(mine) > 1000 and mine == theirs

    # NULL stays NULL and '' stays '' (both print as an empty CSV field: count them apart)
    for t, c in (("connections", "pid"), ("connections", "raddr"), ("events", "conn_id"),
                 ("processes", "comm"), ("capture", "filters")):
        for cond in (f"{c} IS NULL", f"{c} = ''" if c in ("raddr", "comm", "filters") else None):
            if cond:
                sql = f"SELECT count(*) FROM {t} WHERE {cond}"
                assert tq_rows(fleet, sql)[1] == pg_rows(pg, sql)[1], sql
    assert pg_rows(pg, "SELECT count(*) FROM capture WHERE filters = ''")[1] == ["1"]

    # every event, as a multiset of rows
    mine = sorted(tq_rows(fleet, "SELECT * FROM events")[1:])
    theirs = sorted(pg_rows(pg, "SELECT * FROM events")[1:])
    assert len(mine) > 30000 and mine == theirs

    # the fleet questions of docs/SCALE.md: per host, computed by PostgreSQL, against the
    # same sums done here over tcptop-query's JSON (SQLite's sum() would overflow on the
    # synthetic 64-bit counters; PostgreSQL sums bigints exactly, as numeric)
    per_host = {}
    for c in json.loads(tq(fleet, "SELECT host, tx_bytes, rx_bytes, retransmits, resets "
                                  "FROM connections", fmt="json")):
        h = per_host.setdefault(c["host"], [0, 0, 0, 0, 0])
        h[0] += 1
        h[1] += c["tx_bytes"]
        h[2] += c["rx_bytes"]
        h[3] += c["retransmits"]
        h[4] += c["resets"]
    got = pg_rows(pg, "SELECT host, count(*), sum(tx_bytes), sum(rx_bytes), sum(retransmits), "
                      "sum(resets) FROM connections GROUP BY host ORDER BY host")
    assert got[1:] == [[h] + [str(v) for v in per_host[h]] for h in sorted(per_host)]
    assert len(got) - 1 == len(fleet)  # one host per capture here
    assert time.time() - t0 < 30


def test_jsonl_export_loads_into_postgresql(pg, fleet):
    """The JSON lines route (the one docs/SCALE.md gives for ClickHouse), here into a jsonb
    staging table: numbers stay numbers, null stays null."""
    ddl = run([QUERY, "--schema=postgresql"]).stdout
    ddl = ddl[ddl.index("CREATE TABLE connections"):]
    ddl = ddl[:ddl.index(";") + 1].replace("TABLE connections", "TABLE conn2")
    psql(pg, "-c", "DROP TABLE IF EXISTS conn_json, conn2; CREATE TABLE conn_json (doc jsonb);")
    psql(pg, "-c", ddl)
    exp = subprocess.Popen([QUERY, "--no-progress", "-F", "jsonl", *fleet,
                            "SELECT * FROM connections"],
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # CSV with quote and delimiter bytes that JSON never holds: each line is one jsonb value
    r = subprocess.run(pg + ["-c", "COPY conn_json FROM STDIN (FORMAT csv, QUOTE e'\\x01', "
                                   "DELIMITER e'\\x02')"],
                       stdin=exp.stdout, capture_output=True, text=True, timeout=120)
    exp.stdout.close()
    assert exp.wait() == 0 and r.returncode == 0, r.stderr
    psql(pg, "-c", "INSERT INTO conn2 SELECT r.* FROM conn_json, "
                   "jsonb_populate_record(NULL::conn2, doc) r")
    sql = ("SELECT host, file, id, first_ts, tx_bytes, rx_bytes, pid, comm, raddr, state "
           "FROM {} ORDER BY host, file, id, first_ts")
    mine = tq_rows(fleet, sql.format("connections"))
    assert pg_rows(pg, sql.format("conn2")) == mine and len(mine) > 1000
