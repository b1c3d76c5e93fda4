"""An independent reader of tcptop captures (.tt), written from docs/FORMAT.md only.

It shares no code with format/ and exists to cross-check the C reader and writer:
    cap = ttcap.read("x.tt")        -> Capture(header, events, warnings)
    ttcap.block(type, payload)      -> bytes of one block (to craft test files)
Events are dicts with the keys `test_format dump` prints.
"""
import struct
import zlib

import zstandard

MAGIC = b"\x89TTC\r\n\x1a\n"
BOM = 0x01020304
BLOCK_MAGIC = b"TTBK"
MAX_PAYLOAD = 16 << 20
MAX_RAW = 64 << 20

HEADER, EVENTS, INDEX, END, SNAPSHOT = 1, 2, 3, 4, 5

STRING_TAGS = {1: "hostname", 2: "kernel", 3: "boot_id", 4: "tool_version", 5: "mode",
               7: "filters", 8: "probes", 10: "clock", 12: "missing"}
STRING_SIZES = {"hostname": 256, "kernel": 128, "boot_id": 40, "tool_version": 32, "mode": 16,
                "filters": 512, "probes": 512, "clock": 16, "missing": 1024}
UINT_TAGS = {6: ("coalesce_ms", 32), 11: ("start_ns", 64), 13: ("raw_slice_ns", 64)}

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1

# Field lists per kind: (name, type, bits) with type "u" varint, "z32" zigzag signed 32,
# "b" byte string (bits = max bytes; addresses as hex, comm as text).
PROC = [("comm", "s", 16), ("ppid", "u", 32), ("exit_code", "z32", 32)]
KINDS = {
    1: [("family", "u", 8), ("proto", "u", 8), ("direction", "u", 8), ("state", "u", 8),
        ("lport", "u", 16), ("rport", "u", 16), ("netns", "u", 32), ("cgroup_id", "u", 64),
        ("laddr", "h", 16), ("raddr", "h", 16), ("comm", "s", 16)],
    2: [("tx_bytes", "u", 64), ("rx_bytes", "u", 64), ("tx_pkts", "u", 32),
        ("rx_pkts", "u", 32), ("tx_calls", "u", 32), ("rx_calls", "u", 32)],
    3: [("old_state", "u", 8), ("new_state", "u", 8)],
    4: [("srtt_us", "u", 32), ("rttvar_us", "u", 32)],
    5: [("segs", "u", 32), ("state", "u", 8), ("cause", "u", 8), ("spurious", "u", 32)],
    6: [("dir", "u", 8), ("state", "u", 8)],
    7: [("tx_bytes", "u", 64), ("rx_bytes", "u", 64), ("tx_pkts", "u", 32),
        ("rx_pkts", "u", 32), ("srtt_us", "u", 32), ("retrans", "u", 32), ("state", "u", 8),
        ("fail_reason", "u", 8)],
    8: PROC, 9: PROC, 10: PROC, 11: PROC,
    12: [("count", "u", 64), ("cpu", "u", 32)],
    13: [("events", "u", 64), ("lost", "u", 64), ("conns", "u", 64), ("bytes_out", "u", 64)],
    14: [("connect_us", "u", 32), ("syn_retrans", "u", 32)],
    15: [("wait_us", "u", 32)],
    16: [("srtt_us", "u", 32), ("min_rtt_us", "u", 32), ("rttvar_us", "u", 32), ("cwnd", "u", 32),
         ("ssthresh", "u", 32), ("in_flight", "u", 32), ("lost", "u", 32),
         ("reordering", "u", 32), ("dsack_dups", "u", 32), ("snd_wnd", "u", 32),
         ("rcv_wnd", "u", 32), ("app_limited", "u", 8), ("pacing_rate", "u", 64),
         ("delivery_rate", "u", 64), ("busy_us", "u", 64), ("rwnd_limited_us", "u", 64),
         ("sndbuf_limited_us", "u", 64)],
    17: [("side", "u", 8), ("phase", "u", 8), ("dur_us", "u", 64)],
    18: [("family", "u", 8), ("lport", "u", 16), ("netns", "u", 32), ("accept_queue", "u", 32),
         ("accept_queue_max", "u", 32), ("drops", "u", 64), ("laddr", "h", 16), ("comm", "s", 16)],
    19: [("reason", "s", 48), ("code", "u", 32)],
}


class FormatError(Exception):
    """The file cannot be read at all (bad preamble or header)."""


class Malformed(Exception):
    pass


class Capture:
    def __init__(self, header, events, warnings, end):
        self.header = header
        self.events = events
        self.warnings = warnings
        self.end = end  # END block fields, or None


def varint(buf, pos, end):
    """LEB128 at buf[pos:end] -> (value mod 2^64, new pos)."""
    value = 0
    for i in range(10):
        if pos >= end:
            raise Malformed("varint past end")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return value & U64, pos
    raise Malformed("varint longer than 10 bytes")


def unzigzag(u):
    v = (u >> 1) ^ -(u & 1)
    return v


def tlv(payload):
    """TLV records -> list of (tag, value bytes); raises Malformed if one overruns."""
    out, pos = [], 0
    while pos < len(payload):
        if len(payload) - pos < 4:
            raise Malformed("short TLV")
        tag, n = struct.unpack_from("<HH", payload, pos)
        pos += 4
        if n > len(payload) - pos:
            raise Malformed("TLV overruns")
        out.append((tag, payload[pos:pos + n]))
        pos += n
    return out


def parse_header(payload, major, minor):
    h = {"version_major": major, "version_minor": minor, "coalesce_ms": 0,
         "clock_offset_ns": 0, "start_ns": 0, "raw_slice_ns": 0}
    for name in STRING_SIZES:
        h[name] = ""
    for tag, val in tlv(payload):
        if tag in STRING_TAGS:
            name = STRING_TAGS[tag]
            val = val[:STRING_SIZES[name] - 1].split(b"\0")[0]
            h[name] = val.decode("latin-1")
        elif tag in UINT_TAGS and len(val) <= 8:
            name, bits = UINT_TAGS[tag]
            h[name] = int.from_bytes(val, "little") & ((1 << bits) - 1)
        elif tag == 9 and len(val) == 8:
            h["clock_offset_ns"] = int.from_bytes(val, "little", signed=True)
    return h


def check_block(data, off):
    """(type, payload) of a valid block at off, or (None, reason)."""
    if len(data) - off >= 4 and data[off:off + 4] != BLOCK_MAGIC:
        return None, "no block magic"
    if len(data) - off < 16:
        return None, "incomplete block"
    btype, _flags, plen, crc = struct.unpack_from("<HHII", data, off + 4)
    if plen > MAX_PAYLOAD:
        return None, "bad block length"
    if len(data) - off < plen + 20:
        return None, "incomplete block"
    (trailer,) = struct.unpack_from("<I", data, off + 16 + plen)
    if trailer != plen + 20:
        return None, "bad block trailer"
    payload = data[off + 16:off + 16 + plen]
    if zlib.crc32(payload, zlib.crc32(data[off + 4:off + 12])) != crc:
        return None, "CRC mismatch"
    return btype, payload


def decode_payload(kind, p):
    ev = {}
    pos = 0
    for name, typ, size in KINDS[kind]:
        if pos >= len(p):
            v = 0
            if typ == "h":
                v = "00" * size
            elif typ == "s":
                v = ""
            ev[name] = v
            continue
        if typ in ("h", "s"):
            n, pos = varint(p, pos, len(p))
            if n > size or n > len(p) - pos:
                raise Malformed("string too long")
            raw = bytes(p[pos:pos + n])
            pos += n
            if typ == "h":
                ev[name] = (raw + b"\0" * (size - n)).hex()
            else:
                ev[name] = raw.split(b"\0")[0].decode("latin-1")
        else:
            u, pos = varint(p, pos, len(p))
            if typ == "z32":
                v = unzigzag(u) & U32
                ev[name] = v - (1 << 32) if v & 0x80000000 else v
            else:
                ev[name] = u & ((1 << size) - 1)
    return ev


def decode_events(payload, offset_ns):
    """Events of one EVENTS payload -> (events, error or None)."""
    if len(payload) < 24:
        return [], "events block too short"
    count, _first, _last, raw_len = struct.unpack_from("<IQQI", payload, 0)
    if raw_len > MAX_RAW or raw_len < 4 + 4 * 7 or count > raw_len:
        return [], "bad events block size"
    try:
        raw = zstandard.ZstdDecompressor().decompress(bytes(payload[24:]),
                                                      max_output_size=raw_len)
    except zstandard.ZstdError:
        return [], "events block does not decompress"
    if len(raw) != raw_len:
        return [], "bad events block size"
    (ns,) = struct.unpack_from("<I", raw, 0)
    if ns < 7 or ns > 64 or 4 + 4 * ns > raw_len:
        return [], "bad stream table"
    lens = struct.unpack_from("<%dI" % ns, raw, 4)
    pos = 4 + 4 * ns
    streams = []
    for n in lens:
        if n > raw_len - pos:
            return [], "bad stream table"
        streams.append([pos, pos + n])
        pos += n
    if pos != raw_len:
        return [], "bad stream table"
    streams = streams[:7]

    def take(i):
        v, streams[i][0] = varint(raw, streams[i][0], streams[i][1])
        return v

    events = []
    ts = conn = pid = 0
    try:
        for _ in range(count):
            kind = take(0)
            flags = take(1)
            ts = (ts + unzigzag(take(2))) & U64
            conn = (conn + unzigzag(take(3))) & U64
            pid = (pid + unzigzag(take(4))) & U32
            tid = (pid + unzigzag(take(5))) & U32
            n = take(6)
            start = streams[6][0]
            if n > streams[6][1] - start:
                raise Malformed("payload past end")
            streams[6][0] = start + n
            if kind not in KINDS:
                continue
            ev = {"ts": (ts + offset_ns) & U64, "conn_id": conn, "pid": pid, "tid": tid,
                  "kind": kind, "flags": flags & 0xFFFF}
            ev.update(decode_payload(kind, raw[start:start + n]))
            events.append(ev)
    except Malformed:
        return events, "malformed event"
    return events, None


def read(path_or_bytes):
    data = path_or_bytes
    if isinstance(path_or_bytes, str):
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    data = memoryview(bytes(data))
    if len(data) < 16 or bytes(data[:8]) != MAGIC or struct.unpack_from("<I", data, 12)[0] != BOM:
        raise FormatError("not a tcptop capture")
    major, minor = struct.unpack_from("<HH", data, 8)
    if major != 1:
        raise FormatError("capture format version %d.%d is not supported" % (major, minor))
    btype, payload = check_block(data, 16)
    if btype != HEADER:
        raise FormatError("damaged capture header")
    try:
        header = parse_header(bytes(payload), major, minor)
    except Malformed:
        raise FormatError("damaged capture header")

    events, warnings, end = [], [], None
    off = 16 + len(payload) + 20
    damage = None  # (offset, reason)
    while off < len(data):
        btype, payload = check_block(data, off)
        if btype is None:
            if damage is None:
                damage = (off, payload)
            nxt = bytes(data).find(BLOCK_MAGIC, off + 1)
            off = len(data) if nxt < 0 else nxt
            continue
        if damage is not None:
            warnings.append("damaged data at offset %d (%s), %d bytes skipped"
                            % (damage[0], damage[1], off - damage[0]))
            damage = None
        if btype == EVENTS:
            evs, err = decode_events(payload, header["clock_offset_ns"])
            events.extend(evs)
            if err:
                warnings.append("block at offset %d: %s" % (off, err))
        elif btype == END:
            end = {}
            for tag, val in tlv(bytes(payload)):
                name = {1: "events", 2: "blocks", 3: "index_offset"}.get(tag)
                if name and len(val) <= 8:
                    end[name] = int.from_bytes(val, "little")
        off += len(payload) + 20
    if damage is not None:
        if damage[1] == "incomplete block":
            warnings.append("truncated capture: incomplete block at offset %d" % damage[0])
        else:
            warnings.append("damaged data at offset %d (%s) up to the end"
                            % (damage[0], damage[1]))
    elif end is None:
        warnings.append("capture has no end block")
    return Capture(header, events, warnings, end)


def block(btype, payload, flags=0):
    """One block's bytes: for crafting test files."""
    head = struct.pack("<HHI", btype, flags, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(head))
    return BLOCK_MAGIC + head + struct.pack("<I", crc) + payload + struct.pack(
        "<I", len(payload) + 20)


def preamble(major=1, minor=0):
    return MAGIC + struct.pack("<HHI", major, minor, BOM)
