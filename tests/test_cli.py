"""Every tool: --help and --version work, bad usage gets one line on stderr and exit 2."""
import os
import re
import subprocess

import pytest

from conftest import NO_BPF, run, tool

TOOLS = ["tcptop-replay", "tcptop-query"] + ([] if NO_BPF else ["tcptop", "tcptop-record"])


@pytest.mark.parametrize("name", TOOLS)
def test_help_and_version(name):
    r = run([tool(name), "--help"])
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower()
    assert name in r.stdout
    r = run([tool(name), "--version"])
    assert r.returncode == 0, r.stderr
    assert "0." in r.stdout and name in r.stdout


@pytest.mark.parametrize("name", TOOLS)
def test_unknown_option_is_a_usage_error(name):
    r = run([tool(name), "--no-such-option"], stdin=open(os.devnull))
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(name + ":") or name in lines[0]


@pytest.mark.parametrize("name,args", [
    ("tcptop-replay", ["--speed", "fast"]),
    ("tcptop-replay", ["--speed", "-1"]),
    ("tcptop-replay", ["--port", "70000"]),
    ("tcptop-query", ["--format", "xml"]),
] + ([] if NO_BPF else [
    ("tcptop-record", ["-o", "/tmp/x.tt", "--coalesce", "abc"]),
    ("tcptop-record", ["-o", "/tmp/x.tt", "--port", "0"]),
    ("tcptop-record", ["-o", "/tmp/x.tt", "--tcp", "--udp"]),
    ("tcptop-record", []),
    ("tcptop", ["-i", "-3"]),
    ("tcptop", ["--pid", "abc"]),
]))
def test_bad_values_are_usage_errors(name, args, tmp_path):
    r = run([tool(name)] + args + ([str(tmp_path / "missing.tt")] if name != "tcptop-record" and name != "tcptop" else []),
            stdin=open(os.devnull))
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr


@pytest.mark.parametrize("name", ["tcptop-replay", "tcptop-query"])
def test_bad_files(name, tmp_path):
    notcap = tmp_path / "notcap.tt"
    notcap.write_text("hello, this is not a capture\n" * 10)
    empty = tmp_path / "empty.tt"
    empty.write_bytes(b"")
    for path, words in [(tmp_path / "missing.tt", "no such file"), (notcap, "not a tcptop capture"),
                        (empty, ""), (tmp_path, "")]:
        args = [tool(name)] + (["--batch"] if name == "tcptop-replay" else []) + [str(path)]
        if name == "tcptop-query":
            args.append("SELECT count(*) FROM events")
        r = run(args, stdin=open(os.devnull))
        assert r.returncode == 2, (path, r.returncode, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert len(lines) == 1, r.stderr
        assert words in lines[0].lower(), lines[0]


# ---------------------------------------------------------------- every option, bad values (h4)

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "seeds",
                      "recorded-small.tt")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
OUT = "/tmp/tt-cli-never-created.tt"

# (args, a word the one line must contain). Missing values, malformed values, out of range,
# conflicts, extra arguments. Each must give exactly one line "PROG: ..." and exit 2, and
# must not create the output file.
RECORD_BAD = [
    (["-o"], "-o"), (["-o", OUT, "-d"], "-d"), (["-o", OUT, "-C"], "-C"), (["-o", OUT, "-G"], "-G"),
    (["-o", OUT, "-W"], "-W"), (["-o", OUT, "-Z"], "-Z"), (["-o", OUT, "--coalesce"], "coalesce"),
    (["-o", OUT, "--ringbuf-kb"], "ringbuf"), (["-o", OUT, "-p"], "-p"), (["-o", OUT, "-P"], "-P"),
    (["-o", OUT, "-c"], "-c"), (["-o", OUT, "--cgroup"], "cgroup"),
    (["-o", OUT, "--flight"], "flight"),
    (["-o", OUT, "-d", "abc"], "abc"), (["-o", OUT, "-d", "1x"], "1x"),
    (["-o", OUT, "-d", "-1"], "-1"), (["-o", OUT, "-d", "0"], "0"), (["-o", OUT, "-d", ""], "''"),
    (["-o", OUT, "--coalesce", "abc"], "abc"), (["-o", OUT, "--coalesce", "0"], "0"),
    (["-o", OUT, "--coalesce", "2h"], "2h"), (["-o", OUT, "--raw-slice"], "raw-slice"),
    (["-o", OUT, "--raw-slice", "abc"], "abc"), (["-o", OUT, "--raw-slice", "2s"], "2s"),
    (["-o", OUT, "-C", "abc"], "abc"),
    (["-o", OUT, "-C", "0"], "0"), (["-o", OUT, "-C", "-1"], "-1"),
    (["-o", OUT, "-C", "1048577"], "1048577"), (["-o", OUT, "-C", "1.5"], "1.5"),
    (["-o", OUT, "-G", "0.5"], "0.5"), (["-o", OUT, "-G", "abc"], "abc"),
    (["-o", OUT, "-W", "0"], "0"), (["-o", OUT, "-W", "abc"], "abc"),
    (["-o", OUT, "-W", "100001"], "100001"), (["-o", OUT, "-W", "3"], "-W"),
    (["-o", OUT, "--ringbuf-kb", "3"], "3"), (["-o", OUT, "--ringbuf-kb", "6"], "6"),
    (["-o", OUT, "--ringbuf-kb", "0"], "0"), (["-o", OUT, "--ringbuf-kb", "2097152"], "2097152"),
    (["-o", OUT, "--flight", "0"], "0"), (["-o", OUT, "--flight", "abc"], "abc"),
    (["-o", OUT, "--flight", "5", "-G", "2"], "flight"),
    (["-o", OUT, "-p", "abc"], "abc"), (["-o", OUT, "-p", "0"], "0"),
    (["-o", OUT, "-p", "-5"], "-5"), (["-o", OUT, "-p", "99999999999"], "99999999999"),
    (["-o", OUT, "-P", "0"], "0"), (["-o", OUT, "-P", "70000"], "70000"),
    (["-o", OUT, "-P", "abc"], "abc"), (["-o", OUT, "-c", ""], "''"),
    (["-o", OUT, "-c", "abcdefghijklmnopqrstuvwxyz"], "abcdefghijklmnop"),
    (["-o", OUT, "--cgroup", "/nonexistent"], "/nonexistent"),
    (["-o", OUT, "--cgroup", "/etc/passwd"], "/etc/passwd"),
    (["-o", OUT, "--tcp", "--udp"], "--udp"), (["-o", OUT, "-4", "-6"], "-6"),
    (["-o", OUT, "extra"], "extra"), (["-o", "-", "-C", "1"], "stdout"),
    (["-o", OUT, "--nope"], "--nope"), (["-o", OUT, "-x"], "-x"), ([], "-o"),
]

REPLAY_BAD = [
    (["--speed"], "speed"), (["--speed", "fast", SAMPLE], "fast"), (["--speed", "0", SAMPLE], "0"),
    (["--speed", "-1", SAMPLE], "-1"), (["--speed", "20000", SAMPLE], "20000"),
    (["--speed", "", SAMPLE], "''"), (["--from"], "from"), (["--to"], "to"),
    (["--from", "garbage", SAMPLE], "garbage"), (["--to", "garbage", SAMPLE], "garbage"),
    (["--from", "+10s", "--to", "+5s", SAMPLE], "--to"),
    (["--from", "25:99:99", SAMPLE], "25:99:99"),
    (["--from", "2026-13-45T00:00:00", SAMPLE], "2026-13-45"),
    (["--ttl"], "ttl"), (["--ttl", "-1", SAMPLE], "-1"), (["--ttl", "abc", SAMPLE], "abc"),
    (["--sort"], "sort"), (["--sort", "NOPE", SAMPLE], "NOPE"),
    (["--columns"], "columns"), (["-b", "--columns", "RETR,NOPE", SAMPLE], "NOPE"),
    (["-b", "--columns", "+RETR,,FAIL", SAMPLE], "empty"), (["-b", "--columns", "", SAMPLE], "''"),
    (["-b", "--columns", "+", SAMPLE], "empty"), (["-b", "--columns", "-all", SAMPLE], "no column"),
    (["-b", "--columns", "-x" * 20, SAMPLE], "long"),
    (["-b", "-n"], "-n"), (["-b", "-n", "0", SAMPLE], "0"), (["-b", "-n", "abc", SAMPLE], "abc"),
    (["-b", "-n", "-1", SAMPLE], "-1"), (["-b", "-i"], "-i"), (["-b", "-i", "0", SAMPLE], "0"),
    (["-b", "-i", "abc", SAMPLE], "abc"), (["-b", "-i", "-1", SAMPLE], "-1"),
    (["-b", "--csv"], "csv"), (["-o"], "-o"), (["--json", SAMPLE], "--json"),
    (["--batch", "--dump", SAMPLE], "--dump"),
    (["-p", "abc", SAMPLE], "abc"), (["-P", "0", SAMPLE], "0"), (["-c", "", SAMPLE], "''"),
    (["-P", "0x1bb", SAMPLE], "0x1bb"), (["-p", "0x10", SAMPLE], "0x10"),
    (["-b", "-i", "0x10", SAMPLE], "0x10"), (["-b", "-i", "1e3", SAMPLE], "1e3"),
    (["--speed", "0x10", SAMPLE], "0x10"),
    (["--tcp", "--udp", SAMPLE], "--udp"), (["--nope", SAMPLE], "--nope"),
    (["-x", SAMPLE], "-x"), ([], "capture"),
]

QUERY_BAD = [
    (["-F", "xml", SAMPLE, "SELECT 1"], "xml"), (["-F"], "-F"), (["--sql-file"], "--sql-file"), (["--db"], "--db"),
    (["--sql-file", "/nonexistent.sql", SAMPLE], "/nonexistent.sql"), (["--nope", SAMPLE, "SELECT 1"],
                                                               "--nope"),
    (["-x"], "-x"), ([], "capture"), ([SAMPLE], "SQL"), (["-f", SAMPLE, "SELECT 1"], "--db"),
]

LIVE_BAD = [
    (["-i"], "-i"), (["-i", "0"], "0"), (["-i", "-1"], "-1"), (["-i", "abc"], "abc"),
    (["--ttl"], "ttl"), (["--ttl", "abc"], "abc"), (["--ttl", "-5"], "-5"),
    (["--sort"], "sort"), (["--sort", "NOPE"], "NOPE"), (["--columns"], "columns"),
    (["-b", "--columns", "+CWND,-NOPE"], "NOPE"), (["-b", "--columns", "PID,"], "empty"),
    (["-b", "-n"], "-n"),
    (["-b", "-n", "0"], "0"), (["-b", "-n", "abc"], "abc"), (["--coalesce"], "coalesce"),
    (["--coalesce", "abc"], "abc"), (["--coalesce", "0"], "0"), (["-o"], "-o"),
    (["--csv"], "csv"), (["-p", "abc"], "abc"), (["-P", "70000"], "70000"),
    (["--tcp", "--udp"], "--udp"), (["--nope"], "--nope"), (["extra"], "extra"),
]

# The source options tcptop and tcptop-record share (one parser, tt_source_getopt): the same
# line from each after its own name, exit 2.
SOURCE_BAD = [["--coalesce", "0"], ["--coalesce", "2h"], ["--raw-slice", "2s"],
              ["--raw-slice", "abc"], ["--ringbuf-kb", "6"], ["--ringbuf-kb", "2097152"],
              ["--udp-timeout", "50ms"], ["--udp-timeout", "2d"], ["--udp-flows", "8"],
              ["--udp-flows", "abc"], ["--tcp-conns", "5"], ["--tcp-conns", "16777217"],
              ["--source", "nope"], ["--source", "file:"],
              ["--no-probe"], ["--accept-wait=1"]]


@pytest.mark.skipif(NO_BPF, reason="NO_BPF=1 builds neither live tool")
@pytest.mark.parametrize("args", SOURCE_BAD, ids=" ".join)
def test_source_options_mean_the_same_in_both_live_tools(args):
    rec = run([tool("tcptop-record"), "-o", OUT] + args, stdin=subprocess.DEVNULL)
    live = run([tool("tcptop"), "-b"] + args, stdin=subprocess.DEVNULL)
    assert (rec.returncode, live.returncode) == (2, 2), (rec, live)
    assert len(rec.stderr.splitlines()) == len(live.stderr.splitlines()) == 1, (rec, live)
    assert rec.stderr.startswith("tcptop-record: ") and live.stderr.startswith("tcptop: ")
    assert rec.stderr.split(": ", 1)[1] == live.stderr.split(": ", 1)[1]
    assert not os.path.exists(OUT)


ALL_BAD = ([("tcptop-replay", a, w) for a, w in REPLAY_BAD] +
           [("tcptop-query", a, w) for a, w in QUERY_BAD] +
           ([] if NO_BPF else [("tcptop-record", a, w) for a, w in RECORD_BAD] +
            [("tcptop", a, w) for a, w in LIVE_BAD]))


@pytest.mark.parametrize("name,args,word", ALL_BAD,
                         ids=["%s %s" % (n, " ".join("CAP" if x == SAMPLE else x for x in a))
                              for n, a, _ in ALL_BAD])
def test_every_option_bad_value(name, args, word):
    if os.path.exists(OUT):
        os.unlink(OUT)
    r = run([tool(name)] + args, stdin=open(os.devnull), timeout=20)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, (r.returncode, r.stderr)
    assert lines[0].startswith(name + ": "), lines[0]
    assert word.strip("'") in lines[0], (word, lines[0])
    assert r.stdout == ""
    assert not os.path.exists(OUT), "a usage error created the output file"


# Bad input files: a clear one-line error naming the file, exit 2, for both readers.
BAD_INPUTS = [
    ("/nonexistent/cap.tt", "no such file"),
    ("/tmp", "directory"),
    (os.path.join(DATA, "empty.tt"), "not a tcptop capture"),
    (os.path.join(DATA, "not-a-capture.tt"), "not a tcptop capture"),
    (os.path.join(DATA, "big-endian.tt"), "not a tcptop capture"),
    (os.path.join(DATA, "newer-major.tt"), "version 2.3 is not supported"),
    (os.path.join(DATA, "damaged-header.tt"), "damaged capture header"),
    (os.path.join(DATA, "huge-length.tt"), "damaged capture header"),
]


@pytest.mark.parametrize("name", ["tcptop-replay", "tcptop-query"])
@pytest.mark.parametrize("path,words", BAD_INPUTS, ids=[os.path.basename(p) for p, _ in BAD_INPUTS])
def test_bad_input_file(name, path, words):
    modes = ([["--dump"], ["--batch"], ["-o", OUT]] if name == "tcptop-replay"
             else [["SELECT count(*) FROM events"], ["--db", OUT, "SELECT 1"]])
    for m in modes:
        if m[-1].startswith("SELECT"):
            args = [tool(name), "--no-progress"] + m[:-1] + [path, m[-1]]
        else:
            args = [tool(name)] + m + [path]
        r = run(args, stdin=open(os.devnull), timeout=20)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode == 2 and len(lines) == 1, (m, r.returncode, r.stderr)
        assert lines[0].startswith(name + ": ") and path in lines[0], lines[0]
        assert words in lines[0].lower(), lines[0]
        assert not os.path.exists(OUT)


def test_bad_input_among_good_files():
    """A bad file among good ones: the same clear error, nothing half-done on stdout."""
    bad = os.path.join(DATA, "newer-major.tt")
    for args in ([tool("tcptop-replay"), "--dump", SAMPLE, bad],
                 [tool("tcptop-query"), "--no-progress", SAMPLE, bad,
                  "SELECT count(*) FROM events"]):
        r = run(args, stdin=open(os.devnull))
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and bad in r.stderr, r.stderr
        assert r.stdout == ""


def test_ports_and_pids_are_decimal(tmp_path):
    """-P 0443 is port 443 (not octal 291) and -p 01009 is pid 1009 (not a bad octal number),
    in the rows the filters keep; compared with the same filters written plainly."""
    cap = str(tmp_path / "gen.tt")
    r = run([tool("tests/test_format"), "gen", cap, "20000"])
    assert r.returncode == 0, r.stderr

    def rows(*args):
        r = run([tool("tcptop-replay"), "-b", "-i", "1000000"] + list(args) + [cap])
        assert r.returncode == 0, (args, r.stderr)
        return [l for l in r.stdout.splitlines() if l.strip() and not l.startswith("tcptop")]

    p443 = rows("-P", "443")
    assert any(":443 " in l for l in p443), p443
    assert rows("-P", "0443") == p443
    assert rows("-P", "291") != p443
    pid = rows("-p", "1009")
    assert any(l.split()[0] == "1009" for l in pid), pid
    assert rows("-p", "01009") == pid
    assert rows("-p", "0010") == rows("-p", "10")


@pytest.mark.skipif(NO_BPF or os.geteuid() != 0, reason="needs root and a BPF build")
def test_record_unknown_user_fails_early(tmp_path):
    """-Z with an unknown user: a usage error before any BPF is loaded, no file left behind."""
    out = str(tmp_path / "z.tt")
    log = str(tmp_path / "strace.log")
    # (LeakSanitizer cannot run under ptrace: off for a sanitizer build)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = run(["strace", "-f", "-qq", "-e", "trace=bpf", "-o", log, tool("tcptop-record"), "-o", out,
             "-Z", "no-such-user-h4"], env=env)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "no-such-user-h4" in lines[0], r.stderr
    assert not os.path.exists(out), "left an unreadable empty capture behind"
    assert "BPF_PROG_LOAD" not in open(log).read(), "loaded BPF before checking its arguments"


def test_csv_refuses_an_existing_file_as_o_does(tmp_path):
    """--csv FILE over an existing file (here a capture) is refused without --force, exactly
    as -o is: the same one line naming the file, the same exit status, the file untouched;
    with -f it is replaced. tcptop (live) the same, before loading anything."""
    cap = tmp_path / "keep.tt"
    orig = open(SAMPLE, "rb").read()
    cap.write_bytes(orig)
    replay = tool("tcptop-replay")
    o = run([replay, "-o", str(cap), SAMPLE], stdin=open(os.devnull))
    assert o.returncode == 1 and o.stderr.count("\n") == 1 and str(cap) in o.stderr, o.stderr
    for args in (["-b", "--csv", str(cap)], ["--dump", "--csv", str(cap)]):
        r = run([replay, *args, SAMPLE], stdin=open(os.devnull))
        assert (r.returncode, r.stderr, r.stdout) == (o.returncode, o.stderr, ""), (args, r)
        assert cap.read_bytes() == orig
    if not NO_BPF:
        r = run([tool("tcptop"), "-b", "-n", "1", "--csv", str(cap)], stdin=open(os.devnull))
        assert r.returncode == 1 and r.stderr == o.stderr.replace("tcptop-replay", "tcptop"), \
            r.stderr
        assert cap.read_bytes() == orig
    r = run([replay, "-b", "-f", "--csv", str(cap), SAMPLE], stdin=open(os.devnull))
    assert r.returncode == 0, r.stderr
    assert cap.read_text().startswith("time,time_ns,conn_id,")


# ---------------------------------------------------------------- one meaning per letter (23.12)

def _short_options(name):
    """{letter: long name} from the tool's --help ("-f, --force", also after "; ")."""
    r = run([tool(name), "--help"])
    assert r.returncode == 0, r.stderr
    return {m.group(1): m.group(2)
            for m in re.finditer(r"(?:^|;)\s+-(\w), (--[\w-]+)", r.stdout, re.M)}


def test_one_meaning_per_option_letter():
    """A letter means the same option in every tool that has it: -f is --force everywhere
    (tcptop-query's --sql-file has no letter), by --help and by what the tools do."""
    seen = {}
    for name in TOOLS:
        for letter, long in _short_options(name).items():
            seen.setdefault(letter, {})[name] = long
    clash = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert not clash, clash
    assert _short_options("tcptop-query").get("f") == "--force"


def test_query_f_is_force(tmp_path):
    """tcptop-query --db OUT -f A B replaces OUT with A and B's tables (was: -f took A as the
    SQL file, and SQLite's syntax error quoted its binary); -f without --db, as the old
    `-f q.sql cap.tt` would now read, is a usage error pointing to --sql-file."""
    q = tool("tcptop-query")
    db = tmp_path / "out.sqlite"
    db.write_text("old")
    # (one capture named twice is refused: a copy)
    two = tmp_path / "two.tt"
    two.write_bytes(open(SAMPLE, "rb").read())
    r = run([q, "--no-progress", "--db", str(db), "-f", SAMPLE, str(two)], stdin=open(os.devnull))
    assert r.returncode == 0, r.stderr
    n = run(["sqlite3", str(db), "SELECT count(DISTINCT file) FROM capture"])
    assert n.stdout.strip() == "2", (n.stdout, n.stderr)
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT count(*) FROM capture")
    r = run([q, "-f", str(sql), SAMPLE], stdin=open(os.devnull))
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "--sql-file" in lines[0], r.stderr
    r = run([q, "-F", "csv", "--sql-file", str(sql), SAMPLE], stdin=open(os.devnull))
    assert (r.returncode, r.stdout) == (0, "count(*)\n1\n"), r.stderr


# ---------------------------------------------------------------- private outputs (23.16)

def test_every_output_file_is_0600(tmp_path):
    """--csv (tcptop-replay, tcptop) and --db (tcptop-query) files hold the addresses and
    process names a -o copy holds: created 0600 like it whatever the umask, and a file they
    replace (-f) becomes 0600 too (they were 0666 & ~umask, and a replaced file kept 0644)."""
    replay, query = tool("tcptop-replay"), tool("tcptop-query")
    two = tmp_path / "two.tt"
    two.write_bytes(open(SAMPLE, "rb").read())
    outs = {
        "copy.tt": lambda p, f: [replay, *f, "-o", p, SAMPLE],
        "replay.csv": lambda p, f: [replay, *f, "-b", "--csv", p, SAMPLE],
        "db.sqlite": lambda p, f: [query, "--no-progress", *f, "--db", p, SAMPLE, str(two)],
    }
    if not NO_BPF and os.geteuid() == 0:
        outs["live.csv"] = lambda p, f: [tool("tcptop"), *f, "-b", "-n", "1", "-i", "0.2",
                                         "--source", "sockdiag", "--csv", p]
    for name, cmd in outs.items():
        p = str(tmp_path / name)
        for force in ([], ["-f"]):
            if force:
                os.chmod(p, 0o644)
            r = run(cmd(p, force), stdin=open(os.devnull), umask=0, timeout=30)
            assert r.returncode == 0, (name, force, r.stderr)
            assert oct(os.stat(p).st_mode & 0o777) == "0o600", (name, force)


# ---------------------------------------------------------------- exit codes (23.14)

def _one_line(r):
    lines = [l for l in r.stderr.splitlines() if l.strip() and ": warning: " not in l]
    assert len(lines) == 1, r.stderr
    return lines[0]


LIVE_SD = ["--source", "sockdiag", "-i", "0.2"]  # no BPF needed, quick


def test_existing_output_refused_alike(tmp_path):
    """An existing output file without -f: every tool and every output (-o, --csv, --db) says
    "PATH: file exists" in one line and exits 1, a runtime failure as the man pages say of an
    output that cannot be written (tcptop-query --db exited 2), the file untouched."""
    replay, query = tool("tcptop-replay"), tool("tcptop-query")
    two = tmp_path / "two.tt"
    two.write_bytes(open(SAMPLE, "rb").read())
    p = tmp_path / "exists"
    cmds = [[replay, "-o", str(p), SAMPLE], [replay, "-b", "--csv", str(p), SAMPLE],
            [query, "--db", str(p), SAMPLE, str(two)],
            [query, "--db", str(p), SAMPLE, str(two), "SELECT 1"]]
    if not NO_BPF and os.geteuid() == 0:
        cmds += [[tool("tcptop-record"), "-o", str(p), "-d", "0.5"],
                 [tool("tcptop"), "-b", "-n", "1", *LIVE_SD, "-o", str(p)],
                 [tool("tcptop"), "-b", "-n", "1", *LIVE_SD, "--csv", str(p)]]
    for cmd in cmds:
        p.write_text("precious\n")
        r = run(cmd, stdin=open(os.devnull), timeout=30)
        name = os.path.basename(cmd[0])
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        assert _one_line(r) == "%s: %s: file exists (use -f/--force to replace it)" % (name, p)
        assert p.read_text() == "precious\n"


def test_view_without_a_terminal_is_a_usage_error():
    """tcptop-replay's view on a pipe is bad usage (exit 2, as tcptop's), not a failure."""
    r = run([tool("tcptop-replay"), SAMPLE], stdin=open(os.devnull))
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert "terminal" in _one_line(r) and "--batch" in _one_line(r)
    if not NO_BPF and os.geteuid() == 0:
        r = run([tool("tcptop"), *LIVE_SD], stdin=open(os.devnull))
        assert r.returncode == 2 and "terminal" in _one_line(r), r.stderr


def test_write_errors_name_the_output():
    """A full disk says which output and why (strerror), in one line, exit 1: it said "write
    error" (tcptop-replay) or "Input/output error" (tcptop)."""
    replay = tool("tcptop-replay")
    enospc = os.strerror(28)
    cases = [([replay, "-b", SAMPLE], "stdout"), ([replay, "--dump", SAMPLE], "stdout"),
             ([replay, "--dump", "--json", SAMPLE], "stdout"),
             ([replay, "-o", "-", SAMPLE], "stdout"),
             ([replay, "-b", "-f", "--csv", "/dev/full", SAMPLE], "/dev/full"),
             ([tool("tcptop-query"), SAMPLE, "SELECT * FROM events"], "stdout")]
    if not NO_BPF and os.geteuid() == 0:
        cases += [([tool("tcptop"), "-b", "-n", "1", *LIVE_SD], "stdout"),
                  ([tool("tcptop"), "-b", "-n", "1", *LIVE_SD, "-f", "--csv", "/dev/full"],
                   "/dev/full")]
    for cmd, what in cases:
        out = open("/dev/full", "w") if what == "stdout" else subprocess.DEVNULL
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        name = os.path.basename(cmd[0])
        assert r.returncode == 1, (cmd, r.returncode, r.stderr)
        line = _one_line(r)
        assert line.startswith("%s: %s: " % (name, what)) and line.endswith(enospc), (cmd, line)


def test_db_error_names_the_users_path(tmp_path):
    """--db in a missing directory names that path, not the temporary file beside it."""
    two = tmp_path / "two.tt"
    two.write_bytes(open(SAMPLE, "rb").read())
    r = run([tool("tcptop-query"), "--no-progress", "--db", "/nonexistent/x.sqlite", SAMPLE,
             str(two)], stdin=open(os.devnull))
    assert r.returncode == 1, r.stderr
    assert _one_line(r) == "tcptop-query: /nonexistent/x.sqlite: " + os.strerror(2)
