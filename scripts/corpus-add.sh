#!/bin/bash
# Adds a NEW frozen capture to tests/corpus/, with the text saying what today's reader gives
# for it (tests/helpers/corpus.py; tests/test_corpus.py checks every entry against it).
#
#   scripts/corpus-add.sh -m WHAT -c HOW NAME.tt CAPTURE [CAPTURE...]
#
# Several CAPTUREs are one set read together (a rotated -G/-C set): they become NAME.tt,
# NAME.tt.1 ... in that order. WHAT: what the entry holds and shows; HOW: how it was made.
# Never overwrites: an entry that exists is frozen (a format change adds its own entries; a
# deliberate change of what the reader gives edits the text by hand, in the same commit).
# Needs tcptop-replay and tcptop-query in TT_BUILD (default build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/tests/corpus
build=${TT_BUILD:-$root/build}
what= how=
die() { echo "corpus-add: $*" >&2; exit 2; }
while getopts m:c: o; do
	case $o in
	m) what=$OPTARG ;;
	c) how=$OPTARG ;;
	*) die "usage: corpus-add.sh -m WHAT -c HOW NAME.tt CAPTURE..." ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || die "usage: corpus-add.sh -m WHAT -c HOW NAME.tt CAPTURE..."
[ -n "$what" ] && [ -n "$how" ] || die "say what the entry holds (-m) and how it was made (-c)"
name=$1
shift
case $name in */* | .* | *.txt | "") die "$name: a bare file name, like udp6.tt" ;; esac
for t in tcptop-replay tcptop-query; do
	[ -x "$build/$t" ] || die "no $build/$t: build first"
done
files=()
i=0
for src in "$@"; do
	[ -f "$src" ] || die "$src: no such file"
	f=$name
	[ $i -gt 0 ] && f=$name.$i
	files+=("$f")
	i=$((i + 1))
done
for f in "${files[@]}" "$name.txt"; do
	[ -e "$dir/$f" ] && die "$dir/$f exists: corpus files are frozen, add a new name"
done
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for src in "$@"; do
	cp "$src" "$tmp/${files[$i]}"
	i=$((i + 1))
done
# preamble: the format version this file was written in
ver=$(od -An -tu2 -j8 -N4 "$tmp/$name" | awk '{print $1 "." $2}')
{
	echo "# Frozen corpus entry: never rewrite it or its captures (docs/FORMAT.md, \"The frozen corpus\")."
	echo "name: $name"
	echo "files: ${files[*]}"
	echo "format: $ver"
	echo "added: $(date -u +%Y-%m-%d)"
	echo "what: $what"
	echo "made: $how"
	for f in "${files[@]}"; do
		echo "sha256: $(sha256sum "$tmp/$f" | cut -d' ' -f1) $f"
	done
	TT_BUILD=$build /usr/bin/python3 "$root/tests/helpers/corpus.py" expect "$tmp" "${files[@]}"
} >"$tmp/$name.txt"
# only now, and without replacing anything (set -o noclobber, cp -n)
for f in "${files[@]}" "$name.txt"; do
	cp -n "$tmp/$f" "$dir/$f"
	chmod 0644 "$dir/$f"
done
echo "corpus-add: added ${files[*]} and $name.txt to tests/corpus/"
