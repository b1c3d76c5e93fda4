// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What tcptop-record's files hold: one capture file, a rotation of files
 * (-C/-G/-W), or a flight recorder held in memory (--flight). Every file is a
 * complete capture: header, CONN_OPEN of the connections already open, the
 * events, a STATS event, the end block. Where the files go (names, creation,
 * the -W ring) is files.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_fmt.h"
#include "tt_kind.h"
#include "tt_util.h"
#include "conntab.h"
#include "files.h"
#include "flight.h"
#include "tt_rec.h"

#define FLIGHT_MAX_BYTES (256u << 20)

struct tt_rec {
	struct tt_rec_opts o;
	struct tt_source *src;
	struct tt_fmt_header hdr;
	struct tt_fmt_writer *w;
	struct tt_rec_files *files;
	unsigned file_no;    /* files begun so far */
	char cur_path[4096]; /* the file being written, for messages */
	int cur_dup;	     /* the writer's fd, dup'ed: where it ended is the file's size */
	uint64_t file_start; /* CLOCK_MONOTONIC when the current file began */
	uint64_t begun_wall; /* wall clock at tt_rec_new, before the source stamps any event */
	/*
	 * The connections open: after the last event written, or with --flight after the last
	 * event the flight ring forgot, so that a dump begins with every connection the events
	 * it holds are about, closed since or not.
	 */
	struct tt_rec_conntab *conns;
	struct tt_rec_flight *flight;
	uint64_t bytes_done; /* bytes of files already closed */
	uint64_t start_mono, end_mono;
	int failed;
	char err[1024];
};

static void fail(struct tt_rec *r, int e, const char *what)
{
	if (r->failed)
		return;
	r->failed = e ? e : -EIO;
	snprintf(r->err, sizeof(r->err), "%s", what);
}

/* A write error of the current file: name it, and say what is left. */
static void fail_write(struct tt_rec *r, int e, const char *what)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%.700s: %.200s%s",
		 strcmp(r->cur_path, "-") ? r->cur_path : "stdout", what,
		 e == -ENOSPC ? " (stopped; the capture is readable up to its last complete block)"
			      : "");
	fail(r, e, msg);
}

/* An event aged out of the flight ring: the table follows it, as it follows a written one. */
static void flight_forget(void *ctx, const struct tt_event *ev)
{
	struct tt_rec *r = ctx;

	if (tt_rec_conntab_apply(r->conns, ev))
		fail(r, -ENOMEM, "out of memory");
}

int tt_rec_new(struct tt_rec **out, const struct tt_rec_opts *o, char *err, size_t errlen)
{
	struct tt_rec *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	r->cur_dup = -1;
	r->begun_wall = tt_now_wall_ns();
	ret = tt_rec_conntab_new(&r->conns);
	if (!ret && o->flight_ns)
		ret = tt_rec_flight_new(&r->flight, o->flight_ns, FLIGHT_MAX_BYTES);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		tt_rec_free(r);
		return ret;
	}
	if (r->flight)
		tt_rec_flight_on_forget(r->flight, flight_forget, r);
	snprintf(r->cur_path, sizeof(r->cur_path), "%s", o->path);
	ret = tt_rec_files_new(&r->files, o, err, errlen);
	if (ret) {
		tt_rec_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void tt_rec_abort(struct tt_rec *r)
{
	if (!r)
		return;
	tt_rec_files_abort(r->files, r->w != NULL);
	tt_rec_free(r);
}

static int add(struct tt_rec *r, const struct tt_event *ev)
{
	int ret = tt_fmt_writer_add(r->w, ev);

	if (ret)
		fail_write(r, ret, tt_fmt_writer_error(r->w));
	return ret;
}

/* A connection's CONN_OPEN repeated at the top of a new file, at ts: open before the file began. */
static int add_open_at(struct tt_rec *r, const struct tt_event *open, uint64_t ts)
{
	struct tt_event ev = *open;

	ev.flags |= TT_F_PREEXISTING;
	ev.ts_ns = ts;
	return add(r, &ev);
}

/* Now in the events' time (wall): what the recorder stamps itself is in order with them. */
static uint64_t event_now(const struct tt_rec *r)
{
	return r->src ? tt_source_now(r->src) : tt_now_wall_ns(); /* (finished unstarted) */
}

static int add_open_again(void *ctx, const struct tt_event *open)
{
	return add_open_at(ctx, open, event_now(ctx));
}

/*
 * -C: blocks of at most 1/16 of the size (at 1.5 to 10 bytes an event), so
 * that a file ends within about a block of it; rotation is checked per block.
 */
static void size_opts(const struct tt_rec *r, struct tt_fmt_wopts *wo)
{
	uint64_t n = r->o.rotate_bytes / 16;

	if (!r->o.rotate_bytes || n >= 65536)
		return;
	wo->block_events = n < 256 ? 256 : (uint32_t)n;
}

/* Begin file number r->file_no on fd (or a new file when fd < 0). */
static int begin_file(struct tt_rec *r, int fd)
{
	struct tt_fmt_wopts wo = {0};
	char err[1024];
	int ret;

	if (fd < 0) {
		fd = tt_rec_files_open(r->files, r->file_no, r->cur_path, sizeof(r->cur_path), err,
				       sizeof(err));
		if (fd < 0) {
			fail(r, fd, err);
			return fd;
		}
	}
	/*
	 * The first file starts when the recording did: the source, opened after us, stamps
	 * events (the names of the sweep at start) before tt_rec_start() begins the file.
	 */
	r->hdr.start_ns = r->file_no ? tt_now_wall_ns() : r->begun_wall;
	size_opts(r, &wo);
	r->cur_dup = dup(fd);
	ret = tt_fmt_writer_open_fd(&r->w, fd, &r->hdr, &wo, err, sizeof(err));
	if (ret) {
		fail_write(r, ret, err);
		return ret;
	}
	r->file_no++;
	r->file_start = tt_now_mono_ns();
	if (r->file_no > 1 || r->flight)
		return tt_rec_conntab_foreach(r->conns, add_open_again, r);
	return 0;
}

/* What the source delivered so far: its stats are the one count (none before the start). */
static void source_stats(const struct tt_rec *r, struct tt_source_stat *st)
{
	memset(st, 0, sizeof(*st));
	if (r->src)
		tt_source_stats(r->src, st);
}

static void stats_event(struct tt_rec *r, struct tt_event *ev)
{
	struct tt_source_stat st;

	source_stats(r, &st);
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = event_now(r);
	ev->kind = TT_EV_STATS;
	ev->u.stats.events = st.events;
	ev->u.stats.lost = st.lost;
	ev->u.stats.conns = st.conns;
	ev->u.stats.bytes_out = r->bytes_done + (r->w ? tt_fmt_writer_bytes(r->w) : 0);
}

static int end_file(struct tt_rec *r)
{
	struct tt_event ev;
	int ret;

	if (!r->w)
		return 0;
	stats_event(r, &ev);
	if (!add(r, &ev) && (ret = tt_fmt_writer_flush(r->w)))
		fail_write(r, ret, tt_fmt_writer_error(r->w));
	ret = tt_fmt_writer_close(r->w);
	r->w = NULL;
	if (ret) {
		char msg[300];

		snprintf(msg, sizeof(msg), "closing: %s", strerror(-ret));
		fail_write(r, ret, msg);
	}
	return ret;
}

/*
 * The writer adds the last block, the index and the end block at close, and
 * is gone then: the file's size is where the fd's offset ended (a pipe has
 * none: the count before the close, short of those last blocks).
 */
static int finish_file(struct tt_rec *r)
{
	uint64_t bytes;
	off_t end;
	int ret;

	if (!r->w)
		return 0;
	bytes = tt_fmt_writer_bytes(r->w);
	ret = end_file(r);
	if (r->cur_dup >= 0) {
		end = lseek(r->cur_dup, 0, SEEK_CUR);
		if (end > 0)
			bytes = (uint64_t)end;
		close(r->cur_dup);
		r->cur_dup = -1;
	}
	r->bytes_done += bytes;
	return ret;
}

int tt_rec_start(struct tt_rec *r, struct tt_source *src, char *err, size_t errlen)
{
	r->src = src;
	memset(&r->hdr, 0, sizeof(r->hdr));
	tt_header_fill_host(&r->hdr);
	snprintf(r->hdr.tool_version, sizeof(r->hdr.tool_version), "%s", TT_VERSION);
	snprintf(r->hdr.mode, sizeof(r->hdr.mode), "%s", tt_source_mode(src));
	r->hdr.coalesce_ms = r->o.src.raw ? 0
					  : (r->o.src.coalesce_ms ? r->o.src.coalesce_ms
								  : TT_SOURCE_DEFAULT_COALESCE_MS);
	r->hdr.raw_slice_ns = tt_source_raw_slice_ns(&r->o.src);
	tt_filter_format(&r->o.src.filter, r->hdr.filters, sizeof(r->hdr.filters));
	snprintf(r->hdr.probes, sizeof(r->hdr.probes), "%s", tt_source_probes(src));
	snprintf(r->hdr.missing, sizeof(r->hdr.missing), "%s",
		 tt_source_missing(src) ? tt_source_missing(src) : "");
	r->hdr.clock_offset_ns = tt_source_clock_offset(src); /* the writer stores wall - this */
	snprintf(r->hdr.clock, sizeof(r->hdr.clock), "boottime");
	r->start_mono = tt_now_mono_ns();
	if (r->flight)
		return 0; /* the first file waits for the first dump */
	if (begin_file(r, tt_rec_files_take_first(r->files))) {
		snprintf(err, errlen, "%s", r->err);
		return r->failed;
	}
	return 0;
}

/* Every field of the kind, as the kind table names it: a debugging aid (--dump-events). */
static void dump_line(const struct tt_event *ev)
{
	const struct tt_kind *k = tt_kind_get(ev->kind);
	char a[64];

	fprintf(stderr, "%llu %s id=%llx pid=%u flags=%x", (unsigned long long)ev->ts_ns,
		tt_fmt_kind_name(ev->kind), (unsigned long long)ev->conn_id, ev->pid, ev->flags);
	for (unsigned i = 0; k && i < k->n_fields; i++) {
		const struct tt_kind_field *f = &k->fields[i];
		const uint8_t *p = (const uint8_t *)ev + f->off;

		if (f->type == TT_KT_ADDR) {
			tt_addr_str(*((const uint8_t *)ev + f->family_off), p, a, sizeof(a));
			fprintf(stderr, " %s=%s", f->name, a);
		} else if (f->type == TT_KT_COMM || f->type == TT_KT_NAME) {
			fprintf(stderr, " %s=%.*s", f->name,
				f->type == TT_KT_COMM ? TT_COMM_LEN : TT_NAME_LEN, (const char *)p);
		} else if (f->type == TT_KT_S32) {
			fprintf(stderr, " %s=%d", f->name, (int32_t)tt_kind_uint(ev, f));
		} else {
			fprintf(stderr, " %s=%" PRIu64, f->name, tt_kind_uint(ev, f));
		}
	}
	fputc('\n', stderr);
}

/*
 * The next file is made before this one gets its end block, so that a reader following the
 * set (tcptop-replay --follow) finds it there once it reads that end block: it need not wait
 * to tell a rotation from the end of the recording. Not with -W 1, where the next file is
 * this one.
 */
static void rotate(struct tt_rec *r)
{
	char err[1024], next[sizeof(r->cur_path)];
	int fd;

	if (r->o.max_files == 1) {
		if (!finish_file(r))
			begin_file(r, -1);
		return;
	}
	fd = tt_rec_files_open(r->files, r->file_no, next, sizeof(next), err, sizeof(err));
	tt_rec_files_share_like(r->cur_dup, fd);
	if (finish_file(r)) {
		if (fd >= 0) {
			close(fd);
			tt_rec_files_unmake(r->files, next);
		}
		return;
	}
	snprintf(r->cur_path, sizeof(r->cur_path), "%s", next);
	if (fd < 0)
		fail(r, fd, err);
	else
		begin_file(r, fd);
}

int tt_rec_event(void *ctx, const struct tt_event *ev)
{
	struct tt_rec *r = ctx;

	if (r->failed)
		return r->failed;
	if (r->o.dump)
		dump_line(ev);
	if (r->flight) {
		/* the table follows what the ring forgets (flight_forget) */
		tt_rec_flight_push(r->flight, ev);
		return r->failed;
	}
	if (tt_rec_conntab_apply(r->conns, ev))
		fail(r, -ENOMEM, "out of memory");
	if (add(r, ev))
		return r->failed;
	/* a block was written by itself: -C is not left for the next tick */
	if (r->o.rotate_bytes && tt_fmt_writer_bytes(r->w) >= r->o.rotate_bytes)
		rotate(r);
	return r->failed;
}

void tt_rec_tick(struct tt_rec *r)
{
	int ret;

	if (r->failed || !r->w)
		return;
	ret = tt_fmt_writer_flush(r->w);
	if (ret) {
		fail_write(r, ret, tt_fmt_writer_error(r->w));
		return;
	}
	if ((r->o.rotate_bytes && tt_fmt_writer_bytes(r->w) >= r->o.rotate_bytes) ||
	    (r->o.rotate_ns && tt_now_mono_ns() - r->file_start >= r->o.rotate_ns))
		rotate(r);
}

static int add_held(void *ctx, const struct tt_event *ev)
{
	return add(ctx, ev);
}

struct held_open {
	struct tt_rec *r;
	uint64_t start; /* the earliest time held (CPUs' events come nearly in order) */
};

static int earliest(void *ctx, const struct tt_event *ev)
{
	struct held_open *h = ctx;

	if (ev->ts_ns < h->start)
		h->start = ev->ts_ns;
	return 0;
}

/*
 * Connections open before the oldest event held (the table follows the events the ring forgot:
 * those closed inside the window too): their CONN_OPEN is not in memory any more. It goes
 * first, at the start of the window held, never later than the connection's events: stamped
 * at the dump, it made the file's first event its newest, and a replay of the dump one instant
 * with every byte of the window in it.
 */
static int add_open_older(void *ctx, const struct tt_event *open)
{
	struct held_open *h = ctx;

	return add_open_at(h->r, open, h->start != UINT64_MAX ? h->start : event_now(h->r));
}

void tt_rec_dump(struct tt_rec *r)
{
	struct tt_fmt_wopts wo = {0};
	struct held_open h = {r, UINT64_MAX};
	char err[1024];
	int fd, ret;

	if (!r->flight || r->failed)
		return;
	fd = tt_rec_files_take_first(r->files);
	if (fd < 0) {
		fd = tt_rec_files_open(r->files, r->file_no, r->cur_path, sizeof(r->cur_path), err,
				       sizeof(err));
		if (fd < 0) {
			fail(r, fd, err);
			return;
		}
	}
	tt_rec_flight_foreach(r->flight, earliest, &h);
	/* A dump starts where the window it holds does, not at the dump: its events are older. */
	r->hdr.start_ns = tt_now_wall_ns();
	if (h.start < r->hdr.start_ns)
		r->hdr.start_ns = h.start;
	r->cur_dup = dup(fd);
	ret = tt_fmt_writer_open_fd(&r->w, fd, &r->hdr, &wo, err, sizeof(err));
	if (ret) {
		fail_write(r, ret, err);
		return;
	}
	r->file_no++;
	if (!tt_rec_conntab_foreach(r->conns, add_open_older, &h))
		tt_rec_flight_foreach(r->flight, add_held, r);
	finish_file(r);
}

int tt_rec_failed(const struct tt_rec *r)
{
	return r->failed;
}

/*
 * Ring files held open and never reached: removed when USER may, else made
 * empty captures, so that every file there is a complete capture.
 */
static void ring_finish(struct tt_rec *r)
{
	tt_rec_files_remove_unused(r->files);
	for (unsigned k = tt_rec_files_next_unused(r->files, 1); k && !r->failed;
	     k = tt_rec_files_next_unused(r->files, k + 1)) {
		r->file_no = k; /* tt_rec_files_open() takes slot k */
		if (begin_file(r, -1) == 0)
			finish_file(r);
	}
}

int tt_rec_finish(struct tt_rec *r, char *err, size_t errlen)
{
	unsigned files;

	r->end_mono = tt_now_mono_ns();
	if (r->flight && r->src)
		tt_rec_dump(r);
	else
		finish_file(r);
	files = r->file_no;
	if (files < r->o.max_files) {
		ring_finish(r); /* the -W ring's files not reached */
		r->file_no = files;
	}
	if (r->failed)
		snprintf(err, errlen, "%s", r->err[0] ? r->err : "writing the capture failed");
	return r->failed;
}

void tt_rec_print_stats(const struct tt_rec *r, FILE *f)
{
	double secs = r->end_mono > r->start_mono ? (r->end_mono - r->start_mono) / 1e9 : 0;
	struct tt_source_stat st;

	source_stats(r, &st);
	fprintf(f,
		"%" PRIu64 " events, %" PRIu64 " connections, %" PRIu64
		" bytes written (%.2f bytes/event), %" PRIu64 " lost, %.1f s, %u file%s\n",
		st.events, st.conns, r->bytes_done,
		st.events ? (double)r->bytes_done / st.events : 0.0, st.lost, secs, r->file_no,
		r->file_no == 1 ? "" : "s");
	if (st.closes_inferred)
		fprintf(f,
			"%" PRIu64
			" connection%s closed with no close from the kernel: closed when a "
			"sampling pass found the socket gone\n",
			st.closes_inferred, st.closes_inferred == 1 ? "" : "s");
	if (r->flight && tt_rec_flight_dropped(r->flight))
		fprintf(f, "flight recorder memory full: %" PRIu64 " events forgotten early\n",
			tt_rec_flight_dropped(r->flight));
}

void tt_rec_free(struct tt_rec *r)
{
	if (!r)
		return;
	if (r->w)
		tt_fmt_writer_close(r->w);
	if (r->cur_dup >= 0)
		close(r->cur_dup);
	tt_rec_files_free(r->files);
	tt_rec_conntab_free(r->conns);
	tt_rec_flight_free(r->flight);
	free(r);
}
