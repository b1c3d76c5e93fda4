"""tcptop-replay, black-box: final totals against independent oracles, snapshots, dumps, cuts,
bad input, and real iperf3 traffic recorded by tcptop-record."""
import calendar
import json
import os
import re
import signal
import subprocess
import time

import pytest

from helpers.recorder import wait_header
from conftest import ROOT, BUILD, free_port, needs_bpf, needs_cmd, run, tool

REPLAY = tool("tcptop-replay")

# A synthetic capture generator, written against the capture writer (tt_fmt.h) only. It also
# writes what every connection's totals must be, computed as it generates: the oracle does
# not come from any code under test in the replay path.
GEN_C = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tt_fmt.h"

#define S 1000000000ull
int main(int argc, char **argv)
{
	static const char *names[] = { "curl", "nginx", "iperf3", "sshd", "python3" };
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_fmt_wopts wo = { .force = 1, .block_events = 1000 }; /* blocks, as a recorder flushes */
	struct tt_event ev;
	char err[256];
	if (argc < 8) {
		fprintf(stderr, "usage: gen OUT N SECS CLOSEAT IDBASE SHIFT_S EXPECTED\n");
		return 2;
	}
	unsigned long n = strtoul(argv[2], NULL, 0), secs = strtoul(argv[3], NULL, 0);
	unsigned long closeat = strtoul(argv[4], NULL, 0), idbase = strtoul(argv[5], NULL, 0);
	/* wall time, as the writer takes it: the file holds 1000 s of boot time (+ SHIFT_S) */
	uint64_t shift = strtoull(argv[6], NULL, 0) * S, base = 1764000000ull * S + shift;
	uint64_t *tx = calloc(n, 8), *rx = calloc(n, 8), *txp = calloc(n, 8);
	FILE *exp = fopen(argv[7], "w");

	memset(&h, 0, sizeof(h));
	strcpy(h.hostname, "gen");
	strcpy(h.mode, "coalesce");
	strcpy(h.clock, "boottime");
	h.coalesce_ms = 1000;
	h.clock_offset_ns = 1764000000ll * (int64_t)S - 1000ll * (int64_t)S;
	h.start_ns = 1764000000ull * S + shift;
	if (!exp || tt_fmt_writer_open(&w, argv[1], &h, &wo, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* Names of some pids up front (a recorder's sweep): connections learn them by pid. */
	for (unsigned long j = 3; j < 50 && j < n; j += 10) {
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = base;
		ev.pid = ev.tid = (uint32_t)(idbase + j);
		ev.kind = TT_EV_PROC_NAME;
		strcpy(ev.u.proc.comm, names[j % 5]);
		tt_fmt_writer_add(w, &ev);
	}
	for (unsigned long s = 0; s <= secs; s++) {
		for (unsigned long i = 0; i < n; i++) {
			uint64_t t = base + s * S + (i * 1000) % (S / 2);
			int open_s = (int)(i % 3), closes = i % 3 == 0;
			unsigned long close_s = closeat + i % 4;

			memset(&ev, 0, sizeof(ev));
			ev.ts_ns = t;
			ev.conn_id = idbase + i;
			ev.pid = ev.tid = (uint32_t)(idbase + i % 50);
			if ((int)s == open_s) {
				struct tt_ev_open *o = &ev.u.open;

				ev.kind = TT_EV_CONN_OPEN;
				if (i % 7 == 0) {
					o->family = 6;
					o->laddr[0] = 0x20; o->laddr[1] = 0x01; o->laddr[2] = 0x0d;
					o->laddr[3] = 0xb8; o->laddr[15] = 1;
					memcpy(o->raddr, o->laddr, 16);
					o->raddr[12] = (uint8_t)(i >> 8); o->raddr[13] = (uint8_t)i;
					o->raddr[15] = 2;
				} else {
					o->family = 4;
					o->laddr[0] = 127; o->laddr[3] = 1;
					o->raddr[0] = 10; o->raddr[1] = (uint8_t)(i >> 16);
					o->raddr[2] = (uint8_t)(i >> 8); o->raddr[3] = (uint8_t)i;
				}
				o->lport = (uint16_t)(1024 + (idbase + i) % 60000);
				o->rport = i % 5 == 1 ? 80 : (uint16_t)(443 + i % 3);
				o->proto = i % 11 == 5 ? 17 : 6;
				o->state = o->proto == 6 ? 1 : 0;
				o->direction = 1;
				strcpy(o->comm, names[i % 5]);
				if (i % 13 == 3) {
					/* accepted: the process is known only later (traffic, CONN_PROC) */
					ev.flags = TT_F_PID_UNKNOWN;
					ev.pid = ev.tid = 0;
					memset(o->comm, 0, sizeof(o->comm));
				}
				tt_fmt_writer_add(w, &ev);
				continue;
			}
			if (i % 13 == 3 && (int)s == open_s + 2 && !(closes && s >= close_s)) {
				memset(&ev.u, 0, sizeof(ev.u));
				ev.kind = TT_EV_CONN_PROC;
				strcpy(ev.u.proc.comm, names[i % 5]);
				tt_fmt_writer_add(w, &ev);
				memset(&ev.u, 0, sizeof(ev.u));
			}
			if ((int)s < open_s || (closes && s > close_s))
				continue;
			if (closes && s == close_s) {
				ev.kind = TT_EV_CONN_CLOSE;
				ev.u.close.tx_bytes = tx[i];
				ev.u.close.rx_bytes = rx[i];
				ev.u.close.tx_pkts = (uint32_t)txp[i];
				ev.u.close.state = 7;
				tt_fmt_writer_add(w, &ev);
				continue;
			}
			ev.kind = TT_EV_TRAFFIC;
			ev.u.traffic.tx_bytes = 1000 + i % 1000 + s * 10;
			ev.u.traffic.rx_bytes = (2 * i) % 5000 + s;
			ev.u.traffic.tx_pkts = 1 + i % 3;
			ev.u.traffic.rx_pkts = 2;
			tx[i] += ev.u.traffic.tx_bytes;
			rx[i] += ev.u.traffic.rx_bytes;
			txp[i] += ev.u.traffic.tx_pkts;
			tt_fmt_writer_add(w, &ev);
			if (i % 4 == 0) {
				ev.kind = TT_EV_RTT;
				memset(&ev.u, 0, sizeof(ev.u));
				ev.u.rtt.srtt_us = 50 + (uint32_t)(i % 900);
				tt_fmt_writer_add(w, &ev);
			}
		}
		if (s == 4 || s == 7) {
			memset(&ev, 0, sizeof(ev));
			ev.ts_ns = base + s * S + S / 2 + 1;
			ev.kind = TT_EV_LOST;
			ev.u.lost.count = 17;
			tt_fmt_writer_add(w, &ev);
		}
	}
	for (unsigned long i = 0; i < n; i++)
		fprintf(exp, "%lu %llu %llu %llu %d\n", idbase + i, (unsigned long long)tx[i],
			(unsigned long long)rx[i], (unsigned long long)txp[i],
			i % 3 == 0 && closeat + i % 4 <= secs);
	fclose(exp);
	free(tx);
	free(rx);
	free(txp);
	return tt_fmt_writer_close(w) ? 1 : 0;
}
'''

T0 = 1764000000 * 10**9  # wall time of the generator's first second


@pytest.fixture(scope="session")
def gen(tmp_path_factory):
    """gen(n, secs, closeat, idbase=1000, shift_s=0) -> (path, {conn_id: (tx, rx, txp, closed)})."""
    d = tmp_path_factory.mktemp("gen")
    src, exe = d / "gen.c", d / "gen"
    src.write_text(GEN_C)
    lib = os.path.join(BUILD, "libtt-core.a")
    # a sanitizer build (make SANITIZE=1): the library needs the same runtime
    with open(lib, "rb") as f:
        san = ["-fsanitize=address,undefined"] if b"__asan_" in f.read() else []
    r = run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", *san, "-I", os.path.join(ROOT, "include"),
             str(src), lib, "-lzstd", "-lz", "-lm", "-o", str(exe)])
    assert r.returncode == 0, r.stderr
    count = [0]

    def make(n, secs, closeat, idbase=1000, shift_s=0):
        count[0] += 1
        out, exp = d / ("g%d.tt" % count[0]), d / ("g%d.exp" % count[0])
        r = run([str(exe), str(out), str(n), str(secs), str(closeat), str(idbase),
                 str(shift_s), str(exp)])
        assert r.returncode == 0, r.stderr
        want = {}
        for line in exp.read_text().split():
            pass
        for line in exp.read_text().splitlines():
            cid, tx, rx, txp, closed = (int(x) for x in line.split())
            want[cid] = (tx, rx, txp, closed)
        return str(out), want
    return make


def batch_snapshots(text):
    """Parse --batch output (exact numbers) into [(header_line, [row dict])]."""
    snaps = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("tcptop"):
            i += 1
            continue
        head, cols = lines[i], lines[i + 1].split()
        rows = []
        i += 2
        while i < len(lines) and lines[i].strip():
            f = lines[i].split()
            assert len(f) == len(cols), lines[i]
            rows.append(dict(zip(cols, f)))
            i += 1
        snaps.append((head, rows))
    return snaps


def dump_json(path, *extra):
    r = run([REPLAY, "--dump", "--json", *extra, path])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert "header" in lines[0]
    return lines[0]["header"], lines[1:]


def totals_from_events(events):
    """Per-connection totals from a list of events: deltas summed, raised to a close's counters."""
    tot = {}
    for e in events:
        if e["kind_id"] == 2:
            t = tot.setdefault(e["conn_id"], [0, 0])
            t[0] += e["tx_bytes"]
            t[1] += e["rx_bytes"]
        elif e["kind_id"] == 7:
            t = tot.setdefault(e["conn_id"], [0, 0])
            t[0] = max(t[0], e["tx_bytes"])
            t[1] = max(t[1], e["rx_bytes"])
    return tot


def assert_iperf_totals(client_tx, server_rx, sent, received, resets):
    """The iperf3 data connection against iperf3 -J (both + the 37-byte cookie). The default
    mode counts TCP tx as bytes_acked: if the server closed with unread data (RST), the
    client's unacknowledged tail is not counted and only bounds hold."""
    if not resets:
        assert client_tx == sent == server_rx == received
    else:
        assert received <= server_rx and client_tx <= sent and client_tx <= server_rx


def test_batch_final_totals_match_generator(gen):
    path, want = gen(300, 10, 5)
    r = run([REPLAY, "--batch", "-i", "1", path])
    assert r.returncode == 0, r.stderr
    snaps = batch_snapshots(r.stdout)
    assert len(snaps) >= 10
    head, rows = snaps[-1]
    # All connections stay: the capture is shorter than the default TTL.
    assert len(rows) == len(want)
    assert "lost 34" in head
    by_port = {int(row["LOCAL"].rsplit(":", 1)[1]): row for row in rows}
    for cid, (tx, rx, txp, closed) in want.items():
        row = by_port[1024 + cid % 60000]
        assert (int(row["TX"]), int(row["RX"]), int(row["TX_PKT"])) == (tx, rx, txp), cid
        assert (row["STATE"] == "CLOSED") == bool(closed)
    n_closed = sum(1 for v in want.values() if v[3])
    assert "%d open, %d closed" % (len(want) - n_closed, n_closed) in head


def test_csv_final_totals_match_generator_and_dump(gen, tmp_path):
    path, want = gen(200, 8, 4)
    csv = tmp_path / "snap.csv"
    r = run([REPLAY, "--batch", "--csv", str(csv), path])
    assert r.returncode == 0, r.stderr
    import csv as csvmod
    rows = list(csvmod.DictReader(open(csv)))
    assert rows and list(rows[0].keys())[:3] == ["time", "time_ns", "conn_id"]
    last = max(int(x["time_ns"]) for x in rows)
    final = {int(x["conn_id"]): x for x in rows if int(x["time_ns"]) == last}
    assert set(final) == set(want)
    _, events = dump_json(path)
    from_dump = totals_from_events(events)
    for cid, (tx, rx, _, _) in want.items():
        assert (int(final[cid]["tx_bytes"]), int(final[cid]["rx_bytes"])) == (tx, rx)
        assert tuple(from_dump[cid]) == (tx, rx)
    # Snapshots are one per second of event time, and the ISO time agrees with the ns.
    times = sorted({int(x["time_ns"]) for x in rows})
    assert times[0] == T0 + 10**9
    assert rows[0]["time"].startswith("2025-11-24T16:00:01")


def test_batch_count_interval_and_ttl(gen):
    path, want = gen(90, 12, 3)
    r = run([REPLAY, "--batch", "-n", "3", "-i", "2", path])
    assert r.returncode == 0, r.stderr
    snaps = batch_snapshots(r.stdout)
    assert len(snaps) == 3
    assert [s[0].split()[2] for s in snaps] == ["16:00:02.000", "16:00:04.000", "16:00:06.000"]
    # Closed at 3..6 s, capture ends at ~12 s: a 2 s TTL drops them by the end, 30 s keeps them.
    r = run([REPLAY, "--batch", "-i", "100", "--ttl", "2", path])
    rows = batch_snapshots(r.stdout)[-1][1]
    assert len(rows) == sum(1 for v in want.values() if not v[3])
    assert all(row["STATE"] != "CLOSED" for row in rows)


def test_filters_and_from_to(gen):
    path, want = gen(100, 6, 3)
    r = run([REPLAY, "--batch", "-i", "100", "--port", "80", path])
    assert r.returncode == 0, r.stderr
    rows = batch_snapshots(r.stdout)[-1][1]
    assert rows and all(row["REMOTE"].endswith(":80") for row in rows)
    assert len(rows) == sum(1 for c in want if (c - 1000) % 5 == 1)
    # --from/--to: the dump holds exactly the events in the range, inclusive.
    _, allev = dump_json(path)
    _, part = dump_json(path, "--from", "+2s", "--to", "+4s")
    lo, hi = T0 + 2 * 10**9, T0 + 4 * 10**9
    assert part == [e for e in allev if lo <= e["ts"] <= hi]


def test_dump_text_and_json_agree(gen):
    path, _ = gen(30, 5, 2)
    hdr, events = dump_json(path)
    assert hdr["hostname"] == "gen" and hdr["clock"] == "boottime"
    r = run([REPLAY, "--dump", path])
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert len(lines) == len(events)
    kinds = {e["kind"] for e in events}
    assert {"open", "traffic", "rtt", "close", "lost"} <= kinds
    for line, e in zip(lines, events):
        assert line.split()[2] == e["kind"]
        if e["conn_id"]:
            assert "conn %d" % e["conn_id"] in line
        if e["kind"] == "traffic":
            assert "tx %d rx %d" % (e["tx_bytes"], e["rx_bytes"]) in line


def test_dump_matches_format_engineers_reader(gen):
    """Cross-check --dump --json with the format module's own dump (test_format dump)."""
    tf = tool("tests/test_format")
    path, _ = gen(40, 5, 2)
    r = run([tf, "dump", path]) if os.path.exists(tf) else None
    if r is None or r.returncode != 0 or not r.stdout.strip():
        pytest.skip("test_format dump not available")
    theirs = [json.loads(x) for x in r.stdout.splitlines()]
    theirs = [e for e in theirs if "header" not in e and ("ts" in e or "ts_ns" in e)]
    _, mine = dump_json(path)
    assert len(theirs) == len(mine)
    for a, b in zip(theirs, mine):
        assert a.get("ts", a.get("ts_ns")) == b["ts"]
        assert a.get("conn_id") == b["conn_id"]


def test_several_files_play_as_one_timeline(gen):
    a, wa = gen(50, 6, 3, idbase=1000, shift_s=0)
    b, wb = gen(40, 6, 3, idbase=5000, shift_s=2)
    _, events = dump_json(a, b)
    ts = [e["ts"] for e in events]
    assert ts == sorted(ts)
    _, ea = dump_json(a)
    _, eb = dump_json(b)
    assert len(events) == len(ea) + len(eb)
    r = run([REPLAY, "--batch", "-i", "100", a, b])
    rows = batch_snapshots(r.stdout)[-1][1]
    want = {**wa, **wb}
    assert len(rows) == len(want)
    assert sum(int(x["TX"]) for x in rows) == sum(v[0] for v in want.values())


def test_cut_from_to_makes_a_standalone_capture(gen, tmp_path):
    path, _ = gen(60, 10, 4)
    out = str(tmp_path / "cut.tt")
    r = run([REPLAY, "--from", "+3s", "--to", "+6s", "-o", out, path])
    assert r.returncode == 0, r.stderr
    _, allev = dump_json(path)
    hdr, cut = dump_json(out)
    lo, hi = T0 + 3 * 10**9, T0 + 6 * 10**9
    inrange = [e for e in allev if lo <= e["ts"] <= hi]
    # Re-emitted opens come first, at --from, flagged preexisting (TT_F_PREEXISTING = 1).
    k = 0
    while k < len(cut) and cut[k]["kind"] == "open" and cut[k]["ts"] == lo and cut[k]["flags"] & 1:
        k += 1
    assert cut[k:] == inrange
    opened_before = {e["conn_id"] for e in allev if e["kind"] == "open" and e["ts"] < lo}
    closed_before = {e["conn_id"] for e in allev if e["kind"] == "close" and e["ts"] < lo}
    assert {e["conn_id"] for e in cut[:k]} == opened_before - closed_before
    assert hdr["start_ns"] == lo
    # And it plays on its own: every connection has its endpoints.
    r = run([REPLAY, "--batch", "-i", "100", out])
    rows = batch_snapshots(r.stdout)[-1][1]
    assert rows and all(not row["LOCAL"].startswith("0.0.0.0") for row in rows)


def test_truncated_capture_plays_up_to_the_damage(gen, tmp_path):
    path, _ = gen(5000, 10, 5)  # many blocks, so that some survive
    data = open(path, "rb").read()
    bad = tmp_path / "trunc.tt"
    bad.write_bytes(data[: len(data) * 2 // 3])
    r = run([REPLAY, "--batch", "-i", "100", str(bad)])
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr
    assert len(r.stderr.strip().splitlines()) >= 1
    snaps = batch_snapshots(r.stdout)
    assert snaps and snaps[-1][1]


@pytest.mark.parametrize("args,needle", [
    (["/nonexistent/cap.tt"], "/nonexistent/cap.tt"),
    (["--speed", "fast", "X"], "speed"),
    (["--speed", "0", "X"], "speed"),
    (["--speed", "20000", "X"], "speed"),
    ([], "no capture"),
])
def test_bad_usage_one_line_exit_2(args, needle):
    r = run([REPLAY, *args])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcptop-replay: ") and needle in lines[0]


def test_not_a_capture(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, not a capture\n" * 20)
    r = run([REPLAY, "--batch", str(p)])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(p) in lines[0]


def test_help_and_version():
    r = run([REPLAY, "--help"])
    assert r.returncode == 0 and "--dump" in r.stdout and '{"header"' in r.stdout
    r = run([REPLAY, "-V"])
    assert r.returncode == 0 and r.stdout.startswith("tcptop-replay tcptop ")


def test_stats_reports_events_per_second(gen):
    path, _ = gen(500, 5, 2)
    _, events = dump_json(path)
    r = run([REPLAY, "--batch", "-i", "1000", "--stats", path])
    assert r.returncode == 0
    line = r.stderr.strip().splitlines()[-1]
    assert "%d events" % len(events) in line and "events/s" in line


# ---------------------------------------------------------------- real traffic


@needs_bpf
@needs_cmd("iperf3")
def test_recorded_iperf3_totals(tmp_path):
    cap = str(tmp_path / "iperf.tt")
    port = free_port()
    rec = subprocess.Popen([tool("tcptop-record"), "-o", cap, "--port", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    srv = None
    try:
        wait_header(cap, rec)  # attached (a loaded machine took more than the 1.5 s slept here)
        srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        # Paced (8 MB at 100 Mbit/s): the server reads everything before it closes, so no RST
        # cuts the client's unacknowledged tail (the default mode counts bytes_acked).
        cli = run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", "8M", "-b", "100M",
                   "-J"])
        assert cli.returncode == 0, cli.stderr
        res = json.loads(cli.stdout)
        srv.wait(timeout=10)
        time.sleep(1.5)
    finally:
        rec.send_signal(signal.SIGINT)
        out, err = rec.communicate(timeout=20)
        if srv and srv.poll() is None:
            srv.kill()
    assert rec.returncode == 0, err
    # iperf3 counts payload only; the data connection also carries its 37-byte cookie
    # (COOKIE_SIZE in iperf3's iperf.h) before the test starts.
    sent = res["end"]["sum_sent"]["bytes"] + 37
    received = res["end"]["sum_received"]["bytes"] + 37
    r = run([REPLAY, "--batch", "-i", "1000", "--csv", str(tmp_path / "s.csv"), cap])
    assert r.returncode == 0, r.stderr
    rows = batch_snapshots(r.stdout)[-1][1]
    client = max(rows, key=lambda x: int(x["TX"]))
    server = max(rows, key=lambda x: int(x["RX"]))
    assert client["COMM"] == server["COMM"] == "iperf3"
    # First the replay against the capture's own events, then end to end against iperf3.
    _, events = dump_json(cap)
    from_dump = totals_from_events(events)
    assert max(t[0] for t in from_dump.values()) == int(client["TX"])
    assert max(t[1] for t in from_dump.values()) == int(server["RX"])
    import csv as csvmod
    crow = list(csvmod.DictReader(open(tmp_path / "s.csv")))
    last = max(int(x["time_ns"]) for x in crow)
    final = [x for x in crow if int(x["time_ns"]) == last]
    cl = max(final, key=lambda x: int(x["tx_bytes"]))
    sv = max(final, key=lambda x: int(x["rx_bytes"]))
    assert (int(cl["tx_bytes"]), int(sv["rx_bytes"])) == (int(client["TX"]), int(server["RX"]))
    assert_iperf_totals(int(client["TX"]), int(server["RX"]), sent, received,
                        int(cl["resets"]) + int(sv["resets"]))


# ---------------------------------------------------------------- out of order, filtered copies

OFFSET = 1764067200 * 10**9  # test_format gen's clock offset: its events at 7 s and on


def iso(ns):
    t = time.gmtime(ns // 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%09d" % (ns % 10**9)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory):
    """A test_format gen capture: every kind, pids learned late, events a little out of order,
    and extreme time stamps (0 and 2^64 - 1) among the first events."""
    path = str(tmp_path_factory.mktemp("ek") / "gen.tt")
    r = run([tool("tests/test_format"), "gen", path, "60000"])
    assert r.returncode == 0, r.stderr
    return path


def test_from_to_keeps_events_out_of_order(every_kind):
    _, allev = dump_json(every_kind)
    regular = [e["ts"] for e in allev if OFFSET + 10**9 < e["ts"] < 2**63]
    lo, hi = sorted(regular)[len(regular) // 4], sorted(regular)[3 * len(regular) // 4]
    inrange = [e for e in allev if lo <= e["ts"] <= hi]
    # the case at hand: in file order, some events in the range come after later ones
    assert any(a["ts"] > b["ts"] for a, b in zip(inrange, inrange[1:]))
    assert any(e["ts"] > hi for e in allev[:100])  # and 2^64 - 1 long before the range
    _, part = dump_json(every_kind, "--from", iso(lo), "--to", iso(hi))
    assert part == inrange


@pytest.fixture(scope="module")
def every_kind_sane(every_kind, tmp_path_factory):
    """The same without the extreme time stamps (a cut of its first day)."""
    path = str(tmp_path_factory.mktemp("eks") / "sane.tt")
    r = run([REPLAY, "--from", iso(OFFSET + 10**9), "--to", iso(OFFSET + 86400 * 10**9), "-o",
             path, every_kind])
    assert r.returncode == 0, r.stderr
    return path


COPY_FILTERS = [["-P", "80"], ["--comm", "nginx"], ["--udp", "-6"], ["-p", "1003", "-p", "1013"],
                ["-c", "sshd", "-P", "443"]]


# test_format's connection ids change endpoints: only its process filters apply
@pytest.mark.parametrize("source,filt", [("gen", f) for f in COPY_FILTERS] +
                         [("test_format", f) for f in COPY_FILTERS if f[0] in ("--comm", "-p")])
def test_filtered_copy_replays_like_the_filtered_original(gen, every_kind_sane, tmp_path, filt,
                                                          source):
    """-o with filters writes what tcpdump -w with a filter would: the kept connections'
    events (with their opens, also for connections whose pid came late), their processes'
    events, and every LOST / STATS record. Replayed, the copy gives the same table as the
    original replayed with the filters. Two sources: the generator here (pids learned late
    through traffic, a name sweep and CONN_PROC), and test_format's (every kind at random
    over 300 ids; as ids there change endpoints, only process filters apply)."""
    if source == "gen":
        every_kind_sane, _ = gen(200, 8, 4)
    out = str(tmp_path / "copy.tt")
    r = run([REPLAY, *filt, "-o", out, every_kind_sane])
    assert r.returncode == 0, r.stderr

    def final(*args):
        r = run([REPLAY, "--batch", "-i", "1h", *args])
        assert r.returncode == 0, r.stderr
        head, rows = batch_snapshots(r.stdout)[-1]
        return re.search(r"conns: \d+ open, \d+ closed", head).group(0) + \
            re.search(r" lost \d+", head).group(0), sorted(
            tuple(x[k] for k in ("PID", "COMM", "PROTO", "LOCAL", "REMOTE", "STATE", "TX", "RX",
                                 "TX_PKT", "RX_PKT", "RTT")) for x in rows)
    every_kind = every_kind_sane
    want_head, want_rows = final(*filt, every_kind)
    got_head, got_rows = final(out)
    assert want_rows and got_rows == want_rows and got_head == want_head
    _, allev = dump_json(every_kind)
    _, copy = dump_json(out)
    assert len(copy) < len(allev) * 0.8
    for kind in ("lost", "stats"):
        assert [e for e in copy if e["kind"] == kind] == [e for e in allev if e["kind"] == kind]
    # every connection event of the copy is about a connection the filtered replay shows
    r = run([REPLAY, "--batch", "-i", "1h", "--csv", str(tmp_path / "c.csv"), *filt, every_kind])
    import csv as csvmod
    shown = {int(x["conn_id"]) for x in csvmod.DictReader(open(tmp_path / "c.csv"))}
    assert {e["conn_id"] for e in copy if 1 <= e["kind_id"] <= 8} <= shown


def test_copy_appended_to_a_capture_names_its_blocks_by_file_offset(gen, tmp_path):
    """tcptop-replay IN -o - >> FILE, FILE a capture already: offsets in a capture are from the
    start of the file (FORMAT.md), so the copy's END block must name its INDEX block, and the
    index its EVENTS blocks, where they are in FILE, not where they are in the copy alone.
    Read with the independent Python reader; the C reader reads both captures' events."""
    import struct
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
    import ttcap
    a, _ = gen(50, 3, 2)
    b, _ = gen(60, 4, 2, 5000, 100)
    out = tmp_path / "both.tt"
    out.write_bytes(open(a, "rb").read())
    size_a = out.stat().st_size
    with open(out, "ab") as f:
        r = subprocess.run([REPLAY, b, "-o", "-"], stdout=f, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    ioff = ttcap.read(str(out)).end["index_offset"]
    assert size_a < ioff and data[ioff:ioff + 4] == b"TTBK" and data[ioff + 4] == 3, \
        (size_a, ioff)
    n = struct.unpack_from("<I", data, ioff + 16)[0]
    assert n > 0
    for i in range(n):
        off, count = struct.unpack_from("<QI", data, ioff + 20 + 28 * i)
        assert size_a < off and data[off:off + 4] == b"TTBK" and data[off + 4] == 2
        assert struct.unpack_from("<I", data, off + 16)[0] == count
    _, ea = dump_json(a)
    _, eb = dump_json(b)
    _, both = dump_json(str(out))
    assert len(both) == len(ea) + len(eb)


# ---------------------------------------------------------------- interrupted outputs


INTERRUPTED = re.compile(r"^tcptop-replay: interrupted: (.*)$", re.M)


def stated(stderr, what):
    """(count, time_ns) that the one 'interrupted' line states for `what` (a path or stdout)."""
    lines = INTERRUPTED.findall(stderr)
    assert len(lines) == 1 and stderr.count("\n") == 1, stderr
    m = re.search(re.escape(what) + r" has (\d+) (events|snapshots) up to "
                  r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z", lines[0])
    assert m, (what, lines[0])
    secs = int(time.mktime(time.strptime(m.group(3), "%Y-%m-%dT%H:%M:%S")) - time.timezone)
    return int(m.group(1)), secs * 10**9 + int(m.group(4))


@pytest.mark.parametrize("mode,sig", [("out", signal.SIGINT), ("out", signal.SIGTERM),
                                      ("batch", signal.SIGINT), ("csv", signal.SIGINT)])
def test_interrupted_output_says_what_it_holds(gen, tmp_path, mode, sig):
    """A signal in the middle of -o, --batch or --csv: the output is complete (a capture with
    its end block, whole snapshots) up to a capture time said on stderr in one line, with how
    much it holds, and the exit status is 128 + the signal, never 0. The output goes to a pipe
    the test stops reading, so the signal lands in the middle whatever the machine's speed."""
    path, _ = gen(2000, 120, 1000)
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    args = {"out": ["-f", "-o", fifo], "batch": ["-b", "-i", "0.1"],
            "csv": ["-f", "-i", "0.1", "--csv", fifo]}[mode]
    p = subprocess.Popen([REPLAY, *args, path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        src = p.stdout if mode == "batch" else open(fifo, "rb")
        head = src.read(300000)  # the replay is now blocked on a full pipe, far from the end
        assert len(head) == 300000
        p.send_signal(sig)
        data = head + src.read()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = err.decode()
    assert p.returncode == 128 + sig, (p.returncode, err)
    if mode == "out":
        copy = tmp_path / "copy.tt"
        copy.write_bytes(data)
        r = run([REPLAY, "--dump", "--json", str(copy)])
        assert r.returncode == 0 and r.stderr == "", r.stderr  # complete: no warning
        events = [json.loads(x) for x in r.stdout.splitlines()[1:]]
        n, upto = stated(err, fifo)
        _, whole = dump_json(path)
        assert 0 < n == len(events) < len(whole) / 2
        assert upto == max(e["ts"] for e in events)
        assert events == whole[:n]  # the original's events up to that time
    elif mode == "batch":
        snaps = batch_snapshots(data.decode())
        n, upto = stated(err, "stdout")
        assert 0 < n == len(snaps) < 1200 / 2
        # whole snapshots, the first n that an uninterrupted replay prints
        r = run([REPLAY, "-b", "-i", "0.1", "-n", str(n), path])
        assert r.returncode == 0, r.stderr
        assert snaps == batch_snapshots(r.stdout)
        assert iso(upto)[:19].replace("T", " ") + iso(upto)[19:23] in snaps[-1][0]
    else:
        text = data.decode()
        rows = text.splitlines()[1:]
        times = sorted({int(x.split(",")[1]) for x in rows})
        n, upto = stated(err, fifo)
        assert 0 < n == len(times) < 1200 / 2 and upto == times[-1]
        ref = tmp_path / "ref.csv"
        r = run([REPLAY, "-b", "-i", "0.1", "-n", str(n), "--csv", str(ref), path])
        assert r.returncode == 0, r.stderr
        assert text == ref.read_text()  # the first n snapshots, whole


# ---------------------------------------------------------------- filtered dumps

STATIC_FILTERS = {
    "-P 80": (["-P", "80"], lambda o: 80 in (o["lport"], o["rport"])),
    "-P 444 -4": (["-P", "444", "-4"], lambda o: 444 in (o["lport"], o["rport"]) and
                  o["family"] == 4),
    "--tcp": (["--tcp"], lambda o: o["proto"] == 6),
    "--udp -6": (["--udp", "-6"], lambda o: o["proto"] == 17 and o["family"] == 6),
}


@pytest.mark.parametrize("name", sorted(STATIC_FILTERS))
def test_dump_applies_the_filters(gen, name):
    """--dump and --dump --json with -P, --tcp, --udp, -4, -6: exactly the events of the
    connections whose open matches (the independent Python reader's events, filtered here by
    the open's ports, protocol and family), every LOST and STATS record, and process events
    only of pids with a kept connection; as -b and -o do, and as GUIDE.md's
    `--dump --json -P 443` example says."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
    import ttcap
    path, _ = gen(200, 8, 4)
    args, match = STATIC_FILTERS[name]
    evs = ttcap.read(path).events
    kept = {e["conn_id"] for e in evs if e["kind"] == 1 and match(e)}
    assert 0 < len(kept) < len({e["conn_id"] for e in evs if e["kind"] == 1})
    want = [(e["ts"], e["kind"], e["conn_id"]) for e in evs
            if (1 <= e["kind"] <= 8 and e["conn_id"] in kept) or e["kind"] in (12, 13)]
    _, got = dump_json(path, *args)
    conn_or_capture = [(e["ts"], e["kind_id"], e["conn_id"]) for e in got
                       if e["kind_id"] <= 8 or e["kind_id"] >= 12]
    assert conn_or_capture == want
    pids = {e["pid"] for e in evs if e["conn_id"] in kept and e["pid"]}
    assert all(e["pid"] in pids for e in got if 9 <= e["kind_id"] <= 11)
    r = run([REPLAY, "--dump", *args, path])
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(got)


@pytest.mark.parametrize("filt", COPY_FILTERS)
def test_filtered_dump_is_the_filtered_copys_dump(gen, filt, tmp_path):
    """With every filter (--pid and --comm too, for connections whose process comes late):
    a filtered dump prints what -o with the same filters writes, in the same order."""
    path, _ = gen(200, 8, 4)
    out = str(tmp_path / "copy.tt")
    r = run([REPLAY, *filt, "-o", out, path])
    assert r.returncode == 0, r.stderr
    _, copy = dump_json(out)
    _, got = dump_json(path, *filt)
    assert got and got == copy
    _, allev = dump_json(path)
    assert len(got) < len(allev) * 0.8
    # from --from on too, where -o first re-opens the connections open then
    r = run([REPLAY, *filt, "--from", "+3s", "-o", str(tmp_path / "from.tt"), path])
    assert r.returncode == 0, r.stderr
    _, copy = dump_json(str(tmp_path / "from.tt"))
    k = 0
    while copy[k]["kind"] == "open" and copy[k]["flags"] & 1 and copy[k]["ts"] == T0 + 3 * 10**9:
        k += 1
    _, got = dump_json(path, *filt, "--from", "+3s")
    assert got and got == copy[k:]


def test_unknown_rtt_is_never_zero(gen, tmp_path):
    """A connection with no RTT sample: RTT `-` in -b (as in the view and -H) and an empty
    rtt_us in --csv (NULL in tcptop-query), never 0; one with samples shows its last one
    (the Python reader's last non-zero srtt_us of its rtt and close events)."""
    import csv as csvmod
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
    import ttcap
    path, want = gen(120, 6, 3)
    rtt = {}
    for e in ttcap.read(path).events:
        if e["kind"] in (4, 7) and e["srtt_us"]:
            rtt[e["conn_id"]] = e["srtt_us"]
    assert 0 < len(rtt) < len(want)
    out = tmp_path / "s.csv"
    r = run([REPLAY, "-b", "-i", "1h", "--csv", str(out), path])
    assert r.returncode == 0, r.stderr
    rows = batch_snapshots(r.stdout)[-1][1]
    by_port = {int(x["LOCAL"].rsplit(":", 1)[1]): x for x in rows}
    final = {int(x["conn_id"]): x for x in csvmod.DictReader(open(out))}
    assert set(final) == set(want)
    for cid in want:
        text = by_port[1024 + cid % 60000]["RTT"]
        assert (text, final[cid]["rtt_us"]) == \
            ((str(rtt[cid]) + "us", str(rtt[cid])) if cid in rtt else ("-", "")), cid


@pytest.mark.parametrize("mode", [["-b"], ["--dump"], ["--dump", "--json"], ["--csv", "CSV"],
                                  ["-o", "OUT"], ["-b", "--to", "+100000"]])
@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_from_past_the_end_is_said(gen, tmp_path, mode, pipe):
    """--from after the last event: one line naming --from and the time of the last event,
    exit 2, nothing on stdout and no file, for every output (-b printed one snapshot of every
    connection and exited 0; --dump printed nothing, exit 0). From a pipe too, where the
    end is known only by reading to it. --from at the last event still plays that event."""
    path, _ = gen(30, 5, 2)
    _, allev = dump_json(path)
    last = max(e["ts"] for e in allev)
    out = {"CSV": str(tmp_path / "s.csv"), "OUT": str(tmp_path / "o.tt")}
    args = [out.get(a, a) for a in mode]
    src = ["-"] if pipe else [path]
    r = subprocess.run([REPLAY, *args, "--from", iso(last + 1), *src], stdin=open(path, "rb"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) == 1 and r.stdout == "", (r.returncode, r.stderr)
    assert lines[0].startswith("tcptop-replay: --from ") and iso(last)[:23] in lines[0], lines[0]
    assert not any(os.path.exists(p) for p in out.values())
    _, at_last = dump_json(path, "--from", iso(last))
    assert at_last == [e for e in allev if e["ts"] == last]


# ---------------------------------------------------------------- --from/--to forms


def test_from_to_accept_what_the_tools_print():
    """--from/--to take the epoch nanoseconds tcptop-query returns, ISO 8601 with a zone, and
    clock times with or without seconds and Z (all UTC, as every time shown): each form of the
    same instant cuts samples/resets.tt at the same event as the query's own ts."""
    cap = os.path.join(ROOT, "samples", "resets.tt")
    r = run([tool("tcptop-query"), "--no-progress", cap,
             "SELECT ts FROM events ORDER BY ts LIMIT 2 OFFSET 600"])
    assert r.returncode == 0, r.stderr
    lo, hi = (int(x) for x in r.stdout.split()[1:])
    _, allev = dump_json(cap)
    want = [e for e in allev if lo <= e["ts"] <= hi]
    assert want and want[0]["ts"] == lo

    def iso_in(ns, zone_s, zone):
        t = time.gmtime(ns // 10**9 + zone_s)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%09d%s" % (ns % 10**9, zone)

    forms = [(str(lo), str(hi)),
             (iso_in(lo, 0, "Z"), iso_in(hi, 0, "Z")),
             (iso_in(lo, 9 * 3600, "+09:00"), iso_in(hi, 9 * 3600, "+09:00")),
             (iso_in(lo, -5 * 3600 - 1800, "-0530"), iso_in(hi, -5 * 3600 - 1800, "-0530")),
             (iso_in(lo, 0, "Z")[11:], iso_in(hi, 0, "")[11:])]
    for f, t in forms:
        _, got = dump_json(cap, "--from", f, "--to", t)
        assert [e["ts"] for e in got if e["ts"] >= lo] == [e["ts"] for e in want], (f, t)
    # a minute's clock without seconds: from its first second
    minute = lo - lo % (60 * 10**9)
    _, got = dump_json(cap, "--from", iso_in(minute, 0, "")[11:16], "--to", str(hi))
    assert [e["ts"] for e in got if e["ts"] >= minute] == \
        [e["ts"] for e in allev if minute <= e["ts"] <= hi]


def test_json_events_carry_an_iso_time(gen):
    """ts is 19 digits, past what a double holds (jq 1.6 rounds ...312739972 to ...312740000):
    each JSON event also has `time`, ISO 8601 UTC to the nanosecond, which is ts exactly."""
    path, _ = gen(30, 5, 2)
    _, events = dump_json(path)
    assert len(events) > 100
    for e in events:
        m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z", e["time"])
        assert m, e
        secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
        assert secs * 10**9 + int(m.group(2)) == e["ts"], e


def test_times_say_utc():
    """Every time shown says its zone, UTC, and TZ changes none of them: the -b headers
    ("... UTC") and --dump lines ("...Z"), checked against the JSON dump's ts."""
    cap = os.path.join(ROOT, "samples", "resets.tt")
    _, events = dump_json(cap)
    tokyo = dict(os.environ, TZ="Asia/Tokyo")
    r = run([REPLAY, "--dump", cap], env=tokyo)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(events)
    for line, e in list(zip(lines, events))[::50]:
        t = time.gmtime(e["ts"] // 10**9)
        want = time.strftime("%Y-%m-%d %H:%M:%S", t) + ".%06dZ " % (e["ts"] % 10**9 // 1000)
        assert line.startswith(want), (line, want)
    r = run([REPLAY, "-b", "-i", "1s", cap], env=tokyo)
    assert r.returncode == 0, r.stderr
    heads = [x for x in r.stdout.splitlines() if x.startswith("tcptop-replay ")]
    assert len(heads) >= 3
    for h in heads:
        m = re.match(r"tcptop-replay (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} UTC  conns:", h)
        assert m, h
        secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
        assert events[0]["ts"] // 10**9 <= secs <= events[-1]["ts"] // 10**9 + 1, h
    assert r.stdout == run([REPLAY, "-b", "-i", "1s", cap]).stdout


def test_cells_and_headers_say_their_units():
    """Bytes are never taken for bits, nor an RTT for milliseconds: -b -H cells and the header
    rates end in B (9.5MB under TX/s is 9.5 MiB a second), the exact -b's header rates too, and
    RTT always has its unit; the numbers are the exact -b's and --csv's (rtt_us)."""
    cap = os.path.join(ROOT, "samples", "iperf3.tt")
    out = os.path.join(BUILD, "units-%d.csv" % os.getpid())
    exact = run([REPLAY, "-b", "-i", "1h", "--csv", out, cap])
    assert exact.returncode == 0, exact.stderr
    try:
        import csv as csvmod
        final = {(x["lport"], x["rport"]): x for x in csvmod.DictReader(open(out))}
    finally:
        os.unlink(out)
    human = run([REPLAY, "-b", "-H", "-i", "1h", cap])
    assert human.returncode == 0, human.stderr
    (eh, erows), = batch_snapshots(exact.stdout)[-1:]
    (hh, hrows), = batch_snapshots(human.stdout)[-1:]
    assert re.search(r"  tx \d+B/s rx \d+B/s  ", eh), eh
    assert re.search(r"  tx [\d.]+[KMGT]?B/s rx [\d.]+[KMGT]?B/s  ", hh), hh
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    assert len(erows) == len(hrows) >= 4
    for e, h in zip(erows, hrows):
        assert e["LOCAL"] == h["LOCAL"]
        for col in ("TX/s", "RX/s", "TX", "RX"):
            m = re.fullmatch(r"([\d.]+)([KMGT]?)B", h[col])
            assert m, (col, h)
            v = float(m.group(1)) * units.get(m.group(2), 1)
            assert abs(v - int(e[col])) <= 0.05 * int(e[col]) + 0.5, (col, e, h)
        rtt = final[(e["LOCAL"].rsplit(":", 1)[1], e["REMOTE"].rsplit(":", 1)[1])]["rtt_us"]
        assert e["RTT"] == (rtt + "us" if rtt else "-"), e
        assert re.fullmatch(r"\d+us|[\d.]+ms|\d+s|-", h["RTT"]), h


@pytest.mark.parametrize("args,names", [
    (["-b", "--csv", "-"], ("--batch", "--csv -")),
    (["--dump", "--csv", "-"], ("--dump", "--csv -")),
    (["-o", "-", "-b"], ("--batch", "-o -")),
    (["-o", "-", "--dump"], ("--dump", "-o -")),
    (["-o", "-", "--csv", "-"], ("--csv -", "-o -")),
])
def test_two_outputs_on_stdout_are_refused(gen, args, names):
    """Two outputs to stdout would interleave (-b --csv - mixed text and CSV rows, -o - a
    capture and text): a usage error naming both, before any output."""
    path, _ = gen(10, 3, 2)
    r = run([REPLAY, *args, path], errors="replace")
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and r.stdout == "" and len(lines) == 1, (r.returncode, r.stderr)
    assert lines[0] == "tcptop-replay: %s and %s both write to stdout" % names, lines[0]


def test_csv_to_stdout_alone_is_not_the_view(gen):
    """--csv - with stdout a terminal writes CSV, as it does into a pipe: it drew the view
    with CSV rows written over it. (script(1) gives stdout a terminal.)"""
    path, want = gen(10, 3, 2)
    try:
        r = run(["script", "-qec", "%s --csv - %s" % (REPLAY, path), "/dev/null"],
                stdin=subprocess.DEVNULL, timeout=30)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("still running after 30 s: %r" % (e.stdout or b"")[:300])
    lines = r.stdout.replace("\r", "").splitlines()
    assert r.returncode == 0 and lines[0].startswith("time,time_ns,conn_id,"), r.stdout[:300]
    assert len({ln.split(",")[2] for ln in lines[1:]}) == len(want)


def test_stdin_is_named_stdin(gen, tmp_path):
    """Errors and warnings about a capture on stdin name it 'stdin' (they said '-: stdin'),
    and '-' twice is refused (the second would read what is left of the first)."""
    path, _ = gen(10, 3, 2)
    r = run([REPLAY, "--dump", "-"], input="hello, not a capture\n")
    assert r.returncode == 2 and r.stderr == "tcptop-replay: stdin: not a tcptop capture\n"
    data = open(path, "rb").read()
    cut = tmp_path / "cut.tt"
    cut.write_bytes(data[:len(data) * 2 // 3])
    r = run([REPLAY, "-b", "-"], stdin=open(cut, "rb"))
    assert r.returncode == 0 and re.fullmatch(
        r"tcptop-replay: warning: stdin: truncated capture: [^\n]*\n", r.stderr), r.stderr
    r = run([REPLAY, "-b", "-", "-"], stdin=open(path, "rb"))
    assert r.returncode == 2 and r.stdout == "" and \
        r.stderr == "tcptop-replay: - (stdin) is given twice\n", r.stderr


# ---------------------------------------------------------------- health columns (issue 20)


def endpoint(addr, port):
    """The view's text of an endpoint, from tcptop-query's laddr/lport."""
    if addr is None:
        return None
    return ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port)


def health_oracle(cap):
    """tcptop-query's health columns of every connection of cap, by (LOCAL, REMOTE) text: what
    the RETR CONNECT CWND ZWIN FAIL columns and the CSV's health fields must say. cwnd: its last
    `samples` row (NULL without one); the last sample of a connection is one (no tie at its
    time)."""
    r = run([tool("tcptop-query"), "--no-progress", "-F", "json", cap,
             "SELECT c.id, c.proto, c.laddr, c.lport, c.raddr, c.rport, c.retransmits, "
             "c.connect_us, c.zero_window_ms, c.fail_reason, "
             "(SELECT cwnd FROM samples s WHERE s.conn_id = c.id ORDER BY ts DESC LIMIT 1) "
             "AS cwnd, (SELECT count(*) FROM samples s WHERE s.conn_id = c.id AND s.ts = "
             "(SELECT max(ts) FROM samples t WHERE t.conn_id = c.id)) AS last_n "
             "FROM connections c"])
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert all(x["last_n"] <= 1 for x in rows)
    by_ends = {(endpoint(x["laddr"], x["lport"]), endpoint(x["raddr"], x["rport"])): x
               for x in rows}
    assert len(by_ends) == len(rows)  # the endpoints name one connection each
    return by_ends


@pytest.mark.parametrize("sample", ["health.tt", "dns-udp.tt"])
def test_health_columns_equal_the_query(sample, tmp_path):
    """--columns +RETR,+CONNECT,+CWND,+ZWIN,+FAIL: the final -b snapshot of samples/health.tt
    (refused, timeout, unreachable, retransmits, zero-window stalls) and of a UDP sample has the
    13 default columns, then the five, each row's values exactly tcptop-query's connections
    columns (retransmits, connect_us, the last sample's cwnd, zero_window_ms, fail_reason; "-"
    where the query says NULL); the --csv of the same run ends each row with the same fields
    (empty for NULL), and a run without --columns is the 13 columns alone, as before."""
    import csv as csvmod
    cap = os.path.join(ROOT, "samples", sample)
    want = health_oracle(cap)
    out = tmp_path / "h.csv"
    r = run([REPLAY, "-b", "-i", "1h", "--ttl", "100000", "--csv", str(out),
             "--columns", "+RETR,+CONNECT,+CWND,+ZWIN,+FAIL", cap])
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[1].split()
    assert head == ["PID", "COMM", "PROTO", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s", "TX",
                    "RX", "TX_PKT", "RX_PKT", "RTT", "RETR", "CONNECT", "CWND", "ZWIN", "FAIL"]
    rows = batch_snapshots(r.stdout)[-1][1]
    assert len(rows) == len(want)
    failed = set()

    def shown(v, unit=""):
        return "-" if v is None else "%s%s" % (v, unit)
    for row in rows:
        x = want[(row["LOCAL"], None if row["REMOTE"] == "-" else row["REMOTE"])]
        got = (row["RETR"], row["CONNECT"], row["CWND"], row["ZWIN"], row["FAIL"])
        assert got == (str(x["retransmits"]), shown(x["connect_us"], "us"), shown(x["cwnd"]),
                       shown(x["zero_window_ms"], "ms"), shown(x["fail_reason"])), (row, x)
        failed.add(x["fail_reason"])
    if sample == "health.tt":
        assert {"refused", "timeout", "unreachable", None} <= failed
        assert any(x["zero_window_ms"] for x in want.values())
    else:
        assert all(x["proto"] == "udp" and x["zero_window_ms"] is None for x in want.values())
    # CSV: the health fields at the end of each row, under the query's names
    csv_rows = list(csvmod.DictReader(open(out)))
    assert list(csv_rows[0])[-5:] == ["accept_wait_us", "syn_retrans", "fail_reason", "cwnd",
                                      "zero_window_ms"]
    last = max(x["time_ns"] for x in csv_rows)
    final = [x for x in csv_rows if x["time_ns"] == last]
    assert len(final) == len(want)
    for c in final:
        x = want[(endpoint(c["laddr"], int(c["lport"])),
                  endpoint(c["raddr"] or None, int(c["rport"])) if c["raddr"] else None)]
        assert int(c["conn_id"]) == x["id"]

        def cell(v):
            return "" if v is None else str(v)
        assert (c["retrans"], c["connect_us"], c["cwnd"], c["zero_window_ms"],
                c["fail_reason"]) == (str(x["retransmits"]), cell(x["connect_us"]),
                                      cell(x["cwnd"]), cell(x["zero_window_ms"]),
                                      cell(x["fail_reason"])), (c, x)
    # -H: the same times in at most 7 characters, each the exact value rounded
    human = run([REPLAY, "-b", "-H", "-i", "1h", "--ttl", "100000",
                 "--columns", "local,remote,connect,zwin", cap])
    assert human.returncode == 0, human.stderr
    for row in batch_snapshots(human.stdout)[-1][1]:
        x = want[(row["LOCAL"], None if row["REMOTE"] == "-" else row["REMOTE"])]
        for col, us in (("CONNECT", x["connect_us"]),
                        ("ZWIN", None if x["zero_window_ms"] is None
                         else x["zero_window_ms"] * 1000)):
            text = row[col]
            assert len(text) <= 7, row
            if us is None:
                assert text == "-", row
                continue
            m = re.fullmatch(r"(\d+(?:\.(\d+))?)(us|ms|s)", text)
            assert m, row
            unit = {"us": 1, "ms": 1000, "s": 10**6}[m.group(3)]
            step = unit / 10 ** len(m.group(2) or "")
            assert abs(float(m.group(1)) * unit - us) <= step / 2 + 1e-9, (col, text, us)
            assert us == 0 or us < 1000 or m.group(3) != "us", (col, text)
    # without --columns: the 13 columns alone
    plain = run([REPLAY, "-b", "-i", "1h", "--ttl", "100000", cap])
    assert plain.stdout.splitlines()[1].split() == head[:13]


def test_columns_sets_and_orders(gen):
    """--columns: a plain list is exactly those columns, in the one column order whatever the
    list's order (aliases as tcptop-query names them); -NAME takes one from the default set;
    the sort column shows (--sort RETR adds it), and without TX/s the sort is the first column
    shown (COMM, A-Z)."""
    path, want = gen(20, 3, 2)
    r = run([REPLAY, "-b", "-i", "1h", "--columns", "fail_reason,retrans,comm,REMOTE", path])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split() == ["COMM", "REMOTE", "RETR", "FAIL"]
    comms = [x["COMM"] for x in batch_snapshots(r.stdout)[-1][1]]
    assert comms == sorted(comms) and len(comms) == len(want)
    r = run([REPLAY, "-b", "-i", "1h", "--columns", "-PID,-TX_PKT,-RX_PKT", path])
    assert r.stdout.splitlines()[1].split() == ["COMM", "PROTO", "LOCAL", "REMOTE", "STATE",
                                                "TX/s", "RX/s", "TX", "RX", "RTT"]
    # health.tt: RETR largest first, FAIL A-Z with the connections that did not fail last
    cap = os.path.join(ROOT, "samples", "health.tt")
    r = run([REPLAY, "-b", "-i", "1h", "--ttl", "100000", "--sort", "RETR", cap])
    assert r.stdout.splitlines()[1].split()[-2:] == ["RTT", "RETR"]
    retr = [int(x["RETR"]) for x in batch_snapshots(r.stdout)[-1][1]]
    assert retr == sorted(retr, reverse=True) and retr[0] > retr[-1]
    r = run([REPLAY, "-b", "-i", "1h", "--ttl", "100000", "--sort", "fail_reason", cap])
    fail = [x["FAIL"] for x in batch_snapshots(r.stdout)[-1][1]]
    named = [f for f in fail if f != "-"]
    assert fail == sorted(named) + ["-"] * (len(fail) - len(named)) and len(named) >= 3
