// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the view's command-line options (view/opts.c), which tcptop and tcptop-replay
 * both parse through tt_view_getopt(). One line per check, exit 1 on any failure.
 *
 * Oracle: the values written out (1 s = 10^9 ns; the default column set TT_COLS_DEFAULT) and
 * the errors tcptop's usage promises, word for word.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "tt_view.h"

int main(void)
{
	struct tt_view_args a;
	char err[256];
	int r;

	tt_view_args_init(&a);
	check(a.interval_ns == 1000000000ull && a.sort == -1 && a.cols == TT_COLS_DEFAULT &&
		  !a.batch && !a.count && !a.ttl_ns && !a.csv_path,
	      "defaults: 1 s, the default sort and columns, no batch");

	check(tt_view_getopt(&a, 'i', "250ms", 10000000, err, sizeof(err)) == 1 &&
		  a.interval_ns == 250000000ull,
	      "-i 250ms");
	r = tt_view_getopt(&a, 'i', "5ms", 10000000, err, sizeof(err));
	check(r == -EINVAL && !strcmp(err, "bad interval '5ms' (at least 10ms)"),
	      "-i under the tool's least: said (%s)", err);
	check(tt_view_getopt(&a, 'i', "5ms", 1000000, err, sizeof(err)) == 1 &&
		  a.interval_ns == 5000000ull,
	      "-i 5ms where 1 ms is the least (replay's event time)");

	check(tt_view_getopt(&a, TT_VIEW_OPT_TTL, "2m", 0, err, sizeof(err)) == 1 &&
		  a.ttl_ns == 120000000000ull,
	      "--ttl 2m");
	r = tt_view_getopt(&a, TT_VIEW_OPT_TTL, "0", 0, err, sizeof(err));
	check(r == -EINVAL && !strcmp(err, "bad --ttl '0'"), "--ttl 0: bad (%s)", err);

	r = tt_view_getopt(&a, TT_VIEW_OPT_SORT, "NOPE", 0, err, sizeof(err));
	check(r == -EINVAL && !strcmp(err, "unknown column 'NOPE'"), "--sort NOPE (%s)", err);
	check(tt_view_getopt(&a, TT_VIEW_OPT_SORT, "RETR", 0, err, sizeof(err)) == 1 &&
		  a.sort == tt_col_parse("RETR"),
	      "--sort RETR");
	check(!(a.cols & TT_COL_BIT(a.sort)), "RETR is not a default column");
	tt_view_args_done(&a);
	check((a.cols & TT_COL_BIT(a.sort)) != 0, "done: the sort column is shown");

	check(tt_view_getopt(&a, TT_VIEW_OPT_COLUMNS, "comm,pid", 0, err, sizeof(err)) == 1 &&
		  a.cols == (TT_COL_BIT(tt_col_parse("COMM")) | TT_COL_BIT(tt_col_parse("PID"))),
	      "--columns comm,pid: exactly those");

	check(tt_view_getopt(&a, 'n', "3", 0, err, sizeof(err)) == 1 && a.count == 3, "-n 3");
	r = tt_view_getopt(&a, 'n', "0", 0, err, sizeof(err));
	check(r == -EINVAL && !strcmp(err, "bad count '0'"), "-n 0: bad (%s)", err);
	check(tt_view_getopt(&a, 'b', NULL, 0, err, sizeof(err)) == 1 && a.batch, "-b");
	check(tt_view_getopt(&a, 'H', NULL, 0, err, sizeof(err)) == 1 && a.human, "-H");
	check(tt_view_getopt(&a, TT_VIEW_OPT_CSV, "x.csv", 0, err, sizeof(err)) == 1 &&
		  !strcmp(a.csv_path, "x.csv"),
	      "--csv x.csv");
	check(tt_view_getopt(&a, 'o', "x.tt", 0, err, sizeof(err)) == 0, "-o is not the view's");
	printf("%d failures\n", failures);
	return failures != 0;
}
