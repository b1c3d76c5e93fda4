// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The kind table (tt_event_kinds.h) walked: every kind of enum tt_ev_kind has one entry
 * that agrees with tt_event.h, and one event of each kind, every field set, comes back
 * whole through the capture format, the text dump and the JSON dump (parsed back).
 *   test_event_kinds            run the checks, one line each, exit 1 on any failure
 *   test_event_kinds write OUT  write that capture (tests/test_event_kinds.py queries it)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replay/dump.h"
#include "tt_community_id.h"
#include "tt_fmt.h"
#include "tt_kind.h"
#include "tt_util.h"

/* The events table's columns (query/event_cols.h), to check the fields' column names. */
#define TQ_TEXT 0
#define TQ_INT 1
#define NN 1
#define NL 0
#include "../../query/event_cols.h"
#define COL_NAME(name, type, doc, notnull) #name,
static const char *const event_cols[] = {TQ_EVENT_COLS(COL_NAME)};

static int failures;

static void check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s - %s", ok ? "ok" : "FAIL", name);
	if (!ok) {
		failures++;
		if (fmt) {
			printf(": ");
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
		}
	}
	printf("\n");
	fflush(stdout);
}

/*
 * The kinds of tt_event.h by name, written out here rather than taken from the table; periodic:
 * what every sampling pass writes again (the state table's timeline keeps them apart).
 */
static const struct {
	unsigned kind;
	const char *name;
	int scope;
	int periodic;
} kinds_h[] = {
    {TT_EV_CONN_OPEN, "open", TT_SCOPE_CONN, 0},
    {TT_EV_TRAFFIC, "traffic", TT_SCOPE_CONN, 1},
    {TT_EV_STATE, "state", TT_SCOPE_CONN, 0},
    {TT_EV_RTT, "rtt", TT_SCOPE_CONN, 1},
    {TT_EV_RETRANS, "retrans", TT_SCOPE_CONN, 0},
    {TT_EV_RESET, "reset", TT_SCOPE_CONN, 0},
    {TT_EV_CONN_CLOSE, "close", TT_SCOPE_CONN, 0},
    {TT_EV_CONN_PROC, "conn_proc", TT_SCOPE_CONN, 0},
    {TT_EV_PROC_EXEC, "exec", TT_SCOPE_PROC, 0},
    {TT_EV_PROC_EXIT, "exit", TT_SCOPE_PROC, 0},
    {TT_EV_PROC_NAME, "proc_name", TT_SCOPE_PROC, 0},
    {TT_EV_LOST, "lost", TT_SCOPE_CAPTURE, 0},
    {TT_EV_STATS, "stats", TT_SCOPE_CAPTURE, 1},
    {TT_EV_HANDSHAKE, "handshake", TT_SCOPE_CONN, 0},
    {TT_EV_ACCEPT, "accept", TT_SCOPE_CONN, 0},
    {TT_EV_SAMPLE, "sample", TT_SCOPE_CONN, 1},
    {TT_EV_STALL, "stall", TT_SCOPE_CONN, 0},
    {TT_EV_LISTENER, "listener", TT_SCOPE_CAPTURE, 1},
    {TT_EV_DROP, "drop", TT_SCOPE_CAPTURE, 0},
};
#define N_KINDS (sizeof(kinds_h) / sizeof(kinds_h[0]))

static size_t type_width(unsigned type)
{
	switch (type) {
	case TT_KT_U8: return 1;
	case TT_KT_U16: return 2;
	case TT_KT_U32:
	case TT_KT_S32: return 4;
	case TT_KT_U64: return 8;
	case TT_KT_NAME: return TT_NAME_LEN;
	default: return 16; /* TT_ADDR_LEN, TT_COMM_LEN */
	}
}

static int is_column(const char *name)
{
	for (size_t i = 0; i < sizeof(event_cols) / sizeof(event_cols[0]); i++)
		if (!strcmp(event_cols[i], name))
			return 1;
	return 0;
}

static void test_table(void)
{
	char name[96];

	check(TT_EV_KIND_MAX - 1 == N_KINDS, "tt_event.h has as many kinds as this test knows",
	      "%d", TT_EV_KIND_MAX - 1);
	check(!tt_kind_get(0) && !tt_kind_get(TT_EV_KIND_MAX) && !tt_event_scope(0) &&
		  !tt_event_scope(TT_EV_KIND_MAX) && !tt_event_about_conn(999) &&
		  !tt_event_periodic(0) && !tt_event_periodic(TT_EV_KIND_MAX) &&
		  !tt_event_periodic(999) && tt_event_size(999) == TT_EVENT_HDR_SIZE,
	      "kinds outside the table are unknown", NULL);
	for (size_t i = 0; i < N_KINDS; i++) {
		const struct tt_kind *k = tt_kind_get(kinds_h[i].kind);
		int ok = 1, jpos_seen = 0;

		snprintf(name, sizeof(name), "kind %u (%s) has one entry", kinds_h[i].kind,
			 kinds_h[i].name);
		check(k && k->kind == kinds_h[i].kind && !strcmp(k->name, kinds_h[i].name) &&
			  !strcmp(tt_fmt_kind_name(k->kind), k->name),
		      name, NULL);
		if (!k)
			continue;
		snprintf(name, sizeof(name), "%s: size, scope, about a connection, cadence",
			 k->name);
		check(k->size == tt_event_size(k->kind) && k->size > TT_EVENT_HDR_SIZE &&
			  k->size <= sizeof(struct tt_event) && k->scope == kinds_h[i].scope &&
			  tt_event_scope(k->kind) == k->scope &&
			  tt_event_about_conn(k->kind) == (k->scope == TT_SCOPE_CONN) &&
			  k->periodic == kinds_h[i].periodic &&
			  tt_event_periodic(k->kind) == kinds_h[i].periodic && k->n_fields,
		      name, "size %u scope %u periodic %u", k->size, k->scope, k->periodic);
		for (unsigned f = 0; f < k->n_fields; f++) {
			const struct tt_kind_field *fd = &k->fields[f];

			/* a field lies in the kind's record, after any field before it */
			if (fd->off < TT_EVENT_HDR_SIZE || fd->off + type_width(fd->type) > k->size)
				ok = 0;
			if (fd->jpos >= k->n_fields || (jpos_seen & (1 << fd->jpos)))
				ok = 0;
			jpos_seen |= 1 << fd->jpos;
			if (fd->column && !is_column(fd->column))
				ok = 0;
			if (fd->text != TT_KX_no && !fd->label)
				ok = 0;
			if (strlen(fd->name) >= TT_KIND_NAME_MAX ||
			    strlen(fd->label) >= TT_KIND_NAME_MAX)
				ok = 0;
			if (fd->type == TT_KT_ADDR && fd->family_off < TT_EVENT_HDR_SIZE)
				ok = 0;
			for (unsigned g = 0; g < f; g++)
				if (!strcmp(k->fields[g].name, fd->name) ||
				    k->fields[g].off == fd->off)
					ok = 0;
		}
		snprintf(name, sizeof(name), "%s: %u fields inside its record, JSON order, columns",
			 k->name, k->n_fields);
		check(ok, name, NULL);
	}
}

/* Every field of the kind set, none to 0, distinct across fields and kinds. */
static void fill(struct tt_event *ev, const struct tt_kind *k)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = k->kind;
	ev->ts_ns = 1764000000000000000ull + k->kind * 1000003ull;
	ev->conn_id = k->scope == TT_SCOPE_CONN ? 0x1000000000ull + k->kind : 0;
	ev->pid = k->scope != TT_SCOPE_CAPTURE ? 4000 + k->kind : 0;
	ev->tid = ev->pid ? ev->pid + 1 : 0;
	ev->flags = k->kind == TT_EV_CONN_OPEN ? TT_F_PREEXISTING : 0;
	for (unsigned i = 0; i < k->n_fields; i++) {
		const struct tt_kind_field *f = &k->fields[i];
		uint8_t *p = (uint8_t *)ev + f->off;
		uint8_t u8 = (uint8_t)((k->kind + i) % 12 + 1); /* a TCP state, a family... */
		uint16_t u16 = (uint16_t)(1000 * k->kind + i + 1);
		uint32_t u32 = 100000u * k->kind + i + 1;
		int32_t s32 = -(int32_t)(1000 * k->kind + i + 1);
		uint64_t u64 = 0x100000000ull * k->kind + i + 1;

		/* values the dumps and the query name rather than leave out */
		if (!strcmp(f->name, "proto"))
			u8 = 6; /* TCP: an open with a Community ID */
		else if (!strcmp(f->name, "direction"))
			u8 = TT_DIR_INBOUND;
		else if (!strcmp(f->name, "dir"))
			u8 = TT_RST_RECEIVED;
		else if (!strcmp(f->name, "cause"))
			u8 = TT_RETRANS_TLP;
		switch (f->type) {
		case TT_KT_U8: memcpy(p, &u8, 1); break;
		case TT_KT_U16: memcpy(p, &u16, 2); break;
		case TT_KT_U32: memcpy(p, &u32, 4); break;
		case TT_KT_S32: memcpy(p, &s32, 4); break;
		case TT_KT_U64: memcpy(p, &u64, 8); break;
		case TT_KT_ADDR:
			for (int b = 0; b < TT_ADDR_LEN; b++)
				p[b] = (uint8_t)(0x20 + 16 * i + b);
			/* an address is read with its family: make it one */
			*((uint8_t *)ev + f->family_off) = TT_FAMILY_IPV6;
			break;
		case TT_KT_COMM: snprintf((char *)p, TT_COMM_LEN, "%s-%u", k->name, i); break;
		case TT_KT_NAME: snprintf((char *)p, TT_NAME_LEN, "%s_NAME_%u", k->name, i); break;
		}
	}
}

static int write_all(const char *path, struct tt_event *evs, size_t *n)
{
	struct tt_fmt_header h = {0};
	struct tt_fmt_wopts o = {.force = 1};
	struct tt_fmt_writer *w;
	char err[256];
	int ret;

	snprintf(h.hostname, sizeof(h.hostname), "kinds");
	snprintf(h.mode, sizeof(h.mode), "raw");
	snprintf(h.clock, sizeof(h.clock), "boottime");
	*n = 0;
	for (unsigned k = 1; k < TT_EV_KIND_MAX; k++)
		if (tt_kind_get(k))
			fill(&evs[(*n)++], tt_kind_get(k));
	ret = tt_fmt_writer_open(&w, path, &h, &o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", path, err);
		return ret;
	}
	for (size_t i = 0; i < *n && !ret; i++)
		ret = tt_fmt_writer_add(w, &evs[i]);
	if (!ret)
		ret = tt_fmt_writer_close(w);
	else
		tt_fmt_writer_close(w);
	return ret;
}

static void test_codec(struct tt_event *evs, size_t n)
{
	char path[] = "/tmp/test_event_kinds.XXXXXX", err[256], name[96];
	struct tt_fmt_reader *r;
	struct tt_event got;
	int fd = mkstemp(path), ret;
	size_t i = 0;

	if (fd < 0) {
		check(0, "temporary capture", "%s", strerror(errno));
		return;
	}
	close(fd);
	ret = write_all(path, evs, &n);
	check(!ret, "one event of each kind written", "%d", ret);
	ret = tt_fmt_reader_open(&r, path, err, sizeof(err));
	check(!ret, "and opened", "%s", err);
	if (ret) {
		unlink(path);
		return;
	}
	while (i < n && tt_fmt_reader_next(r, &got) == 1) {
		snprintf(name, sizeof(name), "codec: %s comes back whole",
			 tt_fmt_kind_name(got.kind));
		check(!memcmp(&got, &evs[i], sizeof(got)), name, NULL);
		i++;
	}
	check(i == n && tt_fmt_reader_next(r, &got) == 0 && !tt_fmt_reader_warnings(r),
	      "codec: every kind read, nothing more", "%zu of %zu", i, n);
	tt_fmt_reader_close(r);
	unlink(path);
}

/* ------------------------------------------------------------ a flat JSON object */

struct jpair {
	char key[32];
	char val[128]; /* strings unescaped; numbers and null as written */
	int is_str;
};

/* Parses {"k":v,...} with string, integer and null values; returns the pairs or -1. */
static int json_parse(const char *s, struct jpair *out, int max)
{
	int n = 0;

	if (*s++ != '{')
		return -1;
	while (*s && *s != '}') {
		struct jpair *p = &out[n];
		size_t len = 0;

		if (n == max || *s++ != '"')
			return -1;
		while (*s && *s != '"' && len + 1 < sizeof(p->key))
			p->key[len++] = *s++;
		p->key[len] = 0;
		if (*s++ != '"' || *s++ != ':')
			return -1;
		len = 0;
		p->is_str = *s == '"';
		if (p->is_str) {
			for (s++; *s && *s != '"' && len + 1 < sizeof(p->val); s++) {
				if (*s == '\\' && s[1] == 'u') {
					unsigned c;

					if (sscanf(s + 2, "%4x", &c) != 1)
						return -1;
					p->val[len++] = (char)c;
					s += 5;
				} else if (*s == '\\') {
					p->val[len++] = *++s;
				} else {
					p->val[len++] = *s;
				}
			}
			if (*s++ != '"')
				return -1;
		} else {
			while (*s && *s != ',' && *s != '}' && len + 1 < sizeof(p->val))
				p->val[len++] = *s++;
		}
		p->val[len] = 0;
		n++;
		if (*s == ',')
			s++;
	}
	return *s == '}' ? n : -1;
}

static void test_json(const struct tt_event *ev)
{
	const struct tt_kind *k = tt_kind_get(ev->kind);
	struct jpair p[40];
	char *buf = NULL, want[128], name[96], cid[TT_CID_LEN], iso[48];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int n, ok = 1, common = 8, keys = 0, j;

	dump_event_json(out, ev, 0);
	fclose(out);
	n = json_parse(buf, p, 40);
	/* a named field is two keys: its name and, as <key>_id, its number */
	for (unsigned i = 0; i < k->n_fields; i++)
		keys += k->fields[i].named ? 2 : 1;
	snprintf(name, sizeof(name), "json: %s parses, common keys", k->name);
	snprintf(want, sizeof(want), "%" PRIu64, (uint64_t)ev->ts_ns);
	tt_iso_str(ev->ts_ns, iso, sizeof(iso));
	check(n == common + keys + (ev->kind == TT_EV_CONN_OPEN) && !strcmp(p[0].key, "ts") &&
		  !strcmp(p[0].val, want) && !strcmp(p[1].key, "time") && p[1].is_str &&
		  !strcmp(p[1].val, iso) && !strcmp(p[2].val, k->name) &&
		  strtoul(p[3].val, NULL, 10) == ev->kind &&
		  strtoull(p[4].val, NULL, 10) == ev->conn_id &&
		  strtoul(p[5].val, NULL, 10) == ev->pid &&
		  strtoul(p[6].val, NULL, 10) == ev->tid &&
		  strtoul(p[7].val, NULL, 10) == ev->flags,
	      name, "%s", buf);
	if (n < common + keys) {
		free(buf);
		return;
	}
	j = common;
	for (unsigned i = 0; i < k->n_fields; i++) {
		const struct tt_kind_field *f = &k->json[i];
		const struct jpair *jp = &p[j++];
		const uint8_t *raw = (const uint8_t *)ev + f->off;

		if (strcmp(jp->key, f->name))
			ok = 0;
		else if (f->type == TT_KT_ADDR) {
			tt_addr_str(*((const uint8_t *)ev + f->family_off), raw, want,
				    sizeof(want));
			ok &= jp->is_str && !strcmp(jp->val, want);
		} else if (f->type == TT_KT_COMM || f->type == TT_KT_NAME)
			ok &= jp->is_str &&
			      !strncmp(jp->val, (const char *)raw,
				       f->type == TT_KT_COMM ? TT_COMM_LEN : TT_NAME_LEN);
		else if (f->type == TT_KT_S32)
			ok &= !jp->is_str &&
			      strtoll(jp->val, NULL, 10) == (int64_t)(int32_t)tt_kind_uint(ev, f);
		else if (f->named) {
			const char *nm = tt_kind_value_name(f, tt_kind_uint(ev, f));

			snprintf(want, sizeof(want), "%s_id", f->name);
			ok &= nm ? jp->is_str && !strcmp(jp->val, nm)
				 : !jp->is_str && !strcmp(jp->val, "null");
			jp = &p[j++];
			ok &= !strcmp(jp->key, want) && !jp->is_str &&
			      strtoull(jp->val, NULL, 10) == tt_kind_uint(ev, f);
		} else
			ok &= !jp->is_str && strtoull(jp->val, NULL, 10) == tt_kind_uint(ev, f);
		if (!ok) {
			snprintf(name, sizeof(name), "json: %s.%s reads back", k->name, f->name);
			check(0, name, "%s", buf);
			free(buf);
			return;
		}
	}
	if (ev->kind == TT_EV_CONN_OPEN) {
		tt_cid_open(0, &ev->u.open, cid, sizeof(cid));
		ok = !strcmp(p[n - 1].key, "community_id") && !strcmp(p[n - 1].val, cid);
	}
	snprintf(name, sizeof(name), "json: the %u fields of %s read back, in the table's order",
		 k->n_fields, k->name);
	check(ok, name, "%s", buf);
	free(buf);
}

static void test_text(const struct tt_event *ev)
{
	const struct tt_kind *k = tt_kind_get(ev->kind);
	char *buf = NULL, want[512], name[96], addr[64];
	size_t len = 0, w = 0;
	FILE *out = open_memstream(&buf, &len);
	int ok;

	dump_event_text(out, ev, NULL, 0);
	fclose(out);
	snprintf(name, sizeof(name), "text: %s", k->name);
	if (ev->kind == TT_EV_CONN_OPEN) {
		/* an open reads as its connection: endpoints, name, flags */
		tt_addr_str(ev->u.open.family, ev->u.open.raddr, addr, sizeof(addr));
		ok = strstr(buf, " open ") && strstr(buf, ev->u.open.comm) &&
		     strstr(buf, " TCP ") && strstr(buf, " preexisting") && strstr(buf, addr) &&
		     strstr(buf, " community_id 1:");
		check(ok, name, "%s", buf);
		free(buf);
		return;
	}
	/* the shown fields, in the format's order, end the line */
	for (unsigned i = 0; i < k->n_fields; i++) {
		const struct tt_kind_field *f = &k->fields[i];
		uint64_t v = tt_kind_uint(ev, f);

		if (f->text == TT_KX_no ||
		    ((f->text == TT_KX_nz || f->text == TT_KX_failreason) && !v))
			continue;
		if (f->label[0])
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s", f->label);
		if (f->text == TT_KX_tcpstate)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      tt_tcp_state_name((unsigned)v));
		else if (f->text == TT_KX_rstdir)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      v == TT_RST_SENT ? "sent" : "received");
		else if (f->text == TT_KX_failreason && tt_fmt_fail_reason_name((unsigned)v))
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      tt_fmt_fail_reason_name((unsigned)v));
		else if (f->text == TT_KX_stallside)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      v == TT_STALL_LOCAL  ? "local"
					      : v == TT_STALL_PEER ? "peer"
								   : "?");
		else if (f->text == TT_KX_stallphase)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      v == TT_STALL_BEGIN ? "begin"
					      : v == TT_STALL_END ? "end"
								  : "?");
		else if (f->text == TT_KX_cause)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %s",
					      tt_fmt_retrans_cause_name((unsigned)v)
						  ? tt_fmt_retrans_cause_name((unsigned)v)
						  : "?");
		else if (f->type == TT_KT_COMM || f->type == TT_KT_NAME)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %.*s",
					      f->type == TT_KT_COMM ? TT_COMM_LEN : TT_NAME_LEN,
					      (const char *)ev + f->off);
		else if (f->type == TT_KT_S32)
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %d", (int32_t)v);
		else
			w += (size_t)snprintf(want + w, sizeof(want) - w, " %" PRIu64 "%s", v,
					      f->text == TT_KX_us ? "us" : "");
	}
	snprintf(want + w, sizeof(want) - w, "\n");
	ok = len > strlen(want) && !strcmp(buf + len - strlen(want), want) &&
	     strstr(buf, k->name) && w > 0;
	check(ok, name, "%s wants ...%s", buf, want);
	/* the view's timeline reads the same text from the one formatter, cut safely */
	{
		char got[512], cut[6];
		size_t n = tt_kind_text(ev, got, sizeof(got));

		want[w] = '\0';
		snprintf(name, sizeof(name), "tt_kind_text: %s", k->name);
		check(n == w && !strcmp(got, want), name, "'%s' wants '%s'", got, want);
		n = tt_kind_text(ev, cut, sizeof(cut));
		snprintf(name, sizeof(name), "tt_kind_text cut: %s", k->name);
		check(n == sizeof(cut) - 1 && strlen(cut) == n && !strncmp(cut, want, n), name,
		      "'%s' of '%s'", cut, want);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	struct tt_event evs[TT_EV_KIND_MAX];
	size_t n = 0;

	if (argc == 3 && !strcmp(argv[1], "write"))
		return write_all(argv[2], evs, &n) ? 1 : 0;
	if (argc != 1) {
		fprintf(stderr, "usage: test_event_kinds [write OUT]\n");
		return 2;
	}
	test_table();
	for (unsigned k = 1; k < TT_EV_KIND_MAX; k++)
		if (tt_kind_get(k))
			fill(&evs[n++], tt_kind_get(k));
	test_codec(evs, n);
	for (size_t i = 0; i < n; i++) {
		test_json(&evs[i]);
		test_text(&evs[i]);
	}
	return failures ? 1 : 0;
}
