/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The set of capture files a query reads: checked once up front (so a bad
 * file is a usage error before any SQL runs), then opened again by every
 * scan, because SQLite may run several scans of one file at the same time
 * (joins, subqueries). stdin is spooled into a memfd so it can be re-read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query.h"
#include "tt_util.h"

#define PROGRESS_EVERY 65536 /* events between clock reads */
#define PROGRESS_DELAY_NS 500000000ull
#define PROGRESS_PERIOD_NS 250000000ull

static int spool_stdin(struct tt_query_set *set)
{
	char buf[1 << 16];
	ssize_t n;
	int fd;

	if (set->spool_fd >= 0)
		return set->spool_fd;
	fd = memfd_create("tcptop-query-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, buf, (size_t)n) != n) {
			int e = n < 0 ? -errno : -EIO;

			close(fd);
			return e;
		}
	}
	set->spool_fd = fd;
	return fd;
}

/*
 * A reader of file f: the file, or a reader of the stdin spool of its own (the reader reads
 * at offsets, so scans side by side do not disturb one another), named "stdin" in its
 * messages.
 */
static int file_open(const struct tt_query_set *set, const struct tt_query_file *f,
		     struct tt_fmt_reader **r, char *err, size_t errlen)
{
	if (strcmp(f->path, "-")) {
		int ret = tt_fmt_reader_open(r, f->path, err, errlen);

		if (!ret && f->size)
			tt_fmt_reader_set_size(*r, f->size);
		return ret;
	}
	return tt_fmt_reader_open_fd(r, fcntl(set->spool_fd, F_DUPFD_CLOEXEC, 3), f->name, err,
				     errlen);
}

/* "NAME: what" in set->err, naming the file once: reader messages may or may not name it. */
static void file_error(struct tt_query_set *set, const struct tt_query_file *f, const char *msg,
		       int ret)
{
	if (!msg[0])
		msg = strerror(-ret);
	if (strncmp(msg, f->name, strlen(f->name)) == 0)
		snprintf(set->err, sizeof(set->err), "%s", msg);
	else
		snprintf(set->err, sizeof(set->err), "%s: %s", f->name, msg);
}

/*
 * Whether file i is one of the files before it (the same path, another path to it, a link,
 * stdin twice): its events would be counted twice. Says so in set->err.
 */
static int same_file(struct tt_query_set *set, struct stat *ids, size_t i)
{
	struct stat *st = &ids[i];
	int ret = strcmp(set->files[i].path, "-") ? stat(set->files[i].path, st)
						  : fstat(set->spool_fd, st);

	if (ret < 0) {
		st->st_ino = 0; /* the reader says why it cannot open it */
		return 0;
	}
	for (size_t k = 0; k < i; k++) {
		if (ids[k].st_ino && ids[k].st_ino == st->st_ino && ids[k].st_dev == st->st_dev) {
			snprintf(set->err, sizeof(set->err), "%s and %s are the same file",
				 set->files[k].path, set->files[i].path);
			return 1;
		}
	}
	return 0;
}

static int path_size(const char *path, uint64_t *size)
{
	struct stat st;

	*size = 0;
	if (stat(path, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Checks and notes each file: a usage error (set->err) when one cannot be read. */
static int open_files(struct tt_query_set *set, char **paths, struct stat *ids)
{
	for (size_t i = 0; i < set->n_files; i++) {
		struct tt_query_file *f = &set->files[i];
		struct tt_fmt_reader *r;
		char err[256] = "";
		int ret;

		f->path = strdup(paths[i]);
		if (!f->path)
			return -ENOMEM;
		f->name = strcmp(paths[i], "-") ? f->path : "stdin";
		if (strcmp(paths[i], "-") == 0) {
			int fd = spool_stdin(set);

			if (fd < 0) {
				snprintf(set->err, sizeof(set->err), "stdin: %s", strerror(-fd));
				return fd;
			}
		}
		if (same_file(set, ids, i))
			return -EINVAL;
		ret = file_open(set, f, &r, err, sizeof(err));
		if (ret < 0) {
			file_error(set, f, err, ret);
			return ret;
		}
		f->hdr = *tt_fmt_reader_header(r);
		/*
		 * Being written: read as it stands now, in every scan (the writer holds its lock
		 * from before the header is written, so the size is taken after the test).
		 */
		if (tt_fmt_reader_writing(r) && path_size(f->path, &f->size) == 0 && f->size) {
			tt_fmt_reader_set_size(r, f->size);
			fprintf(stderr,
				"%s: %s: still being written: read up to its last flush (%llu "
				"bytes)\n",
				set->prog, f->path, (unsigned long long)f->size);
		}
		if (tt_fmt_reader_time_range(r, &f->first_ns, &f->last_ns) < 0)
			f->first_ns = f->last_ns = 0;
		tt_fmt_reader_close(r);
	}
	return 0;
}

int tt_query_set_open(struct tt_query_set *set, const char *prog, char **paths, size_t n)
{
	struct stat *ids;
	int ret;

	memset(set, 0, sizeof(*set));
	set->prog = prog;
	set->spool_fd = -1;
	set->group_budget = TT_QUERY_GROUP_BUDGET;
	set->files = calloc(n, sizeof(*set->files));
	if (!set->files)
		return -ENOMEM;
	set->n_files = n;
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	ret = open_files(set, paths, ids);
	free(ids);
	return ret;
}

void tt_query_set_free(struct tt_query_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_files; i++) {
		free(set->files[i].path);
	}
	free(set->files);
	tt_query_summary_free(set->summary);
	if (set->spool_fd >= 0)
		close(set->spool_fd);
	memset(set, 0, sizeof(*set));
	set->spool_fd = -1;
}

/* Each warning of a file is printed once, however many scans read the file. */
static void scan_warn(void *ctx, const char *msg)
{
	struct tt_query_scan *sc = ctx;
	struct tt_query_file *f = &sc->set->files[sc->file];

	sc->warnings++;
	if (sc->warnings <= f->warned)
		return;
	f->warned = sc->warnings;
	if (sc->set->progress)
		fputs("\r\033[K", stderr);
	/* the reader usually names the file itself; name it exactly once */
	if (strncmp(msg, f->name, strlen(f->name)) == 0)
		tt_warn(sc->set->prog, "%s", msg);
	else
		tt_warn(sc->set->prog, "%s: %s", f->path, msg);
}

int tt_query_scan_open(struct tt_query_scan *sc, struct tt_query_set *set, size_t file)
{
	char err[256] = "";
	int ret;

	memset(sc, 0, sizeof(*sc));
	sc->set = set;
	sc->file = file;
	ret = file_open(set, &set->files[file], &sc->r, err, sizeof(err));
	if (ret < 0) {
		file_error(set, &set->files[file], err, ret);
		sc->r = NULL;
		return ret;
	}
	tt_fmt_reader_set_warn(sc->r, scan_warn, sc);
	if (set->progress)
		sc->t_start = sc->t_last = tt_now_mono_ns();
	return 0;
}

static void progress(struct tt_query_scan *sc)
{
	uint64_t now = tt_now_mono_ns();

	if (now - sc->t_start < PROGRESS_DELAY_NS || now - sc->t_last < PROGRESS_PERIOD_NS)
		return;
	sc->t_last = now;
	fprintf(stderr, "\r\033[K%s: reading %s: %.1fM events", sc->set->prog,
		sc->set->files[sc->file].path, (double)sc->events / 1e6);
}

int tt_query_scan_next(struct tt_query_scan *sc, struct tt_event *ev)
{
	int ret;

	if (!sc->r)
		return 0;
	ret = tt_fmt_reader_next(sc->r, ev);
	if (ret < 0)
		snprintf(sc->set->err, sizeof(sc->set->err), "%s: %s",
			 sc->set->files[sc->file].path, tt_fmt_reader_error(sc->r));
	if (ret <= 0)
		return ret;
	sc->events++;
	if (sc->set->progress && (sc->events % PROGRESS_EVERY) == 0)
		progress(sc);
	return 1;
}

void tt_query_scan_close(struct tt_query_scan *sc)
{
	if (!sc || !sc->r)
		return;
	if (sc->set->progress && sc->t_last != sc->t_start)
		fputs("\r\033[K", stderr);
	tt_fmt_reader_close(sc->r);
	sc->r = NULL;
}

/* Open the next file the constraints allow, from st->file on: 1, 0 when none is left, <0. */
static int stream_open_file(struct tt_query_stream *st)
{
	for (; st->file < st->set->n_files; st->file++) {
		const struct tt_query_file *f = &st->set->files[st->file];
		int ret;

		if (st->only && strcmp(st->only, f->path) != 0)
			continue;
		if (f->last_ns && f->last_ns <= INT64_MAX && st->ts_min > (int64_t)f->last_ns)
			continue;
		if (f->first_ns && f->last_ns <= INT64_MAX && st->ts_max < (int64_t)f->first_ns)
			continue;
		ret = tt_query_scan_open(&st->scan, st->set, st->file);
		if (ret < 0)
			return ret;
		/* a failed seek (e.g. no index) only costs reading from the start */
		if (st->ts_min > 0)
			tt_fmt_reader_seek_time(st->scan.r, (uint64_t)st->ts_min);
		return 1;
	}
	return 0;
}

int tt_query_stream_start(struct tt_query_stream *st)
{
	int ret;

	tt_query_scan_close(&st->scan);
	st->scan.r = NULL;
	st->file = 0;
	ret = stream_open_file(st);
	return ret < 0 ? ret : 0;
}

int tt_query_stream_advance(struct tt_query_stream *st)
{
	if (!st->scan.r)
		return 0; /* no file open: the end */
	tt_query_scan_close(&st->scan);
	st->file++;
	return stream_open_file(st);
}

void tt_query_stream_close(struct tt_query_stream *st)
{
	tt_query_scan_close(&st->scan);
}
