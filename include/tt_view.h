/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_view: everything that reads the state table to show it: the curses view
 * (the only curses code in the project), the plain-text batch snapshot (like
 * `top -b`) and the CSV snapshot writer.
 *
 * The view does not know where events come from. A tool hands it a source
 * (struct tt_view_source): callbacks that advance the source and expose its
 * state table. Live tcptop and tcptop-replay share one loop, one drawing and
 * one key map; source-specific keys (pause, speed, seek) arrive at the source
 * as commands, so curses key codes never leave view/.
 */
#ifndef TT_VIEW_H
#define TT_VIEW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_state.h"

/* Commands the view sends to a source for keys it does not handle itself. */
enum tt_view_cmd {
	TT_VIEW_CMD_PAUSE,    /* space: pause / resume */
	TT_VIEW_CMD_FASTER,   /* '+': double the speed */
	TT_VIEW_CMD_SLOWER,   /* '-': halve the speed */
	TT_VIEW_CMD_SEEK,     /* arg: signed offset in ns (left/right 10 s, [ ] 60 s) */
	TT_VIEW_CMD_NEXT_GAP, /* 'n': jump to the next lost-events record (-ENODATA: none) */
	TT_VIEW_CMD_START,    /* 'g': back to the start */
};

struct tt_view_source {
	void *ctx;
	/*
	 * Do the source's work for at most budget_ms of real time (a live source
	 * waits for events that long; a replay applies what is due and returns).
	 * Returns 0, 1 when the source has no more events (the view stays up
	 * until the user quits), or a negative errno (the view ends and returns it).
	 */
	int (*step)(void *ctx, int budget_ms);
	/* The table to show; may change between steps (a replay seek restores a keyframe). */
	const struct tt_state *(*state)(void *ctx);
	/* Time for the header, wall clock ns (live: now; replay: the play position). */
	uint64_t (*now_ns)(void *ctx);
	/*
	 * Mode text for the header, after the time: "LIVE"; a replay's position and speed,
	 * "+1.9s/4.9s (39%)  x1  PAUSED".
	 */
	void (*mode)(void *ctx, char *buf, size_t len);
	/* A warning for the header (capture damage, ...) or NULL; optional. */
	const char *(*warning)(void *ctx);
	/* Handles a command; optional (NULL: the keys do nothing). Returns 0 or -errno. */
	int (*command)(void *ctx, enum tt_view_cmd cmd, int64_t arg);
	/* Extra help lines for the source's keys, "" or NULL for none. */
	const char *help;
	/* How long the view waits for a key between steps, ms (live: 0, step waits). */
	int key_wait_ms;
};

struct tt_view_opts {
	const char *title;	 /* program name in the header */
	const char *filter_text; /* command-line filters, shown in the header */
	enum tt_col sort;	 /* initial sort column */
	int reverse;
	uint32_t
	    cols; /* columns shown at first (TT_COL_BIT), 0 = TT_COLS_DEFAULT; F2 changes them */
	volatile sig_atomic_t *stop; /* set by the tool's signal handler; may be NULL */
	unsigned bench_redraws;	     /* >0: hidden benchmark: redraw this often, then return */
	double *bench_ms;	     /* out: mean ms per redraw of the benchmark */
};

/*
 * Run the curses view until the user quits, *opts->stop is set, or the
 * source fails. The terminal is set up here and restored on every way out.
 * Keys come from stdin, or from /dev/tty when stdin is no terminal (it may
 * carry a capture). Returns 0, or a negative errno with a message in err
 * (-ENOTTY when stdout is not a terminal, nor stdin or /dev/tty).
 */
int tt_view_run(const struct tt_view_source *src, const struct tt_view_opts *opts, char *err,
		size_t errlen);

/* ------------------------------------------------------------ cells and text */

/*
 * Text of one cell. human: rates/bytes/counts in human units (the view);
 * otherwise exact numbers (batch output for scripts). Returns buf.
 */
const char *tt_view_cell(const struct tt_conn *c, enum tt_col col, int human, char *buf,
			 size_t len);

/*
 * Fit text into width columns: unchanged if it fits, else cut from the left
 * with a leading "…" (addresses keep their distinctive tail and port).
 * out must hold width * 3 + 1 bytes. Returns out.
 */
char *tt_view_fit_left(const char *text, unsigned width, char *out, size_t len);

/*
 * Fit an endpoint ("10.0.0.1:80", "[2001:db8::1]:443") into width columns.
 * IPv6 loses the middle of its address: "[2001:db8…8a2e:370:7334]:443" keeps
 * the network prefix, the host's tail and the port. Anything else as
 * tt_view_fit_left(). out must hold width * 3 + 1 bytes. Returns out.
 */
char *tt_view_fit_endpoint(const char *text, unsigned width, char *out, size_t len);

/*
 * Batch snapshot (`top -b` style): a header line with time, counts, rates and
 * lost events, a column-title line, one line per selected connection, and an
 * empty line. Returns 0 or -EIO.
 */
struct tt_view_batch_opts {
	const char *title;	 /* first word of the header line */
	const char *filter_text; /* shown as "filter: ..." when non-empty */
	int human;		 /* human units instead of exact numbers */
	size_t max_rows;	 /* 0 = all */
	uint32_t cols;		 /* columns (TT_COL_BIT), in enum order; 0 = TT_COLS_DEFAULT */
};
/* Returns 0 or -errno of a failed write (tt_stream_status). */
int tt_view_print_snapshot(FILE *out, const struct tt_state *st, const struct tt_select *sel,
			   uint64_t now_ns, const struct tt_view_batch_opts *opts);

/* ------------------------------------------------------------ CSV snapshots */

struct tt_view_csv;

/*
 * Create PATH ("-" = stdout) and write the header row. An existing PATH is refused unless
 * force, and a symbolic link always, as the capture writer refuses them (-o): a typo must
 * not turn a capture into a CSV.
 * time,time_ns,conn_id,pid,comm,proto,family,laddr,lport,raddr,rport,state,
 * tx_rate,rx_rate,tx_bytes,rx_bytes,tx_pkts,rx_pkts,rtt_us,retrans,resets,closed,
 * community_id,retrans_rto,retrans_fast,retrans_tlp,retrans_spurious,connect_us,
 * accept_wait_us,syn_retrans,fail_reason,cwnd,zero_window_ms (as tcptop-query's; cwnd is
 * the last of its `samples`)
 * Returns 0 or a negative errno with a message in err.
 */
int tt_view_csv_open(struct tt_view_csv **out, const char *path, int force, char *err,
		     size_t errlen);

/* Seed of the community_id column (default 0). */
void tt_view_csv_set_cid_seed(struct tt_view_csv *c, uint16_t seed);

/* One row per selected connection, stamped with now_ns. Returns 0 or -errno of a write. */
int tt_view_csv_write(struct tt_view_csv *c, const struct tt_state *st, const struct tt_select *sel,
		      uint64_t now_ns);

/* Flush and close; returns 0 or the first write error. NULL is accepted. */
int tt_view_csv_close(struct tt_view_csv *c);

/*
 * The view's command-line options, the same in every tool that shows the state table (tcptop and
 * tcptop-replay): put TT_VIEW_LONGOPTS in the getopt_long table and TT_VIEW_SHORTOPTS in the
 * short option string, then offer each option to tt_view_getopt(), as tt_filter_getopt().
 */
struct tt_view_args {
	uint64_t ttl_ns;      /* --ttl: closed connections stay this long (0: the table's 30 s) */
	uint64_t interval_ns; /* -i: snapshot and rate interval */
	uint64_t count;	      /* -n: stop after this many snapshots (0: no end) */
	int batch;	      /* -b: snapshots on stdout, no curses */
	int human;	      /* -H: batch numbers in human units */
	int sort;	      /* --sort: a column; -1 the default (tt_col_sort_shown) */
	uint32_t cols;	      /* --columns (TT_COL_BIT) */
	const char *csv_path; /* --csv */
};

enum { TT_VIEW_OPT_TTL = 0x3001, TT_VIEW_OPT_SORT, TT_VIEW_OPT_COLUMNS, TT_VIEW_OPT_CSV };
#define TT_VIEW_SHORTOPTS "i:bn:H"
/* clang-format off */
#define TT_VIEW_LONGOPTS						\
	{"interval", required_argument, NULL, 'i'},			\
	{"ttl", required_argument, NULL, TT_VIEW_OPT_TTL},		\
	{"sort", required_argument, NULL, TT_VIEW_OPT_SORT},		\
	{"columns", required_argument, NULL, TT_VIEW_OPT_COLUMNS},	\
	{"batch", no_argument, NULL, 'b'},				\
	{"count", required_argument, NULL, 'n'},			\
	{"human", no_argument, NULL, 'H'},				\
	{"csv", required_argument, NULL, TT_VIEW_OPT_CSV}
/* clang-format on */

/* The defaults: a 1 s interval, the default columns, the default sort. */
void tt_view_args_init(struct tt_view_args *o);
/*
 * 1 when opt was a view option and was applied, 0 when it is not one, <0 on a bad value (err
 * says which). An interval shorter than min_interval_ns is a bad value.
 */
int tt_view_getopt(struct tt_view_args *o, int opt, const char *arg, uint64_t min_interval_ns,
		   char *err, size_t errlen);
/* Once every option is in: the sort column is shown (--sort RETR adds RETR to the columns). */
void tt_view_args_done(struct tt_view_args *o);

#endif /* TT_VIEW_H */
