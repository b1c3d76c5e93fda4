/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A capture file as a live source (record/filesrc.c), used through tt_source.h only. */
#ifndef TT_FILESRC_H
#define TT_FILESRC_H

#include <stdint.h>
#include <stdio.h>

#include "tt_src.h"

struct tt_filesrc;

int tt_filesrc_open(struct tt_filesrc **out, const char *path, const struct tt_src_opts *o,
		    char *err, size_t errlen);
/* Events due by now, at the recorded pace; -ENODATA once the capture has ended. */
int tt_filesrc_poll(struct tt_filesrc *f, int timeout_ms, tt_src_cb cb, void *ctx);
int tt_filesrc_flush(struct tt_filesrc *f, tt_src_cb cb, void *ctx);
const char *tt_filesrc_mode(const struct tt_filesrc *f);
const char *tt_filesrc_probes(const struct tt_filesrc *f);
const char *tt_filesrc_missing(const struct tt_filesrc *f);
const char *tt_filesrc_warning(const struct tt_filesrc *f);
void tt_filesrc_print_missing(const struct tt_filesrc *f, const char *prog, FILE *out);
void tt_filesrc_print_check(const struct tt_filesrc *f, FILE *out);
int64_t tt_filesrc_clock_offset(const struct tt_filesrc *f);
int64_t tt_filesrc_boot_shift(const struct tt_filesrc *f);
void tt_filesrc_stats(const struct tt_filesrc *f, struct tt_src_stats *st);
void tt_filesrc_close(struct tt_filesrc *f);

#endif /* TT_FILESRC_H */
