"""Security: nobody gets more access than they should.

Captures hold process names and addresses: every tool that writes one creates it 0600 whatever
the umask, never writes through a symlink, never replaces a file unless asked. -Z USER really
drops root (uid, gid, supplementary groups, capabilities) and the recorder keeps working.
Replay and query run as nobody and never touch BPF (strace is the oracle).
"""
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import SEEDS, free_port, needs_bpf, needs_cmd, needs_root, run, tool
from helpers.capture import closes_of, read_cap
from helpers.recorder import Recorder

RECORD, REPLAY, QUERY, LIVE = (tool(n) for n in ("tcptop-record", "tcptop-replay",
                                                 "tcptop-query", "tcptop"))
SAMPLE = os.path.join(SEEDS, "recorded-small.tt")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def umask_run(mask, args, **kw):
    """Run args with the given umask (inherited by the child)."""
    old = os.umask(mask)
    try:
        return run(args, **kw)
    finally:
        os.umask(old)


@pytest.fixture
def public_dir():
    """A directory every user can reach (pytest's tmp_path is under a 0700 directory)."""
    d = tempfile.mkdtemp(prefix="tt-sec-", dir="/tmp")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def nobody_dir(public_dir):
    """A directory nobody may write in."""
    d = public_dir / "nobody"
    d.mkdir()
    os.chown(d, 65534, 65534)
    return d


# ------------------------------------------------------------------ 0600 whatever the umask

@needs_bpf
@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_record_creates_0600_whatever_the_umask(tmp_path, mask):
    path = str(tmp_path / "u.tt")
    r = umask_run(mask, [RECORD, "-o", path, "-d", "0.3", "-q"])
    assert r.returncode == 0, r.stderr
    assert mode(path) == 0o600
    # a replaced file gets 0600 too, whatever it was
    os.chmod(path, 0o666)
    r = umask_run(mask, [RECORD, "-o", path, "-d", "0.3", "-q", "-f"])
    assert r.returncode == 0, r.stderr
    assert mode(path) == 0o600


@needs_bpf
def test_rotated_and_flight_files_are_0600(tmp_path):
    path = str(tmp_path / "r.tt")
    r = umask_run(0, [RECORD, "-o", path, "-G", "1", "-d", "2.5", "-q"])
    assert r.returncode == 0, r.stderr
    files = sorted(os.listdir(tmp_path))
    assert files[:2] == ["r.tt", "r.tt.1"], files
    assert all(mode(str(tmp_path / f)) == 0o600 for f in files)
    fl = str(tmp_path / "fl.tt")
    rec = subprocess.Popen([RECORD, "-o", fl, "--flight", "5", "-q"],
                           preexec_fn=lambda: os.umask(0))
    time.sleep(1)
    rec.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    rec.send_signal(signal.SIGINT)
    assert rec.wait(timeout=20) == 0
    assert mode(fl) == 0o600 and mode(fl + ".1") == 0o600


def test_replay_cut_is_0600(tmp_path):
    out = str(tmp_path / "cut.tt")
    r = umask_run(0, [REPLAY, "-o", out, SAMPLE])
    assert r.returncode == 0, r.stderr
    assert mode(out) == 0o600
    assert len(read_cap(out).events) > 0


@needs_bpf
def test_live_output_is_0600(tmp_path):
    out = str(tmp_path / "live.tt")
    r = umask_run(0, [LIVE, "-b", "-n", "1", "-i", "0.3", "-o", out], stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert mode(out) == 0o600
    read_cap(out)


# ------------------------------------------------------------------ symlinks and clobbering

@pytest.fixture
def planted(tmp_path):
    """A victim file, a symlink to it, and a dangling symlink (where an attacker wants a file)."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(str(victim), str(tmp_path / "link.tt"))
    os.symlink(str(tmp_path / "created-by-us"), str(tmp_path / "dangling.tt"))
    return tmp_path


def untouched(d):
    assert (d / "victim").read_text() == "precious\n"
    assert not os.path.lexists(str(d / "created-by-us"))
    assert os.path.islink(str(d / "link.tt")) and os.path.islink(str(d / "dangling.tt"))


def one_line_error(r, code=1):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and len(lines) == 1, (r.returncode, r.stderr)
    return lines[0]


@needs_bpf
@pytest.mark.parametrize("force", [[], ["-f"]])
@pytest.mark.parametrize("name", ["link.tt", "dangling.tt"])
def test_record_never_writes_through_a_symlink(planted, name, force):
    r = run([RECORD, "-o", str(planted / name), "-d", "0.3"] + force)
    msg = one_line_error(r)
    assert name in msg
    untouched(planted)


@needs_bpf
def test_rotation_never_writes_through_a_planted_symlink(planted):
    """FILE.1 planted as a symlink before the recorder rotates into it."""
    path = str(planted / "rot.tt")
    os.symlink(str(planted / "victim"), path + ".1")
    for force in ([], ["-f"]):
        r = run([RECORD, "-o", path, "-G", "1", "-W", "3", "-d", "2.5", "-q"] + force)
        assert r.returncode == 1 and "rot.tt.1" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert (planted / "victim").read_text() == "precious\n"
        assert os.path.islink(path + ".1")
        if os.path.exists(path):  # refused at the rotation: what it did write is complete
            cap = read_cap(path)
            assert cap.warnings == [] and cap.end is not None


@pytest.mark.parametrize("name", ["link.tt", "dangling.tt"])
def test_replay_cut_never_writes_through_a_symlink(planted, name):
    r = run([REPLAY, "-o", str(planted / name), SAMPLE])
    assert r.returncode != 0 and name in r.stderr
    untouched(planted)


@needs_bpf
@pytest.mark.parametrize("name", ["link.tt", "dangling.tt"])
def test_live_output_never_writes_through_a_symlink(planted, name):
    for force in ([], ["--force"]):
        r = run([LIVE, "-b", "-n", "1", "-i", "0.3", "-o", str(planted / name)] + force,
                stdin=subprocess.DEVNULL)
        assert r.returncode != 0 and name in r.stderr
    untouched(planted)


@needs_bpf
def test_record_no_clobber_without_force(tmp_path):
    path = tmp_path / "exists.tt"
    path.write_text("keep")
    r = run([RECORD, "-o", str(path), "-d", "0.3"])
    assert "exists" in one_line_error(r)
    assert path.read_text() == "keep"
    # rotation without -W makes new names: an existing FILE.1 is not its own, keep it
    rot = tmp_path / "rot.tt"
    (tmp_path / "rot.tt.1").write_text("keep too")
    r = run([RECORD, "-o", str(rot), "-G", "1", "-d", "2.5", "-q"])
    assert r.returncode == 1 and "rot.tt.1" in r.stderr and "exists" in r.stderr, r.stderr
    assert (tmp_path / "rot.tt.1").read_text() == "keep too"
    assert read_cap(str(rot)).end is not None
    # -f replaces
    r = run([RECORD, "-o", str(path), "-d", "0.3", "-q", "-f"])
    assert r.returncode == 0, r.stderr
    assert read_cap(str(path)).end is not None


def test_replay_cut_no_clobber_and_force(tmp_path):
    out = tmp_path / "exists.tt"
    out.write_text("keep")
    r = run([REPLAY, "-o", str(out), SAMPLE])
    msg = one_line_error(r, r.returncode)
    assert r.returncode in (1, 2) and "exists" in msg and out.read_text() == "keep"
    assert "--force" in msg
    os.chmod(str(out), 0o644)
    r = run([REPLAY, "--force", "-o", str(out), SAMPLE])
    assert r.returncode == 0, r.stderr
    assert mode(str(out)) == 0o600 and read_cap(str(out)).events


# ------------------------------------------------------------------ -Z USER

def proc_status(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


@needs_bpf
@needs_cmd("setpriv")
def test_drop_privileges_completely_and_keep_recording(tmp_path, traffic):
    """Started with supplementary groups: after -Z nobody no uid, gid, group or capability of
    root remains, and connections made after the drop are recorded right."""
    port = free_port()
    gen = traffic(port, 0.02)
    path = str(tmp_path / "z.tt")
    rec = Recorder(path, "-Z", "nobody", "-P", str(port),
                   pre=["setpriv", "--groups=4,24,27", "--"])
    time.sleep(0.3)
    st = proc_status(rec.p.pid)
    time.sleep(1.5)
    t_stop = time.time()
    rc, err = rec.stop()
    assert rc == 0, err
    assert st["Uid"] == ["65534"] * 4 and st["Gid"] == ["65534"] * 4, st
    assert st["Groups"] == [], st
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[cap][0], 16) == 0, (cap, st[cap])
    cap = read_cap(path)
    done = gen.between(rec.ready + 0.3, t_stop)
    assert len(done) > 20
    got = closes_of(cap.events, port, done)
    assert all((got[(d[0], d[2])][0] or {}).get("tx_bytes") == d[3] for d in done)


@needs_bpf
def test_drop_privileges_rotation_new_files(nobody_dir):
    """-G without -W after -Z: the new files are made as nobody, every file complete."""
    path = str(nobody_dir / "z.tt")
    r = run([RECORD, "-o", path, "-Z", "nobody", "-G", "1", "-d", "3.5"])
    assert r.returncode == 0, r.stderr
    files = sorted(os.listdir(nobody_dir))
    assert len(files) >= 3, files
    for f in files:
        p = str(nobody_dir / f)
        assert mode(p) == 0o600
        cap = read_cap(p)
        assert cap.warnings == [] and cap.end is not None, (f, cap.warnings)
    assert all(os.stat(str(nobody_dir / f)).st_uid == 65534 for f in files[1:])


@needs_bpf
def test_drop_privileges_rotation_ring_keeps_working(nobody_dir):
    """With -W the ring wraps back to FILE, created before the drop (as root, once: then
    nobody could not reopen it)."""
    path = str(nobody_dir / "z.tt")
    r = run([RECORD, "-o", path, "-Z", "nobody", "-G", "1", "-W", "2", "-d", "3.5"])
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(nobody_dir)) == ["z.tt", "z.tt.1"]
    for f in ("z.tt", "z.tt.1"):
        cap = read_cap(str(nobody_dir / f))
        assert cap.warnings == [] and cap.end is not None, (f, cap.warnings)


# ------------------------------------------------------------------ replay and query as nobody

def no_bpf_calls(args, tmp_path):
    """Run args as nobody under strace; the result, and whether it ever called bpf(2)."""
    log = str(tmp_path / "strace.log")
    # (LeakSanitizer cannot run under ptrace: off for a sanitizer build)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = run(["strace", "-f", "-qq", "-e", "trace=bpf", "-o", log] + NOBODY + args,
            stdin=subprocess.DEVNULL, env=env)
    calls = [x for x in open(log).read().splitlines() if "bpf(" in x]
    return r, calls


@needs_root
@needs_cmd("setpriv", "strace")
def test_replay_and_query_as_nobody_without_bpf(tmp_path, public_dir):
    cap = str(public_dir / "cap.tt")
    shutil.copy(SAMPLE, cap)
    os.chmod(cap, 0o644)
    want = len(read_cap(cap).events)
    r, calls = no_bpf_calls([REPLAY, "--dump", cap], tmp_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == want, r.stderr
    assert calls == []
    r, calls = no_bpf_calls([REPLAY, "--batch", "-i", "1", cap], tmp_path)
    assert r.returncode == 0 and "tcptop" in r.stdout, r.stderr
    assert calls == []
    r, calls = no_bpf_calls([QUERY, "--no-progress", cap, "SELECT count(*) FROM events"],
                            tmp_path)
    assert r.returncode == 0 and r.stdout.split()[-1] == str(want), r.stderr
    assert calls == []
    # a capture nobody may not read: one clear line, exit 2 (a bad input file)
    os.chmod(cap, 0o600)
    for args in ([REPLAY, "--dump", cap], [QUERY, "--no-progress", cap, "SELECT 1"]):
        r = run(NOBODY + args, stdin=subprocess.DEVNULL)
        assert r.returncode == 2 and "permission denied" in r.stderr.lower(), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


@needs_root
@needs_cmd("setpriv")
def test_record_and_live_refuse_bpf_without_root(nobody_dir):
    """Unprivileged, the BPF source asked for: a clear one-line error, nothing written, nothing
    loaded. (The default, auto, falls back to sock_diag instead: tests/test_sockdiag.py.)"""
    d = nobody_dir
    for args in ([RECORD, "--source", "bpf", "-o", str(d / "x.tt"), "-d", "1"],
                 [LIVE, "--source", "bpf", "-b", "-n", "1"]):
        if not os.path.exists(args[0]):
            continue
        r = run(NOBODY + args, stdin=subprocess.DEVNULL)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, (args[0], r.returncode, r.stderr)
        assert "root" in lines[0].lower() or "permission" in lines[0].lower(), lines[0]
    assert os.listdir(d) == [], "nothing left behind"
