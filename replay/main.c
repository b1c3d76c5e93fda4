/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* tcptop-replay: play captures through the state table, in the view, as text, CSV or events. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cut.h"
#include "dump.h"
#include "follow.h"
#include "keep.h"
#include "pace.h"
#include "player.h"
#include "tt_anon.h"
#include "tt_community_id.h"
#include "tt_filter.h"
#include "tt_util.h"
#include "tt_view.h"

static const char *prog = "tcptop-replay";
static volatile sig_atomic_t stop; /* the signal that asked to stop, 0 for none */

static void on_signal(int sig)
{
	stop = sig;
}

enum {
	OPT_SPEED = 0x2001,
	OPT_FROM,
	OPT_TO,
	OPT_DUMP,
	OPT_JSON,
	OPT_STATS,
	OPT_BENCH,
	OPT_BENCH_SEEK,
	OPT_KF_MIB,
	OPT_ANON,
	OPT_ANON_COMM,
	OPT_CID_SEED,
	OPT_FOLLOW,
};

static void usage(void)
{
	printf(
	    "Usage: %s [OPTIONS] FILE...\n"
	    "Play tcptop captures (several files play as one timeline, in time order)\n"
	    "in the live view, as text snapshots, CSV, or as a list of events. FILE - reads\n"
	    "stdin; the view then reads its keys from the terminal (/dev/tty), as less does.\n\n"
	    "  -s, --speed X        playback speed, %g .. %g, or max (default 1)\n"
	    "      --from T, --to T play only events with T_from <= time <= T_to: +30s or 90\n"
	    "                       (from the capture start), epoch ns (as tcptop-query's ts),\n"
	    "                       YYYY-MM-DDTHH:MM[:SS[.f]][ZONE] or HH:MM[:SS[.f]][ZONE];\n"
	    "                       ZONE Z, +09:00, -0530 (none: UTC)\n"
	    "      --ttl SECONDS    closed connections stay this long (default 30 s)\n"
	    "      --sort COLUMN    initial sort column (PID, COMM, ..., TX/s, RTT)\n"
	    "      --columns LIST   columns of the view and -b: NAME,... exactly those;\n"
	    "                       +NAME,-NAME add to / take from the default ones\n"
	    "                       (health: RETR CONNECT CWND ZWIN FAIL, hidden by default)\n"
	    "  -b, --batch          print snapshots to stdout, no curses (like top -b):\n"
	    "                       every -i of event time, playback as fast as possible,\n"
	    "                       and always a final one at the end of the capture\n"
	    "  -n, --count N        stop after N snapshots\n"
	    "  -i, --interval SEC   snapshot and rate interval in event time (default 1)\n"
	    "  -H, --human          batch numbers in human units (default: exact numbers)\n"
	    "      --csv FILE       write every snapshot as CSV rows (exact numbers, with\n"
	    "                       time and conn_id columns), with --batch or the view;\n"
	    "                       --csv - writes them to stdout, without the view\n"
	    "      --dump           print the events one per line (like tcpdump -r); with\n"
	    "                       filters, the events -o with them writes\n"
	    "      --json           with --dump: JSON lines; the first line is\n"
	    "                       {\"header\": {...}} (the first file's header), then one\n"
	    "                       object per event: ts (wall ns), kind, kind_id, conn_id,\n"
	    "                       pid, tid, flags and the fields of its kind\n"
	    "  -o, --output OUT.tt  write the events in --from/--to (of the connections the\n"
	    "                       filters keep) to a new capture;\n"
	    "                       connections open at --from get a CONN_OPEN there\n"
	    "  -f, --force          with -o or --csv: replace an existing file\n"
	    "      --anonymize KEYFILE\n"
	    "                       with -o: a copy for sharing, addresses anonymized\n"
	    "                       keeping subnets (Crypto-PAn), hostname hashed; the\n"
	    "                       key: head -c 32 /dev/urandom > KEYFILE (docs/SHARING.md)\n"
	    "      --anonymize-comm with --anonymize: process names hashed too\n"
	    "      --community-id-seed N\n"
	    "                       seed of the community_id of --dump, --json and --csv\n"
	    "                       (0..65535, default 0)\n"
	    "      --follow         like tail -f: the capture as a recorder writes it (each\n"
	    "                       flush within a second), on into the next files of its\n"
	    "                       rotated set (-C/-G/-W), until the recording ends (its\n"
	    "                       end block) or SIGINT/q; one FILE; the view plays at max\n"
	    "                       speed unless -s says otherwise\n"
	    "      --stats          print events/s to stderr at the end\n"
	    "%s"
	    "  -h, --help           this help;  -V, --version  the version\n\n"
	    "Keys in the view: space pause, + - speed, Left/Right seek 10 s, Shift-Left/Right\n"
	    "or [ ] 60 s, n next lost-events gap, g start, arrows PgUp PgDn Home End move,\n"
	    "s S < > sort, F6 choose the sort, r reverse, F2 or C choose the columns,\n"
	    "/ or F3 filter, Esc clear it, Enter the connection's timeline (Esc closes it),\n"
	    "h or F1 help, q or F10 quit.\n"
	    "Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad input file,\n"
	    "128 + the signal (130 for SIGINT, 143 for SIGTERM) when a signal stopped -o, --csv,\n"
	    "--batch or --dump before the end: the output is complete up to the time on stderr.\n",
	    prog, PACE_SPEED_MIN, PACE_SPEED_MAX, TT_FILTER_HELP);
}

struct cfg {
	double speed;
	const char *from_s, *to_s;
	struct tt_view_args view; /* -i --ttl --sort --columns -b -n -H --csv */
	int dump, json, stats, force, follow;
	unsigned bench, bench_seek; /* hidden: --bench-redraw N, --bench-seek N */
	uint64_t kf_bytes;	    /* hidden: --keyframe-mib N */
	const char *out_path;
	const char *anon_key; /* --anonymize KEYFILE */
	int anon_comm;
	uint16_t cid_seed; /* --community-id-seed */
	struct tt_filter filter;
	char filter_text[512];
};

struct run {
	struct cfg *cfg;
	struct player *p;
	struct tt_view_csv *csv;
	struct cut *cut;
	struct keep *keep; /* -o with filters: which events the copy keeps */
	struct tt_anon *anon;
	struct tt_select sel;
	uint64_t from, to, snapshots, last_snap, snap_events;
	uint64_t dumped, last_dumped; /* --dump: events printed, the latest time among them */
	uint64_t cut_n, cut_last;     /* -o: events written, the latest time among them */
	int cut_opened;
	int keep_on; /* on_applied takes events (from --from on) */
	int view;    /* the curses view runs (it shows warnings in its header) */
	int io_err;
	const char *io_what; /* the output io_err is about: "stdout", a file */
};

/* "stdout" for "-", else the path: how an output is named in messages. */
static const char *out_name(const char *path)
{
	return strcmp(path, "-") ? path : "stdout";
}

/* An output failed with err (-errno): keep the first failure, and which output it was. */
static int io_fail(struct run *r, const char *what, int err)
{
	if (!r->io_err) {
		r->io_err = err < 0 ? err : -EIO;
		r->io_what = what;
	}
	return r->io_err;
}

static int print_snapshot(struct run *r, const struct tt_state *st, uint64_t ts)
{
	struct tt_view_batch_opts bo = {
	    .title = prog,
	    .filter_text = r->cfg->filter_text,
	    .human = r->cfg->view.human,
	    .cols = r->cfg->view.cols,
	};

	int ret;

	if (r->cfg->view.batch && (ret = tt_view_print_snapshot(stdout, st, &r->sel, ts, &bo)))
		io_fail(r, "stdout", ret);
	if (r->csv && (ret = tt_view_csv_write(r->csv, st, &r->sel, ts)))
		io_fail(r, out_name(r->cfg->view.csv_path), ret);
	r->snapshots++;
	r->last_snap = ts;
	r->snap_events = player_events(r->p);
	return r->io_err;
}

static int on_tick(void *ctx, const struct tt_state *st, uint64_t ts)
{
	struct run *r = ctx;

	if (stop)
		return 1;
	if (ts < r->from)
		return 0;
	if (print_snapshot(r, st, ts))
		return 1;
	return r->cfg->view.batch && r->cfg->view.count && r->snapshots >= r->cfg->view.count;
}

static int dump_one(struct run *r, const struct tt_event *ev)
{
	if (r->cfg->json)
		dump_event_json(stdout, ev, r->cfg->cid_seed);
	else
		dump_event_text(stdout, ev, player_state(r->p), r->cfg->cid_seed);
	if (ferror(stdout))
		return io_fail(r, "stdout", errno > 0 ? -errno : -EIO);
	r->dumped++;
	if (ev->ts_ns > r->last_dumped)
		r->last_dumped = ev->ts_ns;
	return 0;
}

/* --dump without filters: every event, named from the table as it was before it. */
static int on_event(void *ctx, const struct tt_event *ev)
{
	struct run *r = ctx;

	if (stop)
		return 1;
	if (ev->ts_ns < r->from)
		return 0;
	return dump_one(r, ev);
}

/*
 * -o, and --dump with filters: after the event is applied, the table knows whether the
 * filters keep its connection. Both take the same events, those keep_event() gives (what
 * `tcpdump -r in 'port 443'` would print, and `-w` write).
 */
static int on_applied(void *ctx, const struct tt_event *ev)
{
	struct run *r = ctx;
	struct tt_event out[KEEP_MAX_OUT];
	int n;

	if (stop)
		return 1;
	if (ev->ts_ns < r->from || !r->keep_on)
		return 0;
	n = keep_event(r->keep, player_state(r->p), ev, out);
	if (n < 0)
		return r->io_err = n;
	for (int i = 0; i < n; i++) {
		int ret = r->cut ? cut_add(r->cut, &out[i]) : 0;

		if (ret < 0)
			return io_fail(r, out_name(r->cfg->out_path), ret);
		if (r->cfg->dump && dump_one(r, &out[i]))
			return 1;
	}
	return 0;
}

static void on_warn(void *ctx, const char *msg)
{
	struct run *r = ctx;

	/* The view shows warnings in its header; everything else (--csv - too) on stderr. */
	if (!r->view)
		tt_warn(prog, "%s", msg);
}

static int is_stdio(const char *path)
{
	return path && strcmp(path, "-") == 0;
}

/*
 * stdin and stdout are one stream each. Two outputs on stdout would interleave (text and CSV
 * rows, a capture and text), and a second "-" would read what the first left: usage errors,
 * said before any output. A capture typed at a terminal is not meant either.
 */
static void check_stdio(const struct cfg *c, int argc, char **argv)
{
	const char *out[4];
	int n = 0, in = 0;

	if (c->view.batch)
		out[n++] = "--batch";
	if (c->dump)
		out[n++] = "--dump";
	if (is_stdio(c->view.csv_path))
		out[n++] = "--csv -";
	if (is_stdio(c->out_path))
		out[n++] = "-o -";
	if (n > 1)
		tt_die(prog, TT_EXIT_USAGE, "%s and %s both write to stdout", out[0], out[1]);
	for (int i = optind; i < argc; i++)
		in += is_stdio(argv[i]);
	if (in > 1)
		tt_die(prog, TT_EXIT_USAGE, "- (stdin) is given twice");
	if (in && isatty(STDIN_FILENO))
		tt_die(prog, TT_EXIT_USAGE,
		       "-: stdin is a terminal, not a capture (give a file, or pipe one in)");
}

/* Leading ':': a missing value is reported as ':', not as an unknown option. */
#define SHORTOPTS ":s:o:fhV" TT_VIEW_SHORTOPTS TT_FILTER_SHORTOPTS

static void parse(struct cfg *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"speed", required_argument, NULL, 's'},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"to", required_argument, NULL, OPT_TO},
	    {"dump", no_argument, NULL, OPT_DUMP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"output", required_argument, NULL, 'o'},
	    {"force", no_argument, NULL, 'f'},
	    {"follow", no_argument, NULL, OPT_FOLLOW},
	    {"stats", no_argument, NULL, OPT_STATS},
	    {"bench-redraw", required_argument, NULL, OPT_BENCH},
	    {"bench-seek", required_argument, NULL, OPT_BENCH_SEEK},
	    {"keyframe-mib", required_argument, NULL, OPT_KF_MIB},
	    {"anonymize", required_argument, NULL, OPT_ANON},
	    {"anonymize-comm", no_argument, NULL, OPT_ANON_COMM},
	    {"community-id-seed", required_argument, NULL, OPT_CID_SEED},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    TT_VIEW_LONGOPTS,
	    TT_FILTER_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	char err[256];
	uint64_t v;
	int o, ret;

	c->speed = -1; /* 1, or max when following with the view */
	tt_view_args_init(&c->view);
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((o = getopt_long(argc, argv, SHORTOPTS, opts, NULL)) != -1) {
		ret = tt_filter_getopt(&c->filter, o, optarg, err, sizeof(err));
		if (!ret) /* event time: snapshots as close as 1 ms */
			ret = tt_view_getopt(&c->view, o, optarg, 1000000, err, sizeof(err));
		if (ret < 0)
			tt_die(prog, TT_EXIT_USAGE, "%s", err);
		if (ret > 0)
			continue;
		switch (o) {
		case 's':
			if (strcmp(optarg, "max") == 0)
				c->speed = 0;
			else if (tt_parse_double(optarg, PACE_SPEED_MIN, PACE_SPEED_MAX, &c->speed))
				tt_die(prog, TT_EXIT_USAGE, "bad --speed '%s' (%g .. %g or max)",
				       optarg, PACE_SPEED_MIN, PACE_SPEED_MAX);
			break;
		case OPT_FROM: c->from_s = optarg; break;
		case OPT_TO: c->to_s = optarg; break;
		case OPT_DUMP: c->dump = 1; break;
		case OPT_JSON: c->json = 1; break;
		case 'o': c->out_path = optarg; break;
		case 'f': c->force = 1; break;
		case OPT_FOLLOW: c->follow = 1; break;
		case OPT_STATS: c->stats = 1; break;
		case OPT_ANON: c->anon_key = optarg; break;
		case OPT_ANON_COMM: c->anon_comm = 1; break;
		case OPT_CID_SEED:
			if (tt_cid_parse_seed(optarg, &c->cid_seed))
				tt_die(prog, TT_EXIT_USAGE,
				       "bad --community-id-seed '%s' (0..65535)", optarg);
			break;
		case OPT_KF_MIB: /* hidden: tests make keyframes thin out on small captures */
			if (tt_parse_u64(optarg, 1, 1 << 20, &v))
				tt_die(prog, TT_EXIT_USAGE, "bad --keyframe-mib '%s'", optarg);
			c->kf_bytes = v << 20;
			break;
		case OPT_BENCH_SEEK:
			if (tt_parse_u64(optarg, 1, 1000000, &v))
				tt_die(prog, TT_EXIT_USAGE, "bad --bench-seek '%s'", optarg);
			c->bench_seek = (unsigned)v;
			break;
		case OPT_BENCH:
			if (tt_parse_u64(optarg, 1, 1000000, &v))
				tt_die(prog, TT_EXIT_USAGE, "bad --bench-redraw '%s'", optarg);
			c->bench = (unsigned)v;
			break;
		case 'h': usage(); exit(0);
		case 'V': printf("%s tcptop %s\n", prog, TT_VERSION); exit(0);
		default: tt_getopt_fail(prog, o, argv, SHORTOPTS);
		}
	}
	if (optind >= argc)
		tt_die(prog, TT_EXIT_USAGE, "no capture file given (try --help)");
	if (c->follow && argc - optind > 1)
		tt_die(prog, TT_EXIT_USAGE,
		       "--follow follows one file (and the rotated files after it): give one");
	if (c->follow && is_stdio(argv[optind]))
		tt_die(prog, TT_EXIT_USAGE, "--follow reads a file: a pipe (-) follows by itself");
	if (c->speed < 0)
		c->speed = c->follow ? 0 : 1;
	if (c->json && !c->dump)
		tt_die(prog, TT_EXIT_USAGE, "--json goes with --dump");
	if (c->dump && c->view.batch)
		tt_die(prog, TT_EXIT_USAGE, "--dump and --batch do not go together");
	check_stdio(c, argc, argv);
	if (c->force && !c->out_path && !c->view.csv_path)
		tt_die(prog, TT_EXIT_USAGE, "--force goes with -o OUT.tt or --csv FILE");
	if (c->anon_key && !c->out_path)
		tt_die(prog, TT_EXIT_USAGE, "--anonymize writes a copy: give it -o OUT.tt");
	if (c->anon_comm && !c->anon_key)
		tt_die(prog, TT_EXIT_USAGE, "--anonymize-comm goes with --anonymize KEYFILE");
	tt_view_args_done(&c->view);
	tt_filter_format(&c->filter, c->filter_text, sizeof(c->filter_text));
	(void)v;
}

static uint64_t parse_when(const char *s, const char *what, const struct player *p)
{
	uint64_t ns;

	if (tt_parse_time(s, player_start(p), &ns))
		tt_die(prog, TT_EXIT_USAGE, "bad %s time '%s'", what, s);
	return ns;
}

/* The view, with a CSV alongside if asked for. */
static int run_view(struct run *r)
{
	struct pace pc = {.p = r->p, .speed = r->cfg->speed, .follow = r->cfg->follow};
	struct tt_view_source src;
	struct tt_view_opts vo = {
	    .title = prog,
	    .filter_text = r->cfg->filter_text,
	    .sort = r->cfg->view.sort,
	    .cols = r->cfg->view.cols,
	    .stop = &stop,
	    .bench_redraws = r->cfg->bench,
	};
	double ms = 0;
	char err[256];
	int ret;

	vo.bench_ms = &ms;
	pc.end_ns = r->to; /* the end of the events, when they end, is found by playing */
	if (r->cfg->bench) {
		/* Benchmark: the whole capture in the table, then redraws only. */
		ret = player_advance(r->p, r->to + (r->to < UINT64_MAX), 1, 0);
		if (ret < 0)
			tt_die(prog, TT_EXIT_ERROR, "%s", strerror(-ret));
	}
	pace_source(&pc, &src);
	ret = tt_view_run(&src, &vo, err, sizeof(err));
	/* no terminal to draw on is a usage error, as tcptop says it (-b is for pipes) */
	if (ret < 0)
		tt_die(prog, ret == -ENOTTY ? TT_EXIT_USAGE : TT_EXIT_ERROR, "%s", err);
	if (r->cfg->bench)
		fprintf(stderr, "redraw: %.3f ms mean over %u redraws, %zu connections\n", ms,
			r->cfg->bench, tt_state_count(player_state(r->p)));
	return 0;
}

/* "NAME has N WHAT up to TIME; " for one output a signal cut short. */
static size_t say_has(char *buf, size_t len, const char *name, uint64_t n, const char *what,
		      uint64_t last)
{
	char t[48];
	int k;

	if (!n) {
		k = snprintf(buf, len, "%s has no %s; ", name, what);
	} else {
		tt_iso_str(last, t, sizeof(t));
		k = snprintf(buf, len, "%s has %" PRIu64 " %s up to %s; ", name, n, what, t);
	}
	return k < 0 ? 0 : (size_t)k < len ? (size_t)k : len - 1;
}

/*
 * A signal stopped the outputs before the end: each is complete up to some capture time (a
 * capture with its end block, whole snapshots, whole lines). Say which, in one line, so that
 * a truncated copy is never taken for the whole.
 */
static void say_interrupted(struct run *r)
{
	const struct cfg *c = r->cfg;
	char buf[2048], t[48];
	size_t n = 0;

	if (c->out_path && r->cut_opened)
		n += say_has(buf + n, sizeof(buf) - n,
			     strcmp(c->out_path, "-") ? c->out_path : "stdout", r->cut_n, "events",
			     r->cut_last);
	else if (c->out_path)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%.1000s was not written; ",
				      c->out_path);
	if (c->view.batch)
		n += say_has(buf + n, sizeof(buf) - n, "stdout", r->snapshots, "snapshots",
			     r->last_snap);
	if (r->csv)
		n += say_has(buf + n, sizeof(buf) - n, c->view.csv_path, r->snapshots, "snapshots",
			     r->last_snap);
	if (c->dump)
		n += say_has(buf + n, sizeof(buf) - n, "stdout", r->dumped, "events",
			     r->last_dumped);
	if (c->follow && player_writing(r->p)) {
		snprintf(buf + n, sizeof(buf) - n, "the capture is still being written");
	} else if (player_last(r->p) != UINT64_MAX) {
		tt_iso_str(player_last(r->p), t, sizeof(t));
		snprintf(buf + n, sizeof(buf) - n, "the capture goes on to %s", t);
	} else {
		snprintf(buf + n, sizeof(buf) - n, "the rest of the input was not read");
	}
	fprintf(stderr, "%s: interrupted: %s\n", prog, buf);
}

/*
 * To --from, quietly. Nothing at or after it (known only once read to the end, from a
 * pipe) is a usage error said before any output: every output would be empty, and a
 * snapshot at the end of the capture would pass for one at --from.
 */
static int play_to_from(struct run *r)
{
	char f[48], l[48];
	int ret = player_advance(r->p, r->from, 1, 0);

	if (ret != 1 || r->from <= player_pos(r->p))
		return ret < 0 ? ret : 0;
	tt_iso_str(r->from, f, sizeof(f));
	tt_iso_str(player_pos(r->p), l, sizeof(l));
	tt_die(prog, TT_EXIT_USAGE, "--from %s is after the last event%s (at %s)", f,
	       r->to == UINT64_MAX ? "" : " up to --to", l);
	return 0;
}

/* Batch, CSV-only, dump and cut: playback as fast as possible. *ended: not cut short. */
static int run_fast(struct run *r, int *ended)
{
	uint64_t t0 = tt_now_mono_ns(), end;
	int ret;
	char err[256];

	if (r->cfg->dump && r->cfg->json)
		dump_header_json(stdout, player_header(r->p));
	if (r->cfg->out_path) {
		ret = cut_open(&r->cut, r->cfg->out_path, r->cfg->force, player_header(r->p),
			       player_state(r->p),
			       r->from > player_first(r->p) ? r->from : player_first(r->p), r->anon,
			       err, sizeof(err));
		if (ret < 0)
			tt_die(prog, TT_EXIT_ERROR, "%s", err);
		r->cut_opened = 1;
	}
	/* The connections open at --from that the filters keep are kept from the start. */
	if ((r->cfg->out_path || r->cfg->dump) && !tt_filter_is_empty(&r->cfg->filter) &&
	    keep_new(&r->keep, player_state(r->p)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "out of memory");
	r->keep_on = 1;
	end = r->to == UINT64_MAX ? UINT64_MAX : r->to + 1;
	/* following: what is written so far, then again after a pause, until the end or a signal */
	while ((ret = player_advance(r->p, end, 0, 0)) == PLAYER_WAITING && !stop && !r->io_err) {
		struct timespec ts = {0, (long)FOLLOW_POLL_NS};

		/* what came so far is out now, not when a buffer fills (--dump into a pipe) */
		if (fflush(stdout))
			io_fail(r, "stdout", -errno);
		nanosleep(&ts, NULL);
	}
	if (ret == PLAYER_WAITING)
		ret = 0;
	if (ret < 0)
		return ret;
	*ended = ret == 1 || !stop;
	keep_free(r->keep);
	if (r->cut)
		r->cut_n = cut_events(r->cut, &r->cut_last);
	if (r->cut && cut_close(r->cut, err, sizeof(err)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s: %s", out_name(r->cfg->out_path), err);
	if (r->io_err)
		return r->io_err;
	/* The final snapshot, unless -n ended it or the last tick already showed the end. */
	if ((r->cfg->view.batch || r->csv) && *ended &&
	    !(r->cfg->view.batch && r->cfg->view.count && r->snapshots >= r->cfg->view.count)) {
		struct tt_state *st = player_state(r->p);
		uint64_t ts = player_pos(r->p);

		if (ts > player_last_tick(r->p))
			tt_state_tick(st, ts);
		/* (events at the very time of the last tick come after it) */
		if (!r->snapshots || r->last_snap != ts || r->snap_events != player_events(r->p))
			print_snapshot(r, st, ts);
	}
	if (r->cfg->stats) {
		double s = (double)(tt_now_mono_ns() - t0) / 1e9;

		fprintf(stderr, "%s: %" PRIu64 " events in %.3f s: %.0f events/s\n", prog,
			player_events(r->p), s, s > 0 ? player_events(r->p) / s : 0.0);
	}
	return r->io_err;
}

int main(int argc, char **argv)
{
	struct cfg cfg = {0};
	struct run r = {.cfg = &cfg};
	struct player_opts po = {0};
	/* restarted: a signal while a snapshot goes to a full pipe must not cut the snapshot */
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	char err[512];
	int ret, ret2, fast, ended = 1;

	parse(&cfg, argc, argv);
	if (cfg.anon_key) {
		uint8_t key[TT_ANON_KEY_LEN];

		/* A bad key file is bad input (exit 2), like a bad capture. */
		ret = tt_anon_load_key(cfg.anon_key, key, err, sizeof(err));
		if (ret < 0)
			tt_die(prog, TT_EXIT_USAGE, "%s", err);
		ret = tt_anon_new(&r.anon, key, cfg.anon_comm ? TT_ANON_COMM : 0, err, sizeof(err));
		memset(key, 0, sizeof(key));
		if (ret < 0)
			tt_die(prog, TT_EXIT_ERROR, "%s", err);
	}
	/* --csv - alone is CSV on stdout, a terminal or not: never under the view */
	fast = cfg.view.batch || cfg.dump || cfg.out_path ||
	       (cfg.view.csv_path && (!isatty(STDOUT_FILENO) || is_stdio(cfg.view.csv_path)));
	po.keyframes = !fast || cfg.bench_seek; /* only the view seeks */
	r.view = !fast && !cfg.bench_seek;
	po.timeline = r.view;
	po.keyframe_bytes = cfg.kf_bytes;
	po.tick_ns = cfg.view.interval_ns;
	po.ttl_ns = cfg.view.ttl_ns;
	po.filter = tt_filter_is_empty(&cfg.filter) ? NULL : &cfg.filter;
	po.warn = on_warn;
	po.warn_ctx = &r;
	po.on_tick = on_tick;
	/*
	 * Only dumps and cuts look at single events: without them events apply in batches. A
	 * filtered dump learns from the table, once the event is applied, whether it is kept.
	 */
	po.on_event = cfg.dump && !po.filter ? on_event : NULL;
	po.on_applied = cfg.out_path || (cfg.dump && po.filter) ? on_applied : NULL;
	po.stop = &stop;
	po.follow = cfg.follow;
	po.ctx = &r;
	ret = player_open(&r.p, argv + optind, argc - optind, &po, err, sizeof(err));
	if (ret < 0)
		tt_die(prog, ret == -ENOMEM ? TT_EXIT_ERROR : TT_EXIT_USAGE, "%s", err);
	r.sel.sort = cfg.view.sort;
	r.from = cfg.from_s ? parse_when(cfg.from_s, "--from", r.p) : 0;
	r.to = cfg.to_s ? parse_when(cfg.to_s, "--to", r.p) : UINT64_MAX;
	if (r.to < r.from)
		tt_die(prog, TT_EXIT_USAGE, "--to is before --from");
	if (r.to != UINT64_MAX && (ret = player_set_to(r.p, r.to)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", strerror(-ret));
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!cfg.bench_seek && (fast || r.from) && (ret = play_to_from(&r)) < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", strerror(-ret));
	if (cfg.view.csv_path) {
		ret = tt_view_csv_open(&r.csv, cfg.view.csv_path, cfg.force, err, sizeof(err));
		if (ret < 0)
			tt_die(prog, TT_EXIT_ERROR, "%s", err);
		tt_view_csv_set_cid_seed(r.csv, cfg.cid_seed);
	}

	if (cfg.bench_seek) {
		ret = bench_seek(r.p, cfg.bench_seek, stderr);
	} else if (fast) {
		ret = run_fast(&r, &ended);
	} else {
		ret = run_view(&r);
		ended = !stop || !r.csv;
	}
	if ((ret2 = tt_view_csv_close(r.csv)) < 0 && !ret)
		ret = io_fail(&r, out_name(cfg.view.csv_path), ret2);
	tt_anon_free(r.anon);
	if ((ret2 = tt_stream_status(stdout)) < 0 && !ret)
		ret = io_fail(&r, "stdout", ret2);
	/* a write error says which output and why ("stdout: No space left on device") */
	if (ret < 0 && r.io_what && r.io_err == ret)
		tt_die(prog, TT_EXIT_ERROR, "%s: %s", r.io_what, strerror(-ret));
	if (ret < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s", strerror(-ret));
	/* read to the end of a file a recorder still writes: say so, it is no damage */
	if (ended && !cfg.follow && fast && (ret2 = player_writing(r.p)) > 0)
		fprintf(stderr,
			"%s: %s: still being written: read up to its last flush (--follow reads "
			"on)\n",
			prog, argv[optind + ret2 - 1]);
	if (!ended) {
		say_interrupted(&r);
		player_free(r.p);
		return 128 + stop;
	}
	player_free(r.p);
	return 0;
}
