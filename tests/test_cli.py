"""Every tool: --help and --version work, bad usage gets one line on stderr and exit 2."""
import os

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
