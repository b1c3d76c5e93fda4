/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The SQL schema of tcptop-query: one list of tables and columns used for the
 * virtual table declarations, for the real tables --db writes, and for
 * --schema and docs/QUERY.md. Column names are an interface: scripts depend
 * on them, so only add, never rename.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "query.h"

#define ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct tt_query_col capture_cols[] = {
    {"file", TQ_TEXT, "capture file as given on the command line"},
    {"host", TQ_TEXT, "host name of the recording machine"},
    {"kernel", TQ_TEXT, "uname -r of the recording machine"},
    {"boot_id", TQ_TEXT, "boot id of the recording machine"},
    {"start_ns", TQ_INT, "wall clock ns when the capture began"},
    {"end_ns", TQ_INT, "wall clock ns of the last event (from block headers)"},
    {"mode", TQ_TEXT, "'coalesce', 'raw', ..."},
    {"coalesce_ms", TQ_INT, "coalescing interval in coalesce mode, else 0"},
    {"filters", TQ_TEXT, "filters in force while recording, '' for none"},
    {"probes", TQ_TEXT, "attach points in use"},
    {"tool_version", TQ_TEXT, "tcptop version that wrote the file"},
    {"format_version", TQ_TEXT, "capture format version 'MAJOR.MINOR'"},
    {"clock", TQ_TEXT, "event clock of the recorder ('boottime')"},
    {"events", TQ_INT, "events readable in the file (reading this column reads the file)"},
    {"warnings", TQ_INT, "reader warnings (damage) while reading the file"},
};

static const struct tt_query_col conn_cols[] = {
    {"file", TQ_TEXT, "capture file"},
    {"host", TQ_TEXT, "host name of the recording machine"},
    {"id", TQ_INT, "connection id (socket cookie, or flow id for UDP)"},
    {"proto", TQ_TEXT, "'tcp' or 'udp'; NULL if the open was not captured"},
    {"family", TQ_INT, "4 or 6"},
    {"laddr", TQ_TEXT, "local address"},
    {"lport", TQ_INT, "local port"},
    {"raddr", TQ_TEXT, "remote address, NULL for an unconnected UDP flow"},
    {"rport", TQ_INT, "remote port"},
    {"direction", TQ_TEXT, "'out' (connect), 'in' (accept) or NULL"},
    {"pid", TQ_INT, "process id, NULL if never known"},
    {"comm", TQ_TEXT, "process name"},
    {"cgroup", TQ_INT, "cgroup v2 id"},
    {"netns", TQ_INT, "network namespace inode"},
    {"first_ts", TQ_INT, "wall ns of its first event"},
    {"last_ts", TQ_INT, "wall ns of its last event"},
    {"close_ts", TQ_INT, "wall ns of its close, NULL while open"},
    {"tx_bytes", TQ_INT, "bytes sent (sum of traffic deltas, or the close's counters if larger)"},
    {"rx_bytes", TQ_INT, "bytes received"},
    {"tx_packets", TQ_INT, "segments / datagrams sent"},
    {"rx_packets", TQ_INT, "segments / datagrams received"},
    {"state", TQ_TEXT, "last TCP state ('ESTABLISHED', 'CLOSE', ...), NULL for UDP"},
    {"rtt_us", TQ_INT, "last smoothed RTT in microseconds, NULL if never sampled"},
    {"max_rtt_us", TQ_INT, "largest smoothed RTT sample"},
    {"retransmits", TQ_INT, "retransmitted segments"},
    {"resets", TQ_INT, "RSTs sent or received"},
    {"closed", TQ_INT, "1 if its close was captured, else 0"},
    {"preexisting", TQ_INT, "1 if it was open before the capture began"},
    {"events", TQ_INT, "events about this connection"},
};

static const struct tt_query_col event_cols[] = {
    {"file", TQ_TEXT, "capture file"},
    {"host", TQ_TEXT, "host name of the recording machine"},
    {"ts", TQ_INT, "wall clock ns since the epoch"},
    {"kind", TQ_TEXT,
     "open traffic state rtt retrans reset close conn_proc exec exit "
     "proc_name lost stats (see docs/QUERY.md)"},
    {"conn_id", TQ_INT, "connection id, NULL when not about a connection"},
    {"pid", TQ_INT, "process id, NULL when unknown"},
    {"tid", TQ_INT, "thread id, NULL when unknown"},
    {"flags", TQ_INT, "TT_F_* bits (1 preexisting, 2 pid unknown, 4 raw)"},
    {"tx_bytes", TQ_INT, "traffic: delta; close: absolute"},
    {"rx_bytes", TQ_INT, "traffic: delta; close: absolute"},
    {"tx_packets", TQ_INT, "traffic: delta; close: absolute"},
    {"rx_packets", TQ_INT, "traffic: delta; close: absolute"},
    {"tx_calls", TQ_INT, "traffic: send calls"},
    {"rx_calls", TQ_INT, "traffic: recv calls"},
    {"old_state", TQ_TEXT, "state: TCP state before"},
    {"new_state", TQ_TEXT, "state: TCP state after"},
    {"state", TQ_TEXT, "open, retrans, reset, close: TCP state at the time"},
    {"rtt_us", TQ_INT, "rtt: smoothed RTT; close: last smoothed RTT"},
    {"rttvar_us", TQ_INT, "rtt: RTT variance"},
    {"retrans", TQ_INT, "retrans: segments; close: total retransmitted segments"},
    {"reset_dir", TQ_TEXT, "reset: 'sent' or 'received'"},
    {"proto", TQ_TEXT, "open: 'tcp' or 'udp'"},
    {"family", TQ_INT, "open: 4 or 6"},
    {"laddr", TQ_TEXT, "open: local address"},
    {"lport", TQ_INT, "open: local port"},
    {"raddr", TQ_TEXT, "open: remote address"},
    {"rport", TQ_INT, "open: remote port"},
    {"direction", TQ_TEXT, "open: 'out', 'in' or NULL"},
    {"netns", TQ_INT, "open: network namespace inode"},
    {"cgroup", TQ_INT, "open: cgroup v2 id"},
    {"comm", TQ_TEXT, "open, conn_proc, exec, exit, proc_name: process name"},
    {"ppid", TQ_INT, "conn_proc, exec, exit, proc_name: parent pid"},
    {"exit_code", TQ_INT, "exit: exit code"},
    {"lost", TQ_INT, "lost: events lost; stats: events lost so far"},
    {"cpu", TQ_INT, "lost: cpu"},
    {"stat_events", TQ_INT, "stats: events received so far"},
    {"stat_conns", TQ_INT, "stats: connections seen so far"},
    {"stat_bytes", TQ_INT, "stats: capture bytes written so far"},
};

static const struct tt_query_col proc_cols[] = {
    {"file", TQ_TEXT, "capture file"},
    {"host", TQ_TEXT, "host name of the recording machine"},
    {"pid", TQ_INT, "process id (a pid reused after an exit is a new row)"},
    {"comm", TQ_TEXT, "last known name"},
    {"ppid", TQ_INT, "parent pid, NULL if unknown"},
    {"first_ts", TQ_INT, "wall ns of its first event"},
    {"last_ts", TQ_INT, "wall ns of its last event"},
    {"exit_ts", TQ_INT, "wall ns of its exit, NULL if not seen"},
    {"exit_code", TQ_INT, "exit code, NULL if not seen"},
    {"execs", TQ_INT, "exec events seen"},
    {"connections", TQ_INT, "connections attributed to it"},
};

static const struct tt_query_col lost_cols[] = {
    {"file", TQ_TEXT, "capture file"},
    {"host", TQ_TEXT, "host name of the recording machine"},
    {"ts", TQ_INT, "wall ns of the LOST record"},
    {"cpu", TQ_INT, "cpu whose events were lost"},
    {"count", TQ_INT, "events lost since the previous record for this cpu"},
};

const struct tt_query_table tt_query_tables[] = {
    [TQ_T_CAPTURE] = {"capture", "one row per capture file", capture_cols,
		      ARRAY_SIZE(capture_cols)},
    [TQ_T_CONNECTIONS] = {"connections", "one row per connection per file", conn_cols,
			  ARRAY_SIZE(conn_cols)},
    [TQ_T_EVENTS] = {"events", "every event, file by file, in file order", event_cols,
		     ARRAY_SIZE(event_cols)},
    [TQ_T_PROCESSES] = {"processes", "one row per process per file", proc_cols,
			ARRAY_SIZE(proc_cols)},
    [TQ_T_LOST] = {"lost", "one row per LOST record", lost_cols, ARRAY_SIZE(lost_cols)},
    [TQ_T_MAX] = {NULL, NULL, NULL, 0},
};

/* Microsecond wall time in core SQL, so the views also work in the sqlite3 shell. */
#define TIME_EXPR(c)                                                                               \
	"strftime('%Y-%m-%d %H:%M:%S', " c " / 1000000000, 'unixepoch') || "                       \
	"printf('.%06d', (" c " / 1000) % 1000000)"

const char *const tt_query_views_sql = "CREATE VIEW events_v AS SELECT " TIME_EXPR(
    "ts") " AS time, * FROM events;\n"
	  "CREATE VIEW connections_v AS SELECT " TIME_EXPR("first_ts") " AS first_time, " TIME_EXPR(
	      "last_ts") " AS last_time, (last_ts - first_ts) / 1e9 AS duration_s, "
			 "* FROM connections;\n"
			 "CREATE VIEW processes_v AS SELECT " TIME_EXPR(
			     "first_ts") " AS first_time, " TIME_EXPR("last_ts") " AS last_time, * "
										 "FROM processes;\n"
										 "CREATE VIEW "
										 "lost_v AS "
										 "SELECT"
										 " " TIME_EXPR(
										     "ts") " AS "
											   "time, "
											   "* FROM "
											   "lost;"
											   "\n";

static const char *type_name(enum tt_query_type t)
{
	switch (t) {
	case TQ_INT: return "INTEGER";
	case TQ_REAL: return "REAL";
	default: return "TEXT";
	}
}

char *tt_query_table_sql(const struct tt_query_table *t, const char *schema, const char *name,
			 char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "CREATE TABLE %s%s%s(", schema ? schema : "",
				    schema ? "." : "", name ? name : t->name);

	for (int i = 0; i < t->n_cols && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s %s", i ? ", " : "", t->cols[i].name,
				      type_name(t->cols[i].type));
	if (n < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

void tt_query_print_schema(void)
{
	for (int t = 0; tt_query_tables[t].name; t++) {
		const struct tt_query_table *tb = &tt_query_tables[t];

		printf("-- %s\nCREATE TABLE %s (\n", tb->doc, tb->name);
		for (int i = 0; i < tb->n_cols; i++) {
			char decl[64];

			snprintf(decl, sizeof(decl), "%s %s%s", tb->cols[i].name,
				 type_name(tb->cols[i].type), i + 1 < tb->n_cols ? "," : "");
			printf("\t%-24s -- %s\n", decl, tb->cols[i].doc);
		}
		printf(");\n\n");
	}
	printf("-- the same tables with readable UTC times ('2026-11-25 10:56:25.123456')\n%s\n",
	       tt_query_views_sql);
	printf("-- functions\n"
	       "-- tt_time(ns)  wall ns -> '2026-11-25 10:56:25.123456' (UTC), NULL for NULL\n"
	       "-- tt_iso(ns)   wall ns -> '2026-11-25T10:56:25.123456789Z'\n");
}

static void time_str(uint64_t ns, int iso, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char day[40];

	gmtime_r(&s, &tm);
	if (iso) {
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%09lluZ", day, (unsigned long long)(ns % 1000000000ull));
	} else {
		strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(buf, len, "%s.%06llu", day,
			 (unsigned long long)(ns % 1000000000ull / 1000));
	}
}

static void fn_time(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char buf[64];
	sqlite3_int64 v;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return sqlite3_result_null(ctx);
	v = sqlite3_value_int64(argv[0]);
	if (v < 0)
		return sqlite3_result_null(ctx);
	time_str((uint64_t)v, sqlite3_user_data(ctx) != NULL, buf, sizeof(buf));
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

int tt_query_register_functions(sqlite3 *db)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
	int rc;

	rc = sqlite3_create_function(db, "tt_time", 1, flags, NULL, fn_time, NULL, NULL);
	/* any non-NULL user data selects the ISO form */
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "tt_iso", 1, flags, (void *)"iso", fn_time, NULL,
					     NULL);
	return rc;
}
