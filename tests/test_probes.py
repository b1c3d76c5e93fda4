"""Attach points chosen at run time: the per-call send/recv hooks and their fallback.

The per-call hooks (UDP bytes, --raw) are the sock:sock_{send,recv}_length tracepoints where
the kernel has them (Linux 6.3), else fexit programs on inet{,6}_{send,recv}msg. Leaving the
tracepoints out with --no-probe makes the recorder take the fallback path for real: on a kernel
that refuses fexit (as these machines do) it must say what is missing, still record TCP in full,
and refuse --raw; where fexit works, the fallback must count the same bytes. The oracle is the
traffic below: the bytes the test itself sent and received.
"""
import os
import socket
import threading

from conftest import free_port, needs_bpf, run, tool
from helpers.capture import CLOSE, OPEN, OUTBOUND, read_capture
from helpers.recorder import record

TCP_OUT, TCP_BACK = 12345, 777
UDP_N, UDP_LEN = 5, 100
LEAVE_OUT = ["--no-probe", "tp_btf:sock_send_length", "--no-probe", "tp_btf:sock_recv_length"]


def exchange(port):
    """One TCP connection (TCP_OUT bytes out, TCP_BACK back) and UDP_N datagrams, on port."""
    srv = socket.create_server(("127.0.0.1", port))
    usrv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    usrv.bind(("127.0.0.1", port))

    def serve():
        a, _ = srv.accept()
        got = 0
        while got < TCP_OUT:
            got += len(a.recv(65536))
        a.sendall(b"b" * TCP_BACK)
        a.recv(1)  # the client's close
        a.close()

    t = threading.Thread(target=serve)
    t.start()
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"a" * TCP_OUT)
    got = 0
    while got < TCP_BACK:
        got += len(c.recv(65536))
    c.close()
    t.join(timeout=10)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect(("127.0.0.1", port))
    for _ in range(UDP_N):
        u.send(b"u" * UDP_LEN)
        usrv.recv(65536)
    u.close()
    usrv.close()
    srv.close()


def udp_tx(events, port):
    """Bytes and datagrams the capture has for the UDP sender to port."""
    ids = {e["conn_id"] for e in events
           if e["kind"] == OPEN and e["proto"] == 17 and e["rport"] == port
           and e["direction"] == OUTBOUND}
    tx = sum(e.get("tx_bytes", 0) for e in events if e["conn_id"] in ids and e["kind"] != CLOSE)
    pkts = sum(e.get("tx_pkts", 0) for e in events if e["conn_id"] in ids and e["kind"] != CLOSE)
    return ids, tx, pkts


def tcp_client_close(events, port):
    opens = {e["conn_id"] for e in events
             if e["kind"] == OPEN and e["proto"] == 6 and e["rport"] == port}
    closes = [e for e in events if e["kind"] == CLOSE and e["conn_id"] in opens]
    assert len(closes) == 1, closes
    return closes[0]["tx_bytes"], closes[0]["rx_bytes"]


def warnings(stderr):
    return [x for x in stderr.splitlines() if "warning" in x]


@needs_bpf
def test_default_takes_the_tracepoints(tmpdir_path):
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port))
    probes = hdr["probes"].split()
    assert "tp_btf:sock_send_length" in probes and "tp_btf:sock_recv_length" in probes, probes
    assert not [p for p in probes if p.startswith("fexit:")], probes
    assert warnings(err) == [], err
    assert tcp_client_close(evs, port) == (TCP_OUT, TCP_BACK)
    ids, tx, pkts = udp_tx(evs, port)
    assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)


@needs_bpf
def test_without_the_tracepoints_falls_back_and_says_so(tmpdir_path):
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port), *LEAVE_OUT)
    probes = hdr["probes"].split()
    assert not [p for p in probes if p.startswith("tp_btf:sock_")], probes
    # TCP counts come from the sockets themselves: exact either way
    assert tcp_client_close(evs, port) == (TCP_OUT, TCP_BACK)
    ids, tx, pkts = udp_tx(evs, port)
    if "fexit:inet_sendmsg" in probes:
        # a kernel that lets fexit attach: the fallback counts what the tracepoints would
        assert "fexit:inet_recvmsg" in probes, probes
        assert warnings(err) == [], err
        assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)
    else:
        assert not [p for p in probes if p.startswith("fexit:")], probes
        w = warnings(err)
        assert len(w) == 1 and w[0].startswith("tcptop-record: warning: no per-call send/recv "
                                               "hook"), err
        assert "UDP traffic is not recorded" in w[0], w
        assert not ids, "no hook, yet UDP traffic was recorded"


@needs_bpf
def test_raw_needs_per_call_hooks(tmpdir_path):
    path = os.path.join(tmpdir_path, "raw.tt")
    r = run([tool("tcptop-record"), "--raw", "-d", "1", "-o", path] + LEAVE_OUT)
    if r.returncode == 0:
        hdr, _ = read_capture(path)
        assert "fexit:inet_sendmsg" in hdr["probes"].split(), hdr["probes"]
        return
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, (r.returncode, r.stderr)
    assert lines[0].startswith("tcptop-record: --raw needs per-call send/recv hooks"), lines
    assert not os.path.exists(path), "a file was left behind"
