// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tt_source: one handle over the live sources. Each fills in a table of operations; the
 * callers (tcptop, tcptop-record) hold a tt_source and never ask which one it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_source.h"
#include "filesrc.h"
#include "sockdiag.h"

struct tt_source_ops {
	int (*poll)(void *impl, int timeout_ms, tt_src_cb cb, void *ctx);
	int (*flush)(void *impl, tt_src_cb cb, void *ctx);
	int (*stop)(void *impl, tt_src_cb cb, void *ctx); /* NULL: nothing is made between calls */
	const char *(*mode)(const void *impl);
	const char *(*probes)(const void *impl);
	const char *(*missing)(const void *impl);
	const char *(*warning)(const void *impl);
	void (*print_missing)(const void *impl, const char *prog, FILE *f);
	void (*print_check)(const void *impl, FILE *f);
	int64_t (*clock_offset)(const void *impl);
	int64_t (*boot_shift)(const void *impl); /* NULL: the event clock is CLOCK_BOOTTIME */
	void (*stats)(const void *impl, struct tt_src_stats *st);
	int (*after_drop)(void *impl, char *err, size_t errlen);
	void (*close)(void *impl);
};

struct tt_source {
	const struct tt_source_ops *ops;
	void *impl;
};

/* The BPF ring buffer (record/src.c). */
static int bpf_poll(void *i, int ms, tt_src_cb cb, void *ctx)
{
	return tt_src_poll(i, ms, cb, ctx);
}
static int bpf_flush(void *i, tt_src_cb cb, void *ctx)
{
	return tt_src_flush(i, cb, ctx);
}
static int bpf_stop(void *i, tt_src_cb cb, void *ctx)
{
	return tt_src_stop(i, cb, ctx);
}
static const char *bpf_mode(const void *i)
{
	return tt_src_mode(i);
}
static const char *bpf_probes(const void *i)
{
	return tt_src_probes(i);
}
static const char *bpf_missing(const void *i)
{
	return tt_src_missing(i);
}
static const char *bpf_warning(const void *i)
{
	return tt_src_warning(i);
}
static void bpf_print_missing(const void *i, const char *prog, FILE *f)
{
	tt_src_print_missing(i, prog, f);
}
static void bpf_print_check(const void *i, FILE *f)
{
	tt_src_print_check(i, f);
}
static int64_t bpf_clock_offset(const void *i)
{
	return tt_src_clock_offset(i);
}
static void bpf_stats(const void *i, struct tt_src_stats *st)
{
	tt_src_stats(i, st);
}
static int bpf_after_drop(void *i, char *err, size_t len)
{
	return tt_src_after_drop(i, err, len);
}
static void bpf_close(void *i)
{
	tt_src_close(i);
}

static const struct tt_source_ops bpf_ops = {
    .poll = bpf_poll,
    .flush = bpf_flush,
    .stop = bpf_stop,
    .mode = bpf_mode,
    .probes = bpf_probes,
    .missing = bpf_missing,
    .warning = bpf_warning,
    .print_missing = bpf_print_missing,
    .print_check = bpf_print_check,
    .clock_offset = bpf_clock_offset,
    .stats = bpf_stats,
    .after_drop = bpf_after_drop,
    .close = bpf_close,
};

/* sock_diag polls (record/sockdiag.c). */
static int sd_poll(void *i, int ms, tt_src_cb cb, void *ctx)
{
	return tt_sockdiag_poll(i, ms, cb, ctx);
}
static int sd_flush(void *i, tt_src_cb cb, void *ctx)
{
	return tt_sockdiag_flush(i, cb, ctx);
}
static const char *sd_mode(const void *i)
{
	(void)i;
	return "sockdiag";
}
static const char *sd_probes(const void *i)
{
	return tt_sockdiag_probes(i);
}
static const char *sd_missing(const void *i)
{
	return tt_sockdiag_missing(i);
}
static const char *sd_warning(const void *i)
{
	return tt_sockdiag_warning(i);
}
static void sd_print_missing(const void *i, const char *prog, FILE *f)
{
	tt_sockdiag_print_missing(i, prog, f);
}
static void sd_print_check(const void *i, FILE *f)
{
	tt_sockdiag_print_check(i, f);
}
static int64_t sd_clock_offset(const void *i)
{
	return tt_sockdiag_clock_offset(i);
}
static void sd_stats(const void *i, struct tt_src_stats *st)
{
	tt_sockdiag_stats(i, st);
}
static int sd_after_drop(void *i, char *err, size_t len)
{
	return tt_sockdiag_after_drop(i, err, len);
}
static void sd_close(void *i)
{
	tt_sockdiag_close(i);
}

static const struct tt_source_ops sockdiag_ops = {
    .poll = sd_poll,
    .flush = sd_flush,
    .mode = sd_mode,
    .probes = sd_probes,
    .missing = sd_missing,
    .warning = sd_warning,
    .print_missing = sd_print_missing,
    .print_check = sd_print_check,
    .clock_offset = sd_clock_offset,
    .stats = sd_stats,
    .after_drop = sd_after_drop,
    .close = sd_close,
};

/* A capture file played at its recorded pace (record/filesrc.c). */
static int file_poll(void *i, int ms, tt_src_cb cb, void *ctx)
{
	return tt_filesrc_poll(i, ms, cb, ctx);
}
static int file_flush(void *i, tt_src_cb cb, void *ctx)
{
	return tt_filesrc_flush(i, cb, ctx);
}
static const char *file_mode(const void *i)
{
	return tt_filesrc_mode(i);
}
static const char *file_probes(const void *i)
{
	return tt_filesrc_probes(i);
}
static const char *file_missing(const void *i)
{
	return tt_filesrc_missing(i);
}
static const char *file_warning(const void *i)
{
	return tt_filesrc_warning(i);
}
static void file_print_missing(const void *i, const char *prog, FILE *f)
{
	tt_filesrc_print_missing(i, prog, f);
}
static void file_print_check(const void *i, FILE *f)
{
	tt_filesrc_print_check(i, f);
}
static int64_t file_clock_offset(const void *i)
{
	return tt_filesrc_clock_offset(i);
}
static int64_t file_boot_shift(const void *i)
{
	return tt_filesrc_boot_shift(i);
}
static void file_stats(const void *i, struct tt_src_stats *st)
{
	tt_filesrc_stats(i, st);
}
static int file_after_drop(void *i, char *err, size_t len)
{
	(void)i;
	(void)err;
	(void)len;
	return 0; /* the file is open already */
}
static void file_close(void *i)
{
	tt_filesrc_close(i);
}

static const struct tt_source_ops file_ops = {
    .poll = file_poll,
    .flush = file_flush,
    .mode = file_mode,
    .probes = file_probes,
    .missing = file_missing,
    .warning = file_warning,
    .print_missing = file_print_missing,
    .print_check = file_print_check,
    .clock_offset = file_clock_offset,
    .boot_shift = file_boot_shift,
    .stats = file_stats,
    .after_drop = file_after_drop,
    .close = file_close,
};

int tt_source_exit_code(int ret, const struct tt_src_opts *opts)
{
	if (opts->source == TT_SOURCE_FILE || (ret == -EINVAL && opts->skip_probes))
		return 2;
	return 1;
}

int tt_source_open(struct tt_source **out, const struct tt_src_opts *opts, char *fallback,
		   size_t fallback_len, char *err, size_t errlen)
{
	struct tt_source *s = calloc(1, sizeof(*s));
	int ret = -ENOENT;

	*out = NULL;
	if (fallback_len)
		fallback[0] = '\0';
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (opts->source == TT_SOURCE_FILE) {
		struct tt_filesrc *f;

		ret = tt_filesrc_open(&f, opts->source_path, opts, err, errlen);
		if (ret) {
			free(s);
			return ret;
		}
		s->ops = &file_ops;
		s->impl = f;
		*out = s;
		return 0;
	}
	if (opts->source != TT_SOURCE_SOCKDIAG) {
		struct tt_src *b;

		ret = tt_src_open(&b, opts, err, errlen);
		if (!ret) {
			s->ops = &bpf_ops;
			s->impl = b;
			*out = s;
			return 0;
		}
		/*
		 * Only "BPF cannot load here" falls back: a usage error (a bad --no-probe) or a
		 * --raw the kernel cannot give stays an error, as the user asked for it.
		 */
		if (opts->source == TT_SOURCE_BPF || ret == -EINVAL || ret == -EOPNOTSUPP) {
			free(s);
			return ret;
		}
		snprintf(fallback, fallback_len, "BPF unavailable (%s): using sock_diag", err);
	}
	{
		struct tt_sockdiag *d;

		ret = tt_sockdiag_open(&d, opts, err, errlen);
		if (ret) {
			free(s);
			return ret;
		}
		s->ops = &sockdiag_ops;
		s->impl = d;
	}
	*out = s;
	return 0;
}

int tt_source_poll(struct tt_source *s, int timeout_ms, tt_src_cb cb, void *ctx)
{
	return s->ops->poll(s->impl, timeout_ms, cb, ctx);
}

int tt_source_flush(struct tt_source *s, tt_src_cb cb, void *ctx)
{
	return s->ops->flush(s->impl, cb, ctx);
}

int tt_source_stop(struct tt_source *s, tt_src_cb cb, void *ctx)
{
	return s->ops->stop ? s->ops->stop(s->impl, cb, ctx) : 0;
}

const char *tt_source_mode(const struct tt_source *s)
{
	return s->ops->mode(s->impl);
}

const char *tt_source_probes(const struct tt_source *s)
{
	return s->ops->probes(s->impl);
}

const char *tt_source_missing(const struct tt_source *s)
{
	return s->ops->missing(s->impl);
}

const char *tt_source_warning(const struct tt_source *s)
{
	return s->ops->warning(s->impl);
}

void tt_source_print_missing(const struct tt_source *s, const char *prog, FILE *f)
{
	s->ops->print_missing(s->impl, prog, f);
}

void tt_source_print_check(const struct tt_source *s, FILE *f)
{
	s->ops->print_check(s->impl, f);
}

int64_t tt_source_clock_offset(const struct tt_source *s)
{
	return s->ops->clock_offset(s->impl);
}

int64_t tt_source_boot_shift(const struct tt_source *s)
{
	return s->ops->boot_shift ? s->ops->boot_shift(s->impl) : 0;
}

void tt_source_stats(const struct tt_source *s, struct tt_src_stats *st)
{
	s->ops->stats(s->impl, st);
}

int tt_source_after_drop(struct tt_source *s, char *err, size_t errlen)
{
	return s->ops->after_drop(s->impl, err, errlen);
}

void tt_source_close(struct tt_source *s)
{
	if (!s)
		return;
	s->ops->close(s->impl);
	free(s);
}
