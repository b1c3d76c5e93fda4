/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_mapbuf: memory in a mapping of its own, for buffers that a burst makes large and that
 * should not stay large after it: grown by mremap (no copy), and shrunk or unmapped so that
 * the pages go back to the kernel at once. malloc keeps a freed multi-MB buffer in its heap
 * (its mmap threshold rises to the size of the last mapped chunk freed), and a process that
 * once held a burst stays that large (docs/BENCHMARKS.md: the recorder at 100 000
 * connections). Users: source/evq.c (queued events), format/writer.c (a block's streams).
 */
#ifndef TT_MAPBUF_H
#define TT_MAPBUF_H

#include <stddef.h>

struct tt_mapbuf {
	void *p;    /* NULL until the first reserve */
	size_t cap; /* bytes mapped: whole pages */
};

/* cap >= need: a new mapping, or the old one at least doubled (mremap may move it: p changes,
 * the contents stay). 0, or -ENOMEM with the buffer as it was. */
int tt_mapbuf_reserve(struct tt_mapbuf *b, size_t need);
/* At most keep bytes mapped (whole pages, the first keep bytes kept); keep 0 unmaps it. */
void tt_mapbuf_shrink(struct tt_mapbuf *b, size_t keep);
void tt_mapbuf_free(struct tt_mapbuf *b);

#endif
