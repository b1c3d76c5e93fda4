#!/usr/bin/env bash
# tcptop-query speed on a synthetic capture of N events (default 10M, every event kind):
#   count(*) over events, a per-connection GROUP BY over events, and the connections table,
# beside the route without tcptop-query: export the events to CSV, .import them with the sqlite3
# shell, run the same SQL there. Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines (run.sh).
#   tests/bench/bench_query.sh [N]
set -eu
N=${1:-10000000}
BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
Q=$BUILD/tcptop-query
GEN=$BUILD/tests/test_format
for x in "$Q" "$GEN"; do
	[ -x "$x" ] || { echo "bench_query: $x not built" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "bench_query: sqlite3 shell missing" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench_query.XXXXXX)
trap 'rm -rf "$dir"' EXIT

now() { date +%s.%N; }
# secs CMD...: run CMD with stdout to /dev/null, print the wall seconds it took
secs() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
rate() { echo "scale=2; $N / $1 / 1000000" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

cap=$dir/cap.tt
"$GEN" gen "$cap" "$N"
echo "capture: $N events, $(stat -c %s "$cap") bytes" >&2

COUNT="SELECT count(*) FROM events"
GROUP="SELECT conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events GROUP BY conn_id"
CONNS="SELECT id, tx_bytes, rx_bytes FROM connections"

t_count=$(secs "$Q" --no-progress "$cap" "$COUNT")
t_group=$(secs "$Q" --no-progress "$cap" "$GROUP")
t_conns=$(secs "$Q" --no-progress "$cap" "$CONNS")
t_db=$(secs "$Q" --no-progress --db "$dir/q.sqlite" "$cap" "$COUNT")
# the design not taken: load everything into an in-memory table first, then query it
t_load=$(secs "$Q" --no-progress "$cap" "PRAGMA temp_store=MEMORY;
	CREATE TEMP TABLE e AS SELECT * FROM events; $COUNT")

# the other route: CSV out of the capture, sqlite3 .import, the same SQL in the shell
t_export=$(secs "$Q" --no-progress -F csv "$cap" "SELECT * FROM events")
"$Q" --no-progress -F csv "$cap" "SELECT * FROM events" >"$dir/ev.csv"
t_import=$(secs sqlite3 "$dir/imp.db" ".import --csv $dir/ev.csv events")
t_icount=$(secs sqlite3 "$dir/imp.db" "$COUNT")
t_igroup=$(secs sqlite3 "$dir/imp.db" "$GROUP")
# both routes agree (.import makes every column TEXT and NULL an empty string: compare the
# traffic sums, where neither differs)
CHECK="SELECT conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events WHERE kind = 'traffic' AND conn_id <> ''
	GROUP BY conn_id"
a=$("$Q" --no-progress "$cap" "$CHECK" | tail -n +2 | sort | md5sum)
b=$(sqlite3 -csv "$dir/imp.db" "$CHECK" | sort | md5sum)
[ "$a" = "$b" ] || { echo "bench_query: GROUP BY answers differ from the .import route" >&2; exit 1; }

route_count=$(echo "$t_export + $t_import + $t_icount" | bc -l)
route_group=$(echo "$t_export + $t_import + $t_igroup" | bc -l)
printf 'count %.2fs  group %.2fs  connections %.2fs  --db %.2fs  load %.2fs | export %.2fs  import %.2fs  count %.2fs  group %.2fs\n' \
	"$t_count" "$t_group" "$t_conns" "$t_db" "$t_load" "$t_export" "$t_import" "$t_icount" "$t_igroup" >&2

printf 'FIGURE\tquery: count(*) over events, M events/s\t%s\t>= 5\n' "$(rate "$t_count")"
printf 'FIGURE\tquery: GROUP BY conn_id over events, M events/s\t%s\t\n' "$(rate "$t_group")"
printf 'FIGURE\tquery: connections table (one pass), M events/s\t%s\t>= 5\n' "$(rate "$t_conns")"
printf 'FIGURE\tquery: --db materialization, M events/s\t%s\t\n' "$(rate "$t_db")"
printf 'FIGURE\tquery: in-memory load then count(*), M events/s\t%s\t\n' "$(rate "$t_load")"
printf 'FIGURE\tquery: count(*) speedup over CSV + .import route\t%sx\t>= 5x\n' \
	"$(ratio "$route_count" "$t_count")"
printf 'FIGURE\tquery: GROUP BY speedup over CSV + .import route\t%sx\t>= 5x\n' \
	"$(ratio "$route_group" "$t_group")"
