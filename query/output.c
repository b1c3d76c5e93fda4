/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Running SQL and printing its results: an aligned table (for people), one
 * "column = value" line per column (for rows too wide for a table, as sqlite3's
 * .mode line), CSV (RFC 4180, for spreadsheets and scripts), a JSON array or
 * JSON lines (for programs). NULL reads "NULL" in a table, an empty field in CSV and null in
 * JSON; numbers stay numbers in JSON. Only one thread writes: the _unlocked
 * stdio calls save a lock per character.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "tt_util.h"

/* A table's cells are kept until the widths are known. */
struct cell {
	char *s; /* NULL for SQL NULL */
};

struct table {
	struct cell *cells;
	size_t n, cap;
	int cols;
	size_t *width;
	int *numeric; /* every non-NULL value is a number: right-align */
};

static size_t text_width(const char *s)
{
	size_t w = 0;

	/* count UTF-8 lead bytes: close enough for names and addresses */
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static char *blob_hex(sqlite3_stmt *st, int i)
{
	const unsigned char *b = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);
	char *s = malloc((size_t)n * 2 + 1);

	if (!s)
		return NULL;
	for (int k = 0; k < n; k++)
		sprintf(s + 2 * k, "%02x", b[k]);
	s[2 * n] = 0;
	return s;
}

/* The text of column i, malloc'ed; NULL for SQL NULL; *oom set on allocation failure. */
static char *cell_text(sqlite3_stmt *st, int i, int *oom)
{
	const char *t;
	char *s;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: return NULL;
	case SQLITE_BLOB: s = blob_hex(st, i); break;
	default:
		t = (const char *)sqlite3_column_text(st, i);
		s = strdup(t ? t : "");
		break;
	}
	if (!s)
		*oom = 1;
	return s;
}

static int table_add(struct table *t, sqlite3_stmt *st)
{
	int oom = 0;

	if (tt_grow(&t->cells, &t->cap, t->n + (size_t)t->cols, sizeof(*t->cells), 1024))
		return -ENOMEM;
	for (int i = 0; i < t->cols; i++) {
		int type = sqlite3_column_type(st, i);
		char *s = cell_text(st, i, &oom);
		size_t w = s ? text_width(s) : 4;

		t->cells[t->n++].s = s;
		if (w > t->width[i])
			t->width[i] = w;
		if (type == SQLITE_TEXT || type == SQLITE_BLOB)
			t->numeric[i] = 0;
	}
	return oom ? -ENOMEM : 0;
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc_unlocked(' ', out);
}

static void table_print(const struct table *t, sqlite3_stmt *st, int header, FILE *out)
{
	if (header) {
		for (int i = 0; i < t->cols; i++) {
			const char *name = sqlite3_column_name(st, i);
			size_t w = text_width(name);

			if (t->numeric[i])
				pad(out, t->width[i] - w);
			fputs_unlocked(name, out);
			if (!t->numeric[i] && i + 1 < t->cols)
				pad(out, t->width[i] - w);
			fputs_unlocked(i + 1 < t->cols ? "  " : "\n", out);
		}
		for (int i = 0; i < t->cols; i++) {
			for (size_t k = 0; k < t->width[i]; k++)
				fputc_unlocked('-', out);
			fputs_unlocked(i + 1 < t->cols ? "  " : "\n", out);
		}
	}
	for (size_t r = 0; r < t->n; r += (size_t)t->cols) {
		for (int i = 0; i < t->cols; i++) {
			const char *s = t->cells[r + (size_t)i].s;
			size_t w;

			s = s ? s : "NULL";
			w = text_width(s);
			if (t->numeric[i])
				pad(out, t->width[i] - w);
			fputs_unlocked(s, out);
			if (!t->numeric[i] && i + 1 < t->cols)
				pad(out, t->width[i] - w);
			fputs_unlocked(i + 1 < t->cols ? "  " : "\n", out);
		}
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i].s);
	free(t->cells);
	free(t->width);
	free(t->numeric);
}

/*
 * An empty string is "" so that it reads back apart from NULL (an empty field),
 * as in the sqlite3 shell and PostgreSQL's COPY.
 */
static void csv_field(FILE *out, const char *s)
{
	if (*s && !strpbrk(s, ",\"\r\n")) {
		fputs_unlocked(s, out);
		return;
	}
	fputc_unlocked('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc_unlocked('"', out);
		fputc_unlocked(*s, out);
	}
	fputc_unlocked('"', out);
}

static void json_string(FILE *out, const char *s)
{
	fputc_unlocked('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs_unlocked("\\n", out);
		else if (c == '\t')
			fputs_unlocked("\\t", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc_unlocked(c, out);
	}
	fputc_unlocked('"', out);
}

static void json_value(FILE *out, sqlite3_stmt *st, int i)
{
	char *hex;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: fputs_unlocked("null", out); break;
	case SQLITE_INTEGER: fprintf(out, "%lld", (long long)sqlite3_column_int64(st, i)); break;
	case SQLITE_FLOAT:
		/* SQLite's own rendering round-trips and is valid JSON; infinities are not */
		if (isfinite(sqlite3_column_double(st, i)))
			fputs_unlocked((const char *)sqlite3_column_text(st, i), out);
		else
			fputs_unlocked("null", out);
		break;
	case SQLITE_BLOB:
		hex = blob_hex(st, i);
		json_string(out, hex ? hex : "");
		free(hex);
		break;
	default: json_string(out, (const char *)sqlite3_column_text(st, i)); break;
	}
}

static void json_row(FILE *out, sqlite3_stmt *st, int cols)
{
	fputc_unlocked('{', out);
	for (int i = 0; i < cols; i++) {
		if (i)
			fputc_unlocked(',', out);
		json_string(out, sqlite3_column_name(st, i));
		fputc_unlocked(':', out);
		json_value(out, st, i);
	}
	fputc_unlocked('}', out);
}

static void csv_row(FILE *out, sqlite3_stmt *st, int cols)
{
	for (int i = 0; i < cols; i++) {
		const char *t;
		char *hex;

		if (i)
			fputc_unlocked(',', out);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL: break;
		case SQLITE_BLOB:
			hex = blob_hex(st, i);
			fputs_unlocked(hex ? hex : "", out);
			free(hex);
			break;
		case SQLITE_TEXT:
			t = (const char *)sqlite3_column_text(st, i);
			csv_field(out, t ? t : "");
			break;
		default: fputs_unlocked((const char *)sqlite3_column_text(st, i), out); break;
		}
	}
	/* RFC 4180 wants CRLF; every consumer that matters takes LF, and shells prefer it */
	fputc_unlocked('\n', out);
}

/*
 * A row as sqlite3's .mode line prints it (so that its users read it as they know it): the
 * names right-aligned to the longest (at least 5), " = ", the value; a blank line before
 * every row but a statement's first.
 */
static int line_row(FILE *out, sqlite3_stmt *st, int cols, size_t width, size_t row)
{
	int oom = 0;

	if (row)
		fputc_unlocked('\n', out);
	for (int i = 0; i < cols; i++) {
		const char *name = sqlite3_column_name(st, i);
		char *s = cell_text(st, i, &oom);

		if (oom)
			return -ENOMEM;
		pad(out, width - text_width(name));
		fputs_unlocked(name, out);
		fputs_unlocked(" = ", out);
		fputs_unlocked(s ? s : "NULL", out);
		fputc_unlocked('\n', out);
		free(s);
	}
	return 0;
}

/* Print the rows of one statement. Returns an SQLite result code. */
static int print_stmt(sqlite3_stmt *st, enum tt_query_format fmt, int header, FILE *out)
{
	int cols = sqlite3_column_count(st);
	struct table t = {.cols = cols};
	size_t rows = 0, line_width = 5;
	int rc;

	if (fmt == TQ_FMT_TABLE) {
		t.width = calloc((size_t)cols, sizeof(*t.width));
		t.numeric = calloc((size_t)cols, sizeof(*t.numeric));
		if (!t.width || !t.numeric) {
			table_free(&t);
			return SQLITE_NOMEM;
		}
		for (int i = 0; i < cols; i++) {
			t.width[i] = header ? text_width(sqlite3_column_name(st, i)) : 1;
			t.numeric[i] = 1;
		}
	}
	if (fmt == TQ_FMT_CSV && header) {
		for (int i = 0; i < cols; i++) {
			if (i)
				fputc_unlocked(',', out);
			csv_field(out, sqlite3_column_name(st, i));
		}
		fputc_unlocked('\n', out);
	}
	if (fmt == TQ_FMT_JSON)
		fputc_unlocked('[', out);
	for (int i = 0; fmt == TQ_FMT_LINE && i < cols; i++)
		if (text_width(sqlite3_column_name(st, i)) > line_width)
			line_width = text_width(sqlite3_column_name(st, i));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		switch (fmt) {
		case TQ_FMT_TABLE:
			if (table_add(&t, st)) {
				table_free(&t);
				return SQLITE_NOMEM;
			}
			break;
		case TQ_FMT_CSV: csv_row(out, st, cols); break;
		case TQ_FMT_JSON:
			fputs_unlocked(rows ? ",\n" : "\n", out);
			json_row(out, st, cols);
			break;
		case TQ_FMT_JSONL:
			json_row(out, st, cols);
			fputc_unlocked('\n', out);
			break;
		case TQ_FMT_LINE:
			if (line_row(out, st, cols, line_width, rows))
				return SQLITE_NOMEM;
			break;
		}
		rows++;
	}
	if (fmt == TQ_FMT_JSON)
		fputs_unlocked(rows ? "\n]\n" : "]\n", out);
	if (fmt == TQ_FMT_TABLE) {
		if (rc == SQLITE_DONE)
			table_print(&t, st, header, out);
		table_free(&t);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int tt_query_run(sqlite3 *db, const char *sql, enum tt_query_format fmt, int header, FILE *out,
		 char *errbuf, size_t errlen)
{
	const char *tail = sql;

	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);

		if (rc == SQLITE_OK && st) {
			if (sqlite3_column_count(st) > 0) {
				rc = print_stmt(st, fmt, header, out);
			} else {
				while ((rc = sqlite3_step(st)) == SQLITE_ROW)
					;
				rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
			}
		}
		if (rc != SQLITE_OK) {
			/* the statement's own message, e.g. "no such column: x" */
			snprintf(errbuf, errlen, "%s", sqlite3_errmsg(db));
			for (char *p = errbuf; *p; p++)
				if (*p == '\n')
					*p = ' ';
			sqlite3_finalize(st);
			return 1;
		}
		sqlite3_finalize(st);
	}
	return 0;
}
