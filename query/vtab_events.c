/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The `events` virtual table: streams the capture files on every scan, so a
 * query over a large capture needs no load and little memory. Constraints on
 * `file` (=) skip other files, and on `ts` (>, >=, =, <, <=) seek by block
 * header and skip files outside the range; SQLite re-checks them all (omit
 * stays 0), so these only have to be conservative. Blocks need not be in time
 * order, so the scan never stops early inside a file.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

enum { COL_FILE = 0, COL_TS = 2 };

/* idxNum bits: which arguments xFilter gets, in this order. */
#define IDX_FILE (1 << 0)
#define IDX_TS_MIN (1 << 1)
#define IDX_TS_MAX (1 << 2)

struct ev_vtab {
	sqlite3_vtab base; /* must come first */
	struct tt_query_set *set;
};

struct ev_cursor {
	sqlite3_vtab_cursor base; /* must come first */
	struct tt_query_set *set;
	struct tt_query_scan scan;
	size_t file; /* current file */
	char *only;  /* file = ? constraint (a copy: argv dies with xFilter), or NULL */
	/* ts bounds as SQL sees ts: signed, so a (corrupt) time past 2^63 stays negative */
	sqlite3_int64 ts_min, ts_max;
	sqlite3_int64 rowid;
	int eof;
	struct tt_event ev;
};

static int ev_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **errmsg)
{
	char sql[4096];
	struct ev_vtab *vt;
	int rc;

	(void)argc;
	(void)argv;
	(void)errmsg;
	rc = sqlite3_declare_vtab(
	    db, tt_query_table_sql(&tt_query_tables[TQ_T_EVENTS], NULL, "x", sql, sizeof(sql)));
	if (rc != SQLITE_OK)
		return rc;
	vt = sqlite3_malloc(sizeof(*vt));
	if (!vt)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->set = aux;
	*out = &vt->base;
	return SQLITE_OK;
}

static int ev_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

static int ev_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
	int fileArg = -1, minArg = -1, maxArg = -1, n = 0;
	double cost = 1e9;

	(void)vt;
	for (int i = 0; i < ii->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &ii->aConstraint[i];

		if (!c->usable)
			continue;
		if (c->iColumn == COL_FILE && c->op == SQLITE_INDEX_CONSTRAINT_EQ)
			fileArg = i;
		if (c->iColumn != COL_TS)
			continue;
		if (c->op == SQLITE_INDEX_CONSTRAINT_GT || c->op == SQLITE_INDEX_CONSTRAINT_GE ||
		    c->op == SQLITE_INDEX_CONSTRAINT_EQ)
			minArg = i;
		if (c->op == SQLITE_INDEX_CONSTRAINT_LT || c->op == SQLITE_INDEX_CONSTRAINT_LE ||
		    c->op == SQLITE_INDEX_CONSTRAINT_EQ)
			maxArg = i;
	}
	ii->idxNum = 0;
	if (fileArg >= 0) {
		ii->idxNum |= IDX_FILE;
		ii->aConstraintUsage[fileArg].argvIndex = ++n;
		cost /= 10;
	}
	if (minArg >= 0) {
		ii->idxNum |= IDX_TS_MIN;
		ii->aConstraintUsage[minArg].argvIndex = ++n;
		cost /= 4;
	}
	if (maxArg >= 0 && maxArg != minArg) {
		ii->idxNum |= IDX_TS_MAX;
		ii->aConstraintUsage[maxArg].argvIndex = ++n;
		cost /= 2;
	} else if (maxArg >= 0) {
		/* ts = X: the one argument bounds both ends */
		ii->idxNum |= IDX_TS_MAX;
	}
	ii->estimatedCost = cost;
	ii->estimatedRows = (sqlite3_int64)cost;
	return SQLITE_OK;
}

static int ev_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
	struct ev_cursor *cur = sqlite3_malloc(sizeof(*cur));

	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	cur->set = ((struct ev_vtab *)vtab)->set;
	cur->eof = 1;
	*out = &cur->base;
	return SQLITE_OK;
}

static int ev_close(sqlite3_vtab_cursor *c)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	tt_query_scan_close(&cur->scan);
	sqlite3_free(cur->only);
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int fail(struct ev_cursor *cur)
{
	sqlite3_free(cur->base.pVtab->zErrMsg);
	cur->base.pVtab->zErrMsg = sqlite3_mprintf("%s", cur->set->err);
	return SQLITE_ERROR;
}

/* Open the next file the constraints allow, from cur->file on; eof when none is left. */
static int open_file(struct ev_cursor *cur)
{
	for (; cur->file < cur->set->n_files; cur->file++) {
		const struct tt_query_file *f = &cur->set->files[cur->file];

		if (cur->only && strcmp(cur->only, f->path) != 0)
			continue;
		if (f->last_ns && f->last_ns <= INT64_MAX &&
		    cur->ts_min > (sqlite3_int64)f->last_ns)
			continue;
		if (f->first_ns && f->last_ns <= INT64_MAX &&
		    cur->ts_max < (sqlite3_int64)f->first_ns)
			continue;
		if (tt_query_scan_open(&cur->scan, cur->set, cur->file) < 0)
			return fail(cur);
		/* a failed seek (e.g. no index) only costs reading from the start */
		if (cur->ts_min > 0)
			tt_fmt_reader_seek_time(cur->scan.r, (uint64_t)cur->ts_min);
		return SQLITE_OK;
	}
	cur->eof = 1;
	return SQLITE_OK;
}

static int ev_next(sqlite3_vtab_cursor *c)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;
	int ret, rc;

	for (;;) {
		ret = tt_query_scan_next(&cur->scan, &cur->ev);
		if (ret < 0)
			return fail(cur);
		if (ret > 0) {
			/* blocks are time-ordered but events inside one need not be */
			sqlite3_int64 ts = (sqlite3_int64)cur->ev.ts_ns;

			if (ts < cur->ts_min)
				continue;
			if (ts <= cur->ts_max) {
				cur->rowid++;
				return SQLITE_OK;
			}
			continue;
		}
		tt_query_scan_close(&cur->scan);
		cur->file++;
		rc = open_file(cur);
		if (rc != SQLITE_OK || cur->eof)
			return rc;
	}
}

/* A bound no tighter than the SQL comparison with v: a real rounds outwards. */
static sqlite3_int64 arg_ts(sqlite3_value *v, int upper)
{
	double d;

	switch (sqlite3_value_numeric_type(v)) {
	case SQLITE_INTEGER: return sqlite3_value_int64(v);
	case SQLITE_FLOAT:
		d = sqlite3_value_double(v);
		if (d <= -9.2e18)
			return upper ? (sqlite3_int64)-9.2e18 : INT64_MIN;
		if (d >= 9.2e18)
			return upper ? INT64_MAX : (sqlite3_int64)9.2e18;
		return upper ? (sqlite3_int64)ceil(d) : (sqlite3_int64)floor(d);
	default:
		/* text or NULL compares in ways a range cannot express: no bound */
		return upper ? INT64_MAX : INT64_MIN;
	}
}

static int ev_filter(sqlite3_vtab_cursor *c, int idxNum, const char *idxStr, int argc,
		     sqlite3_value **argv)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;
	int a = 0, rc;

	(void)idxStr;
	(void)argc;
	tt_query_scan_close(&cur->scan);
	cur->file = 0;
	cur->rowid = 0;
	cur->eof = 0;
	sqlite3_free(cur->only);
	cur->only = NULL;
	cur->ts_min = INT64_MIN;
	cur->ts_max = INT64_MAX;
	if (idxNum & IDX_FILE) {
		const unsigned char *f = sqlite3_value_text(argv[a++]);

		if (!f) {
			cur->eof = 1; /* file = NULL matches nothing */
			return SQLITE_OK;
		}
		cur->only = sqlite3_mprintf("%s", f);
		if (!cur->only)
			return SQLITE_NOMEM;
	}
	if (idxNum & IDX_TS_MIN)
		cur->ts_min = arg_ts(argv[a++], 0);
	if (idxNum & IDX_TS_MAX)
		cur->ts_max = arg_ts(argv[(idxNum & IDX_TS_MIN) && a == argc ? a - 1 : a], 1);
	rc = open_file(cur);
	if (rc != SQLITE_OK || cur->eof)
		return rc;
	return ev_next(c);
}

static int ev_eof(sqlite3_vtab_cursor *c)
{
	return ((struct ev_cursor *)c)->eof;
}

static int ev_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	tt_query_event_column(ctx, cur->set, cur->file, &cur->ev, col);
	return SQLITE_OK;
}

static int ev_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	/* unique within a scan; stable for the same query on the same files */
	*rowid = ((sqlite3_int64)cur->file << 40) + cur->rowid;
	return SQLITE_OK;
}

static const sqlite3_module events_module = {
    .iVersion = 0,
    .xCreate = ev_connect,	 /* CREATE VIRTUAL TABLE: nothing to store */
    .xConnect = ev_connect,	 /* declare the columns, bind the capture set */
    .xBestIndex = ev_best_index, /* file = ?, ts ranges */
    .xDisconnect = ev_disconnect,
    .xDestroy = ev_disconnect,
    .xOpen = ev_open, /* a cursor owns its own reader */
    .xClose = ev_close,
    .xFilter = ev_filter, /* start a scan: first allowed file, seek by ts */
    .xNext = ev_next,	  /* next event, crossing files */
    .xEof = ev_eof,
    .xColumn = ev_column, /* decode one column of the current event */
    .xRowid = ev_rowid,
    /* read-only: no xUpdate, transactions, renames or shadow tables */
};

int tt_query_register_events(sqlite3 *db, struct tt_query_set *set)
{
	return sqlite3_create_module(db, "tt_events", &events_module, set);
}
