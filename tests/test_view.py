"""The curses view of tcptop-replay, driven through tmux as a user would."""
import calendar
import datetime
import ipaddress
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import ROOT, needs_cmd, run, tool
from test_replay import REPLAY, batch_snapshots, gen  # noqa: F401  (gen is a fixture)

sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
import ttcap  # noqa: E402

pytestmark = needs_cmd("tmux")


class Pane:
    """One tmux session running a command in a 200x50 terminal."""

    def __init__(self, cmd, width=200, height=50):
        self.name = "tt-" + uuid.uuid4().hex[:8]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), cmd], check=True)
        subprocess.run(["tmux", "set-option", "-t", self.name, "remain-on-exit", "on"],
                       capture_output=True)

    def text(self, escapes=False):
        r = subprocess.run(["tmux", "capture-pane", "-p", *(["-e"] if escapes else []),
                            "-t", self.name],
                           capture_output=True, text=True)
        return r.stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def dead(self):
        r = subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_dead}"],
                           capture_output=True, text=True)
        return r.stdout.strip() == "1"

    def wait_dead(self, timeout=5.0):
        """True once the program in the pane has exited (within timeout s)."""
        end = time.time() + timeout
        while not self.dead() and time.time() < end:
            time.sleep(0.1)
        return self.dead()

    def wait(self, pred, timeout=10.0, stable=True):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            t = self.text()
            try:
                ok = pred(t)
            except (AttributeError, IndexError, ValueError):
                # a screen caught mid-redraw (blank after the clear a key's frame begins
                # with: make test's sanitizer run) does not parse: not a match yet
                ok = False
            # The same matching screen twice: not caught in the middle of a redraw.
            if ok and (t == last or not stable):
                return t
            last = t
            time.sleep(0.1)
        raise AssertionError("pane never matched; last screen:\n" + self.text())

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def pane():
    made = []

    def start(args, **kw):
        p = Pane(" ".join(shlex.quote(a) for a in args), **kw)
        made.append(p)
        return p
    yield start
    for p in made:
        p.close()


def table(screen):
    """Rows of the table: lines after the column titles, up to the footer."""
    lines = screen.splitlines()
    i = next(k for k, ln in enumerate(lines)
             if ln.split()[:2] in (["PID", "COMM"], ["COMM", "LOCAL"]))
    return [ln.split() for ln in lines[i + 1:] if ln.strip() and not re.search(r"\d+ of \d+", ln)]


def dim_lines(screen):
    """[(plain line, dim)] from capture-pane -e output: whether a line's text starts dimmed.
    tmux sends SGR only on changes, so the attribute is tracked across lines."""
    out, dim = [], False
    for raw in screen.splitlines():
        plain, first_dim, i = "", None, 0
        while i < len(raw):
            m = re.match(r"\x1b\[([0-9;]*)m", raw[i:])
            if m:
                for par in (m.group(1) or "0").split(";"):
                    if par in ("0", ""):
                        dim = False
                    elif par == "2":
                        dim = True
                    elif par == "22":
                        dim = False
                i += m.end()
                continue
            if first_dim is None and not raw[i].isspace():
                first_dim = dim
            plain += raw[i]
            i += 1
        out.append((plain, bool(first_dim)))
    return out


def header_time(screen):
    m = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", screen)
    return m.group(0)


def at_end(screen):
    return "(end of capture)" in screen


def playing(screen, speed="x1"):
    """The header says the replay plays (not paused) at this speed."""
    return ("  %s  conns:" % speed) in screen.splitlines()[0]


def test_replay_shows_connections_and_sorts(gen, pane):
    path, want = gen(40, 4, 2)
    p = pane([REPLAY, "--speed", "max", path])
    s = p.wait(at_end)
    rows = table(s)
    assert len(rows) == len(want)
    assert {r[1] for r in rows} == {"curl", "nginx", "iperf3", "sshd", "python3"}
    assert "sort: TX/s" in s and "40 open" not in s  # some closed
    # '<' moves the sort to the previous columns: TX/s -> STATE -> REMOTE -> LOCAL -> PROTO -> COMM
    for _ in range(5):
        p.keys("<")
    s = p.wait(lambda t: "sort: COMM" in t)
    comms = [r[1] for r in table(s)]
    assert comms == sorted(comms) and comms != [r[1] for r in rows]
    # Closed connections are dimmed (SGR 2), open ones are not.
    dim = [(ln, d) for ln, d in dim_lines(p.text(escapes=True)) if ln.split()[:1] != [] and
           ln.split()[0].isdigit() and "of" not in ln.split()[:3]]
    assert {"CLOSED" in ln for ln, d in dim if d} == {True}
    assert any("CLOSED" in ln for ln, d in dim) and any("ESTAB" in ln for ln, d in dim if not d)
    p.keys("r")
    s = p.wait(lambda t: "reversed" in t)
    assert [r[1] for r in table(s)] == sorted(comms, reverse=True)


def test_text_filter_hides_rows_and_esc_clears(gen, pane):
    path, want = gen(50, 3, 2)
    p = pane([REPLAY, "--speed", "max", path])
    s = p.wait(at_end)
    p.keys("/")
    for ch in "nginx":
        p.keys(ch)
    p.keys("Enter")
    s = p.wait(lambda t: 'text "nginx"' in t)
    rows = table(s)
    assert rows and all(r[1] == "nginx" for r in rows)
    assert len(rows) == sum(1 for c in want if (c - 1000) % 5 == 1)
    p.keys("Escape")
    s = p.wait(lambda t: "filter: none" in t)
    assert len(table(s)) == 46 and "1-46 of %d" % len(want) in s


def test_q_quits_and_restores_terminal(gen, pane, tmp_path):
    path, _ = gen(20, 3, 2)
    before, after = tmp_path / "before", tmp_path / "after"
    cmd = "stty -g > %s; %s --speed max %s; echo EXIT=$?; stty -g > %s; sleep 30" % (
        before, REPLAY, path, after)
    p = pane(["sh", "-c", cmd])
    p.wait(at_end)
    p.keys("q")
    s = p.wait(lambda t: "EXIT=" in t)
    assert "EXIT=0" in s
    assert "PID" not in s and "COMM" not in s  # the alternate screen is gone
    time.sleep(0.2)
    assert before.read_text() == after.read_text()


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_signals_restore_terminal(gen, pane, tmp_path, how):
    path, _ = gen(20, 30, 2)
    before, after, pidf = tmp_path / "before", tmp_path / "after", tmp_path / "pid"
    # The outer shell ignores SIGINT so that Ctrl-C reaches only the replay (which installs
    # its own handler); the inner shell writes the replay's pid for SIGTERM.
    cmd = ("trap '' INT; stty -g > %s; sh -c 'echo $$ > %s; exec %s %s'; echo EXIT=$?; "
           "stty -g > %s; sleep 30" % (before, pidf, REPLAY, path, after))
    p = pane(["sh", "-c", cmd])
    p.wait(playing, stable=False)
    if how == "SIGINT":
        p.keys("C-c")
    else:
        os.kill(int(pidf.read_text()), signal.SIGTERM)
    s = p.wait(lambda t: "EXIT=" in t)
    assert "EXIT=0" in s and "PID" not in s
    time.sleep(0.2)
    assert before.read_text() == after.read_text()


def test_pause_stops_the_clock(gen, pane):
    path, _ = gen(20, 60, 30)
    p = pane([REPLAY, path])
    p.wait(playing, stable=False)
    time.sleep(0.5)
    p.keys("Space")
    s = p.wait(lambda t: "PAUSED" in t)
    t1 = header_time(s)
    time.sleep(1.5)
    s = p.text()
    assert "PAUSED" in s and header_time(s) == t1
    p.keys("Space")
    p.wait(lambda t: playing(t) and header_time(t) != t1, stable=False)
    p.keys("+")
    p.wait(lambda t: playing(t, "x2"), stable=False)


def view_rows(screen, n):
    """(PID, COMM, LOCAL, TX, RX) of the first n rows, as the view shows them."""
    return [(r[0], r[1], r[3], r[8], r[9]) for r in table(screen)[:n]]


def test_seek_shows_the_state_at_the_target(gen, pane):
    path, _ = gen(60, 80, 25)
    r = run([REPLAY, "--batch", "-H", "-i", "1", "-n", "40", path])
    snaps = batch_snapshots(r.stdout)
    want = {k: [(x["PID"], x["COMM"], x["LOCAL"], x["TX"], x["RX"]) for x in snaps[k - 1][1][:20]]
            for k in (10, 20, 30, 40)}
    p = pane([REPLAY, path])
    p.wait(playing, stable=False)
    p.keys("Space")
    p.wait(lambda t: "PAUSED" in t)
    p.keys("g")
    p.keys("Right")
    s = p.wait(lambda t: "16:00:10.000" in t)
    assert view_rows(s, 20) == want[10]
    # Forward past two keyframes, then back: the state comes from a keyframe plus events.
    p.keys("Right", "Right", "Right")
    s = p.wait(lambda t: "16:00:40.000" in t)
    assert view_rows(s, 20) == want[40]
    p.keys("Left")
    s = p.wait(lambda t: "16:00:30.000" in t)
    assert view_rows(s, 20) == want[30]
    p.keys("Left")
    s = p.wait(lambda t: "16:00:20.000" in t)
    assert view_rows(s, 20) == want[20]


def test_next_gap_jumps_to_lost_events(gen, pane):
    path, _ = gen(10, 10, 5)
    p = pane([REPLAY, path])
    p.wait(playing, stable=False)
    p.keys("Space")
    p.keys("g")
    p.keys("n")
    # The generator writes LOST records at 4.5 s and 7.5 s (+1 ns).
    s = p.wait(lambda t: "16:00:04.500" in t)
    assert "LOST 17 EVENTS" in s
    p.keys("n")
    s = p.wait(lambda t: "16:00:07.500" in t)
    assert "LOST 34 EVENTS" in s
    # None ahead: the view says so in words and stays where it was.
    p.keys("n")
    s = p.wait(lambda t: "no more gaps" in t.splitlines()[1])
    assert "16:00:07.500" in s and "LOST 34 EVENTS" in s and "No data" not in s


def test_100k_connections_scroll_and_ttl(gen, pane, tmp_path):
    path, want = gen(100000, 12, 5)
    n_open = sum(1 for v in want.values() if not v[3])
    p = pane([REPLAY, "--speed", "max", "--ttl", "3", path])
    # Closed at 5..8 s of event time, the capture ends at ~12 s: a 3 s TTL has evicted them.
    s = p.wait(at_end, timeout=60)
    assert "%d open, 0 closed" % n_open in s
    p.keys("End")
    s = p.wait(lambda t: re.search(r"(\d+)-%d of %d" % (n_open, n_open), t))
    rows = table(s)
    assert len(rows) == 50 - 4
    p.keys("Home")
    p.wait(lambda t: re.search(r"\b1-46 of %d" % n_open, t))
    # With the default 30 s TTL the closed ones are still there at the end.
    q = pane([REPLAY, "--speed", "max", path])
    s = q.wait(at_end, timeout=60)
    assert "%d open, %d closed" % (n_open, len(want) - n_open) in s


def titles(screen):
    line = next(ln for ln in screen.splitlines() if ln.split()[:1] in (["PID"], ["COMM"]))
    return line.split()


def test_resize_adapts_columns_and_shortens_ipv6(gen, pane):
    path, want = gen(30, 3, 2)
    p = pane([REPLAY, "--speed", "max", "--sort", "LOCAL", path], width=200, height=40)
    s = p.wait(at_end)
    assert titles(s) == ["PID", "COMM", "PROTO", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s",
                         "TX", "RX", "TX_PKT", "RX_PKT", "RTT"]
    # Wide: IPv6 endpoints in full (the generator's: [2001:db8::1]:PORT, [2001:db8::X:2]:PORT).
    v6 = [ln for ln in s.splitlines() if "TCP6" in ln or "UDP6" in ln]
    assert v6 and all(re.search(r"\[2001:db8::1\]:\d+ +\[2001:db8::([0-9a-f]+:)?2\]:\d+", ln)
                      for ln in v6)
    p.keys("")
    subprocess.run(["tmux", "resize-window", "-t", p.name, "-x", "76", "-y", "20"], check=True)
    s = p.wait(lambda t: max(len(ln) for ln in t.splitlines()) <= 76 and "1-16 of" in t)
    p.keys("r")  # LOCAL reversed: the IPv6 connections first
    s = p.wait(lambda t: "(reversed)" in t or "sort: LOCAL" not in t)
    cols = titles(s)
    # Narrow: the least useful columns went, the ones a user reads first stayed.
    assert cols == ["COMM", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s"]
    rows = table(s)
    assert len(rows) == 16 and all(len(r) == len(cols) for r in rows)
    # the header: time, position and speed, lost count and sort whole (the counts left out)
    assert re.match(r"16:00:0\d\.\d{3} UTC  \+\d\.\ds/\d\.\ds \(\d+%\)  max  lost 0  "
                    r"sort: LOCAL \(reversed\)$", s.splitlines()[0].rstrip())
    # IPv6 endpoints are cut with "…" but keep their port; IPv4 ones fit whole.
    i_local, i_remote = cols.index("LOCAL"), cols.index("REMOTE")
    for r in rows:
        for ep in (r[i_local], r[i_remote]):
            assert re.search(r":\d+$", ep), ep
            if ep.startswith("127.") or ep.startswith("10."):
                assert "…" not in ep
    # The local [2001:db8::1]:PORT loses the middle at a group boundary, keeping the prefix.
    v6 = [r[i_local] for r in rows if r[i_local].startswith("[")]
    assert len(v6) == sum(1 for c in want if (c - 1000) % 7 == 0)
    assert all(re.fullmatch(r"\[2001:…(:\w*)*\]:\d+|\[2001:db8::1\]:\d+", ep) for ep in v6), v6
    assert any("…" in ep for ep in v6)
    cut = [r[i_remote] for r in rows if "…" in r[i_remote]]
    assert all(re.search(r":2\]:\d+$", ep) for ep in cut)
    # Wide again: everything back.
    subprocess.run(["tmux", "resize-window", "-t", p.name, "-x", "200", "-y", "40"], check=True)
    s = p.wait(lambda t: "RX_PKT" in t and "[2001:db8::1]" in t)
    assert len(titles(s)) == 13


def test_header_shows_mode_counts_rates_lost_and_filters(gen, pane):
    path, want = gen(40, 30, 2)
    p = pane([REPLAY, "--port", "80", "--tcp", path])
    s = p.wait(lambda t: playing(t) and "16:00:05" in t, timeout=15, stable=False)
    head = s.splitlines()[0]
    assert re.match(r"tcptop-replay  2025-11-24 16:00:0\d\.\d{3} UTC  \+\d\.\ds/30\.0s \(\d+%\)  "
                    r"x1  conns: \d+ open, "
                    r"\d+ closed  tx [\d.]+[KMG]?B/s  rx [\d.]+[KMG]?B/s  lost 17  sort: TX/s", head)
    assert "LOST 17 EVENTS" in s and "filter: port=80 tcp" in s
    # Only port-80 TCP connections: the generator gives port 80 to i % 5 == 1, UDP to i % 11 == 5.
    n80 = sum(1 for c in want if (c - 1000) % 5 == 1 and (c - 1000) % 11 != 5)
    m = re.search(r"conns: (\d+) open, (\d+) closed", head)
    assert int(m.group(1)) + int(m.group(2)) == n80 == len(table(s))
    assert all(r[4].endswith(":80") and r[2] in ("TCP", "TCP6") for r in table(s))
    p.keys("Space")
    s = p.wait(lambda t: "PAUSED" in t)
    p.keys("Space", "+", "+")
    p.wait(lambda t: playing(t, "x4"), stable=False)
    p.keys("-")
    p.wait(lambda t: playing(t, "x2"), stable=False)
    p.keys("/", "n", "g", "i", "n", "x", "Enter")
    s = p.wait(lambda t: 'filter: port=80 tcp text "nginx"' in t, stable=False)
    # h: the keys, the view's and the replay's; any key goes back to the table
    p.keys("h")
    s = p.wait(lambda t: t.startswith("Keys") and "Replay" in t)
    for words in ("Up/Down, PgUp/PgDn, Home/End", "reverse the sort order", "Esc",
                  "pause / resume", "seek -/+10 s", "next lost-events record", "quit"):
        assert words in s, words
    p.keys("x")
    p.wait(lambda t: t.startswith("tcptop-replay"), stable=False)


def test_seek_exact_after_keyframes_thin_out(gen, pane):
    """Keyframes past their memory budget are thinned out (here a tiny budget forces it):
    seeks backwards and forwards still land on the exact state of the batch replay."""
    path, _ = gen(300, 300, 400)
    r = run([REPLAY, "--batch", "-H", "-i", "1", path])
    snaps = batch_snapshots(r.stdout)
    want = {k: [(x["PID"], x["COMM"], x["LOCAL"], x["TX"], x["RX"]) for x in snaps[k - 1][1][:20]]
            for k in (60, 120, 170, 180, 240)}
    p = pane([REPLAY, "--speed", "max", "--keyframe-mib", "1", path])
    p.wait(at_end, timeout=30)
    p.keys("Space")
    p.wait(lambda t: "PAUSED" in t)
    p.keys("g")
    p.wait(lambda t: "16:00:00.000" in t)
    # ']' and Shift-Right: +60 s, forwards into a part already played (from a keyframe)
    p.keys("]")
    s = p.wait(lambda t: "16:01:00.000" in t)
    assert view_rows(s, 20) == want[60]
    p.keys("S-Right", "]", "]")
    s = p.wait(lambda t: "16:04:00.000" in t)
    assert view_rows(s, 20) == want[240]
    # '[' and Shift-Left: -60 s; Left: -10 s
    p.keys("[")
    s = p.wait(lambda t: "16:03:00.000" in t)
    assert view_rows(s, 20) == want[180]
    p.keys("Left")
    s = p.wait(lambda t: "16:02:50.000" in t)
    assert view_rows(s, 20) == want[170]
    p.keys("S-Left", "Right")
    s = p.wait(lambda t: "16:02:00.000" in t)
    assert view_rows(s, 20) == want[120]


ALL_COLS = ["PID", "COMM", "PROTO", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s", "TX", "RX",
            "TX_PKT", "RX_PKT", "RTT"]
# What each width shows (tcptop(8), COLUMNS): the least needed columns go first, TX_PKT and
# RX_PKT (and TX and RX, TX/s and RX/s) only as a pair.
WIDTH_COLS = {
    80: ["COMM", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s"],
    100: ["PID", "COMM", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s", "TX", "RX"],
    120: ["PID", "COMM", "PROTO", "LOCAL", "REMOTE", "STATE", "TX/s", "RX/s", "TX", "RX", "RTT"],
    160: ALL_COLS,
    200: ALL_COLS,
}


def same_cell(shown, full):
    """A view cell is the batch's text, or the batch's text with its middle cut to '…'."""
    if "…" not in shown:
        return shown == full
    head, tail = shown.split("…", 1)
    return full.startswith(head) and full.endswith(tail) and len(shown) < len(full)


@pytest.mark.parametrize("width", sorted(WIDTH_COLS))
def test_columns_header_and_keys_fit_the_width(gen, pane, width):
    path, want = gen(40, 10, 5)
    r = run([REPLAY, "--batch", "-H", path])
    last = {x["REMOTE"]: x for x in batch_snapshots(r.stdout)[-1][1]}
    assert len(last) == len(want)
    p = pane([REPLAY, "--speed", "max", path], width=width, height=50)
    s = p.wait(at_end)
    lines = s.splitlines()
    cols = titles(s)
    # What matters stays: who, the remote end, the state, the rates; packet counts in pairs.
    assert {"REMOTE", "STATE", "TX/s", "RX/s"} <= set(cols) and {"PID", "COMM"} & set(cols)
    assert ("TX_PKT" in cols) == ("RX_PKT" in cols), cols
    assert cols == WIDTH_COLS[width]
    # Every row is the connection's row of the batch replay, column by column (rates aside:
    # the batch's are over its 1 s interval, the view's over its own).
    rows = table(s)
    assert len(rows) == len(want)
    for row in rows:
        assert len(row) == len(cols), row
        full = [v for k, v in last.items() if same_cell(row[cols.index("REMOTE")], k)]
        assert len(full) == 1, row
        full = full[0]
        for name, cell in zip(cols, row):
            assert same_cell(cell, full[name]) or name in ("TX/s", "RX/s"), (name, cell, full)
    # The header is whole: mode, the lost count (2 x 17 LOST events) and the sort column.
    head = lines[0].rstrip()
    assert len(head) <= width and head.endswith("lost 34  sort: TX/s"), head
    assert re.search(r"\(100%\)  max  ", head) and "16:00:10" in head
    assert "LOST 34 EVENTS" in lines[1]
    # The key line ends on a whole hint and names help.
    foot = lines[-1].rstrip()
    assert re.match(r"1-40 of 40  \(end of capture\)", foot) and "F1 help" in foot, foot
    assert re.search(r"(quit|help|filter|sort|reverse|columns)$", foot), foot
    # The help screen's lines are whole too.
    p.keys("F1")
    s = p.wait(lambda t: t.startswith("Keys") and "Replay" in t)
    assert all(len(ln.rstrip()) < min(width, 80) for ln in s.splitlines()), s
    assert "Esc cancels" in s


def test_sort_column_stays_when_narrow(gen, pane):
    """At 80 columns a sort on a column the width would leave out shows that column, and the
    rows are in its order (PID, largest first: the generator's pids are 1000 + i % 50)."""
    path, want = gen(40, 3, 2)
    p = pane([REPLAY, "--speed", "max", path], width=80, height=50)
    p.wait(at_end)
    for name in ALL_COLS[ALL_COLS.index("TX/s") + 1:] + ALL_COLS[:ALL_COLS.index("TX/s") + 1]:
        p.keys(">")
        s = p.wait(lambda t: re.search(r"sort: %s$" % re.escape(name), t.splitlines()[0].rstrip()))
        cols = titles(s)
        assert name in cols and len(" ".join(cols)) <= 80, (name, cols)
        assert {"REMOTE", "TX/s", "RX/s"} <= set(cols), cols
        if name == "PID":
            pids = [int(r[cols.index("PID")]) for r in table(s) if r[cols.index("PID")] != "-"]
            assert pids == sorted(pids, reverse=True) and len(pids) == len(want)  # as TX/s


def test_htop_function_keys(gen, pane):
    """F1 help, F3 search (the text filter), F6 sort (choose a column), F10 quit, as in htop."""
    path, want = gen(40, 3, 2)
    p = pane([REPLAY, "--speed", "max", path])
    p.wait(at_end)
    p.keys("F1")
    s = p.wait(lambda t: t.startswith("Keys"))
    for words in ("F1", "F3", "F6", "F10"):
        assert re.search(r"\b%s\b" % words, s), words
    p.keys("x")
    p.wait(lambda t: t.startswith("tcptop-replay"))
    p.keys("F3", "n", "g", "i", "n", "x", "Enter")
    s = p.wait(lambda t: 'text "nginx"' in t)
    assert {r[1] for r in table(s)} == {"nginx"}
    p.keys("Escape")
    p.wait(lambda t: "filter: none" in t)
    # F6: the arrows walk the columns, the table sorts as it goes; Enter keeps, Esc goes back.
    p.keys("F6")
    p.wait(lambda t: "sort by: TX/s" in t.splitlines()[-1])
    p.keys("Left", "Left", "Left", "Left", "Left")
    s = p.wait(lambda t: "sort by: COMM" in t.splitlines()[-1])
    p.keys("Enter")
    s = p.wait(lambda t: "sort: COMM" in t.splitlines()[0] and "sort by" not in t)
    comms = [r[1] for r in table(s)]
    assert comms == sorted(comms) and len(comms) == len(want)
    p.keys("F6", "Down", "Down")
    p.wait(lambda t: "sort by: LOCAL" in t.splitlines()[-1])
    p.keys("Escape")
    s = p.wait(lambda t: "sort: COMM" in t.splitlines()[0] and "sort by" not in t)
    assert [r[1] for r in table(s)] == comms
    p.keys("F10")
    p.wait(lambda t: p.dead(), stable=False)


@pytest.mark.parametrize("width,cols", [
    (100, WIDTH_COLS[100]), (140, ALL_COLS + ["RETR"]), (160, ALL_COLS + ["RETR", "FAIL"])])
def test_health_columns_go_first_when_narrow(gen, pane, width, cols):
    """--columns +RETR,+FAIL on a narrow terminal: the chosen health columns are given up
    before any default one, the last first (FAIL, then RETR), so a width shows what it showed
    without them (tcptop(8), COLUMNS); where they fit they come after RTT."""
    path, want = gen(20, 3, 2)
    p = pane([REPLAY, "--speed", "max", "--columns", "+RETR,+FAIL", path], width=width,
             height=40)
    s = p.wait(at_end)
    assert titles(s) == cols
    assert all(len(r) == len(cols) for r in table(s)) and len(table(s)) == len(want)


def test_f2_chooses_columns_as_htops_setup(pane):
    """F2 (htop's Setup > Columns): Right walks every column, shown or not, Space shows RETR and
    FAIL (hidden by default) and the table redraws with them at once, Enter keeps them; every
    row's RETR and FAIL are tcptop-query's retransmits and fail_reason of that connection
    (samples/health.tt: refused, timeout, unreachable, 140 retransmits). s then sorts over the
    shown columns only, RETR among them; C opens the chooser too, and Esc puts back the columns
    and the sort it found."""
    from test_replay import health_oracle
    cap = os.path.join(ROOT, "samples", "health.tt")
    want = health_oracle(cap)
    p = pane([REPLAY, "--speed", "max", "--ttl", "100000", cap])
    s = p.wait(at_end)
    assert titles(s) == ALL_COLS
    p.keys("F2")
    p.wait(lambda t: t.splitlines()[-1].startswith("column PID: shown "))
    p.keys(*["Right"] * 13)
    p.wait(lambda t: t.splitlines()[-1].startswith("column RETR: hidden "))
    p.keys("Space")
    s = p.wait(lambda t: t.splitlines()[-1].startswith("column RETR: shown "))
    assert titles(s) == ALL_COLS + ["RETR"]  # redrawn while choosing
    p.keys("Right", "Right", "Right", "Right")
    p.wait(lambda t: t.splitlines()[-1].startswith("column FAIL: hidden "))
    p.keys("Space", "Enter")
    s = p.wait(lambda t: titles(t) == ALL_COLS + ["RETR", "FAIL"] and "column " not in t)
    rows = table(s)
    assert len(rows) == len(want)
    cols = titles(s)
    for row in rows:
        x = want[(row[cols.index("LOCAL")], row[cols.index("REMOTE")])]
        assert (row[-2], row[-1]) == (str(x["retransmits"]), x["fail_reason"] or "-"), (row, x)
    assert {r[-1] for r in rows} >= {"refused", "timeout", "unreachable", "-"}
    # s walks the shown columns only: from TX/s to RTT, RETR, FAIL, then round to PID
    p.keys("s", "s", "s", "s", "s", "s")
    s = p.wait(lambda t: head(t).rstrip().endswith("sort: RTT"))
    p.keys("s")
    s = p.wait(lambda t: head(t).rstrip().endswith("sort: RETR"))
    retr = [int(r[-2]) for r in table(s)]
    assert retr == sorted(retr, reverse=True) and retr[0] == 140
    p.keys("s", "s")
    p.wait(lambda t: head(t).rstrip().endswith("sort: PID"))
    p.keys("S", "S")
    p.wait(lambda t: head(t).rstrip().endswith("sort: RETR"))
    # C, then hide RETR (the sort column: the sort moves on to FAIL) and FAIL (on to PID);
    # Esc puts back both columns and the sort
    p.keys("C", "Left", "Left")
    p.wait(lambda t: t.splitlines()[-1].startswith("column ZWIN: hidden "))
    p.keys("Left", "Left", "Left", "Space")
    s = p.wait(lambda t: titles(t) == ALL_COLS + ["FAIL"] and "column RETR: hidden " in t)
    assert head(s).rstrip().endswith("sort: FAIL")
    p.keys("Right", "Right", "Right", "Right", "Space")
    s = p.wait(lambda t: titles(t) == ALL_COLS and "column FAIL: hidden " in t)
    assert head(s).rstrip().endswith("sort: PID")
    p.keys("Escape")
    s = p.wait(lambda t: titles(t) == ALL_COLS + ["RETR", "FAIL"] and "column " not in t)
    assert head(s).rstrip().endswith("sort: RETR")
    # hiding a column and keeping it: the default look is back
    p.keys("F2", "Left", "Space", "Left", "Left", "Left", "Left", "Space", "Enter")
    s = p.wait(lambda t: titles(t) == ALL_COLS and "column " not in t)
    assert head(s).rstrip().endswith("sort: PID")


def head(screen):
    return screen.splitlines()[0]


def test_header_shows_the_position_length_and_speed_while_paused(gen, pane):
    """The header says where the replay is in the capture (offset from its start, its length,
    the share played) and the speed, paused or not: '16:00:10.000 UTC  +10.0s/1m00s (16%)  x2
    PAUSED' (seconds below a minute, then 1m05s, 1h02m05s). The generator's events run from
    16:00:00 to 16:01:00.000019."""
    path, _ = gen(20, 60, 30)
    p = pane([REPLAY, path])
    s = p.wait(lambda t: "16:00:0" in t, stable=False)
    assert re.search(r"^tcptop-replay  2025-11-24 16:00:0\d\.\d{3} UTC  \+\d\.\ds/1m00s "
                     r"\(\d%\)  x1  conns: ", head(s)), head(s)
    p.keys("Space")
    p.wait(lambda t: "PAUSED" in t)
    p.keys("g")
    s = p.wait(lambda t: "16:00:00.000" in t)
    assert "  2025-11-24 16:00:00.000 UTC  +0.0s/1m00s (0%)  x1  PAUSED  conns: " in head(s)
    p.keys("Right")
    s = p.wait(lambda t: "16:00:10.000" in t)
    assert " 16:00:10.000 UTC  +10.0s/1m00s (16%)  x1  PAUSED  conns: " in head(s)
    # the speed keys answer while paused
    p.keys("+")
    s = p.wait(lambda t: "x2  PAUSED" in t)
    assert " 16:00:10.000 UTC  +10.0s/1m00s (16%)  x2  PAUSED  conns: " in head(s)
    p.keys("-", "-")
    p.wait(lambda t: "(16%)  x0.5  PAUSED  conns: " in t)
    p.keys("]")
    s = p.wait(lambda t: "16:01:00.000" in t)
    assert " 16:01:00.000 UTC  +1m00s/1m00s (100%)  x0.5  PAUSED  conns: " in head(s)
    # playing again: PAUSED goes, the speed stays
    p.keys("g", "Space")
    s = p.wait(lambda t: re.search(r"\(\d%\)  x0\.5  conns: ", t), stable=False)
    assert "PAUSED" not in head(s)


def sample_span(name):
    """(start, last event) of a sample, in ns, by the independent Python reader: the start is
    the earlier of the header's start and the first event (a recorder's first sweep may stamp
    events a little before its header's time)."""
    cap = ttcap.read(os.path.join(ROOT, "samples", name))
    first = min(e["ts"] for e in cap.events)
    start = min(cap.header["start_ns"], first) if cap.header.get("start_ns") else first
    return start, max(e["ts"] for e in cap.events)


def test_header_position_of_a_sample_agrees_with_its_events(pane):
    """samples/web.tt at x1: each screen's offset and share are the header's time against the
    capture's start and length from the Python reader; at the end, the last event's time and
    the whole length at 100%."""
    start, last = sample_span("web.tt")
    length = (last - start) / 1e9
    p = pane([REPLAY, os.path.join(ROOT, "samples", "web.tt")])
    seen = 0
    deadline = time.time() + 20
    while time.time() < deadline and seen < 3:
        h = head(p.text())
        m = re.search(r" (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) UTC  \+([\d.]+)s/([\d.]+)s "
                      r"\((\d+)%\)  x1  conns:", h)
        if not m:
            time.sleep(0.1)
            continue
        assert m.group(4) == "%.1f" % length, h
        # the header's time has ms, the position ns: the offset and share of any instant
        # within that millisecond
        at = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) * 10**9 + \
            int(m.group(2)) * 10**6
        offs = [max(at + d - start, 0) for d in (0, 10**6 - 1)]
        assert m.group(3) in {"%.1f" % (o / 1e9) for o in offs}, (h, offs)
        assert int(m.group(5)) in {min(100 * o // (last - start), 100) for o in offs}, h
        seen += 1
        time.sleep(0.7)
    assert seen == 3
    s = p.wait(at_end)
    when = datetime.datetime.fromtimestamp(last // 10**9, datetime.timezone.utc)
    assert "%s.%03d UTC  +%.1fs/%.1fs (100%%)  x1  conns:" % (
        when.strftime("%Y-%m-%d %H:%M:%S"), last % 10**9 // 10**6, length, length) in head(s)


def speed(screen):
    """The speed the header shows: 'x8192', 'max'."""
    m = re.search(r"  (x[\d.]+|max)  (?:PAUSED  )?conns:", head(screen))
    return m and m.group(1)


def test_speed_keys_keep_to_the_command_lines_range(gen, pane):
    """+ and - stay within -s's range, 0.1 .. 10000 or max: + from 8192 stops at 10000, then
    max, and - comes back; - from 0.2 stops at 0.1 (they went on to 16384 and 0.05)."""
    path, _ = gen(20, 60, 30)
    p = pane([REPLAY, "-s", "8192", path])
    p.wait(lambda t: speed(t) == "x8192", stable=False)
    p.keys("+")
    p.wait(lambda t: speed(t) == "x10000")
    p.keys("+")
    p.wait(lambda t: speed(t) == "max")
    p.keys("+")
    time.sleep(0.5)
    assert speed(p.text()) == "max"
    p.keys("-")
    p.wait(lambda t: speed(t) == "x10000")
    p.keys("-")
    p.wait(lambda t: speed(t) == "x5000")
    q = pane([REPLAY, "-s", "0.2", path])
    q.wait(lambda t: speed(t) == "x0.2", stable=False)
    q.keys("-")
    q.wait(lambda t: speed(t) == "x0.1", stable=False)
    q.keys("-")
    time.sleep(0.5)
    assert speed(q.text()) == "x0.1"
    q.keys("+")
    q.wait(lambda t: speed(t) == "x0.2", stable=False)


def test_capture_on_stdin_plays_in_the_view_with_keys_from_the_terminal(pane, tmp_path):
    """cat x.tt | tcptop-replay -: the capture comes from stdin, the keys from the terminal
    (/dev/tty, as less does); every connection of the Python reader is in the table and the
    header knows the length once the pipe is read to its end. It said 'the view needs a
    terminal' and exited 1."""
    sample = os.path.join(ROOT, "samples", "web.tt")
    cap = ttcap.read(sample)
    conns = len({e["conn_id"] for e in cap.events if e["kind"] == 1})
    start, last = sample_span("web.tt")
    length = (last - start) / 1e9
    p = pane(["sh", "-c", "cat %s | %s -s max -; echo EXIT=$?; sleep 30" % (
        shlex.quote(sample), shlex.quote(REPLAY))])
    s = p.wait(at_end)
    m = re.search(r"conns: (\d+) open, (\d+) closed", head(s))
    assert int(m.group(1)) + int(m.group(2)) == conns, head(s)
    assert "  +%.1fs/%.1fs (100%%)  max  conns:" % (length, length) in head(s), head(s)
    assert "sort: TX/s" in head(s)
    p.keys(">")
    p.wait(lambda t: "sort: RX/s" in t)
    p.keys("q")
    s = p.wait(lambda t: "EXIT=" in t)
    assert "EXIT=0" in s


def test_capture_from_a_terminal_is_refused(pane):
    """tcptop-replay - with stdin a terminal would wait for a capture typed in: a usage error."""
    p = pane(["sh", "-c", "%s -; echo EXIT=$?; sleep 30" % shlex.quote(REPLAY)])
    s = p.wait(lambda t: "EXIT=" in t)
    assert "EXIT=2" in s
    assert re.search(r"^tcptop-replay: -: stdin is a terminal", s, re.M), s


KIND_NAMES = {1: "open", 3: "state", 4: "rtt", 5: "retrans", 6: "reset", 7: "close",
              8: "conn_proc"}


def pane_oracle():
    """samples/retransmits.tt's connection with a reset and the most retransmits (iperf3's data
    connection), and its timeline as it should read: its events but traffic, by the Python
    reader (kind, time, order), each with the field text of tcptop-replay --dump's line for it.
    Returns (its open event, its events, the lines)."""
    path = os.path.join(ROOT, "samples", "retransmits.tt")
    cap = ttcap.read(path).events
    resets = {e["conn_id"] for e in cap if e["kind"] == 6}
    conn = max(resets, key=lambda c: sum(e["conn_id"] == c and e["kind"] == 5 for e in cap))
    evs = sorted((e for e in cap if e["conn_id"] == conn and e["kind"] != 2),
                 key=lambda e: e["ts"])
    op = evs[0]
    assert op["kind"] == 1 and op["family"] == 4
    remote = "%s:%d" % (ipaddress.ip_address(bytes.fromhex(op["raddr"])[:4]), op["rport"])
    dump = [ln for ln in run([REPLAY, "--dump", path]).stdout.splitlines()
            if " conn %d " % conn in ln and " traffic " not in ln]
    assert len(dump) == len(evs) > 90
    kinds = [KIND_NAMES.get(e["kind"]) for e in evs]
    # the connection has what the pane is for: the handshake, retransmits, a reset, the close
    assert kinds[:3] == ["open", "state", "state"] and kinds.count("retrans") > 80
    assert "reset" in kinds and kinds[-1] == "close"
    out = []
    for e, ln in zip(evs, dump):
        name = ln.split()[2]
        assert name == KIND_NAMES.get(e["kind"], name)
        # an open's fields are its endpoints (the pane's summary): no text of its own
        text = "" if e["kind"] == 1 else ln.split(" > " + remote, 1)[1]
        if e["kind"] == 5:
            assert text.startswith(" segs %d" % e["segs"])
        rel = e["ts"] - op["ts"]
        when = datetime.datetime.fromtimestamp(e["ts"] // 10**9, datetime.timezone.utc)
        out.append(("%s.%06dZ +%d.%06ds  %-9s%s" % (
            when.strftime("%Y-%m-%d %H:%M:%S"), e["ts"] % 10**9 // 1000, rel // 10**9,
            rel % 10**9 // 1000, name, text)).rstrip())
    return op, remote, evs, out


def pane_page(screen):
    """(first, last, count) of the pane's footer and its timeline lines, or None."""
    lines = screen.splitlines()
    m = next((re.match(r"events (\d+)-(\d+) of (\d+)", ln) for ln in lines
              if ln.startswith("events ")), None)
    if not m or not any(ln.startswith(" TIME (UTC)") for ln in lines):
        return None
    i = next(k for k, ln in enumerate(lines) if ln.startswith(" TIME (UTC)"))
    body = [ln.strip() for ln in lines[i + 1:-1] if ln.strip() and not ln.startswith("events ")]
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), body


def pane_read(p):
    """The whole timeline, paged through with PgDn from the top (Home); the last page is
    whole, so it overlaps the one before: the overlap must read the same."""
    p.keys("Home")
    got = []
    while True:
        s = p.wait(lambda t: pane_page(t) and (pane_page(t)[0] == 1 or not pane_page(t)[2])
                   if not got else pane_page(t) and pane_page(t)[1] > len(got))
        first, last, n, body = pane_page(s)
        assert len(body) == last - first + 1 if n else body == []
        assert got[first - 1:] == body[:len(got) - first + 1]
        got = got[:first - 1] + body
        if last >= n:
            return got, s
        p.keys("NPage")


def test_enter_opens_the_timeline_of_the_selected_connection(pane):
    """samples/retransmits.tt, iperf3's data connection (handshake, 84 retransmits, RTT, a
    reset, the close; the client end, first in LOCAL order behind its port's filter): Enter
    shows exactly its events but traffic, in order, with their wall time and time since the
    open, while playing, paused, after a seek and at the end; Esc, Enter and q close it back
    to the table, which q then quits."""
    op, remote, evs, want = pane_oracle()
    conn = op["conn_id"]
    local = "%s:%d" % (ipaddress.ip_address(bytes.fromhex(op["laddr"])[:4]), op["lport"])
    # its own row sorts first by LOCAL, before its peer's (whose LOCAL is our REMOTE)
    assert (bytes.fromhex(op["laddr"]), op["lport"]) < (bytes.fromhex(op["raddr"]), op["rport"])
    p = pane([REPLAY, "--ttl", "100000", "-P", str(op["lport"]), "--sort", "LOCAL",
              os.path.join(ROOT, "samples", "retransmits.tt")], width=160)
    # playing at x1: the client end is the first row once it is open
    def client_first(t):
        try:
            return table(t)[0][3] == local
        except (StopIteration, IndexError):
            return False
    p.wait(client_first, stable=False)
    p.keys("Enter")
    s = p.wait(lambda t: "CONNECTION %d " % conn in t, stable=False)
    assert "TCP %s > %s  pid %d %s" % (local, remote, op["pid"], op["comm"]) in s
    # paused: the timeline holds still and is what was played up to the header's time
    p.keys("Space")
    s = p.wait(lambda t: "PAUSED" in head(t))
    got, s = pane_read(p)
    assert 0 < len(got) and got == want[:len(got)], (got, want)
    at = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) UTC", head(s))
    at = calendar.timegm(time.strptime(at.group(1), "%Y-%m-%d %H:%M:%S")) * 10**9 + \
        int(at.group(2)) * 10**6
    assert evs[len(got) - 1]["ts"] < at + 10**6
    assert len(got) == len(evs) or evs[len(got)]["ts"] >= at
    time.sleep(0.5)
    assert pane_read(p)[0] == got
    # playing again to the end: all of it, the pane still on its connection
    p.keys("Space")
    p.wait(at_end)
    got, s = pane_read(p)
    assert got == want
    assert "RESET" in s and "pid %d %s" % (op["pid"], op["comm"]) in s
    # Esc closes it: the table again, with both ends
    p.keys("Escape")
    s = p.wait(lambda t: "CONNECTION" not in t and len(table(t)) == 2)
    # a seek back to the start while it is open: the timeline restarts with the replay
    p.keys("Enter")
    p.wait(lambda t: "CONNECTION %d " % conn in t)
    p.keys("g")
    p.wait(lambda t: not at_end(t), stable=False)
    p.wait(at_end, timeout=20)
    assert pane_read(p)[0] == want
    # Enter and q close it too; q on the table then quits
    p.keys("Enter")
    p.wait(lambda t: "CONNECTION" not in t and len(table(t)) == 2)
    p.keys("Enter")
    p.wait(lambda t: "CONNECTION %d " % conn in t)
    p.keys("q")
    p.wait(lambda t: "CONNECTION" not in t and len(table(t)) == 2)
    assert not p.dead()
    p.keys("q")
    assert p.wait_dead()


@needs_cmd("tmux")
@pytest.mark.parametrize("rport", [15303, 15304, 15305])
def test_pane_splits_retransmits_by_cause(pane, rport):
    """The detail pane's counters line says why the connection retransmitted, as
    tcptop-query's connections row of it does: the causes that are not 0 (other: the
    handshake's and those of no known cause), and the spurious resends (samples/health.tt:
    fast retransmits, a tail loss probe found spurious, the SYNs of a listener's overflow)."""
    path = os.path.join(ROOT, "samples", "health.tt")
    r = run([tool("tcptop-query"), "-F", "json", path,
             "SELECT id, lport, retransmits, retrans_rto, retrans_fast, retrans_tlp, "
             "retrans_spurious FROM connections WHERE direction = 'out' AND rport = %d "
             "AND retransmits > 0 ORDER BY id LIMIT 1" % rport])
    (c,) = json.loads(r.stdout)
    other = c["retransmits"] - c["retrans_rto"] - c["retrans_fast"] - c["retrans_tlp"]
    parts = ["%s %d" % (n, v) for n, v in (("rto", c["retrans_rto"]),
                                           ("fast", c["retrans_fast"]),
                                           ("tlp", c["retrans_tlp"]), ("other", other)) if v]
    want = "retrans %d (%s)" % (c["retransmits"], ", ".join(parts))
    if c["retrans_spurious"]:
        want += "  spurious %d" % c["retrans_spurious"]
    p = pane([REPLAY, "--ttl", "100000", "-s", "max", "-P", str(c["lport"]), "--sort", "LOCAL",
              path], width=160)
    p.wait(at_end)
    # its row is the one whose LOCAL port is lport: move down to it
    rows = table(p.text())
    at = next(i for i, row in enumerate(rows) if row[3].endswith(":%d" % c["lport"]))
    for _ in range(at):
        p.keys("Down")
    p.keys("Enter")
    s = p.wait(lambda t: "CONNECTION %d " % c["id"] in t)
    assert want + "  resets " in s, (want, s)
