/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Owners of sockets for the sock_diag source (source/sd_owners.c): socket inode -> the process
 * holding it, from the "socket:[INODE]" links under /proc/PID/fd. Without privileges only the
 * user's own processes can be read.
 */
#ifndef TT_SD_OWNERS_H
#define TT_SD_OWNERS_H

#include <stdint.h>

#include "tt_event.h"

struct tt_sd_owner {
	uint32_t pid;
	char comm[TT_COMM_LEN];
};

struct tt_sd_owners;

int tt_sd_owners_new(struct tt_sd_owners **out); /* 0 or -ENOMEM */
void tt_sd_owners_free(struct tt_sd_owners *o);

/* Forget what the last scan found and read /proc again. 0 or -errno. */
int tt_sd_owners_scan(struct tt_sd_owners *o);

/* 1 and *out filled when the last scan saw inode held, else 0. */
int tt_sd_owners_find(const struct tt_sd_owners *o, uint32_t inode, struct tt_sd_owner *out);

/* Scans done so far (for the tests' "only when needed"). */
uint64_t tt_sd_owners_scans(const struct tt_sd_owners *o);

#endif /* TT_SD_OWNERS_H */
