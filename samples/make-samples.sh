#!/bin/bash
# Regenerates the sample captures in samples/ (see samples/README.md for what each shows).
#
#   bash samples/make-samples.sh [BUILD_DIR]     as root, on a machine where tcptop-record runs
#
# BUILD_DIR holds tcptop-record and tcptop-query (default: build). SAMPLES_OUT=DIR writes the
# captures there instead of samples/. Traffic goes only to loopback and to two network
# namespaces this script creates (and deletes on exit, however it exits). Each scenario records
# with a port filter on ports below the ephemeral range, so other traffic on the machine stays
# out of the samples. Needs: iperf3, curl, ip, tc, ss, /usr/bin/python3; for the packet loss
# sch_netem, else nft (Debian's nftables), else tbf.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
out=${SAMPLES_OUT:-$here}
rec=$build/tcptop-record
query=$build/tcptop-query
py=/usr/bin/python3
tag=ttsmp$$
nsa=${tag}a
nsb=${tag}b

die() { echo "make-samples: $*" >&2; exit 1; }
# SAMPLES_ONLY="health ..." makes only those (the others are kept as recorded: a sample is
# rewritten only when what it should show changed)
want() { [ -z "${SAMPLES_ONLY:-}" ] || [[ " $SAMPLES_ONLY " == *" $1 "* ]]; }
[ "$(id -u)" = 0 ] || die "needs root (tcptop-record loads BPF programs)"
[ -x "$rec" ] || die "no $rec: build first (make OUTPUT=${build##*/})"
for c in iperf3 curl ip tc ss "$py"; do
	command -v "$c" >/dev/null || die "missing $c"
done
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
mkdir -p "$out"
work=$(mktemp -d /tmp/tt-samples.XXXXXX)

pids=()
recpid=
cleanup() {
	local p
	[ -n "$recpid" ] && kill -INT "$recpid" 2>/dev/null && wait "$recpid" 2>/dev/null
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bg CMD...: start a helper process, remembered for cleanup
bg() {
	"$@" >/dev/null 2>&1 &
	pids+=($!)
}

# wait_listen PROTO PORT [NETNS]: until a socket listens (tcp) or is bound (udp) there
wait_listen() {
	local flag=-Hltn ns=()
	[ "$1" = udp ] && flag=-Hlun
	[ -n "${3:-}" ] && ns=(ip netns exec "$3")
	for _ in $(seq 200); do
		[ -n "$("${ns[@]}" ss $flag "sport = :$2")" ] && return 0
		sleep 0.025
	done
	die "nothing listens on $1 port $2"
}

# start_rec NAME ARGS...: tcptop-record in the background, returns once the header is written
start_rec() {
	local name=$1
	shift
	cur=$work/$name.tt
	"$rec" -o "$cur" -f -q "$@" &
	recpid=$!
	for _ in $(seq 400); do
		[ -s "$cur" ] && return 0
		kill -0 "$recpid" 2>/dev/null || die "tcptop-record failed for $name"
		sleep 0.05
	done
	die "tcptop-record not ready for $name"
}

# stop_rec: let the last sampling interval reach the file, SIGINT, install the sample 0644
stop_rec() {
	sleep 1.3
	kill -INT "$recpid"
	wait "$recpid" || die "tcptop-record exited with $? for $cur"
	recpid=
	chmod 0644 "$cur"
	mv -f "$cur" "$out/"
	echo "  $(basename "$cur"): $(stat -c %s "$out/$(basename "$cur")") bytes"
}

# stop the helpers started since the last call
reap() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pids=()
}

# A small UDP request/response server (DNS-like: one datagram in, one answer out) and client.
cat >"$work/udp.py" <<'EOF'
import socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
if mode == "server":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        q, peer = s.recvfrom(512)
        s.sendto(q[:2] + b"\x81\x80" + q[4:] + b"\xc0\x0c\x00\x01\x00\x01" + bytes(70), peer)
else:
    n = int(sys.argv[4])
    for i in range(n):  # a new socket (source port) per query, like a stub resolver
        c = socket.socket(fam, socket.SOCK_DGRAM)
        c.settimeout(2)
        name = b"".join(bytes([len(p)]) + p for p in (b"host%d" % i, b"example", b"org"))
        c.sendto(i.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name +
                 b"\x00\x00\x01\x00\x01", (host, port))
        c.recvfrom(512)
        c.close()
        time.sleep(0.01)
EOF
mkdir -p "$work/www"
head -c 20000 /dev/zero | tr '\0' 'x' >"$work/www/page.html"

echo "make-samples: recording with $rec into $out"

# --- web: a web server and 120 short HTTP connections from curl
if want web; then
bg "$py" -m http.server 18080 --bind 127.0.0.1 --directory "$work/www"
wait_listen tcp 18080
start_rec web -P 18080
for i in $(seq 120); do
	curl -s -o /dev/null "http://127.0.0.1:18080/page.html?n=$i"
done
curl -s -o /dev/null "http://127.0.0.1:18080/missing.html"
stop_rec
reap
fi

# --- iperf3: one bulk transfer of 2 seconds over loopback
if want iperf3; then
bg iperf3 -s -1 -B 127.0.0.1 -p 15201
wait_listen tcp 15201
start_rec iperf3 -P 15201
iperf3 -c 127.0.0.1 -p 15201 -t 2 >/dev/null
stop_rec
reap
fi

# --- dns-udp: 60 DNS-like UDP queries, one source port each, and their answers
if want dns-udp; then
bg "$py" "$work/udp.py" server 127.0.0.1 15353
wait_listen udp 15353
start_rec dns-udp -P 15353
"$py" "$work/udp.py" client 127.0.0.1 15353 60
stop_rec
reap
fi

# --- resets: a web server answers for a while, then dies; its clients keep connecting and
# every attempt is refused with a reset
if want resets; then
bg "$py" -m http.server 18081 --bind 127.0.0.1 --directory "$work/www"
srv=${pids[-1]}
wait_listen tcp 18081
start_rec resets -P 18081
for i in $(seq 20); do
	curl -s -o /dev/null "http://127.0.0.1:18081/page.html?n=$i"
	sleep 0.05
done
kill "$srv"
wait "$srv" 2>/dev/null || true
sleep 0.5
for i in $(seq 150); do
	curl -s -o /dev/null "http://127.0.0.1:18081/page.html?retry=$i" || true
done
stop_rec
reap
fi

# Two namespaces joined by a veth pair, IPv4 and IPv6 (ULA) addresses on both ends.
ip netns add "$nsa"
ip netns add "$nsb"
ip link add "${tag}x" netns "$nsa" type veth peer name "${tag}y" netns "$nsb"
ip -n "$nsa" addr add 10.98.0.1/24 dev "${tag}x"
ip -n "$nsb" addr add 10.98.0.2/24 dev "${tag}y"
ip -n "$nsa" -6 addr add fd00:7474::1/64 dev "${tag}x" nodad
ip -n "$nsb" -6 addr add fd00:7474::2/64 dev "${tag}y" nodad
for ns in "$nsa" "$nsb"; do
	ip -n "$ns" link set lo up
done
ip -n "$nsa" link set "${tag}x" up
ip -n "$nsb" link set "${tag}y" up

# --- ipv6: HTTP between the namespaces over IPv6, and DNS-like UDP over ::1
if want ipv6; then
bg ip netns exec "$nsb" "$py" -m http.server 18086 --bind fd00:7474::2 --directory "$work/www"
bg "$py" "$work/udp.py" server ::1 15354
wait_listen tcp 18086 "$nsb"
wait_listen udp 15354
start_rec ipv6 -P 18086 -P 15354
for i in $(seq 10); do
	ip netns exec "$nsa" curl -s -o /dev/null "http://[fd00:7474::2]:18086/page.html?n=$i"
done
"$py" "$work/udp.py" client ::1 15354 10
stop_rec
reap
fi

# --- retransmits: iperf3 across the veth pair losing 20% of the packets one way (a to b):
# netem; on kernels without sch_netem the same random loss with nftables on b's way in; without
# both, a token bucket with a tiny queue (drops at a bottleneck rather than at random)
if want retransmits; then
if ip netns exec "$nsa" tc qdisc add dev "${tag}x" root netem loss 20% 2>/dev/null; then
	loss="netem loss 20%"
elif command -v nft >/dev/null && ip netns exec "$nsb" nft -f - <<EOF; then
table inet ttloss {
	chain in {
		type filter hook prerouting priority raw; policy accept;
		iifname "${tag}y" numgen random mod 100 < 20 drop
	}
}
EOF
	loss="nftables, 20% random drop"
else
	ip netns exec "$nsa" tc qdisc add dev "${tag}x" root tbf rate 10mbit burst 5kb limit 6kb
	loss="tbf, 10 Mbit/s with a 6 kB queue"
fi
echo "make-samples: retransmits: packet loss by $loss"
bg ip netns exec "$nsb" iperf3 -s -1 -p 15202
wait_listen tcp 15202 "$nsb"
start_rec retransmits -P 15202
ip netns exec "$nsa" iperf3 -c 10.98.0.2 -p 15202 -t 2 >/dev/null
stop_rec
reap
fi

# --- health: why connections were slow or failed (docs/GUIDE.md, "Why was it slow?"), between
# the namespaces: a closed port (refused), SYNs dropped (timeout), an ICMP unreachable, a bulk
# transfer losing every 40th large packet on b's way in (retransmits), a receiver that stops
# reading for 2 s (zero-window stalls on both ends), a listener with backlog 1 that never
# accepts under 10 connects (overflows)
if want health; then
ip netns exec "$nsa" tc qdisc del dev "${tag}x" root 2>/dev/null || true
ip netns exec "$nsb" nft delete table inet ttloss 2>/dev/null || true
ip netns exec "$nsa" sysctl -qw net.ipv4.tcp_syn_retries=1
ip netns exec "$nsb" nft -f - <<EOF
table inet tthealth {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport 15301 drop
		tcp dport 15302 reject with icmp type host-unreachable
		tcp dport 15303 meta length > 1000 numgen inc mod 40 == 0 drop
	}
}
EOF
cat >"$work/health.py" <<'EOF'
import socket, sys, threading, time
B = "10.98.0.2"
def serve(port, backlog, pause):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((B, port)); l.listen(backlog)
    if pause is None:  # never accepts
        time.sleep(3600)
    while True:
        s, _ = l.accept()
        time.sleep(pause)  # the process does not read: its window closes
        while s.recv(1 << 16):
            pass
        s.close()
def connect(port, timeout=10):
    c = socket.socket(); c.settimeout(timeout)
    try:
        c.connect((B, port)); return c
    except OSError as e:
        print("  port %d: %s" % (port, e.strerror or e), flush=True); c.close()
def send(port, n):
    c = connect(port)
    c.sendall(b"x" * n); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
if sys.argv[1] == "server":
    for port, backlog, pause in ((15303, 8, 0), (15304, 8, 2.0), (15305, 1, None)):
        threading.Thread(target=serve, args=(port, backlog, pause), daemon=True).start()
    time.sleep(3600)
work = [threading.Thread(target=connect, args=(p,)) for p in (15300, 15301, 15302)]
work += [threading.Thread(target=send, args=(15303, 8 << 20)),
         threading.Thread(target=send, args=(15304, 8 << 20))]
for t in work:
    t.start()
queued = []
for i in range(10):
    c = socket.socket(); c.setblocking(False); c.connect_ex((B, 15305)); queued.append(c)
    time.sleep(0.05)
for t in work:
    t.join()
for c in queued:
    c.close()
EOF
bg ip netns exec "$nsb" "$py" "$work/health.py" server
wait_listen tcp 15305 "$nsb"
start_rec health -P 15300 -P 15301 -P 15302 -P 15303 -P 15304 -P 15305
ip netns exec "$nsa" "$py" "$work/health.py" client
stop_rec
reap
fi

if [ -x "$query" ]; then
	echo "make-samples: summary"
	for f in web iperf3 dns-udp resets ipv6 retransmits health; do
		"$query" -F csv --no-header "$out/$f.tt" "SELECT '$f.tt', count(*) || ' connections',
		    coalesce(sum(tx_bytes), 0) || ' bytes sent', coalesce(sum(retransmits), 0) ||
		    ' retransmits', coalesce(sum(resets), 0) || ' resets' FROM connections" |
			sed 's/^/  /; s/,/, /g'
	done
fi
