/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Following a capture and its rotated set. The recorder names the n-th file of a set FILE.n
 * (FILE for n = 0, modulo -W), makes the next file before it writes the current one's end block
 * (record/output.c rotate()), and gives every file its own header with a later start: so when
 * a file ends, the next one is FILE.(n+1), or FILE again once -W wrapped, with a later start
 * than this one's on the same boot; a file there from an earlier recording starts earlier. No
 * such file: the recording ended.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "follow.h"
#include "tt_util.h"

/* A next file made but still without its header for this long is not going to get one. */
#define FOLLOW_GRACE_NS 2000000000ull
/* A header half written (one write(), seen midway) for this long is a damaged one. */
#define HEADER_WAIT_NS 1000000000ull

struct follow {
	char base[4096]; /* FILE of FILE, FILE.1, ... */
	unsigned n;	 /* the file followed now: FILE.n */
	uint64_t start_ns;
	char boot_id[40];
	uint64_t ended_mono; /* when the current file's end was read, 0 before */
};

static void name(const struct follow *f, unsigned n, char *buf, size_t len)
{
	if (n)
		snprintf(buf, len, "%s.%u", f->base, n);
	else
		snprintf(buf, len, "%s", f->base);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};

	nanosleep(&ts, NULL);
}

/* The file of a set PATH is: FILE.n where FILE exists, else FILE itself (n = 0). */
static void place(struct follow *f, const char *path)
{
	const char *dot = strrchr(path, '.');
	struct stat st;
	char *end;

	snprintf(f->base, sizeof(f->base), "%s", path);
	f->n = 0;
	if (!dot || !dot[1] || dot[1] < '0' || dot[1] > '9')
		return;
	unsigned long n = strtoul(dot + 1, &end, 10);
	if (*end || n == 0 || n > 1000000)
		return;
	snprintf(f->base, sizeof(f->base), "%.*s", (int)(dot - path), path);
	if (stat(f->base, &st) == 0 && S_ISREG(st.st_mode)) {
		f->n = (unsigned)n;
		return;
	}
	snprintf(f->base, sizeof(f->base), "%s", path);
}

/* Whether the file at path is empty or begins like a capture (its header may be on its way). */
static int may_become_capture(const char *path, uint64_t *size)
{
	static const unsigned char magic[8] = {0x89, 'T', 'T', 'C', '\r', '\n', 0x1a, '\n'};
	unsigned char b[8];
	FILE *fp = fopen(path, "rb");
	size_t n;

	*size = 0;
	if (!fp)
		return 0;
	n = fread(b, 1, sizeof(b), fp);
	fclose(fp);
	*size = n;
	return memcmp(b, magic, n) == 0;
}

static void remember(struct follow *f, struct tt_fmt_reader *r)
{
	const struct tt_fmt_header *h = tt_fmt_reader_header(r);

	f->start_ns = h->start_ns;
	snprintf(f->boot_id, sizeof(f->boot_id), "%s", h->boot_id);
	f->ended_mono = 0;
	tt_fmt_reader_set_follow(r, 1);
}

int follow_open(struct follow **out, struct tt_fmt_reader **r, const char *path,
		const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct follow *f = calloc(1, sizeof(*f));
	uint64_t since = 0, size;
	int ret;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	place(f, path);
	for (;;) {
		ret = tt_fmt_reader_open(r, path, err, errlen);
		if (ret == 0)
			break;
		if ((ret != -EINVAL && ret != -EIO) || !may_become_capture(path, &size) ||
		    (stop && *stop)) {
			free(f);
			return ret;
		}
		/* empty: a recorder still attaching; its header is one write, seen half only
		 * briefly */
		if (size && !since)
			since = tt_now_mono_ns();
		if (since && tt_now_mono_ns() - since > HEADER_WAIT_NS) {
			free(f);
			return ret;
		}
		sleep_ns(FOLLOW_POLL_NS / 2);
	}
	remember(f, *r);
	*out = f;
	return 0;
}

void follow_free(struct follow *f)
{
	free(f);
}

/* 1: path holds the set's next file (*nr open), 0: it does not, -EAGAIN: it may, shortly. */
static int try_next(struct follow *f, const char *path, struct tt_fmt_reader **nr)
{
	char err[256];
	uint64_t size;
	int ret = tt_fmt_reader_open(nr, path, err, sizeof(err));

	if (ret < 0)
		return ret != -ENOENT && may_become_capture(path, &size) ? -EAGAIN : 0;
	const struct tt_fmt_header *h = tt_fmt_reader_header(*nr);
	if (h->start_ns > f->start_ns && !strcmp(h->boot_id, f->boot_id))
		return 1;
	tt_fmt_reader_close(*nr);
	*nr = NULL;
	return 0;
}

int follow_next(struct follow *f, struct tt_fmt_reader **r)
{
	/* FILE.(n+1), or FILE again after -W wrapped */
	unsigned cand[2] = {f->n + 1, 0};
	int wait = 0;

	if (!f->ended_mono)
		f->ended_mono = tt_now_mono_ns();
	for (int k = 0; k < 2; k++) {
		struct tt_fmt_reader *nr = NULL;
		char path[4200];
		int ret;

		name(f, cand[k], path, sizeof(path));
		ret = try_next(f, path, &nr);
		if (ret == -EAGAIN)
			wait = 1;
		if (ret != 1)
			continue;
		tt_fmt_reader_close(*r);
		*r = nr;
		f->n = cand[k];
		remember(f, nr);
		return 1;
	}
	if (wait && tt_now_mono_ns() - f->ended_mono < FOLLOW_GRACE_NS)
		return -EAGAIN;
	return 0;
}
