/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Event dumps: the reference text of a capture (JSON) and a tcpdump-like reading of it, the
 * fields of each kind as the kind table (tt_event_kinds.h) describes them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"
#include "tt_community_id.h"
#include "tt_kind.h"
#include "tt_util.h"

static void json_str(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c); /* bytes, not UTF-8: comm is raw kernel bytes */
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_key_str(FILE *out, const char *key, const char *s, size_t max)
{
	fprintf(out, ",\"%s\":", key);
	json_str(out, s, max);
}

void dump_header_json(FILE *out, const struct tt_fmt_header *h)
{
	fprintf(out, "{\"header\":{\"version_major\":%u,\"version_minor\":%u", h->version_major,
		h->version_minor);
	json_key_str(out, "hostname", h->hostname, sizeof(h->hostname));
	json_key_str(out, "kernel", h->kernel, sizeof(h->kernel));
	json_key_str(out, "boot_id", h->boot_id, sizeof(h->boot_id));
	json_key_str(out, "tool_version", h->tool_version, sizeof(h->tool_version));
	json_key_str(out, "mode", h->mode, sizeof(h->mode));
	fprintf(out, ",\"coalesce_ms\":%u", h->coalesce_ms);
	fprintf(out, ",\"raw_slice_ns\":%" PRIu64, h->raw_slice_ns);
	json_key_str(out, "filters", h->filters, sizeof(h->filters));
	json_key_str(out, "probes", h->probes, sizeof(h->probes));
	json_key_str(out, "missing", h->missing, sizeof(h->missing));
	fprintf(out, ",\"clock_offset_ns\":%" PRId64, h->clock_offset_ns);
	json_key_str(out, "clock", h->clock, sizeof(h->clock));
	fprintf(out, ",\"start_ns\":%" PRIu64 "}}\n", h->start_ns);
}

static size_t put_str(char *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	memcpy(b, s, n);
	return n;
}

/* ,"key":v with one write: the dump of a large capture is mostly numbers. */
static void json_num(FILE *out, const struct tt_kind_field *f, uint64_t v)
{
	char b[TT_KIND_NAME_MAX + 32];
	size_t n = 0;

	b[n++] = ',';
	b[n++] = '"';
	n += put_str(b + n, f->name, TT_KIND_NAME_MAX);
	b[n++] = '"';
	b[n++] = ':';
	n += tt_kind_num_text(b + n, f, v);
	fwrite(b, 1, n, out);
}

/* A field as JSON, by its type in the kind table. */
static void json_field(FILE *out, const struct tt_event *ev, const struct tt_kind_field *f)
{
	const uint8_t *p = (const uint8_t *)ev + f->off;
	uint64_t v = tt_kind_uint(ev, f);
	char a[64];

	switch (f->type) {
	case TT_KT_ADDR:
		tt_addr_str(*((const uint8_t *)ev + f->family_off), p, a, sizeof(a));
		fprintf(out, ",\"%s\":\"%s\"", f->name, a);
		break;
	case TT_KT_COMM: json_key_str(out, f->name, (const char *)p, TT_COMM_LEN); break;
	case TT_KT_NAME: json_key_str(out, f->name, (const char *)p, TT_NAME_LEN); break;
	default:
		if (f->named) {
			/* the name, as text and SQL say it; the number beside it, as kind_id */
			const char *name = tt_kind_value_name(f, v);

			if (name)
				fprintf(out, ",\"%s\":\"%s\"", f->name, name);
			else
				fprintf(out, ",\"%s\":null", f->name);
			fprintf(out, ",\"%s_id\":%" PRIu64, f->name, v);
		} else {
			json_num(out, f, v);
		}
		break;
	}
}

void dump_event_json(FILE *out, const struct tt_event *ev, uint16_t cid_seed)
{
	const struct tt_kind *k = tt_kind_get(ev->kind);
	char cid[TT_CID_LEN], when[48];

	/* ts is exact but past 2^53, which jq and JavaScript round: time reads right in both */
	tt_iso_str(ev->ts_ns, when, sizeof(when));
	fprintf(out,
		"{\"ts\":%" PRIu64 ",\"time\":\"%s\",\"kind\":\"%s\",\"kind_id\":%u,"
		"\"conn_id\":%" PRId64 ",\"pid\":%u,\"tid\":%u,\"flags\":%u",
		(uint64_t)ev->ts_ns, when, tt_fmt_kind_name(ev->kind), ev->kind,
		tt_conn_id_signed(ev->conn_id), ev->pid, ev->tid, ev->flags);
	/* In the table's JSON order (jpos), which predates it and differs from the format's. */
	for (unsigned i = 0; k && i < k->n_fields; i++)
		json_field(out, ev, &k->json[i]);
	/* Derived, never stored: the hash of the addresses as they are in the file. */
	if (ev->kind == TT_EV_CONN_OPEN) {
		if (tt_cid_open(cid_seed, &ev->u.open, cid, sizeof(cid)) < 0)
			fputs(",\"community_id\":null", out);
		else
			fprintf(out, ",\"community_id\":\"%s\"", cid);
	}
	fputs("}\n", out);
}

void dump_event_text(FILE *out, const struct tt_event *ev, const struct tt_state *st,
		     uint16_t cid_seed)
{
	const struct tt_conn *c = st && ev->conn_id ? tt_state_find(st, ev->conn_id) : NULL;
	char when[48], l[64], r[64], cid[TT_CID_LEN], fields[1024];
	const char *comm = c ? c->comm : "";
	size_t n;

	tt_wall_us_str(ev->ts_ns, when, sizeof(when));
	fprintf(out, "%s %-8s", when, tt_fmt_kind_name(ev->kind));
	if (ev->conn_id)
		fprintf(out, " conn %" PRId64, tt_conn_id_signed(ev->conn_id));
	/* An open reads as the connection it starts, not field by field (its text is `no`). */
	if (ev->kind == TT_EV_CONN_OPEN) {
		const struct tt_ev_open *o = &ev->u.open;

		tt_endpoint_str(o->family, o->laddr, o->lport, l, sizeof(l));
		tt_endpoint_str(o->family, o->raddr, o->rport, r, sizeof(r));
		fprintf(out, " pid %u %.*s %s %s > %s", ev->pid, TT_COMM_LEN, o->comm,
			tt_proto_name(o->proto), l, r);
		if (o->state)
			fprintf(out, " %s", tt_tcp_state_name(o->state));
		if (ev->flags & TT_F_PREEXISTING)
			fputs(" preexisting", out);
		if (tt_cid_open(cid_seed, o, cid, sizeof(cid)) == 0)
			fprintf(out, " community_id %s", cid);
		fputc('\n', out);
		return;
	}
	if (ev->pid)
		fprintf(out, " pid %u", ev->pid);
	if (c) {
		tt_endpoint_str(c->family, c->laddr, c->lport, l, sizeof(l));
		tt_endpoint_str(c->family, c->raddr, c->rport, r, sizeof(r));
		fprintf(out, " %.*s %s > %s", TT_COMM_LEN, comm, l, r);
	}
	/* the fields as the view's timeline shows them too (tt_kind_text) */
	n = tt_kind_text(ev, fields, sizeof(fields) - 1);
	fields[n++] = '\n';
	fwrite(fields, 1, n, out);
}
