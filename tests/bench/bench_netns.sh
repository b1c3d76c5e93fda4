#!/usr/bin/env bash
# What idle network namespaces cost the recorder: its CPU over 10 s of an idle machine with
# 50 extra namespaces (ip netns add, no traffic) against none, in this one run. The sampling
# pass enters only the namespaces that have an open connection, so the ratio should be ~1.
set -u
B=${TT_BUILD:-$(dirname "$0")/../../build}
[ "$(id -u)" = 0 ] || { echo "bench_netns: needs root" >&2; exit 0; }
T=$(mktemp -d)
trap 'for i in $(seq 1 50); do ip netns del ttbn$$-$i 2>/dev/null; done; rm -rf "$T"' EXIT
cpu() { # ticks the recorder used in 10 s
	"$B/tcptop-record" -q -f -o "$T/x.tt" &
	local p=$!
	sleep 1
	local t0 t1
	t0=$(awk '{print $14+$15}' /proc/$p/stat)
	sleep 10
	t1=$(awk '{print $14+$15}' /proc/$p/stat)
	kill -INT $p
	wait $p
	echo $((t1 - t0))
}
base=$(cpu)
for i in $(seq 1 50); do ip netns add ttbn$$-$i && ip -n ttbn$$-$i link set lo up; done
with=$(cpu)
printf 'FIGURE\trecord: idle recorder CPU, 50 idle netns / none (ticks %s / %s)\t%s\t<= 1.5\n' \
	"$with" "$base" "$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.2f", a / (b ? b : 1) }')"
