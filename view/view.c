/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The curses view: header, connection table with virtual scrolling, keys.
 * The only curses code of the project. Terminal set-up and restore live in
 * term_open()/term_close(), and every way out of tt_view_run() goes through
 * term_close().
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_kind.h"
#include "tt_util.h"
#include "tt_view.h"

#define HEAD_ROWS 3 /* header, warning/filter line, column titles */
#define FOOT_ROWS 1
#define MAX_ROWS 1024
#define TEXT_MAX 64
#define REDRAW_NS 200000000ull /* redraw at least this often even without news */
#define PANE_HEAD 4	       /* the pane's title, two summary lines, its column titles */

enum { PAIR_WARN = 1, PAIR_TITLE, PAIR_SORT };

struct layout {
	int shown[TT_COL_MAX];
	int width[TT_COL_MAX];
	int ncols;
};

struct view {
	const struct tt_view_source *src;
	const struct tt_view_opts *opts;
	SCREEN *scr;
	FILE *tty; /* keys from /dev/tty when stdin carries data (less does the same) */
	struct tt_select sel;
	char text[TEXT_MAX];  /* applied free-text filter */
	char input[TEXT_MAX]; /* being typed after '/' */
	int editing;
	int sorting;		   /* F6: choosing the sort column with the arrows */
	struct tt_select sort_was; /* the sort to go back to on Esc (of F6 and of F2) */
	uint32_t cols;		   /* the columns shown (TT_COL_BIT) */
	int choosing; /* F2: choosing the columns, choose_at the one under the cursor */
	enum tt_col choose_at;
	uint32_t cols_was; /* the columns to go back to on Esc */
	int help;
	int ended;
	size_t cur, top, total;
	char msg[128]; /* one-shot status message (e.g. a seek error) */
	int want[2]; /* longest LOCAL / REMOTE text shown since the last resize: widths only grow */
	const struct tt_conn *rows[MAX_ROWS];
	size_t nrows; /* rows of the last frame, which keys act on */
	/*
	 * The detail pane (Enter): one connection's timeline, by its id, so it stays with the
	 * connection however the table re-sorts.
	 */
	int pane;
	uint64_t pane_id;
	struct tt_conn pane_conn; /* as last seen: an evicted connection keeps its summary */
	size_t pane_top, pane_n;
	int pane_follow;	    /* End: the newest events stay in sight */
	const struct tt_event **tl; /* TT_STATE_TIMELINE_MAX entries, from the first open */
};

static int term_open(struct view *v, char *err, size_t errlen)
{
	FILE *keys = stdin;

	if (!isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "the view needs a terminal (use --batch for pipes)");
		return -ENOTTY;
	}
	/*
	 * stdin may carry a capture (cat x.tt | tcptop-replay -): the keys then come from the
	 * controlling terminal, as less reads them.
	 */
	if (!isatty(STDIN_FILENO)) {
		v->tty = fopen("/dev/tty", "re");
		if (!v->tty || !isatty(fileno(v->tty))) {
			snprintf(
			    err, errlen,
			    "the view needs a terminal for its keys: stdin is none, and there is "
			    "no /dev/tty (use --batch for pipes)");
			return -ENOTTY;
		}
		keys = v->tty;
	}
	setlocale(LC_ALL, "");
	v->scr = newterm(NULL, stdout, keys);
	if (!v->scr) {
		snprintf(err, errlen, "cannot set up terminal '%s'",
			 getenv("TERM") ? getenv("TERM") : "");
		return -ENOTTY;
	}
	set_term(v->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_WARN, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_SORT, COLOR_BLACK, COLOR_YELLOW);
	}
	return 0;
}

static void term_close(struct view *v)
{
	if (v->scr) {
		curs_set(1);
		endwin();
		delscreen(v->scr);
		v->scr = NULL;
	}
	if (v->tty)
		fclose(v->tty);
	v->tty = NULL;
}

static const int base_width[TT_COL_MAX] = {
    [TT_COL_PID] = 7,	  [TT_COL_COMM] = 15,  [TT_COL_PROTO] = 5,   [TT_COL_LOCAL] = 15,
    [TT_COL_REMOTE] = 15, [TT_COL_STATE] = 11, [TT_COL_TX_RATE] = 6, [TT_COL_RX_RATE] = 6,
    [TT_COL_TX] = 6,	  [TT_COL_RX] = 6,     [TT_COL_TX_PKTS] = 6, [TT_COL_RX_PKTS] = 6,
    [TT_COL_RTT] = 7,	  [TT_COL_RETR] = 6,   [TT_COL_CONNECT] = 7, [TT_COL_CWND] = 5,
    [TT_COL_ZWIN] = 7,	  [TT_COL_FAIL] = 11,
};

/*
 * Columns by how long they stay on a narrow terminal, the first given up
 * first: at 80 columns who (COMM), both ends, the state and the rates stay.
 * A pair goes as one: TX_PKT without RX_PKT reads as a one-way connection.
 * The health columns, shown only when chosen (F2, --columns), go before all of
 * them, the last chosen first: who and how much stay the table's point.
 */
static const int drop_order[][2] = {
    {TT_COL_FAIL, -1},	    {TT_COL_ZWIN, -1},
    {TT_COL_CWND, -1},	    {TT_COL_CONNECT, -1},
    {TT_COL_RETR, -1},	    {TT_COL_TX_PKTS, TT_COL_RX_PKTS},
    {TT_COL_PROTO, -1},	    {TT_COL_RTT, -1},
    {TT_COL_TX, TT_COL_RX}, {TT_COL_PID, -1},
    {TT_COL_LOCAL, -1},	    {TT_COL_STATE, -1},
    {TT_COL_COMM, -1},	    {TT_COL_TX_RATE, TT_COL_RX_RATE},
};

#define EP_MAX 47 /* "[" + the longest IPv6 text (39) + "]:" + port (5) */

/*
 * Of the chosen columns (set), columns are dropped (drop_order, but never the sort column: a sort
 * on a column one cannot see looks like no order) until the rest fit with the endpoints at their
 * base width; then the endpoints grow towards the longest text on screen (want[]), fairly, and what
 * is left stays blank.
 */
static void layout(struct layout *l, int cols, const int want[2], int sort, uint32_t set)
{
	static const int ep[2] = {TT_COL_LOCAL, TT_COL_REMOTE};
	int used, extra, i, d = 0;

	for (i = 0; i < TT_COL_MAX; i++)
		l->shown[i] = !!(set & TT_COL_BIT(i));
	for (;;) {
		used = 0;
		l->ncols = 0;
		for (i = 0; i < TT_COL_MAX; i++) {
			if (!l->shown[i])
				continue;
			l->width[i] = base_width[i];
			used += base_width[i] + (l->ncols ? 1 : 0);
			l->ncols++;
		}
		if (used <= cols || d >= (int)(sizeof(drop_order) / sizeof(drop_order[0])))
			break;
		for (i = 0; i < 2 && drop_order[d][0] != sort && drop_order[d][1] != sort; i++)
			if (drop_order[d][i] >= 0)
				l->shown[drop_order[d][i]] = 0;
		d++;
	}
	extra = cols - used;
	for (int round = 0; round < 2 && extra > 0; round++) {
		/* first round: half of what is left each; then the rest to who still wants */
		int share = round ? extra : extra / 2;

		for (i = 0; i < 2 && extra > 0; i++) {
			int need;
			int give;

			if (!l->shown[ep[i]])
				continue;
			need = (want[i] < EP_MAX ? want[i] : EP_MAX) - l->width[ep[i]];
			give = need < share ? need : share;
			if (give <= 0)
				continue;
			l->width[ep[i]] += give;
			extra -= give;
		}
	}
}

static int left_aligned(int col)
{
	return col == TT_COL_COMM || col == TT_COL_LOCAL || col == TT_COL_REMOTE ||
	       col == TT_COL_STATE || col == TT_COL_PROTO || col == TT_COL_FAIL;
}

/* Prints a cell at the cursor, padded to the column's width. */
static void put_cell(int col, int width, const char *s, int first)
{
	char fit[TEXT_MAX * 4];

	if (!first)
		addch(' ');
	if (col == TT_COL_LOCAL || col == TT_COL_REMOTE)
		tt_view_fit_endpoint(s, (unsigned)width, fit, sizeof(fit));
	else
		tt_view_fit_left(s, (unsigned)width, fit, sizeof(fit));
	if (left_aligned(col)) {
		addstr(fit);
		for (int n = (int)strlen(s) < width ? (int)strlen(s) : width; n < width; n++)
			addch(' ');
	} else {
		for (int n = (int)strlen(s) < width ? (int)strlen(s) : width; n < width; n++)
			addch(' ');
		addstr(fit);
	}
}

/* A piece of the header line and the squeeze level from which it is left out (0: never). */
#define HEAD_LEVELS 6 /* the highest such level */
struct piece {
	const char *sep; /* before it, unless it comes first */
	char text[96];
	int gone;
};

/*
 * The header's first line, the pieces a narrow terminal needs least left out
 * first (the program name, the date, the total rates, the connection counts,
 * the time) so that what says how to read the table, the mode, the lost count
 * and the sort column, stays whole.
 */
static void header_line(struct view *v, const struct tt_state_summary *sum, char *line, size_t len)
{
	const struct tt_view_source *src = v->src;
	char when[64], tx[16], rx[16];
	struct piece p[] = {
	    {"", "", 1},	    /* title */
	    {"  ", "", 2},	    /* date */
	    {" ", "", HEAD_LEVELS}, /* time */
	    {"  ", "", 0},	    /* mode */
	    {"  ", "conns:", 4},
	    {" ", "", 5},  /* open, closed */
	    {"  ", "", 3}, /* tx */
	    {"  ", "", 3}, /* rx */
	    {"  ", "", 0}, /* lost */
	    {"  ", "", 0}, /* sort */
	};
	const int np = (int)(sizeof(p) / sizeof(p[0]));
	char *time_of_day;

	snprintf(p[0].text, sizeof(p[0].text), "%s", v->opts->title ? v->opts->title : "tcptop");
	tt_wall_str(src->now_ns(src->ctx), when, sizeof(when));
	/* "DATE TIME[ ZONE]": the date goes before the time of day */
	time_of_day = strchr(when, ' ');
	if (time_of_day) {
		*time_of_day++ = '\0';
		snprintf(p[1].text, sizeof(p[1].text), "%s", when);
		snprintf(p[2].text, sizeof(p[2].text), "%s", time_of_day);
	} else {
		snprintf(p[2].text, sizeof(p[2].text), "%s", when);
	}
	src->mode(src->ctx, p[3].text, sizeof(p[3].text));
	snprintf(p[5].text, sizeof(p[5].text), "%llu open, %llu closed",
		 (unsigned long long)sum->open, (unsigned long long)sum->closed);
	tt_human_bytes(sum->tx_rate, tx, sizeof(tx));
	tt_human_bytes(sum->rx_rate, rx, sizeof(rx));
	snprintf(p[6].text, sizeof(p[6].text), "tx %s/s", tx);
	snprintf(p[7].text, sizeof(p[7].text), "rx %s/s", rx);
	snprintf(p[8].text, sizeof(p[8].text), "lost %llu", (unsigned long long)sum->lost);
	snprintf(p[9].text, sizeof(p[9].text), "sort: %s%s", tt_col_name(v->sel.sort),
		 v->sel.reverse ? " (reversed)" : "");
	for (int level = 0; level <= HEAD_LEVELS; level++) {
		size_t used = 0;

		line[0] = '\0';
		for (int i = 0, prev = 0; i < np; i++) {
			/* glued to the piece before (" "), apart ("  ") when that one is out */
			const char *sep = !used ? "" : prev ? p[i].sep : "  ";

			prev = p[i].text[0] && !(p[i].gone && p[i].gone <= level);
			if (!prev)
				continue;
			used += (size_t)snprintf(line + used, len - used, "%s%s", sep, p[i].text);
			if (used >= len)
				used = len - 1;
		}
		if ((int)used <= COLS)
			break;
	}
}

static void draw_header(struct view *v, const struct tt_state_summary *sum)
{
	const char *warn = v->src->warning ? v->src->warning(v->src->ctx) : NULL;
	char line[512];
	int col;

	header_line(v, sum, line, sizeof(line));
	move(0, 0);
	attron(A_BOLD);
	addnstr(line, COLS);
	attroff(A_BOLD);

	move(1, 0);
	col = 0;
	if (sum->lost || warn || v->msg[0]) {
		if (sum->lost)
			snprintf(line, sizeof(line), " LOST %llu EVENTS ",
				 (unsigned long long)sum->lost);
		else
			line[0] = '\0';
		if (warn)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " WARNING: %s ",
				 warn);
		if (v->msg[0])
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s ", v->msg);
		attron(A_BOLD | COLOR_PAIR(PAIR_WARN));
		addnstr(line, COLS);
		attroff(A_BOLD | COLOR_PAIR(PAIR_WARN));
		col = (int)strlen(line) + 1;
	}
	if (col < COLS) {
		const char *ft = v->opts->filter_text ? v->opts->filter_text : "";

		if (!ft[0] && !v->text[0])
			snprintf(line, sizeof(line), " filter: none");
		else
			snprintf(line, sizeof(line), " filter: %s%s%s%s%s", ft,
				 ft[0] && v->text[0] ? " " : "", v->text[0] ? "text \"" : "",
				 v->text, v->text[0] ? "\"" : "");
		mvaddnstr(1, col, line, COLS - col);
	}
}

static void draw_titles(struct view *v, const struct layout *l)
{
	int first = 1;

	move(2, 0);
	attron(A_BOLD | COLOR_PAIR(PAIR_TITLE) | A_REVERSE * !has_colors());
	for (int c = 0; c < TT_COL_MAX; c++) {
		/* F2: the column under the chooser's cursor, where it shows */
		int cursor = v->choosing && (int)v->choose_at == c;

		if (!l->shown[c])
			continue;
		if (cursor)
			attron(A_UNDERLINE);
		if ((int)v->sel.sort == c) {
			attron(COLOR_PAIR(PAIR_SORT));
			put_cell(c, l->width[c], tt_col_name(c), first);
			attron(COLOR_PAIR(PAIR_TITLE));
		} else {
			put_cell(c, l->width[c], tt_col_name(c), first);
		}
		if (cursor)
			attroff(A_UNDERLINE);
		first = 0;
	}
	for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
		addch(' ');
	attroff(A_BOLD | COLOR_PAIR(PAIR_TITLE) | A_REVERSE);
}

static void draw_footer(struct view *v, size_t shown)
{
	static const char *const hints[] = {"q quit",  "F1 help",   "Enter timeline", "/ filter",
					    "F6 sort", "r reverse", "F2 columns"};
	char line[256];
	size_t used;

	move(LINES - 1, 0);
	clrtoeol();
	if (v->editing) {
		snprintf(line, sizeof(line), "filter: %s", v->input);
		addnstr(line, COLS);
		curs_set(1);
		return;
	}
	curs_set(0);
	if (v->choosing) {
		snprintf(line, sizeof(line),
			 "column %s: %s   Left/Right choose  Space show/hide  Enter keep  Esc back",
			 tt_col_name(v->choose_at),
			 v->cols & TT_COL_BIT(v->choose_at) ? "shown" : "hidden");
		attron(A_BOLD);
		addnstr(line, COLS);
		attroff(A_BOLD);
		return;
	}
	if (v->sorting) {
		snprintf(line, sizeof(line),
			 "sort by: %s%s   Left/Right choose  r reverse  Enter keep  Esc back",
			 tt_col_name(v->sel.sort), v->sel.reverse ? " (reversed)" : "");
		attron(A_BOLD);
		addnstr(line, COLS);
		attroff(A_BOLD);
		return;
	}
	used = (size_t)snprintf(line, sizeof(line), "%zu-%zu of %zu%s", shown ? v->top + 1 : 0,
				v->top + shown, v->total, v->ended ? "  (end of capture)" : "");
	/* Whole hints only, as many as fit: help, which lists every key, comes early. */
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		size_t n = strlen(hints[i]) + (i ? 2 : 3);

		if ((int)(used + n) > COLS || used + n >= sizeof(line))
			break;
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? "  " : "   ",
					 hints[i]);
	}
	attron(A_DIM);
	addnstr(line, COLS);
	attroff(A_DIM);
}

static void draw_help(struct view *v)
{
	/* Lines under 80 columns: a help cut on a common terminal hides the key it explains. */
	static const char *const lines[] = {
	    "Keys",
	    "  Up/Down, PgUp/PgDn, Home/End   move the selected row",
	    "  s or >   sort by the next column      S or <   sort by the previous column",
	    "  F6       choose the sort column: arrows move, Enter keeps, Esc goes back",
	    "  F2 or C  choose the columns: Left/Right move over all of them, Space shows",
	    "           or hides one, Enter keeps, Esc goes back (--columns at the start)",
	    "  r        reverse the sort order",
	    "  Enter    the selected connection's timeline: its events but traffic, with",
	    "           their time and time since the open; arrows scroll, End follows",
	    "           the newest, Esc, Enter or q close it. The timeline holds the",
	    "           latest 65536 such events of all connections (tcptop(8)).",
	    "  / F3 F4  type a text filter (comm, address, port, state),",
	    "           Enter applies it, Esc cancels",
	    "  Esc      clear the text filter",
	    "  h ? F1   this help (any key closes it)",
	    "  q F10    quit",
	    "",
	    "Columns: PID COMM PROTO LOCAL REMOTE STATE TX/s RX/s TX RX TX_PKT RX_PKT RTT,",
	    "hidden until chosen: RETR (retransmits) CONNECT (handshake time) CWND (last",
	    "cwnd sample) ZWIN (time in zero-window stalls) FAIL (why it failed)",
	    "Rates and bytes use powers of 1024 (K, M, G); closed connections are dimmed",
	    "and stay for the TTL (--ttl) of event time.",
	    "",
	};
	int y = 0;

	erase();
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && y < LINES; i++)
		mvaddnstr(y++, 0, lines[i], COLS);
	if (v->src->help && v->src->help[0]) {
		const char *p = v->src->help;

		while (*p && y < LINES) {
			const char *nl = strchr(p, '\n');
			int n = nl ? (int)(nl - p) : (int)strlen(p);

			mvaddnstr(y++, 0, p, n < COLS ? n : COLS);
			p += n + (nl ? 1 : 0);
		}
	}
	refresh();
}

/* First row of a window of vis rows that shows row cur of total, moving as little as it can. */
static size_t window_top(size_t top, size_t cur, size_t vis, size_t total)
{
	if (cur < top)
		top = cur;
	if (vis && cur >= top + vis)
		top = cur - vis + 1;
	if (top + vis > total)
		top = total > vis ? total - vis : 0;
	return top;
}

static size_t pane_rows(void)
{
	return LINES > HEAD_ROWS + PANE_HEAD - 1 + FOOT_ROWS
		   ? (size_t)(LINES - (HEAD_ROWS - 1) - PANE_HEAD - FOOT_ROWS)
		   : 0;
}

/* A timeline line: wall time (UTC), time since the open, kind, fields as --dump reads them. */
static void pane_line(const struct tt_event *ev, uint64_t open_ns, char *line, size_t len)
{
	uint64_t d = ev->ts_ns >= open_ns ? ev->ts_ns - open_ns : open_ns - ev->ts_ns;
	const struct tt_kind *k = tt_kind_get(ev->kind);
	char when[48], fields[512];

	tt_wall_us_str(ev->ts_ns, when, sizeof(when));
	tt_kind_text(ev, fields, sizeof(fields));
	snprintf(line, len, "%s %c%llu.%06llus  %-9s%s", when, ev->ts_ns >= open_ns ? '+' : '-',
		 (unsigned long long)(d / 1000000000ull),
		 (unsigned long long)(d % 1000000000ull / 1000ull), k ? k->name : "?", fields);
}

/*
 * Why it retransmitted, after the pane's total: " (rto N, fast N, tlp N, other N)" with the
 * causes that are not 0 (other: the handshake's and those of no known cause), then
 * "  spurious N" (resends the peer reported as duplicates), or "" when there are none.
 */
static void retrans_text(const struct tt_conn *c, char *out, size_t len)
{
	const uint32_t known = c->retrans_rto + c->retrans_fast + c->retrans_tlp;
	const struct {
		const char *name;
		uint32_t n;
	} part[] = {{"rto", c->retrans_rto},
		    {"fast", c->retrans_fast},
		    {"tlp", c->retrans_tlp},
		    {"other", c->retrans > known ? c->retrans - known : 0}};
	size_t at = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++)
		if (part[i].n && at < len)
			at += snprintf(out + at, len - at, "%s%s %u", at ? ", " : " (",
				       part[i].name, part[i].n);
	if (at && at < len)
		at += snprintf(out + at, len - at, ")");
	if (c->retrans_spurious && at < len)
		snprintf(out + at, len - at, "  spurious %u", c->retrans_spurious);
}

/*
 * The detail pane under the header: the connection's endpoints, owner and state, then its
 * timeline (tt_state_timeline) scrolled to pane_top.
 */
static void draw_pane(struct view *v, const struct tt_state *st)
{
	const struct tt_conn *live = tt_state_find(st, v->pane_id);
	const struct tt_conn *c = &v->pane_conn;
	size_t vis = pane_rows(), n, i;
	char line[768], l[64], r[64], a[32], b[32], p1[32], p2[32], rtt[32], when[48], causes[96];
	uint64_t open_ns;
	int y = HEAD_ROWS - 1;

	if (live)
		v->pane_conn = *live;
	n = tt_state_timeline(st, v->pane_id, v->tl, TT_STATE_TIMELINE_MAX);
	v->pane_n = n;
	if (v->pane_follow || v->pane_top + vis > n)
		v->pane_top = n > vis ? n - vis : 0;
	/* times count from the open (the connection's first event), else from its first kept */
	open_ns = c->first_ts ? c->first_ts : n ? v->tl[0]->ts_ns : 0;

	snprintf(line, sizeof(line),
		 " CONNECTION %lld   Up/Down PgUp/PgDn Home/End scroll   "
		 "Esc Enter q back to the table",
		 (long long)tt_conn_id_signed(v->pane_id));
	move(y++, 0);
	attron(A_BOLD | COLOR_PAIR(PAIR_TITLE) | A_REVERSE * !has_colors());
	addnstr(line, COLS);
	for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
		addch(' ');
	attroff(A_BOLD | COLOR_PAIR(PAIR_TITLE) | A_REVERSE);

	tt_view_cell(c, TT_COL_LOCAL, 1, l, sizeof(l));
	tt_view_cell(c, TT_COL_REMOTE, 1, r, sizeof(r));
	tt_wall_us_str(open_ns, when, sizeof(when));
	snprintf(line, sizeof(line), " %s %s > %s  pid %u %.*s  %s  since %s%s",
		 tt_view_cell(c, TT_COL_PROTO, 1, a, sizeof(a)), l, r, c->pid, TT_COMM_LEN, c->comm,
		 live ? tt_state_text(c) : "gone from the table (its TTL passed)", when,
		 c->flags & TT_CONN_PREEXISTING ? " (open before the start)" : "");
	mvaddnstr(y++, 0, line, COLS);
	retrans_text(c, causes, sizeof(causes));
	snprintf(line, sizeof(line),
		 " tx %s (%s pkts)  rx %s (%s pkts)  rtt %s  retrans %u%s  resets %u",
		 tt_view_cell(c, TT_COL_TX, 1, a, sizeof(a)),
		 tt_view_cell(c, TT_COL_TX_PKTS, 1, p1, sizeof(p1)),
		 tt_view_cell(c, TT_COL_RX, 1, b, sizeof(b)),
		 tt_view_cell(c, TT_COL_RX_PKTS, 1, p2, sizeof(p2)),
		 tt_view_cell(c, TT_COL_RTT, 1, rtt, sizeof(rtt)), c->retrans, causes, c->resets);
	mvaddnstr(y++, 0, line, COLS);
	move(y++, 0);
	attron(A_BOLD);
	addnstr(" TIME (UTC)                  SINCE OPEN  EVENT", COLS);
	attroff(A_BOLD);
	for (i = 0; i < vis && v->pane_top + i < n; i++) {
		line[0] = ' ';
		pane_line(v->tl[v->pane_top + i], open_ns, line + 1, sizeof(line) - 1);
		mvaddnstr(y++, 0, line, COLS);
	}
	if (!n) {
		snprintf(line, sizeof(line),
			 " no events kept for this connection (the timeline keeps the latest %u "
			 "events and %u samples of all connections)",
			 TT_STATE_TIMELINE_EVENTS, TT_STATE_TIMELINE_SAMPLES);
		mvaddnstr(y, 0, line, COLS);
	}
	move(LINES - 1, 0);
	clrtoeol();
	snprintf(line, sizeof(line), "events %zu-%zu of %zu%s%s", n ? v->pane_top + 1 : 0,
		 v->pane_top + i, n, v->pane_follow ? "  (following the newest)" : "",
		 v->ended ? "  (end of capture)" : "");
	attron(A_DIM);
	addnstr(line, COLS);
	attroff(A_DIM);
	refresh();
}

static void draw(struct view *v)
{
	const struct tt_state *st = v->src->state(v->src->ctx);
	struct tt_state_summary sum;
	struct layout l;
	size_t vis, n, i;
	char buf[96];

	/*
	 * Every cell is written at every frame (redrawwin: curses forgets what the terminal
	 * shows, without clearing it), not only curses' difference from the last frame: under
	 * emulation (make vmtest, tmux) such differences left a row as only the cells that change
	 * at each tick, and a timeline line with cells of an older frame after it. A whole frame
	 * is a few KB a second; a clear before it (clearok) flashed the screen blank.
	 */
	redrawwin(stdscr);
	if (v->help) {
		draw_help(v);
		return;
	}
	erase();
	tt_state_summary(st, &sum);
	if (v->pane) {
		draw_header(v, &sum);
		draw_pane(v, st);
		return;
	}
	vis = LINES > HEAD_ROWS + FOOT_ROWS ? (size_t)(LINES - HEAD_ROWS - FOOT_ROWS) : 0;
	if (vis > MAX_ROWS)
		vis = MAX_ROWS;
	v->sel.text = v->text[0] ? v->text : NULL;
	/*
	 * The window follows the selected row, placed with the last frame's
	 * count; a second select only when the new count moves it (rows went).
	 */
	if (v->total && v->cur >= v->total)
		v->cur = v->total - 1;
	v->top = window_top(v->top, v->cur, vis, v->total);
	n = tt_state_select(st, &v->sel, v->top, vis, v->rows, &v->total);
	if (v->cur >= v->total)
		v->cur = v->total ? v->total - 1 : 0;
	if (window_top(v->top, v->cur, vis, v->total) != v->top) {
		v->top = window_top(v->top, v->cur, vis, v->total);
		n = tt_state_select(st, &v->sel, v->top, vis, v->rows, &v->total);
	}
	for (i = 0; i < n; i++) {
		int len = (int)strlen(tt_view_cell(v->rows[i], TT_COL_LOCAL, 1, buf, sizeof(buf)));

		if (len > v->want[0])
			v->want[0] = len;
		len = (int)strlen(tt_view_cell(v->rows[i], TT_COL_REMOTE, 1, buf, sizeof(buf)));
		if (len > v->want[1])
			v->want[1] = len;
	}
	v->nrows = n;
	layout(&l, COLS, v->want, (int)v->sel.sort, v->cols);
	draw_header(v, &sum);
	draw_titles(v, &l);
	for (i = 0; i < n; i++) {
		const struct tt_conn *c = v->rows[i];
		attr_t a = A_NORMAL;
		int first = 1;

		if (c->flags & TT_CONN_CLOSED)
			a |= A_DIM;
		if (v->top + i == v->cur)
			a |= A_REVERSE;
		move(HEAD_ROWS + (int)i, 0);
		attron(a);
		for (int col = 0; col < TT_COL_MAX; col++) {
			if (!l.shown[col])
				continue;
			put_cell(col, l.width[col], tt_view_cell(c, col, 1, buf, sizeof(buf)),
				 first);
			first = 0;
		}
		if (a & A_REVERSE)
			for (int x = getcurx(stdscr); x < COLS && x > 0; x++)
				addch(' ');
		attroff(a);
	}
	draw_footer(v, n);
	if (v->editing)
		move(LINES - 1, 8 + (int)strlen(v->input));
	refresh();
}

static size_t page(void)
{
	return LINES > HEAD_ROWS + FOOT_ROWS + 1 ? (size_t)(LINES - HEAD_ROWS - FOOT_ROWS - 1) : 1;
}

static void command(struct view *v, enum tt_view_cmd cmd, int64_t arg)
{
	int ret;

	if (!v->src->command)
		return;
	ret = v->src->command(v->src->ctx, cmd, arg);
	if (ret == -ENODATA && cmd == TT_VIEW_CMD_NEXT_GAP)
		snprintf(v->msg, sizeof(v->msg), "no more gaps (lost events) ahead");
	else if (ret < 0)
		snprintf(v->msg, sizeof(v->msg), "%s", strerror(-ret));
	else
		v->ended = 0;
}

/* Key while typing a filter. */
static void edit_key(struct view *v, int ch)
{
	size_t n = strlen(v->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(v->text, sizeof(v->text), "%s", v->input);
		v->editing = 0;
		v->cur = v->top = 0;
	} else if (ch == 27) {
		v->input[0] = '\0';
		v->text[0] = '\0';
		v->editing = 0;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			v->input[n - 1] = '\0';
	} else if (ch >= 32 && ch < 127 && n + 1 < sizeof(v->input)) {
		v->input[n] = (char)ch;
		v->input[n + 1] = '\0';
	}
}

/* Key while choosing the sort column (F6); the table sorts as the choice moves. */
static void sort_key(struct view *v, int ch)
{
	switch (ch) {
	case KEY_LEFT:
	case KEY_UP:
	case 'S':
	case '<': v->sel.sort = tt_col_next(v->cols, v->sel.sort, -1); break;
	case KEY_RIGHT:
	case KEY_DOWN:
	case 's':
	case '>': v->sel.sort = tt_col_next(v->cols, v->sel.sort, 1); break;
	case 'r': v->sel.reverse = !v->sel.reverse; break;
	case 27:
		v->sel.sort = v->sort_was.sort;
		v->sel.reverse = v->sort_was.reverse;
		v->sorting = 0;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_F(6): v->sorting = 0; break;
	default: break;
	}
}

/*
 * Key while choosing the columns (F2, htop's Setup > Columns): the cursor goes over every
 * column, shown or not, and the table redraws as one is shown or hidden. Hiding the sort
 * column moves the sort to the next one shown; the last column shown stays.
 */
static void columns_key(struct view *v, int ch)
{
	uint32_t bit = TT_COL_BIT(v->choose_at);

	switch (ch) {
	case KEY_LEFT:
	case KEY_UP: v->choose_at = (v->choose_at + TT_COL_MAX - 1) % TT_COL_MAX; break;
	case KEY_RIGHT:
	case KEY_DOWN: v->choose_at = (v->choose_at + 1) % TT_COL_MAX; break;
	case ' ':
		if (!(v->cols & bit)) {
			v->cols |= bit;
			break;
		}
		if (v->cols == bit)
			break;
		v->cols &= ~bit;
		if (v->sel.sort == v->choose_at)
			v->sel.sort = tt_col_next(v->cols, v->sel.sort, 1);
		break;
	case 27:
		v->cols = v->cols_was;
		v->sel.sort = v->sort_was.sort;
		v->choosing = 0;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_F(2): v->choosing = 0; break;
	default: break;
	}
}

/* Opens the pane on the selected row. */
static void pane_open(struct view *v)
{
	const struct tt_conn *c;

	if (v->cur < v->top || v->cur - v->top >= v->nrows)
		return;
	if (!v->tl)
		v->tl = calloc(TT_STATE_TIMELINE_MAX, sizeof(*v->tl));
	if (!v->tl) {
		snprintf(v->msg, sizeof(v->msg), "%s", strerror(ENOMEM));
		return;
	}
	c = v->rows[v->cur - v->top];
	v->pane = 1;
	v->pane_id = c->id;
	v->pane_conn = *c;
	v->pane_top = 0;
	v->pane_follow = 0;
}

/* Key while the pane is open; source commands (pause, seek) still reach the source. */
static void pane_key(struct view *v, int ch)
{
	size_t vis = pane_rows();

	switch (ch) {
	case 27:
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'q':
	case 'Q': v->pane = 0; break;
	case KEY_UP:
	case 'k':
		v->pane_follow = 0;
		if (v->pane_top)
			v->pane_top--;
		break;
	case KEY_DOWN:
	case 'j':
		if (v->pane_top + vis < v->pane_n)
			v->pane_top++;
		break;
	case KEY_PPAGE:
		v->pane_follow = 0;
		v->pane_top = v->pane_top > vis ? v->pane_top - vis : 0;
		break;
	case KEY_NPAGE: v->pane_top += vis; break; /* draw_pane() keeps the last page whole */
	case KEY_HOME:
		v->pane_follow = 0;
		v->pane_top = 0;
		break;
	case KEY_END: v->pane_follow = 1; break;
	default: break;
	}
}

/* Keys that act the same with the pane open: help, and the source's (pause, speed, seek). */
static int pane_passes(int ch)
{
	switch (ch) {
	case 'h':
	case '?':
	case KEY_F(1):
	case ' ':
	case '+':
	case '=':
	case '-':
	case KEY_LEFT:
	case KEY_RIGHT:
	case KEY_SLEFT:
	case KEY_SRIGHT:
	case '[':
	case ']':
	case 'n':
	case 'g': return 1;
	default: return 0;
	}
}

/* Returns 1 to quit. */
static int key(struct view *v, int ch)
{
	const int64_t s = 1000000000ll;

	if (v->editing) {
		edit_key(v, ch);
		return 0;
	}
	if (ch == KEY_RESIZE) {
		v->want[0] = v->want[1] = 0; /* widths start over on the new size */
		return 0;
	}
	if (ch == KEY_F(10))
		return 1;
	if (v->help) {
		v->help = 0;
		return ch == 'q';
	}
	v->msg[0] = '\0';
	if (v->sorting) {
		sort_key(v, ch);
		return 0;
	}
	if (v->choosing) {
		columns_key(v, ch);
		return 0;
	}
	if (v->pane && !pane_passes(ch)) {
		pane_key(v, ch);
		return 0;
	}
	switch (ch) {
	case 'q':
	case 'Q': return 1;
	case KEY_UP:
	case 'k':
		if (v->cur)
			v->cur--;
		break;
	case KEY_DOWN:
	case 'j':
		if (v->cur + 1 < v->total)
			v->cur++;
		break;
	case KEY_PPAGE: v->cur = v->cur > page() ? v->cur - page() : 0; break;
	case KEY_NPAGE: v->cur += page(); break;
	case KEY_HOME: v->cur = 0; break;
	case KEY_END: v->cur = v->total ? v->total - 1 : 0; break;
	case 's':
	case '>': v->sel.sort = tt_col_next(v->cols, v->sel.sort, 1); break;
	case 'S':
	case '<': v->sel.sort = tt_col_next(v->cols, v->sel.sort, -1); break;
	case 'r': v->sel.reverse = !v->sel.reverse; break;
	case '\n':
	case '\r':
	case KEY_ENTER: pane_open(v); break;
	case KEY_F(6):
		v->sorting = 1;
		v->sort_was = v->sel;
		break;
	case KEY_F(2): /* htop's Setup, whose Columns page this is */
	case 'C':
		v->choosing = 1;
		v->choose_at = TT_COL_PID; /* as htop's list, from the first */
		v->cols_was = v->cols;
		v->sort_was = v->sel;
		break;
	case KEY_F(3): /* htop's search */
	case KEY_F(4): /* and filter */
	case '/':
		v->editing = 1;
		snprintf(v->input, sizeof(v->input), "%s", v->text);
		break;
	case 27:
		v->text[0] = '\0';
		v->cur = v->top = 0;
		break;
	case KEY_F(1):
	case 'h':
	case '?': v->help = 1; break;
	case ' ': command(v, TT_VIEW_CMD_PAUSE, 0); break;
	case '+':
	case '=': command(v, TT_VIEW_CMD_FASTER, 0); break;
	case '-': command(v, TT_VIEW_CMD_SLOWER, 0); break;
	case KEY_LEFT: command(v, TT_VIEW_CMD_SEEK, -10 * s); break;
	case KEY_RIGHT: command(v, TT_VIEW_CMD_SEEK, 10 * s); break;
	case KEY_SLEFT:
	case '[': command(v, TT_VIEW_CMD_SEEK, -60 * s); break;
	case KEY_SRIGHT:
	case ']': command(v, TT_VIEW_CMD_SEEK, 60 * s); break;
	case 'n': command(v, TT_VIEW_CMD_NEXT_GAP, 0); break;
	case 'g': command(v, TT_VIEW_CMD_START, 0); break;
	default: break;
	}
	return 0;
}

static int bench(struct view *v)
{
	uint64_t t0 = tt_now_mono_ns();

	for (unsigned i = 0; i < v->opts->bench_redraws; i++) {
		/* Scroll as a user would, so every redraw has new rows to format. */
		v->cur = (v->cur + page()) % (v->total ? v->total : 1);
		draw(v);
	}
	if (v->opts->bench_ms)
		*v->opts->bench_ms = (double)(tt_now_mono_ns() - t0) / 1e6 / v->opts->bench_redraws;
	return 0;
}

int tt_view_run(const struct tt_view_source *src, const struct tt_view_opts *opts, char *err,
		size_t errlen)
{
	struct view *v = calloc(1, sizeof(*v));
	uint64_t last_draw = 0;
	int ret = 0, dirty = 1;

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->src = src;
	v->opts = opts;
	v->cols = opts->cols ? opts->cols : TT_COLS_DEFAULT;
	v->sel.sort = tt_col_sort_shown(&v->cols, (int)opts->sort);
	v->sel.reverse = opts->reverse;
	ret = term_open(v, err, errlen);
	if (ret)
		goto out;
	if (opts->bench_redraws) {
		draw(v);
		ret = bench(v);
		goto out;
	}
	while (!(opts->stop && *opts->stop)) {
		int ch;
		uint64_t now;

		if (!v->ended) {
			ret = src->step(src->ctx, src->key_wait_ms ? 0 : 100);
			if (ret < 0) {
				snprintf(err, errlen, "%s", strerror(-ret));
				break;
			}
			if (ret == 1)
				v->ended = 1;
			ret = 0;
			dirty = 1;
		}
		now = tt_now_mono_ns();
		if (dirty || now - last_draw > REDRAW_NS) {
			draw(v);
			last_draw = now;
			dirty = 0;
		}
		timeout(src->key_wait_ms > 0 ? src->key_wait_ms : (v->ended || v->help) ? 100 : 0);
		while ((ch = getch()) != ERR) {
			if (key(v, ch))
				goto out;
			dirty = 1;
			timeout(0);
		}
		if (dirty)
			continue;
	}
out:
	term_close(v);
	free(v->tl);
	free(v);
	return ret;
}
