/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Private to format/: the reader's handle, shared by the streaming reader (reader.c) and
 * random access (seek.c), and what seek.c needs of the stream: the input window, one block's
 * check and load, and skipping events of the loaded block.
 */
#ifndef TT_FMT_READER_INT_H
#define TT_FMT_READER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zstd.h>

#include "tt_fmt.h"
#include "fmt_priv.h"

#define RBUF_INITIAL (1u << 20)
#define RBUF_MIN (16u << 10)

struct stream {
	const uint8_t *p, *end;
};

struct tt_fmt_reader {
	int fd;
	int seekable;
	char name[128];
	struct tt_fmt_header hdr;
	uint64_t data_off; /* first block after the header */
	ZSTD_DCtx *dctx;

	/* Input window: buf[start, start + len) is the file at offset off. */
	uint8_t *buf;
	size_t cap, start, len;
	uint64_t off;
	int eof;

	/* The current EVENTS block. */
	uint8_t *raw;
	size_t raw_cap;
	uint64_t blk_off;
	uint32_t blk_count, blk_idx;
	uint64_t prev_ts, prev_conn;
	uint32_t prev_pid;
	struct stream s[TT_NSTREAMS];

	/* Damage being skipped: where it began and why. */
	int damaged;
	uint64_t damage_off;
	const char *damage_why;
	int saw_end, done;
	int follow;	/* tt_fmt_reader_set_follow(): the end of the data is not the end */
	uint64_t limit; /* tt_fmt_reader_set_size(): read no further, a capture being written */

	/* Block index from the file (loaded on first use; -1 = none). */
	int idx_state;
	uint8_t *idx;
	uint32_t n_idx;

	/* What a newer minor version added that this reader skipped: one warning at the end. */
	struct {
		uint64_t hdr_tags, end_tags, blocks, kinds, fields, streams;
		int warned;
	} unk;

	tt_fmt_warn_fn warn_fn;
	void *warn_ctx;
	unsigned n_warn;
	char warnmsg[512];
	char errmsg[256];
};

/* Sets the error text ("name: ...") and gives err back. */
int tt_fmt_rd_fail(struct tt_fmt_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pread until n bytes or the end of the file: the count, or -1 with errno. */
ssize_t tt_fmt_rd_pread_full(int fd, void *p, size_t n, uint64_t off);
/* The input window: drop n bytes from its front; or empty it to read from off next. */
void tt_fmt_rd_consume(struct tt_fmt_reader *r, size_t n);
void tt_fmt_rd_reposition(struct tt_fmt_reader *r, uint64_t off);
/* The block at the window's start: 1 whole and valid, 0 not (*why), <0 I/O error. */
int tt_fmt_rd_check_block(struct tt_fmt_reader *r, uint16_t *type, uint32_t *plen,
			  const char **why);
/* Decompresses an EVENTS payload and sets up its streams: NULL, or why not. */
const char *tt_fmt_rd_load_events(struct tt_fmt_reader *r, const uint8_t *pl, uint32_t plen);
/* Decodes the loaded block's events up to its index-th: 0, or -1 malformed. */
int tt_fmt_rd_skip(struct tt_fmt_reader *r, uint32_t index);

#endif
