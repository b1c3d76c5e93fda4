// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Every network namespace of the machine. The socket iterators (iter/tcp, iter/udp) walk the
 * namespace of the process that creates them, so the sampling pass enters each namespace for
 * the moment of creating one there. Namespaces are found anew each pass from the processes
 * in them (/proc/PID/ns/net) and the names `ip netns` gives (/run/netns); none is held open
 * between passes, which would keep a deleted namespace alive.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tt_netns.h"

struct tt_netns_set {
	uint64_t *ino;
	size_t n, cap;
};

static int seen(struct tt_netns_set *set, uint64_t ino)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ino[i] == ino)
			return 1;
	if (set->n == set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 64;
		uint64_t *n = realloc(set->ino, ncap * sizeof(*n));

		if (!n)
			return 1; /* out of memory: this one is skipped */
		set->ino = n;
		set->cap = ncap;
	}
	set->ino[set->n++] = ino;
	return 0;
}

/* Inode of a "net:[4026531840]" link, or 0. */
static uint64_t link_ino(const char *path)
{
	char target[64];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	unsigned long long ino;

	if (n <= 0)
		return 0;
	target[n] = '\0';
	return sscanf(target, "net:[%llu]", &ino) == 1 ? ino : 0;
}

static int visit(struct tt_netns_set *set, const char *path, uint64_t ino, tt_netns_fn fn,
		 void *ctx)
{
	int fd, ret;

	if (!ino || seen(set, ino))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone since, or not ours to see */
	ret = fn(fd, ino, ctx);
	close(fd);
	return ret;
}

int tt_netns_each(uint64_t self_ino, tt_netns_fn fn, void *ctx)
{
	struct tt_netns_set set = {0};
	char path[300];
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	seen(&set, self_ino);
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!ret && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		ret = visit(&set, path, link_ino(path), fn, ctx);
	}
	closedir(dir);
	dir = opendir("/run/netns"); /* `ip netns add` names: a namespace with no process yet */
	while (!ret && dir && (d = readdir(dir))) {
		struct stat sb;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		if (stat(path, &sb) == 0)
			ret = visit(&set, path, sb.st_ino, fn, ctx);
	}
	if (dir)
		closedir(dir);
	free(set.ino);
	return ret;
}

int tt_netns_enter(int ns_fd)
{
	return setns(ns_fd, CLONE_NEWNET) ? -errno : 0;
}
