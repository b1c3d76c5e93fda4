/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* tcptop: the live per-connection view (or batch / CSV snapshots), optionally recording. */
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tt_filter.h"
#include "tt_fmt.h"
#include "tt_rec.h"
#include "tt_source.h"
#include "tt_state.h"
#include "tt_util.h"
#include "tt_view.h"

static const char *prog = "tcptop";
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct cfg {
	struct tt_source_opts so;
	struct tt_view_args view; /* -i --ttl --sort --columns -b -n -H --csv */
	const char *out_path;
	int force;
	char filter_text[512];
	char skip[1024]; /* --no-probe names */
};

struct live {
	struct cfg *cfg;
	struct tt_source *src;
	struct tt_state *st;
	struct tt_rec *rec; /* -o: the recorder's own output (STATS, open connections, flush) */
	struct tt_view_csv *csv;
	struct tt_select sel;
	uint64_t next_tick, snapshots, last_flush;
	int err;
	int ended; /* the source has no more events (a capture file played to its end) */
	char errmsg[600];
	char full[256];	 /* the kernel's table of open TCP connections has been full: why */
	char warn[1024]; /* the header's warning: what the source lacks, then full */
};

static void usage(void)
{
	printf("Usage: %s [OPTIONS]\n"
	       "Live per-connection network view (TCP and UDP) with eBPF. Needs root.\n\n"
	       "  -i, --interval SEC   refresh, rate and snapshot interval (default 1)\n"
	       "      --ttl SECONDS    closed connections stay this long (default 30 s)\n"
	       "      --sort COLUMN    initial sort column (PID, COMM, ..., TX/s, RTT)\n"
	       "      --columns LIST   columns of the view and -b: NAME,... exactly those;\n"
	       "                       +NAME,-NAME add to / take from the default ones\n"
	       "                       (health: RETR CONNECT CWND ZWIN FAIL, hidden by default)\n"
	       "  -o, --output FILE    also record a capture (.tt) while viewing\n"
	       "  -f, --force          with -o or --csv: replace an existing file\n"
	       "      --csv FILE       write a CSV snapshot every interval (exact numbers)\n"
	       "  -b, --batch          print snapshots to stdout, no curses (like top -b)\n"
	       "  -n, --count N        with --batch: stop after N snapshots\n"
	       "  -H, --human          batch numbers in human units\n"
	       "  -h, --help           this help;  -V, --version  the version\n"
	       "Source:\n" TT_SOURCE_HELP "Filters:\n" TT_FILTER_HELP "\n"
	       "Keys: arrows PgUp PgDn Home End move, s S < > sort, F6 choose the sort,\n"
	       "r reverse, F2 or C choose the columns, / or F3 filter, Esc clear filter,\n"
	       "Enter the connection's timeline (Esc closes it), h or F1 help, q or F10 quit.\n",
	       prog);
}

/* Leading ':': a missing value is reported as ':', not as an unknown option. */
#define SHORTOPTS ":o:fhV" TT_VIEW_SHORTOPTS TT_FILTER_SHORTOPTS

static void parse(struct cfg *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    TT_VIEW_LONGOPTS,
	    TT_SOURCE_LONGOPTS,
	    TT_FILTER_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	char err[256];
	int o, ret;

	tt_view_args_init(&c->view);
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((o = getopt_long(argc, argv, SHORTOPTS, opts, NULL)) != -1) {
		ret = tt_filter_getopt(&c->so.filter, o, optarg, err, sizeof(err));
		if (!ret) /* a live view refreshes at most every 10 ms */
			ret = tt_view_getopt(&c->view, o, optarg, 10000000, err, sizeof(err));
		if (!ret)
			ret = tt_source_getopt(&c->so, c->skip, sizeof(c->skip), o, optarg, err,
					       sizeof(err));
		if (ret < 0)
			tt_die(prog, TT_EXIT_USAGE, "%s", err);
		if (ret > 0)
			continue;
		switch (o) {
		case 'o': c->out_path = optarg; break;
		case 'f': c->force = 1; break;
		case 'h': usage(); exit(0);
		case 'V': printf("%s tcptop %s\n", prog, TT_VERSION); exit(0);
		default: tt_getopt_fail(prog, o, argv, SHORTOPTS);
		}
	}
	if (optind < argc)
		tt_die(prog, TT_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if (c->view.count && !c->view.batch)
		tt_die(prog, TT_EXIT_USAGE, "-n goes with --batch");
	tt_view_args_done(&c->view);
	tt_filter_format(&c->so.filter, c->filter_text, sizeof(c->filter_text));
}

/* Every event (in wall time, as every source gives it): recorded, and applied. */
static int on_event(void *ctx, const struct tt_event *ev)
{
	struct live *l = ctx;
	int ret;

	if (l->rec && tt_rec_event(l->rec, ev))
		return l->err = -EIO; /* tt_rec_finish() says what */
	ret = tt_state_apply(l->st, ev);
	if (ret < 0) {
		snprintf(l->errmsg, sizeof(l->errmsg), "state table: %s", strerror(-ret));
		return l->err = ret;
	}
	return 0;
}

/* Rates, snapshots and the capture flush, once per interval of wall time. */
static int maybe_tick(struct live *l)
{
	uint64_t now = tt_now_wall_ns();
	int ret;
	struct tt_view_batch_opts bo = {
	    .title = prog,
	    .filter_text = l->cfg->filter_text,
	    .human = l->cfg->view.human,
	    .cols = l->cfg->view.cols,
	};

	/* as tcptop-record does: what is on disk is at most half a second old */
	if (l->rec && now - l->last_flush >= 500000000ull) {
		tt_rec_tick(l->rec);
		if (tt_rec_failed(l->rec))
			return l->err = -EIO;
		l->last_flush = now;
	}
	if (now < l->next_tick)
		return 0;
	/* said as the recorder says it: once, when first seen, while the connections are open */
	if (!l->full[0] && tt_source_table_full(l->src, l->full, sizeof(l->full)) &&
	    l->cfg->view.batch)
		fprintf(stderr, "%s: warning: %s\n", prog, l->full);
	/*
	 * A tick's rates are the bytes up to now: a source that samples (BPF, sock_diag) samples
	 * now, on the tick. Its own cadence runs apart from ours (and drifts): a tick would
	 * otherwise see one sample of --coalesce 1s or two, and show 0 and then twice the rate.
	 */
	if (!l->ended) {
		ret = tt_source_flush(l->src, on_event, l);
		if (l->err)
			return l->err;
		if (ret < 0 && ret != -EINTR) {
			snprintf(l->errmsg, sizeof(l->errmsg), "reading events: %s",
				 strerror(-ret));
			return ret;
		}
		now = tt_now_wall_ns();
	}
	tt_state_tick(l->st, now);
	l->next_tick += l->cfg->view.interval_ns;
	if (l->next_tick <= now) /* we were late: don't fire a burst of ticks */
		l->next_tick = now + l->cfg->view.interval_ns;
	/* a write error says which output and why ("stdout: No space left on device") */
	if (l->cfg->view.batch &&
	    (ret = tt_view_print_snapshot(stdout, l->st, &l->sel, now, &bo))) {
		snprintf(l->errmsg, sizeof(l->errmsg), "stdout: %s", strerror(-ret));
		return l->err = ret;
	}
	if (l->csv && (ret = tt_view_csv_write(l->csv, l->st, &l->sel, now))) {
		snprintf(l->errmsg, sizeof(l->errmsg), "%s: %s", l->cfg->view.csv_path,
			 strerror(-ret));
		return l->err = ret;
	}
	l->snapshots++;
	return 0;
}

static int poll_once(struct live *l, int ms)
{
	int ret = l->ended ? 0 : tt_source_poll(l->src, ms, on_event, l);

	if (l->err)
		return l->err;
	if (ret == -ENODATA) {
		/* a capture played to its end: the view stays, the table ages out as it would */
		l->ended = 1;
		ret = 0;
	}
	if (l->ended && ms > 0)
		poll(NULL, 0, ms);
	if (ret < 0 && ret != -EINTR) {
		snprintf(l->errmsg, sizeof(l->errmsg), "reading events: %s", strerror(-ret));
		return ret;
	}
	return maybe_tick(l);
}

/* ---- the view source */

static int src_step(void *ctx, int budget_ms)
{
	return poll_once(ctx, budget_ms);
}

static const struct tt_state *src_state(void *ctx)
{
	return ((struct live *)ctx)->st;
}

static uint64_t src_now(void *ctx)
{
	(void)ctx;
	return tt_now_wall_ns();
}

static void src_mode(void *ctx, char *buf, size_t len)
{
	struct live *l = ctx;

	snprintf(buf, len, "LIVE%s%s", l->rec ? " REC " : "", l->rec ? l->cfg->out_path : "");
}

/*
 * What this kernel could not give (no per-call hooks: no UDP), and whether the kernel's table
 * of open TCP connections has been full, in the header.
 */
static const char *src_warning(void *ctx)
{
	struct live *l = ctx;
	const char *lacks = tt_source_warning(l->src);

	if (!l->full[0])
		return lacks;
	snprintf(l->warn, sizeof(l->warn), "%s%s%s", lacks ? lacks : "", lacks ? "; " : "",
		 l->full);
	return l->warn;
}

/* -o: the file first, before anything is attached (an unwritable path fails early). */
static void open_recording(struct live *l)
{
	struct tt_rec_opts ro = {
	    .src = l->cfg->so, .path = l->cfg->out_path, .force = l->cfg->force, .quiet = 1};
	char err[512];

	if (tt_rec_new(&l->rec, &ro, err, sizeof(err)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", err);
}

/*
 * How late a counter sample may come (tt_state_opts.sample_ns). The live sources sample on
 * our ticks (maybe_tick() flushes them first): 0. A capture played as a source brings the
 * samples of its recorder's own passes, each covering the interval before it: the capture's.
 * Only a regular file is read twice (a pipe would lose what this read), and one that does not
 * open gives 0 here: tt_source_open() says what is wrong with it.
 */
static uint64_t source_sample_ns(const struct tt_source_opts *so)
{
	struct tt_fmt_reader *r;
	struct stat sb;
	uint64_t ns;
	char err[256];

	if (so->source != TT_SOURCE_FILE || stat(so->source_path, &sb) || !S_ISREG(sb.st_mode) ||
	    tt_fmt_reader_open(&r, so->source_path, err, sizeof(err)))
		return 0;
	ns = (uint64_t)tt_fmt_reader_header(r)->coalesce_ms * 1000000;
	tt_fmt_reader_close(r);
	return ns;
}

int main(int argc, char **argv)
{
	struct cfg cfg = {0};
	struct live l = {.cfg = &cfg};
	struct tt_state_opts sto = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	char err[512], fallback[600];
	int ret = 0;

	parse(&cfg, argc, argv);
	if (!cfg.view.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		tt_die(prog, TT_EXIT_USAGE, "the view needs a terminal (use --batch for pipes)");
	sto.ttl_ns = cfg.view.ttl_ns;
	sto.sample_ns = source_sample_ns(&cfg.so);
	sto.no_timeline = cfg.view.batch; /* no detail pane */
	sto.filter = tt_filter_is_empty(&cfg.so.filter) ? NULL : &cfg.so.filter;
	if (tt_state_new(&l.st, &sto) < 0)
		tt_die(prog, TT_EXIT_ERROR, "out of memory");
	l.sel.sort = cfg.view.sort;
	if (cfg.view.csv_path &&
	    tt_view_csv_open(&l.csv, cfg.view.csv_path, cfg.force, err, sizeof(err)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", err);
	if (cfg.out_path)
		open_recording(&l);
	cfg.so.pace = 1; /* a packet capture is shown as it happened, as a capture is */
	ret = tt_source_open(&l.src, &cfg.so, fallback, sizeof(fallback), err, sizeof(err));
	if (ret < 0) {
		tt_rec_abort(l.rec); /* the file it had made is removed again */
		tt_die(prog, tt_source_exit_code(ret, &cfg.so), "%s", err);
	}
	if (fallback[0])
		tt_warn(prog, "%s",
			fallback); /* before the view: it stays above it in the terminal */
	if (cfg.view.batch)
		tt_source_print_missing(l.src, prog,
					stderr); /* the view's header says it otherwise */
	if (l.rec && tt_rec_start(l.rec, l.src, err, sizeof(err))) {
		tt_rec_abort(l.rec);
		tt_source_close(l.src);
		tt_die(prog, TT_EXIT_ERROR, "%s", err);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the terminal went away: still close the recording */
	l.next_tick = tt_now_wall_ns() + cfg.view.interval_ns;
	l.last_flush = tt_now_wall_ns();

	if (cfg.view.batch) {
		while (!stop && !l.ended && !(cfg.view.count && l.snapshots >= cfg.view.count)) {
			ret = poll_once(&l, 100);
			if (ret < 0)
				break;
		}
		/* the source ended (a capture played to its end): one more snapshot, of the end,
		 * with what came since the last tick */
		if (ret >= 0 && l.ended && !(cfg.view.count && l.snapshots >= cfg.view.count)) {
			l.next_tick = 0;
			ret = maybe_tick(&l);
		}
	} else {
		struct tt_view_source vs = {
		    .ctx = &l,
		    .step = src_step,
		    .state = src_state,
		    .now_ns = src_now,
		    .mode = src_mode,
		    .warning = src_warning,
		    .key_wait_ms = 0,
		};
		struct tt_view_opts vo = {
		    .title = prog,
		    .filter_text = cfg.filter_text,
		    .sort = cfg.view.sort,
		    .cols = cfg.view.cols,
		    .stop = &stop,
		};

		ret = tt_view_run(&vs, &vo, err, sizeof(err));
		if (ret < 0 && !l.err)
			snprintf(l.errmsg, sizeof(l.errmsg), "%s", err);
	}
	/* What the kernel still holds (the last partial interval) goes into the recording too. */
	if (l.rec && ret >= 0 && !l.err) {
		tt_source_flush(l.src, on_event, &l);
		/* then the programs go, and what they wrote until they went is read */
		if (!l.err)
			tt_source_stop(l.src, on_event, &l);
		if (l.err)
			ret = l.err;
	}
	if (l.rec && tt_rec_finish(l.rec, err, sizeof(err)) && (ret >= 0 || l.err == -EIO)) {
		ret = -EIO;
		snprintf(l.errmsg, sizeof(l.errmsg), "%s", err);
	}
	/* after: the recording's last STATS are its counts, stamped by its clock */
	tt_source_close(l.src);
	tt_rec_free(l.rec);
	if (ret >= 0 && (ret = tt_view_csv_close(l.csv)) < 0)
		snprintf(l.errmsg, sizeof(l.errmsg), "%s: %s", cfg.view.csv_path, strerror(-ret));
	else if (ret < 0)
		tt_view_csv_close(l.csv);
	tt_state_free(l.st);
	if (ret < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", l.errmsg[0] ? l.errmsg : strerror(-ret));
	return 0;
}
