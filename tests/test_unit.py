"""Runs every unit-test binary (build/tests/test_*, from tests/unit/test_*.c): each prints one
line per check and exits non-zero on any failure."""
import glob
import os

import pytest

from conftest import run, tool

BINS = sorted(p for p in glob.glob(tool("tests/test_*")) if os.access(p, os.X_OK))


@pytest.mark.skipif(not BINS, reason="no unit tests built")
@pytest.mark.parametrize("path", BINS, ids=[os.path.basename(p) for p in BINS])
def test_unit(path):
    r = run([path], timeout=300)
    assert r.returncode == 0, "%s failed:\n%s%s" % (path, r.stdout, r.stderr)
    assert "FAIL" not in r.stdout, r.stdout
