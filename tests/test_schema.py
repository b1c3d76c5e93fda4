"""The SQL interface is a contract: scripts and dashboards are written against tcptop-query's
tables and columns. Its schema, in each dialect, must equal the committed snapshot in
tests/data/schema/, and the snapshot says how many changes docs/QUERY.md lists: a schema change
made without its line in that list (what changed, how to migrate) fails here. After a change on
purpose: scripts/schema-snapshot.sh, and a line in docs/QUERY.md."""
import difflib
import os
import re

import pytest

from conftest import ROOT, run, tool

SNAP = os.path.join(ROOT, "tests", "data", "schema")


def ledger_lines():
    text = open(os.path.join(ROOT, "docs", "QUERY.md")).read()
    part = text.split("## Changes to what queries and dumps return", 1)[1]
    part = part.split("\n## ", 1)[0]
    return [ln for ln in part.splitlines() if ln.startswith("- ")]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "clickhouse"])
def test_schema_equals_snapshot(dialect):
    flag = "--schema" if dialect == "sqlite" else "--schema=" + dialect
    r = run([tool("tcptop-query"), flag])
    assert r.returncode == 0, r.stderr
    head, snap = open(os.path.join(SNAP, dialect + ".sql")).read().split("\n", 1)
    diff = "".join(difflib.unified_diff(snap.splitlines(True), r.stdout.splitlines(True),
                                        "snapshot", "now"))
    assert r.stdout == snap, ("the %s schema changed: run scripts/schema-snapshot.sh and add "
                              "the change to docs/QUERY.md\n%s" % (dialect, diff))
    m = re.match(r"-- tcptop-query \S+; docs/QUERY.md lists (\d+) changes$", head)
    assert m, head
    assert int(m.group(1)) == len(ledger_lines()), (
        "docs/QUERY.md's list of changes and the snapshot disagree: a schema change needs its "
        "line there (and scripts/schema-snapshot.sh after)")


def test_every_ledger_line_is_dated_with_a_migration():
    """Each change names its date (the version it came with) and says what to write now."""
    lines = ledger_lines()
    assert lines
    for ln in lines:
        assert re.match(r"- \d{4}-\d{2}-\d{2}( \(tcptop [0-9.]+\))?: ", ln), ln
