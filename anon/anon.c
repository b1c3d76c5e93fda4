/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The anonymizer handle, addresses (cached Crypto-PAn) and events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "anon_int.h"

int tt_anon_new(struct tt_anon **out, const uint8_t key[TT_ANON_KEY_LEN], unsigned flags, char *err,
		size_t errlen)
{
	static const char label[] = "tcptop anonymized names v1";
	struct tt_anon *a = calloc(1, sizeof(*a));
	unsigned len = sizeof(a->name_key);
	int ret;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->flags = flags;
	ret = tt_anon_cpan_new(&a->cpan, key);
	/* Names get their own key, so a name hash never uses the AES key directly. */
	if (!ret && !HMAC(EVP_sha256(), key, TT_ANON_KEY_LEN, (const unsigned char *)label,
			  sizeof(label) - 1, a->name_key, &len))
		ret = -EIO;
	if (ret) {
		snprintf(err, errlen, "%s", ret == -ENOMEM ? "out of memory" : "libcrypto failed");
		tt_anon_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void tt_anon_free(struct tt_anon *a)
{
	if (!a)
		return;
	tt_anon_cpan_free(a->cpan);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static int cached(struct tt_anon *a, const uint8_t *in, uint8_t *out, uint8_t bytes)
{
	uint32_t h = 2166136261u ^ bytes; /* FNV-1a */
	struct anon_slot *s;
	int ret;

	for (unsigned i = 0; i < bytes; i++)
		h = (h ^ in[i]) * 16777619u;
	s = &a->cache[(h ^ h >> 16) % ANON_CACHE];
	if (s->used && s->bytes == bytes && !memcmp(s->in, in, bytes)) {
		memcpy(out, s->out, bytes);
		return 0;
	}
	ret = tt_anon_cpan(a->cpan, in, s->out, bytes);
	if (ret) {
		s->used = 0;
		return ret;
	}
	s->used = 1;
	s->bytes = bytes;
	memcpy(s->in, in, bytes);
	memcpy(out, s->out, bytes);
	return 0;
}

int tt_anon_ipv4(struct tt_anon *a, const uint8_t in[4], uint8_t out[4])
{
	return cached(a, in, out, 4);
}

int tt_anon_ipv6(struct tt_anon *a, const uint8_t in[16], uint8_t out[16])
{
	return cached(a, in, out, 16);
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* An IPv4 address lives in the first 4 bytes; the rest is zeroed, not copied, so no
 * stray original byte survives. Unknown families are treated as 128-bit addresses. */
static int addr(struct tt_anon *a, uint8_t family, uint8_t *b)
{
	size_t n = family == TT_FAMILY_IPV4 ? 4 : TT_ADDR_LEN;
	uint8_t out[TT_ADDR_LEN] = {0};
	int ret;

	/* All zero means "no address" (an unconnected UDP socket, a wildcard bind). */
	if (all_zero(b, n)) {
		memset(b, 0, TT_ADDR_LEN);
		return 0;
	}
	ret = cached(a, b, out, (uint8_t)n);
	if (ret)
		return ret;
	memcpy(b, out, TT_ADDR_LEN);
	return 0;
}

static void comm(struct tt_anon *a, char *c)
{
	char name[TT_COMM_LEN + 1];
	uint32_t h = 2166136261u;
	unsigned slot;

	if (!(a->flags & TT_ANON_COMM))
		return;
	memcpy(name, c, TT_COMM_LEN);
	name[TT_COMM_LEN] = 0;
	memset(c, 0, TT_COMM_LEN);
	for (size_t i = 0; i < TT_COMM_LEN && name[i]; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	slot = (h ^ h >> 16) % ANON_COMM_CACHE;
	if (a->comms[slot].used && !strncmp(a->comms[slot].name, name, TT_COMM_LEN)) {
		memcpy(c, a->comms[slot].token, TT_COMM_LEN);
		return;
	}
	/* "c-" and 8 hex digits: short enough for a column, 32 bits against collisions. */
	tt_anon_name(a, "c-", name, c, 11);
	a->comms[slot].used = 1;
	memcpy(a->comms[slot].name, name, TT_COMM_LEN);
	memcpy(a->comms[slot].token, c, TT_COMM_LEN);
}

/* What anonymizing does to each type of field of the kind table (tt_event_kinds.h). */
#define ANON_U8(an, s, x) 0
#define ANON_U16(an, s, x) 0
#define ANON_U32(an, s, x) 0
#define ANON_U64(an, s, x) 0
#define ANON_S32(an, s, x) 0
#define ANON_ADDR(an, s, x) addr(an, (s)->family, x)
#define ANON_COMM(an, s, x) (comm(an, x), 0)
#define ANON_NAME(an, s, x) 0 /* the kernel's words, not the user's */
#define ANON_FIELD(m, f, type, jpos, label, text, column, sql)                                     \
	if (!ret)                                                                                  \
		ret = ANON_##type(a, &ev->u.m, ev->u.m.f);
#define ANON_KIND(x, id, name, m, scope, cadence)                                                  \
	case TT_EV_##id: TT_EV_FIELDS_##id(ANON_FIELD, m) return ret;

int tt_anon_event(struct tt_anon *a, struct tt_event *ev)
{
	int ret = 0;

	switch (ev->kind) {
		TT_EVENT_KINDS(ANON_KIND, 0)
	default: return 0;
	}
}
