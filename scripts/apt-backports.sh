#!/bin/sh
# Adds Debian bookworm-backports to apt, once (scripts/apt-suite.sh). Needs root.
exec "$(dirname "$0")/apt-suite.sh" bookworm-backports
