/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Crypto-PAn (Xu, Fan, Ammar, Moon, "Prefix-preserving IP address
 * anonymization", ICNP 2002). Bit i of the output is bit i of the input
 * XOR the first bit of AES_K(first i bits of the input, then the pad's
 * remaining bits), pad = AES_K(second half of the key). Bit i depends only on
 * the bits before it, which is what preserves prefixes; each AES call is a
 * pseudo-random function of the prefix, which is what hides the address.
 * IPv6 is the same over 128 bits (input bits fill the first 16 bytes instead
 * of the first 4).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cryptopan.h"

#define BLOCK 16

struct tt_anon_cpan {
	EVP_CIPHER_CTX *ctx;
	uint8_t pad[BLOCK];
};

static int ecb(struct tt_anon_cpan *c, const uint8_t *in, uint8_t *out, int len)
{
	int n = 0;

	/* ECB without padding: every whole block comes out of this one call. */
	if (EVP_EncryptUpdate(c->ctx, out, &n, in, len) != 1 || n != len)
		return -EIO;
	return 0;
}

int tt_anon_cpan_new(struct tt_anon_cpan **out, const uint8_t key[32])
{
	struct tt_anon_cpan *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx) {
		free(c);
		return -ENOMEM;
	}
	if (EVP_EncryptInit_ex(c->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1 || ecb(c, key + BLOCK, c->pad, BLOCK)) {
		tt_anon_cpan_free(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

void tt_anon_cpan_free(struct tt_anon_cpan *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	OPENSSL_cleanse(c->pad, sizeof(c->pad));
	free(c);
}

int tt_anon_cpan(struct tt_anon_cpan *c, const uint8_t *in, uint8_t *out, size_t bytes)
{
	/* The inputs of all rounds depend on the original address only, not on earlier
	 * outputs: build them all and encrypt them in one call (AES-NI pipelines them). */
	uint8_t blocks[128 * BLOCK], enc[128 * BLOCK];
	size_t bits = bytes * 8, pos, i;
	int ret;

	if (bytes != 4 && bytes != 16)
		return -EINVAL;
	for (pos = 0; pos < bits; pos++) {
		uint8_t *b = blocks + pos * BLOCK;

		memcpy(b, c->pad, BLOCK);
		for (i = 0; i < pos / 8; i++)
			b[i] = in[i];
		if (pos % 8) {
			uint8_t m = (uint8_t)(0xff << (8 - pos % 8));

			b[i] = (uint8_t)((in[i] & m) | (c->pad[i] & ~m));
		}
	}
	ret = ecb(c, blocks, enc, (int)(bits * BLOCK));
	OPENSSL_cleanse(blocks, bits * BLOCK);
	if (ret)
		return ret;
	memcpy(out, in, bytes);
	for (pos = 0; pos < bits; pos++)
		out[pos / 8] ^= (uint8_t)((enc[pos * BLOCK] >> 7) << (7 - pos % 8));
	OPENSSL_cleanse(enc, bits * BLOCK);
	return 0;
}
