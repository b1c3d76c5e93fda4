// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Hidden benchmarks of tcptop-replay: seek times over a whole capture. */
#include <inttypes.h>
#include <stdio.h>

#include "bench.h"
#include "tt_util.h"

int bench_seek(struct player *p, unsigned n, FILE *out)
{
	uint64_t first = player_first(p), span, s = 0x9e3779b97f4a7c15ull, t0, bytes, spacing;
	uint64_t events;
	size_t conns;
	double all_ms, sum = 0, worst = 0, back_sum = 0;
	unsigned back = 0;
	size_t nkf;
	int ret;

	t0 = tt_now_mono_ns();
	ret = player_advance(p, UINT64_MAX, 1, 0);
	if (ret < 0)
		return ret;
	all_ms = (double)(tt_now_mono_ns() - t0) / 1e6;
	events = player_events(p);
	conns = tt_state_count(player_state(p));
	span = player_last(p) - first;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t, pos = player_pos(p);
		double ms;

		/* a fixed sequence (an LCG), so that runs compare */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		t = first + (span ? (s >> 11) % span : 0);
		t0 = tt_now_mono_ns();
		ret = player_seek(p, t);
		if (ret < 0)
			return ret;
		ms = (double)(tt_now_mono_ns() - t0) / 1e6;
		sum += ms;
		if (ms > worst)
			worst = ms;
		if (t < pos) {
			back++;
			back_sum += ms;
		}
	}
	nkf = player_keyframes(p, &bytes, &spacing);
	fprintf(
	    out,
	    "seek: %u seeks (%u backwards) in a %.0f s capture of %" PRIu64
	    " events, %zu connections at the end: mean %.2f ms (backwards %.2f ms), worst %.2f ms; "
	    "playing it from the start: %.0f ms; %zu keyframes, %.1f MiB, one per %.0f s\n",
	    n, back, (double)span / 1e9, events, conns, n ? sum / n : 0.0,
	    back ? back_sum / back : 0.0, worst, all_ms, nkf, (double)bytes / 1048576.0,
	    (double)spacing / 1e9);
	return 0;
}
