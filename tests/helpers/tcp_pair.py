#!/usr/bin/python3
"""One TCP connection over loopback inside this process, for tests/test_record.py.

Listens on 127.0.0.1:PORT, connects, accepts, sends NBYTES client -> server,
closes. Prints the client's local port: with the listening port, the
connection's two ends as the recorder must report them.
Usage: tcp_pair.py PORT NBYTES
"""
import sys

from traffic import tcp_pair  # (this folder is sys.path[0] when run as a program)


def main():
    port, nbytes = int(sys.argv[1]), int(sys.argv[2])
    srv, cli, acc = tcp_pair(port)
    cli.sendall(b"c" * nbytes)
    got = 0
    while got < nbytes:
        got += len(acc.recv(65536))
    print(cli.getsockname()[1])
    for s in (cli, acc, srv):
        s.close()


if __name__ == "__main__":
    main()
