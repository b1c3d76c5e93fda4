"""Short libFuzzer runs of the harnesses (tests/fuzz/fuzz_*.c, `make fuzz`): the capture reader,
the query tables, cut (-o --from --to), --anonymize and the pcap source's packets, seeded from
tests/fuzz/corpus (minimized), tests/fuzz/seeds (described seeds and regression inputs),
tests/data and samples/: no crash, leak, timeout or sanitizer report; and every committed input
once through every harness.

TT_FUZZ_SECONDS sets the total length (default 30), shared by the harnesses. Long runs:
`make fuzz-long` (10 million inputs each).
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT, run, sanitized

# The harness is built with ASan and UBSan in every run: the sanitizer run (make SANITIZE=1
# test) repeats the plain run's fuzzing, so it runs a short one.
SECONDS = int(os.environ.get("TT_FUZZ_SECONDS", "10" if sanitized("tcptop-replay") else "30"))
# name: (share of SECONDS, executions per second a slow, loaded machine still does). The reader
# does some 2,000 a second on this project's 2-core machine; the query harness reads every table
# of each input several times.
HARNESSES = {"reader": (0.35, 100), "query": (0.2, 3), "cut": (0.15, 10), "anon": (0.15, 10),
             "pcap": (0.15, 100)}


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
    r = run(["make", "-C", ROOT, "--no-print-directory", "-j2", "OUTPUT=" + BUILD, "fuzz"],
            timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    bins = {n: os.path.join(BUILD, "fuzz", "fuzz_" + n) for n in HARNESSES}
    assert all(os.access(b, os.X_OK) for b in bins.values())
    return bins


def seed_dirs():
    dirs = [os.path.join(ROOT, "tests", "fuzz", d) for d in ("corpus", "seeds")]
    dirs.append(os.path.join(ROOT, "tests", "data"))
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


def check_log(r, art_dir, log):
    found = [f for f in os.listdir(art_dir) if re.match(r"(crash|leak|timeout|oom|slow-unit)-", f)]
    assert r.returncode == 0 and not found, (r.returncode, found, log[-4000:])
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_committed_inputs_pass(fuzzer, tmp_path, name):
    """Every seed, regression input and corpus file, once through the harness (-runs=0)."""
    art = str(tmp_path) + "/"
    cmd = [fuzzer[name], "-runs=0", "-timeout=10", "-rss_limit_mb=2048", "-close_fd_mask=3",
           "-artifact_prefix=" + art] + seed_dirs()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check_log(r, str(tmp_path), r.stderr)
    assert re.search(r"INITED cov: \d+", r.stderr), r.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_short_fuzz_run_finds_nothing(fuzzer, tmp_path, name):
    share, rate = HARNESSES[name]
    secs = max(2, round(SECONDS * share))
    work = tmp_path / "corpus"
    work.mkdir()
    art = str(tmp_path) + "/"
    cmd = ["nice", "-n", "10", fuzzer[name], "-max_total_time=%d" % secs, "-timeout=10",
           "-rss_limit_mb=2048", "-max_len=16384", "-print_final_stats=1", "-close_fd_mask=3",
           "-artifact_prefix=" + art, str(work)] + seed_dirs()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the fuzzer did not stop after %d s" % secs)
    log = r.stderr
    check_log(r, str(tmp_path), log)
    m = re.search(r"stat::number_of_executed_units: (\d+)", log)
    assert m, log[-2000:]
    runs = int(m.group(1))
    print("fuzz_%s: %d executions in %d s, %s" % (
        name, runs, secs, re.search(r"cov: \d+ ft: \d+", log).group(0)))
    # it really ran
    assert runs > rate * secs, (runs, secs)
