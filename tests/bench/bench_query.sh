#!/usr/bin/env bash
# tcptop-query speed on synthetic captures (test_format gen: every event kind, ~300 connection ids)
# of N events (default 10M) and N/10 events. Prints "FIGURE<TAB>name<TAB>value<TAB>target" lines
# (run.sh); progress and the raw seconds go to stderr.
#
#   on N events:    count(*) over events, GROUP BY conn_id over events (grouped by the table
#                   itself, query/group.c: its CPU time and peak memory too), the connections table
#   on N/10 events: the same GROUP BY through SQLite's sorter (GROUP BY +conn_id: the route before
#                   grouped scans), same answers checked
#   on N/10 events: the same two queries through the route without tcptop-query (export the
#                   events to CSV, .import them with the sqlite3 shell, run the SQL there), and
#                   the design not taken (load every event into an SQLite table first: --db,
#                   and CREATE TEMP TABLE AS SELECT)
# The .import route costs minutes at N, so the two routes are compared on the same N/10 capture;
# the rates at N show how the streaming design scales. ~2-3 minutes on 2 shared cores.
#   tests/bench/bench_query.sh [N]
set -eu
N=${1:-10000000}
M=$((N / 10))
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
# best of three, for the short runs (a shared machine only ever makes a run slower)
best3() {
	local a b c
	a=$(secs "$@")
	b=$(secs "$@")
	c=$(secs "$@")
	printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | head -1
}
# maxrss CMD...: the peak resident memory of CMD, in MB
maxrss() {
	[ -x /usr/bin/time ] || { echo -; return; }
	/usr/bin/time -f '%M' -o "$dir/rss" "$@" >/dev/null || exit 1
	echo "scale=1; $(cat "$dir/rss") / 1024" | bc -l
}
# cpu CMD...: the CPU seconds (user + system) CMD used: less at the mercy of other jobs than
# the wall time on a shared machine (they still slow it through caches and memory bandwidth)
cpu() {
	[ -x /usr/bin/time ] || { echo 0; return; } # Debian package time; "-" in the table
	/usr/bin/time -f '%U + %S' -o "$dir/time" "$@" >/dev/null || exit 1
	bc -l <"$dir/time"
}
# events seconds -> M events/s ("-" when too quick to time)
rate() { if [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then echo "scale=2; $1 / $2 / 1000000" | bc -l; else echo -; fi; }
label() { if [ "$1" -ge 1000000 ]; then echo "$(($1 / 1000000))M"; else echo "$1"; fi; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

big=$dir/big.tt
small=$dir/small.tt
"$GEN" gen "$big" "$N" >/dev/null
"$GEN" gen "$small" "$M" >/dev/null
echo "captures: $N events ($(stat -c %s "$big") bytes), $M events ($(stat -c %s "$small") bytes)" >&2

COUNT="SELECT count(*) FROM events"
GROUP="SELECT conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events GROUP BY conn_id"
SORTER="SELECT conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events GROUP BY +conn_id"
CONNS="SELECT id, tx_bytes, rx_bytes FROM connections"
q() { "$Q" --no-progress "$@"; }

# N events: streaming
t_count=$(best3 q "$big" "$COUNT")
t_group=$(secs q "$big" "$GROUP")
t_conns=$(best3 q "$big" "$CONNS")
c_count=$(cpu "$Q" --no-progress "$big" "$COUNT")
c_conns=$(cpu "$Q" --no-progress "$big" "$CONNS")
c_group=$(cpu "$Q" --no-progress "$big" "$GROUP")
m_group=$(maxrss "$Q" --no-progress "$big" "$GROUP")
echo "N: count ${t_count}s  group ${t_group}s  connections ${t_conns}s |" \
	"cpu: count ${c_count}s  group ${c_group}s  connections ${c_conns}s | group ${m_group} MB" >&2

# N/10 events: streaming, then the design not taken (load first), then the .import route
s_count=$(best3 q "$small" "$COUNT")
s_group=$(best3 q "$small" "$GROUP")
s_sorter=$(best3 q "$small" "$SORTER")
s_db=$(secs q --db "$dir/q.sqlite" "$small" "$COUNT")
s_load=$(secs q "$small" "PRAGMA temp_store=MEMORY; CREATE TEMP TABLE e AS SELECT * FROM events; $COUNT")
s_export=$(secs q -F csv "$small" "SELECT * FROM events")
q -F csv "$small" "SELECT * FROM events" >"$dir/ev.csv"
s_import=$(secs sqlite3 "$dir/imp.db" ".import --csv $dir/ev.csv events")
s_icount=$(best3 sqlite3 "$dir/imp.db" "$COUNT")
s_igroup=$(best3 sqlite3 "$dir/imp.db" "$GROUP")
echo "N/10: count ${s_count}s  group ${s_group}s  sorter ${s_sorter}s  --db ${s_db}s  load ${s_load}s |" \
	"export ${s_export}s  import ${s_import}s  count ${s_icount}s  group ${s_igroup}s" >&2

# both routes give the same answers (.import makes every column TEXT and NULL an empty string:
# compare the traffic sums, where neither differs)
CHECK="SELECT conn_id, count(*), sum(tx_bytes), sum(rx_bytes) FROM events
	WHERE kind = 'traffic' AND conn_id <> '' GROUP BY conn_id"
a=$(q "$small" "$CHECK" | tail -n +2 | sort | md5sum)
b=$(sqlite3 -csv "$dir/imp.db" "$CHECK" | sort | md5sum)
[ "$a" = "$b" ] || { echo "bench_query: GROUP BY answers differ from the .import route" >&2; exit 1; }
a=$(q "$small" "$GROUP" | tail -n +2 | sort | md5sum)
b=$(q "$small" "$SORTER" | tail -n +2 | sort | md5sum)
[ "$a" = "$b" ] || { echo "bench_query: grouped GROUP BY differs from the sorter's" >&2; exit 1; }
c=$(q "$big" "$COUNT" | tail -1)
[ "$c" = "$N" ] || { echo "bench_query: count(*) is $c, not $N" >&2; exit 1; }

route_count=$(echo "$s_export + $s_import + $s_icount" | bc -l)
route_group=$(echo "$s_export + $s_import + $s_igroup" | bc -l)
printf 'FIGURE\tquery: count(*) over %s events, M events/s\t%s\t>= 5\n' $(label "$N") "$(rate "$N" "$t_count")"
printf 'FIGURE\tquery: count(*) over %s events, M events/CPU-s\t%s\t\n' $(label "$N") "$(rate "$N" "$c_count")"
printf 'FIGURE\tquery: GROUP BY conn_id over %s events, M events/s\t%s\t>= 5\n' $(label "$N") "$(rate "$N" "$t_group")"
printf 'FIGURE\tquery: GROUP BY conn_id over %s events, M events/CPU-s\t%s\t\n' $(label "$N") "$(rate "$N" "$c_group")"
printf 'FIGURE\tquery: GROUP BY conn_id over %s events, peak memory MB\t%s\t\n' $(label "$N") "$m_group"
printf 'FIGURE\tquery: connections table over %s events, M events/s\t%s\t>= 5\n' $(label "$N") "$(rate "$N" "$t_conns")"
printf 'FIGURE\tquery: connections table over %s events, M events/CPU-s\t%s\t\n' $(label "$N") "$(rate "$N" "$c_conns")"
printf 'FIGURE\tquery: GROUP BY conn_id over %s events, M events/s\t%s\t\n' "$(label "$M")" "$(rate "$M" "$s_group")"
printf 'FIGURE\tquery: GROUP BY +conn_id (SQLite sorter) over %s events, M events/s\t%s\t\n' "$(label "$M")" "$(rate "$M" "$s_sorter")"
printf 'FIGURE\tquery: grouped GROUP BY speedup over the sorter\t%sx\t\n' "$(ratio "$s_sorter" "$s_group")"
printf 'FIGURE\tquery: --db (load into SQLite), M events/s\t%s\t\n' "$(rate "$M" "$s_db")"
printf 'FIGURE\tquery: in-memory load then count(*), M events/s\t%s\t\n' "$(rate "$M" "$s_load")"
printf 'FIGURE\tquery: CSV export + .import route, M events/s\t%s\t\n' "$(rate "$M" "$(echo "$s_export + $s_import" | bc -l)")"
printf 'FIGURE\tquery: count(*) speedup over CSV + .import\t%sx\t>= 5x\n' "$(ratio "$route_count" "$s_count")"
printf 'FIGURE\tquery: GROUP BY speedup over CSV + .import\t%sx\t>= 5x\n' "$(ratio "$route_group" "$s_group")"
