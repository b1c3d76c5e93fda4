"""Reading a capture back, and grouping its events per connection.

Two readers, on purpose: read_capture() asks the C code (the format's own dumper, or
tcptop-replay --dump --json on a build without unit tests); read_cap() asks the independent
Python reader (tests/pyreader/ttcap.py), the oracle where the C reader itself is under test.
"""
import json
import os
import sys

from conftest import ROOT, run, tool

sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
import ttcap  # noqa: E402

# event kinds (include/tt_event.h) and directions
OPEN, TRAFFIC, STATE, RTT, RETRANS, RESET, CLOSE, PROC = 1, 2, 3, 4, 5, 6, 7, 8
LOST, STATS = 12, 13
SAMPLE, STALL = 16, 17
OUTBOUND, INBOUND = 1, 2


def read_capture(path):
    """(header, events) with kinds as numbers, via whichever C reader is built."""
    dumper = tool("tests/test_format")
    if os.path.exists(dumper):
        r = run([dumper, "dump", path])
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        return json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    r = run([tool("tcptop-replay"), "--dump", "--json", path])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    evs = []
    for e in lines[1:]:
        # named fields (state, proto, direction, dir) keep their numbers under <key>_id
        for k in [k for k in e if k.endswith("_id") and k[:-3] in e]:
            e[k[:-3]] = e[k]
        evs.append(e)
    return lines[0]["header"], evs


def read_cap(path):
    """The independent reader's view: a ttcap.Capture (header, events, warnings, end)."""
    return ttcap.read(path)


def connections(events):
    """Per connection: its open, summed deltas, close, states, pid after CONN_PROC, events."""
    conns = {}
    for e in events:
        c = conns.get(e["conn_id"])
        if e["kind"] == OPEN:
            conns[e["conn_id"]] = c = {
                "open": e, "tx": 0, "rx": 0, "txp": 0, "rxp": 0, "close": None,
                "states": [], "pid": e["pid"], "comm": e["comm"], "kinds": [],
                "retrans": 0, "resets": [],
            }
        if c is None:
            continue
        c["kinds"].append(e["kind"])
        if e["kind"] == TRAFFIC:
            c["tx"] += e["tx_bytes"]
            c["rx"] += e["rx_bytes"]
            c["txp"] += e["tx_pkts"]
            c["rxp"] += e["rx_pkts"]
        elif e["kind"] == STATE:
            c["states"].append((e["old_state"], e["new_state"]))
        elif e["kind"] == CLOSE:
            c["close"] = e
        elif e["kind"] == PROC:
            c["pid"], c["comm"] = e["pid"], e["comm"]
        elif e["kind"] == RETRANS:
            c["retrans"] += e["segs"]
        elif e["kind"] == RESET:
            c["resets"].append(e["dir"])
    return conns


def find(conns, proto, lport=None, rport=None):
    """The connections() of a protocol (6, 17), on these ports if given."""
    return [c for c in conns.values() if c["open"]["proto"] == proto
            and (lport is None or c["open"]["lport"] == lport)
            and (rport is None or c["open"]["rport"] == rport)]


def closes_of(events, port, done, slack=0.25):
    """{(t0, lport): (client close, server close)} for the connections a Traffic generator
    logged in done [(t0, t1, lport, n)], each end None if the capture lacks it. Matched by the
    client's port and by when the connection opened: ports come back within a second or two
    under load, so the port alone may name an older connection."""
    closes = {e["conn_id"]: e for e in events if e["kind"] == CLOSE}
    ends = ({}, {})  # client port -> [(open time s, conn_id)], for the client and server ends
    for e in events:
        if e["kind"] != OPEN:
            continue
        if e["rport"] == port and e["direction"] == OUTBOUND:
            ends[0].setdefault(e["lport"], []).append((e["ts"] / 1e9, e["conn_id"]))
        elif e["lport"] == port and e["direction"] == INBOUND:
            ends[1].setdefault(e["rport"], []).append((e["ts"] / 1e9, e["conn_id"]))

    def close(end, t0, t1, lport):
        ids = [cid for ts, cid in end.get(lport, ()) if t0 - slack <= ts <= t1 + slack]
        assert len(ids) <= 1, ("two connections from port %d within %.2f s" % (lport, t1 - t0))
        return closes.get(ids[0]) if ids else None

    return {(t0, lport): (close(ends[0], t0, t1, lport), close(ends[1], t0, t1, lport))
            for t0, t1, lport, _ in done}


def query_json(path, sql):
    """The rows of tcptop-query's SQL on a capture, as dicts (-F json; [] for none)."""
    r = run([tool("tcptop-query"), "--no-progress", "-F", "json", path, sql])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout or "[]")
