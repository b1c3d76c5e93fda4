/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The SQL schema of tcptop-query: one list of tables and columns used for the
 * virtual table declarations, for the real tables --db writes, and for
 * --schema and docs/QUERY.md. Column names are an interface: scripts depend
 * on them, so only add, never rename.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event_cols.h"
#include "query.h"

#define ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define NN 1 /* never NULL (NOT NULL in the PostgreSQL and ClickHouse tables) */
#define NL 0 /* NULL when it does not apply or is not known */

static const struct tt_query_col capture_cols[] = {
    {"file", TQ_TEXT, "capture file as given on the command line", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"kernel", TQ_TEXT, "uname -r of the recording machine", NN},
    {"boot_id", TQ_TEXT, "boot id of the recording machine", NN},
    {"start_ns", TQ_INT, "wall clock ns when the capture began", NN},
    {"end_ns", TQ_INT, "wall clock ns of the last event (from block headers), NULL while written",
     NL},
    {"mode", TQ_TEXT, "'coalesce', 'raw', ...", NN},
    {"coalesce_ms", TQ_INT, "coalescing interval in coalesce mode, else 0", NN},
    {"filters", TQ_TEXT, "filters in force while recording, '' for none", NN},
    {"probes", TQ_TEXT, "attach points in use", NN},
    {"tool_version", TQ_TEXT, "tcptop version that wrote the file", NN},
    {"format_version", TQ_TEXT, "capture format version 'MAJOR.MINOR'", NN},
    {"clock", TQ_TEXT, "event clock of the recorder ('boottime')", NN},
    {"events", TQ_INT, "events readable in the file (reading this column reads the file)", NN},
    {"warnings", TQ_INT, "reader warnings (damage) while reading the file", NN},
    {"missing", TQ_TEXT,
     "capabilities the recorder lacked: 'name (why): what the data lacks; ...', '' for none", NN},
    {"raw_slice_ns", TQ_INT, "raw mode: a socket's TCP calls summed per this, 0: one per call", NN},
    {"writing", TQ_INT,
     "1: a recorder was still writing it, read up to its last flush (end_ns NULL), else 0", NN},
};

static const struct tt_query_col conn_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"id", TQ_INT, "connection id (socket cookie, or flow id for UDP)", NN},
    {"proto", TQ_TEXT, "'tcp' or 'udp'; NULL if the open was not captured", NL},
    {"family", TQ_INT, "4 or 6", NL},
    {"laddr", TQ_TEXT, "local address", NL},
    {"lport", TQ_INT, "local port", NL},
    {"raddr", TQ_TEXT, "remote address, NULL for an unconnected UDP flow", NL},
    {"rport", TQ_INT, "remote port", NL},
    {"direction", TQ_TEXT, "'out' (connect), 'in' (accept) or NULL", NL},
    {"pid", TQ_INT, "process id, NULL if never known", NL},
    {"comm", TQ_TEXT, "process name", NL},
    {"cgroup", TQ_INT, "cgroup v2 id", NL},
    {"netns", TQ_INT, "network namespace inode", NL},
    {"first_ts", TQ_INT, "wall ns of its first event", NN},
    {"last_ts", TQ_INT, "wall ns of its last event", NN},
    {"close_ts", TQ_INT, "wall ns of its close, NULL while open", NL},
    {"tx_bytes", TQ_INT, "bytes sent (sum of traffic deltas, or the close's counters if larger)",
     NN},
    {"rx_bytes", TQ_INT, "bytes received", NN},
    {"tx_packets", TQ_INT, "segments / datagrams sent", NN},
    {"rx_packets", TQ_INT, "segments / datagrams received", NN},
    {"state", TQ_TEXT, "last TCP state ('ESTABLISHED', 'CLOSED', ...), NULL for UDP", NL},
    {"rtt_us", TQ_INT, "last smoothed RTT in microseconds, NULL if never sampled", NL},
    {"max_rtt_us", TQ_INT, "largest smoothed RTT sample", NL},
    {"retransmits", TQ_INT, "retransmitted segments", NN},
    {"resets", TQ_INT, "RSTs sent or received", NN},
    {"closed", TQ_INT, "1 if its close was captured, else 0", NN},
    {"preexisting", TQ_INT, "1 if it was open before the capture began", NN},
    {"events", TQ_INT, "events about this connection", NN},
    {"community_id", TQ_TEXT,
     "Community ID v1 flow hash ('1:...'), NULL when an address is unknown", NL},
    {"retrans_rto", TQ_INT, "retransmitted segments after a timeout (retrans events, cause rto)",
     NN},
    {"retrans_fast", TQ_INT, "segments fast-retransmitted (SACK/RACK/dupack recovery)", NN},
    {"retrans_tlp", TQ_INT, "tail loss probes that resent a segment", NN},
    {"retrans_spurious", TQ_INT,
     "retransmitted segments the peer reported as duplicates (DSACK): needless", NN},
    {"connect_us", TQ_INT,
     "handshake time: SYN sent to ESTABLISHED (client), SYN-ACK RTT (server); NULL if not seen",
     NL},
    {"accept_wait_us", TQ_INT, "ESTABLISHED to accept() by the process, NULL if not seen", NL},
    {"syn_retrans", TQ_INT, "SYNs (client) or SYN-ACKs (server) retransmitted, NULL if not seen",
     NL},
    {"fail_reason", TQ_TEXT,
     "'refused' 'timeout' 'unreachable' 'reset' 'local-reset' 'abort', NULL if it did not fail",
     NL},
    {"zero_window_ms", TQ_INT,
     "time in zero-window stalls that ended (local and peer sides), NULL for UDP", NL},
};

#define EVENT_COL(name, type, doc, notnull) {#name, type, doc, notnull},
static const struct tt_query_col event_cols[] = {TQ_EVENT_COLS(EVENT_COL)};
#undef EVENT_COL

static const struct tt_query_col proc_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"pid", TQ_INT, "process id (a pid reused after an exit is a new row)", NN},
    {"comm", TQ_TEXT, "last known name", NL},
    {"ppid", TQ_INT, "parent pid, NULL if unknown", NL},
    {"first_ts", TQ_INT, "wall ns of its first event", NN},
    {"last_ts", TQ_INT, "wall ns of its last event", NN},
    {"exit_ts", TQ_INT, "wall ns of its exit, NULL if not seen", NL},
    {"exit_code", TQ_INT, "wait status at exit (as in events), NULL if not seen", NL},
    {"execs", TQ_INT, "exec events seen", NN},
    {"connections", TQ_INT, "connections attributed to it", NN},
};

static const struct tt_query_col lost_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"ts", TQ_INT, "wall ns of the LOST record", NN},
    {"cpu", TQ_INT, "cpu whose events were lost", NN},
    {"count", TQ_INT, "events lost since the previous record for this cpu", NN},
};

/* LISTENER records (docs/QUERY.md: what overflows counts, and why syn_drops is NULL). */
static const struct tt_query_col listener_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"ts", TQ_INT, "wall ns of the record (first sight, or a value changed)", NN},
    {"laddr", TQ_TEXT, "listening address ('0.0.0.0', '::' for any)", NL},
    {"lport", TQ_INT, "listening port", NN},
    {"pid", TQ_INT, "owner's process id, NULL if not known yet", NL},
    {"comm", TQ_TEXT, "owner's process name", NL},
    {"accept_queue", TQ_INT, "connections waiting for accept() (sk_ack_backlog)", NN},
    {"accept_queue_max", TQ_INT, "the accept queue's limit (sk_max_ack_backlog)", NN},
    {"overflows", TQ_INT,
     "drops the kernel counted on this socket so far (sk_drops): its ListenDrops, of which "
     "accept-queue overflows (ListenOverflows) are part",
     NN},
    {"syn_drops", TQ_INT, "NULL: the kernel counts SYN-queue drops per namespace only", NL},
    {"family", TQ_INT, "4 or 6", NN},
    {"netns", TQ_INT, "network namespace inode", NN},
};

static const struct tt_query_col drop_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"ts", TQ_INT, "wall ns of the drop", NN},
    {"conn_id", TQ_INT,
     "the connection whose packet it was, NULL: the host's (no socket we follow)", NL},
    {"reason", TQ_TEXT,
     "the kernel's drop reason, as its BTF names it without SKB_DROP_REASON_ ('NETFILTER_DROP'), "
     "NULL if the recorder could not name it",
     NL},
    {"code", TQ_INT, "the reason's number on the recording kernel (differs between kernels)", NN},
};

static const struct tt_query_col sample_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"conn_id", TQ_INT, "connection id", NN},
    {"ts", TQ_INT, "wall ns of the sample", NN},
    {"srtt_us", TQ_INT, "smoothed RTT (tcpi_rtt)", NN},
    {"min_rtt_us", TQ_INT, "minimum RTT (tcpi_min_rtt)", NN},
    {"rttvar_us", TQ_INT, "RTT variance (tcpi_rttvar)", NN},
    {"cwnd", TQ_INT, "congestion window, segments (tcpi_snd_cwnd)", NN},
    {"ssthresh", TQ_INT, "slow start threshold, segments; NULL while infinite", NL},
    {"pacing_rate", TQ_INT,
     "pacing rate, bytes/s; NULL when unlimited or not given (the close's sample)", NL},
    {"delivery_rate", TQ_INT, "delivery rate, bytes/s (tcpi_delivery_rate)", NN},
    {"app_limited", TQ_INT, "1 if the delivery rate was measured app-limited", NN},
    {"in_flight", TQ_INT, "segments in flight (tcp_packets_in_flight)", NN},
    {"lost", TQ_INT, "segments marked lost (tcpi_lost)", NN},
    {"reordering", TQ_INT, "reordering degree, segments (tcpi_reordering)", NN},
    {"dsack_dups", TQ_INT, "DSACKed segments (tcpi_dsack_dups)", NN},
    {"busy_us", TQ_INT, "time busy sending (tcpi_busy_time)", NN},
    {"rwnd_limited_us", TQ_INT, "of it, limited by the peer's window (tcpi_rwnd_limited)", NN},
    {"sndbuf_limited_us", TQ_INT, "of it, limited by the send buffer (tcpi_sndbuf_limited)", NN},
    {"snd_wnd", TQ_INT, "the peer's window, bytes (tcpi_snd_wnd)", NN},
    {"rcv_wnd", TQ_INT, "the window advertised last, bytes (tcpi_rcv_wnd)", NN},
};

static const struct tt_query_col stall_cols[] = {
    {"file", TQ_TEXT, "capture file", NN},
    {"host", TQ_TEXT, "host name of the recording machine", NN},
    {"conn_id", TQ_INT, "connection id", NN},
    {"side", TQ_TEXT, "'local' (we advertised a zero window: our process did not read) or 'peer'",
     NN},
    {"start_ns", TQ_INT, "wall ns it began", NN},
    {"end_ns", TQ_INT, "wall ns it ended, NULL if not seen ending", NL},
};

const struct tt_query_table tt_query_tables[] = {
    [TQ_T_CAPTURE] = {"capture", "one row per capture file", capture_cols, ARRAY_SIZE(capture_cols),
		      "(host, start_ns, file)"},
    [TQ_T_CONNECTIONS] = {"connections", "one row per connection per file", conn_cols,
			  ARRAY_SIZE(conn_cols), "(host, first_ts, id)"},
    [TQ_T_EVENTS] = {"events", "every event, file by file, in file order", event_cols,
		     ARRAY_SIZE(event_cols), "(host, ts)"},
    [TQ_T_PROCESSES] = {"processes", "one row per process per file", proc_cols,
			ARRAY_SIZE(proc_cols), "(host, first_ts, pid)"},
    [TQ_T_LOST] = {"lost", "one row per LOST record", lost_cols, ARRAY_SIZE(lost_cols),
		   "(host, ts)"},
    [TQ_T_SAMPLES] = {"samples", "one row per sample of a TCP connection's state", sample_cols,
		      ARRAY_SIZE(sample_cols), "(host, ts)"},
    [TQ_T_STALLS] = {"stalls", "one row per zero-window stall", stall_cols, ARRAY_SIZE(stall_cols),
		     "(host, start_ns)"},
    [TQ_T_LISTENERS] = {"listeners",
			"one row per LISTENER record: a listening socket's queue and "
			"drops when first seen and when they changed",
			listener_cols, ARRAY_SIZE(listener_cols), "(host, ts, lport)"},
    [TQ_T_DROPS] = {"drops", "one row per DROP record: a packet the kernel dropped, and why",
		    drop_cols, ARRAY_SIZE(drop_cols), "(host, ts)"},
    [TQ_T_MAX] = {NULL, NULL, NULL, 0, NULL},
};

/* Microsecond wall time in core SQL, so the views also work in the sqlite3 shell. */
#define TIME_EXPR(c)                                                                               \
	"strftime('%Y-%m-%d %H:%M:%S', " c " / 1000000000, 'unixepoch') || "                       \
	"printf('.%06d', (" c " / 1000) % 1000000)"

/* clang-format off */
const char *const tt_query_views_sql =
	"CREATE VIEW events_v AS SELECT " TIME_EXPR("ts") " AS time, * FROM events;\n"
	"CREATE VIEW connections_v AS SELECT " TIME_EXPR("first_ts") " AS first_time, "
		TIME_EXPR("last_ts") " AS last_time, (last_ts - first_ts) / 1e9 AS duration_s, "
		"* FROM connections;\n"
	"CREATE VIEW processes_v AS SELECT " TIME_EXPR("first_ts") " AS first_time, "
		TIME_EXPR("last_ts") " AS last_time, * FROM processes;\n"
	"CREATE VIEW lost_v AS SELECT " TIME_EXPR("ts") " AS time, * FROM lost;\n"
	"CREATE VIEW listeners_v AS SELECT " TIME_EXPR("ts") " AS time, * FROM listeners;\n"
	"CREATE VIEW drops_v AS SELECT " TIME_EXPR("ts") " AS time, * FROM drops;\n";
/* clang-format on */

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

int tt_query_vtab_declare(sqlite3 *db, int t, size_t size, sqlite3_vtab **out)
{
	char sql[4096];
	int rc;

	rc = sqlite3_declare_vtab(
	    db, tt_query_table_sql(&tt_query_tables[t], NULL, "x", sql, sizeof(sql)));
	if (rc != SQLITE_OK)
		return rc;
	*out = sqlite3_malloc64(size);
	if (!*out)
		return SQLITE_NOMEM;
	memset(*out, 0, size);
	return SQLITE_OK;
}

int tt_query_vtab_free(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

int tt_query_parse_dialect(const char *s, enum tt_query_dialect *d)
{
	if (!strcmp(s, "sqlite"))
		*d = TQ_SQLITE;
	else if (!strcmp(s, "postgresql") || !strcmp(s, "postgres") || !strcmp(s, "pg"))
		*d = TQ_POSTGRESQL;
	else if (!strcmp(s, "clickhouse"))
		*d = TQ_CLICKHOUSE;
	else
		return -EINVAL;
	return 0;
}

static void print_sqlite(void)
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

/*
 * Every INTEGER is 64-bit in SQLite: bigint / Int64 elsewhere (ids are socket
 * cookies, times are ns). Columns that can be NULL are Nullable in ClickHouse;
 * only the ones that never are make the sort key.
 */
static const char *foreign_type(const struct tt_query_col *c, enum tt_query_dialect d)
{
	if (d == TQ_POSTGRESQL)
		return c->type == TQ_INT    ? "bigint"
		       : c->type == TQ_REAL ? "double precision"
					    : "text";
	if (c->notnull)
		return c->type == TQ_INT ? "Int64" : c->type == TQ_REAL ? "Float64" : "String";
	return c->type == TQ_INT    ? "Nullable(Int64)"
	       : c->type == TQ_REAL ? "Nullable(Float64)"
				    : "Nullable(String)";
}

static void print_foreign(enum tt_query_dialect d)
{
	printf("-- tcptop-query %s tables: load with tcptop-query --format %s (docs/SCALE.md)\n\n",
	       d == TQ_POSTGRESQL ? "PostgreSQL" : "ClickHouse",
	       d == TQ_POSTGRESQL ? "csv" : "jsonl");
	for (int t = 0; tt_query_tables[t].name; t++) {
		const struct tt_query_table *tb = &tt_query_tables[t];

		printf("CREATE TABLE %s (\n", tb->name);
		for (int i = 0; i < tb->n_cols; i++) {
			const struct tt_query_col *c = &tb->cols[i];

			printf("\t%s %s%s%s\n", c->name, foreign_type(c, d),
			       d == TQ_POSTGRESQL && c->notnull ? " NOT NULL" : "",
			       i + 1 < tb->n_cols ? "," : "");
		}
		if (d == TQ_POSTGRESQL)
			printf(");\n\n");
		else
			printf(") ENGINE = MergeTree ORDER BY %s;\n\n", tb->sort_key);
	}
}

void tt_query_print_schema(enum tt_query_dialect d)
{
	if (d == TQ_SQLITE)
		print_sqlite();
	else
		print_foreign(d);
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
