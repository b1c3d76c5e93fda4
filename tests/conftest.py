"""Shared fixtures for the black-box tests: where the tools are, what this machine allows.

Code the tests share beyond that lives in helpers/: capture.py (reading captures back),
recorder.py (tcptop-record in the background, its BPF objects), traffic.py (traffic with an
oracle)."""
import os
import shutil
import socket
import subprocess

import pytest

from helpers import kernel
from helpers.traffic import Traffic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TT_BUILD", os.path.join(ROOT, "build"))
NO_BPF = os.environ.get("NO_BPF") == "1"
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")  # small real captures, also fuzz seeds


def tool(name):
    """Absolute path of a built tool (or unit-test binary under tests/)."""
    return os.path.join(BUILD, name)


def run(args, **kw):
    """Run a command, capture text output, never raise on exit status."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(args, **kw)


def free_port(family=socket.AF_INET):
    """A TCP port nobody listens on right now."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


def have_bpf():
    return not NO_BPF and os.geteuid() == 0 and os.path.exists(tool("tcptop-record"))


_REFUSAL = []


def bpf_refused():
    """Why this kernel refuses the BPF source, in the recorder's own words (its one-line error
    for `--source bpf --check`), or "" when it loads. Only asked before Linux 5.12, which is
    where the refusal is by design (the atomic fetch our programs need came in 5.12; Debian's
    5.10 refuses it, docs/KERNELS.md): on a newer kernel a BPF source that fails to load fails
    its tests. Asked once per pytest process."""
    if not _REFUSAL:
        why = ""
        if have_bpf() and kernel.release() < (5, 12):
            r = subprocess.run([tool("tcptop-record"), "--source", "bpf", "--check"],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                lines = r.stderr.strip().splitlines() or ["exit %d" % r.returncode]
                why = lines[-1]
        _REFUSAL.append(why)
    return _REFUSAL[0]


def sanitized(name):
    """Whether a built tool carries AddressSanitizer (make SANITIZE=1): memory bounds differ."""
    try:
        with open(tool(name), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
# A test of the BPF source: skipped without root or a BPF build (make NO_BPF=1); on a kernel
# that refuses the BPF source, an expected failure named by the recorder's refusal, not run
# (pytest_collection_modifyitems). Also usable in pytest.param(..., marks=needs_bpf).
needs_bpf = pytest.mark.needs_bpf


def needs_cmd(*names):
    missing = [n for n in names if shutil.which(n) is None]
    return pytest.mark.skipif(bool(missing), reason="missing " + " ".join(missing))


# make test runs two pytest workers (pytest-xdist, --dist loadgroup). The tests that touch the
# kernel (recorders, BPF, namespaces, live traffic, global counters) assume nobody else does:
# they stay in one group, run one at a time by one worker. The tests that only read and write
# files, in the files below, run beside them, niced, and the suite takes about half the time.
OFFLINE_FILES = {"test_view.py", "test_fuzz.py", "test_replay.py", "test_query.py",
                 "test_reliability.py", "test_unit.py", "test_scale.py", "test_corpus.py",
                 "test_samples.py", "test_format.py", "test_schema.py", "test_event_kinds.py",
                 "test_install.py", "test_anon.py"}
# in those files, a test with one of these fixtures records real traffic
KERNEL_FIXTURES = {"live", "veth_netns", "traffic"}


def offline(item):
    """Whether ITEM only reads and writes files: in OFFLINE_FILES, with no root-only skipif
    (needs_root, needs_bpf) and no fixture that records real traffic."""
    if os.path.basename(str(item.fspath)) not in OFFLINE_FILES:
        return False
    if any("root" in m.kwargs.get("reason", "") for m in item.iter_markers("skipif")):
        return False
    if item.get_closest_marker("needs_bpf"):
        return False
    return not KERNEL_FIXTURES & set(getattr(item, "fixturenames", ()))


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups into node ids
def pytest_collection_modifyitems(config, items):
    # make vmtest's boot after one that stopped: the tests that one finished, by exact node id
    # (pytest's --deselect takes prefixes: test_a would drop test_after too)
    done_file = os.environ.get("TT_DONE_TESTS")
    if done_file and os.path.exists(done_file):
        done = set(open(done_file).read().split())
        dropped = [i for i in items if i.nodeid in done]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if i.nodeid not in done]
    for item in items:
        if item.get_closest_marker("needs_bpf"):
            if not have_bpf():
                item.add_marker(pytest.mark.skip(reason="needs root and a BPF build"))
            elif bpf_refused():
                item.add_marker(pytest.mark.xfail(
                    run=False, reason="this kernel refuses the BPF source: " + bpf_refused()))
        if not offline(item):
            item.add_marker(pytest.mark.xdist_group("kernel"))


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): tests one pytest-xdist worker runs")
    config.addinivalue_line("markers", "needs_bpf: a test of the BPF source (conftest.py)")


@pytest.fixture(autouse=True)
def _offline_niced(request):
    """Under xdist an offline test runs niced (its tools inherit it), so that the kernel tests
    beside it keep the CPU their timing needs; root puts it back after."""
    if not (os.environ.get("PYTEST_XDIST_WORKER") and os.geteuid() == 0
            and offline(request.node)):
        yield
        return
    os.setpriority(os.PRIO_PROCESS, 0, 10)
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, 0)


@pytest.fixture(scope="session", autouse=True)
def _tracefs():
    """The BPF tools and tcplife want tracefs; mount it if this machine has not."""
    if os.geteuid() == 0 and not os.path.exists("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                       capture_output=True)
    yield


@pytest.fixture(scope="session", autouse=True)
def _tmux_server():
    """One tmux session for the whole run: tmux's server exits with its last session, and a
    test's new-session that reaches a server still exiting fails ("server exited
    unexpectedly"), as seen in a fresh root."""
    name = "tt-keepalive-%d" % os.getpid()
    up = shutil.which("tmux") and subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "sleep 86400"], capture_output=True
    ).returncode == 0
    yield
    if up:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


@pytest.fixture
def tmpdir_path(tmp_path):
    return str(tmp_path)


_BACKGROUND = []  # processes of the running test that _no_strays kills after it


def background(p):
    """Kill the subprocess.Popen p after the running test if it is still there (a recorder
    left running by a failed test would stay attached during the next ones)."""
    _BACKGROUND.append(p)
    return p


@pytest.fixture(autouse=True)
def _no_strays():
    yield
    while _BACKGROUND:
        p = _BACKGROUND.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.fixture
def traffic():
    """traffic(port, interval, seed, host) starts a helpers.traffic.Traffic generator, which
    logs every connection it made; all are stopped after the test."""
    made = []

    def start(*a, **kw):
        made.append(Traffic(*a, **kw))
        return made[-1]
    yield start
    for t in made:
        t.stop()
