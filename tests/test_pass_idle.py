"""The sampling pass over idle connections (issue 24).

A pass stores only its number in the tcp_live entry of an open connection that moved no segment
since the last pass (bpf/tcp.bpf.c, tcp_idle_since_last_pass): what it would have written is
nothing. These tests check that nothing is owed when it does: a connection idle for passes that
then sends one byte has that byte in the next pass, and what a pass could not write (the ring
buffer full: TT_TEST_PASS_NOSPACE=N makes passes 1 to N find it so) is written by the next one,
while the connection is open, not only by its close. Oracle: the bytes this process sends.
"""
import os
import socket
import subprocess
import time

from conftest import free_port, needs_bpf
from helpers.capture import read_capture
from helpers.recorder import Recorder

COALESCE_S = 0.3
TRAFFIC = 2

# The client sends C bytes and the server answers S, then each line on stdin sends that many
# bytes more from the client ("close" closes both ends).
PAIR_PY = r'''
import socket, sys
port, c_bytes, s_bytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen()
cli = socket.create_connection(("127.0.0.1", port))
acc, _ = srv.accept()
def move(src, dst, n):
    src.sendall(b"x" * n)
    got = 0
    while got < n:
        got += len(dst.recv(65536))
move(cli, acc, c_bytes)
move(acc, cli, s_bytes)
print(cli.getsockname()[1], flush=True)
for line in sys.stdin:
    if line.strip() == "close":
        break
    move(cli, acc, int(line))
    print("sent", flush=True)
cli.close()
acc.close()
srv.close()
print("closed", flush=True)
'''


class Pair:
    def __init__(self, port, c_bytes, s_bytes):
        self.p = subprocess.Popen(["/usr/bin/python3", "-c", PAIR_PY, str(port), str(c_bytes),
                                   str(s_bytes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        self.lport = int(self.p.stdout.readline())

    def say(self, line, want):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        assert self.p.stdout.readline().strip() == want

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def client_traffic(evs, lport, before_ns):
    """The client end's TRAFFIC events written before wall time before_ns: [(ts, tx, rx)]."""
    (cid,) = {e["conn_id"] for e in evs if e["kind"] == 1 and e["lport"] == lport}
    return [(e["ts"], e["tx_bytes"], e["rx_bytes"]) for e in evs
            if e["kind"] == TRAFFIC and e["conn_id"] == cid and e["ts"] < before_ns]


def record_pair(tmp_path, steps, env=None):
    """Record a Pair; steps(pair) runs while it is open. Returns (events, lport, close wall ns,
    what steps returned)."""
    port = free_port()
    cap = str(tmp_path / "cap.tt")
    rec = Recorder(cap, "--coalesce", "%dms" % (COALESCE_S * 1000), "-P", str(port), env=env)
    pair = Pair(port, 54321, 4321)
    try:
        res = steps(pair)
        t_close = time.time_ns()
        pair.say("close", "closed")
        rc, err = rec.stop(settle=2 * COALESCE_S)
    finally:
        pair.close()
    assert rc == 0, err
    _, evs = read_capture(cap)
    return evs, pair.lport, t_close, res


@needs_bpf
def test_one_byte_after_idle_passes_comes_with_the_next_pass(tmp_path):
    def steps(pair):
        time.sleep(8 * COALESCE_S)  # idle: every pass after the first passes it by
        t = time.time_ns()
        pair.say("1", "sent")
        time.sleep(4 * COALESCE_S)
        return t

    evs, lport, t_close, t_byte = record_pair(tmp_path, steps)
    before = client_traffic(evs, lport, t_byte)
    after = client_traffic(evs, lport, t_close)[len(before):]
    assert sum(tx for _, tx, _ in before) == 54321 and sum(rx for _, _, rx in before) == 4321
    # the byte, and nothing else, while the connection is open, in a pass within two intervals
    # of it. A pass may come between the segment and its ACK (the receiver delays it up to
    # 40 ms): it writes the segment with no byte (bytes count when acked), the next the byte.
    assert sum(tx for _, tx, _ in after) == 1 and sum(rx for _, _, rx in after) == 0, after
    assert len(after) <= 2 and after[-1][1] == 1, after
    assert after[-1][0] - t_byte <= 2 * COALESCE_S * 1e9 + 0.3e9, (after[-1][0] - t_byte) / 1e9


@needs_bpf
def test_what_a_full_ring_left_comes_with_a_later_pass(tmp_path):
    nospace = 4

    def steps(pair):
        time.sleep((nospace + 6) * COALESCE_S)

    env = dict(os.environ, TT_TEST_PASS_NOSPACE=str(nospace))
    evs, lport, t_close, _ = record_pair(tmp_path, steps, env)
    # the exchange at the start, which passes 1 to 4 could not write, came with a pass after
    # them while the connection was open (its close would have brought it too, with its time)
    got = client_traffic(evs, lport, t_close)
    assert sum(tx for _, tx, _ in got) == 54321 and sum(rx for _, _, rx in got) == 4321, got
