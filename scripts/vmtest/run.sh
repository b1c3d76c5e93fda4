#!/bin/bash
# make vmtest: boot Debian's packaged LTS kernels under QEMU and run the kernel-dependent tests
# inside, on the tools built in BUILD. Prints one line per kernel,
#   vmtest KERNEL: N passed, M failed
# (KERNEL is the guest's uname -r) and exits non-zero if any test failed, or a VM did not boot
# or did not finish in time (then it counts as one failure and the line says why).
# Usage: scripts/vmtest/run.sh BUILD   (as root; installs what it needs with apt-get)
# VMTEST_TESTS="tests/test_x.py ..." and VMTEST_KERNELS="linux-image-amd64/bookworm" narrow a
# run to some tests or one kernel (to look at a failure again).
# Cache and results under BUILD/vmtest/: dl/ (.deb), k/ (extracted kernels), and per kernel
# KERNEL/: package, uname, check.txt (tcptop-record --check), pytest.log, rc, console.log,
# init.log; scripts/vmtest/table.sh makes docs/KERNELS.md's rows of them.
set -eu

# The test files that depend on the kernel: the only ones worth a VM.
TESTS=${VMTEST_TESTS:-"tests/test_record.py tests/test_live.py tests/test_probes.py tests/test_rates.py tests/test_sockdiag.py tests/test_netns.py tests/test_udp_flows.py tests/test_udp_owners.py tests/test_close_recovery.py tests/test_pass_idle.py tests/test_raw.py tests/test_health_retrans.py tests/test_health_listeners.py tests/test_health_handshake.py tests/test_health_samples.py tests/test_follow.py tests/test_load.py::test_full_tcp_table_is_said_at_once_and_counted tests/test_load.py::test_full_tcp_table_in_the_live_header tests/test_load.py::test_connections_open_before_the_start_all_recorded"}
# META-PACKAGE/SUITE: the newest kernel each names, 6.1 LTS (bookworm) and 6.12 LTS
# (bookworm-backports). The generic flavour because the cloud one has no 9p modules.
# And 5.10 LTS (bullseye), built with BTF.
KERNELS=${VMTEST_KERNELS:-"linux-image-amd64/bookworm linux-image-amd64/bookworm-backports linux-image-amd64/bullseye"}
# Every kernel runs the same tests. Where the BPF source does not load (5.10: its verifier
# refuses our atomic fetch, and beneath it socket storage in tracing programs: docs/KERNELS.md,
# "Linux 5.10, program by program"; issue 24), each test of it is an expected failure named by
# the recorder's own refusal (tests/conftest.py, needs_bpf) and the rest run: the sock_diag
# source, which --source auto takes there, and what replays and queries its captures.
# Nested KVM fails on our machines ("KVM internal error"): TCG, which emulates every instruction.
# seconds per VM, boot to power-off: 6.1's pytest took 874-936 s of its 1080 in CI (2026-12-05),
# 1240-1387 s alone in local runs of .ci/run (2026-12-06), and 1604 s single-threaded beside
# 6.12's guest (2026-12-06 17:13, two lanes). A hung guest is stopped long before (STALL); only
# a slow one uses this.
TIMEOUT=${VMTEST_TIMEOUT:-2400}
# VMs at once. Each guest runs on one host thread (SINGLE), so two side by side use the two
# cores: 6.1 in one lane, 6.12 then 5.10 in the other (KERNELS' order, the longest first).
JOBS=${VMTEST_JOBS:-2}
SMP=${VMTEST_SMP:-2}
# Single-threaded TCG for the kernels listed (uname -r prefixes): one host thread runs the
# guest's CPUs in turn. With a thread per CPU (MTTCG, QEMU 7.2's default) Debian's 6.12 died of
# an int3 oops, the trap a CPU meets where another is patching kernel text (static keys,
# static calls), in about one boot of three here and in three boots of three in CI
# (2026-12-05); one thread never runs a CPU while another writes code. 6.1 under MTTCG hung
# twice at patched code (2026-12-06: both CPUs stuck at a jump-label NOP in sk_filter_trim_cap,
# the cgroup BPF static key our programs flip; before that at inet_sendmsg's fentry site), and
# was no faster (1387 s of pytest against 1240 s single-threaded). VMTEST_ACCEL sets one
# -accel for every kernel; VMTEST_SINGLE="" gives every kernel MTTCG.
SINGLE=${VMTEST_SINGLE-"6.12. 6.1. 5.10."}
accel_for() {
	local v
	[ -z "${VMTEST_ACCEL:-}" ] || { echo "$VMTEST_ACCEL"; return; }
	for v in $SINGLE; do
		case $1 in "$v"*) echo "tcg,thread=single"; return ;; esac
	done
	echo tcg
}
# Seconds pytest.log may stay unchanged before the VM counts as hung and is stopped (then booted
# again, as a crashed one is). The slowest test took 27 s in a guest; a 6.1 guest that hung
# with no oops (CI, 2026-12-05) otherwise held the run until TIMEOUT.
STALL=${VMTEST_STALL:-300}
REBOOTS=${VMTEST_REBOOTS:-2} # boots more for a guest whose kernel crashed under emulation
MEM=${VMTEST_MEM:-4G}
PACKAGES="qemu-system-x86 busybox-static kmod cpio xz-utils zstd"

[ $# = 1 ] || { echo "usage: $0 BUILD" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$1" && pwd)
VM=$BUILD/vmtest
say() { echo "vmtest: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$TIMEOUT" -ge 300 ] || die "VMTEST_TIMEOUT=$TIMEOUT: under 300 s leaves pytest no time"
[ "$(id -u)" = 0 ] || die "needs root (QEMU shares / with the guest, which runs the tests as root)"
[ -x "$BUILD/tcptop-record" ] || die "no $BUILD/tcptop-record: build first (make vmtest does)"
case "$ROOT$BUILD" in *[[:space:]]*) die "paths with spaces do not fit a kernel command line" ;; esac

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	# shellcheck disable=SC2086 # a list of names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
for k in $KERNELS; do # each kernel's suite known to apt (bookworm-backports, bullseye)
	"$ROOT/scripts/apt-suite.sh" "${k#*/}"
done
mkdir -p "$VM/dl" "$VM/k"

# Kernel package PKG of SUITE, downloaded and extracted once; prints its directory.
fetch_kernel() {
	local pkg=$1 suite=$2 dir=$VM/k/$1 deb
	if [ ! -d "$dir" ]; then
		deb=$(find "$VM/dl" -name "${pkg}_*.deb" | head -n1)
		if [ -z "$deb" ]; then
			say "downloading $pkg/$suite"
			(cd "$VM/dl" && apt-get -q -o APT::Sandbox::User=root download "$pkg/$suite" >/dev/null)
			deb=$(find "$VM/dl" -name "${pkg}_*.deb" | head -n1)
			[ -n "$deb" ] || die "apt-get download $pkg/$suite gave no .deb"
		fi
		rm -rf "$dir.tmp"
		dpkg-deb -x "$deb" "$dir.tmp"
		# modules.dep is made by the package's postinst, which we do not run
		depmod -b "$dir.tmp" "$(ls "$dir.tmp/lib/modules")"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# The initramfs: busybox, stage 1 (initramfs-init), and the modules it loads, uncompressed
# (busybox insmod reads plain .ko), in modprobe's dependency order.
make_initrd() {
	local dir=$1 kver=$2 t m f name
	t=$(mktemp -d)
	mkdir -p "$t/bin" "$t/lib" "$t/proc" "$t/sys" "$t/dev"
	cp /bin/busybox "$t/bin/busybox"
	cp "$ROOT/scripts/vmtest/initramfs-init" "$t/init"
	chmod 755 "$t/init"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$dir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r f; do
		name=$(basename "$f" | sed -e 's/\.xz$//' -e 's/\.zst$//')
		case "$f" in
		*.xz) xz -dc "$f" >"$t/lib/$name" ;;
		*.zst) zstd -qdc "$f" >"$t/lib/$name" ;;
		*) cp "$f" "$t/lib/$name" ;;
		esac
		echo "$name" >>"$t/modules.order"
	done
	(cd "$t" && find . | cpio -o -H newc --quiet) | gzip -1 >"$dir/initrd.img"
	rm -rf "$t"
}

# Boots KERNEL DIR with results in OUT; the guest leaves rc there when pytest ran to its end.
# A guest whose pytest.log stops growing for STALL seconds is stopped, and OUT/stalled says so.
boot() {
	local dir=$1 kver=$2 out=$3 start rc=0 qpid size last=-1 since
	start=$(date +%s)
	since=$start
	rm -f "$out/stalled"
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$(accel_for "$kver")" -cpu max -smp "$SMP" -m "$MEM" \
		-nodefaults -no-reboot -display none -monitor none -serial "file:$out/console.log" \
		-kernel "$dir/boot/vmlinuz-$kver" -initrd "$dir/initrd.img" \
		-append "console=ttyS0 panic=-1 tt_init=$ROOT/scripts/vmtest/init" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$out,mount_tag=out,security_model=none" \
		>"$out/qemu.log" 2>&1 &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$out/pytest.log" 2>/dev/null || echo -1)
		[ "$size" = "$last" ] || { last=$size; since=$(date +%s); }
		if [ "$size" != -1 ] && [ ! -s "$out/rc" ] && [ $(($(date +%s) - since)) -ge "$STALL" ]; then
			echo "$STALL" >"$out/stalled"
			kill "$qpid" 2>/dev/null || true
			break
		fi
	done
	wait "$qpid" || rc=$?
	echo "$rc $(($(date +%s) - start))" >"$out/qemu.rc"
}

# The test pytest -v last started in OUT (its name opens the line), or "none".
last_test() {
	local t
	t=$(grep -oE '^tests/[^ :]+::[^ ]+' "$1/pytest.log" 2>/dev/null | tail -n 1)
	echo "${t:-none}"
}

# The one line for the kernel whose results are in OUT.
verdict() {
	local out=$1 kver=$2 qrc secs st=0 p0 f0 s0 x0
	read -r qrc secs <"$out/qemu.rc"
	read -r p0 f0 s0 x0 <<<"$(part_counts "$out")"
	[ ! -f "$out/done" ] || echo "$p0 $f0 $s0 $x0" >"$out/parts" # for table.sh
	[ -s "$out/uname" ] && kver=$(cat "$out/uname")
	if [ ! -s "$out/rc" ]; then
		if [ -s "$out/stalled" ]; then
			echo "vmtest $kver: 0 passed, 1 failed (pytest.log unchanged for $(cat "$out/stalled")s in $(last_test "$out"), see $out/console.log)"
		elif [ "$qrc" = 124 ]; then
			echo "vmtest $kver: 0 passed, 1 failed (VM timed out after ${secs}s, see $out/console.log)"
		elif [ ! -s "$out/uname" ]; then
			echo "vmtest $kver: 0 passed, 1 failed (VM did not boot, see $out/console.log)"
		else
			echo "vmtest $kver: 0 passed, 1 failed (VM stopped before pytest finished, see $out/init.log)"
		fi
		return 1
	fi
	# pytest's summary, like "2 failed, 40 passed, 3 skipped in 301.22s (0:05:01)"
	{ grep -E '^=* ?(no tests ran|[0-9]+ [a-z]+(, [0-9]+ [a-z]+)*) in [0-9.]+s' "$out/pytest.log" || true; } |
		tail -n 1 | awk -v kver="$kver" -v rc="$(cat "$out/rc")" -v secs="$secs" \
		-v p="$p0" -v f="$f0" -v s="$s0" -v x="$x0" -v parts="$(find "$out" -maxdepth 1 -name "pytest-part-*.log" | wc -l)" \
 '
	{
		for (i = 2; i <= NF; i++) {
			w = $i; sub(/[,=]+$/, "", w)
			if (w == "passed") p += $(i - 1)
			else if (w == "failed" || w == "error" || w == "errors") f += $(i - 1)
			else if (w == "skipped") s += $(i - 1)
			else if (w == "xfailed") x += $(i - 1)
		}
		summary = / in [0-9.]+s/
	}
	END {
		why = ""
		if (rc == 124) { why = "pytest interrupted at VMTEST_TIMEOUT less 120s"; f++ }
		else if (!summary) { why = "pytest ended without its summary, exit " rc; f++ }
		else if (rc != 0 && f == 0 && !(rc == 5 && parts)) { why = "pytest exited " rc; f++ }
		else if (p + f + x == 0) { why = "ran no test"; f++ }
		if (why == "" && parts) why = "in " parts + 1 " boots: what a broken one finished counted, what failed in it ran again"
		line = "vmtest " kver ": " p + 0 " passed, " f + 0 " failed"
		if (s) line = line ", " s " skipped"
		if (x) line = line ", " x " expected failures (pytest.log: XFAIL)"
		print line (why != "" ? " (" why ")" : "")
		exit (f > 0)
	}' || st=1
	say "$kver took ${secs}s"
	return $st
}

specs=""
for k in $KERNELS; do
	meta=${k%/*} suite=${k#*/}
	pkg=$(apt-cache show --no-all-versions "$meta/$suite" 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n1)
	[ -n "$pkg" ] || die "apt knows no $meta in $suite (apt-get update?)"
	dir=$(fetch_kernel "$pkg" "$suite")
	kver=$(ls "$dir/lib/modules")
	make_initrd "$dir" "$kver"
	out=$VM/$kver
	rm -rf "$out"
	mkdir -p "$out"
	dpkg-deb -f "$(find "$VM/dl" -name "${pkg}_*.deb" | head -n1)" Package Version >"$out/package"
	{
		printf 'ROOT=%q\nTT_BUILD=%q\nKMODS=%q\n' "$ROOT" "$BUILD" "$dir/lib/modules/$kver"
		printf 'TESTS=%q\nPYTEST_TIMEOUT=%d\n' "$TESTS" $((TIMEOUT - 120))
	} >"$out/vars"
	specs="$specs $dir:$kver"
done

# What CI's log needs to place a crash: when in the boot, how far pytest got, and where the
# kernel was (the oops' RIP and the first frames of its call trace; with no oops, the console's
# lockup or hung-task warnings, or else its last lines).
crash_report() {
	local out=$1 secs tests
	read -r _ secs <"$out/qemu.rc"
	tests=$(grep -cE ' (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) ' "$out/pytest.log" 2>/dev/null || true)
	say "  after ${secs}s; pytest had finished ${tests:-0} tests, the last started: $(last_test "$out")"
	say "  the console says:"
	if grep -qE 'Oops|Kernel panic' "$out/console.log" 2>/dev/null; then
		grep -E -A40 'Oops|Kernel panic' "$out/console.log" |
			grep -E 'Oops|panic|RIP:|Comm:|^\[ *[0-9.]+\]  [a-z_?]' | head -n 14
	elif grep -qE 'soft lockup|hung_task|blocked for more than|rcu.*stall' "$out/console.log" 2>/dev/null; then
		grep -E -A12 'soft lockup|blocked for more than|rcu.*stall' "$out/console.log" | head -n 20
	else
		tail -n 8 "$out/console.log" 2>/dev/null
	fi | sed 's/^\[ *[0-9.]*\] /    /' >&2 || true
}

# The tests a pytest -v log says finished, one node id a line, with their outcome:
#   ID OUTCOME   (PASSED, FAILED, ERROR, SKIPPED, XFAIL or XPASS)
finished() {
	grep -oE '^tests/[^ ]+ (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)' "$1" 2>/dev/null || true
}

# The next boot goes on where the last stopped: its pytest.log is kept as pytest-part-TRY.log,
# and what it finished goes to OUT/done, which the guest deselects (init). The test that was
# running when it stopped runs again, and so does every test that failed in it: a guest that
# crashed or hung was broken for some time before (CI, 2026-12-06: a 6.1 guest's CPU spun in
# inet_sendmsg's first instruction, "soft lockup", from the moment a recorder detached its
# fexit there under 100-byte writes; the test failed, and the guest stopped tests later). Each
# such failure is kept in OUT/rerun and said with the verdict. verdict() counts the parts'
# tests in OUT/done with the last boot's summary.
resume() {
	local out=$1 try=$2 what=$3
	[ -f "$out/pytest.log" ] || return 0
	mv "$out/pytest.log" "$out/pytest-part-$try.log"
	finished "$out/pytest-part-$try.log" | awk -v rerun="$out/rerun" -v try="$try" -v what="$what" '
		seen[$1]++ { next }
		$2 == "FAILED" || $2 == "ERROR" { print $2 " " $1 " in boot " try ", " what >>rerun; next }
		{ print $1 }' >>"$out/done"
	rm -f "$out/rc" "$out/stalled"
}

# "P F S X": passed, failed (and errors), skipped and expected failures in the part logs of OUT,
# of the tests in OUT/done, each as the last part that ran it says (a failure in a broken boot
# runs again, and counts where it finished for good).
part_counts() {
	local t
	for t in $(seq "$REBOOTS"); do
		[ ! -f "$1/pytest-part-$t.log" ] || finished "$1/pytest-part-$t.log" | sed "s/^/$t /"
	done | awk -v done="$1/done" '
		BEGIN { while ((getline id <done) > 0) counted[id] = 1 }
		($2 in counted) && !seen[$1, $2]++ { outcome[$2] = $3 }
		END {
			for (id in outcome) {
				o = outcome[id]
				if (o == "PASSED") p++
				else if (o == "FAILED" || o == "ERROR") f++
				else if (o == "SKIPPED") s++
				else if (o == "XFAIL") x++
			}
			print p + 0, f + 0, s + 0, x + 0
		}'
}

# A guest that finished with failures after its kernel said a CPU was stuck (the 6.1 spin
# above, resume()) was broken for those tests as much as one that stopped.
lockup_then_failed() {
	grep -qE 'soft lockup|rcu.*stall' "$1/console.log" 2>/dev/null &&
		finished "$1/pytest.log" | grep -qE ' (FAILED|ERROR)$'
}

# A guest kernel that crashed under emulation (seen: an int3 oops while a static key or a
# tracepoint was being patched in, on 6.12 under multi-threaded TCG, about one boot in three;
# see SINGLE) is no test result: such a VM is booted again, at most VMTEST_REBOOTS times, and
# each is said.
run_kernel() {
	local s=$1 out=$VM/${1#*:} try what why
	say "booting ${s#*:} (-accel $(accel_for "${s#*:}") -smp $SMP -m $MEM, at most ${TIMEOUT}s)"
	boot "${s%:*}" "${s#*:}" "$out"
	for try in $(seq "$REBOOTS"); do
		if [ -s "$out/rc" ]; then
			lockup_then_failed "$out" || break
			what="whose kernel said a CPU was stuck"
			say "${s#*:}: tests failed after the guest's kernel said a CPU was stuck:" \
				"booting it again for them ($try of $REBOOTS)"
		else
			what="which stopped"
			why=$(grep -m1 -E 'Oops|Kernel panic' "$out/console.log" 2>/dev/null |
				sed 's/^\[ *[0-9.]*\] //')
			[ ! -s "$out/stalled" ] || why="pytest.log unchanged for $(cat "$out/stalled")s"
			say "${s#*:}: the VM stopped before pytest finished" \
				"(${why:-no oops in its console}): booting it again ($try of $REBOOTS)"
		fi
		crash_report "$out"
		mv "$out/console.log" "$out/console-$try.log" 2>/dev/null || true
		resume "$out" "$try" "$what"
		boot "${s%:*}" "${s#*:}" "$out"
	done
}

# A pool of JOBS lanes: the next kernel boots as soon as a lane is free, and a kernel booted
# again does so in its own lane, beside the others.
for s in $specs; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
	run_kernel "$s" &
done
wait

status=0
for s in $specs; do
	out=$VM/${s#*:}
	verdict "$out" "${s#*:}" || status=1
	[ ! -s "$out/rerun" ] || sed 's/^/  run again: /' "$out/rerun" >&2
	grep -E '^(FAILED|ERROR) ' "$out/pytest.log" 2>/dev/null | sed 's/^/  /' >&2 || true
done
exit $status
