/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The `events` virtual table: streams the capture files on every scan, so a
 * query over a large capture needs no load and little memory. Constraints on
 * `file` (=) skip other files, and on `ts` (>, >=, =, <, <=) seek by block
 * header and skip files outside the range; SQLite re-checks them all (omit
 * stays 0), so these only have to be conservative. Blocks need not be in time
 * order, so the scan never stops early inside a file. The order a GROUP BY
 * (or a DISTINCT with an ORDER BY) needs on key columns is delivered by a
 * grouped scan (group.c) instead, so that SQLite needs no sorter.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
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
	struct tt_query_stream st;
	char *only; /* file = ? constraint (a copy: argv dies with xFilter), or NULL */
	sqlite3_int64 rowid;
	int eof;
	/* grouped scan (GROUP BY, DISTINCT), created by the first xFilter that asks for it */
	struct tt_query_group *group;
};

static int ev_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **errmsg)
{
	int rc;

	(void)argc;
	(void)argv;
	(void)errmsg;
	rc = tt_query_vtab_declare(db, TQ_T_EVENTS, sizeof(struct ev_vtab), out);
	if (rc == SQLITE_OK)
		((struct ev_vtab *)*out)->set = aux;
	return rc;
}

/*
 * An order on key columns for a GROUP BY or a DISTINCT ... ORDER BY: a grouped
 * scan delivers the rows in that order itself (group.c), so SQLite needs no
 * sorter. The rows come fully ordered, not only grouped as
 * sqlite3_vtab_distinct() 1 asks: SQLite 3.40 relies on that order for an
 * ORDER BY equal to the GROUP BY. idxStr carries the plan to xFilter: "g USED ONE COL:DESC...",
 * USED a hex column mask, ONE 1 when one row per group is enough.
 */
static int best_grouped(struct sqlite3_index_info *ii)
{
	uint64_t keys = 0, ok = tt_query_group_keys_ok(), used = ii->colUsed;
	char terms[64 * 8] = "";
	size_t n = 0;
	int distinct, one;

	if (ii->nOrderBy < 1 || ii->nOrderBy > 64)
		return SQLITE_OK;
	for (int i = 0; i < ii->nOrderBy; i++) {
		int c = ii->aOrderBy[i].iColumn;

		if (c < 0 || c >= 63 || !(ok & TQ_COL(c)))
			return SQLITE_OK;
		keys |= TQ_COL(c);
		n += (size_t)snprintf(terms + n, sizeof(terms) - n, " %d:%d", c,
				      ii->aOrderBy[i].desc ? 1 : 0);
	}
	/*
	 * 1: GROUP BY, 3: DISTINCT with an ORDER BY; both read every row whatever
	 * the LIMIT. Not 0 (a plain ORDER BY: with a LIMIT, SQLite keeps the top N
	 * only) nor 2 (DISTINCT alone: SQLite dedups without sorting and a LIMIT
	 * stops it early), where reading everything first would cost more.
	 */
	distinct = sqlite3_vtab_distinct(ii);
	if (distinct != 1 && distinct != 3)
		return SQLITE_OK;
	/* colUsed bit 63 stands for every column from 63 on: there are fewer */
	used &= ~((uint64_t)1 << 63);
	/* DISTINCT may drop rows equal in every used column: with only keys used, all but one */
	one = distinct == 3 && (used & ~keys) == 0;
	ii->idxStr = sqlite3_mprintf("g %llx %d%s", (unsigned long long)used, one, terms);
	if (!ii->idxStr)
		return SQLITE_NOMEM;
	ii->needToFreeIdxStr = 1;
	ii->orderByConsumed = 1;
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
	return best_grouped(ii);
}

static int ev_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
	struct ev_cursor *cur = sqlite3_malloc(sizeof(*cur));

	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	cur->set = ((struct ev_vtab *)vtab)->set;
	cur->st.set = cur->set;
	cur->eof = 1;
	*out = &cur->base;
	return SQLITE_OK;
}

static int ev_close(sqlite3_vtab_cursor *c)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	tt_query_stream_close(&cur->st);
	if (cur->group && cur->set->debug) {
		unsigned passes;
		size_t giants, peak;

		tt_query_group_stats(cur->group, &passes, &giants, &peak);
		fprintf(stderr, "%s: debug: grouped scan: %u passes, %zu alone, peak %zu bytes\n",
			cur->set->prog, passes, giants, peak);
	}
	tt_query_group_free(cur->group);
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

static int ev_next(sqlite3_vtab_cursor *c)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;
	int ret;

	if (cur->group)
		ret = tt_query_group_next(cur->group);
	else
		ret = tt_query_stream_next(&cur->st);
	if (ret < 0)
		return fail(cur);
	if (ret == 0)
		cur->eof = 1;
	else
		cur->rowid++;
	return SQLITE_OK;
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

/* The grouped scan idxStr asks for, made on first use (same plan: same idxStr). */
static int want_group(struct ev_cursor *cur, const char *idxStr)
{
	int cols[64], desc[64], n = 0, one, used_n;
	unsigned long long used;
	const char *p;

	if (!idxStr || sscanf(idxStr, "g %llx %d%n", &used, &one, &used_n) != 2) {
		tt_query_group_free(cur->group);
		cur->group = NULL;
		return SQLITE_OK;
	}
	if (cur->group)
		return SQLITE_OK;
	for (p = idxStr + used_n; n < 64; n++) {
		int len;

		if (sscanf(p, " %d:%d%n", &cols[n], &desc[n], &len) != 2)
			break;
		p += len;
	}
	if (tt_query_group_new(&cur->group, cur->set, cols, desc, n, used, one) < 0)
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

static int ev_filter(sqlite3_vtab_cursor *c, int idxNum, const char *idxStr, int argc,
		     sqlite3_value **argv)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;
	int a = 0, rc;

	tt_query_stream_close(&cur->st);
	cur->rowid = 0;
	cur->eof = 0;
	sqlite3_free(cur->only);
	cur->only = NULL;
	cur->st.only = NULL;
	cur->st.ts_min = INT64_MIN;
	cur->st.ts_max = INT64_MAX;
	rc = want_group(cur, idxStr);
	if (rc != SQLITE_OK)
		return rc;
	if (idxNum & IDX_FILE) {
		const unsigned char *f = sqlite3_value_text(argv[a++]);

		if (!f) {
			cur->eof = 1; /* file = NULL matches nothing */
			return SQLITE_OK;
		}
		cur->only = sqlite3_mprintf("%s", f);
		if (!cur->only)
			return SQLITE_NOMEM;
		cur->st.only = cur->only;
	}
	if (idxNum & IDX_TS_MIN)
		cur->st.ts_min = arg_ts(argv[a++], 0);
	if (idxNum & IDX_TS_MAX)
		cur->st.ts_max = arg_ts(argv[(idxNum & IDX_TS_MIN) && a == argc ? a - 1 : a], 1);
	if (cur->group) {
		if (tt_query_group_start(cur->group, &cur->st) < 0)
			return fail(cur);
	} else if (tt_query_stream_start(&cur->st) < 0) {
		return fail(cur);
	}
	cur->rowid = -1;
	return ev_next(c);
}

static int ev_eof(sqlite3_vtab_cursor *c)
{
	return ((struct ev_cursor *)c)->eof;
}

static int ev_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	if (cur->group)
		tt_query_group_column(cur->group, ctx, col);
	else
		tt_query_event_column(ctx, cur->set, cur->st.file, &cur->st.ev, col);
	return SQLITE_OK;
}

static int ev_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	struct ev_cursor *cur = (struct ev_cursor *)c;

	/* unique within a scan; stable for the same query on the same files */
	if (cur->group)
		*rowid = cur->rowid;
	else
		*rowid = ((sqlite3_int64)cur->st.file << 40) + cur->rowid;
	return SQLITE_OK;
}

static const sqlite3_module events_module = {
    .iVersion = 0,
    .xCreate = ev_connect,	 /* CREATE VIRTUAL TABLE: nothing to store */
    .xConnect = ev_connect,	 /* declare the columns, bind the capture set */
    .xBestIndex = ev_best_index, /* file = ?, ts ranges, grouped GROUP BY / DISTINCT */
    .xDisconnect = tt_query_vtab_free,
    .xDestroy = tt_query_vtab_free,
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
