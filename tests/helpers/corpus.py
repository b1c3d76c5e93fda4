"""The frozen corpus (tests/corpus/): what today's reader gives for a capture, as text.

A corpus entry is a capture NAME.tt (or a set NAME.tt, NAME.tt.1 ... read together) and
NAME.tt.txt, written once by scripts/corpus-add.sh and never rewritten. The text has free
lines (`what:`, `made:`), `sha256:` lines freezing each file, then sections:

    [header]        keys of the first file's header as tcptop-replay --dump --json gives them
    [counts]        events per kind name (tcptop-replay --dump --json), and `total`
    [connections]   tcptop-query's `connections` rows as CSV, header first, rows sorted
    [warnings replay]  tcptop-replay --dump's stderr
    [warnings query]   tcptop-query's stderr

The tools run in the corpus directory with the bare file names, so the names in warnings
and the `file` column do not depend on where the tree is.

    python3 tests/helpers/corpus.py expect DIR FILE...   prints the sections for FILE...
"""
import collections
import hashlib
import json
import os
import subprocess
import sys

HEADER_KEYS = ("version_major", "version_minor", "tool_version", "mode", "coalesce_ms",
               "raw_slice_ns", "filters", "clock", "clock_offset_ns", "start_ns", "hostname")
SECTIONS = ("header", "counts", "connections", "warnings replay", "warnings query")


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    return r


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def reader_view(build, cwd, files, columns=None):
    """The sections for files (names in cwd), computed with the binaries in build.

    columns: the connections columns to select (an entry's frozen CSV header; columns added
    later to the schema are not asked for), None for all of today's."""
    out = {}
    r = _run([os.path.join(build, "tcptop-replay"), "--dump", "--json"] + list(files), cwd)
    if r.returncode != 0:
        raise RuntimeError("tcptop-replay --dump failed (%d): %s" % (r.returncode, r.stderr))
    lines = r.stdout.splitlines()
    header = json.loads(lines[0])["header"]
    out["header"] = ["%s: %s" % (k, header[k]) for k in HEADER_KEYS if k in header]
    counts = collections.Counter(json.loads(x)["kind"] for x in lines[1:])
    out["counts"] = ["%s %d" % (k, counts[k]) for k in sorted(counts)]
    out["counts"].append("total %d" % sum(counts.values()))
    out["warnings replay"] = r.stderr.splitlines()

    sel = "*" if columns is None else ", ".join('"%s"' % c for c in columns)
    q = _run([os.path.join(build, "tcptop-query"), "-F", "csv", "--no-progress"] + list(files)
             + ["SELECT %s FROM connections" % sel], cwd)
    if q.returncode != 0:
        raise RuntimeError("tcptop-query failed (%d): %s" % (q.returncode, q.stderr))
    rows = q.stdout.splitlines()
    out["connections"] = rows[:1] + sorted(rows[1:])
    out["warnings query"] = q.stderr.splitlines()
    return out


def render(sections):
    text = []
    for name in SECTIONS:
        text.append("[%s]" % name)
        text.extend(sections[name])
    return "\n".join(text) + "\n"


def parse(path):
    """An entry's text -> (preamble lines, {section: lines})."""
    pre, secs, cur = [], {}, None
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("[") and line.endswith("]") and line[1:-1] in SECTIONS:
                cur = secs.setdefault(line[1:-1], [])
            elif cur is None:
                pre.append(line)
            else:
                cur.append(line)
    return pre, secs


def main(argv):
    if len(argv) < 4 or argv[1] != "expect":
        sys.exit("usage: corpus.py expect DIR FILE...")
    build = os.environ.get("TT_BUILD", os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "build"))
    sys.stdout.write(render(reader_view(os.path.abspath(build), argv[2], argv[3:])))


if __name__ == "__main__":
    main(sys.argv)
