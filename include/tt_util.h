/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_util: small helpers every tool shares: parsing command-line values,
 * printing addresses and human units, and a uniform way to fail.
 */
#ifndef TT_UTIL_H
#define TT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes shared by all tools. */
#define TT_EXIT_OK 0
#define TT_EXIT_ERROR 1 /* runtime failure (I/O, SQL error, ...) */
#define TT_EXIT_USAGE 2 /* bad command line, bad input file */

/* Print "PROG: message\n" to stderr and exit(code). */
void tt_die(const char *prog, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/*
 * After getopt_long() (with opterr = 0 and a leading ':' in SHORTOPTS) returned ':' or '?',
 * say in one line which option was refused and why, as the user wrote it, and exit 2:
 * "option '-x' needs a value", "option '--foo' takes no value", "unknown option '-bx'"...
 * RET is what getopt_long() returned.
 */
void tt_getopt_fail(const char *prog, int ret, char **argv, const char *shortopts)
    __attribute__((noreturn));

/*
 * Create PATH for an output of any tool (a capture, --csv, --db): every one holds the same
 * addresses and process names, so each is mode 0600 whatever the umask (a regular file it
 * replaces is made 0600 too), never written through a symbolic link, and never put over an
 * existing file unless replace. Returns the fd (O_WRONLY, close-on-exec) or -errno with one
 * line naming PATH in err ("PATH: file exists (use -f/--force to replace it)", ...).
 */
int tt_create_private(const char *path, int replace, char *err, size_t errlen);

/*
 * Flush F and say how its writes went: 0, or -errno of the failure (-EIO when errno names
 * none), so that a full disk reads "stdout: No space left on device", not "write error".
 */
int tt_stream_status(FILE *f);

/* Print "PROG: warning: message\n" to stderr. */
void tt_warn(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whole number in [min, max], decimal only ("0443" is 443). Returns 0 or -EINVAL / -ERANGE. */
int tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * A duration: "10" (seconds), "1.5s", "250ms", "2m", "1h", "500us"; the number is decimal
 * (no "0x10", no "1e3"). Returns 0 or -EINVAL.
 */
int tt_parse_duration_ns(const char *s, uint64_t *ns);

/*
 * Room for NEED elements of SIZE bytes in the growable array whose pointer is at VP (any
 * T **, passed as &array) and whose capacity in elements is *CAP: the capacity doubles,
 * from FIRST, until NEED fits, so that appending one at a time costs amortized O(1).
 * Returns 0, or -ENOMEM (also when the size would overflow) with the array and *CAP as
 * they were, still valid and still the caller's to free.
 */
int tt_grow(void *vp, size_t *cap, size_t need, size_t size, size_t first);

/* A non-negative decimal number ("0.5", "10", ".5"). Returns 0 or -EINVAL / -ERANGE. */
int tt_parse_double(const char *s, double min, double max, double *out);

/*
 * A point in time for --from/--to: an offset from the capture start ("+30s", "90" seconds);
 * nanoseconds since the epoch (16 digits or more: tcptop-query's ts); ISO 8601 wall time
 * "YYYY-MM-DDTHH:MM[:SS[.frac]][zone]" (T or a space); or a clock "HH:MM[:SS[.frac]][zone]"
 * on the capture start's day (its day in that zone). zone: "Z", "+09:00", "-0530", "+09";
 * none is UTC, as every time tcptop shows. Sets *ns to wall clock ns since the epoch.
 * Returns 0 or -EINVAL.
 */
int tt_parse_time(const char *s, uint64_t capture_start_ns, uint64_t *ns);

/* Bytes: "812B", "1.5KB", "12MB", "3.2GB" (powers of 1024, at most 6 characters); buf >= 8. */
void tt_human_bytes(uint64_t v, char *buf, size_t len);
/* "1.5Kb/s"-style is left to callers: this gives a plain scaled count with K/M/G (powers of 1000).
 */
void tt_human_count(uint64_t v, char *buf, size_t len);

/* Address text: "10.0.0.1" or "2001:db8::1". family is TT_FAMILY_*. buf >= 46 bytes. */
void tt_addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "10.0.0.1:80" or "[2001:db8::1]:80"; buf >= 56 bytes. */
void tt_endpoint_str(uint8_t family, const uint8_t *addr, uint16_t port, char *buf, size_t len);

/*
 * A connection id as every tool prints it (print with PRId64): signed 64-bit, as SQLite's
 * INTEGER holds it in tcptop-query, so that an id copied from any output (--dump, --json,
 * --csv, SQL) finds the same connection in the others. UDP flow ids have the top bit set, so
 * they print negative. (The capture stores the id as unsigned; the bits are the same.)
 */
static inline int64_t tt_conn_id_signed(uint64_t id)
{
	return id >> 63 ? -(int64_t)(~id) - 1 : (int64_t)id;
}

/* "TCP" / "UDP" / "6"... */
const char *tt_proto_name(uint8_t proto);

/* Wall time ns -> "2026-11-25 10:56:25.123 UTC" (millisecond precision); buf >= 40 bytes. */
void tt_wall_str(uint64_t ns, char *buf, size_t len);
/* Wall time ns -> "2026-11-25 10:56:25.123456Z" (microseconds, UTC said by the Z), as the text
 * dump and the view's timeline show an event's time; buf >= 40 bytes. */
void tt_wall_us_str(uint64_t ns, char *buf, size_t len);
/* Wall time ns -> ISO 8601 "2026-11-25T10:56:25.123456789Z"; buf >= 40 bytes. */
void tt_iso_str(uint64_t ns, char *buf, size_t len);

/* Current CLOCK_REALTIME / CLOCK_MONOTONIC / CLOCK_BOOTTIME in ns. */
uint64_t tt_now_wall_ns(void);
uint64_t tt_now_mono_ns(void);
uint64_t tt_now_boot_ns(void);
/* CPU time the calling thread has used, in ns (CLOCK_THREAD_CPUTIME_ID). */
uint64_t tt_now_thread_cpu_ns(void);
/*
 * CLOCK_REALTIME - CLOCK_BOOTTIME in ns (wall time of an event = its boot time + this), from
 * the tightest of a few boot/wall/boot brackets: a preemption between two plain reads would
 * put every event of a capture off by its length.
 */
int64_t tt_boot_to_wall_ns(void);

/* Fill host, kernel release and boot id for a capture header (best effort). */
struct tt_fmt_header;
void tt_header_fill_host(struct tt_fmt_header *hdr);

#endif /* TT_UTIL_H */
