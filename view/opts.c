// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The view's options (tt_view.h), parsed once for tcptop and tcptop-replay alike. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "tt_util.h"
#include "tt_view.h"

void tt_view_args_init(struct tt_view_args *o)
{
	*o = (struct tt_view_args){
	    .interval_ns = 1000000000ull,
	    .sort = -1,
	    .cols = TT_COLS_DEFAULT,
	};
}

static int bad(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

int tt_view_getopt(struct tt_view_args *o, int opt, const char *arg, uint64_t min_interval_ns,
		   char *err, size_t errlen)
{
	switch (opt) {
	case 'i':
		if (tt_parse_duration_ns(arg, &o->interval_ns) ||
		    o->interval_ns < min_interval_ns) {
			snprintf(err, errlen, "bad interval '%s' (at least %llums)", arg,
				 (unsigned long long)(min_interval_ns / 1000000));
			return -EINVAL;
		}
		return 1;
	case TT_VIEW_OPT_TTL:
		if (tt_parse_duration_ns(arg, &o->ttl_ns) || !o->ttl_ns)
			return bad(err, errlen, "bad --ttl '%s'", arg);
		return 1;
	case TT_VIEW_OPT_SORT:
		o->sort = tt_col_parse(arg);
		if (o->sort < 0)
			return bad(err, errlen, "unknown column '%s'", arg);
		return 1;
	case TT_VIEW_OPT_COLUMNS:
		return tt_col_list_parse(arg, &o->cols, err, errlen) ? -EINVAL : 1;
	case 'b': o->batch = 1; return 1;
	case 'n':
		if (tt_parse_u64(arg, 1, UINT64_MAX, &o->count))
			return bad(err, errlen, "bad count '%s'", arg);
		return 1;
	case 'H': o->human = 1; return 1;
	case TT_VIEW_OPT_CSV: o->csv_path = arg; return 1;
	default: return 0;
	}
}

void tt_view_args_done(struct tt_view_args *o)
{
	o->sort = (int)tt_col_sort_shown(&o->cols, o->sort);
}
