// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The kind table (tt_event_kinds.h) expanded into descriptors (tt_kind.h). */
#include <string.h>

#include "tt_fmt.h"
#include "tt_kind.h"

#define FIELD(m, f, type, jpos, label, text, column, sql)                                          \
	{#f,                                                                                       \
	 (uint16_t)offsetof(struct tt_event, u.m.f),                                               \
	 TT_KT_##type,                                                                             \
	 jpos,                                                                                     \
	 label,                                                                                    \
	 TT_KX_##text,                                                                             \
	 COLUMN_##sql(column),                                                                     \
	 FAMILY_##type(m),                                                                         \
	 NAMED_##sql},
/* An address's family is the `family` member of its struct (tt_event_kinds.h). */
#define FAMILY_U8(m) 0
#define FAMILY_U16(m) 0
#define FAMILY_U32(m) 0
#define FAMILY_U64(m) 0
#define FAMILY_S32(m) 0
#define FAMILY_COMM(m) 0
#define FAMILY_NAME(m) 0
#define FAMILY_ADDR(m) (uint16_t) offsetof(struct tt_event, u.m.family)
/* A field the query shows has a column name; `none` is no column. */
#define COLUMN_none(c) NULL
#define COLUMN_u64(c) #c
#define COLUMN_nz(c) #c
#define COLUMN_i32(c) #c
#define COLUMN_tcpstate(c) #c
#define COLUMN_proto(c) #c
#define COLUMN_dir(c) #c
#define COLUMN_rstdir(c) #c
#define COLUMN_cause(c) #c
#define COLUMN_addr(c) #c
#define COLUMN_addr_nz(c) #c
#define COLUMN_comm(c) #c
#define COLUMN_name(c) #c
#define COLUMN_failreason(c) #c

/* Fields whose values have names: those the query shows as names. */
#define NAMED_none TT_KN_none
#define NAMED_u64 TT_KN_none
#define NAMED_nz TT_KN_none
#define NAMED_i32 TT_KN_none
#define NAMED_tcpstate TT_KN_tcpstate
#define NAMED_proto TT_KN_proto
#define NAMED_dir TT_KN_dir
#define NAMED_rstdir TT_KN_rstdir
#define NAMED_cause TT_KN_cause
#define NAMED_addr TT_KN_none
#define NAMED_addr_nz TT_KN_none
#define NAMED_comm TT_KN_none
#define NAMED_name TT_KN_none
#define NAMED_failreason TT_KN_failreason

/* The same descriptors placed by their JSON position, so a dump walks them in order. */
#define JSON_FIELD(m, f, type, jpos, label, text, column, sql)                                     \
	[jpos] = FIELD(m, f, type, jpos, label, text, column, sql)
#define FIELDS(a, id, name, m, scope, cadence)                                                     \
	static const struct tt_kind_field fields_##id[] = {TT_EV_FIELDS_##id(FIELD, m)};           \
	static const struct tt_kind_field json_##id[] = {TT_EV_FIELDS_##id(JSON_FIELD, m)};
TT_EVENT_KINDS(FIELDS, 0)

#define COUNT(a, f, type, jpos, label, text, column, sql) +1
#define KIND(a, id, nm, m, sc, cadence)                                                            \
	[TT_EV_##id] = {nm,                                                                        \
			TT_EV_##id,                                                                \
			TT_SCOPE_##sc,                                                             \
			TT__CADENCE_##cadence,                                                     \
			(uint8_t)(0 TT_EV_FIELDS_##id(COUNT, 0)),                                  \
			TT_EVENT_HDR_SIZE + sizeof(((struct tt_event *)0)->u.m),                   \
			#m,                                                                        \
			fields_##id,                                                               \
			json_##id},
static const struct tt_kind kinds[TT_EV_KIND_MAX] = {TT_EVENT_KINDS(KIND, 0)};

const struct tt_kind *tt_kind_get(unsigned kind)
{
	return kind < TT_EV_KIND_MAX && kinds[kind].name ? &kinds[kind] : NULL;
}

uint64_t tt_kind_uint(const struct tt_event *ev, const struct tt_kind_field *f)
{
	const char *p = (const char *)ev + f->off;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	int32_t s32;
	uint64_t u64;

	switch (f->type) {
	case TT_KT_U8: memcpy(&u8, p, 1); return u8;
	case TT_KT_U16: memcpy(&u16, p, 2); return u16;
	case TT_KT_U32: memcpy(&u32, p, 4); return u32;
	case TT_KT_S32: memcpy(&s32, p, 4); return (uint64_t)(int64_t)s32;
	case TT_KT_U64: memcpy(&u64, p, 8); return u64;
	default: return 0;
	}
}

const char *tt_kind_value_name(const struct tt_kind_field *f, uint64_t v)
{
	const char *s = NULL;

	if (v > 255)
		return NULL;
	switch (f->named) {
	case TT_KN_tcpstate: s = tt_tcp_state_name((unsigned)v); break;
	case TT_KN_proto: s = tt_fmt_proto_name((unsigned)v); break;
	case TT_KN_dir: s = tt_fmt_dir_name((unsigned)v); break;
	case TT_KN_rstdir: s = tt_fmt_rst_dir_name((unsigned)v); break;
	case TT_KN_cause: s = tt_fmt_retrans_cause_name((unsigned)v); break;
	case TT_KN_failreason: s = tt_fmt_fail_reason_name((unsigned)v); break;
	default: break;
	}
	/* "" (no state) and "?" (past the table) are no names */
	return s && s[0] && s[0] != '?' ? s : NULL;
}

/* Decimal digits of u at b; returns their count. */
static size_t put_u64(char *b, uint64_t u)
{
	char d[24];
	size_t m = 0, n = 0;

	do
		d[m++] = (char)('0' + u % 10);
	while (u /= 10);
	while (m)
		b[n++] = d[--m];
	return n;
}

static size_t put_str(char *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	memcpy(b, s, n);
	return n;
}

size_t tt_kind_num_text(char *b, const struct tt_kind_field *f, uint64_t v)
{
	if (f->type == TT_KT_S32 && (int32_t)v < 0) {
		b[0] = '-';
		return 1 + put_u64(b + 1, -(uint64_t)(int64_t)(int32_t)v);
	}
	return put_u64(b, v);
}

/* A field as the text dump shows it (the label and text columns of the kind table) at b. */
static size_t field_text(char *b, const struct tt_event *ev, const struct tt_kind_field *f)
{
	uint64_t v = tt_kind_uint(ev, f);
	size_t n = 0;

	if (f->label[0]) {
		b[n++] = ' ';
		n += put_str(b + n, f->label, TT_KIND_NAME_MAX);
	}
	b[n++] = ' ';
	switch (f->text) {
	case TT_KX_tcpstate:
		n += put_str(b + n, tt_tcp_state_name((unsigned)v), TT_KIND_NAME_MAX);
		break;
	case TT_KX_rstdir: n += put_str(b + n, v == TT_RST_SENT ? "sent" : "received", 8); break;
	case TT_KX_cause: {
		const char *c = tt_fmt_retrans_cause_name((unsigned)v);

		n += put_str(b + n, c ? c : "?", TT_KIND_NAME_MAX);
		break;
	}
	case TT_KX_stallside: n += put_str(b + n, tt_fmt_stall_side_name((unsigned)v), 8); break;
	case TT_KX_stallphase: n += put_str(b + n, tt_fmt_stall_phase_name((unsigned)v), 8); break;
	case TT_KX_failreason: {
		const char *r = tt_fmt_fail_reason_name((unsigned)v);

		if (r)
			n += put_str(b + n, r, TT_KIND_NAME_MAX);
		else
			n += put_u64(b + n, v);
		break;
	}
	case TT_KX_us:
		n += put_u64(b + n, v);
		b[n++] = 'u';
		b[n++] = 's';
		break;
	default:
		if (f->type == TT_KT_COMM || f->type == TT_KT_NAME)
			n += put_str(b + n, (const char *)ev + f->off,
				     f->type == TT_KT_COMM ? TT_COMM_LEN : TT_NAME_LEN);
		else
			n += tt_kind_num_text(b + n, f, v);
		break;
	}
	return n;
}

size_t tt_kind_text(const struct tt_event *ev, char *buf, size_t len)
{
	const struct tt_kind *k = tt_kind_get(ev->kind);
	char b[TT_KIND_TEXT_FIELD_MAX];
	size_t n = 0;

	if (!len)
		return 0;
	for (unsigned i = 0; k && i < k->n_fields && n + 1 < len; i++) {
		size_t m;

		if (k->fields[i].text == TT_KX_no ||
		    ((k->fields[i].text == TT_KX_nz || k->fields[i].text == TT_KX_failreason) &&
		     !tt_kind_uint(ev, &k->fields[i])))
			continue;
		m = field_text(b, ev, &k->fields[i]);
		if (m > len - 1 - n)
			m = len - 1 - n;
		memcpy(buf + n, b, m);
		n += m;
	}
	/* a flag that changes what the event means, as the dump has always said it */
	if (ev->kind == TT_EV_CONN_CLOSE && (ev->flags & TT_F_CLOSE_INFERRED)) {
		size_t m = strlen(" found-gone");

		if (m > len - 1 - n)
			m = len - 1 - n;
		memcpy(buf + n, " found-gone", m);
		n += m;
	}
	buf[n] = '\0';
	return n;
}
