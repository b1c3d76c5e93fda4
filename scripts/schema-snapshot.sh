#!/bin/sh
# Rewrite tests/data/schema/*.sql from tcptop-query --schema (tests/test_schema.py compares
# them): run it when the SQL interface changes on purpose, and add that change's line to
# docs/QUERY.md's "Changes to what queries and dumps return"; the snapshot records how many
# lines that list has, so a schema change without its line fails the test.
# Usage: scripts/schema-snapshot.sh [BUILD]   (default build/)
set -eu
cd "$(dirname "$0")/.."
b=${1:-build}
n=$(sed -n '/^## Changes to what queries and dumps return/,/^## /p' docs/QUERY.md | grep -c '^- ')
for d in sqlite postgresql clickhouse; do
	o=tests/data/schema/$d.sql
	if [ "$d" = sqlite ]; then s=--schema; else s=--schema=$d; fi
	{ printf -- '-- tcptop-query %s; docs/QUERY.md lists %s changes\n' "$s" "$n"; "$b/tcptop-query" "$s"; } > "$o"
done
