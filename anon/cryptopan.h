/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Crypto-PAn over AES-128 (internal to anon/): the prefix-preserving address permutation. */
#ifndef TT_ANON_CRYPTOPAN_H
#define TT_ANON_CRYPTOPAN_H

#include <stddef.h>
#include <stdint.h>

struct tt_anon_cpan;

/* key: 16 bytes of AES key, then 16 bytes whose encryption is the pad. 0, -ENOMEM or -EIO. */
int tt_anon_cpan_new(struct tt_anon_cpan **out, const uint8_t key[32]);
void tt_anon_cpan_free(struct tt_anon_cpan *c);

/* Anonymize an address of bytes (4 or 16) bytes, network byte order. 0 or -EIO. */
int tt_anon_cpan(struct tt_anon_cpan *c, const uint8_t *in, uint8_t *out, size_t bytes);

#endif /* TT_ANON_CRYPTOPAN_H */
