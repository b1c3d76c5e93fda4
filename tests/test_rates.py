"""Rates against what the sender itself did (root, BPF build): a connection that was already
sending when the recording began shows its sender's rate in every interval, also in the one
its close lands in, while its totals are the socket's absolute counters.

Oracle: a paced Python sender on loopback that knows its rate and counts what it sent and
what its server end read."""
import csv
import json
import os
import subprocess
import time

from conftest import free_port, needs_bpf, run, tool
from helpers.capture import CLOSE, OPEN, read_cap
from helpers.recorder import Recorder
from helpers.traffic import PY

pytestmark = needs_bpf

REPLAY = tool("tcptop-replay")

# A server on PORT reading everything, and one client connection sending RATE bytes/s in
# 10 ms steps (on a schedule, so no drift) for SECS seconds, then closing. One JSON line at the
# end: the client's port, bytes sent, bytes the server read.
PACED_PY = r'''
import json, socket, sys, threading, time
port, rate, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
got = [0]
def sink():
    a, _ = srv.accept()
    while True:
        b = a.recv(1 << 16)
        if not b:
            break
        got[0] += len(b)
    a.close()
t = threading.Thread(target=sink)
t.start()
cli = socket.create_connection(("127.0.0.1", port))
step = rate // 100
sent, t0 = 0, time.time()
for k in range(int(secs * 100)):
    delay = t0 + k / 100 - time.time()
    if delay > 0:
        time.sleep(delay)
    cli.sendall(b"x" * step)
    sent += step
lport = cli.getsockname()[1]
cli.close()
t.join()
srv.close()
print(json.dumps({"lport": lport, "sent": sent, "received": got[0]}))
'''


def test_sending_before_the_recording_is_no_rate_spike_at_the_close(tmp_path):
    """A 1 MB/s sender started 3 s before tcptop-record and closed while it records: replayed
    (--batch --csv, 1 s intervals), no interval shows more than 1.5x the sender's rate, on the
    sending end (TX/s) or on the receiving one (RX/s), while both ends' totals are what was
    sent since the connection began (the close's absolute counters)."""
    rate, port = 1000000, free_port()
    path, out = str(tmp_path / "pre.tt"), str(tmp_path / "pre.csv")
    snd = subprocess.Popen([PY, "-c", PACED_PY, str(port), str(rate), "7"],
                           stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        rec = Recorder(path, "-P", str(port), "--coalesce", "200ms")
        res = json.loads(snd.communicate(timeout=30)[0])
        rc, err = rec.stop(settle=1.5)
    finally:
        if snd.poll() is None:
            snd.kill()
            snd.wait()
    assert rc == 0, err
    assert res["sent"] == res["received"] == 7 * rate
    r = run([REPLAY, "--batch", "-i", "1", "--csv", out, path])
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(out)))
    cli = [x for x in rows if int(x["lport"]) == res["lport"] and int(x["rport"]) == port]
    srv = [x for x in rows if int(x["lport"]) == port and int(x["rport"]) == res["lport"]]
    assert cli and srv, rows[:5]
    # the connection was open before the capture began and closed in it
    assert cli[-1]["closed"] == srv[-1]["closed"] == "1"
    # totals: absolute, the bytes of all 7 s
    assert int(cli[-1]["tx_bytes"]) == int(srv[-1]["rx_bytes"]) == res["sent"]
    tx = [int(x["tx_rate"]) for x in cli]
    rx = [int(x["rx_rate"]) for x in srv]
    assert max(tx) <= 1.5 * rate, tx
    assert max(rx) <= 1.5 * rate, rx
    # and the rates are the sender's while it sends (not zero everywhere)
    assert sum(1 for v in tx if 0.7 * rate <= v <= 1.3 * rate) >= 2, tx
    assert sum(1 for v in rx if 0.7 * rate <= v <= 1.3 * rate) >= 2, rx


def test_a_later_file_of_a_rotation_is_no_rate_spike_at_the_close(tmp_path):
    """The same for a rotated set (-G 1): a later file starts mid-connection, its close carries
    the counters since the connection was born. That file replayed alone: no interval above
    1.5x the sender's rate, the total all the sender sent; the set replayed together: the same
    total, no spike either."""
    rate, port = 1000000, free_port()
    path = str(tmp_path / "rot.tt")
    rec = Recorder(path, "-P", str(port), "--coalesce", "200ms", "-G", "1")
    snd = subprocess.Popen([PY, "-c", PACED_PY, str(port), str(rate), "3.5"],
                           stdout=subprocess.PIPE, text=True)
    try:
        res = json.loads(snd.communicate(timeout=30)[0])
        rc, err = rec.stop(settle=1.2)
    finally:
        if snd.poll() is None:
            snd.kill()
            snd.wait()
    assert rc == 0, err
    assert res["sent"] == res["received"] == 3.5 * rate
    files = [path] + ["%s.%d" % (path, k) for k in range(1, 100)
                      if os.path.exists("%s.%d" % (path, k))]

    def has_close(f):
        evs = read_cap(f).events
        ids = {e["conn_id"] for e in evs if e["kind"] == OPEN and e["lport"] == res["lport"]
               and e["rport"] == port}
        return any(e["kind"] == CLOSE and e["conn_id"] in ids for e in evs)
    (last,) = [k for k, f in enumerate(files) if has_close(f)]
    assert last >= 2, files  # the connection began two files or more before
    for what, args in (("the file with the close alone", [files[last]]), ("the set", files)):
        out = str(tmp_path / ("rot%d.csv" % len(args)))
        r = run([REPLAY, "--batch", "-i", "1", "--csv", out] + args)
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader(open(out)))
        cli = [x for x in rows if int(x["lport"]) == res["lport"] and int(x["rport"]) == port]
        tx = [int(x["tx_rate"]) for x in cli]
        assert cli[-1]["closed"] == "1" and int(cli[-1]["tx_bytes"]) == res["sent"], \
            (what, cli[-1])
        assert max(tx) <= 1.5 * rate, (what, tx)
