// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer harness for the capture reader: the input is a capture file (a
 * memfd, so the seekable paths run too; see fuzz.h for the CRC repair). Reads
 * every event, then exercises time_range, seek_time and tell/seek. `make fuzz`
 * builds every harness, `make fuzz-long` runs each for 10 million inputs; by hand:
 *   mkdir -p /tmp/corpus
 *   build/fuzz/fuzz_reader -max_len=16384 /tmp/corpus tests/fuzz/seeds tests/data samples
 * (new inputs go to the first directory; the others are read-only seeds).
 * tests/test_fuzz.py runs each harness briefly in `make test`. Seeds in
 * tests/fuzz/seeds: recorded-small.tt (a real 3 s recording, 6 blocks,
 * TCP/UDP/processes), gen-every-kind.tt (test_format gen: every event kind
 * and edge values), year-gap.tt (two events a year apart), and
 * damaged-index-bogus-end.tt (a corruption whose time range ended years after
 * its events; both once made tcptop-replay walk the empty time for minutes),
 * and cut-clock-offset-overflow.tt (fuzz_cut: a damaged time and a large
 * clock offset overflowed cut's signed subtraction). tests/fuzz/corpus holds
 * a minimized corpus shared by every harness (docs/HACKING.md, Fuzzing).
 */
#include <stdint.h>

#include "tt_fmt.h"
#include "fuzz.h"

/*
 * After a seek, a block and the start of the next: that is all the seek can
 * get wrong, and decoding the rest again (twice) was most of the time per input.
 */
static void read_after_seek(struct tt_fmt_reader *r)
{
	struct tt_event ev;
	struct tt_fmt_pos p;
	uint64_t cur = UINT64_MAX;
	unsigned blocks = 0;

	while (tt_fmt_reader_next(r, &ev) == 1) {
		if (tt_fmt_reader_tell(r, &p) || p.block_offset != cur) {
			cur = p.block_offset;
			if (++blocks > 2)
				break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_fmt_reader *r;
	struct tt_event ev;
	struct tt_fmt_pos pos = {0, 0};
	char err[256];
	int fd = fuzz_input_fd(data, size, NULL);

	if (fd < 0 || tt_fmt_reader_open_fd(&r, fd, "fuzz", err, sizeof(err)))
		return 0;
	unsigned n = 0;
	while (tt_fmt_reader_next(r, &ev) == 1) {
		if (++n == 3)
			tt_fmt_reader_tell(r, &pos);
	}
	uint64_t a, b;
	if (tt_fmt_reader_time_range(r, &a, &b) == 0 && a) {
		tt_fmt_reader_seek_time(r, a + (b - a) / 2);
		read_after_seek(r);
	}
	if (n >= 3 && tt_fmt_reader_seek(r, &pos) == 0)
		read_after_seek(r);
	tt_fmt_reader_close(r);
	return 0;
}
