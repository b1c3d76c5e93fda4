/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_fmt: the capture file format (.tt). This module is the only code that
 * knows the byte layout; docs/FORMAT.md is its specification.
 *
 * Conventions (as in zstd.h / pcap.h): opaque handles with open/close pairs,
 * close/free accept NULL, functions return 0 or a positive count on success
 * and a negative errno on failure, with a one-line message in the caller's
 * err buffer (open) or from tt_fmt_*_error() (later calls).
 */
#ifndef TT_FMT_H
#define TT_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

#define TT_FMT_VERSION_MAJOR 1
#define TT_FMT_VERSION_MINOR 1

/* Strings are NUL-terminated and silently truncated to fit. */
struct tt_fmt_header {
	uint16_t version_major; /* filled by the writer / reported by the reader */
	uint16_t version_minor;
	char hostname[256];
	char kernel[128];      /* uname -r */
	char boot_id[40];      /* /proc/sys/kernel/random/boot_id */
	char tool_version[32]; /* tcptop version that wrote the file */
	char mode[16];	       /* "coalesce", "raw", or another source's name */
	uint32_t coalesce_ms;  /* coalescing interval in "coalesce" mode, else 0 */
	char filters[512]; /* the filters in force, as text ("port=80 comm=nginx"), "" for none */
	char probes[512];  /* attach points in use, e.g. "tp_btf:sock/sock_send_length ..." */
	/* wall clock ns since the epoch = event clock ns + clock_offset_ns */
	int64_t clock_offset_ns;
	char clock[16];	   /* name of the event clock: "boottime" */
	uint64_t start_ns; /* wall clock ns when the capture began */
	/* capabilities the recorder lacked: "name (why): what the data lacks; ...", "" for none */
	char missing[1024];
	/* "raw" mode: a socket's TCP calls summed per this many ns, 0: one event per call */
	uint64_t raw_slice_ns;
};

/* ---------------------------------------------------------------- writer */

struct tt_fmt_writer;

struct tt_fmt_wopts {
	int force;	       /* replace an existing file (otherwise -EEXIST) */
	int level;	       /* zstd level, 0 = default (3) */
	uint32_t block_events; /* events per block before it is closed by itself, 0 = default */
};

/*
 * Create PATH (mode 0600 whatever the umask, O_NOFOLLOW, O_EXCL unless
 * opts->force) and write the file header. "-" writes to stdout.
 * Returns 0 and *out, or a negative errno with a message in err.
 */
int tt_fmt_writer_open(struct tt_fmt_writer **out, const char *path,
		       const struct tt_fmt_header *hdr, const struct tt_fmt_wopts *opts, char *err,
		       size_t errlen);

/* Same, on an already open file descriptor (the writer owns it from now on). */
int tt_fmt_writer_open_fd(struct tt_fmt_writer **out, int fd, const struct tt_fmt_header *hdr,
			  const struct tt_fmt_wopts *opts, char *err, size_t errlen);

/*
 * Append one event. ev->ts_ns is wall clock ns since the epoch, as the reader
 * gives it back: the file holds it less the header's clock_offset_ns (in the
 * header's event clock, modulo 2^64). Events are buffered into the current block; a full block is
 * compressed and written. Returns 0 or a negative errno (e.g. -ENOSPC).
 */
int tt_fmt_writer_add(struct tt_fmt_writer *w, const struct tt_event *ev);

/*
 * Close the current block (if it holds events) and write it out. The caller
 * calls this at least once a second so that a kill loses at most that much.
 * Returns 0 or a negative errno.
 */
int tt_fmt_writer_flush(struct tt_fmt_writer *w);

/*
 * Flush, write the end-of-capture block with the block index, close the fd
 * and free. Returns 0 or the first error seen. NULL is accepted.
 */
int tt_fmt_writer_close(struct tt_fmt_writer *w);

/* Bytes written to the file so far, and events added so far. */
uint64_t tt_fmt_writer_bytes(const struct tt_fmt_writer *w);
uint64_t tt_fmt_writer_events(const struct tt_fmt_writer *w);

/* Message of the last error, "" if none. */
const char *tt_fmt_writer_error(const struct tt_fmt_writer *w);

/* ---------------------------------------------------------------- reader */

struct tt_fmt_reader;

/* Called for each warning (truncation, CRC mismatch, skipped block): one line, no newline. */
typedef void (*tt_fmt_warn_fn)(void *ctx, const char *msg);

/*
 * Open a capture ("-" reads stdin) and read its header.
 * Errors: -ENOENT etc. from open, -EINVAL "not a tcptop capture",
 * -EPROTONOSUPPORT for a newer major version, -EIO for a damaged header.
 */
int tt_fmt_reader_open(struct tt_fmt_reader **out, const char *path, char *err, size_t errlen);

/* Read a capture from an open fd (the reader owns it). */
int tt_fmt_reader_open_fd(struct tt_fmt_reader **out, int fd, const char *name, char *err,
			  size_t errlen);

void tt_fmt_reader_close(struct tt_fmt_reader *r);

/* Warnings go to fn (default: none are printed, only counted). */
void tt_fmt_reader_set_warn(struct tt_fmt_reader *r, tt_fmt_warn_fn fn, void *ctx);

const struct tt_fmt_header *tt_fmt_reader_header(const struct tt_fmt_reader *r);

/*
 * Next event, with ev->ts_ns converted to wall clock ns since the epoch.
 * Returns 1 with *ev filled, 0 at the end of the capture (also the end of
 * the readable part of a damaged file, after a warning), or a negative errno
 * for an I/O error. Unknown event kinds and block types are skipped.
 */
int tt_fmt_reader_next(struct tt_fmt_reader *r, struct tt_event *ev);

/*
 * Whether a writer is still writing the capture: tt_fmt_writer holds a lock on the file from
 * its header to its end block (docs/FORMAT.md, "Writer behaviour"). Tested without taking it;
 * 0 for a pipe. While it is held, a last block half written or no end block yet is not
 * reported as damage.
 */
int tt_fmt_reader_writing(struct tt_fmt_reader *r);

/*
 * Follow a capture being written, as tail -f: at the end of what is written so far,
 * tt_fmt_reader_next() returns -EAGAIN (nothing consumed, no warning; a block half written is
 * waited for) and reads on from there when called again. It returns 0 only after the end block.
 * Turned off, the next call reads what came since and takes the end as it is. Files only.
 */
void tt_fmt_reader_set_follow(struct tt_fmt_reader *r, int on);

/*
 * Read only the first size bytes: the capture as it stood then, while it was being written
 * (its unfinished end is not damage). Several readers given one size read the same events
 * however much has been written since (tcptop-query's scans of one live file). Files only.
 */
void tt_fmt_reader_set_size(struct tt_fmt_reader *r, uint64_t size);

/* Number of warnings so far, and the last one ("" if none). */
unsigned tt_fmt_reader_warnings(const struct tt_fmt_reader *r);
const char *tt_fmt_reader_last_warning(const struct tt_fmt_reader *r);

/* Message of the last error, "" if none. */
const char *tt_fmt_reader_error(const struct tt_fmt_reader *r);

/*
 * Positions, for seeking (files only: -ESPIPE on a pipe). A position names
 * the event the next tt_fmt_reader_next() returns.
 */
struct tt_fmt_pos {
	uint64_t block_offset; /* file offset of the block */
	uint32_t index;	       /* event index inside the block */
};

int tt_fmt_reader_tell(const struct tt_fmt_reader *r, struct tt_fmt_pos *pos);
int tt_fmt_reader_seek(struct tt_fmt_reader *r, const struct tt_fmt_pos *pos);

/*
 * Position at the start of the first block that may hold events at or after
 * wall time ts_ns, reading only block headers (and the index block when the
 * file has one). Earlier events in that block are returned too: the caller
 * skips them. Returns 0 or a negative errno.
 */
int tt_fmt_reader_seek_time(struct tt_fmt_reader *r, uint64_t ts_ns);

/* Wall time of the first and last event, from block headers (0 if empty). */
int tt_fmt_reader_time_range(struct tt_fmt_reader *r, uint64_t *first_ns, uint64_t *last_ns);

/* Human name of an event kind ("open", "traffic", ...), "unknown" otherwise. */
const char *tt_fmt_kind_name(unsigned kind);

/*
 * The names the query's columns and the JSON dump give a field's value, one place for both:
 * protocol "tcp"/"udp", open direction "out"/"in", reset "sent"/"received"; NULL when the
 * value has none (unknown direction, a protocol number without a name).
 */
const char *tt_fmt_proto_name(unsigned proto);
const char *tt_fmt_dir_name(unsigned dir);
const char *tt_fmt_rst_dir_name(unsigned dir);
/* A retransmit's cause (TT_RETRANS_*): "unknown", "rto", "fast", "tlp", "syn", "spurious". */
const char *tt_fmt_retrans_cause_name(unsigned cause);
/* A stall's side, "local" / "peer", and phase, "begin" / "end" (TT_STALL_*): "?" for others. */
const char *tt_fmt_stall_side_name(unsigned side);
const char *tt_fmt_stall_phase_name(unsigned phase);
/* 'refused', 'timeout', ... for TT_FAIL_*; NULL for TT_FAIL_NONE and unknown numbers */
const char *tt_fmt_fail_reason_name(unsigned reason);

#endif /* TT_FMT_H */
