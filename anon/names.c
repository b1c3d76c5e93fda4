/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Names as keyed hashes: process names, the capture header's host fields, the filters text. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "anon_int.h"

void tt_anon_mac(const struct tt_anon *a, const char *domain, const char *name, size_t len,
		 uint8_t mac[32])
{
	unsigned char msg[600];
	size_t dl = strlen(domain), n;
	unsigned mlen = 32;

	/* domain, a 0 byte, the name: "c-" + "x" never meets "c-x" + "". Names longer than
	 * the buffer cannot occur (header strings are at most 512 bytes). */
	n = dl + 1 + len <= sizeof(msg) ? len : sizeof(msg) - dl - 1;
	memcpy(msg, domain, dl);
	msg[dl] = 0;
	memcpy(msg + dl + 1, name, n);
	if (!HMAC(EVP_sha256(), a->name_key, sizeof(a->name_key), msg, dl + 1 + n, mac, &mlen))
		memset(mac, 0, 32); /* cannot happen with SHA-256; never leave the name */
	OPENSSL_cleanse(msg, sizeof(msg));
}

static void name_len(const struct tt_anon *a, const char *prefix, const char *name, size_t len,
		     char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[32];
	size_t pl = strlen(prefix), i;

	if (!outlen)
		return;
	out[0] = 0;
	if (!len || outlen <= pl + 1)
		return;
	tt_anon_mac(a, prefix, name, len, mac);
	memcpy(out, prefix, pl);
	for (i = 0; i < 64 && pl + i + 1 < outlen; i++)
		out[pl + i] = hex[(mac[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[pl + i] = 0;
}

void tt_anon_name(const struct tt_anon *a, const char *prefix, const char *name, char *out,
		  size_t outlen)
{
	name_len(a, prefix, name, strlen(name), out, outlen);
}

struct buf {
	char *p;
	size_t len, pos;
};

static void put(struct buf *b, const char *s, size_t n)
{
	/* Whole tokens only: a token that does not fit is dropped, never cut in the middle. */
	if (b->pos + n + 1 > b->len)
		return;
	memcpy(b->p + b->pos, s, n);
	b->pos += n;
	b->p[b->pos] = 0;
}

static void put_hashed(struct buf *b, const struct tt_anon *a, const char *prefix, const char *s,
		       size_t n, size_t width)
{
	char tok[80];

	name_len(a, prefix, s, n, tok, width + 1);
	put(b, tok, strlen(tok));
}

static int is_word(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && !memcmp(s, w, n);
}

static int is_key(const char *s, size_t n, const char *k)
{
	return n >= strlen(k) && !memcmp(s, k, strlen(k));
}

/* Only digits and commas: a pid= or port= list, which says nothing about anyone. */
static int is_numbers(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == ',' || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/*
 * The filters text is "pid=.. port=.. comm=a,b tcp ipv4 cgroup=PATH" (tt_filter_format):
 * comm names may hold spaces, so a comm list runs up to the next protocol/family word or
 * cgroup=, and the cgroup path runs to the end. Each comm is hashed as the events' comm
 * is, so the header and the events agree. Tokens this code does not know are hashed
 * whatever the flags: a filter added later must not carry a name or address through.
 */
static void filters(const struct tt_anon *a, char *f, size_t flen)
{
	char in[sizeof(((struct tt_fmt_header *)0)->filters)];
	struct buf b = {.p = f, .len = flen};
	int names = a->flags & TT_ANON_COMM;
	const char *s = in, *e;

	snprintf(in, sizeof(in), "%s", f);
	memset(f, 0, flen); /* nothing of the old text may linger past the new NUL */
	while (*s) {
		size_t n;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		e = strchr(s, ' ');
		n = e ? (size_t)(e - s) : strlen(s);
		if (b.pos)
			put(&b, " ", 1);
		if (is_key(s, n, "cgroup=")) {
			n = strlen(s);
			put(&b, "cgroup=", 7);
			if (names)
				put_hashed(&b, a, "g-", s + 7, n - 7, 14);
			else
				put(&b, s + 7, n - 7);
		} else if (is_key(s, n, "comm=")) {
			const char *v = s + 5, *end = s + n;

			/* The list ends before a word tt_filter_format writes after it. */
			while (*end) {
				const char *t = end + 1, *te = strchr(t, ' ');
				size_t tn = te ? (size_t)(te - t) : strlen(t);

				if (is_word(t, tn, "tcp") || is_word(t, tn, "udp") ||
				    is_word(t, tn, "ipv4") || is_word(t, tn, "ipv6") ||
				    is_key(t, tn, "cgroup="))
					break;
				end = t + tn;
			}
			n = (size_t)(end - s);
			put(&b, "comm=", 5);
			while (v < end) {
				const char *c = memchr(v, ',', (size_t)(end - v));
				size_t cn = c ? (size_t)(c - v) : (size_t)(end - v);

				if (v != s + 5)
					put(&b, ",", 1);
				if (names)
					put_hashed(&b, a, "c-", v, cn, 10);
				else
					put(&b, v, cn);
				v += cn + (c != NULL);
			}
		} else if ((is_key(s, n, "pid=") && is_numbers(s + 4, n - 4)) ||
			   (is_key(s, n, "port=") && is_numbers(s + 5, n - 5)) ||
			   is_word(s, n, "tcp") || is_word(s, n, "udp") || is_word(s, n, "ipv4") ||
			   is_word(s, n, "ipv6")) {
			put(&b, s, n);
		} else {
			put_hashed(&b, a, "f-", s, n, 10);
		}
		s += n;
	}
	OPENSSL_cleanse(in, sizeof(in));
}

void tt_anon_header(const struct tt_anon *a, struct tt_fmt_header *h)
{
	static const char hex[] = "0123456789abcdef";
	char host[sizeof(h->hostname)];
	uint8_t mac[32];

	/* 48 bits: a fleet of 100 000 hosts collides with odds of about 2 in 100 000. */
	snprintf(host, sizeof(host), "%s", h->hostname);
	memset(h->hostname, 0, sizeof(h->hostname));
	tt_anon_name(a, "h-", host, h->hostname, 15);
	OPENSSL_cleanse(host, sizeof(host));
	if (h->boot_id[0]) {
		/* Still shaped like a boot id (8-4-4-4-12), so tools that parse one keep working.
		 */
		size_t j = 0;

		tt_anon_mac(a, "boot_id", h->boot_id, strnlen(h->boot_id, sizeof(h->boot_id)), mac);
		memset(h->boot_id, 0, sizeof(h->boot_id));
		for (size_t i = 0; i < 32; i++) {
			if (i == 8 || i == 12 || i == 16 || i == 20)
				h->boot_id[j++] = '-';
			h->boot_id[j++] = hex[(mac[i / 2] >> (i % 2 ? 0 : 4)) & 15];
		}
	}
	filters(a, h->filters, sizeof(h->filters));
}
