/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Pacing a replay for the view: the play position follows the monotonic clock
 * times the speed; pause, speed changes and seeks re-base that clock so the
 * position never jumps by itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pace.h"
#include "tt_util.h"

#define STEP_WORK_NS 50000000ull

/* The first time past t, without wrapping at the end of time. */
static uint64_t after(uint64_t t)
{
	return t == UINT64_MAX ? t : t + 1;
}

static void rebase(struct pace *pc)
{
	pc->base_pos = player_pos(pc->p);
	pc->base_mono = tt_now_mono_ns();
}

static int step(void *ctx, int budget_ms)
{
	struct pace *pc = ctx;
	uint64_t target, t0 = tt_now_mono_ns();
	int ret;

	(void)budget_ms;
	if (pc->paused)
		return pc->at_end;
	if (pc->speed > 0) {
		target = pc->base_pos + (uint64_t)((double)(t0 - pc->base_mono) * pc->speed);
	} else {
		target = player_pos(pc->p) + pc->span_ns;
	}
	if (target > pc->end_ns)
		target = after(pc->end_ns);
	ret = player_advance(pc->p, target, 0, 0);
	if (ret < 0)
		return ret;
	if (ret == PLAYER_WAITING)
		ret = 0; /* all that is written so far is shown: more comes */
	if (pc->speed == 0) {
		uint64_t took = tt_now_mono_ns() - t0;

		/* Aim at ~50 ms of work per step so keys stay responsive. */
		if (took < STEP_WORK_NS / 2 && pc->span_ns < (1ull << 62))
			pc->span_ns *= 2;
		else if (took > STEP_WORK_NS && pc->span_ns > 1000000)
			pc->span_ns /= 2;
	}
	pc->at_end = ret == 1 || target > pc->end_ns;
	return pc->at_end;
}

static const struct tt_state *state(void *ctx)
{
	struct pace *pc = ctx;

	return player_state(pc->p);
}

static uint64_t now_ns(void *ctx)
{
	struct pace *pc = ctx;

	return player_pos(pc->p);
}

/* A stretch of event time as the header shows it: "4.9s", "12m05s", "3h02m10s". */
static void span_str(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
	else
		snprintf(buf, len, "%lluh%02um%02us", (unsigned long long)(s / 3600),
			 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
}

/*
 * Where the replay stands and how it plays: "+1.9s/4.9s (39%)  x1  PAUSED". The offset is
 * from the capture's start (what --from +1.9s names), the length up to the last event or
 * --to; from a pipe the length is known only once it is read to its end. The speed shows
 * while paused too, so that + and - answer.
 */
static void mode(void *ctx, char *buf, size_t len)
{
	struct pace *pc = ctx;
	uint64_t start = player_start(pc->p), pos = player_pos(pc->p), last = player_last(pc->p);
	char at[32], whole[32], speed[32];
	size_t n;

	if (last != UINT64_MAX && last > pc->end_ns)
		last = pc->end_ns;
	span_str(pos > start ? pos - start : 0, at, sizeof(at));
	if (pc->speed > 0)
		snprintf(speed, sizeof(speed), "x%g", pc->speed);
	else
		snprintf(speed, sizeof(speed), "max");
	if (last == UINT64_MAX) {
		n = (size_t)snprintf(buf, len, "+%s  %s", at, speed);
	} else {
		uint64_t whole_ns = last > start ? last - start : 0;
		uint64_t off = pos > start ? pos - start : 0;
		unsigned pct = 100;

		/* rounded down: 100% is the end, not 99.5% of the way */
		if (off < whole_ns) {
			pct = (unsigned)(100.0 * (double)off / (double)whole_ns);
			pct = pct > 99 ? 99 : pct;
		}
		span_str(whole_ns, whole, sizeof(whole));
		n = (size_t)snprintf(buf, len, "+%s/%s (%u%%)  %s", at, whole, pct, speed);
	}
	if (pc->paused && n < len)
		n += (size_t)snprintf(buf + n, len - n, "  PAUSED");
	if (pc->follow && !pc->at_end && n < len)
		snprintf(buf + n, len - n, "  FOLLOW");
}

/* "recorded without: owner-sweep udp-peers" from the header's "name (why): loss; ..." */
static void missing_names(const char *missing, char *buf, size_t len)
{
	size_t used = snprintf(buf, len, "recorded without:");

	for (const char *c = missing; *c && used < len;) {
		size_t n = strcspn(c, " (;");

		used += snprintf(buf + used, len - used, " %.*s", (int)n, c);
		c = strstr(c, "; ");
		if (!c)
			break;
		c += 2;
	}
}

static const char *warning(void *ctx)
{
	struct pace *pc = ctx;
	const char *last;
	unsigned n = player_warnings(pc->p, &last);
	const char *missing = player_header(pc->p)->missing;

	if (n)
		snprintf(pc->warning, sizeof(pc->warning), "capture damaged (%u): %s", n, last);
	else if (missing[0]) /* what the recorder lacked, named as the live view names it */
		missing_names(missing, pc->warning, sizeof(pc->warning));
	else
		return NULL;
	return pc->warning;
}

static int command(void *ctx, enum tt_view_cmd cmd, int64_t arg)
{
	struct pace *pc = ctx;
	uint64_t pos = player_pos(pc->p), t;
	int ret = 0;

	switch (cmd) {
	case TT_VIEW_CMD_PAUSE: pc->paused = !pc->paused; break;
	/* Within -s's range: + past its top is max (as fast as possible), - from max its top. */
	case TT_VIEW_CMD_FASTER:
		if (pc->speed >= PACE_SPEED_MAX)
			pc->speed = 0;
		else if (pc->speed > 0)
			pc->speed = pc->speed * 2 < PACE_SPEED_MAX ? pc->speed * 2 : PACE_SPEED_MAX;
		break;
	case TT_VIEW_CMD_SLOWER:
		if (pc->speed == 0)
			pc->speed = PACE_SPEED_MAX;
		else
			pc->speed = pc->speed / 2 > PACE_SPEED_MIN ? pc->speed / 2 : PACE_SPEED_MIN;
		break;
	case TT_VIEW_CMD_SEEK:
		if (arg < 0 && (uint64_t)-arg > pos)
			t = 0;
		else
			t = pos + (uint64_t)arg;
		if (t > pc->end_ns)
			t = pc->end_ns;
		ret = player_seek(pc->p, t);
		pc->at_end = ret == 1;
		pc->gap_at = 0;
		break;
	case TT_VIEW_CMD_START:
		ret = player_seek(pc->p, 0);
		pc->at_end = ret == 1;
		pc->gap_at = 0;
		break;
	case TT_VIEW_CMD_NEXT_GAP:
		/*
		 * Looking for the gap plays what lies before it: a pipe cannot be read again,
		 * so with no gap ahead the rest of the capture would be gone.
		 */
		if (!player_can_seek(pc->p)) {
			ret = -ESPIPE;
			break;
		}
		ret = player_advance(pc->p, after(pc->end_ns), 1, 1);
		if (ret != 2 || player_pos(pc->p) > pc->end_ns) {
			/*
			 * No gap ahead: stay where we were. A seek applies the events before
			 * its time; at the last gap that time's LOST event was applied too.
			 */
			player_seek(pc->p, pos == pc->gap_at ? after(pos) : pos);
			ret = -ENODATA;
		} else {
			pc->at_end = 0;
			pc->gap_at = player_pos(pc->p);
		}
		break;
	}
	rebase(pc);
	return ret < 0 ? ret : 0;
}

void pace_source(struct pace *pc, struct tt_view_source *src)
{
	memset(src, 0, sizeof(*src));
	src->ctx = pc;
	src->step = step;
	src->state = state;
	src->now_ns = now_ns;
	src->mode = mode;
	src->warning = warning;
	src->command = command;
	snprintf(pc->help, sizeof(pc->help),
		 "Replay\n"
		 "  space    pause / resume          + / -    double / halve the speed,\n"
		 "                                            %g .. %g and max, as -s takes\n"
		 "  Left/Right  seek -/+10 s         Shift-Left/Right or [ ]  seek -/+60 s\n"
		 "  n        jump to the next lost-events record\n"
		 "  g        back to the start\n"
		 "Header: the capture's time (UTC), +offset/length (share played), speed\n",
		 PACE_SPEED_MIN, PACE_SPEED_MAX);
	src->help = pc->help;
	src->key_wait_ms = 50;
	if (!pc->span_ns)
		pc->span_ns = 100000000ull;
	rebase(pc);
}
