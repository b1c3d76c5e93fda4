// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A capture file as a live source (tt_source "file:PATH"): its events come out at the pace
 * they were recorded, in the event clock of the recording, the clock offset moved so that the
 * first event happens now, so that tcptop shows a capture as it happened and tcptop-record records
 * it again (rotated, as a flight recorder) exactly as it would the kernel. It does not filter:
 * tcptop's table does, and tcptop-record refuses filters with it (tcptop-replay -o cuts a capture
 * by filter). What the file's recorder lacked stays said; its STATS events describe that recording,
 * not this one, and are left out. At the end of the file, poll returns -ENODATA. (tcptop-replay,
 * with pause, seek and speed, is the tool for reading one.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_fmt.h"
#include "tt_util.h"
#include "filesrc.h"

struct tt_filesrc {
	struct tt_fmt_reader *r;
	struct tt_fmt_header hdr;
	struct tt_src_stats stats;
	struct tt_event next; /* read ahead, not yet due */
	int have_next, eof;
	uint64_t first_wall, start_mono; /* the pace: event wall time against our clock */
	int64_t shift;			 /* recorded wall time + shift = now, as played */
	char probes[600], warning[256];
};

int tt_filesrc_open(struct tt_filesrc **out, const char *path, const struct tt_src_opts *o,
		    char *err, size_t errlen)
{
	struct tt_filesrc *f;
	int ret;

	*out = NULL;
	if (o->raw) {
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
	f->hdr = *tt_fmt_reader_header(f->r);
	snprintf(f->probes, sizeof(f->probes), "file:%s", path);
	if (f->hdr.missing[0])
		snprintf(f->warning, sizeof(f->warning), "recorded without some capabilities");
	/* the first event now: it starts the pace, and the capture is played as if happening now */
	ret = tt_fmt_reader_next(f->r, &f->next);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, tt_fmt_reader_error(f->r));
		tt_filesrc_close(f);
		return ret;
	}
	f->have_next = ret == 1;
	f->eof = ret == 0;
	f->first_wall = f->have_next ? f->next.ts_ns : 0;
	f->shift = f->have_next ? (int64_t)(tt_now_wall_ns() - f->first_wall) : 0;
	f->start_mono = tt_now_mono_ns();
	*out = f;
	return 0;
}

int tt_filesrc_poll(struct tt_filesrc *f, int timeout_ms, tt_src_cb cb, void *ctx)
{
	uint64_t end = tt_now_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	int n = 0;

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
			return n ? n : -ENODATA;
		/* due when as much time has passed here as between the first event and this one */
		if (f->next.ts_ns - f->first_wall <= now - f->start_mono) {
			struct tt_event ev = f->next;

			f->have_next = 0;
			if (ev.kind == TT_EV_STATS)
				continue;
			/* back to the recording's event clock, as a live source gives it */
			ev.ts_ns = (uint64_t)((int64_t)ev.ts_ns - f->hdr.clock_offset_ns);
			ret = cb ? cb(ctx, &ev) : 0;
			if (ret) {
				f->next = ev; /* offered again at the next poll */
				f->next.ts_ns =
				    (uint64_t)((int64_t)ev.ts_ns + f->hdr.clock_offset_ns);
				f->have_next = 1;
				return ret;
			}
			f->stats.events++;
			if (ev.kind == TT_EV_CONN_OPEN)
				f->stats.conns++;
			else if (ev.kind == TT_EV_LOST)
				f->stats.lost += ev.u.lost.count;
			n++;
			continue;
		}
		if (now >= end)
			return n;
		{
			uint64_t due = f->start_mono + (f->next.ts_ns - f->first_wall);
			uint64_t ns = (due < end ? due : end) - now;
			struct timespec ts = {.tv_sec = ns / 1000000000,
					      .tv_nsec = ns % 1000000000};

			if (nanosleep(&ts, NULL) && errno == EINTR)
				return n ? n : -EINTR;
		}
	}
}

int tt_filesrc_flush(struct tt_filesrc *f, tt_src_cb cb, void *ctx)
{
	(void)f;
	(void)cb;
	(void)ctx;
	return 0; /* nothing is held back: what is not due yet had not happened */
}

const char *tt_filesrc_mode(const struct tt_filesrc *f)
{
	return f->hdr.mode;
}

const char *tt_filesrc_probes(const struct tt_filesrc *f)
{
	return f->hdr.probes[0] ? f->hdr.probes : f->probes;
}

const char *tt_filesrc_missing(const struct tt_filesrc *f)
{
	return f->hdr.missing[0] ? f->hdr.missing : NULL;
}

const char *tt_filesrc_warning(const struct tt_filesrc *f)
{
	return f->warning[0] ? f->warning : NULL;
}

void tt_filesrc_print_missing(const struct tt_filesrc *f, const char *prog, FILE *out)
{
	if (f->hdr.missing[0])
		fprintf(out, "%s: warning: the capture was recorded without: %s\n", prog,
			f->hdr.missing);
}

void tt_filesrc_print_check(const struct tt_filesrc *f, FILE *out)
{
	fprintf(out, "%-15s %-10s %s\n", "capture", "ok", f->probes);
	fprintf(out, "%-15s %-10s %s\n", "recorded-with", f->hdr.missing[0] ? "MISSING" : "ok",
		f->hdr.missing[0] ? f->hdr.missing : f->hdr.probes);
}

int64_t tt_filesrc_clock_offset(const struct tt_filesrc *f)
{
	return f->hdr.clock_offset_ns + f->shift;
}

/* Wall time now less the offset: the recording's clock at this moment of its replaying. */
int64_t tt_filesrc_boot_shift(const struct tt_filesrc *f)
{
	return tt_boot_to_wall_ns() - tt_filesrc_clock_offset(f);
}

void tt_filesrc_stats(const struct tt_filesrc *f, struct tt_src_stats *st)
{
	*st = f->stats;
}

void tt_filesrc_close(struct tt_filesrc *f)
{
	if (!f)
		return;
	tt_fmt_reader_close(f->r);
	free(f);
}
