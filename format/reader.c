// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capture reader, streaming: a sliding input buffer (pread on files, read on
 * pipes), block validation with resynchronisation after damage, and a tight
 * decoder over the column streams of one decompressed EVENTS block at a time.
 * Random access (positions, the block index, time) is seek.c's.
 *
 * Nothing here trusts the file: every length is checked against what is
 * present and against a fixed cap before anything is allocated.
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
#include "fmt_priv.h"
#include "reader_int.h"
#include "tt_util.h"

static void warn(struct tt_fmt_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(struct tt_fmt_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->warnmsg, sizeof(r->warnmsg), "%s: ", r->name);

	va_start(ap, fmt);
	vsnprintf(r->warnmsg + n, sizeof(r->warnmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->n_warn++;
	if (r->warn_fn)
		r->warn_fn(r->warn_ctx, r->warnmsg);
}

int tt_fmt_rd_fail(struct tt_fmt_reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->errmsg, sizeof(r->errmsg), "%s: ", r->name);

	va_start(ap, fmt);
	vsnprintf(r->errmsg + n, sizeof(r->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/* ------------------------------------------------------------ input window */

ssize_t tt_fmt_rd_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)p + got, n - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/*
 * Makes at least need bytes (need <= TT_BLK_MAX_PAYLOAD + overhead) available
 * at buf + start. Returns how many are available (fewer only at the end of
 * the input) or a negative errno.
 */
static ssize_t fill(struct tt_fmt_reader *r, size_t need)
{
	if (r->len >= need || r->eof)
		return (ssize_t)r->len;
	if (r->start + need > r->cap || r->start > r->cap / 2) {
		memmove(r->buf, r->buf + r->start, r->len);
		r->start = 0;
	}
	if (need > r->cap) {
		/*
		 * A length read from damaged data may claim far more than the file holds: grow
		 * only to what is there now (a file still being written grows it on a later call).
		 */
		size_t want = need;
		struct stat st;
		if (r->seekable && fstat(r->fd, &st) == 0 && (uint64_t)st.st_size < r->off + need)
			want = (uint64_t)st.st_size > r->off ? (size_t)(st.st_size - r->off) : 0;
		if (tt_grow(&r->buf, &r->cap, want, 1, RBUF_INITIAL))
			return tt_fmt_rd_fail(r, -ENOMEM, "out of memory");
	}
	while (r->len < need) {
		uint8_t *dst = r->buf + r->start + r->len;
		size_t room = r->cap - r->start - r->len;
		if (r->limit && r->seekable) {
			uint64_t at = r->off + r->len;

			if (at >= r->limit) {
				r->eof = 1;
				break;
			}
			if (room > r->limit - at)
				room = (size_t)(r->limit - at);
		}
		if (!room) {
			r->eof = 1; /* the file ends before need: see the growth above */
			break;
		}
		ssize_t k = r->seekable ? pread(r->fd, dst, room, (off_t)(r->off + r->len))
					: read(r->fd, dst, room);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			return tt_fmt_rd_fail(r, -e, "read: %s", strerror(e));
		}
		if (k == 0) {
			r->eof = 1;
			break;
		}
		r->len += (size_t)k;
	}
	return (ssize_t)r->len;
}

void tt_fmt_rd_consume(struct tt_fmt_reader *r, size_t n)
{
	r->start += n;
	r->len -= n;
	r->off += n;
}

void tt_fmt_rd_reposition(struct tt_fmt_reader *r, uint64_t off)
{
	r->start = r->len = 0;
	r->off = off;
	r->eof = 0;
}

/* ---------------------------------------------------------------- blocks */

/*
 * Checks the block at the start of the window. Returns 1 when it is whole and
 * valid (type and payload length set), 0 when not (*why set), <0 on I/O error.
 */
int tt_fmt_rd_check_block(struct tt_fmt_reader *r, uint16_t *type, uint32_t *plen, const char **why)
{
	ssize_t n = fill(r, TT_BLK_HDR_SIZE);

	if (n < 0)
		return (int)n;
	const uint8_t *b = r->buf + r->start;
	if (n >= 4 && tt_get32(b) != TT_BLK_MAGIC) {
		*why = "no block magic";
		return 0;
	}
	if (n < TT_BLK_HDR_SIZE) {
		*why = "incomplete block";
		return 0;
	}
	uint32_t len = tt_get32(b + 8);
	if (len > TT_BLK_MAX_PAYLOAD) {
		*why = "bad block length";
		return 0;
	}
	n = fill(r, (size_t)len + TT_BLK_OVERHEAD);
	if (n < 0)
		return (int)n;
	b = r->buf + r->start;
	if ((size_t)n < (size_t)len + TT_BLK_OVERHEAD) {
		*why = "incomplete block";
		return 0;
	}
	if (tt_get32(b + TT_BLK_HDR_SIZE + len) != len + TT_BLK_OVERHEAD) {
		*why = "bad block trailer";
		return 0;
	}
	uint32_t crc = (uint32_t)crc32(0, b + 4, 8);
	crc = (uint32_t)crc32(crc, b + TT_BLK_HDR_SIZE, len);
	if (crc != tt_get32(b + 12)) {
		*why = "CRC mismatch";
		return 0;
	}
	*type = tt_get16(b + 4);
	*plen = len;
	return 1;
}

/* Moves the window to the next place the block magic appears after its start. */
static int resync(struct tt_fmt_reader *r)
{
	static const uint8_t magic[4] = {'T', 'T', 'B', 'K'};

	tt_fmt_rd_consume(r, 1);
	for (;;) {
		ssize_t n = fill(r, 4);
		if (n < 0)
			return (int)n;
		if (n < 4) {
			if (!r->follow) /* following, they may begin the next block */
				tt_fmt_rd_consume(r, (size_t)n);
			return 0;
		}
		const uint8_t *b = r->buf + r->start;
		const uint8_t *m = memmem(b, r->len, magic, sizeof(magic));
		if (m) {
			tt_fmt_rd_consume(r, (size_t)(m - b));
			return 0;
		}
		/* Keep the last 3 bytes: the magic may straddle the refill. */
		tt_fmt_rd_consume(r, r->len - 3);
		n = fill(r, 4 + r->cap / 2);
		if (n < 0)
			return (int)n;
		if (n < 4) {
			if (!r->follow)
				tt_fmt_rd_consume(r, r->len);
			return 0;
		}
	}
}

static void end_damage(struct tt_fmt_reader *r)
{
	if (!r->damaged)
		return;
	warn(r, "damaged data at offset %llu (%s), %llu bytes skipped",
	     (unsigned long long)r->damage_off, r->damage_why,
	     (unsigned long long)(r->off - r->damage_off));
	r->damaged = 0;
}

/*
 * One warning for everything of a newer minor version that was skipped (docs/FORMAT.md,
 * "Versions"): the file is read, but there is more in it than this reader shows.
 */
static void warn_unknown(struct tt_fmt_reader *r)
{
	static const char *const what[] = {"header tags",
					   "end tags",
					   "blocks",
					   "events of unknown kinds",
					   "events' extra fields",
					   "blocks' extra streams"};
	const uint64_t n[] = {r->unk.hdr_tags, r->unk.end_tags, r->unk.blocks,
			      r->unk.kinds,    r->unk.fields,	r->unk.streams};
	char list[320] = "";
	size_t len = 0;

	if (r->unk.warned)
		return;
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]) && len < sizeof(list); i++)
		if (n[i])
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%llu %s",
						len ? ", " : "", (unsigned long long)n[i], what[i]);
	if (!len)
		return;
	r->unk.warned = 1;
	warn(r, "skipped what this reader of format %u.%u does not know (capture format %u.%u): %s",
	     TT_FMT_VERSION_MAJOR, TT_FMT_VERSION_MINOR, r->hdr.version_major, r->hdr.version_minor,
	     list);
}

/*
 * A capture still being written (set_size, or its writer's lock held now) ends unfinished: a
 * block half written or no end block yet is what it is, not damage.
 */
static int unfinished(struct tt_fmt_reader *r)
{
	return r->limit || tt_fmt_reader_writing(r);
}

static void at_eof(struct tt_fmt_reader *r)
{
	if (r->done)
		return;
	r->done = 1;
	warn_unknown(r);
	if (r->damaged && !strcmp(r->damage_why, "incomplete block") &&
	    r->damage_off + TT_BLK_OVERHEAD + TT_BLK_MAX_PAYLOAD >= r->off && unfinished(r)) {
		r->damaged = 0;
	} else if (r->damaged) {
		if (!strcmp(r->damage_why, "incomplete block"))
			warn(r,
			     "truncated capture: incomplete block at offset %llu, last %llu bytes "
			     "ignored",
			     (unsigned long long)r->damage_off,
			     (unsigned long long)(r->off - r->damage_off));
		else
			warn(r,
			     "damaged data at offset %llu (%s) up to the end, %llu bytes skipped",
			     (unsigned long long)r->damage_off, r->damage_why,
			     (unsigned long long)(r->off - r->damage_off));
		r->damaged = 0;
	} else if (!r->saw_end && !unfinished(r)) {
		warn(r, "capture has no end block (recording interrupted?)");
	}
}

/* Decompresses an EVENTS payload and sets up its streams. Returns 0 or a reason. */
const char *tt_fmt_rd_load_events(struct tt_fmt_reader *r, const uint8_t *pl, uint32_t plen)
{
	if (plen < TT_EVENTS_PREFIX)
		return "events block too short";
	uint32_t count = tt_get32(pl);
	uint32_t raw_len = tt_get32(pl + 20);
	const uint8_t *src = pl + TT_EVENTS_PREFIX;
	size_t csize = plen - TT_EVENTS_PREFIX;

	if (raw_len > TT_BLK_MAX_RAW || raw_len < 4 + 4 * TT_NSTREAMS || count > raw_len)
		return "bad events block size";
	unsigned long long fcs = ZSTD_getFrameContentSize(src, csize);
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != raw_len)
		return "bad events block size";
	if (raw_len > r->raw_cap) {
		size_t cap = r->raw_cap ? r->raw_cap : 4096;
		while (cap < raw_len)
			cap *= 2;
		free(r->raw);
		r->raw = malloc(cap + TT_DECODE_PAD);
		r->raw_cap = r->raw ? cap : 0;
		if (!r->raw)
			return "out of memory";
		memset(r->raw + cap, 0, TT_DECODE_PAD);
	}
	/* Created on first use: a file that never gets this far (damaged, empty, a
	 * header probe) does not pay for a 96 KiB context. */
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
		return "out of memory";
	size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, raw_len, src, csize);
	if (ZSTD_isError(got) || got != raw_len)
		return "events block does not decompress";

	const uint8_t *p = r->raw, *end = r->raw + raw_len;
	uint32_t ns = tt_get32(p);
	if (ns < TT_NSTREAMS || ns > TT_MAX_STREAMS || 4 + 4 * (size_t)ns > raw_len)
		return "bad stream table";
	if (ns > TT_NSTREAMS)
		r->unk.streams++;
	const uint8_t *q = p + 4 + 4 * (size_t)ns;
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t l = tt_get32(p + 4 + 4 * i);
		if (l > (size_t)(end - q))
			return "bad stream table";
		if (i < TT_NSTREAMS)
			r->s[i] = (struct stream){q, q + l};
		q += l;
	}
	if (q != end)
		return "bad stream table";
	r->blk_count = count;
	r->blk_idx = 0;
	r->prev_ts = 0;
	r->prev_conn = 0;
	r->prev_pid = 0;
	return NULL;
}

/* TLV records (HEADER, END) whose tag this reader does not know (0, or next and above). */
static uint64_t unknown_tags(const uint8_t *p, uint32_t plen, unsigned next)
{
	const uint8_t *end = p + plen;
	uint64_t n = 0;

	while (end - p >= 4) {
		uint16_t tag = tt_get16(p), len = tt_get16(p + 2);

		p += 4;
		if (len > end - p)
			break;
		n += tag == 0 || tag >= next;
		p += len;
	}
	return n;
}

/* Following: nothing consumed, the next call reads on from here. */
static int wait_more(struct tt_fmt_reader *r)
{
	r->eof = 0;
	return -EAGAIN;
}

/*
 * Advances to the next EVENTS block. Returns 1 when one is loaded, 0 at the
 * end of the input, or a negative errno.
 */
static int next_block(struct tt_fmt_reader *r)
{
	r->blk_count = r->blk_idx = 0;
	for (;;) {
		uint16_t type;
		uint32_t plen;
		const char *why = NULL;
		uint64_t off = r->off;
		ssize_t n = fill(r, 1);

		if (n < 0)
			return (int)n;
		if (n == 0 && r->follow && !r->saw_end)
			return wait_more(r);
		if (n == 0) {
			at_eof(r);
			return 0;
		}
		int v = tt_fmt_rd_check_block(r, &type, &plen, &why);
		if (v < 0)
			return v;
		if (!v && r->follow && r->eof && !strcmp(why, "incomplete block"))
			return wait_more(r); /* being written: its rest comes with the next write */
		if (!v) {
			if (!r->damaged) {
				r->damaged = 1;
				r->damage_off = off;
				r->damage_why = why;
			}
			v = resync(r);
			if (v < 0)
				return v;
			continue;
		}
		end_damage(r);
		const uint8_t *pl = r->buf + r->start + TT_BLK_HDR_SIZE;
		if (type == TT_BLK_EVENTS) {
			why = tt_fmt_rd_load_events(r, pl, plen);
			tt_fmt_rd_consume(r, plen + TT_BLK_OVERHEAD);
			if (why) {
				warn(r, "block at offset %llu: %s, skipped",
				     (unsigned long long)off, why);
				r->blk_count = 0;
				continue;
			}
			r->blk_off = off;
			return 1;
		}
		if (type == TT_BLK_END) {
			r->saw_end = 1;
			r->unk.end_tags += unknown_tags(pl, plen, TT_E_NEXT);
		} else if (type < TT_BLK_HEADER || type >= TT_BLK_NEXT) {
			r->unk.blocks++;
		}
		/* HEADER (already read), INDEX, SNAPSHOT and unknown types: skip. */
		tt_fmt_rd_consume(r, plen + TT_BLK_OVERHEAD);
	}
}

/* ---------------------------------------------------------------- events */

static inline int sv(struct stream *s, uint64_t *v)
{
	return tt_get_varint_pad(&s->p, s->end, v); /* streams lie in the padded buffer */
}

/*
 * Decodes the next event of the block. 1 = event, 2 = event with fields after those this
 * reader knows, 0 = unknown kind, -1 = malformed.
 */
static int decode(struct tt_fmt_reader *r, struct tt_event *ev)
{
	uint64_t kind, flags, dts, dconn, dpid, dtid, plen;
	struct stream *s = r->s;

	if (sv(&s[TT_S_KIND], &kind) || sv(&s[TT_S_FLAGS], &flags) || sv(&s[TT_S_TS], &dts) ||
	    sv(&s[TT_S_CONN], &dconn) || sv(&s[TT_S_PID], &dpid) || sv(&s[TT_S_TID], &dtid) ||
	    sv(&s[TT_S_PAYLOAD], &plen))
		return -1;
	const uint8_t *p = s[TT_S_PAYLOAD].p;
	if (plen > (uint64_t)(s[TT_S_PAYLOAD].end - p))
		return -1;
	s[TT_S_PAYLOAD].p = p + plen;

	r->prev_ts += (uint64_t)tt_unzigzag(dts);
	r->prev_conn += (uint64_t)tt_unzigzag(dconn);
	r->prev_pid = (uint32_t)(r->prev_pid + (uint64_t)tt_unzigzag(dpid));
	r->blk_idx++;

	/* A copy, not memset: gcc turns a 104-byte memset into a slow rep stos. */
	static const struct tt_event zero;
	*ev = zero;
	ev->ts_ns = r->prev_ts + (uint64_t)r->hdr.clock_offset_ns;
	ev->conn_id = r->prev_conn;
	ev->pid = r->prev_pid;
	ev->tid = (uint32_t)(r->prev_pid + (uint64_t)tt_unzigzag(dtid));
	ev->kind = (uint16_t)kind;
	ev->flags = (uint16_t)flags;
	if (kind != ev->kind)
		return 0; /* a kind this reader cannot even represent */
	return tt_fmt_codec_decode(ev, p, p + plen);
}

int tt_fmt_reader_next(struct tt_fmt_reader *r, struct tt_event *ev)
{
	for (;;) {
		while (r->blk_idx < r->blk_count) {
			int v = decode(r, ev);
			if (v > 0) {
				r->unk.fields += v == 2;
				return 1;
			}
			r->unk.kinds += v == 0;
			if (v < 0) {
				warn(r,
				     "block at offset %llu: malformed event %u, rest of block "
				     "skipped",
				     (unsigned long long)r->blk_off, r->blk_idx);
				r->blk_count = 0;
			}
		}
		int rc = next_block(r);
		if (rc <= 0)
			return rc;
	}
}

/* Decodes and drops the events of the current block up to its index-th (tt_fmt_reader_seek). */
int tt_fmt_rd_skip(struct tt_fmt_reader *r, uint32_t index)
{
	struct tt_event ev;

	while (r->blk_idx < index)
		if (decode(r, &ev) < 0)
			return -1;
	return 0;
}

/* ---------------------------------------------------------------- open */

static int parse_header(struct tt_fmt_reader *r, const uint8_t *p, uint32_t plen)
{
	const uint8_t *end = p + plen;
	struct tt_fmt_header *h = &r->hdr;

	while (p < end) {
		if (end - p < 4)
			return -1;
		uint16_t tag = tt_get16(p), len = tt_get16(p + 2);
		p += 4;
		if (len > end - p)
			return -1;
		char *str = NULL;
		size_t max = 0;
		switch (tag) {
		case TT_H_HOSTNAME: str = h->hostname, max = sizeof(h->hostname); break;
		case TT_H_KERNEL: str = h->kernel, max = sizeof(h->kernel); break;
		case TT_H_BOOT_ID: str = h->boot_id, max = sizeof(h->boot_id); break;
		case TT_H_TOOL_VERSION: str = h->tool_version, max = sizeof(h->tool_version); break;
		case TT_H_MODE: str = h->mode, max = sizeof(h->mode); break;
		case TT_H_FILTERS: str = h->filters, max = sizeof(h->filters); break;
		case TT_H_PROBES: str = h->probes, max = sizeof(h->probes); break;
		case TT_H_CLOCK: str = h->clock, max = sizeof(h->clock); break;
		case TT_H_MISSING: str = h->missing, max = sizeof(h->missing); break;
		default: break;
		}
		if (str) {
			size_t n = len < max - 1 ? len : max - 1;
			memcpy(str, p, n);
			str[n] = 0;
		} else if (len <= 8) {
			uint64_t v = 0;
			for (unsigned i = 0; i < len; i++)
				v |= (uint64_t)p[i] << (8 * i);
			switch (tag) {
			case TT_H_COALESCE_MS: h->coalesce_ms = (uint32_t)v; break;
			case TT_H_START_NS: h->start_ns = v; break;
			case TT_H_RAW_SLICE_NS: h->raw_slice_ns = v; break;
			case TT_H_CLOCK_OFFSET:
				if (len == 8)
					h->clock_offset_ns = (int64_t)v;
				break;
			default: break;
			}
		}
		p += len;
	}
	return 0;
}

int tt_fmt_reader_open_fd(struct tt_fmt_reader **out, int fd, const char *name, char *err,
			  size_t errlen)
{
	struct tt_fmt_reader *r = calloc(1, sizeof(*r));
	struct stat st;
	int rc;

	*out = NULL;
	if (fd < 0) {
		free(r);
		snprintf(err, errlen, "%s: %s", name, strerror(EBADF));
		return -EBADF;
	}
	if (!r) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	r->fd = fd;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	/*
	 * A small file gets a small window: a 1 MiB allocation per open is what a short
	 * capture (and the fuzzer, which opens thousands a second) paid for most.
	 */
	r->cap = RBUF_INITIAL;
	while (r->seekable && r->cap > RBUF_MIN && (uint64_t)st.st_size <= r->cap / 2)
		r->cap /= 2;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		rc = tt_fmt_rd_fail(r, -ENOMEM, "out of memory");
		goto out_err;
	}

	ssize_t n = fill(r, TT_FMT_PREAMBLE_SIZE);
	if (n < 0) {
		rc = (int)n;
		goto out_err;
	}
	const uint8_t *b = r->buf + r->start;
	if (n < TT_FMT_PREAMBLE_SIZE || memcmp(b, TT_FMT_MAGIC, TT_FMT_MAGIC_LEN) ||
	    tt_get32(b + 12) != TT_FMT_BOM) {
		rc = tt_fmt_rd_fail(r, -EINVAL, "not a tcptop capture");
		goto out_err;
	}
	r->hdr.version_major = tt_get16(b + 8);
	r->hdr.version_minor = tt_get16(b + 10);
	if (r->hdr.version_major != TT_FMT_VERSION_MAJOR) {
		rc = tt_fmt_rd_fail(
		    r, -EPROTONOSUPPORT,
		    "capture format version %u.%u is not supported (this reader reads %u.x)",
		    r->hdr.version_major, r->hdr.version_minor, TT_FMT_VERSION_MAJOR);
		goto out_err;
	}
	tt_fmt_rd_consume(r, TT_FMT_PREAMBLE_SIZE);

	uint16_t type;
	uint32_t plen;
	const char *why = NULL;
	rc = tt_fmt_rd_check_block(r, &type, &plen, &why);
	if (rc < 0)
		goto out_err;
	if (!rc || type != TT_BLK_HEADER ||
	    parse_header(r, r->buf + r->start + TT_BLK_HDR_SIZE, plen)) {
		rc = tt_fmt_rd_fail(r, -EIO, "damaged capture header");
		goto out_err;
	}
	r->unk.hdr_tags = unknown_tags(r->buf + r->start + TT_BLK_HDR_SIZE, plen, TT_H_NEXT);
	tt_fmt_rd_consume(r, plen + TT_BLK_OVERHEAD);
	r->data_off = r->off;
	*out = r;
	return 0;
out_err:
	snprintf(err, errlen, "%s", r->errmsg);
	tt_fmt_reader_close(r);
	return rc;
}

int tt_fmt_reader_open(struct tt_fmt_reader **out, const char *path, char *err, size_t errlen)
{
	int fd;

	*out = NULL;
	if (!strcmp(path, "-"))
		return tt_fmt_reader_open_fd(out, fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3), "stdin",
					     err, errlen);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return tt_fmt_reader_open_fd(out, fd, path, err, errlen);
}

void tt_fmt_reader_close(struct tt_fmt_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	free(r->buf);
	free(r->raw);
	free(r->idx);
	free(r);
}

void tt_fmt_reader_set_warn(struct tt_fmt_reader *r, tt_fmt_warn_fn fn, void *ctx)
{
	r->warn_fn = fn;
	r->warn_ctx = ctx;
}

int tt_fmt_reader_writing(struct tt_fmt_reader *r)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

	/* tested, not taken: a reader never stands in a writer's way */
	if (!r->seekable || fcntl(r->fd, F_OFD_GETLK, &fl) < 0)
		return 0;
	return fl.l_type == F_WRLCK;
}

void tt_fmt_reader_set_follow(struct tt_fmt_reader *r, int on)
{
	r->follow = on && r->seekable;
	if (!r->follow) {
		r->eof = 0; /* what came since is read, then the end is taken as it is */
		r->done = 0;
	}
}

void tt_fmt_reader_set_size(struct tt_fmt_reader *r, uint64_t size)
{
	if (!r->seekable || !size)
		return;
	r->limit = size;
	/* what open read ahead past it is not there */
	if (r->off + r->len > size) {
		r->len = size > r->off ? (size_t)(size - r->off) : 0;
		r->eof = 0;
	}
}

const struct tt_fmt_header *tt_fmt_reader_header(const struct tt_fmt_reader *r)
{
	return &r->hdr;
}

unsigned tt_fmt_reader_warnings(const struct tt_fmt_reader *r)
{
	return r->n_warn;
}

const char *tt_fmt_reader_last_warning(const struct tt_fmt_reader *r)
{
	return r->n_warn ? r->warnmsg : "";
}

const char *tt_fmt_reader_error(const struct tt_fmt_reader *r)
{
	return r->errmsg;
}
