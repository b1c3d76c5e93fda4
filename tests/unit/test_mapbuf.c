// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of tt_mapbuf (common/mapbuf.c): a reserve gives at least what was asked, whole
 * pages, and keeps the contents as it grows (mremap may move it); a shrink keeps the first bytes
 * and gives the rest back to the kernel at once (the process's resident pages, counted by the
 * kernel through mincore over the old range, fall); free unmaps. One line per check, exit 1
 * on any failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tt_mapbuf.h"
#include "check.h"

/* Pages of [p, p + len) resident, or -1 where some of it is not mapped (ENOMEM). */
static long resident(void *p, size_t len)
{
	static unsigned char vec[1u << 16]; /* 256 MiB of 4 KiB pages */
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg;
	long r = 0;

	if (n > sizeof(vec))
		return -2;
	if (mincore(p, len, vec))
		return errno == ENOMEM ? -1 : -2;
	for (size_t i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

int main(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	struct tt_mapbuf b = {0};
	int same = 1, rc;

	check(!b.p && b.cap == 0, "an empty buffer maps nothing");
	rc = tt_mapbuf_reserve(&b, 100);
	check(rc == 0 && b.p && b.cap == pg, "reserve 100 bytes: one page (cap %zu)", b.cap);
	memset(b.p, 0x5a, 100);
	rc = tt_mapbuf_reserve(&b, 50);
	check(rc == 0 && b.cap == pg, "less than cap: unchanged");
	rc = tt_mapbuf_reserve(&b, pg + 1);
	check(rc == 0 && b.cap == 2 * pg && ((uint8_t *)b.p)[99] == 0x5a,
	      "one byte past cap: doubled (cap %zu), the contents kept", b.cap);

	/* 64 MiB, every byte written, then grown past it: the contents move with the mapping */
	size_t big = 64u << 20;
	rc = tt_mapbuf_reserve(&b, big);
	check(rc == 0 && b.cap == big, "64 MiB reserved (cap %zu)", b.cap);
	for (size_t i = 0; i < big; i++)
		((uint8_t *)b.p)[i] = (uint8_t)(i * 7);
	check(resident(b.p, big) == (long)(big / pg), "all its pages resident once written (%ld)",
	      resident(b.p, big));
	rc = tt_mapbuf_reserve(&b, big + 1);
	check(rc == 0 && b.cap == 2 * big, "grown past 64 MiB: doubled (cap %zu)", b.cap);
	for (size_t i = 0; i < big; i++)
		same &= ((uint8_t *)b.p)[i] == (uint8_t)(i * 7);
	check(same, "the 64 MiB written are all there after the growth");

	/* shrink: the first bytes stay, the rest is unmapped at once */
	uint8_t *old = b.p;
	tt_mapbuf_shrink(&b, 100 * pg - 1);
	check(b.p == old && b.cap == 100 * pg, "shrunk in place to whole pages (cap %zu)", b.cap);
	same = 1;
	for (size_t i = 0; i < b.cap; i++)
		same &= old[i] == (uint8_t)(i * 7);
	check(same, "its first %zu bytes kept", b.cap);
	check(resident(old, b.cap) == 100, "100 pages resident");
	check(resident(old + b.cap, pg) == -1, "the page after them no longer mapped");
	tt_mapbuf_shrink(&b, big);
	check(b.cap == 100 * pg, "a shrink to more than cap: unchanged");

	tt_mapbuf_shrink(&b, 0);
	check(!b.p && b.cap == 0 && resident(old, pg) == -1, "a shrink to 0 unmaps it");
	rc = tt_mapbuf_reserve(&b, 10);
	check(rc == 0 && b.cap == pg, "and it maps again on the next reserve");
	tt_mapbuf_free(&b);
	check(!b.p && b.cap == 0, "free leaves it empty");
	tt_mapbuf_free(&b);
	check(!b.p, "free of an empty buffer does nothing");
	rc = tt_mapbuf_reserve(&b, SIZE_MAX);
	check(rc == -ENOMEM && !b.p && b.cap == 0,
	      "an impossible size: -ENOMEM, the buffer as it was");
	return failures ? 1 : 0;
}
