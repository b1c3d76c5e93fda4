"""Reliability: a capture taken during an incident is never lost or unreadable.

kill -9 at random moments, SIGINT/SIGTERM, a full disk, rotation rings, BPF objects left
behind on every exit path, and every truncation plus a thousand random corruptions of a
small capture through tcptop-replay --dump and tcptop-query.

Oracles: a traffic generator that logs every connection it made (when it finished, its
local port, the bytes it sent), iperf3 -J, and the independent Python reader of the format
(tests/pyreader/ttcap.py), never the code under test.
"""
import concurrent.futures
import csv
import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import ROOT, SEEDS, free_port, needs_bpf, needs_cmd, run, sanitized, tool
from helpers.capture import CLOSE, LOST, OPEN, STATS, TRAFFIC, closes_of, read_cap, ttcap
from helpers.recorder import Recorder, assert_bpf_gone
from helpers.traffic import call_flood, recv_all, tcp_pair
from test_record import assert_calls_missing_are_lost

REPLAY, QUERY, RECORD = tool("tcptop-replay"), tool("tcptop-query"), tool("tcptop-record")
# The promise is "kill -9 loses at most the last second". The recorder is a process on a
# 2-core machine shared with other builds: allow it this much scheduling delay on top.
KILL_LOSS_S = 1.0
SCHED_SLACK_S = 0.3
KILL_TRIALS = int(os.environ.get("TT_KILL_TRIALS", "10"))  # tests/bench/bench_soak.sh: more
SAN = sanitized("tcptop-replay")  # make SANITIZE=1 test: memory errors, not every input again


# ------------------------------------------------------------------ reading captures

def tools_read(path, cap):
    """replay --dump and query open the file, agree with the Python reader, warn as it does."""
    r = run([REPLAY, "--dump", "--json", path], timeout=60)
    assert r.returncode == 0, (path, r.returncode, r.stderr)
    lines = r.stdout.splitlines()
    assert json.loads(lines[0])["header"]["hostname"] == cap.header["hostname"]
    got = [json.loads(x) for x in lines[1:]]
    assert [(e["ts"], e["kind_id"], e["conn_id"]) for e in got] == \
        [(e["ts"], e["kind"], e["conn_id"]) for e in cap.events], path
    assert ("warning" in r.stderr) == bool(cap.warnings), (r.stderr, cap.warnings)
    r = run([QUERY, "--no-progress", "-F", "csv", "--no-header", path,
             "SELECT events, warnings FROM capture"], stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0, (path, r.stderr)
    n, w = (int(x) for x in r.stdout.strip().split(","))
    assert n == len(cap.events) and (w > 0) == bool(cap.warnings), (n, w, cap.warnings)


# ------------------------------------------------------------------ kill -9

@needs_bpf
@needs_cmd("bpftool")
def test_kill9_at_random_moments_loses_at_most_the_last_second(tmp_path, traffic):
    seed = int(time.time())
    rng = random.Random(seed)
    port = free_port()
    gen = traffic(port, 0.01, seed)
    report, windows = [], []
    for trial in range(KILL_TRIALS):
        path = str(tmp_path / ("k%d.tt" % trial))
        rec = Recorder(path, "-P", str(port))
        # a few kills right after attach (header only, first block in flight), the rest later
        time.sleep(rng.uniform(0, 0.3) if trial < 2 else rng.uniform(0.3, 2.5))
        t_kill = time.time()
        rec.kill9()
        assert rec.p.returncode == -signal.SIGKILL
        cap = read_cap(path)
        assert len(cap.warnings) == 1 and cap.end is None, cap.warnings
        assert "no end block" in cap.warnings[0] or "truncated" in cap.warnings[0]
        tools_read(path, cap)
        finished = gen.between(rec.ready, t_kill)
        got = closes_of(cap.events, port, finished)
        must = [d for d in finished if d[1] <= t_kill - KILL_LOSS_S - SCHED_SLACK_S]
        for t0, t1, lport, n in must:
            c, s = got[(t0, lport)]
            assert c, ("trial %d seed %d: connection finished %.2f s before the kill is missing"
                       % (trial, seed, t_kill - t1))
            assert c["tx_bytes"] == n and s and s["rx_bytes"] == n
        for t0, _, lport, n in finished:  # whatever is there is right
            c = got[(t0, lport)][0]
            assert not c or c["tx_bytes"] == n
        missing = [t_kill - d[1] for d in finished if not got[(d[0], d[2])][0]]
        windows.append(max(missing, default=0))
        last = max((e["ts"] for e in cap.events), default=0) / 1e9
        report.append("trial %d: killed %.2f s after attach, %d connections finished, %d on disk, "
                      "oldest missing finished %.2f s before the kill, last event %.2f s before"
                      % (trial, t_kill - rec.ready, len(finished), len(finished) - len(missing),
                         max(missing, default=0), t_kill - last if last else -1))
        assert_bpf_gone(rec.objs, "kill -9")
    print("\n".join(report))
    print("KILL9 trials=%d max_lost_window_s=%.2f mean_lost_window_s=%.2f" % (
        len(windows), max(windows), sum(windows) / len(windows)))
    assert len(gen.done) > 100  # the generator really ran through the trials


# ------------------------------------------------------------------ SIGINT / SIGTERM

@needs_bpf
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_complete_file_and_stats(tmp_path, traffic, sig):
    port = free_port()
    gen = traffic(port, 0.01)
    path = str(tmp_path / "sig.tt")
    rec = Recorder(path, "-P", str(port))
    time.sleep(1.5)
    t_sig = time.time()
    rc, err = rec.stop(sig)
    assert rc == 0, err
    cap = read_cap(path)
    assert cap.warnings == [] and cap.end is not None and cap.end["events"] == len(cap.events)
    assert cap.events[-1]["kind"] == STATS
    tools_read(path, cap)
    # everything the kernel reported before the signal is in the file: nothing is lost
    finished = gen.between(rec.ready, t_sig)
    assert len(finished) > 20
    got = closes_of(cap.events, port, finished)
    for t0, _, lport, n in finished:
        c = got[(t0, lport)][0]
        assert c and c["tx_bytes"] == n, (lport, n, c)
    lines = [x for x in err.strip().splitlines() if " sampling passes: " not in x]
    assert len(lines) == 1, err
    stats = cap.events[-1]
    assert lines[0].startswith("%d events, %d connections, " % (stats["events"], stats["conns"]))
    assert stats["events"] == len(cap.events) - 1 and " 0 lost," in lines[0]
    assert_bpf_gone(rec.objs, signal.Signals(sig).name)


@needs_bpf
def test_exit_stats_bytes_written_is_the_file_size(tmp_path):
    """'N bytes written' at exit is the file's size (it once left out the last block, the
    index and the end block)."""
    path = str(tmp_path / "b.tt")
    r = run([RECORD, "-o", path, "-d", "1"])
    assert r.returncode == 0, r.stderr
    words = r.stderr.split()
    written = int(words[words.index("bytes") - 1])
    assert written == os.path.getsize(path), r.stderr


# ------------------------------------------------------------------ disk full

@pytest.fixture
def small_tmpfs(tmp_path):
    d = tmp_path / "full"
    d.mkdir()
    r = run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tt-test-full", str(d)])
    if r.returncode:
        pytest.skip("cannot mount tmpfs: " + r.stderr.strip())
    try:
        yield str(d)
    finally:
        run(["umount", "-l", str(d)])


@needs_bpf
@needs_cmd("bpftool")
def test_disk_full_stops_cleanly_and_file_reads_to_last_block(small_tmpfs, traffic):
    # leave ~48 KB: the generator's events fill it within seconds
    st = os.statvfs(small_tmpfs)
    with open(os.path.join(small_tmpfs, "filler"), "wb") as f:
        f.write(b"\0" * (st.f_bavail * st.f_frsize - 48 * 1024))
    port = free_port()
    gen = traffic(port, 0.002)
    path = os.path.join(small_tmpfs, "full.tt")
    rec = Recorder(path, "-P", str(port), "--raw-slice", "0")
    try:
        _, err = rec.p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        rec.kill9()
        raise AssertionError("recorder did not stop on a full disk")
    t_exit = time.time()
    assert rec.p.returncode == 1, (rec.p.returncode, err)
    # the statistics lines aside
    msgs = [x for x in err.splitlines() if "events," not in x and " sampling passes: " not in x]
    assert len(msgs) == 1 and msgs[0].startswith("tcptop-record: "), err
    assert "no space left on device" in msgs[0].lower(), err
    cap = read_cap(path)
    assert len(cap.warnings) <= 1 and cap.events
    tools_read(path, cap)
    # up to the last complete block: what was flushed before the disk filled is there
    assert t_exit - cap.events[-1]["ts"] / 1e9 < 2.5
    # and every connection that finished before the last event on disk is complete there
    early = gen.between(rec.ready, cap.events[-1]["ts"] / 1e9 - 0.05)
    got = closes_of(cap.events, port, early)
    bad = [d for d in early if not (got[(d[0], d[2])][0] or {}).get("tx_bytes") == d[3]]
    assert early and not bad, bad
    assert_bpf_gone(rec.objs, "disk full")


# ------------------------------------------------------------------ no BPF objects left behind

@needs_bpf
@needs_cmd("bpftool")
def test_no_bpf_objects_left_after_normal_exit(tmp_path):
    """Normal exit (-d). Signals, kill -9 and a runtime error (disk full) are checked above."""
    rec = Recorder(str(tmp_path / "x.tt"), "-d", "1")
    _, err = rec.p.communicate(timeout=30)
    assert rec.p.returncode == 0, err
    assert_bpf_gone(rec.objs, "normal exit")


# ------------------------------------------------------------------ rotation

def send_until(port, stop, max_s=20):
    """One connection sending random-sized writes (--raw-slice 0: one event each, ~4 bytes on
    disk) until stop() says so; returns the bytes the kernel took."""
    srv, cli, acc = tcp_pair(port)
    got = []
    t = threading.Thread(target=lambda: got.append(recv_all(acc)))
    t.start()
    rng, buf, sent, t0 = random.Random(3), b"z" * 2000, 0, time.time()
    while not stop() and time.time() - t0 < max_s:
        for _ in range(200):
            sent += cli.send(buf[:rng.randrange(1, 2000)])
    cli.close()
    t.join()
    acc.close()
    srv.close()
    assert got[0] == sent
    return sent


@needs_bpf
def test_size_rotation_set_is_one_continuous_timeline(tmp_path):
    """-C 1 without -W: every byte sent is in exactly one of the files (--raw-slice 0), and
    replay plays the set as one timeline with that total."""
    port = free_port()
    path = str(tmp_path / "c.tt")
    rec = Recorder(path, "-C", "1", "--raw-slice", "0", "-P", str(port))
    second = [None]

    def stop():  # half a second into the second file
        if second[0] is None and os.path.exists(path + ".1"):
            second[0] = time.time()
        return second[0] is not None and time.time() - second[0] > 0.5
    sent = send_until(port, stop)
    time.sleep(0.3)
    rc, err = rec.stop()
    assert rc == 0, err
    files = [path] + sorted((os.path.join(tmp_path, f) for f in os.listdir(tmp_path)
                             if f.startswith("c.tt.")), key=lambda f: int(f.rsplit(".", 1)[1]))
    assert len(files) >= 2, files
    assert " %d files" % len(files) in err
    caps = [read_cap(f) for f in files]
    lost = 0
    for f, cap in zip(files, caps):
        # every file complete, each but the last at least the size asked for
        assert cap.warnings == [] and cap.end is not None, (f, cap.warnings)
        assert cap.events[-1]["kind"] == STATS
        lost += sum(e["count"] for e in cap.events if e["kind"] == LOST)
    for f in files[:-1]:
        assert os.path.getsize(f) >= 1000000
    # files follow each other in time, without overlap
    for a, b in zip(caps, caps[1:]):
        assert max(e["ts"] for e in a.events) <= b.header["start_ns"] + 10**9 // 10
    # what the ring buffer lost (a loaded machine) is counted, the same in the LOST records,
    # the last STATS record and the recorder's account
    assert caps[-1].events[-1]["lost"] == lost
    assert " %d lost" % lost in err, err
    # per-call events of the connection, over the whole set, add up to what was sent, but for
    # the lost events: each was at most one call (< 2000 bytes)
    tx, closed = {}, False
    for cap in caps:
        opens = {e["conn_id"]: e for e in cap.events if e["kind"] == OPEN}
        for e in cap.events:
            mine = e["conn_id"] in opens and opens[e["conn_id"]]["rport"] == port
            if e["kind"] == TRAFFIC and mine:
                tx[e["conn_id"]] = tx.get(e["conn_id"], 0) + e["tx_bytes"]
            closed |= e["kind"] == CLOSE and mine
    assert len(tx) == 1, tx
    (counted,) = tx.values()
    assert counted <= sent and sent - counted <= 1999 * lost, (counted, sent, lost)
    if not lost:
        assert counted == sent and closed
    # and replay plays the set as one timeline with the same total (the close's counters fill
    # in what was lost, when the close itself was not)
    csv_path = str(tmp_path / "s.csv")
    r = run([REPLAY, "--batch", "-i", "1000", "--csv", csv_path] + files)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(csv_path)))
    last = max(int(x["time_ns"]) for x in rows)
    total = max(int(x["tx_bytes"]) for x in rows if int(x["time_ns"]) == last)
    assert total == (sent if closed else counted), (total, sent, counted, lost)


@needs_bpf
def test_ring_keeps_exactly_n_files_all_complete(tmp_path, traffic):
    """-G 1 -W 3 over ~5.5 s wraps: 3 files, each complete, together the last stretch of time
    with every connection that finished in it exactly once."""
    port = free_port()
    gen = traffic(port, 0.02)
    path = str(tmp_path / "ring.tt")
    rec = Recorder(path, "-G", "1", "-W", "3", "-P", str(port))
    time.sleep(5.5)
    t_stop = time.time()
    rc, err = rec.stop()
    assert rc == 0, err
    assert sorted(os.listdir(tmp_path)) == ["ring.tt", "ring.tt.1", "ring.tt.2"]
    assert " 3 files" not in err and "files" in err  # more than 3 files were begun
    caps = sorted((read_cap(str(tmp_path / f)) for f in os.listdir(tmp_path)),
                  key=lambda c: c.header["start_ns"])
    for cap in caps:
        assert cap.warnings == [] and cap.end is not None
        assert cap.events[-1]["kind"] == STATS
    # one timeline: each file begins where the previous one ended
    for a, b in zip(caps, caps[1:]):
        gap = b.header["start_ns"] - a.events[-1]["ts"]
        assert -10**7 <= gap < 10**9 // 2, gap  # (10 ms: two clocks, boottime + offset and wall)
    t_first = caps[0].header["start_ns"] / 1e9
    want = gen.between(t_first + 0.1, t_stop)
    assert len(want) > 50
    per_file = [closes_of(cap.events, port, want) for cap in caps]
    for t0, _, lport, n in want:
        found = [g[(t0, lport)][0] for g in per_file if g[(t0, lport)][0]]
        assert len(found) == 1, ("closed %d times in the ring" % len(found), lport, n)
        assert found[0]["tx_bytes"] == n
    # the ring's files replay together
    r = run([REPLAY, "--dump", str(tmp_path / "ring.tt"), str(tmp_path / "ring.tt.1"),
             str(tmp_path / "ring.tt.2")])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert len(r.stdout.splitlines()) == sum(len(c.events) for c in caps)


# ------------------------------------------------------------------ damaged captures

def sample_captures():
    """A small real capture from the repository, and the smallest of samples/ if present."""
    out = [os.path.join(SEEDS, "recorded-small.tt")]
    samples = os.path.join(ROOT, "samples")
    if os.path.isdir(samples):
        tts = [os.path.join(samples, f) for f in os.listdir(samples) if f.endswith(".tt")]
        if tts:
            out.append(min(tts, key=os.path.getsize))
    return out


def expect(data):
    """What the independent reader makes of these bytes: None (must be refused) or Capture."""
    try:
        return ttcap.read(data)
    except ttcap.FormatError:
        return None


# One shell runs a tool over many refused files (one process per file, no Python fork cost,
# no other process): prints "exit-status stderr-lines" per file.
REFUSED_SH = r'''
tool=$1; shift
for f in "$@"; do
    if [ "$tool" = replay ]; then "$REPLAY" --dump "$f" >/dev/null 2>"$ERR"
    else "$QUERY" --no-progress "$f" "SELECT count(*) FROM events" </dev/null >/dev/null 2>"$ERR"
    fi
    rc=$? n=0
    while IFS= read -r _; do n=$((n + 1)); done < "$ERR"
    echo "$rc $n"
done
'''


# (conn_id as SQL shows it: signed, UDP flow ids of 2^63 and more negative)
DUMP_KEY = re.compile(r'^\{"ts":(\d+),"time":"[^"]*","kind":"[^"]*","kind_id":(\d+),'
                      r'"conn_id":(-?\d+),', re.M)


def run_batch(args, files, what):
    """Run a tool over many files at once; if it crashes or hangs, find which file did it."""
    try:
        r = run(args + files, stdin=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 0:
        for f in files:
            one = run(args + [f], stdin=subprocess.DEVNULL, timeout=20)
            assert one.returncode == 0, (what, f, args[0], one.returncode, one.stderr[-1000:])
        assert r is not None, (what, "hangs on the batch, not on any one file")
        assert r.returncode == 0, (what, r.returncode, r.stderr[-2000:])
    return r


def check_batch(tmp, datas, what):
    """Write the files, run replay --dump --json and query over all of them at once (one
    process each, so thousands of files stay fast), and compare with the Python reader.
    Files the reader refuses must be refused by both tools: one line, exit 2.
    Returns the Python reader's Capture of every file it accepted."""
    good, refused = [], []
    for i, data in enumerate(datas):
        p = os.path.join(tmp, "%s-%d.tt" % (what, i))
        with open(p, "wb") as f:
            f.write(data)
        cap = expect(data)
        if cap is None:
            refused.append(p)
        else:
            good.append((p, cap))
    if refused:
        env = dict(os.environ, REPLAY=REPLAY, QUERY=QUERY, ERR=os.path.join(tmp, what + ".err"))
        for t in ("replay", "query"):
            r = run(["sh", "-c", REFUSED_SH, "sh", t] + refused, env=env, timeout=300)
            got = r.stdout.split("\n")[:-1]
            assert len(got) == len(refused), (t, r.stdout[-500:], r.stderr)
            for p, line in zip(refused, got):
                assert line == "2 1", (t, p, line)  # exit 2, one line
    if not good:
        return []
    names = [p for p, _ in good]
    r = run_batch([REPLAY, "--dump", "--json"], names, what)
    # thousands of files: the key fields by one regex, not a json.loads per line
    got = sorted((int(a), int(b), int(c) % (1 << 64)) for a, b, c in DUMP_KEY.findall(r.stdout))
    assert len(got) == r.stdout.count("\n") - 1, "a dump line without ts/kind_id/conn_id"
    want = sorted((e["ts"], e["kind"], e["conn_id"]) for _, c in good for e in c.events)
    assert got == want, what
    for p, cap in good:
        assert (("warning: %s:" % p) in r.stderr) == bool(cap.warnings), (p, cap.warnings)
    sql = os.path.join(tmp, what + ".sql")
    with open(sql, "w") as f:
        f.write("SELECT file, events, warnings FROM capture")
    r = run_batch([QUERY, "--no-progress", "-F", "json", "--sql-file", sql], names, what)
    rows = {x["file"]: x for x in json.loads(r.stdout)}
    for p, cap in good:
        assert rows[p]["events"] == len(cap.events), p
        assert (rows[p]["warnings"] > 0) == bool(cap.warnings), (p, cap.warnings)
    return [cap for _, cap in good]


def in_parallel(fn, jobs):
    """fn(*job) for every job, in one worker process per CPU: the batches are independent and
    each keeps a CPU busy (the Python reader, then the tools), so two cores read them in about
    half the time. A batch's failed assertion is raised here."""
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 1, mp_context=ctx) as ex:
        for f in [ex.submit(fn, *job) for job in jobs]:
            f.result()


def truncation_batch(tmp, data, cuts, what, full_events):
    for cap in check_batch(tmp, [data[:c] for c in cuts], what):
        # data up to the damage: a prefix of the whole, and one warning
        assert cap.events == full_events[:len(cap.events)] and len(cap.warnings) == 1


@pytest.mark.parametrize("sample", sample_captures(), ids=os.path.basename)
def test_every_truncation(tmp_path, sample):
    data = open(sample, "rb").read()
    full = ttcap.read(data)
    assert full.warnings == [] and full.events
    step = max(1, len(data) // 4000)  # every byte of a small capture; a stride for big ones
    if SAN:
        step *= 4  # a quarter of them: the plain run reads every cut with the same code
    cuts = list(range(0, len(data), step))
    in_parallel(truncation_batch, [(str(tmp_path), data, cuts[k:k + 250], "cut%d" % k, full.events)
                                   for k in range(0, len(cuts), 250)])


def corrupt(rng, data):
    d = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 3, 8])):
        how = rng.randrange(6)
        pos = rng.randrange(len(d))
        if how == 0:
            d[pos] ^= 1 << rng.randrange(8)
        elif how == 1:
            d[pos] = rng.randrange(256)
        elif how == 2:
            d[pos:pos + rng.randrange(1, 64)] = bytes(rng.randrange(256) for _ in range(8))
        elif how == 3:
            del d[pos:pos + rng.randrange(1, 200)]
        elif how == 4:
            d[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 100)))
        else:  # a length or count field made huge: the reader must not trust it
            d[pos:pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x80",
                                         b"\xff\xff\xff\x00"])
    return bytes(d)


def corruption_batch(tmp, datas, what):
    check_batch(tmp, datas, what)


@pytest.mark.parametrize("sample", sample_captures(), ids=os.path.basename)
def test_thousand_random_corruptions(tmp_path, sample):
    data = open(sample, "rb").read()
    rng = random.Random(7)
    n = 250 if SAN else 1000  # the plain run reads all 1000 with the same code
    datas = [corrupt(rng, data) for _ in range(n)]
    in_parallel(corruption_batch, [(str(tmp_path), datas[k:k + 125], "bad%d" % k)
                                   for k in range(0, n, 125)])


@pytest.mark.parametrize("name", ["year-gap.tt", "damaged-index-bogus-end.tt"])
def test_no_hang_on_time_gaps(name):
    """A capture with a long gap (year-gap.tt: two events a year apart, valid) or a damaged
    one whose time range ends years after its last event: replay once walked the empty time
    interval by interval and took minutes to hours to dump a few events."""
    path = os.path.join(SEEDS, name)
    cap = ttcap.read(path)
    try:
        r = run([REPLAY, "--dump", path], timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("tcptop-replay --dump %s: still running after 10 s for %d events"
                             % (name, len(cap.events)))
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(cap.events)


# ------------------------------------------------------------------ ring-buffer overflow

@needs_bpf
def test_ring_buffer_overflow_is_visible_in_replay_and_query(tmp_path):
    """A 4 KiB ring buffer under --raw-slice 0 load loses events: the LOST records carry their
    time and counts, the exit statistics, replay's header and query's lost table all say the
    same."""
    port = free_port()
    path = str(tmp_path / "lost.tt")
    rec = Recorder(path, "--raw-slice", "0", "--ringbuf-kb", "4", "--coalesce", "1h",
                   "-P", str(port))
    sends, recvs, sent, lport = call_flood(port, 1.0)
    rc, err = rec.stop()
    assert rc == 0, err
    cap = read_cap(path)
    lost = [e for e in cap.events if e["kind"] == LOST]
    assert lost and all(e["count"] > 0 and e["ts"] > 0 for e in lost), "no loss at 4 KiB?"
    total = sum(e["count"] for e in lost)
    assert cap.events[-1]["kind"] == STATS and cap.events[-1]["lost"] == total
    assert " %d lost," % total in err
    # LOST records sit in the timeline where the loss was noticed, inside the recording
    t0, t1 = cap.header["start_ns"], cap.events[-1]["ts"]
    assert all(t0 - 10**9 <= e["ts"] <= t1 for e in lost)
    r = run([REPLAY, "--batch", "-i", "1000", path])
    assert r.returncode == 0, r.stderr
    heads = [x for x in r.stdout.splitlines() if x.startswith("tcptop")]
    assert heads and re.search(r"\blost %d\b" % total, heads[-1]), heads[-1:]
    r = run([QUERY, "--no-progress", "-F", "csv", "--no-header", path,
             "SELECT count(*), sum(count), min(ts) FROM lost"], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    n, s, first = (int(x) for x in r.stdout.strip().split(","))
    assert (n, s, first) == (len(lost), total, min(e["ts"] for e in lost))
    # the connection's own events that did arrive are still per call: the calls missing are the
    # ones lost, and the client's close counts every byte its calls sent
    assert_calls_missing_are_lost(cap.events, lport, sends, recvs, total)
    (close,) = [e for e in cap.events if e["kind"] == CLOSE and e["conn_id"] in
                {o["conn_id"] for o in cap.events if o["kind"] == OPEN and o["lport"] == lport}]
    assert close["tx_bytes"] == sent
    tx = sum(e["tx_bytes"] for e in cap.events if e["kind"] == TRAFFIC)
    assert 0 < tx <= sent


def test_time_range_ignores_damaged_blocks():
    """BUG (format/, reported to the lead): in damaged-index-bogus-end.tt the index cannot be
    used (bytes were inserted before it) and the last EVENTS block fails its CRC; the reader's
    header walk (tt_fmt_reader_time_range, seek_time) still takes that block's last_ts, a
    corrupted value in 2031, while every readable event is from 2026."""
    path = os.path.join(SEEDS, "damaged-index-bogus-end.tt")
    cap = ttcap.read(path)
    r = run([QUERY, "--no-progress", "-F", "csv", "--no-header", path,
             "SELECT start_ns, end_ns, (SELECT max(ts) FROM events) FROM capture"],
            stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    start, end, last = (int(x) for x in r.stdout.strip().split(","))
    assert last == max(e["ts"] for e in cap.events)
    assert end == last, "time range ends %.0f days after the last readable event" % (
        (end - last) / 86400e9)
