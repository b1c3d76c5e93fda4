/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the sock_diag source cannot see, as capabilities in the handle's one table
 * (source/caps.c), as the BPF source's: ok, or missing with why and what the data lacks.
 */
#ifndef TT_SD_CAPS_H
#define TT_SD_CAPS_H

#include "source_int.h"

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

/* The handle's capability table for these (caps.c); the sockdiag open sets their states. */
void tt_sd_caps_init(struct tt_source *h);

#endif /* TT_SD_CAPS_H */
