#!/bin/sh
# CI as a new machine sees it: a clean clone of HEAD in a fresh Debian bookworm root
# (debootstrap --variant=minbase), the root bind-mounted on itself, in a mount namespace of its
# own, running `bash .ci/run` (or the command given) as root with CI=true and no stdin.
# A green CI on a long-lived machine can hide a missing install step; this cannot.
#   sudo scripts/ci-fresh-root.sh [ROOT] [COMMAND...]    ROOT defaults to /var/tmp/tt-fresh-root
# The root is made once (about 2 minutes) and reused; delete it for a truly new one.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/tt-fresh-root}
[ $# -gt 0 ] && shift
cmd=${*:-bash .ci/run}
[ "$(id -u)" = 0 ] || { echo "ci-fresh-root: needs root" >&2; exit 2; }
if [ ! -x "$root/usr/bin/apt-get" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
	debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
# apt sources as this machine has them (same mirror), and name resolution
cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
rm -rf "$root/ci"
mkdir -p "$root/ci"
git clone -q "$top" "$root/ci/main"
# CI has a copy of shared/ beside the clone, without write bits
if [ -d "$top/../shared" ]; then
	cp -r "$top/../shared" "$root/ci/shared"
	chmod -R a-w "$root/ci/shared"
fi
exec unshare -m sh -c '
	set -e
	root=$1; cmd=$2
	mount --make-rprivate /
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	mount -t tmpfs tmpfs "$root/tmp"
	exec chroot "$root" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI=true sh -c "cd /ci/main && $cmd" </dev/null
' sh "$root" "$cmd"
