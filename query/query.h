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
	char *path;	 /* as given on the command line ("-" for stdin) */
	char *open_path; /* what to open: path, or /proc/self/fd/N of the stdin spool */
	struct tt_fmt_header hdr;
	uint64_t first_ns, last_ns; /* from block headers, 0 if unknown */
	unsigned warned;	    /* warnings already printed for this file */
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
	char err[256];
};

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
	/*
	 * What rows of earlier files of the same recording (rotation) already
	 * counted for this connection: the close's absolute counters minus
	 * these are this file's share, so sums over a rotated set stay right.
	 */
	uint64_t base_tx, base_rx, base_txp, base_rxp;
	uint32_t base_retrans;
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
enum { TQ_T_CAPTURE, TQ_T_CONNECTIONS, TQ_T_EVENTS, TQ_T_PROCESSES, TQ_T_LOST, TQ_T_MAX };

/* Readable-time views (plain SQL, so they work in the sqlite3 shell too). */
extern const char *const tt_query_views_sql;

/* "CREATE TABLE [schema.]name(col type, ...)" into buf. Returns buf. */
char *tt_query_table_sql(const struct tt_query_table *t, const char *schema, const char *name,
			 char *buf, size_t len);

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

/* ------------------------------------------------------------- the tables */

/*
 * Register the modules tt_events, tt_capture, tt_connections, tt_processes and
 * tt_lost on db, all reading set. Returns an SQLite result code.
 */
int tt_query_register_modules(sqlite3 *db, struct tt_query_set *set);

int tt_query_register_events(sqlite3 *db, struct tt_query_set *set);

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
int tt_query_capture_column(sqlite3_context *ctx, struct tt_query_set *set, size_t file, int col);
/* 1 when the column getters know as many columns as the schema declares. */
int tt_query_columns_ok(void);

/* ------------------------------------------------------------------ setup */

/* Virtual tables and views in db's main schema. Returns an SQLite code, message in err. */
int tt_query_setup_virtual(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen);
/* Real tables, indexes and views in db (an empty file), in one transaction. */
int tt_query_setup_db(sqlite3 *db, struct tt_query_set *set, char *err, size_t errlen);

/* ----------------------------------------------------------------- output */

enum tt_query_format { TQ_FMT_TABLE, TQ_FMT_CSV, TQ_FMT_JSON, TQ_FMT_JSONL };

/*
 * Run every statement of sql, printing results of those that return rows.
 * Returns 0, or 1 after an SQL error (message in errbuf).
 */
int tt_query_run(sqlite3 *db, const char *sql, enum tt_query_format fmt, int header, FILE *out,
		 char *errbuf, size_t errlen);

#endif /* TT_QUERY_H */
