// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of where the recorder's files go (record/files.c): names, creation, the -W ring
 * (checked, or held open from the start with -Z) and the cleanup of a failed start. One line
 * per check, exit 1 on any failure.
 *
 * Oracle: the file system itself (lstat, inode numbers, sizes, modes) in a fresh directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../record/files.h"
#include "check.h"

static char dir[] = "/tmp/tt-test-files-XXXXXX";
static char cap_path[256]; /* the options hold the path: it must outlive at()'s buffers */

static const char *at(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int exists(const char *name)
{
	struct stat st;

	return lstat(at(name), &st) == 0;
}

static ino_t ino_of(const char *name)
{
	struct stat st;

	return lstat(at(name), &st) == 0 ? st.st_ino : 0;
}

static void put(const char *name, const char *text)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		perror(name);
	if (fd >= 0)
		close(fd);
}

static void clean(void)
{
	const char *names[] = {"cap", "cap.1", "cap.2", "cap.3", "cap.4", "link"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(at(names[i]));
}

static struct tt_rec_opts opts(unsigned max_files, const char *user, int force)
{
	struct tt_rec_opts o = {0};

	o.path = cap_path;
	o.rotate_ns = 1000000000ULL;
	o.max_files = max_files;
	o.user = user;
	o.force = force;
	return o;
}

static void test_names(void)
{
	struct tt_rec_opts o = opts(0, NULL, 0);
	struct tt_rec_files *f;
	char path[4096], err[256];
	int fd, ok = 1;

	clean();
	check(tt_rec_files_new(&f, &o, err, sizeof(err)) == 0 && exists("cap"),
	      "the first file is made at once");
	fd = tt_rec_files_take_first(f);
	check(fd >= 0 && tt_rec_files_take_first(f) == -1, "the first fd is given once");
	close(fd);
	for (unsigned n = 1; n <= 3; n++) {
		char want[16];

		snprintf(want, sizeof(want), "cap.%u", n);
		fd = tt_rec_files_open(f, n, path, sizeof(path), err, sizeof(err));
		ok &= fd >= 0 && !strcmp(path, at(want)) && exists(want);
		if (fd >= 0)
			close(fd);
	}
	check(ok, "without -W: FILE, FILE.1, FILE.2, FILE.3");
	fd = tt_rec_files_open(f, 2, path, sizeof(path), err, sizeof(err));
	check(fd == -EEXIST && strstr(err, "file exists"), "a name made already is not replaced");
	tt_rec_files_unmake(f, at("cap.3"));
	check(!exists("cap.3"), "a file not used after all is removed (no ring held)");
	tt_rec_files_free(f);

	/* -W 3 without -Z: the ring wraps over the names it made */
	clean();
	o = opts(3, NULL, 0);
	ok = tt_rec_files_new(&f, &o, err, sizeof(err)) == 0;
	close(tt_rec_files_take_first(f));
	for (unsigned n = 1; n <= 4 && ok; n++) {
		fd = tt_rec_files_open(f, n, path, sizeof(path), err, sizeof(err));
		ok = fd >= 0 && !strcmp(path, at(n % 3 ? (n % 3 == 1 ? "cap.1" : "cap.2") : "cap"));
		if (fd >= 0)
			close(fd);
	}
	check(ok && !exists("cap.3"), "-W 3: FILE, FILE.1, FILE.2, then FILE and FILE.1 again");
	tt_rec_files_free(f);
}

static void test_refusals(void)
{
	struct tt_rec_opts o = opts(0, NULL, 0);
	struct tt_rec_files *f = NULL;
	char err[256];
	struct stat st;
	int ret;

	clean();
	put("cap", "keep");
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == -EEXIST && !f && lstat(at("cap"), &st) == 0 && st.st_size == 4,
	      "an existing file is refused and kept (%d: %s)", ret, err);
	o.force = 1;
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == 0 && lstat(at("cap"), &st) == 0 && st.st_size == 0 &&
		  (st.st_mode & 0777) == 0600,
	      "-f replaces it, mode 0600");
	tt_rec_files_free(f);

	clean();
	put("link", "target");
	if (symlink(at("link"), at("cap")) < 0)
		perror("symlink");
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == -ELOOP && lstat(at("link"), &st) == 0 && st.st_size == 6,
	      "never written through a symbolic link, even with -f (%d)", ret);

	/* -W without -Z: a name of the ring that exists is found at the start */
	clean();
	put("cap.2", "old");
	o = opts(3, NULL, 0);
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == -EEXIST && strstr(err, "cap.2") && !exists("cap") && exists("cap.2"),
	      "-W: an existing ring name refused at the start, no file left behind");
	o.force = 1;
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == 0 && exists("cap") && !exists("cap.1"), "-W -f: the ring's names not checked");
	tt_rec_files_free(f);

	clean();
	o = opts(257, "nobody", 0);
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == -E2BIG && !exists("cap") && !exists("cap.1"),
	      "-Z -W 257: refused, no file left behind (%s)", err);

	/* -Z -W: a ring file that cannot be made undoes the others */
	clean();
	put("cap.2", "old");
	o = opts(4, "nobody", 0);
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == -EEXIST && !exists("cap") && !exists("cap.1") && !exists("cap.3") &&
		  exists("cap.2"),
	      "-Z -W: a ring file refused removes what was made, keeps what was there");
}

static void test_held_ring(void)
{
	struct tt_rec_opts o = opts(4, "nobody", 0);
	struct tt_rec_files *f;
	char path[4096], err[256];
	ino_t ino1;
	struct stat st;
	int fd, ret;

	clean();
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	check(ret == 0 && exists("cap") && exists("cap.1") && exists("cap.2") && exists("cap.3"),
	      "-Z -W 4: the whole ring made at the start, as root");
	ino1 = ino_of("cap.1");
	close(tt_rec_files_take_first(f));
	fd = tt_rec_files_open(f, 1, path, sizeof(path), err, sizeof(err));
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino1 && !strcmp(path, at("cap.1")),
	      "file 1 is the held FILE.1");
	if (write(fd, "data", 4) != 4)
		perror("write");
	close(fd);
	unlink(at("cap.1")); /* the held file is reused by its fd, whatever its name became */
	fd = tt_rec_files_open(f, 5, path, sizeof(path), err, sizeof(err));
	check(fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino1 && st.st_size == 0 &&
		  lseek(fd, 0, SEEK_CUR) == 0,
	      "file 5 reuses slot 1, emptied");
	close(fd);
	put("cap.1", "x");
	check(tt_rec_files_next_unused(f, 1) == 2, "slots 2 and 3 not reached yet");
	tt_rec_files_unmake(f, at("cap.1"));
	check(exists("cap.1"), "a held ring file is not removed when not used");
	tt_rec_files_remove_unused(f);
	check(!exists("cap.2") && !exists("cap.3") && tt_rec_files_next_unused(f, 1) == 0,
	      "the ring files never reached are removed at the end");
	tt_rec_files_free(f);

	/* a failed start: the first file goes too, unless something was written to it */
	clean();
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	tt_rec_files_abort(f, 0);
	tt_rec_files_free(f);
	check(ret == 0 && !exists("cap") && !exists("cap.1") && !exists("cap.3"),
	      "abort before writing: every file made is removed");
	ret = tt_rec_files_new(&f, &o, err, sizeof(err));
	tt_rec_files_abort(f, 1);
	tt_rec_files_free(f);
	check(ret == 0 && exists("cap") && !exists("cap.1"),
	      "abort after writing: the first file kept, the unused ring removed");
}

static void test_share_like(void)
{
	int a, b;
	struct stat st;

	clean();
	a = open(at("cap"), O_RDWR | O_CREAT, 0600);
	b = open(at("cap.1"), O_RDWR | O_CREAT, 0600);
	tt_rec_files_share_like(a, b);
	check(fstat(b, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "a private file's next stays 0600");
	fchmod(a, 0644);
	tt_rec_files_share_like(a, b);
	check(fstat(b, &st) == 0 && (st.st_mode & 0777) == 0644,
	      "g+r o+r of the file written goes to the next");
	fchmod(a, 0666);
	fchmod(b, 0600);
	tt_rec_files_share_like(a, b);
	check(fstat(b, &st) == 0 && (st.st_mode & 0777) == 0644, "never more than reading");
	close(a);
	close(b);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cap_path, sizeof(cap_path), "%s/cap", dir);
	test_names();
	test_refusals();
	test_held_ring();
	test_share_like();
	clean();
	rmdir(dir);
	return failures ? 1 : 0;
}
