/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tcptop-replay --follow: a capture read while a recorder writes it (tail -f), and on through
 * the files of its rotated set (-C/-G/-W: FILE, FILE.1, FILE.2 ..., FILE again after -W N).
 */
#ifndef TT_REPLAY_FOLLOW_H
#define TT_REPLAY_FOLLOW_H

#include <signal.h>
#include <stddef.h>

#include "tt_fmt.h"

/* How often a follower looks for what was written since (the recorder flushes every second). */
#define FOLLOW_POLL_NS 100000000ull

struct follow;

/*
 * Open PATH to follow it: waits while the file is still empty (a recorder writes its header
 * once its probes are attached) until *stop. *r is the reader, in follow mode. Returns 0, or a
 * negative errno with "PATH: message" in err.
 */
int follow_open(struct follow **out, struct tt_fmt_reader **r, const char *path,
		const volatile sig_atomic_t *stop, char *err, size_t errlen);
void follow_free(struct follow *f);

/*
 * *r has ended (its end block read): its set's next file, when the recorder went on to one.
 * Returns 1 with *r the next file's reader (the old one closed), 0 when the recording ended
 * with this file, -EAGAIN when the next file is there but its header is not yet (call again).
 */
int follow_next(struct follow *f, struct tt_fmt_reader **r);

#endif /* TT_REPLAY_FOLLOW_H */
