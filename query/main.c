/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tcptop-query: SQL over captures, offline, without root.
 *
 *   tcptop-query [options] FILE... [SQL]
 *
 * Where the SQL comes from (docs/QUERY.md): --sql-file FILE; else the last
 * argument when there are two or more and the last one does not look like a
 * file (looks_like_file); else stdin when it is not a terminal.
 * -f is --force, as in every other tool.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query.h"
#include "tt_community_id.h"
#include "tt_util.h"

static const char *const prog = "tcptop-query";

enum { OPT_SCHEMA = 0x2001, OPT_DB, OPT_SQL_FILE, OPT_NO_HEADER, OPT_NO_PROGRESS, OPT_CID_SEED };

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: %s [options] FILE... [SQL]\n"
	    "SQL over tcptop captures (tables capture, connections, events, processes, lost,\n"
	    "samples, stalls).\n"
	    "\n"
	    "      --sql-file FILE  read the SQL from FILE ('-' = stdin); every argument is a "
	    "capture\n"
	    "  -F, --format FMT     table, line, csv, json or jsonl (default: table on a "
	    "terminal,\n"
	    "                       else csv); line: one 'column = value' line per column, for\n"
	    "                       wide rows (as sqlite3's .mode line)\n"
	    "      --no-header      no header row (table, csv)\n"
	    "      --db OUT.sqlite  write every table into a new SQLite file, then run the SQL on "
	    "it\n"
	    "  -f, --force          replace OUT.sqlite if it exists\n"
	    "      --schema[=DIALECT]  print the tables, views and functions, and exit;\n"
	    "                       DIALECT postgresql or clickhouse: their CREATE TABLEs\n"
	    "                       for loading --format csv|jsonl output (docs/SCALE.md)\n"
	    "      --no-progress    no progress on stderr\n"
	    "      --community-id-seed N  seed of the community_id column (0..65535, "
	    "default 0)\n"
	    "  -h, --help           this help\n"
	    "  -V, --version        print the version\n"
	    "\n"
	    "SQL is the last argument when there are two or more and the last is not an existing\n"
	    "file (or one word ending in .tt or .tt.N, or with a '/'); otherwise it is read from\n"
	    "stdin when stdin is not a terminal. '-' as a FILE reads a capture from stdin.\n"
	    "Several statements may be given.\n"
	    "Example:\n"
	    "  %s cap.tt \"SELECT comm, sum(tx_bytes) FROM connections GROUP BY comm\"\n",
	    prog, prog);
}

static int parse_format(const char *s, enum tt_query_format *fmt)
{
	static const char *const names[] = {[TQ_FMT_TABLE] = "table",
					    [TQ_FMT_CSV] = "csv",
					    [TQ_FMT_JSON] = "json",
					    [TQ_FMT_JSONL] = "jsonl",
					    [TQ_FMT_LINE] = "line"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*fmt = (enum tt_query_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The whole of fd as a NUL-terminated string, or NULL. */
static char *slurp(int fd)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t n;

	/* at least a 4 KB read each time, and room for the NUL */
	while (tt_grow(&buf, &cap, len + 4096, 1, 4096) == 0) {
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) {
				buf[len] = 0;
				return buf;
			}
			break;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* NAME.tt, or NAME.tt.N as a rotated set's files are named. */
static int capture_name(const char *arg)
{
	const char *tt = strstr(arg, ".tt");

	for (; tt; tt = strstr(tt + 1, ".tt")) {
		const char *end = tt + 3;

		if (!*end || (*end == '.' && end[1] && !end[1 + strspn(end + 1, "0123456789")]))
			return 1;
	}
	return 0;
}

/*
 * Whether the last positional argument is a capture rather than the SQL: "-", an existing
 * file, or one word (SQL has blanks) named like a capture or holding a '/'. A missing file so
 * named is then said to be missing, instead of being run as SQL or leaving "no SQL given".
 */
static int looks_like_file(const char *arg)
{
	struct stat st;

	if (strcmp(arg, "-") == 0 || stat(arg, &st) == 0)
		return 1;
	return !strpbrk(arg, " \t\r\n;") && (capture_name(arg) || strchr(arg, '/'));
}

/*
 * sqlite3's dot-commands (.tables, .schema ...) are not SQL, and SQLite would only say
 * 'near ".": syntax error': say what answers them here. Exits when s starts with one.
 */
static void refuse_dot_command(const char *s)
{
	s += strspn(s, " \t\r\n");
	if (s[0] == '.' && isalpha((unsigned char)s[1]))
		tt_die(prog, TT_EXIT_USAGE,
		       "'%.*s' is a sqlite3 shell command, not SQL: --schema prints the tables, "
		       "their columns, the views and functions",
		       (int)strcspn(s, " \t\r\n;"), s);
}

static int all_blank(const char *s)
{
	return s[strspn(s, " \t\r\n;")] == 0;
}

/* Sorter helper threads: one per other online cpu, at most 4. */
static int sort_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* measured: on 2 CPUs, 2 sorter threads beside the main one sort GROUP BY 1.7x faster than
	 * 1 */
	return n <= 1 ? 0 : n > 4 ? 4 : (int)n;
}

/*
 * TCPTOP_QUERY_GROUP_MEM: the memory a grouped scan of events may hold
 * (docs/QUERY.md), bytes with an optional K, M or G suffix. Less memory only
 * costs more passes over the files; the tests use it to force them.
 */
static size_t group_budget(void)
{
	const char *s = getenv("TCPTOP_QUERY_GROUP_MEM");
	uint64_t n, mul = 1;
	char num[32];
	size_t len;

	if (!s || !*s)
		return TT_QUERY_GROUP_BUDGET;
	len = strlen(s);
	if (len < sizeof(num) && strchr("kKmMgG", s[len - 1])) {
		int shift = strchr("kK", s[len - 1]) ? 10 : strchr("mM", s[len - 1]) ? 20 : 30;

		mul = (uint64_t)1 << shift;
		memcpy(num, s, len - 1);
		num[len - 1] = 0;
		s = num;
	}
	if (tt_parse_u64(s, 1, UINT64_MAX / (1u << 30), &n) < 0 || n * mul < (64u << 10) ||
	    n * mul > SIZE_MAX)
		tt_die(prog, TT_EXIT_USAGE,
		       "TCPTOP_QUERY_GROUP_MEM: bad size '%s' (64K or more, e.g. 512M)",
		       getenv("TCPTOP_QUERY_GROUP_MEM"));
	return (size_t)(n * mul);
}

/* Build OUT.sqlite next to its final name and rename it there once complete. */
static void write_db(const char *path, int force, struct tt_query_set *set)
{
	char tmp[4096], err[512] = "";
	sqlite3 *db = NULL;
	struct stat st;
	int fd;

	/* refused as every tool refuses an existing output: the same line, the same status */
	if (!force && lstat(path, &st) == 0)
		tt_die(prog, TT_EXIT_ERROR, "%s: file exists (use -f/--force to replace it)", path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= sizeof(tmp))
		tt_die(prog, TT_EXIT_USAGE, "%s: name too long", path);
	/* its rows name hosts and processes: 0600 like a capture; errors name the user's path,
	 * not the temporary one */
	fd = tt_create_private(tmp, 0, err, sizeof(err));
	if (fd < 0)
		tt_die(prog, TT_EXIT_ERROR, "%s: %s", path, strerror(-fd));
	close(fd);
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    tt_query_setup_db(db, set, err, sizeof(err)) != SQLITE_OK) {
		if (!*err)
			snprintf(err, sizeof(err), "%s", db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		unlink(tmp);
		tt_die(prog, TT_EXIT_ERROR, "%s: %s", path, err);
	}
	if (sqlite3_close(db) != SQLITE_OK || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		tt_die(prog, TT_EXIT_ERROR, "%s: %s", path, strerror(e));
	}
}

/* Leading ':': a missing value is reported as ':', not as an unknown option. */
#define SHORTOPTS ":fF:hV"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"sql-file", required_argument, NULL, OPT_SQL_FILE},
	    {"format", required_argument, NULL, 'F'},
	    {"no-header", no_argument, NULL, OPT_NO_HEADER},
	    {"db", required_argument, NULL, OPT_DB},
	    {"force", no_argument, NULL, 'f'},
	    {"schema", optional_argument, NULL, OPT_SCHEMA},
	    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	    {"community-id-seed", required_argument, NULL, OPT_CID_SEED},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	enum tt_query_format fmt = isatty(STDOUT_FILENO) ? TQ_FMT_TABLE : TQ_FMT_CSV;
	const char *sql_file = NULL, *db_path = NULL;
	int header = 1, force = 0, progress = isatty(STDERR_FILENO), schema = 0, nfiles, opt, rc;
	char *sql = NULL, err[1024];
	enum tt_query_dialect dialect = TQ_SQLITE;
	uint16_t cid_seed = 0;
	struct tt_query_set set;
	sqlite3 *db = NULL;

	opterr = 0; /* one line of our own instead of getopt's */
	/* the leading ':' tells a missing argument (':') from an unknown option ('?') */
	while ((opt = getopt_long(argc, argv, SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SQL_FILE: sql_file = optarg; break;
		case 'F':
			if (parse_format(optarg, &fmt))
				tt_die(prog, TT_EXIT_USAGE,
				       "bad format '%s' (table, line, csv, json or jsonl)", optarg);
			break;
		case OPT_NO_HEADER: header = 0; break;
		case OPT_DB: db_path = optarg; break;
		case 'f': force = 1; break;
		case OPT_NO_PROGRESS: progress = 0; break;
		case OPT_CID_SEED:
			if (tt_cid_parse_seed(optarg, &cid_seed))
				tt_die(prog, TT_EXIT_USAGE,
				       "bad --community-id-seed '%s' (0..65535)", optarg);
			break;
		case OPT_SCHEMA:
			if (!optarg)
				dialect = TQ_SQLITE;
			else if (tt_query_parse_dialect(optarg, &dialect))
				tt_die(prog, TT_EXIT_USAGE,
				       "bad schema dialect '%s' (sqlite, postgresql or clickhouse)",
				       optarg);
			schema = 1;
			break;
		case 'h': usage(stdout); return TT_EXIT_OK;
		case 'V': printf("%s tcptop %s\n", prog, TT_VERSION); return TT_EXIT_OK;
		default:
			/* SQL such as "-- note\nSELECT ...": not an option, nor one line */
			if (opt == '?' && !optopt && strpbrk(argv[optind - 1], " \t\n"))
				tt_die(prog, TT_EXIT_USAGE,
				       "SQL that starts with '-' goes after '--' (try --help)");
			tt_getopt_fail(prog, opt, argv, SHORTOPTS);
		}
	}
	if (schema) {
		/* `--schema postgresql` would print SQLite's: the dialect is --schema=postgresql */
		if (optind < argc)
			tt_die(prog, TT_EXIT_USAGE,
			       "unexpected argument '%s' after --schema (a dialect goes as "
			       "--schema=DIALECT)",
			       argv[optind]);
		tt_query_print_schema(dialect);
		return TT_EXIT_OK;
	}
	/* (-f was --sql-file once: `-f q.sql cap.tt` must not pass for a capture named q.sql) */
	if (force && !db_path)
		tt_die(prog, TT_EXIT_USAGE,
		       "-f/--force goes with --db OUT.sqlite (the SQL from a file is --sql-file "
		       "FILE)");
	if (!tt_query_columns_ok())
		tt_die(prog, TT_EXIT_ERROR, "internal error: schema and columns disagree");

	nfiles = argc - optind;
	if (!sql_file && nfiles >= 1 && !looks_like_file(argv[argc - 1]))
		refuse_dot_command(argv[argc - 1]);
	/* `tcptop-query "SELECT ..."`: the SQL without a capture, not a capture named so */
	if (!sql_file && nfiles == 1 && !looks_like_file(argv[optind]) &&
	    strpbrk(argv[optind], " \t\n"))
		tt_die(prog, TT_EXIT_USAGE, "no capture file given before the SQL (try --help)");
	if (!sql_file && nfiles >= 2 && !looks_like_file(argv[argc - 1])) {
		sql = strdup(argv[argc - 1]);
		nfiles--;
	} else if (sql_file) {
		int fd = strcmp(sql_file, "-") == 0 ? STDIN_FILENO : open(sql_file, O_RDONLY);

		if (fd < 0 || !(sql = slurp(fd)))
			tt_die(prog, TT_EXIT_USAGE, "%s: %s", sql_file, strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
	} else if (!isatty(STDIN_FILENO)) {
		for (int i = optind; i < argc; i++)
			if (strcmp(argv[i], "-") == 0)
				tt_die(prog, TT_EXIT_USAGE,
				       "a capture on stdin needs the SQL as an argument or "
				       "--sql-file FILE");
		if (!(sql = slurp(STDIN_FILENO)))
			tt_die(prog, TT_EXIT_USAGE, "stdin: %s", strerror(errno));
	}
	if (sql)
		refuse_dot_command(sql);
	if (nfiles < 1)
		tt_die(prog, TT_EXIT_USAGE, "no capture file given (try --help)");
	/* the captures first: `a.tt nosuch.tt` is a missing file, not a missing SQL */
	rc = tt_query_set_open(&set, prog, argv + optind, (size_t)nfiles);
	if (rc < 0)
		tt_die(prog, TT_EXIT_USAGE, "%s", set.err);
	if ((!sql || all_blank(sql)) && !db_path)
		tt_die(prog, TT_EXIT_USAGE,
		       "no SQL given: as the last argument, with --sql-file FILE, or on stdin");
	set.progress = progress;
	set.cid_seed = cid_seed;
	set.group_budget = group_budget();
	set.debug = getenv("TCPTOP_QUERY_DEBUG") != NULL;

	if (db_path) {
		write_db(db_path, force, &set);
		rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				     NULL);
		if (rc == SQLITE_OK)
			rc = tt_query_register_functions(db);
		if (rc != SQLITE_OK)
			snprintf(err, sizeof(err), "%s: %s", db_path, sqlite3_errmsg(db));
	} else {
		/* one thread: no per-call mutex (it cost 15% of a SELECT * export) */
		rc = sqlite3_open_v2(
		    ":memory:", &db,
		    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc == SQLITE_OK)
			rc = tt_query_setup_virtual(db, &set, err, sizeof(err));
		else
			snprintf(err, sizeof(err), "%s", sqlite3_errmsg(db));
	}
	if (rc != SQLITE_OK)
		tt_die(prog, TT_EXIT_ERROR, "%s", err);
	/*
	 * GROUP BY / ORDER BY over events go through SQLite's sorter: let it sort
	 * with helper threads (10M events: 20 s -> 11.5 s on 2 cores).
	 */
	sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, sort_threads());

	rc = TT_EXIT_OK;
	if (sql && !all_blank(sql) &&
	    tt_query_run(db, sql, fmt, header, stdout, err, sizeof(err)) != 0) {
		fflush(stdout);
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = TT_EXIT_ERROR;
	}
	sqlite3_close(db);
	tt_query_set_free(&set);
	free(sql);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		rc = TT_EXIT_ERROR;
	}
	return rc;
}
