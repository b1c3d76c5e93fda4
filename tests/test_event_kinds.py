"""One event of each kind, every field set (written by the unit test test_event_kinds from
the kind table), read by tcptop-query's `events` table and checked, column by column,
against the independent Python reader and the column meanings of docs/QUERY.md."""
import csv
import io
import ipaddress
import json
import os
import re

import pytest

from conftest import ROOT, run, tool
from helpers.capture import read_cap

WRITER = tool("tests/test_event_kinds")

# docs/QUERY.md: one name per state in every output (7 is RFC 793's CLOSED, not TCP_CLOSE)
STATES = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
          "CLOSED", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]
NAMES = {1: "open", 2: "traffic", 3: "state", 4: "rtt", 5: "retrans", 6: "reset", 7: "close",
         8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost", 13: "stats",
         14: "handshake", 15: "accept", 16: "sample", 17: "stall", 18: "listener", 19: "drop"}
# docs/QUERY.md: the close's fail_reason (0, no failure, is NULL)
FAIL = {1: "refused", 2: "timeout", 3: "unreachable", 4: "reset", 5: "local-reset", 6: "abort"}
COMMON = ["file", "host", "ts", "kind", "conn_id", "pid", "tid", "flags"]


def state(s):
    return (STATES[s] if s < len(STATES) else "?") or None


def nz(v):
    return v or None


def addr(family, hexbytes):
    b = bytes.fromhex(hexbytes)
    return str(ipaddress.IPv4Address(b[:4]) if family == 4 else ipaddress.IPv6Address(b))


def proc(e):
    return {"comm": e["comm"] or None, "ppid": nz(e["ppid"])}


# docs/QUERY.md: which columns each kind fills, from which of its fields
EXPECT = {
    1: lambda e: {
        "state": state(e["state"]), "family": nz(e["family"]),
        "proto": {6: "tcp", 17: "udp"}.get(e["proto"], str(e["proto"]) if e["proto"] else None),
        "laddr": addr(e["family"], e["laddr"]), "lport": e["lport"],
        "raddr": None if int(e["raddr"], 16) == 0 else addr(e["family"], e["raddr"]),
        "rport": e["rport"], "direction": {1: "out", 2: "in"}.get(e["direction"]),
        "netns": e["netns"], "cgroup": e["cgroup_id"], "comm": e["comm"] or None},
    2: lambda e: {"tx_bytes": e["tx_bytes"], "rx_bytes": e["rx_bytes"],
                  "tx_packets": e["tx_pkts"], "rx_packets": e["rx_pkts"],
                  "tx_calls": e["tx_calls"], "rx_calls": e["rx_calls"]},
    3: lambda e: {"old_state": state(e["old_state"]), "new_state": state(e["new_state"])},
    4: lambda e: {"rtt_us": e["srtt_us"], "rttvar_us": e["rttvar_us"]},
    5: lambda e: {"retrans": e["segs"], "state": state(e["state"]),
                  "cause": dict(enumerate(["unknown", "rto", "fast", "tlp", "syn", "spurious"]))
                  .get(e["cause"]),
                  "spurious": nz(e["spurious"])},
    6: lambda e: {"reset_dir": {1: "sent", 2: "received"}.get(e["dir"]),
                  "state": state(e["state"])},
    7: lambda e: {"tx_bytes": e["tx_bytes"], "rx_bytes": e["rx_bytes"],
                  "tx_packets": e["tx_pkts"], "rx_packets": e["rx_pkts"],
                  "state": state(e["state"]), "rtt_us": nz(e["srtt_us"]),
                  "retrans": e["retrans"], "fail_reason": FAIL.get(e["fail_reason"])},
    8: proc, 9: proc, 11: proc,
    10: lambda e: dict(proc(e), exit_code=e["exit_code"]),
    12: lambda e: {"lost": e["count"], "cpu": e["cpu"]},
    13: lambda e: {"lost": e["lost"], "stat_events": e["events"], "stat_conns": e["conns"],
                   "stat_bytes": e["bytes_out"]},
    14: lambda e: {"connect_us": e["connect_us"], "syn_retrans": e["syn_retrans"]},
    15: lambda e: {"accept_wait_us": e["wait_us"]},
    # the samples and stalls tables hold the rest of their fields
    16: lambda e: {"rtt_us": e["srtt_us"], "rttvar_us": e["rttvar_us"]},
    17: lambda e: {},
    18: lambda e: {"family": nz(e["family"]), "laddr": addr(e["family"], e["laddr"]),
                   "lport": e["lport"], "netns": e["netns"], "accept_queue": e["accept_queue"],
                   "accept_queue_max": e["accept_queue_max"], "listen_drops": e["drops"],
                   "comm": e["comm"] or None},
    19: lambda e: {"reason": e["reason"] or None, "drop_code": e["code"]},
}


@pytest.mark.skipif(not os.path.exists(WRITER), reason="unit tests not built")
def test_each_kind_through_the_query(tmp_path):
    cap = str(tmp_path / "kinds.tt")
    r = run([WRITER, "write", cap])
    assert r.returncode == 0, r.stderr
    events = read_cap(cap).events
    assert sorted(e["kind"] for e in events) == sorted(NAMES)

    r = run([tool("tcptop-query"), "--no-progress", "-F", "json", cap,
             "SELECT * FROM events"])
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == len(events)
    for e, row in zip(events, rows):
        want = {"file": cap, "host": "kinds", "ts": e["ts"], "kind": NAMES[e["kind"]],
                "conn_id": nz(e["conn_id"]), "pid": nz(e["pid"]), "tid": nz(e["tid"]),
                "flags": e["flags"]}
        want.update(EXPECT[e["kind"]](e))
        cid = row.pop("community_id")
        if e["kind"] == 1:
            assert cid and cid.startswith("1:"), row
        else:
            assert cid is None, row
        got = {k: v for k, v in row.items() if v is not None or k in want}
        want = {k: v for k, v in want.items() if v is not None or k in got}
        assert got == want, NAMES[e["kind"]]
        # every field of the kind is somewhere: none of the values above is NULL
        assert all(v is not None for k, v in want.items() if k not in COMMON), want


# The fields whose values have names (docs/FORMAT.md, "JSON dump"): JSON gives the name under
# the field's key, as the query's column does, and the number under key_id.
NAMED = {"state": lambda v: state(v), "old_state": lambda v: state(v),
         "new_state": lambda v: state(v), "proto": {6: "tcp", 17: "udp"}.get,
         "direction": {1: "out", 2: "in"}.get, "dir": {1: "sent", 2: "received"}.get,
         "fail_reason": FAIL.get}


@pytest.mark.skipif(not os.path.exists(WRITER), reason="unit tests not built")
def test_each_kind_through_the_json_dump(tmp_path):
    """tcptop-replay --dump --json: names for states, protocol and directions, the numbers
    beside them as <key>_id, checked against the independent reader."""
    cap = str(tmp_path / "kinds.tt")
    r = run([WRITER, "write", cap])
    assert r.returncode == 0, r.stderr
    events = read_cap(cap).events
    r = run([tool("tcptop-replay"), "--dump", "--json", cap])
    assert r.returncode == 0, r.stderr
    dumped = [json.loads(x) for x in r.stdout.splitlines()[1:]]
    assert len(dumped) == len(events)
    named = 0
    for e, j in zip(events, dumped):
        for key, name in NAMED.items():
            if key in e and key != "kind":
                assert (j[key], j[key + "_id"]) == (name(e[key]), e[key]), (NAMES[e["kind"]], j)
                named += 1
    assert named >= 9


def test_one_name_per_state_in_every_output(tmp_path):
    """A state has one name in CSV, --dump, --dump --json and SQL: the refused connects of
    samples/resets.tt end CLOSED in each, and WHERE state = 'CLOSED' finds them; the view's -b
    says how each ended (CLOSED, REFUSED, RESET)."""
    cap = os.path.join(ROOT, "samples", "resets.tt")
    events = read_cap(cap).events
    closed = {e["conn_id"] for e in events if e["kind"] == 7 and e["state"] == 7}
    to_closed = sum(1 for e in events if e["kind"] == 3 and e["new_state"] == 7)
    assert len(closed) > 100 and to_closed > 100

    r = run([tool("tcptop-query"), "--no-progress", cap,
             "SELECT count(*) FROM connections WHERE state = 'CLOSED'"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [str(len(closed))]
    r = run([tool("tcptop-query"), "--no-progress", cap,
             "SELECT DISTINCT new_state FROM events WHERE kind = 'state'"])
    assert set(r.stdout.splitlines()[1:]) <= set(STATES[1:]) and "CLOSED" in r.stdout

    r = run([tool("tcptop-replay"), "--dump", cap])
    assert r.returncode == 0, r.stderr
    words = re.findall(r" state +conn .* (\S+) -> (\S+)$", r.stdout, re.M)
    assert sum(1 for _, new in words if new == "CLOSED") == to_closed
    assert {w for pair in words for w in pair} <= set(STATES[1:])

    r = run([tool("tcptop-replay"), "--dump", "--json", cap])
    js = [json.loads(x) for x in r.stdout.splitlines()[1:]]
    assert sum(1 for j in js if j["kind"] == "state" and j["new_state"] == "CLOSED") == to_closed

    out = tmp_path / "s.csv"
    r = run([tool("tcptop-replay"), "-b", "-i", "1h", "--csv", str(out), cap])
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().split("\n\n")[-1].splitlines()
    cols = last[1].split()
    view = [dict(zip(cols, x.split())) for x in last[2:]]
    # the view's cell says how each ended (REFUSED: a reset in SYN_SENT), CSV the state
    ended = [x["STATE"] for x in view if x["STATE"] in ("CLOSED", "REFUSED", "RESET")]
    assert len(ended) == len(closed) and "REFUSED" in ended, ended
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sum(1 for x in rows if x["state"] == "CLOSED") == len(closed)
