/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Cutting a time range out of a replay into a new capture. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cut.h"

struct cut {
	struct tt_fmt_writer *w; /* with the header copied: it stores our wall times as read */
	struct tt_anon *anon;	 /* NULL: a plain copy */
	int err;
	uint64_t last_ns; /* latest event time written (wall) */
};

static int add(struct cut *c, const struct tt_event *ev)
{
	struct tt_event e = *ev;

	if (ev->ts_ns > c->last_ns)
		c->last_ns = ev->ts_ns;
	if (c->anon) {
		int ret = tt_anon_event(c->anon, &e);

		if (ret < 0)
			return ret;
	}
	return tt_fmt_writer_add(c->w, &e);
}

struct reopen_ctx {
	struct cut *c;
	uint64_t ts;
};

void cut_open_event(const struct tt_conn *conn, uint64_t ts, uint16_t flags, struct tt_event *out)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = ts;
	ev.conn_id = conn->id;
	ev.pid = conn->pid;
	ev.tid = conn->pid;
	ev.kind = TT_EV_CONN_OPEN;
	ev.flags = flags | (conn->pid ? 0 : TT_F_PID_UNKNOWN);
	memcpy(ev.u.open.laddr, conn->laddr, TT_ADDR_LEN);
	memcpy(ev.u.open.raddr, conn->raddr, TT_ADDR_LEN);
	ev.u.open.lport = conn->lport;
	ev.u.open.rport = conn->rport;
	ev.u.open.family = conn->family;
	ev.u.open.proto = conn->proto;
	ev.u.open.direction = conn->direction;
	ev.u.open.state = conn->state;
	ev.u.open.netns = conn->netns;
	ev.u.open.cgroup_id = conn->cgroup_id;
	memcpy(ev.u.open.comm, conn->comm, TT_COMM_LEN);
	*out = ev;
}

/* A connection open at the cut point gets its CONN_OPEN again, rebuilt from the table. */
static void reopen(void *ctx, const struct tt_conn *conn)
{
	struct reopen_ctx *r = ctx;
	struct tt_event ev;

	if (r->c->err || (conn->flags & TT_CONN_CLOSED))
		return;
	cut_open_event(conn, r->ts, TT_F_PREEXISTING, &ev);
	r->c->err = add(r->c, &ev);
}

int cut_open(struct cut **out, const char *path, int force, const struct tt_fmt_header *hdr,
	     const struct tt_state *st, uint64_t from_ns, struct tt_anon *anon, char *err,
	     size_t errlen)
{
	struct tt_fmt_header h = *hdr;
	struct cut *c = calloc(1, sizeof(*c));
	struct reopen_ctx r = {.c = c, .ts = from_ns};
	int ret;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (from_ns > h.start_ns)
		h.start_ns = from_ns;
	c->anon = anon;
	if (anon)
		tt_anon_header(anon, &h);
	ret = tt_fmt_writer_open(&c->w, path, &h, &(struct tt_fmt_wopts){.force = force}, err,
				 errlen);
	if (ret < 0) {
		free(c);
		return ret;
	}
	tt_state_foreach(st, reopen, &r);
	if (c->err) {
		ret = c->err;
		snprintf(err, errlen, "%s: %s", path,
			 *tt_fmt_writer_error(c->w) ? tt_fmt_writer_error(c->w) : strerror(-ret));
		tt_fmt_writer_close(c->w);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int cut_add(struct cut *c, const struct tt_event *ev)
{
	return add(c, ev);
}

uint64_t cut_events(const struct cut *c, uint64_t *last_ns)
{
	*last_ns = c->last_ns;
	return tt_fmt_writer_events(c->w);
}

int cut_close(struct cut *c, char *err, size_t errlen)
{
	int ret;

	if (!c)
		return 0;
	ret = tt_fmt_writer_close(c->w);
	if (ret < 0)
		snprintf(err, errlen, "%s", strerror(-ret));
	free(c);
	return ret;
}
