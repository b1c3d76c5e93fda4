#!/usr/bin/python3
"""Where a capture's bytes go (issue 26, goal 3: short connections on disk).

Reads CAP with the independent reader (tests/pyreader) and prints, for its EVENTS blocks:
  - each of the seven streams (docs/FORMAT.md) compressed alone at the writer's zstd level;
  - the events of each kind, and what the blocks would take re-encoded without that kind, or
    with timestamps cut to microseconds, or with every tid equal to its pid: what a change to
    the events written would save, measured on real data rather than estimated.
The re-encoding follows FORMAT.md's stream rules, one block as stored; its total for the
capture unchanged ("as stored") checks it against the file.

    tests/bench/capture_bytes.py CAP [ENDS]    (ENDS: connection ends, for bytes per end)
"""
import collections
import os
import struct
import sys

import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyreader"))
import ttcap  # noqa: E402

LEVEL = 3  # the writer's default (format/writer.c)
NAMES = ["kind", "flags", "ts", "conn", "pid", "tid", "payload"]
KIND_NAMES = {1: "open", 2: "traffic", 3: "state", 4: "rtt", 5: "retrans", 6: "reset",
              7: "close", 8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost",
              13: "stats", 14: "handshake", 15: "accept", 16: "sample", 17: "stall",
              18: "listener", 19: "drop"}


def blocks(path):
    """Each EVENTS block's events: dicts of the header values and the raw payload bytes."""
    data = open(path, "rb").read()
    mv = memoryview(data)
    _, payload = ttcap.check_block(mv, 16)
    off = 16 + len(payload) + 20
    out = []
    while off < len(data):
        btype, payload = ttcap.check_block(mv, off)
        if btype is None:
            sys.exit("capture_bytes: damaged block at offset %d" % off)
        if btype == ttcap.EVENTS:
            p = bytes(payload)
            count, _, _, raw_len = struct.unpack_from("<IQQI", p, 0)
            raw = zstandard.ZstdDecompressor().decompress(p[24:], max_output_size=raw_len)
            (ns,) = struct.unpack_from("<I", raw, 0)
            lens = struct.unpack_from("<%dI" % ns, raw, 4)
            pos, st = 4 + 4 * ns, []
            for n in lens:
                st.append([pos, pos + n])
                pos += n

            def take(i):
                v, st[i][0] = ttcap.varint(raw, st[i][0], st[i][1])
                return v
            ts = conn = pid = 0
            evs = []
            for _ in range(count):
                kind, flags = take(0), take(1)
                ts = (ts + ttcap.unzigzag(take(2))) & ttcap.U64
                conn = (conn + ttcap.unzigzag(take(3))) & ttcap.U64
                pid = (pid + ttcap.unzigzag(take(4))) & ttcap.U32
                tid = (pid + ttcap.unzigzag(take(5))) & ttcap.U32
                n = take(6)
                s = st[6][0]
                st[6][0] += n
                evs.append(dict(kind=kind, flags=flags, ts=ts, conn=conn, pid=pid, tid=tid,
                                pl=raw[s:s + n]))
            out.append((len(p), evs))
        off += len(payload) + 20
    return out


def uv(v):
    b = bytearray()
    while True:
        x, v = v & 0x7F, v >> 7
        if not v:
            b.append(x)
            return bytes(b)
        b.append(x | 0x80)


def zz(x):
    return ((x << 1) ^ (x >> 63)) & ttcap.U64


def s32(x):
    x &= ttcap.U32
    return x - (1 << 32) if x & 0x80000000 else x


def streams(evs):
    s = [bytearray() for _ in NAMES]
    pts = pconn = ppid = 0
    for e in evs:
        s[0] += uv(e["kind"])
        s[1] += uv(e["flags"])
        s[2] += uv(zz(e["ts"] - pts))
        s[3] += uv(zz(e["conn"] - pconn))
        s[4] += uv(zz(s32(e["pid"] - ppid)))
        s[5] += uv(zz(s32(e["tid"] - e["pid"])))
        s[6] += uv(len(e["pl"])) + e["pl"]
        pts, pconn, ppid = e["ts"], e["conn"], e["pid"]
    return s


def block_bytes(cc, evs):
    """One EVENTS block as the writer stores it: prefix, zstd frame, block header and trailer."""
    s = streams(evs)
    raw = struct.pack("<I%dI" % len(s), len(s), *[len(x) for x in s]) + b"".join(s)
    return 20 + 24 + len(cc.compress(raw))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: capture_bytes.py CAP [ENDS]")
    ends = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    cc = zstandard.ZstdCompressor(level=LEVEL)
    bl = blocks(sys.argv[1])
    size = os.path.getsize(sys.argv[1])
    stored = sum(n + 20 for n, _ in bl)
    evs = [b for _, b in bl]
    n_ev = sum(len(b) for b in evs)
    per = "" if not ends else " (%.1f B per end)" % (size / ends)
    print("file %d bytes%s, %d events in %d blocks (%d bytes)" % (size, per, n_ev, len(bl), stored))
    alone = [0] * len(NAMES)
    for b in evs:
        for i, s in enumerate(streams(b)):
            alone[i] += len(cc.compress(bytes(s)))
    for name, n in zip(NAMES, alone):
        print("stream %-8s compressed alone %7d bytes" % (name, n))

    def total(f):
        return sum(block_bytes(cc, f(b)) for b in evs)
    base = total(lambda b: b)
    print("re-encoded as stored %d bytes (the file's blocks: %d)" % (base, stored))
    kinds = collections.Counter(e["kind"] for b in evs for e in b)
    for k, n in kinds.most_common():
        t = total(lambda b: [e for e in b if e["kind"] != k])
        print("without %-10s (%5d events) %7d bytes: -%.1f%%" % (KIND_NAMES.get(k, k), n, t,
                                                               100.0 * (base - t) / base))
    t = total(lambda b: [dict(e, ts=e["ts"] // 1000 * 1000) for e in b])
    print("timestamps cut to microseconds  %7d bytes: -%.1f%%" % (t, 100.0 * (base - t) / base))
    t = total(lambda b: [dict(e, tid=e["pid"]) for e in b])
    print("every tid its pid               %7d bytes: -%.1f%%" % (t, 100.0 * (base - t) / base))


if __name__ == "__main__":
    main()
