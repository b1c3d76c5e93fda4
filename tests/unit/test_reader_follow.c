// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A capture read while it is written: the writer's lock (tt_fmt_reader_writing), following
 * (tt_fmt_reader_set_follow: a block half written is waited for, not damage) and reading a
 * live file as it stood (tt_fmt_reader_set_size). The file grows here byte range by byte
 * range, cut inside blocks where a recorder's one write() may be seen half done.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tt_fmt.h"

#define N_EVENTS 300
#define PER_FLUSH 50

static void quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static void header(struct tt_fmt_header *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->hostname, sizeof(h->hostname), "follow-test");
	snprintf(h->mode, sizeof(h->mode), "coalesce");
	h->start_ns = 1764067200000000000ull;
}

/* A capture of N_EVENTS traffic events flushed every PER_FLUSH; bounds: the block ends. */
static uint8_t *make_capture(const char *path, uint64_t *bounds, size_t *nb, size_t *len)
{
	struct tt_fmt_header h;
	struct tt_fmt_wopts o = {.force = 1};
	struct tt_fmt_writer *w;
	struct tt_event ev;
	char err[256];
	struct stat st;
	uint8_t *b;
	FILE *f;

	header(&h);
	if (tt_fmt_writer_open(&w, path, &h, &o, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	*nb = 0;
	bounds[(*nb)++] = tt_fmt_writer_bytes(w);
	for (unsigned i = 0; i < N_EVENTS; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = TT_EV_TRAFFIC;
		ev.ts_ns = 1000000000ull + i * 1000000ull;
		ev.conn_id = 7 + i % 3;
		ev.u.traffic.tx_bytes = 100 + i;
		tt_fmt_writer_add(w, &ev);
		if ((i + 1) % PER_FLUSH == 0) {
			tt_fmt_writer_flush(w);
			bounds[(*nb)++] = tt_fmt_writer_bytes(w);
		}
	}
	tt_fmt_writer_close(w);
	if (stat(path, &st) < 0 || !(f = fopen(path, "rb")))
		exit(1);
	b = malloc((size_t)st.st_size);
	*len = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

/* Appends b[from, to) to fd, as the writer's write() would have got that far. */
static void grow(int fd, const uint8_t *b, size_t from, size_t to)
{
	if (pwrite(fd, b + from, to - from, (off_t)from) != (ssize_t)(to - from))
		exit(1);
}

/* Events until the reader stops giving them: the count, and what stopped it in *rc. */
static int drain(struct tt_fmt_reader *r, int *rc)
{
	struct tt_event ev;
	int n = 0;

	while ((*rc = tt_fmt_reader_next(r, &ev)) == 1)
		n++;
	return n;
}

static struct tt_fmt_reader *open_quiet(const char *path)
{
	struct tt_fmt_reader *r;
	char err[256];

	if (tt_fmt_reader_open(&r, path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	tt_fmt_reader_set_warn(r, quiet, NULL);
	return r;
}

static int lock(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};

	return fcntl(fd, F_OFD_SETLK, &fl);
}

int main(void)
{
	char dir[] = "/tmp/test_reader_follow.XXXXXX", whole[64], live[64];
	uint64_t bounds[16];
	size_t nb, len;
	int rc, n;

	if (!mkdtemp(dir))
		return 1;
	snprintf(whole, sizeof(whole), "%s/whole.tt", dir);
	snprintf(live, sizeof(live), "%s/live.tt", dir);
	uint8_t *b = make_capture(whole, bounds, &nb, &len);

	/* the writer holds its lock while open, and lets it go at close */
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	char err[256], other[80];
	header(&h);
	snprintf(other, sizeof(other), "%s/other.tt", dir);
	tt_fmt_writer_open(&w, other, &h, NULL, err, sizeof(err));
	struct tt_fmt_reader *r = open_quiet(other);
	check(tt_fmt_reader_writing(r) == 1, "a writer's open file reads as being written");
	tt_fmt_writer_close(w);
	check(tt_fmt_reader_writing(r) == 0, "after the writer's close it does not");
	tt_fmt_reader_close(r);
	r = open_quiet(whole);
	check(tt_fmt_reader_writing(r) == 0, "a finished capture is not being written");
	tt_fmt_reader_close(r);

	/* a live file: one block and half the next written, the writer's lock held */
	int fd = open(live, O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0 && lock(fd, F_WRLCK) == 0, "the stand-in writer holds the lock");
	size_t half2 = (bounds[1] + bounds[2]) / 2, half3 = (bounds[2] + bounds[3]) / 2;
	grow(fd, b, 0, half2);

	struct tt_fmt_reader *f = open_quiet(live);
	tt_fmt_reader_set_follow(f, 1);
	n = drain(f, &rc);
	check(n == PER_FLUSH && rc == -EAGAIN && !tt_fmt_reader_warnings(f),
	      "following: the whole block read, the half one waited for (%d, %d, %u warnings)", n,
	      rc, tt_fmt_reader_warnings(f));
	n = drain(f, &rc);
	check(n == 0 && rc == -EAGAIN, "nothing new: -EAGAIN again (%d, %d)", n, rc);
	grow(fd, b, half2, half3);
	n = drain(f, &rc);
	check(n == PER_FLUSH && rc == -EAGAIN && !tt_fmt_reader_warnings(f),
	      "its rest written: that block read, the next half waited for (%d, %d)", n, rc);

	/* read once, not following, while the lock is held: no damage, no warning */
	r = open_quiet(live);
	check(tt_fmt_reader_writing(r) == 1, "the live file reads as being written");
	n = drain(r, &rc);
	check(n == 2 * PER_FLUSH && rc == 0 && !tt_fmt_reader_warnings(r),
	      "read once while written: up to the last whole block, no warning (%d, %d, %s)", n, rc,
	      tt_fmt_reader_last_warning(r));
	tt_fmt_reader_close(r);

	/* as it stood at a size: what came since is not read, the cut is no damage */
	r = open_quiet(live);
	tt_fmt_reader_set_size(r, half2);
	grow(fd, b, half3, bounds[4]);
	uint64_t first, last;
	tt_fmt_reader_time_range(r, &first, &last);
	n = drain(r, &rc);
	check(n == PER_FLUSH && rc == 0 && !tt_fmt_reader_warnings(r),
	      "set_size: the events of the blocks inside it, no warning (%d, %d)", n, rc);
	check(last == h.clock_offset_ns + 1000000000ull + (PER_FLUSH - 1) * 1000000ull,
	      "set_size: the time range ends inside it too");
	tt_fmt_reader_close(r);

	/* the rest, with the index and end block: following ends there */
	grow(fd, b, bounds[4], len);
	n = drain(f, &rc);
	check(n == N_EVENTS - 2 * PER_FLUSH && rc == 0 && !tt_fmt_reader_warnings(f),
	      "the end block: following returns 0 after every event (%d, %d)", n, rc);
	tt_fmt_reader_close(f);

	/* a recorder killed in the middle of a write: no lock, a half block at the end */
	check(ftruncate(fd, (off_t)half3) == 0 && lock(fd, F_UNLCK) == 0, "writer gone");
	r = open_quiet(live);
	tt_fmt_reader_set_follow(r, 1);
	n = drain(r, &rc);
	check(n == 2 * PER_FLUSH && rc == -EAGAIN && !tt_fmt_reader_writing(r),
	      "following a file nobody writes: -EAGAIN, and it says nobody writes it");
	tt_fmt_reader_set_follow(r, 0);
	n = drain(r, &rc);
	check(n == 0 && rc == 0 && tt_fmt_reader_warnings(r) == 1 &&
		  strstr(tt_fmt_reader_last_warning(r), "truncated"),
	      "not following any more: the end as it is, 'truncated' (%s)",
	      tt_fmt_reader_last_warning(r));
	tt_fmt_reader_close(r);
	close(fd);

	free(b);
	unlink(whole);
	unlink(live);
	unlink(other);
	rmdir(dir);
	return check_done(NULL);
}
