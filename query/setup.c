/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Putting the tables in a database: as virtual tables over the captures (the
 * default: nothing is loaded, `events` streams), or materialized into a real
 * SQLite file for --db, which the sqlite3 shell then opens without us.
 */
#include <stdio.h>
#include <string.h>

#include "query.h"

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

static int vtabs(sqlite3 *db, const char *schema, const char *prefix, char *err, size_t errlen)
{
	for (int t = 0; tt_query_tables[t].name; t++) {
		char sql[256];
		int rc;

		snprintf(sql, sizeof(sql), "CREATE VIRTUAL TABLE %s.%s%s USING tt_%s", schema,
			 prefix, tt_query_tables[t].name, tt_query_tables[t].name);
		rc = exec(db, sql, err, errlen);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

int tt_query_setup_virtual(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen)
{
	int rc = tt_query_register_functions(db);

	if (rc == SQLITE_OK)
		rc = tt_query_register_modules(db, set);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return rc;
	}
	rc = vtabs(db, "main", "", err, errlen);
	if (rc == SQLITE_OK)
		rc = exec(db, tt_query_views_sql, err, errlen);
	return rc;
}

/* Indexes for the joins people write: events to their connection, connections by port. */
static const char *const index_sql = "CREATE INDEX events_conn ON events(file, conn_id);\n"
				     "CREATE INDEX events_ts ON events(ts);\n"
				     "CREATE INDEX connections_id ON connections(file, id);\n";

int tt_query_setup_db(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen)
{
	char sql[8192];
	int rc = tt_query_register_functions(db);

	if (rc == SQLITE_OK)
		rc = tt_query_register_modules(db, set);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return rc;
	}
	/* a fresh file written in one transaction: no journal needed, a failure discards it */
	rc = exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN", err, errlen);
	if (rc == SQLITE_OK)
		rc = vtabs(db, "temp", "tt_", err, errlen);
	for (int t = 0; rc == SQLITE_OK && tt_query_tables[t].name; t++) {
		const char *name = tt_query_tables[t].name;
		size_t n;

		tt_query_table_sql(&tt_query_tables[t], "main", NULL, sql, sizeof(sql));
		n = strlen(sql);
		snprintf(sql + n, sizeof(sql) - n,
			 ";\nINSERT INTO main.%s SELECT * FROM temp.tt_%s", name, name);
		rc = exec(db, sql, err, errlen);
	}
	for (int t = 0; rc == SQLITE_OK && tt_query_tables[t].name; t++) {
		snprintf(sql, sizeof(sql), "DROP TABLE temp.tt_%s", tt_query_tables[t].name);
		rc = exec(db, sql, err, errlen);
	}
	if (rc == SQLITE_OK)
		rc = exec(db, index_sql, err, errlen);
	if (rc == SQLITE_OK)
		rc = exec(db, tt_query_views_sql, err, errlen);
	if (rc == SQLITE_OK)
		rc = exec(db, "COMMIT", err, errlen);
	return rc;
}
