/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Batch snapshots: the view's table as plain text, for pipes and scripts (`top -b`). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_util.h"
#include "tt_view.h"

#define CHUNK 4096

/* Left-aligned text columns; the rest are numbers and align right. */
static int left_aligned(enum tt_col col)
{
	return col == TT_COL_COMM || col == TT_COL_LOCAL || col == TT_COL_REMOTE ||
	       col == TT_COL_STATE || col == TT_COL_PROTO || col == TT_COL_FAIL;
}

static const unsigned min_width[TT_COL_MAX] = {
    [TT_COL_PID] = 7,	  [TT_COL_COMM] = 15,  [TT_COL_PROTO] = 5,    [TT_COL_LOCAL] = 21,
    [TT_COL_REMOTE] = 21, [TT_COL_STATE] = 11, [TT_COL_TX_RATE] = 10, [TT_COL_RX_RATE] = 10,
    [TT_COL_TX] = 12,	  [TT_COL_RX] = 12,    [TT_COL_TX_PKTS] = 8,  [TT_COL_RX_PKTS] = 8,
    [TT_COL_RTT] = 7,	  [TT_COL_RETR] = 6,   [TT_COL_CONNECT] = 9,  [TT_COL_CWND] = 6,
    [TT_COL_ZWIN] = 8,	  [TT_COL_FAIL] = 11,
};

static void print_cell(FILE *out, enum tt_col col, const char *s, int first)
{
	int w = (int)min_width[col];

	if (!first)
		fputc(' ', out);
	if (left_aligned(col))
		fprintf(out, "%-*s", w, s);
	else
		fprintf(out, "%*s", w, s);
}

int tt_view_print_snapshot(FILE *out, const struct tt_state *st, const struct tt_select *sel,
			   uint64_t now_ns, const struct tt_view_batch_opts *opts)
{
	struct tt_state_summary sum;
	const struct tt_conn *rows[CHUNK];
	char when[40], tx[24], rx[24], buf[96];
	size_t total = 0, off = 0, n, i, max = opts->max_rows;
	uint32_t cols = opts->cols ? opts->cols : TT_COLS_DEFAULT;
	int first;

	tt_state_summary(st, &sum);
	tt_wall_str(now_ns, when, sizeof(when));
	if (opts->human) {
		tt_human_bytes(sum.tx_rate, tx, sizeof(tx));
		tt_human_bytes(sum.rx_rate, rx, sizeof(rx));
	} else {
		snprintf(tx, sizeof(tx), "%" PRIu64 "B", sum.tx_rate);
		snprintf(rx, sizeof(rx), "%" PRIu64 "B", sum.rx_rate);
	}
	fprintf(out,
		"%s %s  conns: %" PRIu64 " open, %" PRIu64 " closed  tx %s/s rx %s/s  "
		"lost %" PRIu64 "%s%s\n",
		opts->title ? opts->title : "tcptop", when, sum.open, sum.closed, tx, rx, sum.lost,
		opts->filter_text && opts->filter_text[0] ? "  filter: " : "",
		opts->filter_text ? opts->filter_text : "");
	first = 1;
	for (int c = 0; c < TT_COL_MAX; c++)
		if (cols & TT_COL_BIT(c)) {
			print_cell(out, c, tt_col_name(c), first);
			first = 0;
		}
	fputc('\n', out);
	do {
		size_t want = CHUNK;

		if (max && max - off < want)
			want = max - off;
		n = tt_state_select(st, sel, off, want, rows, &total);
		for (i = 0; i < n; i++) {
			first = 1;
			for (int c = 0; c < TT_COL_MAX; c++) {
				if (!(cols & TT_COL_BIT(c)))
					continue;
				print_cell(out, c,
					   tt_view_cell(rows[i], c, opts->human, buf, sizeof(buf)),
					   first);
				first = 0;
			}
			fputc('\n', out);
		}
		off += n;
	} while (n > 0 && off < total && (!max || off < max));
	fputc('\n', out);
	return tt_stream_status(out);
}
