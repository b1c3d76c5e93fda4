// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer harness for the capture reader: the input is a capture file (in a
 * memfd, so the seekable paths run too). Reads every event, then exercises
 * time_range, seek_time and tell/seek. `make fuzz`, then e.g.
 *   mkdir -p /tmp/corpus
 *   build/fuzz/fuzz_reader -max_total_time=60 -max_len=16384 /tmp/corpus tests/fuzz/seeds \
 *       tests/data samples
 * (new inputs go to the first directory; the others are read-only seeds). tests/test_fuzz.py
 * runs this for a minute in `make test`. Seeds in tests/fuzz/seeds: recorded-small.tt (a real
 * 3 s recording, 6 blocks, TCP/UDP/processes), gen-every-kind.tt (test_format gen: every
 * event kind and edge values), year-gap.tt (two events a year apart), and
 * damaged-index-bogus-end.tt (a corruption whose time range ended years after its events;
 * both once made tcptop-replay walk the empty time for minutes).
 *
 * A mutated block almost always fails its CRC, which would keep the fuzzer out
 * of the decompressor and the event decoder. So for inputs of odd length the
 * harness first repairs the CRC of every block whose framing is consistent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "tt_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fix_crcs(uint8_t *d, size_t size)
{
	for (size_t o = 0; o + 20 <= size; o++) {
		if (memcmp(d + o, "TTBK", 4))
			continue;
		uint32_t len = le32(d + o + 8);
		if (len > size - o - 20 || le32(d + o + 16 + len) != len + 20)
			continue;
		uint32_t crc = (uint32_t)crc32(crc32(0, d + o + 4, 8), d + o + 16, len);
		for (int i = 0; i < 4; i++)
			d[o + 12 + i] = (uint8_t)(crc >> (8 * i));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_fmt_reader *r;
	struct tt_event ev;
	struct tt_fmt_pos pos = {0, 0};
	char err[256];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	uint8_t *copy = malloc(size + 1);
	if (!copy) {
		close(fd);
		return 0;
	}
	memcpy(copy, data, size);
	if (size & 1)
		fix_crcs(copy, size);
	ssize_t w = size ? write(fd, copy, size) : 0;
	free(copy);
	if (w != (ssize_t)size) {
		close(fd);
		return 0;
	}
	if (tt_fmt_reader_open_fd(&r, fd, "fuzz", err, sizeof(err)))
		return 0;
	unsigned n = 0;
	while (tt_fmt_reader_next(r, &ev) == 1) {
		if (++n == 3)
			tt_fmt_reader_tell(r, &pos);
	}
	uint64_t a, b;
	if (tt_fmt_reader_time_range(r, &a, &b) == 0 && a) {
		tt_fmt_reader_seek_time(r, a + (b - a) / 2);
		while (tt_fmt_reader_next(r, &ev) == 1)
			;
	}
	if (n >= 3 && tt_fmt_reader_seek(r, &pos) == 0)
		while (tt_fmt_reader_next(r, &ev) == 1)
			;
	tt_fmt_reader_close(r);
	return 0;
}
