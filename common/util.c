/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "tt_event.h"
#include "tt_fmt.h"
#include "tt_util.h"

int tt_create_private(const char *path, int replace, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL),
		  0600);
	if (fd < 0) {
		e = errno;
		if (e == EEXIST)
			snprintf(err, errlen, "%s: file exists (use -f/--force to replace it)",
				 path);
		else if (e == ELOOP)
			snprintf(err, errlen,
				 "%s: is a symbolic link, refusing to write through it", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* the umask filters the open mode, and a replaced file keeps its own; a device (-f -o
	 * /dev/null) is not ours to change */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0600 &&
	    fchmod(fd, 0600) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: cannot make it mode 0600: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int tt_stream_status(FILE *f)
{
	if (fflush(f) == 0 && !ferror(f))
		return 0;
	return errno > 0 ? -errno : -EIO;
}

void tt_die(const char *prog, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/*
 * The option getopt_long() just refused, as the user wrote it: "-x" for a short one (even
 * inside a cluster like -bx, where argv[optind - 1] is the cluster), else the whole argument.
 */
static const char *refused_option(char **argv, const char *shortopts, char *buf, size_t len)
{
	const char *arg = argv[optind - 1];

	if (optopt > 0 && optopt < 128 && optopt != ':' &&
	    (!strchr(shortopts, optopt) || strncmp(arg, "--", 2) != 0)) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	return arg;
}

void tt_getopt_fail(const char *prog, int ret, char **argv, const char *shortopts)
{
	const char *arg = argv[optind - 1];
	char opt[3];

	if (ret == ':')
		tt_die(prog, TT_EXIT_USAGE, "option '%s' needs a value (see --help)",
		       refused_option(argv, shortopts, opt, sizeof(opt)));
	/* a known long option without an argument, given one: --batch=1 */
	if (optopt && !strncmp(arg, "--", 2) && strchr(arg, '='))
		tt_die(prog, TT_EXIT_USAGE, "option '%.*s' takes no value", (int)strcspn(arg, "="),
		       arg);
	tt_die(prog, TT_EXIT_USAGE, "unknown option '%s' (see --help)",
	       refused_option(argv, shortopts, opt, sizeof(opt)));
}

void tt_warn(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Length of the number at s: digits, and with frac a '.' and more digits. What users mean by a
 * number: strtoull with base 0 reads 0443 as octal (port 291), strtod takes "0x1p4" and "1e3".
 */
static size_t decimal_len(const char *s, int frac)
{
	size_t n = strspn(s, "0123456789");

	if (frac && s[n] == '.') {
		size_t k = strspn(s + n + 1, "0123456789");

		if (n || k)
			n += 1 + k;
	}
	return n;
}

int tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || decimal_len(s, 0) != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int tt_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap : (first ? first : 1);
	void *p, *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return -ENOMEM;
	/* The pointer goes through memcpy: VP may point to any object pointer type. */
	memcpy(&p, vp, sizeof(p));
	np = realloc(p, ncap * size);
	if (!np)
		return -ENOMEM;
	memcpy(vp, &np, sizeof(np));
	*cap = ncap;
	return 0;
}

int tt_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s || decimal_len(s, 1) != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || isnan(v) || isinf(v))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int tt_parse_duration_ns(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = {{"", 1e9}, {"s", 1e9},  {"ms", 1e6},   {"us", 1e3},
		     {"ns", 1}, {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}};
	char *end;
	double v;

	if (!s || !decimal_len(s, 1))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	/* the number is its decimal digits, the rest is the unit */
	if (end != s + decimal_len(s, 1) || errno || isnan(v) || isinf(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			double t = v * units[i].scale;

			if (t > 1e18)
				return -ERANGE;
			*ns = (uint64_t)t;
			return 0;
		}
	}
	return -EINVAL;
}

/* "HH:MM" or "HH:MM:SS[.frac]", nothing after. */
static int parse_clock(const char *s, unsigned *h, unsigned *m, double *sec)
{
	int n = 0;

	*sec = 0;
	if (sscanf(s, "%2u:%2u%n", h, m, &n) != 2 || *h > 23 || *m > 59)
		return -EINVAL;
	if (s[n] == ':') {
		int k = 0;

		s += n + 1;
		/* digits first: sscanf's %lf would take "+5", "inf", " 1" */
		if (*s < '0' || *s > '9' || sscanf(s, "%lf%n", sec, &k) != 1 || *sec >= 61)
			return -EINVAL;
		n = k;
	}
	return s[n] ? -EINVAL : 0;
}

/*
 * Cuts the zone off the end of a clock time ("Z", "+09:00", "-0530", "+09") and sets *off_s
 * to its offset east of UTC; no zone is UTC. Returns 0 or -EINVAL.
 */
static int cut_zone(char *clock, long *off_s)
{
	size_t n = strlen(clock);
	char *z = strpbrk(clock, "+-");
	unsigned zh = 0, zm = 0;
	int k = 0;

	*off_s = 0;
	if (n && (clock[n - 1] == 'Z' || clock[n - 1] == 'z')) {
		clock[n - 1] = 0;
		return 0;
	}
	if (!z)
		return 0;
	if (strlen(z + 1) == 2 && sscanf(z + 1, "%2u%n", &zh, &k) == 1 && k == 2)
		;
	else if (sscanf(z + 1, "%2u:%2u%n", &zh, &zm, &k) == 2 && k == 5 && !z[6])
		;
	else if (strlen(z + 1) == 4 && sscanf(z + 1, "%2u%2u%n", &zh, &zm, &k) == 2 && k == 4)
		;
	else
		return -EINVAL;
	if (zh > 23 || zm > 59 || z[1] < '0' || z[1] > '9')
		return -EINVAL;
	*off_s = (*z == '-' ? -1 : 1) * (long)(zh * 3600 + zm * 60);
	*z = 0;
	return 0;
}

int tt_parse_time(const char *s, uint64_t capture_start_ns, uint64_t *ns)
{
	uint64_t off;
	unsigned y, mo, d, h, mi;
	double sec;
	struct tm tm = {0};
	time_t day;
	char clock[64];
	long zone_s;
	int64_t t;

	if (!s || !*s)
		return -EINVAL;
	/*
	 * 16 digits or more: nanoseconds since the epoch, as tcptop-query's ts columns and the
	 * JSON dump's ts hold them (as an offset in seconds it would be millions of years).
	 */
	if (strspn(s, "0123456789") == strlen(s) && strlen(s) >= 16) {
		errno = 0;
		*ns = strtoull(s, NULL, 10);
		return errno ? -EINVAL : 0;
	}
	if (*s == '+' || !strpbrk(s, ":-T")) {
		if (tt_parse_duration_ns(s + (*s == '+'), &off))
			return -EINVAL;
		*ns = capture_start_ns + off;
		return 0;
	}
	if (strlen(s) > 10 && s[4] == '-' && (s[10] == 'T' || s[10] == 't' || s[10] == ' ')) {
		char date[11];
		int k = 0;

		memcpy(date, s, 10);
		date[10] = 0;
		if (sscanf(date, "%4u-%2u-%2u%n", &y, &mo, &d, &k) != 3 || k != 10 || mo < 1 ||
		    mo > 12 || d < 1 || d > 31)
			return -EINVAL;
		if (strlen(s + 11) >= sizeof(clock))
			return -EINVAL;
		strcpy(clock, s + 11);
		if (cut_zone(clock, &zone_s) || parse_clock(clock, &h, &mi, &sec))
			return -EINVAL;
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		day = timegm(&tm);
	} else {
		time_t start;
		struct tm st;

		if (strlen(s) >= sizeof(clock))
			return -EINVAL;
		strcpy(clock, s);
		if (cut_zone(clock, &zone_s) || parse_clock(clock, &h, &mi, &sec))
			return -EINVAL;
		/* the capture start's day where the clock is read: in its zone */
		start = (time_t)(capture_start_ns / 1000000000ull) + zone_s;
		gmtime_r(&start, &st);
		st.tm_hour = st.tm_min = st.tm_sec = 0;
		day = timegm(&st);
	}
	t = (int64_t)day - zone_s;
	if (t < 0)
		return -EINVAL;
	*ns = (uint64_t)t * 1000000000ull + (uint64_t)h * 3600000000000ull +
	      (uint64_t)mi * 60000000000ull + (uint64_t)llround(sec * 1e9);
	return 0;
}

static void human(uint64_t v, double base, char *buf, size_t len)
{
	static const char sfx[] = " KMGTPE";
	double d = (double)v;
	int i = 0;

	if (v < base) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return;
	}
	while (d >= base && i < 6) {
		d /= base;
		i++;
	}
	snprintf(buf, len, d < 9.95 ? "%.1f%c" : "%.0f%c", d, sfx[i]);
}

void tt_human_bytes(uint64_t v, char *buf, size_t len)
{
	size_t n;

	human(v, 1024.0, buf, len);
	/* B: iperf3 and iftop users read a bare 9.5M as megabits */
	n = strlen(buf);
	if (n + 1 < len) {
		buf[n] = 'B';
		buf[n + 1] = '\0';
	}
}

void tt_human_count(uint64_t v, char *buf, size_t len)
{
	human(v, 1000.0, buf, len);
}

void tt_addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == TT_FAMILY_IPV6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void tt_endpoint_str(uint8_t family, const uint8_t *addr, uint16_t port, char *buf, size_t len)
{
	char a[64];

	tt_addr_str(family, addr, a, sizeof(a));
	if (family == TT_FAMILY_IPV6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

const char *tt_proto_name(uint8_t proto)
{
	switch (proto) {
	case 6: return "TCP";
	case 17: return "UDP";
	default: return "?";
	}
}

/* The UTC time of ns: strftime's date_fmt, then `digits` digits of the second's fraction
 * (3, 6 or 9), then suffix. */
static void utc_str(uint64_t ns, const char *date_fmt, unsigned digits, const char *suffix,
		    char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	unsigned frac = (unsigned)(ns % 1000000000ull);
	struct tm tm;
	char s[32];

	for (unsigned i = digits; i < 9; i++)
		frac /= 10;
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), date_fmt, &tm);
	snprintf(buf, len, "%s.%0*u%s", s, (int)digits, frac, suffix);
}

void tt_wall_str(uint64_t ns, char *buf, size_t len)
{
	/* said, not assumed: a tcpdump user reads a bare time as local */
	utc_str(ns, "%Y-%m-%d %H:%M:%S", 3, " UTC", buf, len);
}

void tt_wall_us_str(uint64_t ns, char *buf, size_t len)
{
	/* UTC, and said so (RFC 3339's Z) without adding a word to every line's fields */
	utc_str(ns, "%Y-%m-%d %H:%M:%S", 6, "Z", buf, len);
}

void tt_iso_str(uint64_t ns, char *buf, size_t len)
{
	utc_str(ns, "%Y-%m-%dT%H:%M:%S", 9, "Z", buf, len);
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t tt_now_wall_ns(void)
{
	return now_ns(CLOCK_REALTIME);
}

uint64_t tt_now_mono_ns(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

uint64_t tt_now_boot_ns(void)
{
	return now_ns(CLOCK_BOOTTIME);
}

uint64_t tt_now_thread_cpu_ns(void)
{
	return now_ns(CLOCK_THREAD_CPUTIME_ID);
}

int64_t tt_boot_to_wall_ns(void)
{
	uint64_t best = UINT64_MAX;
	int64_t off = 0;

	for (int i = 0; i < 8; i++) {
		uint64_t b0 = tt_now_boot_ns(), w = tt_now_wall_ns(), b1 = tt_now_boot_ns();

		if (b1 - b0 < best) {
			best = b1 - b0;
			off = (int64_t)(w - (b0 + (b1 - b0) / 2));
		}
	}
	return off;
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

void tt_header_fill_host(struct tt_fmt_header *hdr)
{
	struct utsname u;

	if (gethostname(hdr->hostname, sizeof(hdr->hostname)) != 0)
		snprintf(hdr->hostname, sizeof(hdr->hostname), "unknown");
	hdr->hostname[sizeof(hdr->hostname) - 1] = 0;
	if (uname(&u) == 0)
		snprintf(hdr->kernel, sizeof(hdr->kernel), "%s", u.release);
	read_line("/proc/sys/kernel/random/boot_id", hdr->boot_id, sizeof(hdr->boot_id));
	snprintf(hdr->tool_version, sizeof(hdr->tool_version), "tcptop %s", TT_VERSION);
}
