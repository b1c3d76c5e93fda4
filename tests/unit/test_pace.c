// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of the replay's pacing for the view (replay/pace.c) over a real
 * player and a capture written here, from a file and from a pipe. One line per
 * check, exit 1 on any failure.
 *
 * Oracle: the capture's own layout (a TRAFFIC event every 100 ms for 10 s,
 * LOST records at 3 s and 6 s): where each key must leave the play position,
 * and that every event is still applied exactly once afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replay/pace.h"
#include "tt_fmt.h"
#include "tt_util.h"
#include "check.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define T0 (1764000000ull * SEC) /* wall time of the first event */
#define NTRAFFIC 100		 /* one every 100 ms: T0 .. T0 + 9.9 s */

/* Seconds after T0, for messages. */
static double at(uint64_t ns)
{
	return ((double)ns - (double)T0) / 1e9;
}

static uint64_t nevents(int gaps)
{
	return 1 + NTRAFFIC + (gaps ? 2 : 0);
}

/* One connection: its open, traffic every 100 ms, LOST records at 3.05 s and 6.05 s if gaps. */
static int write_capture(const char *path, int gaps)
{
	struct tt_fmt_header h;
	struct tt_fmt_writer *w;
	struct tt_event ev;
	char err[256];
	int ret;

	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "pace");
	snprintf(h.clock, sizeof(h.clock), "boottime");
	h.start_ns = T0;
	ret = tt_fmt_writer_open(
	    &w, path, &h, &(struct tt_fmt_wopts){.force = 1, .block_events = 16}, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return ret;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = TT_EV_CONN_OPEN;
	ev.ts_ns = T0;
	ev.conn_id = 7;
	ev.pid = ev.tid = 42;
	ev.u.open.family = TT_FAMILY_IPV4;
	ev.u.open.proto = 6;
	ev.u.open.state = 1;
	ev.u.open.laddr[0] = ev.u.open.raddr[0] = 127;
	ev.u.open.lport = 40000;
	ev.u.open.rport = 443;
	tt_fmt_writer_add(w, &ev);
	for (int i = 0; i < NTRAFFIC; i++) {
		memset(&ev.u, 0, sizeof(ev.u));
		ev.kind = TT_EV_TRAFFIC;
		ev.ts_ns = T0 + (uint64_t)i * 100 * MS;
		ev.u.traffic.tx_bytes = 1000;
		ev.u.traffic.tx_pkts = 1;
		tt_fmt_writer_add(w, &ev);
		if (gaps && (i == 30 || i == 60)) {
			struct tt_event l;

			memset(&l, 0, sizeof(l));
			l.kind = TT_EV_LOST;
			l.ts_ns = ev.ts_ns + 50 * MS;
			l.u.lost.count = 5;
			tt_fmt_writer_add(w, &l);
		}
	}
	return tt_fmt_writer_close(w);
}

/* A player over path, or over its bytes through a pipe (no seeking, no index). */
static struct player *open_player(const char *path, int pipe_it, int *keep_fd)
{
	struct player_opts po = {.tick_ns = SEC, .keyframes = 1};
	char err[256], name[64];
	struct player *p;
	int fds[2];

	*keep_fd = -1;
	if (pipe_it) {
		FILE *f = fopen(path, "rb");
		char buf[65536];
		size_t n;

		/* the capture is small: it fits the pipe's buffer, written before reading */
		if (!f || pipe(fds))
			return NULL;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (n == sizeof(buf) || write(fds[1], buf, n) != (ssize_t)n)
			return NULL;
		close(fds[1]);
		snprintf(name, sizeof(name), "/dev/fd/%d", fds[0]);
		*keep_fd = fds[0];
		path = name;
	}
	if (player_open(&p, (char *const *)&path, 1, &po, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return p;
}

static void close_player(struct player *p, int fd)
{
	player_free(p);
	if (fd >= 0)
		close(fd);
}

/* 'n' from a file: to each LOST record, then nowhere, with nothing consumed. */
static void t_next_gap_file(const char *path)
{
	struct tt_view_source src;
	struct pace pc = {.speed = 1, .end_ns = UINT64_MAX};
	int fd, ret;
	uint64_t pos, ev;

	pc.p = open_player(path, 0, &fd);
	if (!pc.p)
		return check(0, "file: player opens");
	pace_source(&pc, &src);
	ret = src.command(src.ctx, TT_VIEW_CMD_NEXT_GAP, 0);
	pos = player_pos(pc.p);
	check(ret == 0 && pos == T0 + 3050 * MS,
	      "file: n goes to the first LOST at 3.05 s (%d, %.3f)", ret, at(pos));
	ret = src.command(src.ctx, TT_VIEW_CMD_NEXT_GAP, 0);
	pos = player_pos(pc.p);
	check(ret == 0 && pos == T0 + 6050 * MS, "file: n again, the second at 6.05 s (%d, %.3f)",
	      ret, at(pos));
	ev = player_events(pc.p);
	ret = src.command(src.ctx, TT_VIEW_CMD_NEXT_GAP, 0);
	/* 1 ns past the gap it stood at: a seek applies the events before its time, and the
	 * LOST event there stays applied */
	check(ret == -ENODATA && player_pos(pc.p) == pos + 1,
	      "file: n with no gap left says so and stays at 6.05 s (%d, %.3f)", ret,
	      at(player_pos(pc.p)));
	/* the rest plays from there: every event once (events applied count seeks too) */
	ev = player_events(pc.p);
	ret = player_advance(pc.p, UINT64_MAX, 1, 0);
	check(ret == 1 && player_pos(pc.p) == T0 + 9900 * MS,
	      "file: playing on from there reaches the end at 9.9 s (%d, %.3f)", ret,
	      at(player_pos(pc.p)));
	(void)ev;
	{
		const struct tt_conn *c = NULL;
		struct tt_select sel = {.sort = TT_COL_TX_RATE};
		size_t total = 0;

		if (tt_state_select(player_state(pc.p), &sel, 0, 1, &c, &total) == 1)
			check(c->tx_bytes == NTRAFFIC * 1000ull,
			      "file: the table has every TRAFFIC once: %llu bytes",
			      (unsigned long long)c->tx_bytes);
		else
			check(0, "file: the connection is in the table");
	}
	close_player(pc.p, fd);
}

/*
 * 'n' from a pipe: what lies ahead cannot be looked at without consuming it, and the pipe
 * cannot be read again. The position and the events ahead must stay as they were.
 */
static void t_next_gap_pipe(const char *path, int gaps)
{
	struct tt_view_source src;
	struct pace pc = {.speed = 1, .end_ns = UINT64_MAX};
	int fd, ret;
	uint64_t pos;
	const struct tt_conn *c = NULL;
	struct tt_select sel = {.sort = TT_COL_TX_RATE};
	size_t total = 0;

	char mode[64];

	pc.p = open_player(path, 1, &fd);
	if (!pc.p)
		return check(0, "pipe: player opens");
	pace_source(&pc, &src);
	ret = player_advance(pc.p, T0 + 1500 * MS, 0, 0);
	pos = player_pos(pc.p);
	src.mode(src.ctx, mode, sizeof(mode));
	check(!strcmp(mode, "+1.5s  x1"), "pipe: the position, no length before the end (%s)",
	      mode);
	ret = src.command(src.ctx, TT_VIEW_CMD_NEXT_GAP, 0);
	check(ret < 0 && player_pos(pc.p) == pos,
	      "pipe, %s: n refuses and stays at %.3f s (%d: %s, at %.3f)",
	      gaps ? "gaps ahead" : "no gap ahead", at(pos), ret, strerror(-ret),
	      at(player_pos(pc.p)));
	ret = player_advance(pc.p, UINT64_MAX, 1, 0);
	if (tt_state_select(player_state(pc.p), &sel, 0, 1, &c, &total) != 1)
		return check(0, "pipe: the connection is in the table");
	check(ret == 1 && c->tx_bytes == NTRAFFIC * 1000ull && player_events(pc.p) == nevents(gaps),
	      "pipe, %s: the rest of the capture still plays: %llu of %d bytes, %llu of %llu "
	      "events",
	      gaps ? "gaps ahead" : "no gap ahead", (unsigned long long)c->tx_bytes,
	      NTRAFFIC * 1000, (unsigned long long)player_events(pc.p),
	      (unsigned long long)nevents(gaps));
	src.mode(src.ctx, mode, sizeof(mode));
	check(!strcmp(mode, "+9.9s/9.9s (100%)  x1"), "pipe: read to its end, the length (%s)",
	      mode);
	close_player(pc.p, fd);
}

/* Seeks stay within the capture and --to; g goes back to the start; speed keys. */
static void t_keys(const char *path)
{
	struct tt_view_source src;
	struct pace pc = {.speed = 1, .end_ns = T0 + 8 * SEC};
	char mode[64];
	int fd, ret;

	pc.p = open_player(path, 0, &fd);
	if (!pc.p)
		return check(0, "keys: player opens");
	pace_source(&pc, &src);
	ret = src.command(src.ctx, TT_VIEW_CMD_SEEK, 5 * (int64_t)SEC);
	check(ret == 0 && player_pos(pc.p) == T0 + 5 * SEC, "seek +5 s: at 5 s (%.3f)",
	      at(player_pos(pc.p)));
	src.mode(src.ctx, mode, sizeof(mode));
	check(!strcmp(mode, "+5.0s/8.0s (62%)  x1"), "at 5 s of 8 (--to): '%s'", mode);
	ret = src.command(src.ctx, TT_VIEW_CMD_SEEK, 60 * (int64_t)SEC);
	check(ret == 0 && player_pos(pc.p) == T0 + 8 * SEC, "seek +60 s: stops at --to, 8 s (%.3f)",
	      at(player_pos(pc.p)));
	ret = src.command(src.ctx, TT_VIEW_CMD_SEEK, -60 * (int64_t)SEC);
	check(ret == 0 && player_pos(pc.p) == T0 && !pc.at_end,
	      "seek -60 s: back to the first event (%.3f)", at(player_pos(pc.p)));
	src.command(src.ctx, TT_VIEW_CMD_SEEK, 3 * (int64_t)SEC);
	ret = src.command(src.ctx, TT_VIEW_CMD_START, 0);
	check(ret == 0 && player_pos(pc.p) == T0, "g: back to the start (%.3f)",
	      at(player_pos(pc.p)));

	/* the speed keys keep to -s's range, 0.1 .. 10000 or max (0) */
	for (int i = 0; i < 13; i++)
		src.command(src.ctx, TT_VIEW_CMD_FASTER, 0);
	check(pc.speed == 8192, "+ 13 times: x8192 (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_FASTER, 0);
	check(pc.speed == PACE_SPEED_MAX, "+ from 8192: x10000, the top of -s (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_FASTER, 0);
	check(pc.speed == 0, "+ from 10000: max (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_FASTER, 0);
	check(pc.speed == 0, "+ at max: stays max (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_SLOWER, 0);
	check(pc.speed == PACE_SPEED_MAX, "- from max: x10000 (x%g)", pc.speed);
	for (int i = 0; i < 40; i++)
		src.command(src.ctx, TT_VIEW_CMD_SLOWER, 0);
	check(pc.speed == PACE_SPEED_MIN, "- forty times: x0.1, the bottom of -s (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_FASTER, 0);
	check(pc.speed == 2 * PACE_SPEED_MIN, "+ from 0.1: x0.2 (x%g)", pc.speed);
	src.command(src.ctx, TT_VIEW_CMD_SLOWER, 0);
	src.command(src.ctx, TT_VIEW_CMD_PAUSE, 0);
	src.mode(src.ctx, mode, sizeof(mode));
	/* the length is up to --to (8 s); the speed shows while paused */
	check(pc.paused && !strcmp(mode, "+0.0s/8.0s (0%)  x0.1  PAUSED"), "space: paused (%s)",
	      mode);
	ret = src.step(src.ctx, 0);
	check(ret == 0 && player_pos(pc.p) == T0, "paused: a step does not move (%.3f)",
	      at(player_pos(pc.p)));
	src.command(src.ctx, TT_VIEW_CMD_PAUSE, 0);

	/* real-time pacing: 2 s of wall clock since the base at x1 is 2 s of capture */
	pc.speed = 1;
	src.command(src.ctx, TT_VIEW_CMD_START, 0);
	pc.base_mono -= 2 * SEC;
	ret = src.step(src.ctx, 0);
	check(ret == 0 && player_pos(pc.p) >= T0 + 1900 * MS && player_pos(pc.p) < T0 + 3 * SEC,
	      "x1, 2 s after the base: at 2 s (%.3f)", at(player_pos(pc.p)));
	/* as fast as possible: steps go on to --to and say it is the end */
	pc.speed = 0;
	for (int i = 0; i < 1000 && !ret; i++)
		ret = src.step(src.ctx, 0);
	check(ret == 1 && player_pos(pc.p) - T0 - 8 * SEC <= 1,
	      "max speed: steps reach --to at 8 s and report the end (%d, %.3f)", ret,
	      at(player_pos(pc.p)));
	close_player(pc.p, fd);
}

int main(void)
{
	char dir[] = "/tmp/test_pace.XXXXXX", gaps[64], plain[64];

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(gaps, sizeof(gaps), "%s/gaps.tt", dir);
	snprintf(plain, sizeof(plain), "%s/plain.tt", dir);
	if (write_capture(gaps, 1) || write_capture(plain, 0))
		return 1;
	t_next_gap_file(gaps);
	t_next_gap_pipe(plain, 0);
	t_next_gap_pipe(gaps, 1);
	t_keys(plain);
	unlink(gaps);
	unlink(plain);
	rmdir(dir);
	return failures ? 1 : 0;
}
