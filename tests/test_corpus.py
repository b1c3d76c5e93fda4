"""The frozen corpus (tests/corpus/): captures written by earlier writers, never regenerated,
must read forever as their text files say (docs/FORMAT.md, "The frozen corpus").

Each NAME.tt.txt (scripts/corpus-add.sh) freezes its captures (sha256) and what the reader gave
when they were added: the header, the events per kind, the `connections` rows as CSV, and the
warnings of tcptop-replay --dump and tcptop-query. Today's binaries must give exactly that; the
independent Python reader (tests/pyreader/ttcap.py) must count the same events. No root, no BPF:
works on a NO_BPF build."""
import collections
import glob
import os
import re
import subprocess

import pytest

from conftest import BUILD, ROOT
from helpers import corpus
from helpers import ttvariant
from helpers.capture import ttcap

DIR = os.path.join(ROOT, "tests", "corpus")
ENTRIES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(DIR, "*.tt.txt")))

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(BUILD, "tcptop-query")), reason="tcptop-query not built")


def kind_names():
    """Every event kind's number and name, from the kind table (include/tt_event_kinds.h)."""
    with open(os.path.join(ROOT, "include", "tt_event_kinds.h")) as f:
        table = f.read().split("#define TT_EVENT_KINDS(X", 1)[1].split("\n\n", 1)[0]
    ids = re.findall(r'X\(a, (\w+),\s*"(\w+)"', table)
    with open(os.path.join(ROOT, "include", "tt_event.h")) as f:
        enum = dict(re.findall(r"TT_EV_(\w+) = (\d+)", f.read()))
    return {int(enum[i]): name for i, name in ids}


def entry(name):
    pre, secs = corpus.parse(os.path.join(DIR, name + ".txt"))
    meta = collections.defaultdict(list)
    for line in pre:
        if ": " in line and not line.startswith("#"):
            k, v = line.split(": ", 1)
            meta[k].append(v)
    return meta, secs


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_reads_as_frozen(name):
    meta, want = entry(name)
    files = meta["files"][0].split()
    assert set(want) == set(corpus.SECTIONS), "%s.txt lacks sections" % name
    for line in meta["sha256"]:
        digest, f = line.split()
        assert corpus.sha256(os.path.join(DIR, f)) == digest, \
            "%s changed: corpus captures are frozen (add a new entry instead)" % f
    assert sorted(f for f, in (x.split()[1:] for x in meta["sha256"])) == sorted(files)

    columns = want["connections"][0].split(",")
    got = corpus.reader_view(BUILD, DIR, files, columns)
    # header keys the entry froze (later versions may show more)
    assert [x for x in got["header"] if x.split(":")[0] in
            {y.split(":")[0] for y in want["header"]}] == want["header"]
    for sec in ("counts", "warnings replay", "warnings query", "connections"):
        assert got[sec] == want[sec], "%s: [%s] differs" % (name, sec)


@pytest.mark.parametrize("name", ENTRIES)
def test_independent_reader_counts_the_same(name):
    """The Python reader, written from FORMAT.md only, finds the same events per kind."""
    meta, want = entry(name)
    names = kind_names()
    counts = collections.Counter()
    warnings = 0
    for f in meta["files"][0].split():
        cap = ttcap.read(os.path.join(DIR, f))
        counts.update(names[e["kind"]] for e in cap.events)
        warnings += len(cap.warnings)
    got = ["%s %d" % (k, counts[k]) for k in sorted(counts)]
    assert got + ["total %d" % sum(counts.values())] == want["counts"]
    assert warnings == len(want["warnings replay"])


def test_corpus_covers_every_kind_and_the_current_version():
    """A new kind, or a new minor version, fails here until an entry written by it is added."""
    seen, versions = set(), set()
    for name in ENTRIES:
        meta, secs = entry(name)
        versions.add(meta["format"][0])
        seen.update(x.split()[0] for x in secs["counts"] if not x.startswith("total "))
    missing = set(kind_names().values()) - seen
    assert not missing, "no corpus entry holds the kinds %s: add one (scripts/corpus-add.sh)" % \
        sorted(missing)
    with open(os.path.join(ROOT, "include", "tt_fmt.h")) as f:
        h = f.read()
    cur = "%s.%s" % (re.search(r"VERSION_MAJOR (\d+)", h).group(1),
                     re.search(r"VERSION_MINOR (\d+)", h).group(1))
    assert cur in versions, "no corpus entry written in format %s" % cur


def test_corpus_captures_were_never_rewritten():
    """In the history, each corpus capture was added once and never modified."""
    try:
        r = subprocess.run(["git", "-C", ROOT, "log", "--format=%h", "--diff-filter=MDR",
                            "--", "tests/corpus/*.tt", "tests/corpus/*.tt.[0-9]*"],
                           capture_output=True, text=True, timeout=30)
    except OSError:
        pytest.skip("no git")
    if r.returncode != 0:
        pytest.skip("not a git checkout")
    assert r.stdout.strip() == "", "commits that rewrote corpus captures: " + r.stdout


def test_corpus_add_refuses_to_overwrite(tmp_path):
    """scripts/corpus-add.sh never replaces an entry, and changes nothing when it refuses."""
    before = {p: corpus.sha256(p) for p in glob.glob(os.path.join(DIR, "basic.tt*"))}
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "corpus-add.sh"), "-m", "x", "-c",
                        "y", "basic.tt", os.path.join(DIR, "noend.tt")],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, TT_BUILD=BUILD))
    assert r.returncode == 2 and "frozen" in r.stderr, r.stderr
    assert {p: corpus.sha256(p) for p in glob.glob(os.path.join(DIR, "basic.tt*"))} == before


# ------------------------------------------------------------ forward compatibility

VARIANT_ENTRIES = [e for e in ENTRIES if e != "damaged.tt"]  # its warnings name offsets
UNKNOWN = "does not know"


def write_variants(entry_name, what, dest):
    """The entry's files made into `what` variants under dest (same names): {file: added}."""
    meta, _ = entry(entry_name)
    added = {}
    for f in meta["files"][0].split():
        with open(os.path.join(DIR, f), "rb") as src:
            data, added[f] = ttvariant.variant(src.read(), what)
        with open(os.path.join(dest, f), "wb") as out:
            out.write(data)
    return meta["files"][0].split(), added


def split_unknown(lines):
    return ([x for x in lines if UNKNOWN not in x], [x for x in lines if UNKNOWN in x])


@pytest.mark.parametrize("what", ttvariant.VARIANTS)
@pytest.mark.parametrize("name", VARIANT_ENTRIES)
def test_newer_minor_version_reads_the_same(name, what, tmp_path):
    """What a later 1.x may add (unknown tags, blocks, kinds, trailing fields, streams) is
    skipped, counted in one warning per file, and everything known reads as before."""
    _, want = entry(name)
    files, added = write_variants(name, what, str(tmp_path))
    got = corpus.reader_view(BUILD, str(tmp_path), files, want["connections"][0].split(","))
    assert got["counts"] == want["counts"]
    assert got["connections"] == want["connections"]
    for tool_name, sec in (("tcptop-replay", "warnings replay"), ("tcptop-query",
                                                                  "warnings query")):
        known, unknown = split_unknown(got[sec])
        assert known == want[sec]
        expect = {"%s: warning: %s" % (tool_name, ttvariant.warning(f, added[f]))
                  for f in files if added[f]}
        # one warning per file, with the exact count of each thing skipped
        assert expect and set(unknown) == expect and len(unknown) == len(expect), got[sec]
    for f in files:
        assert ttcap.read(os.path.join(str(tmp_path), f)).events == \
            ttcap.read(os.path.join(DIR, f)).events
    # seeking (the index, whose offsets moved, or the block walk) finds the same events
    dump = [os.path.join(BUILD, "tcptop-replay"), "--dump", "--from", "+1s", "--to", "+2s"]
    base = subprocess.run(dump + files, cwd=DIR, capture_output=True, text=True, timeout=60)
    var = subprocess.run(dump + files, cwd=str(tmp_path), capture_output=True, text=True,
                         timeout=60)
    assert (var.returncode, var.stdout) == (base.returncode, base.stdout)
    assert split_unknown(var.stderr.splitlines())[0] == base.stderr.splitlines()


# The oldest reader in the history: the oldest tag, or without tags, the last commit before
# the first 1.1 kind (HANDSHAKE) came: a reader of the 1.0 kinds only, what the promise "a 1.0
# reader reads any 1.x file" is about. Built once (make NO_BPF=1 tools) under BUILD/compat/.
def oldest_reader():
    def git(*args):
        r = subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                           timeout=60)
        return r.stdout.strip() if r.returncode == 0 else None

    if git("rev-parse", "--git-dir") is None:
        pytest.skip("not a git checkout: no older reader to build")
    tags = (git("tag", "--sort=creatordate") or "").split()
    if tags:
        rev, why = git("rev-parse", tags[0] + "^{commit}"), "tag " + tags[0]
    else:
        first_11 = (git("log", "--format=%H", "-S", "TT_EV_HANDSHAKE = 14", "--",
                        "include/tt_event.h") or "").split()
        if not first_11:
            pytest.skip("no tag, and no commit that added the 1.1 kinds")
        rev, why = git("rev-parse", first_11[-1] + "^"), "no tags: the last 1.0-kinds reader"
    out = os.path.join(BUILD, "compat", rev[:12])
    if not os.path.exists(os.path.join(out, "tcptop-query")):
        src = out + "-src"
        subprocess.run(["rm", "-rf", src], check=True)
        os.makedirs(src)
        a = subprocess.run("git -C '%s' archive %s | tar -x -C '%s'" % (ROOT, rev, src),
                           shell=True, capture_output=True, text=True, timeout=120)
        b = a.returncode == 0 and subprocess.run(
            ["make", "-C", src, "NO_BPF=1", "OUTPUT=" + out, "-j2", "tools"],
            capture_output=True, text=True, timeout=600)
        if not b or b.returncode != 0:
            pytest.skip("the oldest reader (%s, %s) does not build: %s" %
                        (rev[:12], why, (a.stderr if not b else b.stderr)[-300:]))
    return out, "%s (%s)" % (rev[:12], why)


@pytest.fixture(scope="module")
def old_reader():
    return oldest_reader()


@pytest.mark.parametrize("what", ttvariant.VARIANTS)
@pytest.mark.parametrize("name", ["basic.tt", "health.tt", "rotated.tt", "noend.tt",
                                  "raw-slice0.tt", "cut.tt"])
def test_oldest_reader_reads_newer_minor_versions(name, what, old_reader, tmp_path):
    """The oldest reader gives for each variant what it gives for the unmodified file (it
    may not know to warn): the real promise, not only today's reader."""
    build, which = old_reader
    files, _ = write_variants(name, what, str(tmp_path))
    base = corpus.reader_view(build, DIR, files)
    got = corpus.reader_view(build, str(tmp_path), files)
    for sec in ("counts", "connections"):
        assert got[sec] == base[sec], "reader %s: [%s] differs" % (which, sec)
    for sec in ("warnings replay", "warnings query"):
        known, unknown = split_unknown(got[sec])
        assert known == base[sec], which
        assert len(unknown) <= len(files)
