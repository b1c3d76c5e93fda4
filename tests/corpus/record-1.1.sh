#!/bin/bash
# How the format 1.1 files of tests/corpus/ were recorded (2026-12-05, tcptop 1.1 writer).
# Kept for the record: the corpus is frozen, this is never run again into the same names
# (scripts/corpus-add.sh refuses to overwrite). A later format version records its own files
# with its own script and adds them with corpus-add.sh.
#
#   bash tests/corpus/record-1.1.sh OUTDIR [BUILD_DIR]     as root; then corpus-add.sh each file
#
# Traffic only on loopback (ports 17001-17009); the health scenario is samples/make-samples.sh's
# (two network namespaces it makes and deletes).
set -euo pipefail
out=$1
build=$(cd "${2:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
rec=$build/tcptop-record
replay=$build/tcptop-replay
py=/usr/bin/python3
mkdir -p "$out"
work=$(mktemp -d /tmp/tt-corpus.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# servers: TCP echo on 127.0.0.1:17001 and [::1]:17002, UDP echo on 127.0.0.1:17003 and
# [::1]:17004; nothing listens on 17005 (refused)
cat >"$work/srv.py" <<'PY'
import socket, threading, time
def tcp(fam, host, port):
    l = socket.socket(fam); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, port)); l.listen(16)
    while True:
        s, _ = l.accept()
        threading.Thread(target=echo, args=(s,), daemon=True).start()
def echo(s):
    while True:
        d = s.recv(65536)
        if not d:
            break
        s.sendall(d)
    s.close()
def udp(fam, host, port):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host, port))
    while True:
        d, peer = u.recvfrom(65536); u.sendto(d, peer)
for a in ((socket.AF_INET, "127.0.0.1", 17001), (socket.AF_INET6, "::1", 17002)):
    threading.Thread(target=tcp, args=a, daemon=True).start()
for a in ((socket.AF_INET, "127.0.0.1", 17003), (socket.AF_INET6, "::1", 17004)):
    threading.Thread(target=udp, args=a, daemon=True).start()
time.sleep(3600)
PY
# client: ROUNDS rounds of one TCP exchange per family, one UDP exchange per family, one refused
# connect; SIZE bytes each; PAUSE seconds between rounds
cat >"$work/cli.py" <<'PY'
import os, socket, sys, time
rounds, size, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
for r in range(rounds):
    for fam, host, port in ((socket.AF_INET, "127.0.0.1", 17001), (socket.AF_INET6, "::1", 17002)):
        c = socket.create_connection((host, port))
        c.sendall(b"t" * size); got = 0
        while got < size:
            got += len(c.recv(65536))
        c.close()
    for fam, host, port in ((socket.AF_INET, "127.0.0.1", 17003), (socket.AF_INET6, "::1", 17004)):
        u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(2)
        u.sendto(b"u" * min(size, 1200), (host, port)); u.recvfrom(65536); u.close()
    try:
        socket.create_connection(("127.0.0.1", 17005), timeout=2).close()
    except OSError:
        pass
    time.sleep(pause)
if len(sys.argv) > 4 and sys.argv[4] == "hold":  # one TCP connection per family held 1.5 s
    cs = [socket.create_connection(a) for a in (("127.0.0.1", 17001), ("::1", 17002))]
    for i in range(15):
        for c in cs:
            c.sendall(b"h" * size); got = 0
            while got < size:
                got += len(c.recv(65536))
        time.sleep(0.1)
    sys.exit(0)
if len(sys.argv) > 4:  # a process with connections that execs: PROC_EXEC
    os.execv("/bin/sleep", ["sleep", "0.1"])
PY
"$py" "$work/srv.py" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do ss -Hltn 'sport = :17002' | grep -q . && break; sleep 0.05; done
filt=(-P 17001 -P 17002 -P 17003 -P 17004 -P 17005)

# start NAME ARGS...: a recorder into $work/NAME, back once its header is there
start() {
	local f=$work/$1
	shift
	"$rec" -q "$@" "${filt[@]}" </dev/null &
	recpid=$!
	for _ in $(seq 400); do [ -s "$f" ] && return 0; sleep 0.05; done
	echo "recorder for $f not ready" >&2
	exit 1
}
stop() {
	sleep 1.3
	kill -"${1:-INT}" "$recpid"
	wait "$recpid" || true
}
client() { "$py" "$work/cli.py" "$@"; }

# basic: both families, TCP and UDP, a refused connect, accept waits, a client exec'd
start basic.tt -o "$work/basic.tt" --accept-wait
client 2 3000 0.3 exec
stop
# raw: per-call counting summed per 1 ms slice
start raw.tt -o "$work/raw.tt" --raw
client 1 20000 0
stop
# raw-slice0: one event per call, with a 4 KiB ring buffer a burst overflows (LOST)
start raw-slice0.tt -o "$work/raw-slice0.tt" --raw --raw-slice 0 --ringbuf-kb 4
client 1 400000 0
stop
# rotated: a new file every second, three files
start rotated.tt -o "$work/rotated.tt" -G 1s
client 5 1000 0.5
stop
# flight: the last 10 s kept in memory, written at exit
"$rec" -q -o "$work/flight.tt" --flight 10s "${filt[@]}" &
recpid=$!
sleep 2 # its file is written only at the dump
client 1 2000 0
sleep 0.5
kill -INT "$recpid"
wait "$recpid" || true
for _ in $(seq 100); do [ -s "$work/flight.tt" ] && break; sleep 0.05; done
# stdout: -o - into a file
"$rec" -q -o - "${filt[@]}" >"$work/stdout.tt" &
recpid=$!
sleep 1.5
client 1 2000 0
stop
# noend: the recorder killed (SIGKILL) after its flushes: no INDEX, no END
start noend.tt -o "$work/noend.tt"
client 1 2000 0
sleep 1.2
stop KILL
# sockdiag: the source without BPF
start sockdiag.tt -o "$work/sockdiag.tt" --source sockdiag --coalesce 250ms
client 3 2000 0.3
stop

# sockdiag-conns: the same with connections that live across polls (added after sockdiag.tt,
# whose connections were all shorter than a poll)
start sockdiag-conns.tt -o "$work/sockdiag-conns.tt" --source sockdiag --coalesce 250ms
client 0 1000 0 hold
stop

# derived by today's writer (tcptop-replay -o): an anonymized copy, and a cut of the 1.0-era
# sample iperf3.tt (its RTT events: today's recorder writes SAMPLE instead)
head -c 32 /dev/zero | tr '\0' 'k' >"$work/key"
"$replay" -o "$out/anon.tt" --anonymize "$work/key" --anonymize-comm "$work/basic.tt"
"$replay" -o "$out/cut.tt" --from +0.5s --to +2.5s "$root/samples/iperf3.tt"
# damaged: basic.tt with one byte of its first EVENTS block flipped and its last 30 bytes cut
"$py" - "$work/basic.tt" "$out/damaged.tt" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
off, n = 16, 0
while off < len(d):
    t, plen = struct.unpack_from("<H", d, off + 4)[0], struct.unpack_from("<I", d, off + 8)[0]
    if t == 2:
        n += 1
        if n == 1:
            d[off + 16 + 30] ^= 0x5A
            break
    off += plen + 20
open(sys.argv[2], "wb").write(bytes(d[:-30]))
PY
# health: samples/make-samples.sh's health scenario (every TCP health kind)
SAMPLES_OUT=$work/health SAMPLES_ONLY=health bash "$root/samples/make-samples.sh" "$build" >/dev/null 2>&1 || true
mv "$work/health/health.tt" "$work/"
for f in basic raw raw-slice0 flight stdout noend sockdiag sockdiag-conns health; do mv "$work/$f.tt" "$out/"; done
mv "$work"/rotated.tt* "$out/"
chmod 0644 "$out"/*
ls -l "$out"
