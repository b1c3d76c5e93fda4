/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_anon: anonymized copies of captures, for sharing (docs/SHARING.md).
 *
 * Addresses go through Crypto-PAn (Xu, Fan, Ammar, Moon 2002): a keyed
 * bijection that preserves prefixes (two addresses sharing their first n bits
 * map to two addresses sharing exactly their first n bits), so subnets stay
 * subnets. IPv4 is the original 32-bit construction (it reproduces the
 * reference distribution's sample trace); IPv6 is the same construction over
 * 128 bits. Names (hostname, boot id, and process names when asked) become a
 * keyed hash (HMAC-SHA-256): the same name gives the same token under the same
 * key, so grouping by host or by process still works. Ports, pids, counters
 * and times are not touched.
 *
 * The key is 32 bytes: 16 for AES-128, 16 that make the pad, as in the
 * reference implementation. Key files hold them raw or as 64 hex digits.
 *
 * Conventions: opaque handle, free accepts NULL, negative errno plus a
 * one-line message in the caller's err buffer.
 */
#ifndef TT_ANON_H
#define TT_ANON_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"
#include "tt_fmt.h"

#define TT_ANON_KEY_LEN 32

/* tt_anon_new() flags */
#define TT_ANON_COMM (1u << 0) /* also hash process names (comm) and the comm/cgroup filters */

struct tt_anon;

/*
 * Read a key file: exactly 32 bytes, or 64 hex digits (surrounding white
 * space allowed). Returns 0, or -errno from open/read, or -EINVAL with a
 * message saying how to make a key.
 */
int tt_anon_load_key(const char *path, uint8_t key[TT_ANON_KEY_LEN], char *err, size_t errlen);

/* Returns 0 and a new anonymizer, -ENOMEM, or -EIO when libcrypto fails (message in err). */
int tt_anon_new(struct tt_anon **out, const uint8_t key[TT_ANON_KEY_LEN], unsigned flags, char *err,
		size_t errlen);
void tt_anon_free(struct tt_anon *a);

/* Crypto-PAn of one address, network byte order. Returns 0 or -EIO (libcrypto failed). */
int tt_anon_ipv4(struct tt_anon *a, const uint8_t in[4], uint8_t out[4]);
int tt_anon_ipv6(struct tt_anon *a, const uint8_t in[16], uint8_t out[16]);

/*
 * Keyed hash of a name as "<prefix><hex>" (hex digits: as many as fit out,
 * at most 32), e.g. ("c-", "nginx") -> "c-1a2b3c4d" in a 11-byte buffer. The
 * prefix also separates the domains: a host and a process of the same name
 * get unrelated tokens. An empty name stays empty.
 */
void tt_anon_name(const struct tt_anon *a, const char *prefix, const char *name, char *out,
		  size_t outlen);

/*
 * Rewrite one event in place: both addresses of a CONN_OPEN (all-zero
 * addresses, which mean "none", stay zero) and, with TT_ANON_COMM, the comm of
 * CONN_OPEN and of the process kinds. Returns 0 or -EIO.
 */
int tt_anon_event(struct tt_anon *a, struct tt_event *ev);

/*
 * Rewrite a capture header in place: hostname and boot_id become keyed
 * hashes; with TT_ANON_COMM the comm= and cgroup= values of the filters text
 * too. Kernel release, probes, mode and clocks stay.
 */
void tt_anon_header(const struct tt_anon *a, struct tt_fmt_header *h);

#endif /* TT_ANON_H */
