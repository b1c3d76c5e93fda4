/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private interfaces of tcptop-query, shared between the files of query/.
 *
 * The captures are the tables: every table is an SQLite virtual table over
 * the set of capture files (struct tt_query_set). `events` streams the files
 * each time it is scanned; connections, processes and lost are built by one
 * pass over all files (struct tt_query_summary) the first time any of them is
 * read, so a query that only counts events never pays for that pass.
 */
#ifndef TT_QUERY_H
#define TT_QUERY_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "tt_event.h"
#include "tt_fmt.h"

/* ------------------------------------------------------------ capture set */

struct tt_query_file {
	char *path;	  /* as given on the command line ("-" for stdin, read from the spool) */
	const char *name; /* in messages: path, or "stdin" */
	struct tt_fmt_header hdr;
	uint64_t first_ns, last_ns; /* from block headers, 0 if unknown */
	/*
	 * A file a recorder was writing when the query began: its size then, which every scan
	 * reads up to (tt_fmt_reader_set_size), so that they all read the same events. 0: not
	 * being written.
	 */
	uint64_t size;
	unsigned warned; /* warnings already printed for this file */
};

struct tt_query_summary;

struct tt_query_set {
	const char *prog;
	struct tt_query_file *files;
	size_t n_files;
	int progress;			  /* show progress on stderr (a terminal) */
	int spool_fd;			  /* stdin spool (memfd), -1 if none */
	struct tt_query_summary *summary; /* built on first use */
	int summary_err;		  /* <0 once building it failed */
	size_t group_budget;		  /* bytes a grouped scan of events may hold */
	int debug;	   /* TCPTOP_QUERY_DEBUG: statistics of grouped scans on stderr */
	uint16_t cid_seed; /* --community-id-seed */
	char err[256];
};

/* Default group_budget: 10M events of a typical GROUP BY fit in one pass (docs/QUERY.md). */
#define TT_QUERY_GROUP_BUDGET (256u << 20)

/*
 * Open every file once to check it is a capture and keep its header.
 * Returns 0, or a negative errno with "FILE: message" in set->err.
 */
int tt_query_set_open(struct tt_query_set *set, const char *prog, char **paths, size_t n);
void tt_query_set_free(struct tt_query_set *set);

/* A reader on file i, with warnings going to stderr once per file. */
struct tt_query_scan {
	struct tt_query_set *set;
	size_t file;
	struct tt_fmt_reader *r;
	unsigned warnings;	  /* seen by this scan */
	uint64_t events;	  /* read by this scan */
	uint64_t t_start, t_last; /* progress timing (monotonic ns) */
};

/* Returns 0 or a negative errno with a message in set->err. */
int tt_query_scan_open(struct tt_query_scan *sc, struct tt_query_set *set, size_t file);
/* 1 with an event, 0 at the end (or the readable end of a damaged file), <0 on I/O error. */
int tt_query_scan_next(struct tt_query_scan *sc, struct tt_event *ev);
void tt_query_scan_close(struct tt_query_scan *sc);

/*
 * The events of every file a scan's constraints allow, in file order: file =
 * only (NULL: all) skips other files, ts outside [ts_min, ts_max] is skipped
 * (a file whose time range is outside is not opened; the reader seeks to
 * ts_min). Set set, only, ts_min and ts_max, then start.
 */
struct tt_query_stream {
	struct tt_query_set *set;
	const char *only;	/* not owned */
	int64_t ts_min, ts_max; /* as SQL sees ts: signed */
	struct tt_query_scan scan;
	size_t file; /* file of ev */
	struct tt_event ev;
};

/* Returns 0 or a negative errno with a message in set->err. */
int tt_query_stream_start(struct tt_query_stream *st);
/* At the end of a file: open the next one. 1, 0 when none is left, <0 on error. */
int tt_query_stream_advance(struct tt_query_stream *st);

/* 1 with st->ev, 0 at the end, <0 on error (message in set->err). Inline: once per event. */
static inline int tt_query_stream_next(struct tt_query_stream *st)
{
	int ret;

	for (;;) {
		ret = tt_query_scan_next(&st->scan, &st->ev);
		if (ret > 0) {
			/* blocks are time-ordered but events inside one need not be */
			int64_t ts = (int64_t)st->ev.ts_ns;

			if (ts >= st->ts_min && ts <= st->ts_max)
				return 1;
			continue;
		}
		if (ret < 0)
			return ret;
		ret = tt_query_stream_advance(st);
		if (ret <= 0)
			return ret;
	}
}
void tt_query_stream_close(struct tt_query_stream *st);

/* ---------------------------------------------------------------- summary */

struct tt_query_conn {
	uint32_t file;
	uint8_t have_open; /* CONN_OPEN seen: address fields are valid */
	uint8_t family, proto, direction, state;
	uint8_t closed, preexisting, pid_late;
	uint64_t id;
	uint8_t laddr[TT_ADDR_LEN], raddr[TT_ADDR_LEN];
	uint16_t lport, rport;
	uint32_t pid, netns;
	uint64_t cgroup;
	char comm[TT_COMM_LEN];
	uint64_t first_ts, last_ts, close_ts;
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
	uint64_t events;
	uint32_t rtt_us, max_rtt_us, retrans, resets;
	uint32_t zero_window_ms;
	uint32_t retrans_rto, retrans_fast, retrans_tlp, retrans_spurious;
	/*
	 * What rows of earlier files of the same recording (rotation) already
	 * counted for this connection: the close's absolute counters minus
	 * these are this file's share, so sums over a rotated set stay right.
	 */
	uint64_t base_tx, base_rx, base_txp, base_rxp;
	uint32_t base_retrans;
	/* issue 20's health: handshake, accept, failure (have: TT_ACC_HAVE_*) */
	uint8_t have, fail_reason;
	uint32_t connect_us, syn_retrans, accept_wait_us;
};

struct tt_query_proc {
	uint32_t file;
	uint32_t pid, ppid;
	char comm[TT_COMM_LEN];
	uint64_t first_ts, last_ts, exit_ts;
	int32_t exit_code;
	uint8_t exited, have_ppid;
	uint32_t execs, conns;
};

struct tt_query_lost {
	uint32_t file;
	uint32_t cpu;
	uint64_t ts, count;
};

/* A LISTENER record: one row of `listeners`. */
struct tt_query_listener {
	uint32_t file;
	uint64_t ts;
	uint32_t pid;
	struct tt_ev_listener l;
};

/* A DROP record: one row of `drops`. */
struct tt_query_drop {
	uint32_t file;
	uint64_t ts, conn_id;
	struct tt_ev_drop d;
};

/* A SAMPLE, as the samples table reads it. */
struct tt_query_sample {
	uint32_t file;
	uint64_t conn_id, ts;
	struct tt_ev_sample s;
};

/* A zero-window stall: its STALL events (a begin seen by a pass, an end) paired. */
struct tt_query_stall {
	uint32_t file;
	uint8_t side;  /* TT_STALL_LOCAL / _PEER */
	uint8_t ended; /* end_ns is known */
	uint64_t conn_id, start_ns, end_ns;
};

struct tt_query_fstat {
	uint64_t events, warnings;
	uint64_t first_ts, last_ts;
};

struct tt_query_summary {
	struct tt_query_conn *conns;
	size_t n_conns;
	struct tt_query_proc *procs;
	size_t n_procs;
	struct tt_query_lost *lost;
	size_t n_lost;
	struct tt_query_sample *samples;
	size_t n_samples;
	struct tt_query_stall *stalls;
	size_t n_stalls;
	struct tt_query_listener *listeners;
	size_t n_listeners;
	struct tt_query_drop *drops;
	size_t n_drops;
	struct tt_query_fstat *fstat; /* one per file */
};

/* The summary, built by one pass the first time. NULL on failure (message in set->err). */
const struct tt_query_summary *tt_query_summary_get(struct tt_query_set *set);
void tt_query_summary_free(struct tt_query_summary *s);

/*
 * Aggregation of one file's events, exposed for the pass (and unit testing).
 * carry (may be NULL) holds the connections still open at the end of earlier
 * files of the same recording; files must then be applied in time order.
 */
struct tt_query_agg;
struct tt_query_carry;
int tt_query_carry_new(struct tt_query_carry **out);
void tt_query_carry_free(struct tt_query_carry *c);
int tt_query_agg_new(struct tt_query_agg **out, struct tt_query_summary *s, uint32_t file,
		     struct tt_query_carry *carry, uint32_t recording);
int tt_query_agg_apply(struct tt_query_agg *a, const struct tt_event *ev);
int tt_query_agg_finish(struct tt_query_agg *a); /* frees a */

/* ----------------------------------------------------------------- schema */

enum tt_query_type { TQ_INT, TQ_TEXT, TQ_REAL };

struct tt_query_col {
	const char *name;
	enum tt_query_type type;
	const char *doc;
	int notnull; /* never NULL in any row */
};

struct tt_query_table {
	const char *name;
	const char *doc;
	const struct tt_query_col *cols;
	int n_cols;
	const char *sort_key; /* ClickHouse ORDER BY: how fleet queries slice it */
};

/* The tables, in the order --schema shows them; NULL-name terminated. */
extern const struct tt_query_table tt_query_tables[];
/* Indices of tt_query_tables[]. */
enum {
	TQ_T_CAPTURE,
	TQ_T_CONNECTIONS,
	TQ_T_EVENTS,
	TQ_T_PROCESSES,
	TQ_T_LOST,
	TQ_T_LISTENERS,
	TQ_T_DROPS,
	TQ_T_SAMPLES,
	TQ_T_STALLS,
	TQ_T_MAX
};

/* Readable-time views (plain SQL, so they work in the sqlite3 shell too). */
extern const char *const tt_query_views_sql;

/* "CREATE TABLE [schema.]name(col type, ...)" into buf. Returns buf. */
char *tt_query_table_sql(const struct tt_query_table *t, const char *schema, const char *name,
			 char *buf, size_t len);

/*
 * What every virtual table's xConnect does: declare table T's columns (tt_query_tables[T]) to
 * db, and allocate its vtab of SIZE bytes, struct sqlite3_vtab first, zeroed, into *out.
 * Returns an SQLite result code.
 */
int tt_query_vtab_declare(sqlite3 *db, int t, size_t size, sqlite3_vtab **out);

/* xDisconnect and xDestroy of those: the vtab holds nothing of its own to free. */
int tt_query_vtab_free(sqlite3_vtab *vt);

/* SQL dialects --schema prints the tables in. */
enum tt_query_dialect { TQ_SQLITE, TQ_POSTGRESQL, TQ_CLICKHOUSE };

/* "sqlite", "postgresql" (or "postgres", "pg"), "clickhouse". Returns 0 or -EINVAL. */
int tt_query_parse_dialect(const char *s, enum tt_query_dialect *d);

/*
 * Print the schema to stdout: for SQLite the tables with a comment per column,
 * the views and the functions; for PostgreSQL and ClickHouse the CREATE TABLE
 * statements that take `tcptop-query --format csv|jsonl` output (docs/SCALE.md).
 */
void tt_query_print_schema(enum tt_query_dialect d);

/* Register tt_time() and friends on db. Returns an SQLite result code. */
int tt_query_register_functions(sqlite3 *db);

/* ------------------------------------------------- grouped scans (group.c) */

/*
 * A scan of `events` that delivers its rows ordered by key columns, without
 * SQLite's sorter: SQLite asks for an order for GROUP BY (equal keys adjacent
 * is enough) and DISTINCT ... ORDER BY, and sorts every row when the table
 * does not deliver it. Rows are collected in memory, projected onto the columns
 * the statement uses, in passes over key ranges sized to set->group_budget;
 * a group larger than the budget alone is streamed by a pass of its own, so
 * memory stays bounded whatever the capture. Rows of a group come in capture
 * order.
 */
struct tt_query_group;

/* Column mask bit of an events column (col < 64). */
#define TQ_COL(c) ((uint64_t)1 << (c))

/* Columns a grouped scan accepts as keys (not ts or the counters: too many distinct values). */
uint64_t tt_query_group_keys_ok(void);

/*
 * key_cols/key_desc: the ORDER BY terms (column, 1 for DESC); used: every
 * column the statement reads (SQLite's colUsed); one_per_group: a DISTINCT
 * over the keys alone, so one row per group is enough. Returns 0 or -ENOMEM.
 */
int tt_query_group_new(struct tt_query_group **out, struct tt_query_set *set, const int *key_cols,
		       const int *key_desc, int n_key, uint64_t used, int one_per_group);
/* Start (again) over the events st's constraints allow. 0 or <0 (message in set->err). */
int tt_query_group_start(struct tt_query_group *g, const struct tt_query_stream *st);
/* 1 with a row, 0 at the end, <0 on error (message in set->err). */
int tt_query_group_next(struct tt_query_group *g);
void tt_query_group_column(struct tt_query_group *g, sqlite3_context *ctx, int col);
/* Passes over the files, groups streamed alone, most bytes held: TCPTOP_QUERY_DEBUG prints them. */
void tt_query_group_stats(const struct tt_query_group *g, unsigned *passes, size_t *giants,
			  size_t *peak);
void tt_query_group_free(struct tt_query_group *g);

/* ------------------------------------------------------------- the tables */

/*
 * Register the modules tt_events, tt_capture, tt_connections, tt_processes and
 * tt_lost on db, all reading set. Returns an SQLite result code.
 */
int tt_query_register_modules(sqlite3 *db, struct tt_query_set *set);

int tt_query_register_events(sqlite3 *db, struct tt_query_set *set);

/* A column value: what a column getter would make the result. */
struct tt_query_val {
	int type;      /* SQLITE_NULL, SQLITE_INTEGER or SQLITE_TEXT */
	int is_static; /* text that outlives the statement */
	sqlite3_int64 i;
	const char *s; /* text, NUL-terminated (may point into buf) */
	char buf[64];
};

/* Value of an events column; v->type must be SQLITE_NULL on entry. Returns 0. */
int tt_query_event_value(struct tt_query_val *v, const struct tt_query_set *set, size_t file,
			 const struct tt_event *ev, int col);
void tt_query_result(sqlite3_context *ctx, const struct tt_query_val *v);

int tt_query_sample_column(sqlite3_context *ctx, const struct tt_query_set *set,
			   const struct tt_query_sample *x, int col);
int tt_query_stall_column(sqlite3_context *ctx, const struct tt_query_set *set,
			  const struct tt_query_stall *x, int col);
/*
 * Column values (columns.c), in tt_query_tables[] column order. Each sets the
 * result of ctx (NULL when it does not apply) and returns 0, or -1 after
 * setting an error.
 */
int tt_query_event_column(sqlite3_context *ctx, const struct tt_query_set *set, size_t file,
			  const struct tt_event *ev, int col);
int tt_query_conn_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_conn *c, int col);
int tt_query_proc_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_proc *p, int col);
int tt_query_lost_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_lost *l, int col);
int tt_query_listener_column(sqlite3_context *ctx, const struct tt_query_set *set,
			     const struct tt_query_listener *l, int col);
int tt_query_drop_column(sqlite3_context *ctx, const struct tt_query_set *set,
			 const struct tt_query_drop *d, int col);
int tt_query_capture_column(sqlite3_context *ctx, struct tt_query_set *set, size_t file, int col);
/* 1 when the column getters know as many columns as the schema declares. */
int tt_query_columns_ok(void);

/* ------------------------------------------------------------------ setup */

/* Virtual tables and views in db's main schema. Returns an SQLite code, message in err. */
int tt_query_setup_virtual(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen);
/* Real tables, indexes and views in db (an empty file), in one transaction. */
int tt_query_setup_db(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen);

/* ----------------------------------------------------------------- output */

enum tt_query_format { TQ_FMT_TABLE, TQ_FMT_CSV, TQ_FMT_JSON, TQ_FMT_JSONL, TQ_FMT_LINE };

/*
 * Run every statement of sql, printing results of those that return rows.
 * Returns 0, or 1 after an SQL error (message in errbuf).
 */
int tt_query_run(sqlite3 *db, const char *sql, enum tt_query_format fmt, int header, FILE *out,
		 char *errbuf, size_t errlen);

#endif /* TT_QUERY_H */
