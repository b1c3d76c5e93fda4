"""Forward-compatible variants of a capture: what a later minor version may add (docs/FORMAT.md,
"Versions", "Changing the format"), written into an existing capture from the format's
description only (the layout as tests/pyreader/ttcap.py reads it):

    header  unknown HEADER and END tags
    blocks  blocks of unknown types, before, between and after the EVENTS blocks
    kinds   events of unknown kinds between the known ones
    fields  fields appended after the last known field of every known event
    streams streams after the seventh
    all     everything at once

variant(data, what) -> (bytes, added), added counting what was put in as the reader's
one warning names it ({"header tags": n, "blocks": n, ...}; zeros left out). The blocks are
rebuilt with their CRCs, the preamble says 1.2, the INDEX entries and the END's index offset follow the moved
blocks, the END's event and block counts include what was added (a newer writer counts
everything it wrote). Deterministic: the same input gives the same bytes.
"""
import random
import struct

import zstandard

from helpers.capture import ttcap

VARIANTS = ("header", "blocks", "kinds", "fields", "streams", "all")
NEXT_HDR_TAG = 14  # the first tag 1.1 does not know
NEXT_END_TAG = 4
UNKNOWN_KINDS = (20, 21, 64, 127, 300, 1 << 20)  # 1 << 20: wider than the reader's u16


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(v):
    """zigzag of a delta taken modulo 2^64 (as signed 64 bits)."""
    v &= ttcap.U64
    if v >> 63:
        v -= 1 << 64
    return ((v << 1) ^ (v >> 63)) & ttcap.U64


def blocks_of(data):
    """The preamble and the blocks [(type, flags, payload)] of an undamaged capture."""
    out, off = [], 16
    while off < len(data):
        btype, payload = ttcap.check_block(memoryview(data), off)
        assert btype is not None, "damaged at %d: %s" % (off, payload)
        flags = struct.unpack_from("<H", data, off + 6)[0]
        out.append((btype, flags, bytes(payload)))
        off += len(payload) + 20
    return bytes(data[:16]), out


def _tlv(tag, value):
    return struct.pack("<HH", tag, len(value)) + value


def decode_events(payload):
    """An EVENTS payload -> (rows [kind, flags, ts, conn, pid, tid, payload], extra streams)."""
    count, _first, _last, raw_len = struct.unpack_from("<IQQI", payload, 0)
    raw = zstandard.ZstdDecompressor().decompress(payload[24:], max_output_size=raw_len)
    (ns,) = struct.unpack_from("<I", raw, 0)
    lens = struct.unpack_from("<%dI" % ns, raw, 4)
    pos, streams = 4 + 4 * ns, []
    for n in lens:
        streams.append([pos, pos + n])
        pos += n

    def take(i):
        v, streams[i][0] = ttcap.varint(raw, streams[i][0], streams[i][1])
        return v

    rows, ts, conn, pid = [], 0, 0, 0
    for _ in range(count):
        kind, flags = take(0), take(1)
        ts = (ts + ttcap.unzigzag(take(2))) & ttcap.U64
        conn = (conn + ttcap.unzigzag(take(3))) & ttcap.U64
        pid = (pid + ttcap.unzigzag(take(4))) & ttcap.U32
        tid = (pid + ttcap.unzigzag(take(5))) & ttcap.U32
        n = take(6)
        p = raw[streams[6][0]:streams[6][0] + n]
        streams[6][0] += n
        rows.append([kind, flags, ts, conn, pid, tid, bytes(p)])
    return rows, [bytes(raw[a:b]) for a, b in streams[7:]]


def encode_events(rows, extra_streams=()):
    s = [bytearray() for _ in range(7)]
    pts = pconn = ppid = 0
    for kind, flags, ts, conn, pid, tid, payload in rows:
        s[0] += varint(kind)
        s[1] += varint(flags)
        s[2] += varint(zigzag((ts - pts) & ttcap.U64))
        s[3] += varint(zigzag((conn - pconn) & ttcap.U64))
        s[4] += varint(zigzag(pid - ppid))
        s[5] += varint(zigzag(tid - pid))
        s[6] += varint(len(payload)) + payload
        pts, pconn, ppid = ts, conn, pid
    streams = [bytes(x) for x in s] + list(extra_streams)
    raw = struct.pack("<I", len(streams)) + b"".join(struct.pack("<I", len(x)) for x in streams)
    raw += b"".join(streams)
    tss = [r[2] for r in rows]
    prefix = struct.pack("<IQQI", len(rows), min(tss), max(tss), len(raw))
    comp = zstandard.ZstdCompressor(level=3, write_content_size=True).compress(raw)
    return prefix + comp


def _full_payload(kind, p):
    """p with every field of its kind present: the writer drops trailing zero fields, and a
    newer writer appending a field must write the zeros before it."""
    pos = 0
    for _name, typ, _size in ttcap.KINDS[kind]:
        if pos >= len(p):
            p += b"\x00"  # a varint 0, or an empty byte string
            pos += 1
            continue
        n, pos = ttcap.varint(p, pos, len(p))
        if typ in ("h", "s"):
            pos += n
    assert pos == len(p), "kind %d: payload longer than its fields" % kind
    return p


def variant(data, what):
    assert what in VARIANTS
    rng = random.Random(what)
    on = lambda x: what in (x, "all")  # noqa: E731
    added = {}

    def add(key, n=1):
        added[key] = added.get(key, 0) + n

    pre, blocks = blocks_of(data)
    out = []
    for btype, flags, payload in blocks:
        if btype == ttcap.HEADER and on("header"):
            payload += (_tlv(NEXT_HDR_TAG, struct.pack("<Q", 12345)) +
                        _tlv(200, b"a string of a later version") +
                        _tlv(0xFFFF, bytes(rng.randrange(256) for _ in range(300))))
            add("header tags", 3)
        if btype == ttcap.END and on("header"):
            payload += _tlv(NEXT_END_TAG, struct.pack("<Q", 7)) + _tlv(999, b"later")
            add("end tags", 2)
        if btype == ttcap.EVENTS and (on("kinds") or on("fields") or on("streams")):
            rows, extra = decode_events(payload)
            if on("fields"):
                for r in rows:
                    if r[0] in ttcap.KINDS:
                        r[6] = _full_payload(r[0], r[6]) + varint(rng.randrange(1, 1 << 40)) \
                            + varint(3) + b"new" + varint(1)
                        add("events' extra fields")
            if on("kinds"):
                new = []
                for i, r in enumerate(rows):
                    new.append(r)
                    if i % 3 == 0:
                        k = UNKNOWN_KINDS[(i // 3) % len(UNKNOWN_KINDS)]
                        # at a known event's time, so the block's time range stays the same
                        new.append([k, rng.randrange(1 << 16), r[2], rng.randrange(1 << 40),
                                    rng.randrange(1 << 31), rng.randrange(1 << 31),
                                    bytes(rng.randrange(256) for _ in range(rng.randrange(40)))])
                        add("events of unknown kinds")
                rows = new
            if on("streams"):
                extra = list(extra) + [b"".join(varint(rng.randrange(1 << 20)) for _ in rows),
                                       bytes(rng.randrange(256) for _ in range(17))]
                add("blocks' extra streams")
            payload = encode_events(rows, extra)
        if on("blocks") and btype in (ttcap.EVENTS, ttcap.INDEX, ttcap.END):
            # before each EVENTS block, the INDEX and the END: a type 1.1 does not know
            t = (6, 77, 0xFFFF, 0)[len(out) % 4]
            out.append((t, 0, b"block of a later version" * (1 + len(out) % 3)))
            add("blocks")
        out.append((btype, flags, payload))

    # offsets moved: the INDEX entries and the END's index offset follow; the END's counts
    # are of what was written
    offs, off = [], 16
    for btype, _f, payload in out:
        offs.append(off)
        off += len(payload) + 20
    ev_offs = [o for o, (t, _f, _p) in zip(offs, out) if t == ttcap.EVENTS]
    ev_counts = [struct.unpack_from("<I", p)[0] for t, _f, p in out if t == ttcap.EVENTS]
    idx_off = 0
    for i, (btype, flags, payload) in enumerate(out):
        if btype == ttcap.INDEX:
            (k,) = struct.unpack_from("<I", payload)
            assert k == len(ev_offs)
            p = bytearray(payload)
            for j in range(k):
                struct.pack_into("<QI", p, 4 + 28 * j, ev_offs[j], ev_counts[j])
            out[i] = (btype, flags, bytes(p))
            idx_off = offs[i]
    for i, (btype, flags, payload) in enumerate(out):
        if btype == ttcap.END:
            p, recs = b"", ttcap.tlv(payload)
            for tag, val in recs:
                if tag == 1:
                    val = struct.pack("<Q", sum(ev_counts))
                elif tag == 2:
                    val = struct.pack("<Q", len(ev_counts))
                elif tag == 3 and idx_off:
                    val = struct.pack("<Q", idx_off)
                p += _tlv(tag, val)
            out[i] = (btype, flags, p)
    pre = pre[:10] + struct.pack("<H", 2) + pre[12:]  # what a 1.2 writer would say
    return pre + b"".join(ttcap.block(t, p, f) for t, f, p in out), added


def warning(name, added):
    """The one warning today's reader gives for what variant() added (a 1.2 file)."""
    order = ("header tags", "end tags", "blocks", "events of unknown kinds",
             "events' extra fields", "blocks' extra streams")
    return ("%s: skipped what this reader of format 1.1 does not know (capture format 1.2): %s"
            % (name, ", ".join("%d %s" % (added[k], k) for k in order if k in added)))
