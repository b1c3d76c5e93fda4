// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Per-kind event fields <-> varint payloads (docs/FORMAT.md, "Event payloads"), expanded
 * from the kind table (tt_event_kinds.h). The field order of each kind is frozen; new
 * fields are only ever appended, which is what lets old readers ignore them and new
 * readers default them to 0.
 */
#include <string.h>

#include "fmt_priv.h"

int tt_fmt_varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	unsigned shift = 0;

	for (int i = 0; i < 10; i++) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = r;
			*pp = p;
			return 0;
		}
	}
	return -1;
}

/* Byte strings drop trailing zero bytes: the reader zero-fills, and a payload
 * then never ends in a zero byte that belongs to a string (see trim below). */
static uint8_t *put_bytes(uint8_t *p, const void *src, size_t max)
{
	const uint8_t *s = src;
	size_t n = max;

	while (n && !s[n - 1])
		n--;
	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_comm(uint8_t *p, const char *comm, size_t max)
{
	size_t n = strnlen(comm, max);

	*p++ = (uint8_t)n;
	memcpy(p, comm, n);
	return p + n;
}

/* Each field as its type is stored (docs/FORMAT.md, "Event payloads"). */
#define PUT_U8(p, x) tt_put_varint(p, x)
#define PUT_U16(p, x) tt_put_varint(p, x)
#define PUT_U32(p, x) tt_put_varint(p, x)
#define PUT_U64(p, x) tt_put_varint(p, x)
#define PUT_S32(p, x) tt_put_varint(p, tt_zigzag(x))
#define PUT_ADDR(p, x) put_bytes(p, x, TT_ADDR_LEN)
#define PUT_COMM(p, x) put_comm(p, x, TT_COMM_LEN)
#define PUT_NAME(p, x) put_comm(p, x, TT_NAME_LEN)
#define ENC_FIELD(m, f, type, jpos, label, text, column, sql) p = PUT_##type(p, ev->u.m.f);
#define ENC_KIND(a, id, name, m, scope, cadence)                                                   \
	case TT_EV_##id: TT_EV_FIELDS_##id(ENC_FIELD, m) break;

size_t tt_fmt_codec_encode(const struct tt_event *ev, uint8_t *p0)
{
	uint8_t *p = p0;

	switch (ev->kind) {
		TT_EVENT_KINDS(ENC_KIND, 0)
	default: break;
	}
	/* A zero byte at the end is always a whole zero field (a minimal varint
	 * ends in a non-zero byte unless it is 0, and strings end non-zero): drop
	 * them, readers treat missing trailing fields as 0. */
	while (p > p0 && p[-1] == 0)
		p--;
	return (size_t)(p - p0);
}

/* Decoding: a field past the end of the payload reads as 0. */
struct cur {
	const uint8_t *p, *end;
	int bad;
};

/* Inlined: this runs once per field of every event read. */
static inline __attribute__((always_inline)) uint64_t uv(struct cur *c)
{
	uint64_t v = 0;

	if (c->p < c->end && tt_get_varint_pad(&c->p, c->end, &v))
		c->bad = 1;
	return v;
}

static void bytes(struct cur *c, void *dst, size_t max)
{
	uint64_t n = uv(c);

	if (c->bad)
		return;
	if (n > max || n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
}

#define GET_U8(c, x) x = uv(c)
#define GET_U16(c, x) x = uv(c)
#define GET_U32(c, x) x = uv(c)
#define GET_U64(c, x) x = uv(c)
#define GET_S32(c, x) x = (int32_t)tt_unzigzag(uv(c))
#define GET_ADDR(c, x) bytes(c, x, TT_ADDR_LEN)
#define GET_COMM(c, x) bytes(c, x, TT_COMM_LEN)
#define GET_NAME(c, x) bytes(c, x, TT_NAME_LEN)
#define DEC_FIELD(m, f, type, jpos, label, text, column, sql) GET_##type(&c, ev->u.m.f);
#define DEC_KIND(a, id, name, m, scope, cadence)                                                   \
	case TT_EV_##id: TT_EV_FIELDS_##id(DEC_FIELD, m) break;

int tt_fmt_codec_decode(struct tt_event *ev, const uint8_t *p, const uint8_t *end)
{
	struct cur c = {p, end, 0};

	switch (ev->kind) {
		TT_EVENT_KINDS(DEC_KIND, 0)
	default: return 0;
	}
	/* bytes after the last field this reader knows: fields a newer version appended */
	return c.bad ? -1 : c.p < c.end ? 2 : 1;
}
