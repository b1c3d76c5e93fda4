#!/bin/sh
# Adds Debian suite SUITE (bookworm-backports, bullseye...) from the mirror of the system's own
# sources to apt, once, at priority 100: nothing upgrades or downgrades by itself; `apt-get
# install -t SUITE PKG` or `apt-get download PKG/SUITE` picks from it. Prints nothing when it is
# already there. Needs root.
set -eu
[ $# = 1 ] || { echo "usage: $0 SUITE" >&2; exit 2; }
suite=$1
list=/etc/apt/sources.list.d/tcptop-$suite.sources
grep -rqsE "(^|[[:space:]])$suite([[:space:]]|\$)" /etc/apt/sources.list /etc/apt/sources.list.d/ && exit 0
mirror=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
cat >"$list" <<EOT
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
cat >"/etc/apt/preferences.d/tcptop-$suite" <<EOT
Package: *
Pin: release n=$suite
Pin-Priority: 100
EOT
apt-get update -q >/dev/null
