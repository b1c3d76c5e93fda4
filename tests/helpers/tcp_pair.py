#!/usr/bin/python3
"""One TCP connection over loopback inside this process, for tests/test_record.py.

Listens on 127.0.0.1:PORT, connects, accepts, sends NBYTES client -> server,
closes. Prints the client's local port: with the listening port, the
connection's two ends as the recorder must report them.
Usage: tcp_pair.py PORT NBYTES
"""
import socket
import sys


def main():
    port, nbytes = int(sys.argv[1]), int(sys.argv[2])
    srv = socket.socket()
    srv.bind(("127.0.0.1", port))
    srv.listen()
    cli = socket.create_connection(("127.0.0.1", port))
    acc, _ = srv.accept()
    cli.sendall(b"c" * nbytes)
    got = 0
    while got < nbytes:
        got += len(acc.recv(65536))
    print(cli.getsockname()[1])
    for s in (cli, acc, srv):
        s.close()


if __name__ == "__main__":
    main()
