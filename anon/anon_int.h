/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The anonymizer's insides, shared by the files of anon/ only. */
#ifndef TT_ANON_INT_H
#define TT_ANON_INT_H

#include <stdint.h>

#include "cryptopan.h"
#include "tt_anon.h"

/* Remembered addresses: a capture names the same few addresses over and over, and one
 * IPv6 address costs 128 AES blocks. Direct-mapped, so a miss costs one compare. */
#define ANON_CACHE 4096
#define ANON_COMM_CACHE 256

struct anon_slot {
	uint8_t used, bytes;
	uint8_t in[16], out[16];
};

struct tt_anon {
	struct tt_anon_cpan *cpan;
	uint8_t
	    name_key[32]; /* HMAC key for names, derived from the key (never the AES key itself) */
	unsigned flags;
	struct anon_slot cache[ANON_CACHE];
	/* Process names, the same way: a handful of names on every open and exec. */
	struct {
		uint8_t used;
		char name[TT_COMM_LEN], token[TT_COMM_LEN];
	} comms[ANON_COMM_CACHE];
};

/* HMAC-SHA-256 under name_key of domain, a 0 byte, then name. */
void tt_anon_mac(const struct tt_anon *a, const char *domain, const char *name, size_t len,
		 uint8_t mac[32]);

#endif /* TT_ANON_INT_H */
