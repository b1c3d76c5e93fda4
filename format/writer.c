// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capture writer: buffers events column by column (one stream per field, so
 * zstd sees similar values together), and at a flush or a full block writes
 * one self-contained EVENTS block with a single write(). Close appends the
 * block index and the END block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "tt_fmt.h"
#include "tt_mapbuf.h"
#include "tt_util.h"
#include "fmt_priv.h"

/* A stream or scratch buffer: its own mapping (tt_mapbuf), given back after a burst's block */
struct buf {
	struct tt_mapbuf m;
	size_t len;
};

struct idx_entry {
	uint64_t offset, first_ts, last_ts;
	uint32_t count;
};

struct tt_fmt_writer {
	int fd;
	int err; /* first error, sticky: a capture with a hole is worse than a short one */
	int level;
	uint32_t block_events;
	uint64_t bytes, events, blocks;
	uint64_t base; /* file offset of the preamble: offsets in the file are from byte 0 */
	/* the header's clock_offset_ns: events come in wall time, the file holds wall - this */
	uint64_t clock_offset;
	ZSTD_CCtx *cctx;

	/* The block being built. */
	struct buf s[TT_NSTREAMS];
	uint32_t count;
	uint64_t first_ts, last_ts, prev_ts, prev_conn;
	uint32_t prev_pid;

	struct buf raw, out; /* scratch, kept between blocks */

	struct idx_entry *idx;
	size_t n_idx, cap_idx;
	int idx_overflow;

	char errmsg[256];
};

static int fail(struct tt_fmt_writer *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct tt_fmt_writer *w, int err, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return w->err;
	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	w->err = err;
	return err;
}

static int buf_reserve(struct buf *b, size_t more)
{
	return tt_mapbuf_reserve(&b->m, b->len + more);
}

static uint8_t *bytes(const struct buf *b)
{
	return b->m.p;
}

/* Appends v (room reserved already). */
static void put_varint(struct buf *b, uint64_t v)
{
	b->len = (size_t)(tt_put_varint(bytes(b) + b->len, v) - bytes(b));
}

/* Room an event may take in stream i: its payload, or one varint of at most 10 bytes. */
static size_t event_room(int i)
{
	return i == TT_S_PAYLOAD ? TT_PAYLOAD_MAX : 10;
}

/* A buffer keeps this much whatever its blocks need. */
#define BUF_KEEP (64u << 10)

/*
 * After a block that needed used bytes of b: a buffer more than four times as large is cut to
 * twice that. A burst's block (65 536 opens of a recorder started beside as many connections:
 * about 7 MB over the streams and the scratch buffers) is given back once blocks are small
 * again; a steady size (the doubling leaves it under twice its need) is never cut.
 */
static void buf_trim(struct buf *b, size_t used)
{
	size_t keep = used * 2 > BUF_KEEP ? used * 2 : BUF_KEEP;

	if (b->m.cap > 2 * keep)
		tt_mapbuf_shrink(&b->m, keep);
}

static int write_all(struct tt_fmt_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			return fail(w, -e, "write: %s", strerror(e));
		}
		p += k;
		n -= (size_t)k;
		w->bytes += (uint64_t)k;
	}
	return 0;
}

/* Frames payload (at bytes(out) + TT_BLK_HDR_SIZE, plen bytes) as one block and writes it. */
static int write_block(struct tt_fmt_writer *w, uint16_t type, struct buf *out, size_t plen)
{
	uint8_t *b = bytes(out);
	uint32_t crc;

	tt_put32(b, TT_BLK_MAGIC);
	tt_put16(b + 4, type);
	tt_put16(b + 6, 0);
	tt_put32(b + 8, (uint32_t)plen);
	crc = (uint32_t)crc32(0, b + 4, 8);
	crc = (uint32_t)crc32(crc, b + TT_BLK_HDR_SIZE, (uInt)plen);
	tt_put32(b + 12, crc);
	tt_put32(b + TT_BLK_HDR_SIZE + plen, (uint32_t)(plen + TT_BLK_OVERHEAD));
	return write_all(w, b, plen + TT_BLK_OVERHEAD);
}

static uint8_t *put_tlv_str(uint8_t *p, uint16_t tag, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	tt_put16(p, tag);
	tt_put16(p + 2, (uint16_t)n);
	memcpy(p + 4, s, n);
	return p + 4 + n;
}

static uint8_t *put_tlv_u64(uint8_t *p, uint16_t tag, uint64_t v, unsigned len)
{
	tt_put16(p, tag);
	tt_put16(p + 2, (uint16_t)len);
	for (unsigned i = 0; i < len; i++)
		p[4 + i] = (uint8_t)(v >> (8 * i));
	return p + 4 + len;
}

static int write_preamble_and_header(struct tt_fmt_writer *w, const struct tt_fmt_header *h)
{
	uint8_t pre[TT_FMT_PREAMBLE_SIZE];
	struct buf *out = &w->out;

	memcpy(pre, TT_FMT_MAGIC, TT_FMT_MAGIC_LEN);
	tt_put16(pre + 8, TT_FMT_VERSION_MAJOR);
	tt_put16(pre + 10, TT_FMT_VERSION_MINOR);
	tt_put32(pre + 12, TT_FMT_BOM);
	if (write_all(w, pre, sizeof(pre)))
		return w->err;

	if (buf_reserve(out, TT_BLK_OVERHEAD + sizeof(*h) + 16 * 4))
		return fail(w, -ENOMEM, "out of memory");
	uint8_t *p0 = bytes(out) + TT_BLK_HDR_SIZE, *p = p0;
	p = put_tlv_str(p, TT_H_HOSTNAME, h->hostname, sizeof(h->hostname));
	p = put_tlv_str(p, TT_H_KERNEL, h->kernel, sizeof(h->kernel));
	p = put_tlv_str(p, TT_H_BOOT_ID, h->boot_id, sizeof(h->boot_id));
	p = put_tlv_str(p, TT_H_TOOL_VERSION, h->tool_version, sizeof(h->tool_version));
	p = put_tlv_str(p, TT_H_MODE, h->mode, sizeof(h->mode));
	p = put_tlv_u64(p, TT_H_COALESCE_MS, h->coalesce_ms, 4);
	p = put_tlv_str(p, TT_H_FILTERS, h->filters, sizeof(h->filters));
	p = put_tlv_str(p, TT_H_PROBES, h->probes, sizeof(h->probes));
	p = put_tlv_u64(p, TT_H_CLOCK_OFFSET, (uint64_t)h->clock_offset_ns, 8);
	p = put_tlv_str(p, TT_H_CLOCK, h->clock, sizeof(h->clock));
	p = put_tlv_u64(p, TT_H_START_NS, h->start_ns, 8);
	p = put_tlv_str(p, TT_H_MISSING, h->missing, sizeof(h->missing));
	p = put_tlv_u64(p, TT_H_RAW_SLICE_NS, h->raw_slice_ns, 8);
	return write_block(w, TT_BLK_HEADER, out, (size_t)(p - p0));
}

/*
 * Where the capture begins in the file: not 0 when it is appended to a non-empty file
 * (`-o - >> file`: O_APPEND writes at the end whatever the offset says) or written at an
 * offset. A pipe has no offsets; its reader never seeks.
 */
static uint64_t start_offset(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	off_t off;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	off = fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
	return off > 0 ? (uint64_t)off : 0;
}

/*
 * While it writes a file, the writer holds a write lock on all of it: an open file description
 * lock (F_OFD_SETLK), shared by the recorder's copies of the fd and gone when the writer closes
 * or its process dies. Readers test it without taking it (tt_fmt_reader_writing()): a capture
 * without its end block is then still being written, not cut short. Not taking it (a pipe, a
 * reader holding a read lock) only makes the capture look like one a recorder left.
 */
static void writing_lock(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		(void)fcntl(fd, F_OFD_SETLK, &fl);
}

static void block_reset(struct tt_fmt_writer *w)
{
	for (int i = 0; i < TT_NSTREAMS; i++)
		w->s[i].len = 0;
	w->count = 0;
	w->prev_conn = 0;
	w->prev_pid = 0;
}

int tt_fmt_writer_open_fd(struct tt_fmt_writer **outp, int fd, const struct tt_fmt_header *hdr,
			  const struct tt_fmt_wopts *opts, char *err, size_t errlen)
{
	struct tt_fmt_writer *w = calloc(1, sizeof(*w));
	int rc;

	*outp = NULL;
	if (!w) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->fd = fd;
	w->base = start_offset(fd);
	w->clock_offset = (uint64_t)hdr->clock_offset_ns;
	w->level = opts && opts->level ? opts->level : 3;
	w->block_events =
	    opts && opts->block_events ? opts->block_events : TT_WRITER_DEFAULT_EVENTS;
	if (w->block_events > TT_WRITER_MAX_EVENTS)
		w->block_events = TT_WRITER_MAX_EVENTS;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		rc = fail(w, -ENOMEM, "out of memory");
		goto out_err;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1))) {
		rc = fail(w, -EINVAL, "bad zstd level %d", w->level);
		goto out_err;
	}
	writing_lock(fd, F_WRLCK);
	rc = write_preamble_and_header(w, hdr);
	if (rc)
		goto out_err;
	*outp = w;
	return 0;
out_err:
	snprintf(err, errlen, "%s", w->errmsg);
	w->fd = -1;
	writing_lock(fd, F_UNLCK);
	close(fd);
	tt_fmt_writer_close(w);
	return rc;
}

int tt_fmt_writer_open(struct tt_fmt_writer **out, const char *path,
		       const struct tt_fmt_header *hdr, const struct tt_fmt_wopts *opts, char *err,
		       size_t errlen)
{
	int fd;

	*out = NULL;
	if (!strcmp(path, "-")) {
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			int e = errno;

			snprintf(err, errlen, "stdout: %s", strerror(e));
			return -e;
		}
	} else {
		/* captures name hosts and processes: private, as every output */
		fd = tt_create_private(path, opts && opts->force, err, errlen);
		if (fd < 0)
			return fd;
	}
	int rc = tt_fmt_writer_open_fd(out, fd, hdr, opts, err, errlen);
	if (rc < 0) {
		char m[256];
		snprintf(m, sizeof(m), "%s", err);
		snprintf(err, errlen, "%s: %s", strcmp(path, "-") ? path : "stdout", m);
	}
	return rc;
}

int tt_fmt_writer_add(struct tt_fmt_writer *w, const struct tt_event *ev)
{
	/* stored in the header's event clock, modulo 2^64 as the reader adds it back */
	uint64_t ts = ev->ts_ns - w->clock_offset;

	if (w->err)
		return w->err;
	for (int i = 0; i < TT_NSTREAMS; i++) {
		if (buf_reserve(&w->s[i], event_room(i)))
			return fail(w, -ENOMEM, "out of memory");
	}
	if (w->count == 0) {
		w->first_ts = w->last_ts = ts;
		w->prev_ts = 0; /* the first event of a block carries its full time */
	}
	/* The ring buffer is not strictly time-ordered across CPUs: keep min and
	 * max, and signed deltas. */
	if (ts < w->first_ts)
		w->first_ts = ts;
	if (ts > w->last_ts)
		w->last_ts = ts;

	struct buf *s = w->s;
	put_varint(&s[TT_S_KIND], ev->kind);
	put_varint(&s[TT_S_FLAGS], ev->flags);
	put_varint(&s[TT_S_TS], tt_zigzag((int64_t)(ts - w->prev_ts)));
	put_varint(&s[TT_S_CONN], tt_zigzag((int64_t)(ev->conn_id - w->prev_conn)));
	put_varint(&s[TT_S_PID], tt_zigzag((int64_t)ev->pid - (int64_t)w->prev_pid));
	put_varint(&s[TT_S_TID], tt_zigzag((int64_t)ev->tid - (int64_t)ev->pid));
	uint8_t *pl = bytes(&s[TT_S_PAYLOAD]) + s[TT_S_PAYLOAD].len;
	size_t n = tt_fmt_codec_encode(ev, pl + 1);
	pl[0] = (uint8_t)n; /* n < 128: a one-byte varint */
	s[TT_S_PAYLOAD].len += n + 1;

	w->prev_ts = ts;
	w->prev_conn = ev->conn_id;
	w->prev_pid = ev->pid;
	w->count++;
	w->events++;

	size_t raw = 0;
	for (int i = 0; i < TT_NSTREAMS; i++)
		raw += s[i].len;
	if (w->count >= w->block_events || raw >= TT_WRITER_RAW_LIMIT)
		return tt_fmt_writer_flush(w);
	return 0;
}

static int index_add(struct tt_fmt_writer *w, uint64_t off)
{
	if (w->idx_overflow)
		return 0;
	if (w->n_idx == TT_INDEX_MAX_ENTRIES) {
		/* The index would not fit one block: readers fall back to scanning. */
		w->idx_overflow = 1;
		return 0;
	}
	if (w->n_idx == w->cap_idx) {
		size_t cap = w->cap_idx ? w->cap_idx * 2 : 256;
		struct idx_entry *p = realloc(w->idx, cap * sizeof(*p));
		if (!p)
			return fail(w, -ENOMEM, "out of memory");
		w->idx = p;
		w->cap_idx = cap;
	}
	w->idx[w->n_idx++] = (struct idx_entry){off, w->first_ts, w->last_ts, w->count};
	return 0;
}

int tt_fmt_writer_flush(struct tt_fmt_writer *w)
{
	if (w->err)
		return w->err;
	if (!w->count)
		return 0;

	/* Content: u32 stream count, u32 length of each, the streams. */
	size_t raw_len = 4 + 4 * TT_NSTREAMS;
	for (int i = 0; i < TT_NSTREAMS; i++)
		raw_len += w->s[i].len;
	w->raw.len = 0;
	if (buf_reserve(&w->raw, raw_len))
		return fail(w, -ENOMEM, "out of memory");
	uint8_t *r = bytes(&w->raw);
	tt_put32(r, TT_NSTREAMS);
	for (int i = 0; i < TT_NSTREAMS; i++)
		tt_put32(r + 4 + 4 * i, (uint32_t)w->s[i].len);
	r += 4 + 4 * TT_NSTREAMS;
	for (int i = 0; i < TT_NSTREAMS; i++) {
		memcpy(r, bytes(&w->s[i]), w->s[i].len);
		r += w->s[i].len;
	}

	size_t bound = ZSTD_compressBound(raw_len);
	w->out.len = 0;
	if (buf_reserve(&w->out, TT_BLK_OVERHEAD + TT_EVENTS_PREFIX + bound))
		return fail(w, -ENOMEM, "out of memory");
	uint8_t *pl = bytes(&w->out) + TT_BLK_HDR_SIZE;
	size_t c = ZSTD_compress2(w->cctx, pl + TT_EVENTS_PREFIX, bound, bytes(&w->raw), raw_len);
	if (ZSTD_isError(c))
		return fail(w, -EIO, "zstd: %s", ZSTD_getErrorName(c));
	tt_put32(pl, w->count);
	tt_put64(pl + 4, w->first_ts);
	tt_put64(pl + 12, w->last_ts);
	tt_put32(pl + 20, (uint32_t)raw_len);

	uint64_t off = w->base + w->bytes;
	int rc = write_block(w, TT_BLK_EVENTS, &w->out, TT_EVENTS_PREFIX + c);
	if (rc)
		return rc;
	w->blocks++;
	rc = index_add(w, off);
	for (int i = 0; i < TT_NSTREAMS; i++)
		buf_trim(&w->s[i], w->s[i].len + event_room(i));
	buf_trim(&w->raw, raw_len);
	buf_trim(&w->out, TT_BLK_OVERHEAD + TT_EVENTS_PREFIX + bound);
	block_reset(w);
	return rc;
}

static int write_index_and_end(struct tt_fmt_writer *w)
{
	uint64_t idx_off = 0;

	if (!w->idx_overflow) {
		size_t plen = 4 + w->n_idx * TT_INDEX_ENTRY;
		w->out.len = 0;
		if (buf_reserve(&w->out, TT_BLK_OVERHEAD + plen))
			return fail(w, -ENOMEM, "out of memory");
		uint8_t *p = bytes(&w->out) + TT_BLK_HDR_SIZE;
		tt_put32(p, (uint32_t)w->n_idx);
		p += 4;
		for (size_t i = 0; i < w->n_idx; i++, p += TT_INDEX_ENTRY) {
			tt_put64(p, w->idx[i].offset);
			tt_put32(p + 8, w->idx[i].count);
			tt_put64(p + 12, w->idx[i].first_ts);
			tt_put64(p + 20, w->idx[i].last_ts);
		}
		idx_off = w->base + w->bytes;
		if (write_block(w, TT_BLK_INDEX, &w->out, plen))
			return w->err;
	}
	w->out.len = 0;
	if (buf_reserve(&w->out, TT_BLK_OVERHEAD + 3 * 12))
		return fail(w, -ENOMEM, "out of memory");
	uint8_t *p0 = bytes(&w->out) + TT_BLK_HDR_SIZE, *p = p0;
	p = put_tlv_u64(p, TT_E_EVENTS, w->events, 8);
	p = put_tlv_u64(p, TT_E_BLOCKS, w->blocks, 8);
	p = put_tlv_u64(p, TT_E_INDEX_OFFSET, idx_off, 8);
	return write_block(w, TT_BLK_END, &w->out, (size_t)(p - p0));
}

int tt_fmt_writer_close(struct tt_fmt_writer *w)
{
	int rc;

	if (!w)
		return 0;
	if (w->fd >= 0) {
		if (!tt_fmt_writer_flush(w))
			write_index_and_end(w);
		/* explicitly: the recorder may hold other fds of this file open */
		writing_lock(w->fd, F_UNLCK);
		if (close(w->fd) < 0 && !w->err) {
			int e = errno;
			fail(w, -e, "close: %s", strerror(e));
		}
	}
	rc = w->err;
	ZSTD_freeCCtx(w->cctx);
	for (int i = 0; i < TT_NSTREAMS; i++)
		tt_mapbuf_free(&w->s[i].m);
	tt_mapbuf_free(&w->raw.m);
	tt_mapbuf_free(&w->out.m);
	free(w->idx);
	free(w);
	return rc;
}

uint64_t tt_fmt_writer_bytes(const struct tt_fmt_writer *w)
{
	return w->bytes;
}

uint64_t tt_fmt_writer_events(const struct tt_fmt_writer *w)
{
	return w->events;
}

const char *tt_fmt_writer_error(const struct tt_fmt_writer *w)
{
	return w->errmsg;
}
