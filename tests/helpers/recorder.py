"""tcptop-record in the background, and the BPF objects it holds.

Every Recorder is registered with conftest.background(): whatever a test does, no recorder of
it outlives it (a stray one would keep its programs attached during the next tests).
"""
import json
import os
import signal
import subprocess
import time

from conftest import background, run, tool
from helpers.capture import read_capture, ttcap

# before stopping a recorder right after traffic: the last interval's events reach the ring buffer
SETTLE_S = 0.3


class Recorder:
    """tcptop-record -o PATH ARGS, started under the command prefix pre (ip netns exec NS,
    setpriv ...). Ready once the capture header is on disk, which the recorder writes after
    attaching: then .ready is the time and .objs the BPF objects it holds (bpf_objects).
    header=False: do not wait (--flight writes nothing before a dump)."""

    def __init__(self, path, *args, pre=(), header=True, **popen):
        self.path = path
        self.ready, self.objs = None, None
        self.p = subprocess.Popen(list(pre) + [tool("tcptop-record"), "-o", path] + list(args),
                                  stderr=subprocess.PIPE, text=True, **popen)
        background(self.p)
        if not header:
            return
        wait_header(path, self.p)
        self.ready = time.time()
        self.objs = bpf_objects(self.p.pid)

    def wait_attached(self, timeout=60, still=0.5):
        """For header=False (--flight writes nothing before a dump): until the recorder holds
        BPF links and has made no new one for STILL s, i.e. attached (a 6.1 guest under TCG
        took longer than the 0.5 s slept here before, and the window began late)."""
        deadline, seen, since = time.time() + timeout, None, time.time()
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("recorder exited: " + self.p.stderr.read())
            links = bpf_objects(self.p.pid)["link"]
            if links != seen:
                seen, since = links, time.time()
            elif links and time.time() - since >= still:
                self.ready, self.objs = time.time(), bpf_objects(self.p.pid)
                return
            time.sleep(0.05)
        raise AssertionError("recorder not attached within %d s" % timeout)

    def stop(self, sig=signal.SIGINT, settle=0):
        """Signal it after settle seconds (SETTLE_S when traffic just ended); (exit status,
        stderr). Without settle a test sees what the recorder makes of events still in flight."""
        time.sleep(settle)
        self.p.send_signal(sig)
        _, err = self.p.communicate(timeout=30)
        return self.p.returncode, err

    def kill9(self):
        self.p.kill()
        self.p.communicate(timeout=30)


def wait_header(path, p, timeout=60):
    """Until recorder P (tcptop-record, or tcptop -o; None: not watched) has written the
    capture header of PATH, which it does once attached (in an emulated guest loading the
    programs takes seconds; on a loaded one over 20 s)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p and p.poll() is not None:
            raise AssertionError("recorder exited: " + (p.stderr.read() if p.stderr else ""))
        try:
            with open(path, "rb") as f:
                if f.read(len(ttcap.MAGIC)) == ttcap.MAGIC:
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError("recorder not ready: no capture header in %s" % path)


def record(tmp, fn, *args):
    """Record TMP/cap.tt while fn() runs; returns (fn's result, header, events, stderr)."""
    path = os.path.join(tmp, "cap.tt")
    rec = Recorder(path, *args)
    try:
        res = fn()
    finally:
        rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    hdr, evs = read_capture(path)
    return res, hdr, evs, err


def bpf_objects(pid):
    """{"prog"|"map"|"link": ids} of the BPF objects process pid holds fds of, from fdinfo."""
    objs = {"prog": set(), "map": set(), "link": set()}
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            info = open(os.path.join(fddir, fd)).read()
        except OSError:
            continue
        for line in info.splitlines():
            key, _, val = line.partition(":")
            if key in ("prog_id", "map_id", "link_id"):
                objs[key[:-3]].add(int(val))
    return objs


def bpf_loaded():
    """The ids of every BPF program, map and link in the kernel now (bpftool)."""
    out = {}
    for kind in ("prog", "map", "link"):
        r = run(["bpftool", "-j", kind, "list"])
        assert r.returncode == 0, r.stderr
        out[kind] = {o["id"] for o in json.loads(r.stdout or "[]")}
    return out


def assert_bpf_gone(objs, what):
    """Every object the recorder held is gone from the kernel (freed shortly after close)."""
    assert objs["prog"] and objs["map"] and objs["link"], ("recorder held no BPF objects?", objs)
    deadline = time.time() + 10
    while True:
        left = {k: objs[k] & v for k, v in bpf_loaded().items()}
        if not any(left.values()) or time.time() > deadline:
            break
        time.sleep(0.2)
    assert not any(left.values()), "%s: BPF objects left behind: %s" % (what, left)
