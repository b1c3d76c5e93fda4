// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tt_mapbuf: memory in a mapping of its own (tt_mapbuf.h says why). */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tt_mapbuf.h"

static size_t pages(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

int tt_mapbuf_reserve(struct tt_mapbuf *b, size_t need)
{
	size_t cap;
	void *p;

	if (need <= b->cap)
		return 0;
	cap = b->cap * 2 > need ? b->cap * 2 : need;
	if (cap < need) /* the doubling wrapped */
		return -ENOMEM;
	cap = pages(cap);
	p = b->p ? mremap(b->p, b->cap, cap, MREMAP_MAYMOVE)
		 : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void tt_mapbuf_shrink(struct tt_mapbuf *b, size_t keep)
{
	void *p;

	if (!keep) {
		tt_mapbuf_free(b);
		return;
	}
	keep = pages(keep);
	if (keep >= b->cap)
		return;
	/* shrinking in place never moves; should it fail, the buffer stays as large */
	p = mremap(b->p, b->cap, keep, 0);
	if (p != MAP_FAILED)
		b->cap = keep;
}

void tt_mapbuf_free(struct tt_mapbuf *b)
{
	if (b->p)
		munmap(b->p, b->cap);
	b->p = NULL;
	b->cap = 0;
}
