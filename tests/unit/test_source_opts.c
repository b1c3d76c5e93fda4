// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tt_source_getopt (source/source_opts.c): what each source option sets, its ranges. */
#include <getopt.h>
#include <string.h>

#include "check.h"
#include "tt_source.h"

static int opt(struct tt_source_opts *o, char *skip, size_t len, int which, const char *arg)
{
	char err[128] = "";
	int r = tt_source_getopt(o, skip, len, which, arg, err, sizeof(err));

	if (r < 0)
		check(err[0] && !strchr(err, '\n'), "error for '%s' is one line: %s", arg, err);
	return r;
}

int main(void)
{
	struct tt_source_opts o = {0};
	char skip[32] = "";

	check(opt(&o, skip, sizeof(skip), 'p', "1") == 0, "a filter option is not a source one");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_RAW, NULL) == 1 && o.raw &&
		  tt_source_raw_slice_ns(&o) == TT_SOURCE_RAW_SLICE_NS,
	      "--raw: the default slice");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_RAW_SLICE, "0") == 1 && o.raw &&
		  tt_source_raw_slice_ns(&o) == 0,
	      "--raw-slice 0: one event per call");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_RAW_SLICE, "5ms") == 1 &&
		  tt_source_raw_slice_ns(&o) == 5000000,
	      "--raw-slice 5ms");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_RAW_SLICE, "1001ms") < 0, "--raw-slice > 1s");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_COALESCE, "2") == 1 && o.coalesce_ms == 2000,
	      "--coalesce 2 is 2 s");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_COALESCE, "999us") < 0 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_COALESCE, "61m") < 0 &&
		  o.coalesce_ms == 2000,
	      "--coalesce outside 1ms..1h, the value kept");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_RINGBUF, "64") == 1 && o.ringbuf_kb == 64 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_RINGBUF, "48") < 0 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_RINGBUF, "2") < 0,
	      "--ringbuf-kb: powers of two from 4");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_UDP_TIMEOUT, "100ms") == 1 &&
		  o.udp_idle_ms == 100 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_UDP_TIMEOUT, "99ms") < 0,
	      "--udp-timeout from 100ms");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_UDP_FLOWS, "16") == 1 && o.udp_flows == 16 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_UDP_FLOWS, "15") < 0,
	      "--udp-flows from 16");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_SOURCE, "file:a.tt") == 1 &&
		  o.source == TT_SOURCE_FILE && !strcmp(o.source_path, "a.tt") &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_SOURCE, "sockdiag") == 1 &&
		  o.source == TT_SOURCE_SOCKDIAG &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_SOURCE, "file:") < 0,
	      "--source names");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_NO_PROBE, "tp:a/b") == 1 &&
		  opt(&o, skip, sizeof(skip), TT_OPT_SRC_NO_PROBE, "tp:c/d") == 1 &&
		  o.skip_probes == skip && !strcmp(skip, "tp:a/b tp:c/d"),
	      "--no-probe gathers names");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_NO_PROBE, "tracepoint:x/yyyyyyyyyyyy") < 0 &&
		  !strcmp(skip, "tp:a/b tp:c/d"),
	      "--no-probe past the buffer: refused, the names kept");
	check(opt(&o, skip, sizeof(skip), TT_OPT_SRC_ACCEPT_WAIT, NULL) == 1 && o.accept_wait,
	      "--accept-wait");
	return failures != 0;
}
