/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * LEB128 varints and zigzag: the capture format's integers (format/, docs/FORMAT.md) and
 * tcptop-query's grouped rows (query/group.c) are written and read by these, one copy.
 * The slow path of the bounded reader lives in format/codec.c (libtt-core).
 */
#ifndef TT_VARINT_H
#define TT_VARINT_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t tt_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t tt_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* LEB128; p needs room for 10 bytes. Returns the byte after the varint. */
static inline uint8_t *tt_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Slow path of tt_get_varint: multi-byte values and the end of input. */
int tt_fmt_varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *v);

/*
 * Reads one varint at *pp, never past end. Returns 0, or -1 when the input
 * ends inside the varint or it is longer than 10 bytes. Bits beyond 64 are
 * dropped (the value is taken modulo 2^64).
 */
static inline int tt_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;

	if (__builtin_expect(end - p >= 10, 1)) {
		/* Room for the longest varint: no bounds checks inside. */
		uint64_t b = *p++, r = b & 0x7f;
		unsigned shift = 7;
		while (b & 0x80) {
			if (shift > 63)
				return -1;
			b = *p++;
			r |= (b & 0x7f) << shift;
			shift += 7;
		}
		*v = r;
		*pp = p;
		return 0;
	}
	return tt_fmt_varint_slow(pp, end, v);
}

/*
 * The same, for input that is followed by at least TT_DECODE_PAD readable
 * bytes (the reader pads its decompression buffer): no per-byte bounds check,
 * the end is checked once after the varint.
 */
#define TT_DECODE_PAD 16
static inline int tt_get_varint_pad(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;

	if (p >= end)
		return -1;
	uint64_t b = *p++, r = b & 0x7f;
	unsigned shift = 7;
	while (b & 0x80) {
		if (shift > 63)
			return -1;
		b = *p++;
		r |= (b & 0x7f) << shift;
		shift += 7;
	}
	if (p > end)
		return -1;
	*v = r;
	*pp = p;
	return 0;
}

#endif /* TT_VARINT_H */
