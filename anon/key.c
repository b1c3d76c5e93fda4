/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Key files: 32 raw bytes or 64 hex digits. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tt_anon.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 hex digits, white space around them allowed (echo adds a newline). */
static int parse_hex(const uint8_t *buf, size_t n, uint8_t *key)
{
	size_t i = 0, j = 0;

	while (i < n && isspace(buf[i]))
		i++;
	while (n > i && isspace(buf[n - 1]))
		n--;
	if (n - i != 2 * TT_ANON_KEY_LEN)
		return -1;
	for (; j < TT_ANON_KEY_LEN; j++, i += 2) {
		int hi = hexval(buf[i]), lo = hexval(buf[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key[j] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int tt_anon_load_key(const char *path, uint8_t key[TT_ANON_KEY_LEN], char *err, size_t errlen)
{
	/* Room for one byte more than the longest valid file with generous white space:
	 * anything that fills it is not a key. */
	uint8_t buf[256];
	size_t n = 0;
	ssize_t r;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!ret) {
		if (n == TT_ANON_KEY_LEN)
			memcpy(key, buf, TT_ANON_KEY_LEN);
		else if (parse_hex(buf, n, key)) {
			snprintf(err, errlen,
				 "%s: not a key: want 32 bytes or 64 hex digits "
				 "(make one with: head -c 32 /dev/urandom > KEYFILE)",
				 path);
			ret = -EINVAL;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return ret;
}
