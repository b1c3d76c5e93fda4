// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tcptop-record: capture connection events from the kernel into a .tt file.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tt_fmt.h"
#include "tt_source.h"
#include "tt_util.h"
#include "tt_rec.h"

static const char *prog = "tcptop-record";

static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t dump_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void on_usr1(int sig)
{
	(void)sig;
	dump_sig = 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: %s -o FILE|- [options]\n"
	    "Record TCP and UDP connection events into a tcptop capture.\n\n"
	    "  -o, --output FILE    capture file, '-' for stdout (created 0600, never replaced\n"
	    "                       unless -f)\n"
	    "  -d, --duration TIME  stop after TIME (10, 1.5s, 250ms, 2m)\n"
	    "  -C, --file-size N    start a new file when this one exceeds N million bytes, or\n"
	    "                       N KiB / MiB / GiB with a k / m / g suffix (as tcpdump -C)\n"
	    "  -G, --rotate TIME    start a new file every TIME\n"
	    "  -W, --files N        with -C/-G keep a ring of N files: FILE, FILE.1 ... FILE.N-1,\n"
	    "                       then FILE again (without -W: FILE, FILE.1, FILE.2 ...)\n"
	    "      --flight TIME    keep only the last TIME of events in memory; write them to\n"
	    "                       FILE on SIGUSR1 (FILE.1, FILE.2 ...) and at exit\n"
	    "  -Z, --user USER      drop root privileges to USER once the probes are attached;\n"
	    "                       with -W the ring's files are opened before, otherwise USER\n"
	    "                       must be able to create the later files (-C/-G, --flight)\n"
	    "      --check          record nothing: load every probe and say, for each\n"
	    "                       capability, ok or what is missing on this kernel and why\n"
	    "  -q, --quiet          no statistics at exit\n"
	    "  -f, --force          replace existing files\n"
	    "  -v, --verbose        libbpf messages\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        version\n"
	    "Source:\n" TT_SOURCE_HELP "Filters:\n" TT_FILTER_HELP,
	    prog);
}

enum {
	OPT_FLIGHT = 0x2001,
	OPT_DUMP,
	OPT_CHECK,
};

/* -C as tcpdump reads it: N million bytes, or N KiB / MiB / GiB with a k / m / g suffix. */
static int parse_file_size(const char *arg, uint64_t *bytes)
{
	char num[32];
	size_t n = strlen(arg);
	uint64_t unit = 1000000, v;

	if (!n || n >= sizeof(num))
		return -1;
	switch (arg[n - 1]) {
	case 'k':
	case 'K':
		unit = 1ULL << 10;
		n--;
		break;
	case 'm':
	case 'M':
		unit = 1ULL << 20;
		n--;
		break;
	case 'g':
	case 'G':
		unit = 1ULL << 30;
		n--;
		break;
	}
	memcpy(num, arg, n);
	num[n] = '\0';
	if (strspn(num, "0123456789") != n || tt_parse_u64(num, 1, (1000000ULL << 20) / unit, &v))
		return -1;
	*bytes = v * unit;
	return 0;
}

/* Leading ':': a missing value is reported as ':', not as an unknown option. */
#define SHORTOPTS ":o:d:C:G:W:Z:qfvhV" TT_FILTER_SHORTOPTS

static void parse(int argc, char **argv, struct tt_rec_opts *o, char *skip, size_t skiplen)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"duration", required_argument, NULL, 'd'},
	    {"file-size", required_argument, NULL, 'C'},
	    {"rotate", required_argument, NULL, 'G'},
	    {"files", required_argument, NULL, 'W'},
	    {"flight", required_argument, NULL, OPT_FLIGHT},
	    {"user", required_argument, NULL, 'Z'},
	    {"dump-events", no_argument, NULL, OPT_DUMP}, /* debugging, undocumented */
	    {"check", no_argument, NULL, OPT_CHECK},
	    {"quiet", no_argument, NULL, 'q'},
	    {"force", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    TT_SOURCE_LONGOPTS,
	    TT_FILTER_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	char err[256];
	uint64_t v;
	int c, r;

	opterr = 0; /* one line of our own instead of getopt's */

	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		r = tt_filter_getopt(&o->src.filter, c, optarg, err, sizeof(err));
		if (!r)
			r = tt_source_getopt(&o->src, skip, skiplen, c, optarg, err, sizeof(err));
		if (r < 0)
			tt_die(prog, TT_EXIT_USAGE, "%s", err);
		if (r > 0)
			continue;
		switch (c) {
		case 'o': o->path = optarg; break;
		case 'd':
			if (tt_parse_duration_ns(optarg, &o->duration_ns) || !o->duration_ns)
				tt_die(prog, TT_EXIT_USAGE, "bad duration '%s'", optarg);
			break;
		case 'C':
			if (parse_file_size(optarg, &o->rotate_bytes))
				tt_die(prog, TT_EXIT_USAGE,
				       "bad file size '%s' (millions of bytes, or with k/m/g)",
				       optarg);
			break;
		case 'G':
			if (tt_parse_duration_ns(optarg, &o->rotate_ns) ||
			    o->rotate_ns < 1000000000)
				tt_die(prog, TT_EXIT_USAGE, "bad rotation time '%s' (>= 1s)",
				       optarg);
			break;
		case 'W':
			if (tt_parse_u64(optarg, 1, 100000, &v))
				tt_die(prog, TT_EXIT_USAGE, "bad file count '%s'", optarg);
			o->max_files = v;
			break;
		case OPT_FLIGHT:
			if (tt_parse_duration_ns(optarg, &o->flight_ns) || !o->flight_ns)
				tt_die(prog, TT_EXIT_USAGE, "bad flight duration '%s'", optarg);
			break;
		case 'Z': o->user = optarg; break;
		case OPT_DUMP: o->dump = 1; break;
		case OPT_CHECK: o->src.check_all = 1; break;
		case 'q': o->quiet = 1; break;
		case 'f': o->force = 1; break;
		case 'v': o->src.verbose = 1; break;
		case 'h': usage(stdout); exit(TT_EXIT_OK);
		case 'V': printf("%s tcptop %s\n", prog, TT_VERSION); exit(TT_EXIT_OK);
		default: tt_getopt_fail(prog, c, argv, SHORTOPTS);
		}
	}
	if (optind < argc)
		tt_die(prog, TT_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	/* both follow the recorder's own clock, and a pcap is read as fast as it can be */
	if (o->src.source == TT_SOURCE_PCAP && (o->rotate_ns || o->flight_ns))
		tt_die(prog, TT_EXIT_USAGE,
		       "%s keeps time by the recorder's clock, and a pcap is read at once: -C "
		       "rotates it by size, tcptop-replay -o --from --to cuts its result by time",
		       o->rotate_ns ? "-G" : "--flight");
	if (tt_source_reads_file(o->src.source) && !tt_filter_is_empty(&o->src.filter))
		tt_die(prog, TT_EXIT_USAGE,
		       "filters do not apply to a capture source: tcptop-replay -o cuts one by "
		       "filter");
	if (o->src.check_all) {
		if (o->path)
			tt_die(prog, TT_EXIT_USAGE, "--check records nothing: no -o");
		return;
	}
	if (!o->path)
		tt_die(prog, TT_EXIT_USAGE, "no output: use -o FILE or -o -");
	if ((o->rotate_bytes || o->rotate_ns) && !strcmp(o->path, "-"))
		tt_die(prog, TT_EXIT_USAGE, "-C/-G need a file, not stdout");
	if (o->max_files && !o->rotate_bytes && !o->rotate_ns)
		tt_die(prog, TT_EXIT_USAGE, "-W needs -C or -G");
	if (o->flight_ns && !strcmp(o->path, "-"))
		tt_die(prog, TT_EXIT_USAGE, "--flight needs a file, not stdout");
	if (o->flight_ns && (o->rotate_bytes || o->rotate_ns))
		tt_die(prog, TT_EXIT_USAGE, "--flight cannot be combined with -C/-G");
}

/* setgroups, setgid, setuid, in that order; checked, since failing open is worse. */
static int drop_root(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid)) {
		snprintf(err, errlen, "cannot drop root privileges: %s", strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "could regain root after dropping it");
		return -1;
	}
	return 0;
}

/*
 * Files made after -Z (rotation without -W, flight dumps) are created as USER:
 * find out now, in a child that drops root, whether USER may create them.
 */
static void check_user_dir(const char *path, uid_t uid, gid_t gid, const char *user)
{
	char copy[4096], *dir, err[256];
	int status;
	pid_t pid;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	pid = fork();
	if (pid < 0)
		tt_die(prog, TT_EXIT_ERROR, "fork: %s", strerror(errno));
	if (!pid)
		_exit(drop_root(uid, gid, err, sizeof(err)) || access(dir, W_OK | X_OK) ? 1 : 0);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		tt_die(prog, TT_EXIT_ERROR,
		       "-Z %s: %s cannot create files in %s (needed after dropping root; -W N "
		       "opens a ring of files before)",
		       user, user, dir);
}

/* --check: what this kernel offers, as `bpftool feature probe` would say it. */
static int check(struct tt_rec_opts *o)
{
	struct tt_source *src;
	struct utsname u;
	char err[512], fallback[600];
	int ret = tt_source_open(&src, &o->src, fallback, sizeof(fallback), err, sizeof(err));

	if (ret)
		tt_die(prog, tt_source_exit_code(ret, &o->src), "%s", err);
	if (fallback[0])
		tt_warn(prog, "%s", fallback);
	uname(&u);
	printf("kernel          %s\n", u.release);
	tt_source_print_check(src, stdout);
	tt_source_close(src);
	return TT_EXIT_OK;
}

/*
 * Whether the source still works once root is dropped (kernels before 5.19 may refuse map reads
 * and iterators then): found out in a child that drops it, so that a refusal leaves no file
 * behind, which USER may not be allowed to remove.
 */
static void check_after_drop(struct tt_source *src, struct tt_rec *r, uid_t uid, gid_t gid)
{
	char err[512] = "";
	int fds[2], status = 0;
	ssize_t n = 0;
	pid_t pid;

	if (pipe(fds))
		tt_die(prog, TT_EXIT_ERROR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tt_die(prog, TT_EXIT_ERROR, "fork: %s", strerror(errno));
	if (!pid) {
		close(fds[0]);
		if (!drop_root(uid, gid, err, sizeof(err)))
			tt_source_after_drop(src, err, sizeof(err));
		_exit(err[0] && write(fds[1], err, strlen(err)) >= 0 ? 1 : 0);
	}
	close(fds[1]);
	n = read(fds[0], err, sizeof(err) - 1);
	close(fds[0]);
	err[n > 0 ? n : 0] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		tt_rec_abort(r);
		tt_source_close(src);
		tt_die(prog, TT_EXIT_ERROR, "%s", err[0] ? err : "-Z: the check as USER failed");
	}
}

static int on_event(void *ctx, const struct tt_event *ev)
{
	return tt_rec_event(ctx, ev);
}

/* What the source could not do, said: events dropped untold (the capture stopped taking them),
 * connections a close found by sampling could not cover (bpf/tcptop.h, tcp_live). */
static void print_source_stats(const struct tt_source *src, const char *prog)
{
	struct tt_source_stat st;

	tt_source_stats(src, &st);
	if (st.dropped)
		fprintf(stderr,
			"%s: %" PRIu64 " events dropped after the capture stopped taking them: not "
			"in it, and not counted there as lost\n",
			prog, st.dropped);
	if (st.untracked)
		fprintf(
		    stderr,
		    "%s: %" PRIu64 " TCP connections opened while the table of %" PRIu32
		    " open ones was full: had the kernel not reported their close, it would not "
		    "have been found\n",
		    prog, st.untracked, st.tcp_table);
}

/* The sampling passes' cost, which grows with the open connections (docs/BENCHMARKS.md). */
static void print_pass_stats(const struct tt_source *src)
{
	struct tt_source_stat st;

	tt_source_stats(src, &st);
	if (!st.samples)
		return;
	fprintf(stderr,
		"%" PRIu64
		" sampling passes: %.2f ms each on average (longest %.2f ms), CPU %.2f ms "
		"each on average (most %.2f ms)\n",
		st.samples, st.sample_ns / 1e6 / st.samples, st.sample_ns_max / 1e6,
		st.sample_cpu_ns / 1e6 / st.samples, st.sample_cpu_ns_max / 1e6);
}

/*
 * Once the kernel's table of open TCP connections has been full, say so then, not only at the
 * exit: until the connections close it goes on (the count is at the exit). 1 when said.
 */
static int say_untracked(struct tt_source *src, const char *prog)
{
	char text[256];

	if (!tt_source_table_full(src, text, sizeof(text)))
		return 0;
	fprintf(stderr, "%s: warning: %s\n", prog, text);
	return 1;
}

int main(int argc, char **argv)
{
	struct tt_rec_opts o;
	struct tt_rec *r = NULL;
	struct tt_source *src = NULL;
	struct sigaction sa;
	char err[512], skip[1024] = "", fallback[600];
	uint64_t start, last_flush;
	int untracked_said = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	int ret, code = TT_EXIT_OK;

	memset(&o, 0, sizeof(o));
	parse(argc, argv, &o, skip, sizeof(skip));
	if (o.src.check_all)
		return check(&o);
	if (o.user) {
		struct passwd *pw = getpwnam(o.user);

		if (!pw)
			tt_die(prog, TT_EXIT_USAGE, "unknown user '%s'", o.user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (((o.rotate_bytes || o.rotate_ns) && !o.max_files) || o.flight_ns)
			check_user_dir(o.path, uid, gid, o.user);
	}

	/* the output first: an unwritable path fails before anything is attached */
	ret = tt_rec_new(&r, &o, err, sizeof(err));
	if (ret)
		tt_die(prog, TT_EXIT_ERROR, "%s", err);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	o.src.no_stage = o.user != NULL;
	ret = tt_source_open(&src, &o.src, fallback, sizeof(fallback), err, sizeof(err));
	if (ret) {
		tt_rec_abort(r);
		tt_die(prog, tt_source_exit_code(ret, &o.src), "%s", err);
	}
	if (fallback[0])
		tt_warn(prog, "%s", fallback);
	if (o.user)
		check_after_drop(src, r, uid, gid);
	if (o.user && (drop_root(uid, gid, err, sizeof(err)) ||
		       tt_source_after_drop(src, err, sizeof(err)))) {
		tt_rec_abort(r);
		tt_source_close(src);
		tt_die(prog, TT_EXIT_ERROR, "%s", err);
	}
	tt_source_print_missing(src, prog, stderr);
	ret = tt_rec_start(r, src, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s: %s\n", prog, err);
		code = TT_EXIT_ERROR;
		goto out;
	}

	start = last_flush = tt_now_mono_ns();
	while (!stop_sig) {
		uint64_t now = tt_now_mono_ns();
		int wait = 200;

		if (o.duration_ns) {
			if (now - start >= o.duration_ns)
				break;
			if (o.duration_ns - (now - start) < 200000000)
				wait = (o.duration_ns - (now - start)) / 1000000 + 1;
		}
		ret = tt_source_poll(src, wait, on_event, r);
		if (tt_rec_failed(r))
			break; /* the callback's error: tt_rec_finish reports it */
		if (ret == -ENODATA)
			break; /* a capture played to its end */
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "%s: reading events: %s\n", prog, strerror(-ret));
			code = TT_EXIT_ERROR;
			break;
		}
		now = tt_now_mono_ns();
		if (dump_sig) {
			dump_sig = 0;
			tt_rec_dump(r);
		}
		if (now - last_flush >= 500000000) {
			tt_rec_tick(r);
			last_flush = now;
			if (!untracked_said)
				untracked_said = say_untracked(src, prog);
		}
		if (tt_rec_failed(r))
			break;
	}
	if (!tt_rec_failed(r))
		tt_source_flush(src, on_event, r);
	/* then the programs go, and what they wrote until they went is read: none is left */
	if (!tt_rec_failed(r))
		tt_source_stop(src, on_event, r);
out:
	if (tt_rec_finish(r, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		code = TT_EXIT_ERROR;
	}
	if (!o.quiet) {
		tt_rec_print_stats(r, stderr);
		print_pass_stats(src);
	}
	print_source_stats(src, prog);
	tt_rec_free(r);
	tt_source_close(src);
	return code;
}
