/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the sock_diag source cannot see, as capabilities said the way record/caps.c says the BPF
 * source's (record/sd_caps.c): ok, or missing with why and what the data lacks without it.
 */
#ifndef TT_SD_CAPS_H
#define TT_SD_CAPS_H

#include <stdint.h>
#include <stdio.h>

enum {
	TT_SD_CAP_SHORT,
	TT_SD_CAP_PERCALL,
	TT_SD_CAP_CLOSE,
	TT_SD_CAP_UDP,
	TT_SD_CAP_RESETS,
	TT_SD_CAP_PROCS,
	TT_SD_CAP_OWNERS,
	TT_SD_CAP_NETNS,
	TT_SD_CAP_RETRANS_CAUSE,
	TT_SD_CAP_LISTENERS,
	TT_SD_CAP_DROPS,
	TT_SD_CAP_HANDSHAKE,
	TT_SD_CAP_STALLS,
	TT_SD_CAP_N
};

struct tt_sd_caps {
	uint8_t state[TT_SD_CAP_N]; /* TT_SRC_CAP_* */
	char why[TT_SD_CAP_N][160];
	char missing[2048]; /* "name (why): loss; ...", for the capture header */
	char warning[384];  /* one short line for a view's header */
};

/* Set one capability (state TT_SRC_CAP_*) and recompose the texts. */
void tt_sd_caps_set(struct tt_sd_caps *c, int cap, int state, const char *why);
/* "PROG: warning: missing NAME (why): loss" per missing capability. */
void tt_sd_caps_print_missing(const struct tt_sd_caps *c, const char *prog, FILE *f);
/* Every capability, `%-15s %-10s %s` (--check). */
void tt_sd_caps_print_check(const struct tt_sd_caps *c, FILE *f);

#endif /* TT_SD_CAPS_H */
