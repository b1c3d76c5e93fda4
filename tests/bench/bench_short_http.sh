#!/usr/bin/env bash
# Capture size of short connections, before and after a change (issue 20's budget: the default
# mode's capture of 500 short HTTP connections grows by at most 25%). RUNS times: python3 -m
# http.server on loopback serves a 20 kB file to 500 curl fetches, each its own connection,
# while OLD and NEW tcptop-record (default mode, -P PORT) record the same traffic at once, so
# the two captures differ only by what the recorders write. Prints "OLD_BYTES NEW_BYTES RATIO".
#   tests/bench/bench_short_http.sh OLD_RECORD NEW_RECORD [RUNS]      (root, curl, python3)
# Without arguments (make bench), one run of this tree's recorder alone: issue 26's goal 3, the
# capture's bytes per connection end (its ends counted in the capture), target <= 20.
set -u
PORT=${PORT:-47123}
dir=$(mktemp -d /tmp/bench_short_http.XXXXXX)
trap 'rm -rf "$dir"' EXIT
head -c 20000 /dev/urandom >"$dir/f20k"
if [ $# = 0 ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	BUILD=${TT_BUILD:-$here/../../build}
	(cd "$dir" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
	srv=$!
	sleep 1
	"$BUILD/tcptop-record" -o "$dir/one.tt" -f -q -P "$PORT" 2>/dev/null &
	rec=$!
	sleep 3
	for _ in $(seq 500); do curl -s -o /dev/null "http://127.0.0.1:$PORT/f20k"; done
	sleep 1.5
	kill -INT "$rec"
	wait "$rec"
	kill "$srv"
	wait "$srv" 2>/dev/null
	ends=$("$BUILD/tcptop-query" "$dir/one.tt" "SELECT count(*) FROM events WHERE kind = 'open'" |
		tail -n 1)
	size=$(stat -c %s "$dir/one.tt")
	printf 'FIGURE\tshort connections: capture bytes per connection end (%s ends, 500 HTTP fetches of 20 kB)\t%s\t<=20\n' \
		"$ends" "$(awk "BEGIN { printf \"%.1f\", $size / $ends }")"
	exit 0
fi
OLD=$1 NEW=$2 RUNS=${3:-3}
for i in $(seq "$RUNS"); do
	(cd "$dir" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
	srv=$!
	sleep 1
	"$OLD" -o "$dir/old.tt" -f -q -P "$PORT" 2>/dev/null &
	r1=$!
	"$NEW" -o "$dir/new.tt" -f -q -P "$PORT" 2>/dev/null &
	r2=$!
	sleep 3
	for _ in $(seq 500); do curl -s -o /dev/null "http://127.0.0.1:$PORT/f20k"; done
	sleep 1.5
	kill -INT "$r1" "$r2"
	wait "$r1" "$r2"
	kill "$srv"
	wait "$srv" 2>/dev/null
	o=$(stat -c %s "$dir/old.tt") n=$(stat -c %s "$dir/new.tt")
	echo "$o $n $(awk "BEGIN { printf \"%.3f\", $n / $o }")"
done
