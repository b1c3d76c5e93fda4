// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The BPF source's iterators and namespace walks: run an iterator link once, in our own
 * network namespace and in every other one of the machine (entered for the moment of the
 * iterator's creation, or found through the sockets kept in one no process is in), and remember
 * which namespaces the last walk read to its end. It calls nothing of the run loop: the
 * sampling pass (src_run.c), the UDP flush (udp.c) and the close finder (tcp_gone.c) call it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcptop.skel.h"
#include "src_int.h"
#include "tt_netns.h"
#include "tt_util.h"

/*
 * Read an iterator's fd to its end and close it; the output (if buf) is appended at *used.
 * The kernel ends a read() with EAGAIN after a million objects that wrote nothing
 * (MAX_ITER_OBJECTS, kernel/bpf/bpf_iter.c bpf_seq_read): the walk goes on at the next read,
 * and our programs write their findings to maps and the ring buffer, not to the output.
 */
static int read_iter(int fd, char **buf, size_t *cap, size_t *used)
{
	ssize_t n;

	for (;;) {
		if (buf && tt_grow(buf, cap, *used + 4096, 1, 65536)) {
			close(fd);
			return -ENOMEM;
		}
		if (buf) {
			n = read(fd, *buf + *used, *cap - *used);
		} else {
			char scratch[4096];

			n = read(fd, scratch, sizeof(scratch));
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		*used += n;
	}
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Run an iterator once; its text output (if any) goes into buf. Returns bytes read or -errno. */
int tt_src_run_iter(struct tt_src *s, struct bpf_link *l, char **buf, size_t *cap)
{
	int fd = bpf_iter_create(bpf_link__fd(l)), ret;
	size_t used = 0;

	if (fd < 0)
		return -errno;
	tt_src_copy_begin(s);
	ret = read_iter(fd, buf, cap, &used);
	tt_src_copy_end(s);
	return ret ? ret : (int)used;
}

struct iter_pass {
	struct tt_src *s;
	struct bpf_link *link;
	tt_src_ns_want want;
	void *arg;
	char **buf;
	size_t *cap, used;
	uint64_t *seen; /* every namespace the walk met, wanted or not */
	size_t n_seen, cap_seen;
};

static void note_seen(struct iter_pass *ip, uint64_t ino)
{
	if (ip->n_seen == ip->cap_seen) {
		size_t ncap = ip->cap_seen ? ip->cap_seen * 2 : 64;
		uint64_t *n = realloc(ip->seen, ncap * sizeof(*n));

		if (!n)
			return; /* then it may be looked for again among the held ones */
		ip->seen = n;
		ip->cap_seen = ncap;
	}
	ip->seen[ip->n_seen++] = ino;
}

/* In one other namespace: create the iterator there, come back, read it here. */
static int iter_in_ns(int ns_fd, uint64_t ino, void *ctx)
{
	struct iter_pass *ip = ctx;
	struct tt_src *s = ip->s;
	int fd, ret;

	note_seen(ip, ino);
	if (ip->want && !ip->want(s, ino, ip->arg))
		return 0;
	ret = tt_netns_enter(ns_fd);
	if (ret) {
		char why[160];

		snprintf(why, sizeof(why), "cannot enter other network namespaces: %s",
			 strerror(-ret));
		s->other_ns = 0;
		tt_source_cap_set(s->h, TT_CAP_NETNS, TT_SOURCE_CAP_MISSING, why);
		return 1;
	}
	fd = bpf_iter_create(bpf_link__fd(ip->link));
	ret = fd < 0 ? -errno : 0;
	ret = tt_netns_enter(s->self_ns_fd);
	if (ret) {
		/* cannot happen for root; if it did, every later pass would sample the wrong one */
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (fd < 0)
		return 0; /* a namespace on its way out */
	ret = read_iter(fd, ip->buf, ip->cap, &ip->used);
	/* walked: only a namespace read to its end (tcp_gone.c closes what it did not find) */
	if (!ret && s->n_ns < TT_SRC_MAX_NS)
		s->ns_ino[s->n_ns++] = (uint32_t)ino;
	return ret == -ENOMEM ? -ENOMEM : 0;
}

/* Add ino to the namespaces to look for: one with connections that the walk did not meet. */
static void add_missing(struct tt_src *s, const struct iter_pass *ip, uint64_t ino, uint64_t *miss,
			size_t *n)
{
	if (!ino || ino == s->netns || *n == TT_SRC_MAX_NS)
		return;
	for (size_t i = 0; i < ip->n_seen; i++)
		if (ip->seen[i] == ino)
			return;
	for (size_t i = 0; i < *n; i++)
		if (miss[i] == ino)
			return;
	if (!ip->want || ip->want(s, ino, ip->arg))
		miss[(*n)++] = ino;
}

/*
 * Namespaces the programs saw connections in (TCP: ns_tcp; UDP: the flows' last flush) that
 * no process is in and /run/netns does not name: found through the sockets kept there.
 */
static void walk_held(struct tt_src *s, struct iter_pass *ip)
{
	int fd = bpf_map__fd(s->skel->maps.ns_tcp);
	uint64_t *miss = malloc(TT_SRC_MAX_NS * sizeof(*miss));
	uint32_t key, next, *prev = NULL;
	size_t n = 0;
	int64_t open;

	if (!miss)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &open) == 0 && open > 0)
			add_missing(s, ip, key, miss, &n);
	}
	for (size_t i = 0; i < s->n_udp_ns; i++)
		add_missing(s, ip, s->udp_ns[i], miss, &n);
	if (n)
		tt_netns_find_held(miss, n, s->held, sizeof(s->held) / sizeof(s->held[0]),
				   iter_in_ns, ip);
	free(miss);
}

int tt_src_run_iter_all(struct tt_src *s, struct bpf_link *l, char **buf, size_t *cap,
			tt_src_ns_want want, void *arg)
{
	struct iter_pass ip = {.s = s, .link = l, .want = want, .arg = arg, .buf = buf, .cap = cap};
	int fd = bpf_iter_create(bpf_link__fd(l)), ret;

	if (fd < 0)
		return -errno;
	tt_src_copy_begin(s);
	ret = read_iter(fd, buf, cap, &ip.used);
	if (!ret) {
		s->n_ns = 0;
		if (s->other_ns && tt_netns_each(s->netns, iter_in_ns, &ip) != -ENOMEM &&
		    s->other_ns)
			walk_held(s, &ip);
	}
	tt_src_copy_end(s);
	free(ip.seen);
	return ret ? ret : (int)ip.used;
}

int tt_src_ns_has_tcp(struct tt_src *s, uint64_t ino, void *arg)
{
	uint32_t key = (uint32_t)ino;
	int64_t n = 0;

	(void)arg;
	if (s->skel->bss->ns_tcp_full)
		return 1;
	return bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.ns_tcp), &key, &n) == 0 && n > 0;
}

/* Whether the last pass over every namespace walked this one. */
int tt_src_ns_walked(const struct tt_src *s, uint32_t netns)
{
	if (netns == s->netns)
		return 1;
	for (size_t i = 0; i < s->n_ns; i++)
		if (s->ns_ino[i] == netns)
			return 1;
	return 0;
}
