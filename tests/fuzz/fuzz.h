/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the libFuzzer harnesses share: the input as a capture file.
 *
 * A mutated block almost always fails its CRC, which would keep the fuzzer out
 * of the decompressor and the event decoder. So for inputs of odd length the
 * CRC of every block whose framing is consistent is repaired first.
 *
 * The file is one memfd for the whole run, rewritten in place for each input
 * (a harness is a single process running one input at a time, so the statics
 * here are its only state): creating a memfd, a copy and a page cache per
 * input cost more than reading most inputs.
 */
#ifndef TT_FUZZ_H
#define TT_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/*
 * ASan keeps freed memory out of use until 256 MiB more has been freed, so
 * every input's buffers (the reader's window, event block and zstd context,
 * some 130 KiB) landed on fresh pages: page faults and shadow writes were 40%
 * of the time per input. 16 MiB still holds some hundred inputs' frees, far
 * more than a use after free within one input needs. ASAN_OPTIONS overrides it.
 */
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

static inline uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void fuzz_fix_crcs(uint8_t *d, size_t size)
{
	static const uint8_t magic[4] = {'T', 'T', 'B', 'K'};
	const uint8_t *m;

	/* memmem, not a memcmp per offset: libFuzzer hooks every memcmp call */
	for (size_t o = 0; o + 20 <= size; o++) {
		if (!(m = memmem(d + o, size - o, magic, 4)) || (size_t)(m - d) + 20 > size)
			return;
		o = (size_t)(m - d);
		uint32_t len = fuzz_le32(d + o + 8);
		if (len > size - o - 20 || fuzz_le32(d + o + 16 + len) != len + 20)
			continue;
		uint32_t crc = (uint32_t)crc32(crc32(0, d + o + 4, 8), d + o + 16, len);
		for (int i = 0; i < 4; i++)
			d[o + 12 + i] = (uint8_t)(crc >> (8 * i));
	}
}

/*
 * The input as a seekable file (CRCs repaired for odd sizes): returns a new
 * descriptor of it (the reader closes it) or -1. *path, when asked for, names
 * the same file for code that opens a path.
 */
static inline int fuzz_input_fd(const uint8_t *data, size_t size, const char **path)
{
	static int mfd = -1;
	static uint8_t *copy;
	static size_t copy_cap;
	static char name[64];

	if (mfd < 0) {
		mfd = memfd_create("fuzz", MFD_CLOEXEC);
		if (mfd < 0)
			return -1;
		snprintf(name, sizeof(name), "/proc/self/fd/%d", mfd);
	}
	if (size & 1) {
		if (size > copy_cap) {
			uint8_t *p = realloc(copy, size);
			if (!p)
				return -1;
			copy = p;
			copy_cap = size;
		}
		memcpy(copy, data, size);
		fuzz_fix_crcs(copy, size);
		data = copy;
	}
	size_t done = 0;
	while (done < size) {
		ssize_t w = pwrite(mfd, data + done, size - done, (off_t)done);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	if (ftruncate(mfd, (off_t)size))
		return -1;
	if (path)
		*path = name;
	return fcntl(mfd, F_DUPFD_CLOEXEC, 3);
}

#endif
