"""A short libFuzzer run of the capture reader (tests/fuzz/fuzz_reader.c, `make fuzz`), seeded
from tests/fuzz/seeds, tests/data and samples/: no crash, leak, timeout or sanitizer report.

TT_FUZZ_SECONDS sets the length (default 60). Long runs: see the Makefile's fuzz target.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, run, sanitized

# The harness is built with ASan and UBSan in every run: the sanitizer run (make SANITIZE=1
# test) repeats the plain run's fuzzing, so it runs a short one.
SECONDS = int(os.environ.get("TT_FUZZ_SECONDS", "10" if sanitized("tcptop-replay") else "60"))
FUZZER = os.path.join(BUILD, "fuzz", "fuzz_reader")


def have_libfuzzer(tmp):
    """clang can link a libFuzzer target with ASan and UBSan."""
    if shutil.which("clang") is None:
        return False
    src = os.path.join(tmp, "probe.c")
    with open(src, "w") as f:
        f.write("#include <stddef.h>\n#include <stdint.h>\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                "{ (void)d; (void)n; return 0; }\n")
    r = run(["clang", "-fsanitize=fuzzer,address,undefined", src, "-o",
             os.path.join(tmp, "probe")])
    return r.returncode == 0


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("fuzzprobe"))
    if not have_libfuzzer(tmp):
        pytest.skip("clang with libFuzzer (-fsanitize=fuzzer) not available")
    r = run(["make", "-C", ROOT, "--no-print-directory", "OUTPUT=" + BUILD, "fuzz"],
            timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert os.access(FUZZER, os.X_OK)
    return FUZZER


def seed_dirs():
    dirs = [os.path.join(ROOT, "tests", "fuzz", "seeds"), os.path.join(ROOT, "tests", "data")]
    samples = os.path.join(ROOT, "samples")
    if os.path.isdir(samples):
        dirs.append(samples)
    return dirs


def test_seeds_are_what_they_claim():
    """The committed seeds: the recorded one and the one with every kind read cleanly."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tests", "pyreader"))
    import ttcap
    seeds = os.path.join(ROOT, "tests", "fuzz", "seeds")
    for name in ("recorded-small.tt", "gen-every-kind.tt", "year-gap.tt"):
        cap = ttcap.read(os.path.join(seeds, name))
        assert cap.warnings == [] and cap.events, name
    kinds = {e["kind"] for e in ttcap.read(os.path.join(seeds, "gen-every-kind.tt")).events}
    assert kinds == set(range(1, 14))
    assert ttcap.read(os.path.join(seeds, "damaged-index-bogus-end.tt")).warnings


def test_short_fuzz_run_finds_nothing(fuzzer, tmp_path):
    work = tmp_path / "corpus"
    work.mkdir()
    art = str(tmp_path) + "/"
    cmd = ["nice", "-n", "10", fuzzer, "-max_total_time=%d" % SECONDS, "-timeout=10",
           "-rss_limit_mb=2048", "-max_len=16384", "-print_final_stats=1",
           "-artifact_prefix=" + art, str(work)] + seed_dirs()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the fuzzer did not stop after %d s" % SECONDS)
    log = r.stderr
    found = [f for f in os.listdir(tmp_path) if re.match(r"(crash|leak|timeout|oom|slow-unit)-", f)]
    assert r.returncode == 0 and not found, (r.returncode, found, log[-4000:])
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
    m = re.search(r"stat::number_of_executed_units: (\d+)", log)
    assert m, log[-2000:]
    runs = int(m.group(1))
    print("fuzz_reader: %d executions in %d s, %s" % (
        runs, SECONDS, re.search(r"cov: \d+ ft: \d+", log).group(0)))
    # it really ran: a slow, loaded machine still does hundreds per second
    assert runs > 20 * SECONDS
