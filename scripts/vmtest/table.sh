#!/bin/bash
# Prints docs/KERNELS.md's part that a vmtest run decides, from what it left in BUILD/vmtest/:
# one table row per guest kernel, then each kernel's failed tests and its capabilities
# (tcptop-record --check, or the probe list of a short capture where --check is missing).
# Usage: scripts/vmtest/table.sh [BUILD]   (default build)
set -eu
VM=${1:-build}/vmtest
[ -d "$VM" ] || { echo "table.sh: no $VM: run make vmtest first" >&2; exit 1; }

results() { # the counts of pytest's summary line, or why there are none
	local out=$1 line p f s x
	if [ ! -s "$out/rc" ]; then
		echo "no result (VM did not finish)"
		return
	fi
	line=$(grep -E '^=* ?(no tests ran|[0-9]+ [a-z]+(, [0-9]+ [a-z]+)*) in [0-9.]+s' \
		"$out/pytest.log" | tail -n 1 | sed -e 's/^=* *//' -e 's/ *=*$//' -e 's/ in [0-9.]*s.*//')
	line=${line:-no summary, pytest exit $(cat "$out/rc")}
	# a boot that stopped before the end, and the tests it finished (run.sh, resume)
	if [ -s "$out/parts" ]; then
		read -r p f s x <"$out/parts"
		line="$line; and before, in a boot that stopped: $p passed, $f failed, $s skipped, $x xfailed"
	fi
	echo "$line"
}

dirs=$(find "$VM" -mindepth 2 -maxdepth 2 -name uname -printf '%h\n' | sort -V)
echo "| Kernel | Debian package | make vmtest |"
echo "| --- | --- | --- |"
for d in $dirs; do
	echo "| $(cat "$d/uname") | $(awk '{ print $2 }' "$d/package" 2>/dev/null | paste -sd ' ') | $(results "$d") |"
done
for d in $dirs; do
	echo
	echo "### $(cat "$d/uname")"
	echo
	failed=$(grep -E '^(FAILED|ERROR) ' "$d/pytest.log" 2>/dev/null |
		sed -e 's/^FAILED /- /' -e 's/^ERROR /- error: /' -e 's/ - .*//' || true)
	if [ -n "$failed" ]; then
		printf 'Failed:\n%s\n' "$failed"
	else
		echo "Failed: none."
	fi
	echo
	echo '```'
	cat "$d/check.txt"
	echo '```'
done
