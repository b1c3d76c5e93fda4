#!/usr/bin/env bash
# Soak: many kill -9 trials of tcptop-record during real traffic (the test in
# tests/test_reliability.py, with more trials than make test runs), and a longer fuzz run.
# FIGURE lines: trials, the largest and the mean window of finished connections missing
# after a kill (target <= 1 s), and fuzz executions without a crash.
# TT_SOAK_TRIALS (default 30), TT_SOAK_FUZZ_SECONDS (default 120, 0 = none): about 3 minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
export TT_BUILD=${TT_BUILD:-$root/build}
trials=${TT_SOAK_TRIALS:-30}
fuzz_s=${TT_SOAK_FUZZ_SECONDS:-120}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "kill -9 soak: $trials trials" >&2
TT_KILL_TRIALS=$trials /usr/bin/python3 -m pytest -q -s -p no:cacheprovider \
	"$root/tests/test_reliability.py::test_kill9_at_random_moments_loses_at_most_the_last_second" \
	>"$log" 2>&1
rc=$?
grep '^trial ' "$log" >&2
line=$(grep '^KILL9 ' "$log")
if [ -z "$line" ]; then
	tail -20 "$log" >&2
	echo "bench_soak: the kill -9 test did not finish" >&2
else
	set -- $line
	printf 'FIGURE\tkill -9 trials (files all readable: %s)\t%s\t>= 30\n' \
		"$([ $rc = 0 ] && echo yes || echo NO)" "${2#trials=}"
	printf 'FIGURE\tkill -9: largest window lost (s)\t%s\t<= 1\n' "${3#max_lost_window_s=}"
	printf 'FIGURE\tkill -9: mean window lost (s)\t%s\t<= 1\n' "${4#mean_lost_window_s=}"
fi

if [ "$fuzz_s" -gt 0 ]; then
	if make -C "$root" --no-print-directory OUTPUT="$TT_BUILD" fuzz >&2; then
		corpus=$(mktemp -d)
		art=$(mktemp -d)
		"$TT_BUILD/fuzz/fuzz_reader" -max_total_time="$fuzz_s" -max_len=16384 -timeout=10 \
			-print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$root/tests/fuzz/corpus" \
			"$root/tests/fuzz/seeds" \
			"$root/tests/data" $(ls -d "$root/samples" 2>/dev/null) >"$log" 2>&1
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		crashes=$(ls "$art" | wc -l)
		printf 'FIGURE\tfuzz_reader executions in %s s\t%s\t-\n' "$fuzz_s" "${runs:-0}"
		printf 'FIGURE\tfuzz_reader crashes/leaks/timeouts\t%s\t0\n' "$crashes"
		[ "$crashes" = 0 ] || ls "$art" >&2
		rm -rf "$corpus" "$art"
	else
		echo "bench_soak: no libFuzzer build (make fuzz failed)" >&2
	fi
fi
