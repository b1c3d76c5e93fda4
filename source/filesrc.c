// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A capture file as a live source (tt_source "file:PATH"): its events come out at the pace
 * they were recorded, in wall time moved so that the first event happens now (the handle's
 * to_wall is that shift; the header's clock offset is moved with it), so that tcptop shows a
 * capture as it happened and tcptop-record records it again (rotated, as a flight recorder) exactly
 * as it would the kernel. It does not filter: tcptop's table does, and tcptop-record refuses
 * filters with it (tcptop-replay -o cuts a capture by filter). What the file's recorder lacked
 * stays said; its STATS events describe that recording, not this one, and are left out. At the end
 * of the file, poll returns -ENODATA. (tcptop-replay, with pause, seek and speed, is the tool for
 * reading one.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_fmt.h"
#include "tt_util.h"
#include "source_int.h"

struct tt_filesrc {
	struct tt_fmt_reader *r;
	struct tt_fmt_header hdr;
	struct tt_event next; /* read ahead, not yet due */
	int have_next, eof;
	uint64_t first_wall, start_mono; /* the pace: event wall time against our clock */
	uint64_t open_wall;		 /* wall time at start_mono */
	int64_t shift;			 /* recorded wall time + shift = now, as played */
	char probes[600], warning[256];
};

static void file_close(struct tt_source *h);
static const struct tt_source_ops file_ops;

int tt_filesrc_open(struct tt_source *h, char *err, size_t errlen)
{
	const char *path = h->opts.source_path;
	struct tt_filesrc *f;
	int ret;

	if (h->opts.raw) {
		snprintf(err, errlen, "--raw is how a recorder records, not a capture's choice");
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = tt_fmt_reader_open(&f->r, path, err, errlen);
	if (ret) {
		free(f);
		return ret;
	}
	h->priv = f;
	h->ops = &file_ops;
	f->hdr = *tt_fmt_reader_header(f->r);
	snprintf(f->probes, sizeof(f->probes), "file:%s", path);
	if (f->hdr.missing[0])
		snprintf(f->warning, sizeof(f->warning), "recorded without some capabilities");
	/* the first event now: it starts the pace, and the capture is played as if happening now */
	ret = tt_fmt_reader_next(f->r, &f->next);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, tt_fmt_reader_error(f->r));
		file_close(h);
		return ret;
	}
	f->have_next = ret == 1;
	f->eof = ret == 0;
	f->first_wall = f->have_next ? f->next.ts_ns : 0;
	f->open_wall = tt_now_wall_ns();
	f->start_mono = tt_now_mono_ns();
	f->shift = f->have_next ? (int64_t)(f->open_wall - f->first_wall) : 0;
	h->to_wall = f->shift; /* what tt_source_emit() adds: the reader gave wall time */
	return 0;
}

/* Events due by now, at the recorded pace; -ENODATA once the capture has ended. */
static int file_poll(struct tt_source *h, int timeout_ms)
{
	struct tt_filesrc *f = h->priv;
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;

	for (;;) {
		uint64_t now = tt_now_mono_ns();
		int ret;

		if (!f->have_next && !f->eof) {
			ret = tt_fmt_reader_next(f->r, &f->next);
			if (ret < 0)
				return ret;
			f->eof = ret == 0;
			f->have_next = ret == 1;
		}
		if (f->eof)
			return -ENODATA;
		/* due when as much time has passed here as between the first event and this one */
		if (f->next.ts_ns - f->first_wall <= now - f->start_mono) {
			struct tt_event ev = f->next;

			f->have_next = 0;
			if (ev.kind == TT_EV_STATS)
				continue;
			if (tt_source_emit(h, &ev))
				return 0; /* refused: kept by the handle, offered first next time */
			continue;
		}
		if (now >= end)
			return 0;
		{
			uint64_t due = f->start_mono + (f->next.ts_ns - f->first_wall);
			uint64_t ns = (due < end ? due : end) - now;
			struct timespec ts = {.tv_sec = ns / 1000000000,
					      .tv_nsec = ns % 1000000000};

			if (nanosleep(&ts, NULL) && errno == EINTR)
				return -EINTR;
		}
	}
}

static int file_flush(struct tt_source *h)
{
	(void)h;
	return 0; /* nothing is held back: what is not due yet had not happened */
}

static const char *file_mode(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->hdr.mode;
}

static const char *file_probes(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->hdr.probes[0] ? f->hdr.probes : f->probes;
}

static const char *file_missing(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->hdr.missing[0] ? f->hdr.missing : NULL;
}

static const char *file_warning(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->warning[0] ? f->warning : NULL;
}

static void file_print_missing(const struct tt_source *h, const char *prog, FILE *out)
{
	const struct tt_filesrc *f = h->priv;

	if (f->hdr.missing[0])
		fprintf(out, "%s: warning: the capture was recorded without: %s\n", prog,
			f->hdr.missing);
}

static void file_print_check(const struct tt_source *h, FILE *out)
{
	const struct tt_filesrc *f = h->priv;

	fprintf(out, "%-15s %-10s %s\n", "capture", "ok", f->probes);
	fprintf(out, "%-15s %-10s %s\n", "recorded-with", f->hdr.missing[0] ? "MISSING" : "ok",
		f->hdr.missing[0] ? f->hdr.missing : f->hdr.probes);
}

static int64_t file_clock_offset(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->hdr.clock_offset_ns + f->shift;
}

/* The moment of the playing, on the pace's clock: the events due by now are those before it. */
static uint64_t file_now(const struct tt_source *h)
{
	const struct tt_filesrc *f = h->priv;

	return f->open_wall + (tt_now_mono_ns() - f->start_mono);
}

static void file_close(struct tt_source *h)
{
	struct tt_filesrc *f = h->priv;

	if (!f)
		return;
	tt_fmt_reader_close(f->r);
	free(f);
	h->priv = NULL;
}

static const struct tt_source_ops file_ops = {
    .poll = file_poll,
    .flush = file_flush,
    .mode = file_mode,
    .probes = file_probes,
    .missing = file_missing,
    .warning = file_warning,
    .print_missing = file_print_missing,
    .print_check = file_print_check,
    .clock_offset = file_clock_offset,
    .now = file_now,
    .close = file_close,
};
