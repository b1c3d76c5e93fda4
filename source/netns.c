// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Every network namespace of the machine. The socket iterators (iter/tcp, iter/udp) walk the
 * namespace of the process that creates them, so the sampling pass enters each namespace for
 * the moment of creating one there. Namespaces are found anew each pass from the processes
 * in them (/proc/PID/ns/net) and the names `ip netns` gives (/run/netns); none is held open
 * between passes, which would keep a deleted namespace alive. A namespace with neither (a
 * process made sockets there and left, and holds them) is found from the sockets themselves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/sockios.h>

#include "tt_netns.h"
#include "tt_util.h"

struct tt_netns_set {
	uint64_t *ino;
	size_t n, cap;
};

static int seen(struct tt_netns_set *set, uint64_t ino)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ino[i] == ino)
			return 1;
	if (tt_grow(&set->ino, &set->cap, set->n + 1, sizeof(*set->ino), 64))
		return 1; /* out of memory: this one is skipped */
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

/* Whether ino is still wanted; if so it is taken off the list. */
static int take(uint64_t *want, size_t n, uint64_t ino)
{
	for (size_t i = 0; ino && i < n; i++) {
		if (want[i] == ino) {
			want[i] = 0;
			return 1;
		}
	}
	return 0;
}

/* An fd of the namespace of socket FD of process PIDFD (-1 when it cannot be had). */
static int socket_ns(int pidfd, int fd)
{
	int sfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0), ns;

	if (sfd < 0)
		return -1;
	ns = ioctl(sfd, SIOCGSKNS);
	close(sfd);
	return ns;
}

/*
 * Fd FD of process PID, if it is (an fd of) a wanted namespace or a socket in one: an fd of
 * that namespace, taken off the list, its inode in *ino. -1 otherwise. *pidfd is opened at
 * the first socket (-2 once that failed: gone, or Linux < 5.6 without pidfd_getfd).
 */
static int held_ns(int pid, int fd, int *pidfd, uint64_t *want, size_t n, uint64_t *ino)
{
	char path[64], target[64];
	unsigned long long i;
	struct stat sb;
	ssize_t len;
	int ns;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0)
		return -1;
	target[len] = '\0';
	if (sscanf(target, "net:[%llu]", &i) == 1) {
		if (!take(want, n, i))
			return -1;
		*ino = i;
		return open(path, O_RDONLY | O_CLOEXEC);
	}
	if (strncmp(target, "socket:", 7) || *pidfd == -2)
		return -1;
	if (*pidfd < 0 && (*pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		*pidfd = -2;
		return -1;
	}
	ns = socket_ns(*pidfd, fd);
	if (ns < 0)
		return -1;
	if (fstat(ns, &sb) || !take(want, n, sb.st_ino)) {
		close(ns);
		return -1;
	}
	*ino = sb.st_ino;
	return ns;
}

/* Remember where ino was found: the next pass looks there first. */
static void hint_set(struct tt_netns_hint *h, size_t n_h, uint64_t ino, int pid, int fd)
{
	size_t k = 0;

	for (size_t i = 0; i < n_h; i++) {
		if (h[i].ino == ino || !h[i].ino) {
			k = i;
			break;
		}
		k = (size_t)ino % n_h; /* full: one of them goes */
	}
	if (n_h)
		h[k] = (struct tt_netns_hint){ino, pid, fd};
}

/* The fds of process PID: an fd of a wanted namespace, or a socket in one. */
static int held_by(int pid, uint64_t *want, size_t n, size_t *left, struct tt_netns_hint *h,
		   size_t n_h, tt_netns_fn fn, void *ctx)
{
	int pidfd = -1, ret = 0;
	struct dirent *d;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!ret && *left && (d = readdir(dir))) {
		uint64_t ino;
		int fd, ns;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		fd = atoi(d->d_name);
		ns = held_ns(pid, fd, &pidfd, want, n, &ino);
		if (ns < 0)
			continue;
		(*left)--;
		hint_set(h, n_h, ino, pid, fd);
		ret = fn(ns, ino, ctx);
		close(ns);
	}
	if (pidfd >= 0)
		close(pidfd);
	closedir(dir);
	return ret;
}

int tt_netns_find_held(uint64_t *want, size_t n, struct tt_netns_hint *hints, size_t n_hints,
		       tt_netns_fn fn, void *ctx)
{
	struct dirent *d;
	size_t left = 0;
	DIR *dir;
	int ret = 0;

	/* where the last walk found them, first: the full walk only for what moved */
	for (size_t i = 0; i < n_hints && !ret; i++) {
		uint64_t ino;
		int pidfd = -1, ns;

		if (!hints[i].ino)
			continue;
		ns = held_ns(hints[i].pid, hints[i].fd, &pidfd, want, n, &ino);
		if (pidfd >= 0)
			close(pidfd);
		if (ns < 0 || ino != hints[i].ino) {
			if (ns >= 0)
				ret = fn(ns, ino, ctx);
			hints[i].ino = 0;
		} else {
			ret = fn(ns, ino, ctx);
		}
		if (ns >= 0)
			close(ns);
	}
	for (size_t i = 0; i < n; i++)
		left += want[i] != 0;
	if (ret || !left)
		return ret;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!ret && left && (d = readdir(dir)))
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9')
			ret = held_by(atoi(d->d_name), want, n, &left, hints, n_hints, fn, ctx);
	closedir(dir);
	return ret;
}

int tt_netns_enter(int ns_fd)
{
	return setns(ns_fd, CLONE_NEWNET) ? -errno : 0;
}
