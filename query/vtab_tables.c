/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The virtual tables over rows held in memory: capture (the file headers),
 * connections, processes and lost (the summary, built by one pass over the
 * files the first time one of them is scanned). One module serves the four;
 * the module's client data says which table it is.
 */
#include <stdlib.h>
#include <string.h>

#include "query.h"

struct rows_aux {
	struct tt_query_set *set;
	int table; /* TQ_T_* */
};

struct rows_vtab {
	sqlite3_vtab base; /* must come first */
	struct rows_aux *aux;
};

struct rows_cursor {
	sqlite3_vtab_cursor base; /* must come first */
	struct rows_aux *aux;
	const struct tt_query_summary *s; /* NULL for capture */
	size_t row, n;
};

static int rows_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			sqlite3_vtab **out, char **errmsg)
{
	struct rows_aux *a = aux;
	int rc;

	(void)argc;
	(void)argv;
	(void)errmsg;
	rc = tt_query_vtab_declare(db, a->table, sizeof(struct rows_vtab), out);
	if (rc == SQLITE_OK)
		((struct rows_vtab *)*out)->aux = a;
	return rc;
}

static int rows_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
	const struct rows_aux *a = ((struct rows_vtab *)vt)->aux;

	/* a scan is cheap once built; tell the planner to prefer these as outer loops */
	ii->estimatedCost = a->table == TQ_T_CAPTURE ? 10 : 1e5;
	ii->estimatedRows = a->table == TQ_T_CAPTURE ? 10 : 1e5;
	return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
	struct rows_cursor *cur = sqlite3_malloc(sizeof(*cur));

	if (!cur)
		return SQLITE_NOMEM;
	memset(cur, 0, sizeof(*cur));
	cur->aux = ((struct rows_vtab *)vtab)->aux;
	*out = &cur->base;
	return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *c, int idxNum, const char *idxStr, int argc,
		       sqlite3_value **argv)
{
	struct rows_cursor *cur = (struct rows_cursor *)c;
	struct tt_query_set *set = cur->aux->set;

	(void)idxNum;
	(void)idxStr;
	(void)argc;
	(void)argv;
	cur->row = 0;
	if (cur->aux->table == TQ_T_CAPTURE) {
		cur->n = set->n_files;
		return SQLITE_OK;
	}
	cur->s = tt_query_summary_get(set);
	if (!cur->s) {
		sqlite3_free(c->pVtab->zErrMsg);
		c->pVtab->zErrMsg = sqlite3_mprintf("%s", set->err);
		return SQLITE_ERROR;
	}
	switch (cur->aux->table) {
	case TQ_T_CONNECTIONS: cur->n = cur->s->n_conns; break;
	case TQ_T_PROCESSES: cur->n = cur->s->n_procs; break;
	case TQ_T_SAMPLES: cur->n = cur->s->n_samples; break;
	case TQ_T_STALLS: cur->n = cur->s->n_stalls; break;
	case TQ_T_LISTENERS: cur->n = cur->s->n_listeners; break;
	case TQ_T_DROPS: cur->n = cur->s->n_drops; break;
	default: cur->n = cur->s->n_lost; break;
	}
	return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *c)
{
	((struct rows_cursor *)c)->row++;
	return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *c)
{
	const struct rows_cursor *cur = (const struct rows_cursor *)c;

	return cur->row >= cur->n;
}

static int rows_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	struct rows_cursor *cur = (struct rows_cursor *)c;
	struct tt_query_set *set = cur->aux->set;

	switch (cur->aux->table) {
	case TQ_T_CAPTURE: tt_query_capture_column(ctx, set, cur->row, col); break;
	case TQ_T_SAMPLES: tt_query_sample_column(ctx, set, &cur->s->samples[cur->row], col); break;
	case TQ_T_STALLS: tt_query_stall_column(ctx, set, &cur->s->stalls[cur->row], col); break;
	case TQ_T_CONNECTIONS: tt_query_conn_column(ctx, set, &cur->s->conns[cur->row], col); break;
	case TQ_T_PROCESSES: tt_query_proc_column(ctx, set, &cur->s->procs[cur->row], col); break;
	case TQ_T_LISTENERS:
		tt_query_listener_column(ctx, set, &cur->s->listeners[cur->row], col);
		break;
	case TQ_T_DROPS: tt_query_drop_column(ctx, set, &cur->s->drops[cur->row], col); break;
	default: tt_query_lost_column(ctx, set, &cur->s->lost[cur->row], col); break;
	}
	return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct rows_cursor *)c)->row + 1;
	return SQLITE_OK;
}

static const sqlite3_module rows_module = {
    .iVersion = 0,
    .xCreate = rows_connect,	   /* CREATE VIRTUAL TABLE: nothing to store */
    .xConnect = rows_connect,	   /* declare the columns of the table in aux */
    .xBestIndex = rows_best_index, /* full scans only: the rows are in memory */
    .xDisconnect = tt_query_vtab_free,
    .xDestroy = tt_query_vtab_free,
    .xOpen = rows_open,
    .xClose = rows_close,
    .xFilter = rows_filter, /* builds the summary on first use */
    .xNext = rows_next,
    .xEof = rows_eof,
    .xColumn = rows_column,
    .xRowid = rows_rowid,
    /* read-only: no xUpdate, transactions, renames or shadow tables */
};

int tt_query_register_modules(sqlite3 *db, struct tt_query_set *set)
{
	static const struct {
		const char *module;
		int table;
	} mods[] = {
	    {"tt_capture", TQ_T_CAPTURE},     {"tt_connections", TQ_T_CONNECTIONS},
	    {"tt_processes", TQ_T_PROCESSES}, {"tt_lost", TQ_T_LOST},
	    {"tt_listeners", TQ_T_LISTENERS}, {"tt_drops", TQ_T_DROPS},
	    {"tt_samples", TQ_T_SAMPLES},     {"tt_stalls", TQ_T_STALLS},
	};
	int rc = tt_query_register_events(db, set);

	for (size_t i = 0; rc == SQLITE_OK && i < sizeof(mods) / sizeof(mods[0]); i++) {
		struct rows_aux *a = malloc(sizeof(*a));

		if (!a)
			return SQLITE_NOMEM;
		a->set = set;
		a->table = mods[i].table;
		/* SQLite frees aux with free() when the connection closes */
		rc = sqlite3_create_module_v2(db, mods[i].module, &rows_module, a, free);
	}
	return rc;
}
