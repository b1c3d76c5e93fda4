#!/usr/bin/env bash
# The pcap source's speed and exactness on a capture made here. Prints
# "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh); progress goes to stderr. ~30 s, root.
#
# In a network namespace of its own, tcpdump -s 96 captures loopback while iperf3 sends with 4
# TCP streams for 3 s, then UDP datagrams of 100 bytes for 3 s, and a Python client makes 2000
# short connections. Then, over that pcap:
#   - tcptop-record --source pcap: packets per CPU second (user + system), best of 3, and its
#     CPU against tcpdump's own reading of the same file (tcpdump -r F -w /dev/null: libpcap
#     reading and writing every packet, the floor of any tool that reads it);
#   - the retransmits it found against the namespace's TcpRetransSegs (nstat): the same number
#     when the capture saw every packet (loopback: the retransmit's first copy is seen, and
#     packets the loopback delivered out of order are told apart by the time they took).
#
#   tests/bench/bench_pcap.sh
set -eu
BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
REC=$BUILD/tcptop-record
Q=$BUILD/tcptop-query
[ -x "$REC" ] || { echo "bench_pcap: $REC not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench_pcap: needs root (a namespace, tcpdump)" >&2; exit 1; }
for c in tcpdump iperf3 nstat bc python3; do
	command -v $c >/dev/null || { echo "bench_pcap: $c missing" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/bench_pcap.XXXXXX)
ns=ttbenchpcap$$
trap 'ip netns del $ns 2>/dev/null; rm -rf "$dir"' EXIT
chmod 755 "$dir"
ip netns add $ns
ip -n $ns link set lo up
inns() { ip netns exec $ns "$@"; }

ip netns exec $ns tcpdump -i lo -n -s 96 -B 65536 -w "$dir/cap.pcap" 2>"$dir/tcpdump.err" &
dump=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/tcpdump.err" && break; sleep 0.05; done
before=$(inns nstat -asz | awk '$1 == "TcpRetransSegs" {print $2}')
inns iperf3 -s -p 15290 -D -1
for _ in $(seq 100); do inns ss -Hltn "sport = :15290" | grep -q . && break; sleep 0.05; done
inns iperf3 -c 127.0.0.1 -p 15290 -t 3 -l 1400 -P 4 >/dev/null
# and many small packets: UDP datagrams of 100 bytes (TCP's are few and large, GSO on loopback)
inns iperf3 -s -p 15292 -D -1
for _ in $(seq 100); do inns ss -Hltn "sport = :15292" | grep -q . && break; sleep 0.05; done
inns iperf3 -c 127.0.0.1 -p 15292 -u -b 0 -l 100 -t 3 >/dev/null
inns python3 -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 15291)); s.listen(128)
def serve():
    while True:
        c, _ = s.accept(); c.recv(100); c.sendall(b"r" * 2000); c.close()
threading.Thread(target=serve, daemon=True).start()
for _ in range(2000):
    c = socket.create_connection(("127.0.0.1", 15291)); c.sendall(b"q" * 100)
    while c.recv(65536):
        pass
    c.close()
'
sleep 0.5
after=$(inns nstat -asz | awk '$1 == "TcpRetransSegs" {print $2}')
kill -INT $dump
wait $dump 2>/dev/null || true
grep -E "captured|dropped by kernel" "$dir/tcpdump.err" >&2 || true
pkts=$(tcpdump -r "$dir/cap.pcap" -n 2>/dev/null | wc -l)
echo "bench_pcap: $pkts packets, $(stat -c %s "$dir/cap.pcap") bytes" >&2

# cpu CMD...: CPU seconds (user + system) of CMD, stdout to /dev/null
cpu() {
	/usr/bin/time -f '%U + %S' -o "$dir/time" "$@" >/dev/null 2>"$dir/err" ||
		{ cat "$dir/err" >&2; exit 1; }
	bc -l <"$dir/time"
}
least() { printf '%s\n' "$@" | sort -g | head -1; }
im=() td=()
for k in 1 2 3; do
	rm -f "$dir/cap.tt"
	im+=("$(cpu "$REC" -q --source "pcap:$dir/cap.pcap" -o "$dir/cap.tt")")
	td+=("$(cpu tcpdump -r "$dir/cap.pcap" -w /dev/null)")
done
t_im=$(least "${im[@]}") t_td=$(least "${td[@]}")
echo "bench_pcap: CPU s, import: ${im[*]}  tcpdump -r -w /dev/null: ${td[*]}" >&2
found=$("$Q" -F csv --no-header "$dir/cap.tt" "SELECT sum(retransmits) FROM connections")
conns=$("$Q" -F csv --no-header "$dir/cap.tt" "SELECT count(*) FROM connections")
echo "bench_pcap: $conns connections" >&2
if [ "$(echo "$t_im > 0" | bc -l)" = 1 ]; then
	rate=$(echo "scale=2; $pkts / $t_im / 1000000" | bc -l)
else
	rate=-
fi
printf 'FIGURE\tpcap import: M packets per CPU second (%s packets, %s connections)\t%s\t\n' \
	"$pkts" "$conns" "$rate"
if [ "$(echo "$t_td > 0" | bc -l)" = 1 ]; then
	printf 'FIGURE\tpcap import: CPU against tcpdump -r -w /dev/null of the same file\t%s\t\n' \
		"$(echo "scale=2; $t_im / $t_td" | bc -l)"
fi
printf 'FIGURE\tpcap import: retransmits found / TcpRetransSegs (nstat)\t%s / %s\t=\n' \
	"$found" "$((after - before))"
