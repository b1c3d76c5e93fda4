// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where tcptop-record's events go: one capture file, a rotation of files
 * (-C/-G/-W), or a flight recorder held in memory (--flight). Every file is a
 * complete capture: header, CONN_OPEN of the connections already open, the
 * events, a STATS event, the end block.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tt_fmt.h"
#include "tt_kind.h"
#include "tt_util.h"
#include "conntab.h"
#include "flight.h"
#include "tt_rec.h"

#define FLIGHT_MAX_BYTES (256u << 20)
#define RING_PREOPEN_MAX 256 /* -Z with -W: files held open from the start */

struct tt_rec {
	struct tt_rec_opts o;
	struct tt_source *src;
	struct tt_fmt_header hdr;
	struct tt_fmt_writer *w;
	int fd;	     /* the first file, opened before attach, until the writer owns it */
	int created; /* we created o.path (removed again if the start fails) */
	/*
	 * -Z with -W: every file of the ring, opened while still root (USER may not
	 * be allowed to create files there); reused by truncating. -1 = none.
	 */
	int *ring;
	unsigned char *ring_used;
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
	uint64_t events, lost, conns_seen;
	uint64_t closes_found; /* TT_F_CLOSE_INFERRED: closes the kernel did not report */
	uint64_t bytes_done;   /* bytes of files already closed */
	uint64_t start_mono, end_mono;
	int64_t
	    boot_shift; /* the source's event clock less CLOCK_BOOTTIME (tt_source_boot_shift) */
	int failed;
	char err[1024];
};

/* Name of the n-th file (0-based): FILE, FILE.1, FILE.2 ... modulo -W. */
static void file_name(const struct tt_rec *r, unsigned n, char *buf, size_t len)
{
	if (r->o.max_files)
		n %= r->o.max_files;
	if (!n)
		snprintf(buf, len, "%s", r->o.path);
	else
		snprintf(buf, len, "%s.%u", r->o.path, n);
}

/*
 * Create a capture file: 0600, never through a symlink (O_NOFOLLOW), never
 * over an existing file unless replace (O_EXCL).
 */
static int open_out(const char *path, int replace, char *err, size_t errlen)
{
	int fd;

	if (!strcmp(path, "-")) {
		fd = dup(STDOUT_FILENO);
		if (fd < 0)
			snprintf(err, errlen, "stdout: %s", strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	return tt_create_private(path, replace, err, errlen);
}

static int rotating(const struct tt_rec_opts *o)
{
	return o->rotate_bytes || o->rotate_ns;
}

/* Remove the ring files made by ring_open, from slot `from` on. */
static void ring_unlink(struct tt_rec *r, unsigned from)
{
	char path[4096];

	for (unsigned k = from; r->ring && k < r->o.max_files; k++) {
		if (r->ring[k] < 0 || r->ring_used[k])
			continue;
		file_name(r, k, path, sizeof(path));
		if (k && unlink(path) == 0) {
			close(r->ring[k]);
			r->ring[k] = -1;
		}
	}
}

/*
 * -W N without -f: none of the ring's other names may exist (found now, not
 * at the first rotation). With -Z as well: open them all now, as root.
 */
static int ring_open(struct tt_rec *r, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;

	if (!rotating(&r->o) || !r->o.max_files)
		return 0;
	if (!r->o.user) {
		for (unsigned k = 1; k < r->o.max_files && !r->o.force; k++) {
			file_name(r, k, path, sizeof(path));
			if (lstat(path, &st) == 0) {
				snprintf(err, errlen,
					 "%s: file exists (use -f/--force to replace it)", path);
				return -EEXIST;
			}
		}
		return 0;
	}
	if (r->o.max_files > RING_PREOPEN_MAX) {
		snprintf(err, errlen, "-Z with -W: at most %d files", RING_PREOPEN_MAX);
		return -E2BIG;
	}
	r->ring = malloc(r->o.max_files * sizeof(*r->ring));
	r->ring_used = calloc(r->o.max_files, 1);
	if (!r->ring || !r->ring_used) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned k = 0; k < r->o.max_files; k++)
		r->ring[k] = -1;
	r->ring[0] = dup(r->fd);
	if (r->ring[0] < 0) {
		snprintf(err, errlen, "%s: %s", r->o.path, strerror(errno));
		return -errno;
	}
	for (unsigned k = 1; k < r->o.max_files; k++) {
		file_name(r, k, path, sizeof(path));
		r->ring[k] = open_out(path, r->o.force, err, errlen);
		if (r->ring[k] < 0) {
			int ret = r->ring[k];

			r->ring[k] = -1;
			ring_unlink(r, 1);
			return ret;
		}
	}
	return 0;
}

/* The fd for file number n: a held ring file (emptied when reused), or a new file. */
static int next_fd(struct tt_rec *r, unsigned n, char *err, size_t errlen)
{
	unsigned k = r->o.max_files ? n % r->o.max_files : n;
	int fd;

	file_name(r, n, r->cur_path, sizeof(r->cur_path));
	if (!r->ring || r->ring[k] < 0)
		/* our own ring of files wraps over the names it made */
		return open_out(r->cur_path, r->o.force || (r->o.max_files && n >= r->o.max_files),
				err, errlen);
	if (r->ring_used[k] &&
	    (ftruncate(r->ring[k], 0) < 0 || lseek(r->ring[k], 0, SEEK_SET) < 0)) {
		snprintf(err, errlen, "%.900s: %s", r->cur_path, strerror(errno));
		return -errno;
	}
	r->ring_used[k] = 1;
	fd = dup(r->ring[k]);
	if (fd < 0)
		snprintf(err, errlen, "%.900s: %s", r->cur_path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

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
	r->fd = -1;
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
	r->fd = open_out(o->path, o->force, err, errlen);
	if (r->fd < 0) {
		ret = r->fd;
		tt_rec_free(r);
		return ret;
	}
	r->created = strcmp(o->path, "-") != 0;
	ret = ring_open(r, err, errlen);
	if (ret) {
		tt_rec_abort(r);
		return ret;
	}
	*out = r;
	return 0;
}

void tt_rec_abort(struct tt_rec *r)
{
	if (!r)
		return;
	if (r->created && !r->w)
		unlink(r->o.path);
	ring_unlink(r, 1);
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

/* Now in the source's event clock: what the recorder stamps itself is in the events' clock. */
static uint64_t event_now(const struct tt_rec *r)
{
	return (uint64_t)((int64_t)tt_now_boot_ns() + r->boot_shift);
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
		fd = next_fd(r, r->file_no, err, sizeof(err));
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

static void stats_event(struct tt_rec *r, struct tt_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = event_now(r);
	ev->kind = TT_EV_STATS;
	ev->u.stats.events = r->events;
	ev->u.stats.lost = r->lost;
	ev->u.stats.conns = r->conns_seen;
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
	int fd = r->fd;

	r->src = src;
	memset(&r->hdr, 0, sizeof(r->hdr));
	tt_header_fill_host(&r->hdr);
	snprintf(r->hdr.tool_version, sizeof(r->hdr.tool_version), "%s", TT_VERSION);
	snprintf(r->hdr.mode, sizeof(r->hdr.mode), "%s", tt_source_mode(src));
	r->hdr.coalesce_ms = r->o.src.raw ? 0
					  : (r->o.src.coalesce_ms ? r->o.src.coalesce_ms
								  : TT_SRC_DEFAULT_COALESCE_MS);
	r->hdr.raw_slice_ns = tt_src_raw_slice_ns(&r->o.src);
	tt_filter_format(&r->o.src.filter, r->hdr.filters, sizeof(r->hdr.filters));
	snprintf(r->hdr.probes, sizeof(r->hdr.probes), "%s", tt_source_probes(src));
	snprintf(r->hdr.missing, sizeof(r->hdr.missing), "%s",
		 tt_source_missing(src) ? tt_source_missing(src) : "");
	r->hdr.clock_offset_ns = tt_source_clock_offset(src);
	r->boot_shift = tt_source_boot_shift(src);
	snprintf(r->hdr.clock, sizeof(r->hdr.clock), "boottime");
	r->start_mono = tt_now_mono_ns();
	if (r->flight)
		return 0; /* fd stays ours until the first dump */
	r->fd = -1;
	if (r->ring)
		r->ring_used[0] = 1;
	if (begin_file(r, fd)) {
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
 * The read permission and group given to the file being written (chmod g+r, chgrp: a team
 * reads the capture while it is recorded) go to the next file of the set too. Never more
 * than reading; a group this user may not give is not given.
 */
static void share_like(struct tt_rec *r, int fd)
{
	struct stat st, nst;

	if (fd < 0 || r->cur_dup < 0 || fstat(r->cur_dup, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & 0044) || fstat(fd, &nst) < 0 || !S_ISREG(nst.st_mode))
		return;
	/* kept private when the group cannot be given (-Z: a group USER is not in) */
	if (nst.st_gid != st.st_gid && fchown(fd, (uid_t)-1, st.st_gid) < 0)
		return;
	(void)fchmod(fd, 0600 | (st.st_mode & 0044));
}

/*
 * The next file is made before this one gets its end block, so that a reader following the
 * set (tcptop-replay --follow) finds it there once it reads that end block: it need not wait
 * to tell a rotation from the end of the recording. Not with -W 1, where the next file is
 * this one.
 */
static void rotate(struct tt_rec *r)
{
	char err[1024], cur[sizeof(r->cur_path)], next[sizeof(r->cur_path)];
	int fd;

	if (r->o.max_files == 1) {
		if (!finish_file(r))
			begin_file(r, -1);
		return;
	}
	snprintf(cur, sizeof(cur), "%s", r->cur_path);
	fd = next_fd(r, r->file_no, err, sizeof(err));
	snprintf(next, sizeof(next), "%s", r->cur_path);
	share_like(r, fd);
	snprintf(r->cur_path, sizeof(r->cur_path), "%s", cur); /* finish_file's messages */
	if (finish_file(r)) {
		if (fd >= 0) {
			close(fd);
			if (!r->ring)
				unlink(next);
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
	r->events++;
	if (ev->kind == TT_EV_CONN_OPEN)
		r->conns_seen++;
	else if (ev->kind == TT_EV_LOST)
		r->lost += ev->u.lost.count;
	else if (ev->kind == TT_EV_CONN_CLOSE && (ev->flags & TT_F_CLOSE_INFERRED))
		r->closes_found++;
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
	int fd = r->fd, ret;

	if (!r->flight || r->failed)
		return;
	r->fd = -1;
	if (fd < 0) {
		fd = next_fd(r, r->file_no, err, sizeof(err));
		if (fd < 0) {
			fail(r, fd, err);
			return;
		}
	}
	tt_rec_flight_foreach(r->flight, earliest, &h);
	/* A dump starts where the window it holds does, not at the dump: its events are older. */
	r->hdr.start_ns = tt_now_wall_ns();
	if (h.start != UINT64_MAX &&
	    (uint64_t)((int64_t)h.start + r->hdr.clock_offset_ns) < r->hdr.start_ns)
		r->hdr.start_ns = (uint64_t)((int64_t)h.start + r->hdr.clock_offset_ns);
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
	ring_unlink(r, 1);
	for (unsigned k = 1; r->ring && k < r->o.max_files && !r->failed; k++) {
		if (r->ring[k] < 0 || r->ring_used[k])
			continue;
		r->file_no = k; /* next_fd() takes slot k */
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
	if (r->ring && files < r->o.max_files) {
		ring_finish(r);
		r->file_no = files;
	}
	if (r->failed)
		snprintf(err, errlen, "%s", r->err[0] ? r->err : "writing the capture failed");
	return r->failed;
}

void tt_rec_print_stats(const struct tt_rec *r, FILE *f)
{
	double secs = r->end_mono > r->start_mono ? (r->end_mono - r->start_mono) / 1e9 : 0;

	fprintf(f,
		"%" PRIu64 " events, %" PRIu64 " connections, %" PRIu64
		" bytes written (%.2f bytes/event), %" PRIu64 " lost, %.1f s, %u file%s\n",
		r->events, r->conns_seen, r->bytes_done,
		r->events ? (double)r->bytes_done / r->events : 0.0, r->lost, secs, r->file_no,
		r->file_no == 1 ? "" : "s");
	if (r->closes_found)
		fprintf(f,
			"%" PRIu64
			" connection%s closed with no close from the kernel: closed when a "
			"sampling pass found the socket gone\n",
			r->closes_found, r->closes_found == 1 ? "" : "s");
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
	if (r->fd >= 0)
		close(r->fd);
	if (r->cur_dup >= 0)
		close(r->cur_dup);
	for (unsigned k = 0; r->ring && k < r->o.max_files; k++)
		if (r->ring[k] >= 0)
			close(r->ring[k]);
	free(r->ring);
	free(r->ring_used);
	tt_rec_conntab_free(r->conns);
	tt_rec_flight_free(r->flight);
	free(r);
}
