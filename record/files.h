/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where the recorder's files go (output.c decides what each holds): their names (FILE,
 * FILE.1 ... modulo -W), made private and never over a file that exists unless -f (O_EXCL,
 * O_NOFOLLOW), and the -W ring: its names checked at the start, or with -Z all opened then,
 * as root, and reused by truncating.
 */
#ifndef TT_REC_FILES_H
#define TT_REC_FILES_H

#include <stddef.h>

#include "tt_rec.h"

struct tt_rec_files;

/*
 * Create the first file (o->path, "-" = stdout) and, with -W, check the ring's other names or
 * (-Z) open them. 0 or -errno with err; a failure leaves no file behind.
 */
int tt_rec_files_new(struct tt_rec_files **out, const struct tt_rec_opts *o, char *err,
		     size_t errlen);
/* The first file's fd, given once (-1 after): the file begun by tt_rec_start or a first dump. */
int tt_rec_files_take_first(struct tt_rec_files *f);
/*
 * The fd for file number n (0-based), its name written into path: a held ring file (emptied
 * when reused), or a new file. -errno with err.
 */
int tt_rec_files_open(struct tt_rec_files *f, unsigned n, char *path, size_t pathlen, char *err,
		      size_t errlen);
/* A file made by tt_rec_files_open that is not used after all: removed, unless held by -Z. */
void tt_rec_files_unmake(const struct tt_rec_files *f, const char *path);
/* The read permission and group of the file at from_fd given to the new file at fd too. */
void tt_rec_files_share_like(int from_fd, int fd);
/* Held ring files never reached (and not in use) from slot 1 on: removed if possible. */
void tt_rec_files_remove_unused(struct tt_rec_files *f);
/* The first held ring slot >= from that is still unused (its removal failed), or 0: none. */
unsigned tt_rec_files_next_unused(const struct tt_rec_files *f, unsigned from);
/* A start that failed: the first file removed if nothing was written to it (written 0). */
void tt_rec_files_abort(struct tt_rec_files *f, int written);
void tt_rec_files_free(struct tt_rec_files *f);

#endif /* TT_REC_FILES_H */
