#!/usr/bin/python3
"""Where a capture's bytes go (issue 26, goal 3: short connections on disk).

Reads CAP with the independent reader (tests/pyreader, through tests/helpers/ttvariant.py,
which decodes and re-encodes blocks after FORMAT.md for the corpus tests) and prints, for its EVENTS blocks:
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from helpers.ttvariant import blocks_of, decode_events, encode_events, ttcap  # noqa: E402

LEVEL = 3  # the writer's default (format/writer.c), as encode_events uses
NAMES = ["kind", "flags", "ts", "conn", "pid", "tid", "payload"]
KIND_NAMES = {1: "open", 2: "traffic", 3: "state", 4: "rtt", 5: "retrans", 6: "reset",
              7: "close", 8: "conn_proc", 9: "exec", 10: "exit", 11: "proc_name", 12: "lost",
              13: "stats", 14: "handshake", 15: "accept", 16: "sample", 17: "stall",
              18: "listener", 19: "drop"}
KIND, TS, PID, TID = 0, 2, 4, 5  # in a row of decode_events


def blocks(path):
    """Each EVENTS block: (its payload's size, its rows [kind, flags, ts, conn, pid, tid,
    payload])."""
    _, bl = blocks_of(open(path, "rb").read())
    return [(len(p), decode_events(p)[0]) for t, _, p in bl if t == ttcap.EVENTS]


def streams(rows):
    """The seven streams of rows, each alone (FORMAT.md), out of the block encode_events makes."""
    raw = zstandard.ZstdDecompressor().decompress(encode_events(rows)[24:])
    (ns,) = struct.unpack_from("<I", raw, 0)
    lens = struct.unpack_from("<%dI" % ns, raw, 4)
    out, pos = [], 4 + 4 * ns
    for n in lens:
        out.append(raw[pos:pos + n])
        pos += n
    return out


def block_bytes(rows):
    """One EVENTS block as the writer stores it: block header, payload, trailer (none when
    no event is left)."""
    return 20 + len(encode_events(rows)) if rows else 0


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
        return sum(block_bytes(f(b)) for b in evs)
    base = total(lambda b: b)
    print("re-encoded as stored %d bytes (the file's blocks: %d)" % (base, stored))
    kinds = collections.Counter(r[KIND] for b in evs for r in b)
    for k, n in kinds.most_common():
        t = total(lambda b: [r for r in b if r[KIND] != k])
        print("without %-10s (%5d events) %7d bytes: -%.1f%%" % (KIND_NAMES.get(k, k), n, t,
                                                               100.0 * (base - t) / base))

    def with_(i, f):
        return lambda b: [r[:i] + [f(r)] + r[i + 1:] for r in b]
    t = total(with_(TS, lambda r: r[TS] // 1000 * 1000))
    print("timestamps cut to microseconds  %7d bytes: -%.1f%%" % (t, 100.0 * (base - t) / base))
    t = total(with_(TID, lambda r: r[PID]))
    print("every tid its pid               %7d bytes: -%.1f%%" % (t, 100.0 * (base - t) / base))


if __name__ == "__main__":
    main()
