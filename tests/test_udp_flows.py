"""UDP flows of unconnected sockets: a server's remotes close after an idle time, and a flow
that finds the kernel's flow table full is counted as lost, never dropped in silence.

The oracle is the traffic itself: every datagram the test sends is either in a recorded flow
or counted in a LOST event, exactly."""
import os
import socket
import time

from conftest import free_port, needs_bpf
from helpers.capture import CLOSE, LOST, OPEN, TRAFFIC, read_capture
from helpers.recorder import SETTLE_S, Recorder

N_PEERS = 300
# small, so that the burst overflows it even on a slow (emulated) machine, where the flows of
# closed client sockets and idle remotes are cleared during the burst itself
FLOWS = 16


def burst(port, n):
    """n datagrams to port, each from a socket of its own, each received."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", port))
    srv.settimeout(5)
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.sendto(b"x" * 10, ("127.0.0.1", port))
        srv.recvfrom(100)
        c.close()
    return srv


def udp_flows(evs, port):
    """{conn_id: (open, rx/tx datagrams counted by TRAFFIC events)} of UDP flows on port."""
    opens = {e["conn_id"]: e for e in evs if e["kind"] == OPEN and e["proto"] == 17
             and port in (e["lport"], e["rport"])}
    pkts = {c: sum(e.get("tx_pkts", 0) + e.get("rx_pkts", 0) for e in evs
                   if e["conn_id"] == c and e["kind"] == TRAFFIC) for c in opens}
    return opens, pkts


@needs_bpf
def test_full_flow_table_counted_and_idle_remotes_closed(tmpdir_path):
    port, port2 = free_port(), free_port()
    path = os.path.join(tmpdir_path, "udp.tt")
    rec = Recorder(path, "-P", str(port), "-P", str(port2), "--udp", "--udp-flows", str(FLOWS),
                   "--udp-timeout", "1s", "--coalesce", "250ms")
    srv = burst(port, N_PEERS)
    last = time.time()
    time.sleep(2.5)  # the server's remotes go idle past --udp-timeout: closed, table emptied
    srv2 = burst(port2, 3)
    srv.close()
    srv2.close()
    rc, err = rec.stop(settle=SETTLE_S)
    assert rc == 0, err
    _, evs = read_capture(path)
    opens, pkts = udp_flows(evs, port)
    lost = sum(e["count"] for e in evs if e["kind"] == LOST)
    server = [c for c, o in opens.items() if o["lport"] == port]
    # the table held at most FLOWS at once: most of the burst did not fit...
    assert 0 < len(opens) < 2 * N_PEERS and lost > 0, (len(opens), lost)
    # ...and every datagram is in a flow or counted lost (one each way per peer)
    assert sum(pkts.values()) + lost == 2 * N_PEERS, (sum(pkts.values()), lost, len(opens))
    # the server's remotes were closed by the idle timeout, not at the end of the recording
    closes = {e["conn_id"]: e["ts"] for e in evs if e["kind"] == CLOSE}
    assert all(c in closes for c in server), "a remote never closed"
    end_ts = max(e["ts"] for e in evs)
    assert all(closes[c] < end_ts - 0.5e9 for c in server), "closed only at the end"
    # a later flow finds room again and is recorded in full
    opens2, pkts2 = udp_flows(evs, port2)
    assert len(opens2) == 6 and sum(pkts2.values()) == 6, (opens2, pkts2)
    assert time.time() - last > 2
