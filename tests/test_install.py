"""make install: the tools, man pages that render without warnings and document every option,
the bash completion; every installed tool answers --help and --version; option names agree
across the tools."""
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import BUILD, NO_BPF, ROOT, needs_bpf, needs_cmd, run, tool

VERSION = re.search(r"^VERSION := (\S+)", open(os.path.join(ROOT, "Makefile")).read(), re.M).group(1)
MAN = {"tcptop": ("sbin", 8), "tcptop-record": ("sbin", 8), "tcptop-replay": ("bin", 1),
       "tcptop-query": ("bin", 1)}
TOOLS = [t for t in MAN if not (NO_BPF and MAN[t][0] == "sbin")]
COMPDIR = "usr/share/bash-completion/completions"


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    """A fresh `make install DESTDIR=... PREFIX=/usr` of the build under test."""
    d = str(tmp_path_factory.mktemp("install"))
    out = os.path.relpath(BUILD, ROOT) if BUILD.startswith(ROOT + os.sep) else BUILD
    cmd = ["make", "-C", ROOT, "--no-print-directory", "OUTPUT=" + out, "install",
           "DESTDIR=" + d, "PREFIX=/usr"] + (["NO_BPF=1"] if NO_BPF else [])
    r = run(cmd, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def installed(dest, name):
    return os.path.join(dest, "usr", MAN[name][0], name)


def man_path(dest, name):
    sec = MAN[name][1]
    return os.path.join(dest, "usr/share/man/man%d/%s.%d" % (sec, name, sec))


def help_text(path):
    r = run([path, "--help"])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout


def help_options(text):
    """(long options, {short: long}) of a --help text: every --word in it (descriptions only
    mention the tool's own options) and every '-x, --word' pair that starts an option line
    (or follows a ';' on one: "-4, --ipv4  only IPv4;  -6, --ipv6  only IPv6")."""
    longs = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    pairs = dict(re.findall(r"(?:^ +|; +)-(\w), (--[a-z][a-z0-9-]*)", text, re.M))
    return longs, pairs


def man_options(path):
    """The same from the man page's .TP tags (the option list, not mentions in the text)."""
    lines = open(path).read().splitlines()
    tags = [lines[i + 1] for i, l in enumerate(lines[:-1]) if re.match(r"\.(TP|TQ)\b", l)]
    text = "\n".join(tags)
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace('"', " ")
    text = re.sub(r"^\.\w+ ?", "", text, flags=re.M)
    text = re.sub(r" +", " ", text).replace(" ,", ",")
    longs = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    pairs = dict(re.findall(r"(?<![\w-])-(\w), (--[a-z][a-z0-9-]*)", text))
    return longs, pairs


def completions(script, *words):
    """What the completion script offers for the command line WORDS (the last is completed)."""
    prog = (
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; '
        'COMP_POINT=${#COMP_LINE}; _tcptop; printf "%s\\n" "${COMPREPLY[@]}"')
    r = run(["bash", "--norc", "--noprofile", "-c", prog, "bash", script] + list(words))
    assert r.returncode == 0, r.stderr
    return set(l for l in r.stdout.splitlines() if l)


# ------------------------------------------------------------------ what make install puts where

def test_install_layout(dest):
    for name in TOOLS:
        st = os.stat(installed(dest, name))
        assert stat.S_IMODE(st.st_mode) == 0o755, name
        st = os.stat(man_path(dest, name))
        assert stat.S_IMODE(st.st_mode) == 0o644, name
    comp = os.path.join(dest, COMPDIR)
    assert stat.S_IMODE(os.stat(os.path.join(comp, "tcptop")).st_mode) == 0o644
    for name in ("tcptop-record", "tcptop-replay", "tcptop-query"):
        # one file, found by bash-completion under each tool's name
        assert os.path.realpath(os.path.join(comp, name)) == os.path.join(comp, "tcptop")
    with open(os.path.join(ROOT, "completion", "tcptop"), "rb") as a, \
            open(os.path.join(comp, "tcptop"), "rb") as b:
        assert a.read() == b.read()


def test_uninstall_removes_everything(tmp_path):
    d = str(tmp_path)
    out = os.path.relpath(BUILD, ROOT) if BUILD.startswith(ROOT + os.sep) else BUILD
    base = ["make", "-C", ROOT, "--no-print-directory", "OUTPUT=" + out, "DESTDIR=" + d,
            "PREFIX=/usr"] + (["NO_BPF=1"] if NO_BPF else [])
    assert run(base + ["install"], timeout=600).returncode == 0
    files = [os.path.join(p, f) for p, _, fs in os.walk(d) for f in fs]
    assert len(files) == 2 * len(TOOLS) + 4, files
    r = run(base + ["uninstall"])
    assert r.returncode == 0, r.stderr
    left = [os.path.join(p, f) for p, _, fs in os.walk(d) for f in fs]
    assert left == [], left


@pytest.mark.parametrize("name", TOOLS)
def test_installed_tool_help_and_version(dest, name):
    path = installed(dest, name)
    text = help_text(path)
    assert text.startswith("Usage: " + name), text[:80]
    assert run([path, "-h"]).stdout == text
    r = run([path, "--version"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "%s tcptop %s\n" % (name, VERSION), "")
    assert run([path, "-V"]).stdout == r.stdout
    longs, pairs = help_options(text)
    assert pairs.get("h") == "--help" and pairs.get("V") == "--version", pairs


# ------------------------------------------------------------------ man pages

@needs_cmd("groff", "man")
@pytest.mark.parametrize("name", TOOLS)
def test_man_page_renders_without_warnings(dest, name):
    page = man_path(dest, name)
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    r = run(["groff", "-man", "-t", "-ww", "-z", page], env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r.stderr
    r = run(["man", "--warnings", "-l", page], env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES",
                    "SEE ALSO"):
        assert re.search(r"^%s$" % section, r.stdout, re.M), section
    assert re.search(r"^\s+%s\s+-\s" % re.escape(name), r.stdout, re.M), r.stdout[:300]
    # and man finds it where it was installed, in the right section
    r = run(["man", "-M", os.path.join(dest, "usr/share/man"), "-w", str(MAN[name][1]), name],
            env=env)
    assert r.returncode == 0 and r.stdout.strip() == page, (r.stdout, r.stderr)
    if shutil.which("mandoc"):
        r = run(["mandoc", "-T", "lint", "-W", "warning", page])
        assert r.stdout + r.stderr == "", r.stdout + r.stderr
    # the page says which version it describes: catches a page left behind by a release
    head = [l for l in open(page) if l.startswith(".TH")][0]
    assert '"tcptop %s"' % VERSION in head, head


@pytest.mark.parametrize("name", TOOLS)
def test_man_page_documents_every_option(dest, name):
    """The OPTIONS of the man page and --help list the same options with the same letters."""
    h_longs, h_pairs = help_options(help_text(installed(dest, name)))
    m_longs, m_pairs = man_options(man_path(dest, name))
    assert m_longs == h_longs, ("only in --help", h_longs - m_longs, "only in the man page",
                                m_longs - h_longs)
    assert m_pairs == h_pairs


# ------------------------------------------------------------------ bash completion

@pytest.mark.parametrize("name", TOOLS)
def test_completion_offers_every_option(dest, name):
    script = os.path.join(dest, COMPDIR, name)  # through the link, as bash-completion does
    longs, pairs = help_options(help_text(installed(dest, name)))
    offered = completions(script, name, "-")
    assert offered == longs | {"-" + s for s in pairs}, (
        "missing", longs - offered, "extra", offered - longs - {"-" + s for s in pairs})
    assert completions(script, name, "--he") == {"--help"}


def test_completion_values_are_what_the_tools_accept(dest, tmp_path):
    script = os.path.join(dest, COMPDIR, "tcptop")
    cap = os.path.join(ROOT, "samples", "web.tt")
    replay = installed(dest, "tcptop-replay")
    query = installed(dest, "tcptop-query")
    cols = completions(script, "tcptop-replay", "--sort", "")
    assert len(cols) == 18  # the 13 shown by default and the 5 health columns
    for col in cols:
        r = run([replay, "--batch", "-n", "1", "--sort", col, cap])
        assert r.returncode == 0, (col, r.stderr)
    # --sort=R with bash's word splitting at '='
    assert completions(script, "tcptop-replay", "--sort", "=", "R") == \
        {"REMOTE", "RX/s", "RX", "RX_PKT", "RTT", "RETR"}
    # --columns: the list's last name, after its comma and + or -, each list one it takes
    got = completions(script, "tcptop-replay", "--columns", "+RETR,-C")
    assert got == {"+RETR,-COMM", "+RETR,-CONNECT", "+RETR,-CWND"}
    assert completions(script, "tcptop", "--columns", "") == cols | {"all", "default"}
    for cols_list in got:
        r = run([replay, "--batch", "-n", "1", "--columns", cols_list, cap])
        assert r.returncode == 0, (cols_list, r.stderr)
    fmts = completions(script, "tcptop-query", "--format", "")
    assert fmts == {"table", "line", "csv", "json", "jsonl"}
    for f in fmts:
        r = run([query, "-F", f, cap, "SELECT count(*) FROM connections"])
        assert r.returncode == 0, (f, r.stderr)
    for speed in completions(script, "tcptop-replay", "-s", ""):
        r = run([replay, "--dump", "-s", speed, cap])
        assert r.returncode == 0, (speed, r.stderr)
    # operands: captures (rotated ones too) and directories, not other files
    for f in ("a.tt", "a.tt.1", "notes.txt"):
        (tmp_path / f).write_text("")
    (tmp_path / "dir").mkdir()
    got = completions(script, "tcptop-replay", str(tmp_path) + "/")
    assert got == {str(tmp_path / f) for f in ("a.tt", "a.tt.1", "dir")}
    # --sql-file takes a file; -f (--force, in every tool) takes nothing
    assert str(tmp_path / "notes.txt") in completions(script, "tcptop-query", "--sql-file",
                                                       str(tmp_path) + "/")
    for name in ("tcptop-record", "tcptop-query"):
        assert completions(script, name, "-f", "-") >= {"-h", "--help"}, name


@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/bash_completion"),
                    reason="bash-completion not installed")
def test_bash_completion_loads_it_on_demand(dest):
    """bash-completion finds the installed file by each tool's name (XDG_DATA_DIRS)."""
    env = dict(os.environ, XDG_DATA_DIRS=os.path.join(dest, "usr/share"),
               BASH_COMPLETION_USER_DIR=os.path.join(dest, "nonexistent"))
    for name in TOOLS:
        prog = ("source /usr/share/bash-completion/bash_completion; "
                "__load_completion %s && complete -p %s" % (name, name))
        r = run(["bash", "--norc", "--noprofile", "-c", prog], env=env)
        assert r.stdout.strip() == "complete -F _tcptop " + name, (r.stdout, r.stderr)


# ------------------------------------------------------------------ one name, one meaning

def all_options():
    return {name: help_options(help_text(tool(name))) for name in TOOLS}


def test_shared_options_have_one_spelling():
    """A long option has the same short letter (or none) in every tool that has it, and a short
    letter stands for one long option across the tools."""
    opts = all_options()
    letter_of, long_of = {}, {}
    for name, (_, pairs) in opts.items():
        for short, long in pairs.items():
            if name == "tcptop-query" and (short == "f" or long == "--force"):
                # -f FILE reads SQL from a file, as psql -f and the query issue ask; the
                # recorders' -f is --force, as the reliability issue asks: both are kept
                continue
            letter_of.setdefault(long, {})[name] = short
            long_of.setdefault(short, {})[name] = long
    bad = {l: t for l, t in letter_of.items() if len(set(t.values())) > 1}
    assert not bad, "one long option, several letters: %s" % bad
    bad = {s: t for s, t in long_of.items() if len(set(t.values())) > 1}
    assert not bad, "one letter, several long options: %s" % bad


def test_filter_options_are_the_same_everywhere():
    """The shared filter options (tt_filter.h) with the same letters in every tool that filters."""
    want = {"p": "--pid", "P": "--port", "c": "--comm", "4": "--ipv4", "6": "--ipv6"}
    for name, (longs, pairs) in all_options().items():
        if name == "tcptop-query":
            continue  # SQL does its filtering
        assert {s: pairs.get(s) for s in want} == want, name
        assert {"--tcp", "--udp", "--cgroup"} <= longs, name


@needs_bpf
def test_coalesce_takes_the_same_values_in_both_tools(tmp_path):
    """--coalesce means the same in tcptop and tcptop-record: '250ms' gives a capture recorded
    with a 250 ms interval from either tool (the header says so)."""
    got = {}
    for name, args in [("tcptop-record", ["-d", "300ms", "-q"]),
                       ("tcptop", ["--batch", "-n", "1", "-i", "100ms"])]:
        path = str(tmp_path / (name + ".tt"))
        r = run([tool(name), "--coalesce", "250ms", "-o", path, "-P", "1"] + args,
                stdin=subprocess.DEVNULL, timeout=60)
        assert r.returncode == 0, (name, r.stderr)
        q = run([tool("tcptop-query"), "-F", "csv", "--no-header", path,
                 "SELECT coalesce_ms FROM capture"])
        assert q.returncode == 0, q.stderr
        got[name] = q.stdout.strip()
    assert got == {"tcptop-record": "250", "tcptop": "250"}
