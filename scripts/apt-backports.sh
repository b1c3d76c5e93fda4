#!/bin/sh
# Adds Debian bookworm-backports (same mirror as the system's sources) to apt, once, at the
# default backports priority (100): nothing upgrades by itself, `apt-get install -t
# bookworm-backports PKG` or `apt-get download PKG/bookworm-backports` picks from it.
# Prints nothing when it is already there. Needs root.
set -eu
list=/etc/apt/sources.list.d/tcptop-backports.sources
grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && exit 0
mirror=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
cat >"$list" <<EOT
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
apt-get update -q >/dev/null
