"""Every command shown in README.md, docs/GUIDE.md and samples/README.md: each one that runs
without root or live traffic runs as printed (in a directory holding the samples, `build/`, and
a capture standing for the reader's own `incident.tt`, `cap.tt` and rotated set) and shows what
the text next to it says it shows; the others are listed in EXCLUDED with the reason. A command
added to the docs fails test_every_command_is_checked_or_excluded until it is classified here."""
import csv
import datetime
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, run, tool
from test_pcap_source import conversation, pcap_file
from test_replay import gen  # noqa: F401  (a fixture: the stand-in for a user's capture)

sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
import ttcap  # noqa: E402

DOCS = ["README.md", "docs/GUIDE.md", "samples/README.md"]
TOOLS = ("tcptop", "tcptop-record", "tcptop-replay", "tcptop-query")
# first words of a line that is a command (the rest of a block is its output or a comment)
COMMAND_WORDS = set(TOOLS) | {"make", "head", "kill", "bash"} | {"build/" + t for t in TOOLS}


def doc_commands():
    """[(doc, command, comment, output lines)] from the ```sh blocks, plus inline `...` spans
    that run a tool on samples/. A command goes on while its quotes are open; `$ ` is a prompt
    whose command's output follows it in the block."""
    out = []
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc)).read()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            cur, prompt = None, False
            for line in block.splitlines():
                if cur is not None:
                    cur[1] += "\n" + line
                else:
                    stripped = line[2:] if line.startswith("$ ") else line
                    first = stripped.split()[0] if stripped.split() else ""
                    if first not in COMMAND_WORDS:
                        if out and prompt and out[-1][0] == doc:
                            out[-1][3].append(line)
                        continue
                    prompt = line.startswith("$ ")
                    cur = [doc, stripped, "", []]
                try:
                    words = shlex.split(cur[1], comments=True)
                except ValueError:
                    continue  # a quote still open: the command goes on
                m = re.search(r"\s#\s*(.*)$", cur[1])
                if m and "#" not in " ".join(words):
                    cur[2] = m.group(1)
                    cur[1] = cur[1][:m.start()]
                cur[1] = cur[1].strip()
                out.append(cur)
                cur = None
        for span in re.findall(r"`((?:build/)?tcptop-(?:replay|query) [^`]*samples/[^`]*)`", text):
            out.append([doc, span, "", []])
    return [tuple(c) for c in out]


EXCLUDED = {
    "make run": "root: installs packages, loads BPF and starts the live view",
    "make test": "runs the whole suite (this test is part of it)",
    "make vmtest": "root: boots kernels under QEMU (scripts/vmtest)",
    "make NO_BPF=1": "builds the tree: the suite runs on the build it made",
    "make install PREFIX=/usr/local": "root: installs into /usr/local (test_install.py installs "
                                      "into a DESTDIR)",
    "make NO_BPF=1 && make NO_BPF=1 install PREFIX=$HOME/.local":
        "builds and installs into the user's home (test_install.py installs into a DESTDIR)",
    "make && bash samples/make-samples.sh": "root: records live traffic (test_samples.py checks "
                                            "what the samples it made show)",
    "tcptop": "root, live traffic",
    "tcptop --source pcap:dump.pcap": "a curses view (test_pcap_source.py plays a pcap in "
                                      "tcptop -b, at its pace)",
    "tcptop-replay --follow /var/log/tcptop/cap.tt":
        "a recorder writing the file (test_follow.py follows one, as nobody)",
    "tcptop-replay --follow -i 10 --csv - /var/log/tcptop/cap.tt":
        "a recorder writing the file (test_follow.py follows one, as nobody)",
    "tcptop -c nginx --sort RTT": "root, live traffic",
    "tcptop -P 5432 -4": "root, live traffic",
    "tcptop-record -o /var/tmp/incident.tt": "root, live traffic",
    "tcptop-record -o /var/log/tcptop/cap.tt -G 1h -W 24 -Z tcptop": "root, an hour per file",
    "tcptop-record -o /var/log/tcptop/cap.tt -C 100 -W 10": "root, 100 MB per file",
    "tcptop-record -o /var/tmp/flight.tt --flight 5m &": "root, live traffic",
    "kill -USR1 %1": "the flight recorder above (root)",
    "tcptop-replay --from 10:56:00 --to 10:58:00 -o cut.tt incident.tt":
        "times of the reader's own capture (test_replay.py::test_filters_and_from_to cuts)",
    "tcptop-replay --from 10:56:00 --to 10:58:00 -o two-minutes.tt incident.tt":
        "times of the reader's own capture (test_replay.py::test_filters_and_from_to cuts)",
    "tcptop-replay samples/resets.tt":
        "the reset-storm recipe: test_samples.py::test_readme_reset_storm_recipe_in_the_view",
}


# ------------------------------------------------------------------ the sandbox and runners

@pytest.fixture(scope="module")
def box(gen, tmp_path_factory):  # noqa: F811
    """A directory as the docs assume: samples/, build/, incident.tt (a generated capture of
    40 s with connections to ports 80 and 443), cap.tt (the reset storm sample), log/cap.tt*
    a rotated set."""
    d = tmp_path_factory.mktemp("docs")
    shutil.copytree(os.path.join(ROOT, "samples"), d / "samples")
    os.symlink(os.path.dirname(tool("tcptop-replay")), d / "build")
    path, _ = gen(60, 40, 20)
    shutil.copy(path, d / "incident.tt")
    shutil.copy(d / "samples" / "resets.tt", d / "cap.tt")  # real, with resets
    (d / "log").mkdir()
    first, _ = gen(30, 10, 5)
    second, _ = gen(30, 10, 5, 5000, 10)
    shutil.copy(first, d / "log" / "cap.tt")
    shutil.copy(second, d / "log" / "cap.tt.1")
    pcap_file(str(d / "dump.pcap"), conversation(1767225600 * 10**9))  # the reader's tcpdump's
    return d


def shell(box, cmd, tty=False):
    """CMD as printed, in box, with the built tools first on PATH; tty: stdout a terminal."""
    cmd = cmd.replace("/var/log/tcptop/", "log/")
    env = dict(os.environ, PATH=str(box / "build") + ":" + os.environ["PATH"], HOME=str(box))
    if tty:
        if not shutil.which("script"):
            pytest.skip("no script(1) for a terminal")
        cmd = "script -qec %s /dev/null" % shlex.quote(cmd)
    r = run(["sh", "-c", cmd], cwd=str(box), env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (cmd, r.stderr)
    return r.stdout.replace("\r\n", "\n") if tty else r.stdout


def events(path):
    return [e for e in ttcap.read(str(path)).events]


def table_rows(text):
    """A -F table (or --batch) output's rows, after the dashes line."""
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if set(ln.replace(" ", "")) == {"-"})
    return [ln.split() for ln in lines[i + 1:] if ln.strip()]


def csv_rows(text):
    return list(csv.DictReader(text.splitlines()))


# ------------------------------------------------------------------ what each says it shows

def view_pauses_seeks_quits(box, cmd):
    """'space pauses, arrows (Left/Right) seek, q quits', through tmux."""
    if not shutil.which("tmux"):
        pytest.skip("no tmux")
    from test_view import Pane
    env = "PATH=%s:$PATH" % shlex.quote(str(box / "build"))
    p = Pane("cd %s && %s %s; echo EXIT=$?; sleep 60" % (shlex.quote(str(box)), env, cmd),
             width=160, height=50)
    try:
        clock = lambda t: re.search(r"\d\d:\d\d:\d\d\.\d{3}", t.splitlines()[0]).group(0)  # noqa
        # the header's position and speed: "+1.9s/4.9s (39%)  x1"
        p.wait(lambda t: re.search(r"\(\d+%\)  x", t.splitlines()[0]), stable=False)
        p.keys("Space")
        s = p.wait(lambda t: "PAUSED" in t.splitlines()[0])
        before = datetime.datetime.strptime(clock(s), "%H:%M:%S.%f")
        p.keys("Right")
        s = p.wait(lambda t: clock(t) != before.strftime("%H:%M:%S.%f")[:12])
        after = datetime.datetime.strptime(clock(s), "%H:%M:%S.%f")
        assert (after - before).total_seconds() == pytest.approx(10, abs=0.002) or \
            "(end of capture)" in s, s
        p.keys("q")
        p.wait(lambda t: "EXIT=0" in t)
    finally:
        p.close()


def iperf3_connections(box, cmd):
    """The iperf3 sample's connections, with the columns the SQL names."""
    out = csv_rows(shell(box, cmd))
    n = sum(1 for e in events(box / "samples" / "iperf3.tt") if e["kind"] == 1)
    assert list(out[0]) == ["comm", "laddr", "lport", "raddr", "rport", "tx_bytes", "rx_bytes"]
    assert len(out) == n == 4 and {r["comm"] for r in out} == {"iperf3"}


def resets_grep(box, cmd):
    """'like tcpdump -r': one line per reset event."""
    lines = shell(box, cmd).splitlines()
    n = sum(1 for e in events(box / "samples" / "resets.tt") if e["kind"] == 6)
    assert len(lines) == n == 150 and all(" reset " in ln for ln in lines)


def snapshots_every_10s(box, cmd):
    """'a (text) snapshot every 10 s of capture time', human numbers."""
    out = shell(box, cmd)
    heads = [ln for ln in out.splitlines() if ln.startswith("tcptop-replay ")]
    times = [datetime.datetime.strptime(re.search(r"\d\d:\d\d:\d\d\.\d{3}", h).group(0),
                                        "%H:%M:%S.%f") for h in heads]
    steps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    # the final snapshot, at the capture's end, may fall on the last tick
    assert len(heads) >= 4 and all(s == 10 for s in steps[:-1]) and 0 <= steps[-1] <= 10, heads
    assert re.search(r"\d(\.\d)?[KM]B\b", out), out[:2000]  # -H: human units


def csv_snapshots(box, cmd):
    """'the same as CSV (exact numbers, time, conn_id)'."""
    shell(box, cmd)
    rows = list(csv.DictReader(open(box / "snaps.csv")))
    assert rows and list(rows[0])[:3] == ["time", "time_ns", "conn_id"]
    assert all(r["tx_bytes"].isdigit() for r in rows)


def dump_every_event(path):
    def check(box, cmd):
        """'every event, one per line'."""
        lines = shell(box, cmd).splitlines()
        assert len(lines) == len(events(box / path)) > 0
    return check


def dump_json_443(box, cmd):
    """'JSON lines' of the connections of port 443."""
    lines = [json.loads(x) for x in shell(box, cmd).splitlines()]
    assert "header" in lines[0] and len(lines) > 1
    ids = {e["conn_id"] for e in events(box / "incident.tt")
           if e["kind"] == 1 and 443 in (e["lport"], e["rport"])}
    assert ids and {e["conn_id"] for e in lines[1:]} - {0} == ids


def key_file(box, cmd):
    shell(box, cmd)
    assert os.path.getsize(box / "site.key") == 32


def anonymized_copy(box, cmd):
    """A copy for sharing: addresses and process names not the original's."""
    shell(box, "test -s site.key || head -c 32 /dev/urandom > site.key")
    shell(box, "rm -f shared.tt; " + cmd)
    orig, copy = events(box / "incident.tt"), events(box / "shared.tt")
    assert len(copy) == len(orig)
    addrs = lambda evs: {e["raddr"] for e in evs if e["kind"] == 1}  # noqa: E731
    comms = lambda evs: {e["comm"] for e in evs if e["kind"] == 1 and e["comm"]}  # noqa: E731
    assert addrs(orig) and not addrs(orig) & addrs(copy)
    assert comms(orig) and not comms(orig) & comms(copy)


def top_talkers(box, cmd):
    """'top talkers': per name and pid, most bytes first, at most 10."""
    rows = csv_rows(shell(box, cmd))
    assert list(rows[0]) == ["comm", "pid", "conns", "tx", "rx"] and 0 < len(rows) <= 10
    tot = [int(r["tx"]) + int(r["rx"]) for r in rows]
    assert tot == sorted(tot, reverse=True)


def retrans_or_reset(box, cmd):
    """'connections that retransmitted or were reset'."""
    rows = csv_rows(shell(box, cmd))
    assert rows and all(int(r["retransmits"]) > 0 or int(r["resets"]) > 0 for r in rows)


def week_db(box, cmd):
    """'a week of hourly files into one SQLite database', for the sqlite3 shell."""
    shell(box, "rm -f week.sqlite; " + cmd)
    db = sqlite3.connect(str(box / "week.sqlite"))
    n = db.execute("SELECT count(*) FROM connections").fetchone()[0]
    want = sum(1 for f in ("cap.tt", "cap.tt.1") for e in events(box / "log" / f)
               if e["kind"] == 1)
    assert n == want > 0


def rotated_set_at_20(box, cmd):
    """'a rotated set, 20 times faster': both files in one view, at x20."""
    if not shutil.which("tmux"):
        pytest.skip("no tmux")
    from test_view import Pane
    env = "PATH=%s:$PATH" % shlex.quote(str(box / "build"))
    p = Pane("cd %s && %s exec %s" % (shlex.quote(str(box)), env,
                                      cmd.replace("/var/log/tcptop/", "log/")), width=160)
    try:
        s = p.wait(lambda t: "(end of capture)" in t, timeout=30)
        assert "x20" in s.splitlines()[0]
        assert "of 60" in s  # 30 connections in each file
    finally:
        p.close()


def resets_query_output(box, cmd, output):
    """The printed output, as a terminal shows it; the server exited just before the storm."""
    got = shell(box, cmd, tty=True).splitlines()
    assert got == output
    exited, first = [datetime.datetime.fromisoformat(x) for x in
                     re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", got[2])]
    assert datetime.timedelta(0) < first - exited < datetime.timedelta(seconds=1)


def batch_one_per_second(box, cmd):
    """'text snapshots, one per second of the capture'."""
    heads = [ln for ln in shell(box, cmd).splitlines() if ln.startswith("tcptop-replay ")]
    evs = events(box / "samples" / "resets.tt")
    span = (max(e["ts"] for e in evs) - min(e["ts"] for e in evs)) / 1e9
    assert int(span) <= len(heads) <= int(span) + 2, (span, len(heads))


def health_columns(box, cmd):
    """GUIDE.md: the health columns, each as the query's column, the failed connections first."""
    lines = shell(box, cmd).splitlines()
    assert lines[1].split()[-5:] == ["RETR", "CONNECT", "CWND", "ZWIN", "FAIL"]
    rows = [ln.split() for ln in lines[2:] if ln.strip()]
    assert [r[-1] for r in rows[:3]] == ["refused", "timeout", "unreachable"]
    assert all(r[-1] == "-" for r in rows[3:]) and len(rows) == 19
    assert any(r[-5] == "140" for r in rows) and any(r[-2] == "1931ms" for r in rows)


PCAP_RECORD = "tcptop-record --source pcap:dump.pcap -o dump.tt"


def pcap_imported(box, cmd):
    """GUIDE.md's pcap source: the connection of dump.pcap (test_pcap_source.conversation),
    with its packets' times."""
    if os.path.exists(box / "dump.tt"):
        os.unlink(box / "dump.tt")  # (a rerun: the recorder refuses to replace a file)
    shell(box, cmd)
    evs = events(box / "dump.tt")
    assert sum(e["kind"] == 1 for e in evs) == 1  # one open
    assert min(e["ts"] for e in evs) == 1767225600 * 10**9


def pcap_query(box, cmd):
    if not os.path.exists(box / "dump.tt"):
        shell(box, PCAP_RECORD)
    rows = csv_rows(shell(box, "tcptop-query -F csv " + cmd.split(None, 1)[1]))
    assert rows == [{"laddr": "192.0.2.1", "lport": "40000", "raddr": "192.0.2.2",
                     "rport": "80", "tx_bytes": "1000", "rx_bytes": "300", "retransmits": "0",
                     "fail_reason": ""}], rows


def samples_query(check):
    def run_it(box, cmd):
        rows = csv_rows(shell(box, "%s -F csv %s" % (cmd.split()[0], cmd.split(None, 1)[1])))
        assert rows
        check(rows)
    return run_it


CHECKS = {
    "build/tcptop-replay samples/*.tt": view_pauses_seeks_quits,
    "build/tcptop-replay samples/web.tt": view_pauses_seeks_quits,
    "tcptop-replay incident.tt": view_pauses_seeks_quits,
    'build/tcptop-query samples/iperf3.tt "SELECT comm, laddr, lport, raddr, rport, tx_bytes, '
    'rx_bytes FROM connections"': iperf3_connections,
    "tcptop-replay --dump samples/resets.tt | grep reset": resets_grep,
    "tcptop-replay -b -H -i 10 incident.tt": snapshots_every_10s,
    "tcptop-replay --csv snaps.csv -b incident.tt": csv_snapshots,
    "tcptop-replay --dump incident.tt": dump_every_event("incident.tt"),
    "tcptop-replay --dump --json -P 443 incident.tt": dump_json_443,
    "head -c 32 /dev/urandom > site.key": key_file,
    "tcptop-replay --anonymize site.key --anonymize-comm -o shared.tt incident.tt":
        anonymized_copy,
    "tcptop-replay -s 20 /var/log/tcptop/cap.tt*": rotated_set_at_20,
    "tcptop-query --db week.sqlite /var/log/tcptop/cap.tt*": week_db,
    "build/tcptop-replay --batch -H samples/resets.tt": batch_one_per_second,
    "build/tcptop-replay --dump samples/dns-udp.tt | less": dump_every_event("samples/dns-udp.tt"),
    PCAP_RECORD: pcap_imported,
}
# the multi-line ones by their first line
CHECKS_BY_START = {
    'tcptop-query cap.tt "SELECT comm, pid, count(*) conns': top_talkers,
    'tcptop-query cap.tt "SELECT first_time, comm, raddr, rport, retransmits, resets':
        retrans_or_reset,
    'tcptop-query samples/resets.tt "SELECT p.comm, p.pid, tt_time(p.exit_ts) exited,':
        resets_query_output,
    'tcptop-query samples/web.tt "SELECT comm, direction, count(*) conns':
        samples_query(lambda rows: {(r["comm"], r["direction"], r["conns"]) for r in rows} ==
                      {("curl", "out", "121"), ("python3", "in", "121")}),
    'tcptop-query samples/iperf3.tt "SELECT conn_id, ts / 1000000000':
        samples_query(lambda rows: sum(1 for r in rows if int(r["sum(tx_bytes)"]) > 10**8) >= 2),
    'tcptop-query samples/dns-udp.tt "SELECT lport, rport, tx_packets':
        samples_query(lambda rows: len(rows) == 60 and all(
            (r["tx_packets"], r["rx_packets"]) == ("1", "1") for r in rows)),
    'tcptop-query samples/ipv6.tt "SELECT proto, family, direction':
        samples_query(lambda rows: {r["family"] for r in rows} == {"6"} and
                      {r["proto"] for r in rows} == {"tcp", "udp"}),
    # docs/GUIDE.md "Why was it slow?" and samples/README.md: health.tt's incidents
    "tcptop-replay -b -i 1h --columns +RETR,+CONNECT,+CWND,+ZWIN,+FAIL --sort FAIL": health_columns,
    'tcptop-query dump.tt "SELECT laddr, lport, raddr, rport, tx_bytes': pcap_query,
    'tcptop-query samples/health.tt "SELECT fail_reason, count(*)':
        samples_query(lambda rows: {(r["fail_reason"], r["count(*)"]) for r in rows} ==
                      {("refused", "1"), ("timeout", "1"), ("unreachable", "1")}),
    'tcptop-query samples/health.tt "SELECT raddr, rport, retransmits':
        samples_query(lambda rows: any(r["rport"] == "15303" and int(r["retrans_fast"]) > 0 and
                                       int(r["retrans_fast"]) + int(r["retrans_rto"]) +
                                       int(r["retrans_tlp"]) == int(r["retransmits"])
                                       for r in rows)),
    'tcptop-query samples/health.tt "SELECT reason, count(*) FROM drops':
        samples_query(lambda rows: rows[0]["reason"] == "NETFILTER_DROP"),
    'tcptop-query samples/health.tt "SELECT conn_id, side':
        samples_query(lambda rows: sorted(r["side"] for r in rows) == ["local", "peer"] and
                      all(1600 <= float(r["ms"]) <= 2400 for r in rows)),
    'tcptop-query samples/health.tt "SELECT lport, comm, max(accept_queue)':
        samples_query(lambda rows: any(r["lport"] == "15305" and int(r["overflows"]) > 0 and
                                       int(r["queue"]) == int(r["accept_queue_max"]) + 1
                                       for r in rows)),
    'tcptop-query samples/health.tt "SELECT rport, fail_reason, connect_us':
        samples_query(lambda rows: [r["fail_reason"] for r in rows[:3]] ==
                      ["refused", "timeout", "unreachable"] and
                      any(int(r["zero_window_ms"]) > 1600 for r in rows)),
    'tcptop-query samples/retransmits.tt "SELECT laddr, lport, raddr':
        samples_query(lambda rows: int(rows[0]["retransmits"]) >= 50 and
                      rows[0]["raddr"] == "10.98.0.2"),
}


def check_of(cmd):
    if cmd in CHECKS:
        return CHECKS[cmd]
    for start, fn in CHECKS_BY_START.items():
        if cmd.startswith(start):
            return fn
    return None


def samples_resets_query(box, cmd):
    """The reset storm: the server (python3) and 150 resets after it exited."""
    rows = csv_rows(shell(box, "tcptop-query -F csv " + cmd.split(None, 1)[1]))
    assert len(rows) == 1 and rows[0]["comm"] == "python3" and rows[0]["resets"] == "150"
    assert rows[0]["exited"] < rows[0]["first_reset"]


CMDS = doc_commands()


def test_every_command_is_checked_or_excluded():
    assert len(CMDS) >= 30, CMDS
    unknown = [(d, c) for d, c, _, _ in CMDS if c not in EXCLUDED and not check_of(c)
               and not c.startswith('tcptop-query samples/resets.tt "SELECT p.comm')]
    assert unknown == []
    shown = {c for _, c, _, _ in CMDS}
    assert set(EXCLUDED) <= shown and set(CHECKS) <= shown, \
        (set(EXCLUDED) | set(CHECKS)) - shown
    for start in CHECKS_BY_START:
        assert any(c.startswith(start) for c in shown), start


@pytest.mark.parametrize("doc,cmd,comment,output", [c for c in CMDS if c[1] not in EXCLUDED],
                         ids=lambda x: x if isinstance(x, str) and len(x) < 60 else None)
def test_command_shows_what_the_doc_says(box, doc, cmd, comment, output):
    fn = check_of(cmd)
    assert fn, cmd
    if fn is resets_query_output:
        if output:
            fn(box, cmd, output)
        else:  # samples/README's copy, without the output printed
            samples_resets_query(box, cmd)
    else:
        fn(box, cmd)


def test_replay_output_dash_is_a_pipe_as_the_man_page_says(box):
    """tcptop-replay(1): `-o -` writes the capture to standard output, for a pipe into
    tcptop-query -; every event of the input arrives (the Python reader counts them)."""
    man = " ".join(open(os.path.join(ROOT, "docs", "man", "tcptop-replay.1")).read().split())
    assert "is standard output, for a pipe" in man
    out = shell(box, 'tcptop-replay -o - samples/web.tt | '
                     'tcptop-query -F csv --no-header - "SELECT count(*) FROM events"')
    assert int(out) == len(events(box / "samples" / "web.tt"))
