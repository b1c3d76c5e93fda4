// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Where tcptop-record's events go: one capture file, a rotation of files
 * (-C/-G/-W), or a flight recorder held in memory (--flight). Every file is a
 * complete capture: header, CONN_OPEN of the connections already open, the
 * events, a STATS event, the end block.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tt_fmt.h"
#include "tt_util.h"
#include "conntab.h"
#include "flight.h"
#include "rec.h"

#define FLIGHT_MAX_BYTES (256u << 20)

struct tt_rec {
	struct tt_rec_opts o;
	struct tt_src *src;
	struct tt_fmt_header hdr;
	struct tt_fmt_writer *w;
	int fd;              /* the first file, opened before attach, until the writer owns it */
	int created;         /* we created o.path (removed again if the start fails) */
	unsigned file_no;    /* files begun so far */
	uint64_t file_start; /* CLOCK_MONOTONIC when the current file began */
	struct tt_rec_conntab *conns;
	struct tt_rec_flight *flight;
	uint64_t events, lost, conns_seen;
	uint64_t bytes_done; /* bytes of files already closed */
	uint64_t start_mono, end_mono;
	int failed;
	char err[256];
};

/* Name of the n-th file (0-based): FILE, FILE.1, FILE.2 ... modulo -W. */
static void file_name(const struct tt_rec *r, unsigned n, char *buf, size_t len)
{
	if (r->o.max_files)
		n %= r->o.max_files;
	if (!n)
		snprintf(buf, len, "%s", r->o.path);
	else
		snprintf(buf, len, "%s.%u", r->o.path, n);
}

static int open_out(const char *path, int replace, char *err, size_t errlen)
{
	int fd;

	if (!strcmp(path, "-")) {
		fd = dup(STDOUT_FILENO);
		if (fd < 0)
			snprintf(err, errlen, "stdout: %s", strerror(errno));
		return fd < 0 ? -errno : fd;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL),
		  0600);
	if (fd < 0) {
		int e = errno;

		if (e == EEXIST)
			snprintf(err, errlen, "%s exists (use -f to replace it)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	/* whatever the umask, and a replaced file may have had other modes */
	fchmod(fd, 0600);
	return fd;
}

static void fail(struct tt_rec *r, int e, const char *what)
{
	if (r->failed)
		return;
	r->failed = e ? e : -EIO;
	snprintf(r->err, sizeof(r->err), "%s", what);
}

int tt_rec_new(struct tt_rec **out, const struct tt_rec_opts *o, char *err, size_t errlen)
{
	struct tt_rec *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->o = *o;
	r->fd = -1;
	ret = tt_rec_conntab_new(&r->conns);
	if (!ret && o->flight_ns)
		ret = tt_rec_flight_new(&r->flight, o->flight_ns, FLIGHT_MAX_BYTES);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		tt_rec_free(r);
		return ret;
	}
	r->fd = open_out(o->path, o->force, err, errlen);
	if (r->fd < 0) {
		ret = r->fd;
		tt_rec_free(r);
		return ret;
	}
	r->created = strcmp(o->path, "-") != 0;
	*out = r;
	return 0;
}

void tt_rec_abort(struct tt_rec *r)
{
	if (!r)
		return;
	if (r->created && !r->w)
		unlink(r->o.path);
	tt_rec_free(r);
}

static int add(struct tt_rec *r, const struct tt_event *ev)
{
	int ret = tt_fmt_writer_add(r->w, ev);

	if (ret)
		fail(r, ret, tt_fmt_writer_error(r->w));
	return ret;
}

static int add_open_again(void *ctx, const struct tt_event *open)
{
	struct tt_rec *r = ctx;
	struct tt_event ev = *open;

	/* repeated at the top of a new file: open before this file began */
	ev.flags |= TT_F_PREEXISTING;
	ev.ts_ns = tt_now_boot_ns();
	return add(r, &ev);
}

/* Begin file number r->file_no on fd (or a new file when fd < 0). */
static int begin_file(struct tt_rec *r, int fd)
{
	struct tt_fmt_wopts wo = {0};
	char path[4096], err[256];
	int ret;

	if (fd < 0) {
		file_name(r, r->file_no, path, sizeof(path));
		/* our own ring of files wraps over the names it made */
		fd = open_out(path, r->o.force || (r->o.max_files && r->file_no >= r->o.max_files),
			      err, sizeof(err));
		if (fd < 0) {
			fail(r, fd, err);
			return fd;
		}
	}
	r->hdr.start_ns = tt_now_wall_ns();
	ret = tt_fmt_writer_open_fd(&r->w, fd, &r->hdr, &wo, err, sizeof(err));
	if (ret) {
		fail(r, ret, err);
		return ret;
	}
	r->file_no++;
	r->file_start = tt_now_mono_ns();
	if (r->file_no > 1 || r->flight)
		return tt_rec_conntab_foreach(r->conns, add_open_again, r);
	return 0;
}

static void stats_event(struct tt_rec *r, struct tt_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = tt_now_boot_ns();
	ev->kind = TT_EV_STATS;
	ev->u.stats.events = r->events;
	ev->u.stats.lost = r->lost;
	ev->u.stats.conns = r->conns_seen;
	ev->u.stats.bytes_out = r->bytes_done + (r->w ? tt_fmt_writer_bytes(r->w) : 0);
}

static int end_file(struct tt_rec *r)
{
	struct tt_event ev;
	int ret;

	if (!r->w)
		return 0;
	stats_event(r, &ev);
	add(r, &ev);
	ret = tt_fmt_writer_close(r->w);
	r->w = NULL;
	if (ret)
		fail(r, ret, "closing the capture failed");
	return ret;
}

/* Bytes of a finished writer are only known before close: account them at the end. */
static int finish_file(struct tt_rec *r)
{
	uint64_t bytes;
	int ret;

	if (!r->w)
		return 0;
	bytes = tt_fmt_writer_bytes(r->w);
	ret = end_file(r);
	r->bytes_done += bytes;
	return ret;
}

int tt_rec_start(struct tt_rec *r, struct tt_src *src, char *err, size_t errlen)
{
	int fd = r->fd;

	r->src = src;
	memset(&r->hdr, 0, sizeof(r->hdr));
	tt_header_fill_host(&r->hdr);
	snprintf(r->hdr.tool_version, sizeof(r->hdr.tool_version), "%s", TT_VERSION);
	snprintf(r->hdr.mode, sizeof(r->hdr.mode), "%s", tt_src_mode(src));
	r->hdr.coalesce_ms = r->o.src.raw ? 0
					  : (r->o.src.coalesce_ms ? r->o.src.coalesce_ms
								  : TT_SRC_DEFAULT_COALESCE_MS);
	tt_filter_format(&r->o.src.filter, r->hdr.filters, sizeof(r->hdr.filters));
	snprintf(r->hdr.probes, sizeof(r->hdr.probes), "%s", tt_src_probes(src));
	r->hdr.clock_offset_ns = tt_src_clock_offset(src);
	snprintf(r->hdr.clock, sizeof(r->hdr.clock), "boottime");
	r->start_mono = tt_now_mono_ns();
	if (r->flight)
		return 0; /* fd stays ours until the first dump */
	r->fd = -1;
	if (begin_file(r, fd)) {
		snprintf(err, errlen, "%s", r->err);
		return r->failed;
	}
	return 0;
}

static void dump_line(const struct tt_event *ev)
{
	const struct tt_ev_open *o = &ev->u.open;
	char l[64], rm[64];

	fprintf(stderr, "%llu %s id=%llx pid=%u flags=%x", (unsigned long long)ev->ts_ns,
		tt_fmt_kind_name(ev->kind), (unsigned long long)ev->conn_id, ev->pid, ev->flags);
	switch (ev->kind) {
	case TT_EV_CONN_OPEN:
		tt_endpoint_str(o->family, o->laddr, o->lport, l, sizeof(l));
		tt_endpoint_str(o->family, o->raddr, o->rport, rm, sizeof(rm));
		fprintf(stderr, " %s %s %s dir=%u state=%u comm=%.16s", tt_proto_name(o->proto), l,
			rm, o->direction, o->state, o->comm);
		break;
	case TT_EV_TRAFFIC:
		fprintf(stderr, " tx=%llu rx=%llu txp=%u rxp=%u",
			(unsigned long long)ev->u.traffic.tx_bytes,
			(unsigned long long)ev->u.traffic.rx_bytes, ev->u.traffic.tx_pkts, ev->u.traffic.rx_pkts);
		break;
	case TT_EV_STATE:
		fprintf(stderr, " %u->%u", ev->u.state.old_state, ev->u.state.new_state);
		break;
	case TT_EV_CONN_CLOSE:
		fprintf(stderr, " tx=%llu rx=%llu retrans=%u",
			(unsigned long long)ev->u.close.tx_bytes,
			(unsigned long long)ev->u.close.rx_bytes, ev->u.close.retrans);
		break;
	case TT_EV_LOST:
		fprintf(stderr, " count=%llu cpu=%u", (unsigned long long)ev->u.lost.count, ev->u.lost.cpu);
		break;
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		fprintf(stderr, " comm=%.16s", ev->u.proc.comm);
		break;
	}
	fputc('\n', stderr);
}

int tt_rec_event(void *ctx, const struct tt_event *ev)
{
	struct tt_rec *r = ctx;

	if (r->failed)
		return r->failed;
	r->events++;
	if (ev->kind == TT_EV_CONN_OPEN)
		r->conns_seen++;
	else if (ev->kind == TT_EV_LOST)
		r->lost += ev->u.lost.count;
	if (r->o.dump)
		dump_line(ev);
	if (tt_rec_conntab_apply(r->conns, ev))
		fail(r, -ENOMEM, "out of memory");
	if (r->flight) {
		tt_rec_flight_push(r->flight, ev);
		return 0;
	}
	return add(r, ev) ? r->failed : 0;
}

void tt_rec_tick(struct tt_rec *r)
{
	int ret;

	if (r->failed || !r->w)
		return;
	ret = tt_fmt_writer_flush(r->w);
	if (ret) {
		fail(r, ret, tt_fmt_writer_error(r->w));
		return;
	}
	if ((r->o.rotate_bytes && tt_fmt_writer_bytes(r->w) >= r->o.rotate_bytes) ||
	    (r->o.rotate_ns && tt_now_mono_ns() - r->file_start >= r->o.rotate_ns)) {
		if (!finish_file(r))
			begin_file(r, -1);
	}
}

static int add_held(void *ctx, const struct tt_event *ev)
{
	return add(ctx, ev);
}

struct held_open {
	struct tt_rec *r;
	uint64_t oldest;
};

/* Connections opened before the oldest event held: their CONN_OPEN is not in memory any more. */
static int add_open_older(void *ctx, const struct tt_event *open)
{
	struct held_open *h = ctx;

	if (h->oldest && open->ts_ns >= h->oldest)
		return 0;
	return add_open_again(h->r, open);
}

void tt_rec_dump(struct tt_rec *r)
{
	struct tt_fmt_wopts wo = {0};
	struct held_open h = {r, 0};
	char path[4096], err[256];
	int fd = r->fd;

	if (!r->flight || r->failed)
		return;
	r->fd = -1;
	if (fd < 0) {
		file_name(r, r->file_no, path, sizeof(path));
		fd = open_out(path, r->o.force, err, sizeof(err));
		if (fd < 0) {
			fail(r, fd, err);
			return;
		}
	}
	r->hdr.start_ns = tt_now_wall_ns();
	if (tt_fmt_writer_open_fd(&r->w, fd, &r->hdr, &wo, err, sizeof(err))) {
		fail(r, -EIO, err);
		return;
	}
	r->file_no++;
	h.oldest = tt_rec_flight_oldest(r->flight);
	if (!tt_rec_conntab_foreach(r->conns, add_open_older, &h))
		tt_rec_flight_foreach(r->flight, add_held, r);
	finish_file(r);
}

int tt_rec_failed(const struct tt_rec *r)
{
	return r->failed;
}

int tt_rec_finish(struct tt_rec *r, char *err, size_t errlen)
{
	r->end_mono = tt_now_mono_ns();
	if (r->flight && r->src)
		tt_rec_dump(r);
	else
		finish_file(r);
	if (r->failed)
		snprintf(err, errlen, "%s", r->err[0] ? r->err : "writing the capture failed");
	return r->failed;
}

void tt_rec_print_stats(const struct tt_rec *r, FILE *f)
{
	double secs = r->end_mono > r->start_mono ? (r->end_mono - r->start_mono) / 1e9 : 0;

	fprintf(f,
		"%" PRIu64 " events, %" PRIu64 " connections, %" PRIu64
		" bytes written (%.2f bytes/event), %" PRIu64 " lost, %.1f s, %u file%s\n",
		r->events, r->conns_seen, r->bytes_done,
		r->events ? (double)r->bytes_done / r->events : 0.0, r->lost, secs, r->file_no,
		r->file_no == 1 ? "" : "s");
	if (r->flight && tt_rec_flight_dropped(r->flight))
		fprintf(f, "flight recorder memory full: %" PRIu64 " events forgotten early\n",
			tt_rec_flight_dropped(r->flight));
}

void tt_rec_free(struct tt_rec *r)
{
	if (!r)
		return;
	if (r->w)
		tt_fmt_writer_close(r->w);
	if (r->fd >= 0)
		close(r->fd);
	tt_rec_conntab_free(r->conns);
	tt_rec_flight_free(r->flight);
	free(r);
}
