#!/usr/bin/python3
"""Writes the hand-made bad captures of this directory (run from anywhere; deterministic).

Each file is paired with the exact message the reader must give in tests/test_format.py
(BAD_FILES). They are made from the spec (tests/pyreader/ttcap.py), not by the C writer.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pyreader"))
import ttcap  # noqa: E402


def tlv(tag, val):
    return struct.pack("<HH", tag, len(val)) + val


HEADER = ttcap.block(ttcap.HEADER, tlv(1, b"bad-files") + tlv(10, b"boottime") +
                     tlv(9, struct.pack("<q", 1000)))
FILES = {
    "not-a-capture.tt": b"timestamp,conn,bytes\n1,2,3\n",
    "empty.tt": b"",
    "short-preamble.tt": ttcap.preamble()[:11],
    "big-endian.tt": ttcap.MAGIC + struct.pack(">HHI", 1, 0, ttcap.BOM),
    "newer-major.tt": ttcap.preamble(major=2, minor=3) + HEADER,
    "no-header.tt": ttcap.preamble(),
    "damaged-header.tt": ttcap.preamble() + HEADER[:20] + bytes([HEADER[20] ^ 1]) + HEADER[21:],
    "events-first.tt": ttcap.preamble() + ttcap.block(ttcap.EVENTS, b"\0" * 24) + HEADER,
    "huge-length.tt": ttcap.preamble() + b"TTBK" + struct.pack("<HHII", 1, 0, 0xFFFFFFF0, 0),
}

for name, data in FILES.items():
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
