/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The recorder's output, for tcptop-record and tcptop -o: capture files (one, rotated, or flight
 * recorder dumps), each standing alone, and the exit statistics.
 */
#ifndef TT_REC_H
#define TT_REC_H

#include <stdint.h>
#include <stdio.h>

#include "tt_source.h"

struct tt_rec_opts {
	struct tt_source_opts src;
	const char *path;      /* "-" = stdout */
	uint64_t duration_ns;  /* 0 = until a signal */
	uint64_t rotate_bytes; /* -C */
	uint64_t rotate_ns;    /* -G */
	unsigned max_files;    /* -W, 0 = no limit */
	uint64_t flight_ns;    /* --flight, 0 = off */
	const char *user;      /* -Z */
	int dump;	       /* --dump-events: one line per event on stderr */
	int quiet;
	int force;
};

struct tt_rec;

/* Open the first output file (before anything is attached). 0 or -errno with err. */
int tt_rec_new(struct tt_rec **out, const struct tt_rec_opts *o, char *err, size_t errlen);
/* Remove the output created by tt_rec_new after a failed start, and free. */
void tt_rec_abort(struct tt_rec *r);
/*
 * Write the header (mode, probes, clock from the source). 0 or -errno with err. SRC stays open
 * until tt_rec_finish() and tt_rec_print_stats(): the counts in the files' STATS and the exit
 * line are the source's (tt_source_stats()), and what the recorder stamps itself (STATS,
 * repeated opens) takes its clock (tt_source_now()).
 */
int tt_rec_start(struct tt_rec *r, struct tt_source *src, char *err, size_t errlen);
/* One event from the source (a tt_source_cb). Non-zero after a write error. */
int tt_rec_event(void *r, const struct tt_event *ev);
/* Periodic: flush the current block, rotate when due. */
void tt_rec_tick(struct tt_rec *r);
/* --flight: write the events held in memory now (SIGUSR1). */
void tt_rec_dump(struct tt_rec *r);
/* Whether output failed (the message is reported by tt_rec_finish). */
int tt_rec_failed(const struct tt_rec *r);
/* Statistics event, close the file(s). 0 or -errno with the first error in err. */
int tt_rec_finish(struct tt_rec *r, char *err, size_t errlen);
void tt_rec_print_stats(const struct tt_rec *r, FILE *f);
void tt_rec_free(struct tt_rec *r);

#endif /* TT_REC_H */
