"""Traffic with an oracle: a generator that logs every connection it made, and waiting for a
server to listen. Needs nothing from conftest (conftest's traffic fixture imports it)."""
import socket
import subprocess
import threading
import time

PY = "/usr/bin/python3"
IPERF_COOKIE = 37  # iperf3 writes a 37-byte cookie on each data stream, not in its counts

# One process: a server on PORT reading everything, and a client making a connection every
# INTERVAL s that sends a random number of bytes, half-closes, and waits for the server's
# close. One line per finished connection: t_start t_end client_port bytes (wall clock s).
# t_end is taken after the client saw the server's FIN, so both ends' closes happened.
GEN_PY = r'''
import random, socket, sys, threading, time
port, interval, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
rng = random.Random(seed)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(512)
def handle(a):
    while a.recv(1 << 16):
        pass
    a.close()
def serve():
    while True:
        a, _ = srv.accept()
        threading.Thread(target=handle, args=(a,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
print("ready", flush=True)
while True:
    t0 = time.time()
    n = rng.choice([1, 100, 1000, 20000, 150000, rng.randrange(1, 300000)])
    c = socket.create_connection((host, port))
    c.sendall(b"g" * n)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    lport = c.getsockname()[1]
    c.close()
    print("%.6f %.6f %d %d" % (t0, time.time(), lport, n), flush=True)
    time.sleep(interval)
'''


class Traffic:
    """The generator above in the background; .done is its log [(t0, t1, lport, n)].
    Tests get it through conftest's traffic fixture, which stops it."""

    def __init__(self, port, interval=0.01, seed=1, host="127.0.0.1"):
        self.port = port
        self.done = []
        self.p = subprocess.Popen([PY, "-c", GEN_PY, str(port), str(interval), str(seed), host],
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "ready"
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            t0, t1, lport, n = line.split()
            self.done.append((float(t0), float(t1), int(lport), int(n)))

    def between(self, lo, hi):
        """Connections begun at or after lo and finished at or before hi."""
        return [d for d in list(self.done) if d[0] >= lo and d[1] <= hi]

    def stop(self):
        self.p.kill()
        self.p.wait()
        self.t.join(timeout=5)


def wait_listen(port, netns=None):
    """Until something listens on TCP port (a test connection would be iperf3's one client)."""
    cmd = ["ss", "-Hltn", "sport = :%d" % port]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    for _ in range(200):
        if subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout.strip():
            return
        time.sleep(0.025)
    raise AssertionError("nobody listens on %d" % port)


def tcp_pair(port, host="127.0.0.1"):
    """One TCP connection over loopback inside this process: (listener on host:port, client,
    the accepted server end). The caller closes all three."""
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.bind((host, port))
    srv.listen()
    cli = socket.create_connection((host, port))
    acc, _ = srv.accept()
    return srv, cli, acc


def recv_all(sock):
    """Read sock until its peer closes; the bytes it received."""
    n = 0
    while True:
        d = sock.recv(1 << 16)
        if not d:
            return n
        n += len(d)


def call_flood(port, seconds, quiet_s=0.5):
    """One connection over loopback: writes of random sizes for seconds, each send and each recv
    call counted, with quiet_s of silence after the connection is made and before it closes
    (a recorder's ring buffer read empty: only calls meet a full one; 0.1 s was too short on a
    loaded host, where an open met the full ring). Returns (send calls, recv
    calls, bytes sent, client port); the receiver got every byte."""
    import random
    srv, cli, acc = tcp_pair(port)
    got = []
    # a call each first: the accepted end's owner is announced before the flood
    cli.send(b"h")
    acc.recv(1)

    def drain():
        calls, n = 1, 1
        while True:
            d = acc.recv(1 << 16)
            if not d:
                break
            calls, n = calls + 1, n + len(d)
        got.append((calls, n))
    t = threading.Thread(target=drain)
    time.sleep(quiet_s)
    t.start()
    rng, buf, sends, sent, t0 = random.Random(3), b"z" * 2000, 1, 1, time.time()
    while time.time() - t0 < seconds:
        for _ in range(200):
            sent += cli.send(buf[:rng.randrange(1, 2000)])
            sends += 1
    time.sleep(quiet_s)
    lport = cli.getsockname()[1]
    cli.close()
    t.join()
    acc.close()
    srv.close()
    assert got[0][1] == sent
    return sends, got[0][0], sent, lport
