#!/usr/bin/env bash
# make bench: every figure as a ratio or rate measured within this one run (machines here are shared
# and noisy, so nothing is compared with a number from another run). Each bench_*.sh prints lines
# "FIGURE<TAB>name<TAB>value<TAB>target"; this script runs them all and prints one table.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export TT_BUILD=${TT_BUILD:-$here/../../build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in "$here"/bench_*.sh; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")" >&2
	# (grep -v finds nothing when a bench prints only figures: its status is not the bench's)
	"$b" | tee -a "$out" | { grep -v '^FIGURE' >&2 || true; }
	[ "${PIPESTATUS[0]}" = 0 ] || echo "bench: $(basename "$b") failed" >&2
done
for t in format state; do
	bin=$TT_BUILD/tests/test_$t
	[ -x "$bin" ] || continue
	echo "== test_$t bench" >&2
	"$bin" bench | tee -a "$out" | grep -v '^FIGURE' >&2
done
echo
printf '%-58s %-22s %s\n' "figure" "value" "target"
printf '%-58s %-22s %s\n' "------" "-----" "------"
grep '^FIGURE' "$out" | while IFS=$'\t' read -r _ name value target; do
	printf '%-58s %-22s %s\n' "$name" "$value" "${target:-}"
done
