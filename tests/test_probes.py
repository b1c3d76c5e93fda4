"""Attach points chosen at run time: UDP's counting routes and the per-call hooks' fallback.

The default mode counts UDP per datagram at the cgroup skb hooks (udp-counts), so that nothing
runs on every send and receive of the machine. The per-call hooks are for --raw, and count UDP
where the packet route is missing: the sock:sock_{send,recv}_length tracepoints where the kernel
has them (Linux 6.3), else fexit programs on inet{,6}_{send,recv}msg. Leaving programs out with
--no-probe makes the recorder take each fallback for real: it must say what is missing, still
record TCP in full, count UDP the same where a route remains, and refuse --raw without per-call
hooks. The oracle is the traffic below: the bytes the test itself sent and received.
"""
import json
import os
import socket
import subprocess
import threading
import time

from conftest import free_port, needs_bpf, needs_cmd, run, tool
from helpers.capture import CLOSE, OPEN, OUTBOUND, PROC, read_capture
from helpers.recorder import record
from helpers.kernel import has_send_length

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


PKT_PROBES = {"cgroup_skb:egress", "cgroup_skb:ingress", "cgroup:sock_create"}
LEAVE_OUT_PKT = ["--no-probe", "cgroup_skb:egress"]


def per_call_probes(probes):
    return [p for p in probes if p.startswith("tp_btf:sock_") or p.startswith("fexit:")]


@needs_bpf
def test_default_counts_udp_per_datagram(tmpdir_path):
    """No program on every send and recv: UDP from the cgroup skb hooks, exact."""
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port))
    probes = hdr["probes"].split()
    assert PKT_PROBES <= set(probes), probes
    assert per_call_probes(probes) == [], probes
    assert warnings(err) == [], err
    assert tcp_client_close(evs, port) == (TCP_OUT, TCP_BACK)
    ids, tx, pkts = udp_tx(evs, port)
    assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)


@needs_bpf
def test_raw_takes_the_tracepoints(tmpdir_path):
    """--raw: the tracepoints where the kernel has them; before 6.3 (Debian's 6.1), fexit."""
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port), "--raw")
    probes = hdr["probes"].split()
    if has_send_length():
        assert "tp_btf:sock_send_length" in probes and "tp_btf:sock_recv_length" in probes, probes
        assert not [p for p in probes if p.startswith("fexit:")], probes
    else:
        assert {"fexit:inet_sendmsg", "fexit:inet6_sendmsg", "fexit:inet_recvmsg",
                "fexit:inet6_recvmsg"} <= set(probes), probes
    assert not PKT_PROBES & set(probes), probes
    assert warnings(err) == [], err
    ids, tx, pkts = udp_tx(evs, port)
    assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)


@needs_bpf
def test_without_the_packet_route_per_call_hooks_count_udp_and_it_is_said(tmpdir_path):
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port),
                              *LEAVE_OUT_PKT)
    probes = hdr["probes"].split()
    assert not PKT_PROBES & set(probes), probes
    assert per_call_probes(probes), probes
    w = warnings(err)
    assert len(w) == 1 and w[0].startswith(
        "tcptop-record: warning: missing udp-counts (cgroup_skb:egress left out (--no-probe)): "
        "UDP is counted by the per-call hooks instead"), err
    assert hdr["missing"].startswith("udp-counts (cgroup_skb:egress left out"), hdr
    assert tcp_client_close(evs, port) == (TCP_OUT, TCP_BACK)
    ids, tx, pkts = udp_tx(evs, port)
    assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)


@needs_bpf
def test_without_any_udp_route_falls_back_and_says_so(tmpdir_path):
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: exchange(port), "-P", str(port),
                              *(LEAVE_OUT_PKT + LEAVE_OUT))
    probes = hdr["probes"].split()
    assert not [p for p in probes if p.startswith("tp_btf:sock_")], probes
    # TCP counts come from the sockets themselves: exact either way
    assert tcp_client_close(evs, port) == (TCP_OUT, TCP_BACK)
    ids, tx, pkts = udp_tx(evs, port)
    w = warnings(err)
    assert [x for x in w if x.startswith("tcptop-record: warning: missing udp-counts (")], err
    if "fexit:inet_sendmsg" in probes:
        # a kernel that lets fexit attach: the fallback counts what the tracepoints would
        assert "fexit:inet_recvmsg" in probes, probes
        assert len(w) == 1, err
        assert len(ids) == 1 and (tx, pkts) == (UDP_N * UDP_LEN, UDP_N)
    else:
        assert not [p for p in probes if p.startswith("fexit:")], probes
        assert len(w) == 2 and w[0].startswith("tcptop-record: warning: missing send-recv ("
                                               "tp_btf:sock_send_length left out"), err
        assert "UDP traffic is not recorded" in w[0], w
        assert hdr["missing"].startswith("send-recv (tp_btf:sock_send_length left out"), hdr
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


CAPS = ["send-recv", "udp-counts", "udp-peers", "owner-sweep", "accept-owner", "close-recovery", "udp-close",
        "retransmits", "resets", "processes", "namespaces", "listeners", "drop-reasons",
        "socket-errors"]


def check(*args):
    r = run([tool("tcptop-record"), "--check"] + list(args))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["kernel", os.uname().release], lines
    got = {}
    for x in lines[1:]:
        name, rest = x.split(None, 1)
        state = "not needed" if rest.startswith("not needed") else rest.split()[0]
        assert state in ("ok", "not needed", "MISSING"), x
        # every line says what provides it, or why it is missing
        assert len(rest[len(state):].strip()) > 3, x
        got[name] = (state, rest[len(state):].strip())
    assert list(got) == CAPS, lines
    return got


def kernel_caps():
    """{capability: its attach points} where this kernel has them, else {capability: None},
    found without the recorder: tracing hooks in the kernel's BTF (libbpf resolves tp_btf:X
    through btf_trace_X and iter:X through bpf_iter_X), program types from `bpftool feature
    probe`, syscall tracepoints in tracefs, cgroup hooks needing a cgroup2 mount."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        btf = f.read()
    r = run(["bpftool", "-j", "feature", "probe", "kernel"])
    assert r.returncode == 0, r.stderr
    types = json.loads(r.stdout)["program_types"]
    with open("/proc/mounts") as f:
        cgroup2 = any(line.split()[2] == "cgroup2" for line in f)

    def when(cond, points):
        return points if cond else None

    def tp_btf(*names):
        return when(all(b"btf_trace_%s\0" % n.encode() in btf for n in names),
                    ["tp_btf:" + n for n in names])

    def it(name):
        return when(b"bpf_iter_%s\0" % name.encode() in btf, ["iter:" + name])

    def syscall_tp(*names):
        # tracefs where libbpf looks for it
        ev = [d for d in ("/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events")
              if os.path.isdir(d)]
        return when(types["have_tracepoint_prog_type"] and ev and all(
            os.path.isdir("%s/syscalls/%s" % (ev[0], n)) for n in names),
            ["tracepoint:syscalls/" + n for n in names])

    # without the tracepoints (Linux 6.3), fexit on inet{,6}_{send,recv}msg: allowed by the
    # kernels that lack them here (Debian's 6.1), as test_raw_takes_the_tracepoints says
    fexit = ["fexit:" + f for f in ("inet_sendmsg", "inet6_sendmsg", "inet_recvmsg",
                                    "inet6_recvmsg")]
    return {
        "send-recv": tp_btf("sock_send_length", "sock_recv_length") or when(
            all(b"%s\0" % f[6:].encode() in btf for f in fexit), fexit),
        "udp-counts": when(cgroup2 and types["have_cgroup_skb_prog_type"] and
                           types["have_cgroup_sock_prog_type"],
                           ["cgroup_skb:egress", "cgroup_skb:ingress", "cgroup:sock_create"]),
        "udp-peers": when(cgroup2 and types["have_cgroup_sock_addr_prog_type"],
                          ["cgroup:sendmsg4", "cgroup:sendmsg6", "cgroup:recvmsg4",
                           "cgroup:recvmsg6"]),
        "owner-sweep": it("task_file"),
        "accept-owner": syscall_tp("sys_exit_accept4", "sys_exit_accept"),
        "close-recovery": tp_btf("tcp_destroy_sock"),
        "udp-close": it("udp"),
        "retransmits": tp_btf("tcp_retransmit_skb"),
        "resets": tp_btf("tcp_send_reset", "tcp_receive_reset"),
        "processes": tp_btf("sched_process_exec", "sched_process_exit"),
        # the errors reported, and those an application took with SO_ERROR
        "socket-errors": when(tp_btf("inet_sk_error_report") and cgroup2 and
                              types["have_cgroup_sockopt_prog_type"],
                              ["tp_btf:inet_sk_error_report", "cgroup:getsockopt"]),
    }


@needs_bpf
@needs_cmd("bpftool")
def test_check_lists_every_capability():
    got = check()
    # each capability ok exactly where this kernel has its hooks, with those attach points (as
    # the capture header names them), else missing with the reason
    want = kernel_caps()
    for name, points in want.items():
        state, why = got[name]
        if points:
            assert (state, sorted(why.split())) == ("ok", sorted(points)), (name, got[name])
        else:
            assert state == "MISSING", (name, got[name])
    # root enters every namespace
    assert got["namespaces"] == ("ok", "each namespace entered to sample it"), got
    left = check("--no-probe", "iter:task_file")["owner-sweep"]
    assert left[0] == "MISSING" and left[1].startswith("iter:task_file left out (--no-probe):"), left
    r = run([tool("tcptop-record"), "--check", "-o", "x.tt"])
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr


def owner_times(evs, port):
    """(open ts, first ts the accepted side has an owner, its FIN_WAIT1 ts) for port."""
    op = [e for e in evs if e["kind"] == OPEN and e["lport"] == port and e["direction"] == 2]
    assert len(op) == 1, op
    cid = op[0]["conn_id"]
    named = [e["ts"] for e in evs if e["conn_id"] == cid and e["kind"] == PROC and e["pid"]]
    if op[0]["pid"]:
        named.append(op[0]["ts"])
    fin = [e["ts"] for e in evs if e["conn_id"] == cid and e["kind"] == 3
           and e["new_state"] == 4]
    assert len(fin) == 1, [e for e in evs if e["conn_id"] == cid]
    return op[0]["ts"], min(named) if named else None, fin[0]


def accept_and_hold(port, hold=2.0):
    """An accepted connection held open, then closed by its owner (the server) first."""
    srv = socket.create_server(("127.0.0.1", port))
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = srv.accept()
    time.sleep(hold)
    a.close()
    time.sleep(0.3)
    c.close()
    srv.close()


@needs_bpf
def test_owner_of_accepted_within_a_sampling_interval(tmpdir_path):
    port = free_port()
    _, hdr, evs, err = record(tmpdir_path, lambda: accept_and_hold(port), "-P", str(port),
                              "--coalesce", "300ms")
    assert warnings(err) == [] and hdr["missing"] == "", (err, hdr)
    opened, named, fin = owner_times(evs, port)
    assert named is not None and named - opened < 0.8e9 and named < fin, (opened, named, fin)


@needs_bpf
def test_without_the_sweep_the_owner_waits_for_its_close_and_it_is_said(tmpdir_path):
    port = free_port()
    path = os.path.join(tmpdir_path, "cap.tt")
    _, hdr, evs, err = record(tmpdir_path, lambda: accept_and_hold(port), "-P", str(port),
                              "--coalesce", "300ms", "--no-probe", "iter:task_file")
    w = warnings(err)
    assert len(w) == 1 and w[0].startswith(
        "tcptop-record: warning: missing owner-sweep (iter:task_file left out (--no-probe)): "
        "owners of accepted"), err
    opened, named, fin = owner_times(evs, port)
    # the stated degradation: unknown while open, named by its owner's own close (in the same
    # program run that records the FIN_WAIT1)
    assert named is not None and named > opened + 1.5e9 and abs(named - fin) < 1e7, \
        (opened, named, fin)
    q = run([tool("tcptop-query"), path, "SELECT missing FROM capture"])
    assert q.returncode == 0 and "owner-sweep (iter:task_file left out" in q.stdout, q
    # replay says it in its header line, as the live view does
    name = "tt-miss-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "30",
                    "%s %s" % (tool("tcptop-replay"), path)], check=True)
    try:
        screen = ""
        for _ in range(50):
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            if "recorded without: owner-sweep" in screen:
                break
            time.sleep(0.1)
        assert "recorded without: owner-sweep" in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


@needs_bpf
def test_drop_privileges_refused_where_bpf_needs_root_after_it(tmpdir_path):
    """Kernels before 5.19 with unprivileged_bpf_disabled check privileges at every map read
    and iterator: after -Z nothing would be sampled. The recorder finds out right after the
    drop, by a real map read, and refuses in one line. TT_TEST_UNPRIV_BPF makes that read go
    through an fd got by the map's id, which needs CAP_SYS_ADMIN on every kernel: it fails as
    theirs does once root is really gone, and only then."""
    path = os.path.join(tmpdir_path, "z.tt")
    env = dict(os.environ, TT_TEST_UNPRIV_BPF="1")
    r = run([tool("tcptop-record"), "-o", path, "-Z", "nobody", "-d", "1"], env=env)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "refuses BPF map reads once root is dropped" in r.stderr and "without -Z" in r.stderr
    assert not os.path.exists(path), "a file was left behind"
    # the same check as root (-Z root keeps every capability) reads the map: the refusal came
    # from the privileges the drop took, not from the variable
    r = run([tool("tcptop-record"), "-o", path, "-Z", "root", "-d", "1", "-q"], env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert read_capture(path)[0]["mode"] == "coalesce"


@needs_bpf
def test_drop_privileges_says_other_namespaces_are_lost(tmpdir_path):
    path = os.path.join(tmpdir_path, "z.tt")
    os.chmod(tmpdir_path, 0o777)
    r = run([tool("tcptop-record"), "-o", path, "-Z", "nobody", "-d", "1", "-q"])
    assert r.returncode == 0, r.stderr
    w = warnings(r.stderr)
    assert len(w) == 1 and w[0].startswith("tcptop-record: warning: missing namespaces "
                                           "(cannot enter other network namespaces"), r.stderr
    hdr, _ = read_capture(path)
    assert hdr["missing"].startswith("namespaces ("), hdr


@needs_bpf
def test_live_view_header_names_what_is_missing():
    name = "tt-caps-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "30",
                    "%s --no-probe iter:task_file" % tool("tcptop")], check=True)
    try:
        screen = ""
        for _ in range(100):
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                    capture_output=True, text=True).stdout
            if "LIVE" in screen and "missing on this kernel: owner-sweep" in screen:
                break
            time.sleep(0.1)
        assert "missing on this kernel: owner-sweep (tcptop-record --check tells why)" \
            in screen, screen
        subprocess.run(["tmux", "send-keys", "-t", name, "q"])
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    r = run([tool("tcptop"), "--no-probe", "nonesuch", "-b", "-n", "1"])
    assert r.returncode == 2 and "unknown probe 'nonesuch'" in r.stderr, r
