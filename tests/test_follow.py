"""A capture read while it is recorded: tcptop-replay --follow (like tail -f, on through a
rotated set) and tcptop-query on a file still being written, by an unprivileged user reading
the group-readable capture of a root recorder.

Oracle: the sender's own log. Rows seen while the recording runs never show more than the
sender had sent by the row's time; once the recorder stops, the follower ends by itself and its
last snapshot holds exactly what was sent."""
import csv
import datetime
import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import background, free_port, needs_bpf, needs_cmd, run, tool
from helpers.recorder import SETTLE_S, Recorder

pytestmark = needs_bpf

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
CHUNK = 20000
SLACK_NS = 100_000_000  # event clock (boottime + the header's offset) against time.time()


@pytest.fixture
def shared_dir():
    """A directory nobody may enter (pytest's own tree is closed to it), holding the capture."""
    d = tempfile.mkdtemp(prefix="tt-follow-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def share(path):
    """What an admin does for a team: the capture readable by its group (nogroup here)."""
    os.chown(path, -1, grp.getgrnam("nogroup").gr_gid)
    os.chmod(path, 0o640)


class Sender:
    """One loopback connection sending CHUNK bytes every 0.1 s for secs; .log is
    [(time before the send, bytes sent after it)], .received what the server read."""

    def __init__(self, secs):
        self.port = free_port()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen()
        self.log, self.received, self.lport = [], 0, None
        self.finished = None
        self.t = threading.Thread(target=self._run, args=(secs,), daemon=True)
        self.t.start()

    def _run(self, secs):
        cli = socket.create_connection(("127.0.0.1", self.port))
        acc, _ = self.srv.accept()
        self.lport = cli.getsockname()[1]

        def drain():
            while True:
                d = acc.recv(1 << 16)
                if not d:
                    break
                self.received += len(d)
        r = threading.Thread(target=drain)
        r.start()
        sent, t0 = 0, time.time()
        while time.time() - t0 < secs:
            t = time.time()
            cli.sendall(b"s" * CHUNK)
            sent += CHUNK
            self.log.append((t, sent))
            time.sleep(0.1)
        cli.close()
        r.join()
        acc.close()
        self.srv.close()
        self.finished = time.time()

    def sent_before(self, ns):
        """Bytes of the sends begun before wall time ns: all a counter read then can hold."""
        return max([n for t, n in self.log if t * 1e9 < ns + SLACK_NS], default=0)

    def join(self):
        self.t.join(timeout=30)
        assert self.finished


class Follower:
    """tcptop-replay --follow --csv - as nobody; .rows are (arrival time, CSV row dict)."""

    def __init__(self, path, *args):
        self.p = subprocess.Popen(NOBODY + [tool("tcptop-replay"), "--follow", "-i", "0.5",
                                            "--csv", "-", *args, path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        background(self.p)
        self.rows = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        head = None
        for line in self.p.stdout:
            f = next(csv.reader([line]))
            if head is None:
                head = f
                continue
            self.rows.append((time.time(), dict(zip(head, f))))

    def wait(self, timeout=20):
        """Its exit status and stderr: it ends by itself when the recording ends."""
        self.p.wait(timeout=timeout)
        self.t.join(timeout=5)
        return self.p.returncode, self.p.stderr.read()


def check_follow(snd, fol):
    """Rows came while the sender was sending, each within what was sent by its time; the last
    snapshot holds all of it."""
    def ends(r):
        return (int(r["lport"]), int(r["rport"]))
    cli = [(at, r) for at, r in fol.rows if ends(r) == (snd.lport, snd.port)]
    srv = [(at, r) for at, r in fol.rows if ends(r) == (snd.port, snd.lport)]
    early = [r for at, r in cli if at < snd.finished and int(r["tx_bytes"]) > 0]
    assert len(early) >= 2, ("no rows while the recording ran", len(fol.rows), cli[-3:])
    assert len({r["time_ns"] for r in early}) >= 2, "not one row per flush"
    for rows, col in ((cli, "tx_bytes"), (srv, "rx_bytes")):
        for _, r in rows:
            assert int(r[col]) <= snd.sent_before(int(r["time_ns"])), (col, r, snd.log[:3])
    last = max(int(r["time_ns"]) for _, r in fol.rows)
    final_cli = [r for _, r in cli if int(r["time_ns"]) == last]
    final_srv = [r for _, r in srv if int(r["time_ns"]) == last]
    sent = snd.log[-1][1]
    assert snd.received == sent
    assert [int(r["tx_bytes"]) for r in final_cli] == [sent]
    assert [int(r["rx_bytes"]) for r in final_srv] == [sent]


def test_follow_shows_a_recording_as_it_is_written(shared_dir):
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap)
    share(cap)
    fol = Follower(cap)
    snd = Sender(4.0)
    snd.join()
    assert fol.p.poll() is None, "the follower ended while the recording ran"
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    frc, ferr = fol.wait()
    assert frc == 0, ferr
    assert "warning" not in ferr, ferr
    check_follow(snd, fol)


def test_follow_goes_on_through_a_rotated_set(shared_dir):
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap, "-G", "1")
    share(cap)
    fol = Follower(cap)
    snd = Sender(4.0)
    snd.join()
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    frc, ferr = fol.wait()
    assert frc == 0, ferr
    assert "warning" not in ferr, ferr
    files = sorted(f for f in os.listdir(shared_dir) if f.startswith("cap.tt"))
    assert len(files) >= 4, files
    # the set keeps the group and read permission given to its file
    for f in files:
        st = os.stat(os.path.join(shared_dir, f))
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o640, grp.getgrnam("nogroup").gr_gid), f
    check_follow(snd, fol)
    # and it is what reading the whole set afterwards gives
    ref = run([tool("tcptop-replay"), "-i", "0.5", "--csv", "-"] +
              [os.path.join(shared_dir, f) for f in files])
    assert ref.returncode == 0, ref.stderr
    rows = list(csv.DictReader(ref.stdout.splitlines()))
    last = max(int(r["time_ns"]) for r in rows)
    assert sorted((r["conn_id"], r["tx_bytes"], r["rx_bytes"]) for r in rows
                  if int(r["time_ns"]) == last) == \
        sorted((r["conn_id"], r["tx_bytes"], r["rx_bytes"]) for _, r in fol.rows
               if int(r["time_ns"]) == max(int(x["time_ns"]) for _, x in fol.rows))


def query(cap, sql):
    r = run(NOBODY + [tool("tcptop-query"), "--no-progress", "-F", "csv", cap, sql])
    return r, list(csv.DictReader(r.stdout.splitlines()))


def test_query_reads_a_file_being_written_up_to_its_last_flush(shared_dir):
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap)
    share(cap)
    snd = Sender(3.0)
    time.sleep(1.5)
    sql = ("SELECT c.end_ns, c.writing, n.tx_bytes, (SELECT count(*) FROM events) AS evs, "
           "(SELECT count(*) FROM events) AS again FROM capture c, connections n "
           "WHERE n.lport = %d AND n.rport = %d")
    while snd.lport is None:
        time.sleep(0.01)
    sql = sql % (snd.lport, snd.port)
    while True:
        r, rows = query(cap, sql)
        asked = time.time()
        assert r.returncode == 0, r.stderr
        assert "warning" not in r.stderr, r.stderr
        assert "cap.tt: still being written: read up to its last flush" in r.stderr, r.stderr
        assert all((x["end_ns"], x["writing"]) == ("", "1") for x in rows), rows
        assert all(int(x["tx_bytes"]) <= snd.sent_before(asked * 1e9) for x in rows), rows
        assert all(x["evs"] == x["again"] for x in rows)  # every scan reads the same
        if rows and int(rows[0]["tx_bytes"]) > 0:
            break
        assert not snd.finished, "nothing of the connection read while it was recorded"
        time.sleep(0.2)
    assert len(rows) == 1, rows
    snd.join()
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    r, rows = query(cap, sql)
    assert r.returncode == 0 and not r.stderr, r.stderr
    assert rows[0]["writing"] == "0" and int(rows[0]["end_ns"]) > 0, rows
    assert int(rows[0]["tx_bytes"]) == snd.log[-1][1] == snd.received


def test_follow_ends_with_a_recorder_killed(shared_dir):
    """kill -9: no end block will come; the writer's lock went with the process, so the
    follower reads what was flushed, says the end block is missing, and ends."""
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap)
    share(cap)
    fol = Follower(cap)
    snd = Sender(2.0)
    snd.join()
    time.sleep(1.2)  # flushed
    assert fol.p.poll() is None
    rec.kill9()
    frc, ferr = fol.wait(timeout=10)
    assert frc == 0, ferr
    assert "capture has no end block" in ferr, ferr
    rows = [r for _, r in fol.rows if (int(r["lport"]), int(r["rport"])) == (snd.lport, snd.port)]
    assert rows and all(int(r["tx_bytes"]) <= snd.log[-1][1] for r in rows), rows[-1:]


@needs_cmd("tmux")
def test_follow_in_the_view(shared_dir):
    from test_view import Pane
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap)
    share(cap)
    p = Pane(" ".join(NOBODY + [tool("tcptop-replay"), "--follow", cap]))
    try:
        snd = Sender(3.0)
        while snd.lport is None:
            time.sleep(0.01)
        port = ":%d " % snd.lport
        screen = p.wait(lambda t: "FOLLOW" in t and port in t, timeout=8, stable=False)
        assert not snd.finished, screen
        snd.join()
        rc, err = rec.stop(settle=SETTLE_S)
        assert rc == 0, err
        # the recording ended: all of it shown, no longer following; the view stays until q
        p.wait(lambda t: "FOLLOW" not in t and "(100%)" in t and port in t, timeout=8)
        assert not p.dead()
        p.keys("q")
        assert p.wait_dead()
    finally:
        p.close()


def test_follow_goes_on_while_nothing_is_recorded(shared_dir):
    """A recorder with nothing to record writes nothing: the follower's time goes on all the
    same, as a live view's does, a few seconds behind (what may still be on its way)."""
    cap = os.path.join(shared_dir, "cap.tt")
    rec = Recorder(cap, "-P", str(free_port()))
    share(cap)
    p = subprocess.Popen(NOBODY + [tool("tcptop-replay"), "--follow", "-b", "-i", "0.5", cap],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    background(p)
    snaps = []

    def read():
        for line in p.stdout:
            if line.startswith("tcptop-replay "):
                when = datetime.datetime.strptime(" ".join(line.split()[1:3]) + " +0000",
                                                  "%Y-%m-%d %H:%M:%S.%f %z")
                snaps.append((time.time(), when.timestamp()))
    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(4.5)
    seen = list(snaps)
    rc, err = rec.stop()
    assert rc == 0, err
    p.wait(timeout=10)
    t.join(timeout=5)
    assert p.returncode == 0, p.stderr.read()
    # 4.5 s, minus the 2.5 s held back (a sampling interval and a flush): a snapshot each 0.5 s
    assert len(seen) >= 3, seen
    clock = [s for _, s in seen]
    assert clock == sorted(clock) and len(set(clock)) == len(clock), clock
    for at, s in seen:
        assert s <= at - 2.4, (s, at)  # never ahead of what the recorder may have flushed
