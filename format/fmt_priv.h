/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to format/: the byte layout of a capture (docs/FORMAT.md is the
 * specification; keep the two in step). Little-endian load/store helpers,
 * shared by the writer and the reader (varints: tt_varint.h).
 */
#ifndef TT_FMT_PRIV_H
#define TT_FMT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"
#include "tt_varint.h"

/* Preamble: magic, u16 major, u16 minor, u32 byte-order mark. */
#define TT_FMT_MAGIC "\x89TTC\r\n\x1a\n"
#define TT_FMT_MAGIC_LEN 8
#define TT_FMT_PREAMBLE_SIZE 16
#define TT_FMT_BOM 0x01020304u

/* Block: u32 magic, u16 type, u16 flags, u32 payload length, u32 crc, payload, u32 total length. */
#define TT_BLK_MAGIC 0x4b425454u /* "TTBK" in file order */
#define TT_BLK_HDR_SIZE 16
#define TT_BLK_OVERHEAD 20
#define TT_BLK_MAX_PAYLOAD (16u << 20) /* readers refuse longer blocks before allocating */
#define TT_BLK_MAX_RAW (64u << 20)     /* largest decompressed EVENTS content accepted */

enum tt_blk_type {
	TT_BLK_HEADER = 1,
	TT_BLK_EVENTS = 2,
	TT_BLK_INDEX = 3,
	TT_BLK_END = 4,
	TT_BLK_SNAPSHOT = 5, /* reserved for state keyframes; readers skip it today */
	TT_BLK_NEXT,	     /* the first type this version does not know: keep it last */
};

/* EVENTS payload prefix: u32 count, u64 first_ts, u64 last_ts, u32 raw length; then zstd. */
#define TT_EVENTS_PREFIX 24
/* Streams inside the decompressed content, in this order. */
enum { TT_S_KIND, TT_S_FLAGS, TT_S_TS, TT_S_CONN, TT_S_PID, TT_S_TID, TT_S_PAYLOAD, TT_NSTREAMS };
#define TT_MAX_STREAMS 64

/* The writer closes a block before its content reaches this, so that even an
 * incompressible block stays far below TT_BLK_MAX_PAYLOAD. */
#define TT_WRITER_RAW_LIMIT (8u << 20)
#define TT_WRITER_DEFAULT_EVENTS 65536u
#define TT_WRITER_MAX_EVENTS (1u << 20)
/* Most bytes one event may add to its payload stream (length varint included). */
#define TT_PAYLOAD_MAX 128

/* Index entries: u64 offset, u32 count, u64 first_ts, u64 last_ts. */
#define TT_INDEX_ENTRY 28
#define TT_INDEX_MAX_ENTRIES ((TT_BLK_MAX_PAYLOAD - 4) / TT_INDEX_ENTRY)

/* Header TLV tags (u16 tag, u16 length, value). */
enum {
	TT_H_HOSTNAME = 1,
	TT_H_KERNEL = 2,
	TT_H_BOOT_ID = 3,
	TT_H_TOOL_VERSION = 4,
	TT_H_MODE = 5,
	TT_H_COALESCE_MS = 6,
	TT_H_FILTERS = 7,
	TT_H_PROBES = 8,
	TT_H_CLOCK_OFFSET = 9,
	TT_H_CLOCK = 10,
	TT_H_START_NS = 11,
	TT_H_MISSING = 12,
	TT_H_RAW_SLICE_NS = 13,
	TT_H_NEXT, /* the first tag this version does not know: keep it last */
};

/* END TLV tags. */
enum { TT_E_EVENTS = 1, TT_E_BLOCKS = 2, TT_E_INDEX_OFFSET = 3, TT_E_NEXT /* keep it last */ };

static inline void tt_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void tt_put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void tt_put64(uint8_t *p, uint64_t v)
{
	tt_put32(p, (uint32_t)v);
	tt_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t tt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tt_get64(const uint8_t *p)
{
	return (uint64_t)tt_get32(p) | (uint64_t)tt_get32(p + 4) << 32;
}

/*
 * Kind-specific fields of ev as varints (and length-prefixed byte strings),
 * trailing zero fields dropped, into p (room for TT_PAYLOAD_MAX). Returns the
 * number of bytes; 0 for kinds without fields or unknown kinds.
 */
size_t tt_fmt_codec_encode(const struct tt_event *ev, uint8_t *p);

/*
 * Fills ev->u from the payload [p, end) of an event of kind ev->kind (ev->u
 * must be zero). Missing trailing fields stay 0, extra bytes are skipped.
 * TT_DECODE_PAD bytes after end must be readable.
 * Returns 1 for a known kind, 2 for one with bytes after its last known field (fields a
 * newer minor version appended), 0 for an unknown kind, -1 when malformed.
 */
int tt_fmt_codec_decode(struct tt_event *ev, const uint8_t *p, const uint8_t *end);

#endif /* TT_FMT_PRIV_H */
