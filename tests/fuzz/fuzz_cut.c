// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer harness for cut, `tcptop-replay -o OUT --from A --to B` (replay/cut.c,
 * the player and keep.c as run_fast() in replay/main.c drives them), on a fuzzed
 * capture (fuzz.h). fuzz_anon.c builds the same with --anonymize. A and B (or
 * none), and a port filter, are chosen from a hash of the input, within the
 * capture's own time range.
 *
 * What a cut writes must stand alone whatever it was cut from: it reads back
 * with no warning and with as many events as cut wrote. A broken promise aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cut.h"
#include "keep.h"
#include "player.h"
#include "tt_filter.h"
#include "tt_fmt.h"
#include "fuzz.h"

#ifndef FUZZ_ANON
#define FUZZ_ANON 0
#endif

struct run {
	struct player *p;
	struct cut *cut;
	struct keep *keep;
	uint64_t from;
	int on, err;
};

static int on_applied(void *ctx, const struct tt_event *ev)
{
	struct run *r = ctx;
	struct tt_event out[KEEP_MAX_OUT];
	int n;

	if (ev->ts_ns < r->from || !r->on)
		return 0;
	n = keep_event(r->keep, player_state(r->p), ev, out);
	if (n < 0)
		return r->err = n;
	for (int i = 0; i < n; i++)
		if ((r->err = cut_add(r->cut, &out[i])) < 0)
			return 1;
	return 0;
}

static void check(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_cut: %s: %s\n", what, detail);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out_path[64];
	const char *path;
	char err[512];
	struct tt_filter filter;
	struct run r = {0};
	struct player_opts po = {
	    .tick_ns = 1000000000ull, .ttl_ns = 5000000000ull, .on_applied = on_applied, .ctx = &r};
	struct tt_anon *anon = NULL;
	uint32_t h = (uint32_t)crc32(0, data, (uInt)size);
	int fd = fuzz_input_fd(data, size, &path);

	if (fd < 0)
		return 0;
	close(fd);
	if (!*out_path)
		snprintf(out_path, sizeof(out_path), "/dev/shm/tt-fuzz-cut-%d.tt", (int)getpid());
	memset(&filter, 0, sizeof(filter));
	if (h & (1u << 20)) {
		check(tt_filter_add_port(&filter, h & (1u << 21) ? "443" : "53", err,
					 sizeof(err)) == 0,
		      "filter", err);
		po.filter = &filter;
	}
	char *paths[1] = {(char *)path};
	if (player_open(&r.p, paths, 1, &po, err, sizeof(err)) < 0)
		return 0;
	uint64_t first = player_first(r.p), last = player_last(r.p), to = UINT64_MAX;
	if (last != UINT64_MAX && last > first) {
		if (h & (1u << 16))
			r.from = first + (last - first) / 256 * (h & 0xff);
		if (h & (1u << 17))
			to = r.from + (last - r.from) / 256 * ((h >> 8) & 0xff);
	}
	if (to != UINT64_MAX && player_set_to(r.p, to) < 0)
		goto out;
	if (r.from && player_advance(r.p, r.from, 1, 0) < 0)
		goto out;
	if (FUZZ_ANON) {
		uint8_t key[TT_ANON_KEY_LEN];
		for (unsigned i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 37 + 1);
		check(tt_anon_new(&anon, key, h & (1u << 18) ? TT_ANON_COMM : 0, err,
				  sizeof(err)) == 0,
		      "anon", err);
	}
	uint64_t start = r.from > first ? r.from : first;
	if (cut_open(&r.cut, out_path, 1, player_header(r.p), player_state(r.p), start, anon, err,
		     sizeof(err)) < 0)
		goto out;
	if (!tt_filter_is_empty(&filter) && keep_new(&r.keep, player_state(r.p)) < 0)
		goto out;
	r.on = 1;
	int ret = player_advance(r.p, to == UINT64_MAX ? UINT64_MAX : to + 1, 0, 0);
	uint64_t last_ns, n = cut_events(r.cut, &last_ns);
	int cret = cut_close(r.cut, err, sizeof(err));
	r.cut = NULL;
	if (ret >= 0 && !r.err && cret == 0) {
		struct tt_fmt_reader *rd;
		struct tt_event ev;
		uint64_t got = 0;
		char msg[600];

		check(tt_fmt_reader_open(&rd, out_path, err, sizeof(err)) == 0, "reopen", err);
		while (tt_fmt_reader_next(rd, &ev) == 1)
			got++;
		snprintf(msg, sizeof(msg), "%llu of %llu events read back, %u warnings (%s)",
			 (unsigned long long)got, (unsigned long long)n, tt_fmt_reader_warnings(rd),
			 tt_fmt_reader_last_warning(rd));
		check(got == n && tt_fmt_reader_warnings(rd) == 0, "the cut does not stand alone",
		      msg);
		tt_fmt_reader_close(rd);
	}
out:
	cut_close(r.cut, err, sizeof(err));
	unlink(out_path); /* nothing left in /dev/shm after the run */
	keep_free(r.keep);
	player_free(r.p);
	tt_anon_free(anon);
	return 0;
}
