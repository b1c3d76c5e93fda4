// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capture reader, random access: a position (tell/seek), the block index the END block points
 * to (or a scan of the block headers where there is none), and seeking by time. The streaming
 * reader (reader.c) reads on from wherever this leaves it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "reader_int.h"

/* ---------------------------------------------------------------- seeking */

int tt_fmt_reader_tell(const struct tt_fmt_reader *r, struct tt_fmt_pos *pos)
{
	if (!r->seekable)
		return tt_fmt_rd_fail((struct tt_fmt_reader *)r, -ESPIPE, "cannot seek in a pipe");
	if (r->blk_idx < r->blk_count) {
		pos->block_offset = r->blk_off;
		pos->index = r->blk_idx;
	} else {
		/* Between blocks: the next event is in a block at or after here. */
		pos->block_offset = r->off;
		pos->index = 0;
	}
	return 0;
}

int tt_fmt_reader_seek(struct tt_fmt_reader *r, const struct tt_fmt_pos *pos)
{
	if (!r->seekable)
		return tt_fmt_rd_fail(r, -ESPIPE, "cannot seek in a pipe");
	if (pos->block_offset < r->data_off)
		return tt_fmt_rd_fail(r, -EINVAL, "bad position");
	tt_fmt_rd_reposition(r, pos->block_offset);
	r->blk_count = r->blk_idx = 0;
	r->damaged = 0;
	r->done = 0;
	if (pos->index == 0)
		return 0;

	uint16_t type;
	uint32_t plen;
	const char *why = NULL;
	int v = tt_fmt_rd_check_block(r, &type, &plen, &why);
	if (v < 0)
		return v;
	if (!v || type != TT_BLK_EVENTS)
		return tt_fmt_rd_fail(r, -EINVAL, "bad position: no events block at offset %llu",
				      (unsigned long long)pos->block_offset);
	why = tt_fmt_rd_load_events(r, r->buf + r->start + TT_BLK_HDR_SIZE, plen);
	if (why)
		return tt_fmt_rd_fail(r, -EIO, "block at offset %llu: %s",
				      (unsigned long long)pos->block_offset, why);
	if (pos->index > r->blk_count)
		return tt_fmt_rd_fail(r, -EINVAL, "bad position: block has %u events",
				      r->blk_count);
	r->blk_off = pos->block_offset;
	tt_fmt_rd_consume(r, plen + TT_BLK_OVERHEAD);
	if (tt_fmt_rd_skip(r, pos->index) < 0) {
		r->blk_count = 0;
		return tt_fmt_rd_fail(r, -EIO, "block at offset %llu: malformed event",
				      (unsigned long long)pos->block_offset);
	}
	return 0;
}

/* Reads the INDEX block that the END block at the end of the file points to. */
static void load_index(struct tt_fmt_reader *r)
{
	struct stat st;
	uint8_t t[4];
	uint8_t *b = NULL;

	r->idx_state = -1;
	if (fstat(r->fd, &st) < 0 || (uint64_t)st.st_size < r->data_off + TT_BLK_OVERHEAD)
		return;
	uint64_t size = (uint64_t)st.st_size;
	if (r->limit && size > r->limit)
		size = r->limit;
	if (size < r->data_off + TT_BLK_OVERHEAD ||
	    tt_fmt_rd_pread_full(r->fd, t, 4, size - 4) != 4)
		return;
	uint32_t elen = tt_get32(t);
	if (elen < TT_BLK_OVERHEAD || elen > 4096 || elen > size - r->data_off)
		return;
	uint8_t e[4096];
	uint64_t eoff = size - elen;
	if (tt_fmt_rd_pread_full(r->fd, e, elen, eoff) != (ssize_t)elen ||
	    tt_get32(e) != TT_BLK_MAGIC || tt_get16(e + 4) != TT_BLK_END ||
	    tt_get32(e + 8) != elen - TT_BLK_OVERHEAD ||
	    tt_get32(e + 12) !=
		(uint32_t)crc32(crc32(0, e + 4, 8), e + TT_BLK_HDR_SIZE, elen - TT_BLK_OVERHEAD))
		return;
	uint64_t ioff = 0;
	for (const uint8_t *p = e + TT_BLK_HDR_SIZE, *end = e + elen - 4; end - p >= 4;) {
		uint16_t tag = tt_get16(p), len = tt_get16(p + 2);
		p += 4;
		if (len > end - p)
			return;
		if (tag == TT_E_INDEX_OFFSET && len == 8)
			ioff = tt_get64(p);
		p += len;
	}
	if (ioff < r->data_off || ioff > eoff - TT_BLK_OVERHEAD)
		return;
	uint8_t h[TT_BLK_HDR_SIZE + 4];
	if (tt_fmt_rd_pread_full(r->fd, h, sizeof(h), ioff) != sizeof(h) ||
	    tt_get32(h) != TT_BLK_MAGIC || tt_get16(h + 4) != TT_BLK_INDEX)
		return;
	uint32_t plen = tt_get32(h + 8), n = tt_get32(h + 16);
	if (plen > TT_BLK_MAX_PAYLOAD || ioff + plen + TT_BLK_OVERHEAD > eoff ||
	    (uint64_t)n * TT_INDEX_ENTRY + 4 != plen)
		return;
	b = malloc(plen + TT_BLK_OVERHEAD);
	if (!b ||
	    tt_fmt_rd_pread_full(r->fd, b, plen + TT_BLK_OVERHEAD, ioff) !=
		plen + TT_BLK_OVERHEAD ||
	    tt_get32(b + 12) != (uint32_t)crc32(crc32(0, b + 4, 8), b + TT_BLK_HDR_SIZE, plen) ||
	    tt_get32(b + TT_BLK_HDR_SIZE + plen) != plen + TT_BLK_OVERHEAD) {
		free(b);
		return;
	}
	memmove(b, b + TT_BLK_HDR_SIZE + 4, (size_t)n * TT_INDEX_ENTRY);
	/*
	 * An index that does not begin right after our header is the last one of captures
	 * appended to this one (cat a.tt b.tt, -o - >> a.tt): it covers only that capture.
	 */
	if (n ? tt_get64(b) != r->data_off : ioff != r->data_off) {
		free(b);
		return;
	}
	r->idx = b;
	r->n_idx = n;
	r->idx_state = 1;
}

/*
 * Calls fn for each EVENTS block's (offset, first_ts, last_ts, count) in
 * file order, from the index or else by walking block headers with pread
 * (no decompression). Stops when fn returns non-zero and returns that.
 */
typedef int (*blk_fn)(void *ctx, uint64_t off, uint64_t first, uint64_t last, uint32_t count);

static int block_crc_ok(int fd, uint64_t off, const uint8_t *h, uint32_t plen)
{
	uint8_t buf[16384];
	uint32_t crc = (uint32_t)crc32(0, h + 4, 8);
	uint64_t pos = off + TT_BLK_HDR_SIZE;

	while (plen) {
		size_t k = plen < sizeof(buf) ? plen : sizeof(buf);

		if (tt_fmt_rd_pread_full(fd, buf, k, pos) != (ssize_t)k)
			return 0;
		crc = (uint32_t)crc32(crc, buf, (uInt)k);
		pos += k;
		plen -= (uint32_t)k;
	}
	return crc == tt_get32(h + 12);
}

static int for_each_block(struct tt_fmt_reader *r, blk_fn fn, void *ctx)
{
	if (!r->idx_state)
		load_index(r);
	if (r->idx_state > 0) {
		for (uint32_t i = 0; i < r->n_idx; i++) {
			const uint8_t *e = r->idx + (size_t)i * TT_INDEX_ENTRY;
			int v = fn(ctx, tt_get64(e), tt_get64(e + 12), tt_get64(e + 20),
				   tt_get32(e + 8));
			if (v)
				return v;
		}
		return 0;
	}

	/* No index (interrupted recording): walk the headers. After damage,
	 * look for the next block magic in 64 KiB steps. Reads stop at the size
	 * the file has now: a read past it costs a system call and says nothing. */
	struct stat st;
	if (fstat(r->fd, &st) < 0)
		return tt_fmt_rd_fail(r, -errno, "fstat: %s", strerror(errno));
	uint64_t size = (uint64_t)st.st_size;
	uint64_t off = r->data_off;
	uint8_t h[TT_BLK_HDR_SIZE + TT_EVENTS_PREFIX], t[4];
	for (;;) {
		if (r->limit && off + TT_BLK_OVERHEAD > r->limit)
			return 0;
		if (off >= size || size - off < TT_BLK_OVERHEAD)
			return 0;
		ssize_t n = tt_fmt_rd_pread_full(
		    r->fd, h, size - off < sizeof(h) ? size - off : sizeof(h), off);
		if (n < 0)
			return tt_fmt_rd_fail(r, (int)n, "read: %s", strerror((int)-n));
		if (n < TT_BLK_OVERHEAD)
			return 0;
		uint32_t plen = tt_get32(h + 8);
		if (r->limit && tt_get32(h) == TT_BLK_MAGIC && plen <= TT_BLK_MAX_PAYLOAD &&
		    off + plen + TT_BLK_OVERHEAD > r->limit)
			return 0; /* past the size set: not written yet then */
		if (tt_get32(h) == TT_BLK_MAGIC && plen <= TT_BLK_MAX_PAYLOAD &&
		    (uint64_t)plen + TT_BLK_OVERHEAD <= size - off &&
		    tt_fmt_rd_pread_full(r->fd, t, 4, off + TT_BLK_HDR_SIZE + plen) == 4 &&
		    tt_get32(t) == plen + TT_BLK_OVERHEAD) {
			/* a block whose CRC fails says nothing true about its times */
			if (tt_get16(h + 4) == TT_BLK_EVENTS && plen >= TT_EVENTS_PREFIX &&
			    block_crc_ok(r->fd, off, h, plen)) {
				const uint8_t *p = h + TT_BLK_HDR_SIZE;
				int v =
				    fn(ctx, off, tt_get64(p + 4), tt_get64(p + 12), tt_get32(p));
				if (v)
					return v;
			}
			off += plen + TT_BLK_OVERHEAD;
			continue;
		}
		/* Damaged: scan for the next magic. */
		static const uint8_t magic[4] = {'T', 'T', 'B', 'K'};
		uint8_t chunk[65536];
		uint64_t from = off + 1;
		for (;;) {
			if (from >= size)
				return 0;
			n = tt_fmt_rd_pread_full(
			    r->fd, chunk, size - from < sizeof(chunk) ? size - from : sizeof(chunk),
			    from);
			if (n < 4)
				return 0;
			const uint8_t *m = memmem(chunk, (size_t)n, magic, 4);
			if (m) {
				off = from + (uint64_t)(m - chunk);
				break;
			}
			from += (uint64_t)n - 3;
		}
	}
}

struct seek_ctx {
	uint64_t ts; /* wall clock */
	uint64_t clock_offset;
	uint64_t off;
	int found;
};

static int seek_cb(void *ctx, uint64_t off, uint64_t first, uint64_t last, uint32_t count)
{
	struct seek_ctx *c = ctx;

	(void)first;
	/* In wall time: ts_ns - offset would wrap for a time before the capture. */
	if (count && last + c->clock_offset >= c->ts) {
		c->off = off;
		c->found = 1;
		return 1;
	}
	return 0;
}

int tt_fmt_reader_seek_time(struct tt_fmt_reader *r, uint64_t ts_ns)
{
	struct seek_ctx c = {ts_ns, (uint64_t)r->hdr.clock_offset_ns, 0, 0};

	if (!r->seekable)
		return tt_fmt_rd_fail(r, -ESPIPE, "cannot seek in a pipe");
	int v = for_each_block(r, seek_cb, &c);
	if (v < 0)
		return v;
	struct tt_fmt_pos pos = {c.found ? c.off : UINT64_MAX, 0};
	if (!c.found) {
		/* Past the last event: position at the end, next() returns 0. */
		struct stat st;
		pos.block_offset = fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : r->data_off;
		r->saw_end = 1;
	}
	v = tt_fmt_reader_seek(r, &pos);
	if (!c.found)
		r->saw_end = 1;
	return v;
}

struct range_ctx {
	uint64_t first, last;
	int any;
};

static int range_cb(void *ctx, uint64_t off, uint64_t first, uint64_t last, uint32_t count)
{
	struct range_ctx *c = ctx;

	(void)off;
	if (!count)
		return 0;
	if (!c->any || first < c->first)
		c->first = first;
	if (!c->any || last > c->last)
		c->last = last;
	c->any = 1;
	return 0;
}

int tt_fmt_reader_time_range(struct tt_fmt_reader *r, uint64_t *first_ns, uint64_t *last_ns)
{
	struct range_ctx c = {0, 0, 0};

	*first_ns = *last_ns = 0;
	if (!r->seekable)
		return tt_fmt_rd_fail(r, -ESPIPE, "cannot seek in a pipe");
	int v = for_each_block(r, range_cb, &c);
	if (v < 0)
		return v;
	if (c.any) {
		*first_ns = c.first + (uint64_t)r->hdr.clock_offset_ns;
		*last_ns = c.last + (uint64_t)r->hdr.clock_offset_ns;
	}
	return 0;
}
