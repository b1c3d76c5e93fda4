// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer harness for tcptop-query's virtual tables over a fuzzed capture
 * (fuzz.h): every table read in full, every column of every row fetched,
 * and the scans the planner hands constraints to (events by time and by
 * connection, a GROUP BY through query/group.c with a budget small enough
 * to take several passes on the largest inputs). Warnings go to stderr: run
 * with -close_fd_mask=2.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "query.h"
#include "fuzz.h"

/* Each scans the events once (a join would scan them once per connection). */
static const char *const queries[] = {
    "SELECT * FROM events_v",
    "SELECT * FROM connections_v",
    "SELECT count(*), min(ts), max(ts) FROM events WHERE ts >= (SELECT end_ns FROM capture) - "
    "((SELECT end_ns - start_ns FROM capture) / 2)",
    "SELECT * FROM events WHERE conn_id = (SELECT id FROM connections LIMIT 1 OFFSET 1)",
    "SELECT conn_id, kind, count(*), sum(ts % 1000) FROM events GROUP BY conn_id, kind",
};

static void run(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < sqlite3_column_count(st); i++)
			(void)sqlite3_column_text(st, i);
	sqlite3_finalize(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_query_set set;
	const char *path;
	char err[256], sql[128];
	sqlite3 *db;
	int fd = fuzz_input_fd(data, size, &path);

	if (fd < 0)
		return 0;
	close(fd);
	char *paths[1] = {(char *)path};
	if (tt_query_set_open(&set, "fuzz_query", paths, 1) < 0) {
		tt_query_set_free(&set); /* the tool exits here; what it opened is freed */
		return 0;
	}
	set.group_budget = 256 << 10; /* a few passes on the largest inputs */
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
		SQLITE_OK &&
	    tt_query_setup_virtual(db, &set, err, sizeof(err)) == SQLITE_OK) {
		for (int t = 0; tt_query_tables[t].name; t++) {
			if (t == TQ_T_EVENTS || t == TQ_T_CONNECTIONS)
				continue; /* the views below read them */
			snprintf(sql, sizeof(sql), "SELECT * FROM %s", tt_query_tables[t].name);
			run(db, sql);
		}
		for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
			run(db, queries[i]);
	}
	sqlite3_close(db);
	tt_query_set_free(&set);
	return 0;
}
