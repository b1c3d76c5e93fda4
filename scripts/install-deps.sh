#!/bin/sh
# Installs the Debian packages tcptop needs to build and test, when any is missing.
# NO_BPF=1: only what tcptop-replay and tcptop-query need (no clang, libbpf, root).
set -eu
build="make gcc pkg-config libzstd-dev zlib1g-dev libsqlite3-dev libncurses-dev libssl-dev"
# libclang-rt-dev: the libFuzzer runtime (clang -fsanitize=fuzzer) of tests/test_fuzz.py
bpf="clang llvm libclang-rt-dev bpftool libbpf-dev libelf-dev libpcap-dev"
test_tools="python3 python3-pytest python3-pytest-xdist strace clang-format python3-zstandard sqlite3 zstd tmux procps util-linux postgresql man-db groff-base mandoc bash-completion"
# suricata: the Community ID oracle of tests/test_community_id.py, from bookworm-backports
# (7.0: older releases ordered IPv6 addresses wrongly for it, Suricata redmine #6276)
# kmod: modprobe, which loads sch_netem before test_record.py's lossy link adds it
live_test_tools="iperf3 iproute2 kmod libbpf-tools tcpdump time curl nftables suricata bpftrace"
want="$build $test_tools"
[ "${NO_BPF:-}" = 1 ] || want="$want $bpf $live_test_tools"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
backports=""
case " $missing " in
*" suricata "*)
	"$(dirname "$0")/apt-backports.sh"
	missing=$(echo "$missing" | sed 's/ suricata//')
	backports=suricata
	;;
esac
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
[ -z "$backports" ] ||
	apt-get install -y -q --no-install-recommends -t bookworm-backports $backports >/dev/null
