/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The network namespaces of the machine, for the live source's sampling pass (source/netns.c). */
#ifndef TT_NETNS_H
#define TT_NETNS_H

#include <stdint.h>

/* Called with an fd of the namespace (closed after) and its inode; non-zero stops the walk. */
typedef int (*tt_netns_fn)(int ns_fd, uint64_t ino, void *ctx);

/*
 * Call fn once for each network namespace other than SELF_INO that a process is in or that
 * /run/netns names. Returns fn's non-zero value, 0, or -errno if /proc cannot be read.
 */
int tt_netns_each(uint64_t self_ino, tt_netns_fn fn, void *ctx);

/* Where a namespace no process is in was found last: fd FD of process PID (ino 0: none). */
struct tt_netns_hint {
	uint64_t ino;
	int pid;
	int fd;
};

/*
 * Find the namespaces WANT lists (inodes), which no process is in and /run/netns does not
 * name: kept alive by the sockets a process made there before it left, or by an fd of theirs.
 * The HINTS (kept by the caller between calls, zeroed at first) are tried first; the rest
 * takes a walk over every process's fds (a socket's namespace through pidfd_getfd and
 * SIOCGSKNS), which updates them. fn is called once for each found, whose entry is set to 0.
 * Returns fn's non-zero value, 0, or -errno.
 */
int tt_netns_find_held(uint64_t *want, size_t n, struct tt_netns_hint *hints, size_t n_hints,
		       tt_netns_fn fn, void *ctx);

/* Move the calling thread into the namespace of NS_FD. 0 or -errno. */
int tt_netns_enter(int ns_fd);

#endif /* TT_NETNS_H */
