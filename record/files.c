// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where the recorder's files go: names, creation (private, O_EXCL unless -f, never through a
 * symlink), and the -W ring, held open from the start with -Z. What each file holds is
 * output.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tt_util.h"
#include "files.h"

#define RING_PREOPEN_MAX 256 /* -Z with -W: files held open from the start */

struct tt_rec_files {
	struct tt_rec_opts o;
	int fd;	     /* the first file, opened before attach, until the writer owns it */
	int created; /* we created o.path (removed again if the start fails) */
	/*
	 * -Z with -W: every file of the ring, opened while still root (USER may not
	 * be allowed to create files there); reused by truncating. -1 = none.
	 */
	int *ring;
	unsigned char *ring_used;
};

/* Name of the n-th file (0-based): FILE, FILE.1, FILE.2 ... modulo -W. */
static void file_name(const struct tt_rec_files *r, unsigned n, char *buf, size_t len)
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
static void ring_unlink(struct tt_rec_files *r, unsigned from)
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
static int ring_open(struct tt_rec_files *r, char *err, size_t errlen)
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

int tt_rec_files_new(struct tt_rec_files **out, const struct tt_rec_opts *o, char *err,
		     size_t errlen)
{
	struct tt_rec_files *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	r->fd = open_out(o->path, o->force, err, errlen);
	if (r->fd < 0) {
		ret = r->fd;
		tt_rec_files_free(r);
		return ret;
	}
	r->created = strcmp(o->path, "-") != 0;
	ret = ring_open(r, err, errlen);
	if (ret) {
		tt_rec_files_abort(r, 0);
		tt_rec_files_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int tt_rec_files_take_first(struct tt_rec_files *r)
{
	int fd = r->fd;

	r->fd = -1;
	if (r->ring)
		r->ring_used[0] = 1;
	return fd;
}

int tt_rec_files_open(struct tt_rec_files *r, unsigned n, char *path, size_t pathlen, char *err,
		      size_t errlen)
{
	unsigned k = r->o.max_files ? n % r->o.max_files : n;
	int fd;

	file_name(r, n, path, pathlen);
	if (!r->ring || r->ring[k] < 0)
		/* our own ring of files wraps over the names it made */
		return open_out(path, r->o.force || (r->o.max_files && n >= r->o.max_files), err,
				errlen);
	if (r->ring_used[k] &&
	    (ftruncate(r->ring[k], 0) < 0 || lseek(r->ring[k], 0, SEEK_SET) < 0)) {
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
		return -errno;
	}
	r->ring_used[k] = 1;
	fd = dup(r->ring[k]);
	if (fd < 0)
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

void tt_rec_files_unmake(const struct tt_rec_files *r, const char *path)
{
	if (!r->ring)
		unlink(path);
}

/*
 * The read permission and group given to the file being written (chmod g+r, chgrp: a team
 * reads the capture while it is recorded) go to the next file of the set too. Never more
 * than reading; a group this user may not give is not given.
 */
void tt_rec_files_share_like(int from_fd, int fd)
{
	struct stat st, nst;

	if (fd < 0 || from_fd < 0 || fstat(from_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & 0044) || fstat(fd, &nst) < 0 || !S_ISREG(nst.st_mode))
		return;
	/* kept private when the group cannot be given (-Z: a group USER is not in) */
	if (nst.st_gid != st.st_gid && fchown(fd, (uid_t)-1, st.st_gid) < 0)
		return;
	(void)fchmod(fd, 0600 | (st.st_mode & 0044));
}

void tt_rec_files_remove_unused(struct tt_rec_files *r)
{
	ring_unlink(r, 1);
}

unsigned tt_rec_files_next_unused(const struct tt_rec_files *r, unsigned from)
{
	for (unsigned k = from; r->ring && k < r->o.max_files; k++)
		if (r->ring[k] >= 0 && !r->ring_used[k])
			return k;
	return 0;
}

void tt_rec_files_abort(struct tt_rec_files *r, int written)
{
	if (!r)
		return;
	if (r->created && !written)
		unlink(r->o.path);
	ring_unlink(r, 1);
}

void tt_rec_files_free(struct tt_rec_files *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	for (unsigned k = 0; r->ring && k < r->o.max_files; k++)
		if (r->ring[k] >= 0)
			close(r->ring[k]);
	free(r->ring);
	free(r->ring_used);
	free(r);
}
