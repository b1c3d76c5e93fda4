"""The capture format: the C reader/writer (build/tests/test_format) against the independent
Python reader written from docs/FORMAT.md (tests/pyreader/ttcap.py), and hand-made bad files."""
import json
import os
import random
import struct
import sys

import pytest
import zstandard

from conftest import ROOT, run, tool

sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
import ttcap  # noqa: E402
from helpers.ttvariant import encode_events, varint  # noqa: E402

TF = tool("tests/test_format")
DATA = os.path.join(ROOT, "tests", "data")

pytestmark = pytest.mark.skipif(not os.path.exists(TF), reason="build/tests/test_format not built")


def c_dump(path):
    """(header, events, stderr lines, exit code) as the C reader sees the file."""
    r = run([TF, "dump", path])
    lines = r.stdout.splitlines()
    header = json.loads(lines[0]) if lines else None
    return header, [json.loads(x) for x in lines[1:]], r.stderr.splitlines(), r.returncode


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("fmt") / "gen.tt")
    r = run([TF, "gen", path, "30000"])
    assert r.returncode == 0, r.stderr
    return path


def test_c_and_python_agree_on_every_field(capture):
    header, events, err, rc = c_dump(capture)
    assert rc == 0 and err == []
    cap = ttcap.read(capture)
    assert cap.warnings == []
    assert header == cap.header
    assert header["hostname"] == "testhost.example" and header["clock"] == "boottime"
    assert len(events) == 30000
    assert {e["kind"] for e in events} == set(range(1, 20)), "every kind is generated"
    for i, (c, p) in enumerate(zip(events, cap.events)):
        assert c == p, "event %d differs" % i
    assert len(cap.events) == len(events)
    assert cap.end == {"events": 30000, "blocks": cap.end["blocks"],
                       "index_offset": cap.end["index_offset"]}
    assert cap.end["blocks"] > 10


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("fmt") / "small.tt")
    r = run([TF, "gen", path, "4000"])
    assert r.returncode == 0, r.stderr
    return path


def test_truncated_files_give_the_same_prefix(small, tmp_path):
    data = open(small, "rb").read()
    full = ttcap.read(small).events
    rng = random.Random(5)
    cuts = sorted(rng.sample(range(200, len(data)), 25)) + [len(data) - 1, len(data) - 30]
    for cut in cuts:
        p = str(tmp_path / "cut.tt")
        with open(p, "wb") as f:
            f.write(data[:cut])
        _, events, err, rc = c_dump(p)
        cap = ttcap.read(p)
        assert rc == 0
        assert events == cap.events, "cut at %d" % cut
        assert events == full[:len(events)]
        assert len(err) == 1 and len(cap.warnings) == 1
        assert ("truncated" in err[0]) == ("truncated" in cap.warnings[0]), (err, cap.warnings)


def test_damaged_files_agree(small, tmp_path):
    data = bytearray(open(small, "rb").read())
    full = ttcap.read(small).events
    rng = random.Random(9)
    for _ in range(20):
        d = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            d[rng.randrange(300, len(d))] ^= 1 << rng.randrange(8)
        p = str(tmp_path / "flip.tt")
        with open(p, "wb") as f:
            f.write(d)
        _, events, err, rc = c_dump(p)
        cap = ttcap.read(p)
        assert rc == 0
        assert events == cap.events
        assert len(events) < len(full) or err == []
        assert err and any("damaged data" in e or "CRC" in e for e in err)


def test_stdin_pipe(capture):
    r = run(["sh", "-c", "cat '%s' | '%s' dump -" % (capture, TF)])
    assert r.returncode == 0 and r.stderr == ""
    assert len(r.stdout.splitlines()) == 30001


# Each hand-made bad file (tests/data/make_bad.py) and the exact message it must produce.
BAD_FILES = {
    "not-a-capture.tt": "not a tcptop capture",
    "empty.tt": "not a tcptop capture",
    "short-preamble.tt": "not a tcptop capture",
    "big-endian.tt": "not a tcptop capture",
    "newer-major.tt": "capture format version 2.3 is not supported (this reader reads 1.x)",
    "no-header.tt": "damaged capture header",
    "damaged-header.tt": "damaged capture header",
    "events-first.tt": "damaged capture header",
    "huge-length.tt": "damaged capture header",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_message(name):
    path = os.path.join(DATA, name)
    r = run([TF, "dump", path])
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "test_format: %s: %s\n" % (path, BAD_FILES[name])
    with pytest.raises(ttcap.FormatError) as e:
        ttcap.read(path)
    assert BAD_FILES[name].startswith(str(e.value))


# ---- forward compatibility: a file with things a 1.0 reader must skip, made from the spec


def events_block(rows, extra_streams=()):
    """rows: (kind, flags, ts, conn, pid, tid, payload bytes)."""
    return ttcap.block(ttcap.EVENTS, encode_events(rows, extra_streams))


def test_newer_minor_features_are_skipped(tmp_path):
    hdr = (struct.pack("<HH", 1, 6) + b"future" + struct.pack("<HH", 99, 3) + b"new" +
           struct.pack("<HH", 9, 8) + struct.pack("<q", -1000))
    traffic_new_field = varint(100) + varint(0) + varint(1) + varint(0) + varint(1) + varint(0) \
        + varint(77)  # a seventh TRAFFIC field from a newer minor version
    traffic_short = varint(5)  # only tx_bytes: the rest read as 0
    rows = [
        (2, 4, 5000, 42, 7, 7, traffic_new_field),
        (50, 0, 5100, 42, 7, 7, b"\x01\x02\x03"),  # a kind from the future
        (2, 0, 4900, 43, 7, 9, traffic_short),
        (4, 0, 5200, 43, 8, 8, varint(250)),
    ]
    data = (ttcap.preamble(minor=7) + ttcap.block(ttcap.HEADER, hdr) +
            ttcap.block(77, b"unknown block type") + ttcap.block(ttcap.SNAPSHOT, b"x" * 9) +
            events_block(rows, extra_streams=[b"\x05" * 4]) +
            ttcap.block(ttcap.END, b""))
    p = str(tmp_path / "future.tt")
    with open(p, "wb") as f:
        f.write(data)
    header, events, err, rc = c_dump(p)
    # what it skipped, in one warning (the SNAPSHOT is a known type)
    assert rc == 0 and err == ["test_format: warning: %s: skipped what this reader of format 1.1 "
                               "does not know (capture format 1.7): 1 header tags, 1 blocks, 1 "
                               "events of unknown kinds, 1 events' extra fields, 1 blocks' "
                               "extra streams" % p]
    assert header["version_minor"] == 7 and header["hostname"] == "future"
    assert header["clock_offset_ns"] == -1000
    base = {"flags": 0, "tx_pkts": 0, "rx_pkts": 0, "rx_calls": 0, "tx_calls": 0}
    assert events == [
        dict(base, ts=4000, conn_id=42, pid=7, tid=7, kind=2, flags=4, tx_bytes=100,
             rx_bytes=0, tx_pkts=1, tx_calls=1),
        dict(base, ts=3900, conn_id=43, pid=7, tid=9, kind=2, tx_bytes=5, rx_bytes=0),
        {"ts": 4200, "conn_id": 43, "pid": 8, "tid": 8, "kind": 4, "flags": 0,
         "srtt_us": 250, "rttvar_us": 0},
    ]
    assert ttcap.read(p).events == events
