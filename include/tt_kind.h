/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The event kinds of tt_event_kinds.h as data, for code that walks them at run time
 * (dumps, tests, tcptop-record --dump). Hot paths (codec, query columns) expand the
 * X-macros themselves instead.
 */
#ifndef TT_KIND_H
#define TT_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

enum tt_kind_type {
	TT_KT_U8,
	TT_KT_U16,
	TT_KT_U32,
	TT_KT_U64,
	TT_KT_S32,
	TT_KT_ADDR, /* TT_ADDR_LEN bytes; its family is the struct's `family` (family_off) */
	TT_KT_COMM, /* TT_COMM_LEN bytes, NUL-padded, maybe without a NUL */
	TT_KT_NAME, /* TT_NAME_LEN bytes, the same */
};

/* How the text dump shows a field (the `text` column of the table). */
enum tt_kind_text {
	TT_KX_no,
	TT_KX_val,
	TT_KX_us,
	TT_KX_tcpstate,
	TT_KX_rstdir,
	TT_KX_cause,
	TT_KX_nz,	  /* as val, left out when 0 */
	TT_KX_failreason, /* its name; the field is left out when 0 */
	TT_KX_stallside,  /* local / peer */
	TT_KX_stallphase, /* begin / end */
};

/* Which names a field's values have (from the table's `sql` column): the JSON dump gives the
 * name under the field's key and the number under key_id, as the query's columns do. */
enum tt_kind_named {
	TT_KN_none,
	TT_KN_tcpstate,	  /* tt_tcp_state_name */
	TT_KN_proto,	  /* tt_fmt_proto_name */
	TT_KN_dir,	  /* tt_fmt_dir_name */
	TT_KN_rstdir,	  /* tt_fmt_rst_dir_name */
	TT_KN_cause,	  /* tt_fmt_retrans_cause_name */
	TT_KN_failreason, /* tt_fmt_fail_reason_name */
};

/* Longest field name and text label (test_event_kinds checks), TCP state name included. */
#define TT_KIND_NAME_MAX 24

struct tt_kind_field {
	const char *name;    /* member of the payload, the JSON key */
	uint16_t off;	     /* offsetof(struct tt_event, u.<member>.<name>) */
	uint8_t type;	     /* enum tt_kind_type */
	uint8_t jpos;	     /* place in the JSON object */
	const char *label;   /* word in the text dump, "" for none */
	uint8_t text;	     /* enum tt_kind_text */
	const char *column;  /* its column in the query's events table, NULL for none */
	uint16_t family_off; /* ADDR: offsetof(struct tt_event, u.<member>.family) */
	uint8_t named;	     /* enum tt_kind_named */
};

struct tt_kind {
	const char *name; /* "open", "traffic", ... */
	uint16_t kind;	  /* enum tt_ev_kind */
	uint8_t scope;	  /* TT_SCOPE_* */
	uint8_t periodic; /* cadence PERIODIC: tt_event_periodic() */
	uint8_t n_fields;
	uint32_t size;			    /* tt_event_size() */
	const char *member;		    /* member of tt_event.u */
	const struct tt_kind_field *fields; /* in the frozen order of the format */
	const struct tt_kind_field *json;   /* the same, in the order of the JSON dump (jpos) */
};

/* The description of a kind, NULL for a kind this build does not know. */
const struct tt_kind *tt_kind_get(unsigned kind);

/* A numeric field's value (S32 sign-extended); 0 for ADDR and COMM. */
uint64_t tt_kind_uint(const struct tt_event *ev, const struct tt_kind_field *f);

/* The name of a named field's value (f->named), NULL for none (UDP's state 0, an unknown
 * direction) or a field without names. */
const char *tt_kind_value_name(const struct tt_kind_field *f, uint64_t v);

/* Room for one field's text ("label value") and for a number's digits. */
#define TT_KIND_TEXT_FIELD_MAX (2 * TT_KIND_NAME_MAX + 32)
#define TT_KIND_NUM_MAX 24

/* A numeric field's value as decimal digits at b (signed for S32), no NUL, at most
 * TT_KIND_NUM_MAX bytes; returns their count. */
size_t tt_kind_num_text(char *b, const struct tt_kind_field *f, uint64_t v);

/*
 * An event's fields as text, the one reading of them that tcptop-replay --dump and the
 * view's timeline share: " label value" per field by the table's label and text columns
 * (fields of text `no` left out), then the flags that change what the event means
 * (" found-gone": a close the sampling pass inferred). NUL-terminated in buf, cut to
 * len - 1 bytes; returns its length. A kind gets its text here from its table entry alone.
 */
size_t tt_kind_text(const struct tt_event *ev, char *buf, size_t len);

#endif /* TT_KIND_H */
