#!/usr/bin/python3
"""UDP traffic with known sizes for tests/test_record.py.

One connected sender and one unconnected sender (to two receivers), and the
receivers read everything with recvfrom. Prints what was sent per flow as
JSON on stdout: the oracle the recorder's flows are checked against.
Usage: udp_sender.py [4|6]
"""
import json
import os
import socket
import sys


def main():
    fam = socket.AF_INET6 if sys.argv[1:] == ["6"] else socket.AF_INET
    host = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
    r1 = socket.socket(fam, socket.SOCK_DGRAM)
    r2 = socket.socket(fam, socket.SOCK_DGRAM)
    r1.bind((host, 0))
    r2.bind((host, 0))
    p1, p2 = r1.getsockname()[1], r2.getsockname()[1]

    conn = socket.socket(fam, socket.SOCK_DGRAM)
    conn.connect((host, p1))
    conn_sizes = [100 + i for i in range(7)]
    for n in conn_sizes:
        conn.send(b"c" * n)

    unc = socket.socket(fam, socket.SOCK_DGRAM)
    unc.bind((host, 0))
    for _ in range(5):
        unc.sendto(b"u" * 200, (host, p1))
    for _ in range(3):
        unc.sendto(b"v" * 300, (host, p2))

    got = {p1: {}, p2: {}}
    for r, port, count in ((r1, p1, 12), (r2, p2, 3)):
        for _ in range(count):
            data, peer = r.recvfrom(2048)
            s = got[port].setdefault(peer[1], [0, 0])
            s[0] += len(data)
            s[1] += 1

    cport, uport = conn.getsockname()[1], unc.getsockname()[1]
    flows = [
        # (local port, remote port, tx bytes, tx pkts, rx bytes, rx pkts)
        [cport, p1, sum(conn_sizes), len(conn_sizes), 0, 0],
        [uport, p1, 1000, 5, 0, 0],
        [uport, p2, 900, 3, 0, 0],
        [p1, cport, 0, 0] + got[p1][cport],
        [p1, uport, 0, 0] + got[p1][uport],
        [p2, uport, 0, 0] + got[p2][uport],
    ]
    for s in (conn, unc, r1, r2):
        s.close()
    json.dump({"pid": os.getpid(), "flows": flows}, sys.stdout)


if __name__ == "__main__":
    main()
