// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Socket owners from /proc. A scan reads every /proc/PID/fd it may; a socket several processes
 * hold (a forked child) keeps the first found, the lowest pid, most often the parent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sd_owners.h"
#include "tt_u64map.h"

struct entry {
	uint64_t inode; /* key */
	struct tt_sd_owner own;
};

struct tt_sd_owners {
	struct tt_u64map t; /* socket inode -> struct entry */
	uint64_t scans;
};

int tt_sd_owners_new(struct tt_sd_owners **out)
{
	struct tt_sd_owners *o = calloc(1, sizeof(*o));

	*out = NULL;
	if (!o || tt_u64map_init(&o->t, sizeof(struct entry), 256)) {
		free(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

void tt_sd_owners_free(struct tt_sd_owners *o)
{
	if (!o)
		return;
	tt_u64map_free(&o->t);
	free(o);
}

static void read_comm(int pid_dir, char *comm)
{
	int fd = openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, comm, TT_COMM_LEN - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* The sockets of one process; -ENOMEM stops the scan. */
static int scan_pid(struct tt_sd_owners *o, int proc_fd, const char *name, uint32_t pid)
{
	int pid_dir = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd_dir = pid_dir < 0 ? -1 : openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char comm[TT_COMM_LEN] = "";
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (fd_dir < 0) {
		/* gone, or another user's (EACCES): not ours to name */
		if (pid_dir >= 0)
			close(pid_dir);
		return 0;
	}
	dir = fdopendir(fd_dir);
	if (!dir) {
		close(fd_dir);
		close(pid_dir);
		return 0;
	}
	while (!ret && (d = readdir(dir))) {
		char target[64];
		ssize_t n = readlinkat(fd_dir, d->d_name, target, sizeof(target) - 1);
		unsigned long ino;
		struct entry *e;
		void *v;
		int fresh;

		if (n < 9 || strncmp(target, "socket:[", 8))
			continue;
		target[n] = '\0';
		if (sscanf(target + 8, "%lu]", &ino) != 1 || !ino)
			continue;
		fresh = tt_u64map_put(&o->t, ino, &v);
		if (fresh < 0) {
			ret = -ENOMEM;
			break;
		}
		e = v;
		e->inode = ino;
		if (!fresh)
			continue;
		if (!comm[0])
			read_comm(pid_dir, comm);
		e->own.pid = pid;
		memcpy(e->own.comm, comm, TT_COMM_LEN);
	}
	closedir(dir);
	close(pid_dir);
	return ret;
}

int tt_sd_owners_scan(struct tt_sd_owners *o)
{
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (proc_fd < 0)
		return -errno;
	dir = fdopendir(proc_fd);
	if (!dir) {
		ret = -errno;
		close(proc_fd);
		return ret;
	}
	tt_u64map_free(&o->t); /* anew each scan: a closed socket's inode owns nothing */
	if (tt_u64map_init(&o->t, sizeof(struct entry), 256)) {
		closedir(dir);
		return -ENOMEM;
	}
	o->scans++;
	while (!ret && (d = readdir(dir))) {
		char *end;
		unsigned long pid = strtoul(d->d_name, &end, 10);

		if (d->d_name[0] < '1' || d->d_name[0] > '9' || *end)
			continue;
		ret = scan_pid(o, proc_fd, d->d_name, pid);
	}
	closedir(dir);
	return ret;
}

int tt_sd_owners_find(const struct tt_sd_owners *o, uint32_t inode, struct tt_sd_owner *out)
{
	const struct entry *e = tt_u64map_get(&o->t, inode);

	if (!e)
		return 0;
	*out = e->own;
	return 1;
}

uint64_t tt_sd_owners_scans(const struct tt_sd_owners *o)
{
	return o->scans;
}
