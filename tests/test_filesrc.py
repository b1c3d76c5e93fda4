"""A capture file as a live source (--source file:CAPTURE): the live view and the recorder take
it as they take the kernel, at the pace it was recorded. No root and no BPF needed.

Oracles: the independent Python reader of the format (every event of the copy against the
original's) and tcptop-query's own fold of the original (the view's last snapshot)."""
import os
import pathlib
import shutil
import tempfile
import time

import pytest

from conftest import ROOT, run, tool
from helpers.capture import STATS, read_cap

SAMPLES = os.path.join(ROOT, "samples")


@pytest.fixture
def nobody_dir():
    d = tempfile.mkdtemp(prefix="tt-filesrc-")  # pytest's own tree is closed to nobody
    os.chmod(d, 0o1777)
    yield pathlib.Path(d)
    shutil.rmtree(d)


def as_nobody():
    """setpriv prefix: the source needs no privileges at all."""
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] \
        if os.geteuid() == 0 else []


def test_record_again_keeps_every_event(nobody_dir):
    src = os.path.join(SAMPLES, "web.tt")
    out = nobody_dir / "again.tt"
    t0 = time.time()
    r = run(as_nobody() + [tool("tcptop-record"), "--source", "file:" + src, "-o", str(out)],
            timeout=60)
    took = time.time() - t0
    assert r.returncode == 0, r.stderr
    c0, c1 = read_cap(src), read_cap(str(out))
    hdr0, ev0, hdr1, ev1 = c0.header, c0.events, c1.header, c1.events
    assert not c1.warnings
    # played at the recorded pace: not faster than the capture lasted
    span = (max(e["ts"] for e in ev0) - min(e["ts"] for e in ev0)) / 1e9
    assert took >= span - 0.2, (took, span)
    # the same events in the recording's event clock (the reader gives wall time: the copy's is
    # moved to now by the header's offset alone); its STATS are that recording's, not ours
    def event_clock(evs, hdr):
        return [dict(e, ts=e["ts"] - hdr["clock_offset_ns"]) for e in evs if e["kind"] != STATS]
    keep, got = event_clock(ev0, hdr0), event_clock(ev1, hdr1)
    assert got == keep, (len(got), len(keep))
    assert ev1[-1]["kind"] == STATS and sum(e["kind"] == STATS for e in ev1) == 1
    # ours in wall time as the events are: after the last one, before the recorder ended (it
    # came 7.9 h late: stamped with this machine's CLOCK_BOOTTIME, not the played clock)
    last = max(e["ts"] for e in ev1[:-1])
    assert last <= ev1[-1]["ts"] <= (t0 + took) * 1e9, (last, ev1[-1]["ts"], t0 + took)
    assert ev1[-1]["ts"] - last < 2e9, (ev1[-1]["ts"] - last) / 1e9
    # what was recorded how is kept; played now, so wall time moved
    for k in ("mode", "probes", "missing", "coalesce_ms"):
        assert hdr1[k] == hdr0[k], k
    assert hdr1["clock_offset_ns"] > hdr0["clock_offset_ns"]


def test_live_view_ends_with_the_capture_totals():
    src = os.path.join(SAMPLES, "iperf3.tt")
    r = run(as_nobody() + [tool("tcptop"), "--source", "file:" + src, "-b", "-i", "0.5"],
            timeout=60)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().split("\n\n")[-1].splitlines()
    rows = {}
    for line in last[2:]:
        f = line.split()
        rows[(f[3], f[4])] = (int(f[8]), int(f[9]))
    q = run([tool("tcptop-query"), "-F", "csv", "--no-header", src,
             "SELECT laddr || ':' || lport, raddr || ':' || rport, tx_bytes, rx_bytes "
             "FROM connections WHERE proto = 'tcp'"])
    assert q.returncode == 0, q.stderr
    want = {(a, b): (int(tx), int(rx)) for a, b, tx, rx in
            (x.split(",") for x in q.stdout.splitlines())}
    assert rows == want, (rows, want)


def test_bad_capture_and_filters_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.tt"
    bad.write_bytes(b"not a capture at all")
    for args in (["--source", "file:" + str(bad), "-o", str(tmp_path / "x.tt")],
                 ["--source", "file:" + str(tmp_path / "none.tt"), "-o", str(tmp_path / "x.tt")],
                 ["--source", "file:" + os.path.join(SAMPLES, "web.tt"), "-P", "80", "-o",
                  str(tmp_path / "y.tt")]):
        r = run([tool("tcptop-record")] + args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (args, r.stderr)
    assert not (tmp_path / "x.tt").exists() and not (tmp_path / "y.tt").exists()
    r = run([tool("tcptop"), "--source", "file:" + str(bad), "-b", "-n", "1"])
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
