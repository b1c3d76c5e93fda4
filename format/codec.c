// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Per-kind event fields <-> varint payloads (docs/FORMAT.md, "Event payloads").
 * The field order of each kind is frozen; new fields are only ever appended,
 * which is what lets old readers ignore them and new readers default them to 0.
 */
#include <string.h>

#include "fmt_priv.h"

int tt_fmt_varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	unsigned shift = 0;

	for (int i = 0; i < 10; i++) {
		if (p >= end)
			return -1;
		uint8_t b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*v = r;
			*pp = p;
			return 0;
		}
	}
	return -1;
}

/* Byte strings drop trailing zero bytes: the reader zero-fills, and a payload
 * then never ends in a zero byte that belongs to a string (see trim below). */
static uint8_t *put_bytes(uint8_t *p, const void *src, size_t max)
{
	const uint8_t *s = src;
	size_t n = max;

	while (n && !s[n - 1])
		n--;
	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_comm(uint8_t *p, const char *comm)
{
	size_t n = strnlen(comm, TT_COMM_LEN);

	*p++ = (uint8_t)n;
	memcpy(p, comm, n);
	return p + n;
}

size_t tt_fmt_codec_encode(const struct tt_event *ev, uint8_t *p0)
{
	uint8_t *p = p0;

	switch (ev->kind) {
	case TT_EV_CONN_OPEN: {
		const struct tt_ev_open *o = &ev->u.open;
		p = tt_put_varint(p, o->family);
		p = tt_put_varint(p, o->proto);
		p = tt_put_varint(p, o->direction);
		p = tt_put_varint(p, o->state);
		p = tt_put_varint(p, o->lport);
		p = tt_put_varint(p, o->rport);
		p = tt_put_varint(p, o->netns);
		p = tt_put_varint(p, o->cgroup_id);
		p = put_bytes(p, o->laddr, TT_ADDR_LEN);
		p = put_bytes(p, o->raddr, TT_ADDR_LEN);
		p = put_comm(p, o->comm);
		break;
	}
	case TT_EV_TRAFFIC: {
		const struct tt_ev_traffic *t = &ev->u.traffic;
		p = tt_put_varint(p, t->tx_bytes);
		p = tt_put_varint(p, t->rx_bytes);
		p = tt_put_varint(p, t->tx_pkts);
		p = tt_put_varint(p, t->rx_pkts);
		p = tt_put_varint(p, t->tx_calls);
		p = tt_put_varint(p, t->rx_calls);
		break;
	}
	case TT_EV_STATE:
		p = tt_put_varint(p, ev->u.state.old_state);
		p = tt_put_varint(p, ev->u.state.new_state);
		break;
	case TT_EV_RTT:
		p = tt_put_varint(p, ev->u.rtt.srtt_us);
		p = tt_put_varint(p, ev->u.rtt.rttvar_us);
		break;
	case TT_EV_RETRANS:
		p = tt_put_varint(p, ev->u.retrans.segs);
		p = tt_put_varint(p, ev->u.retrans.state);
		break;
	case TT_EV_RESET:
		p = tt_put_varint(p, ev->u.reset.dir);
		p = tt_put_varint(p, ev->u.reset.state);
		break;
	case TT_EV_CONN_CLOSE: {
		const struct tt_ev_close *c = &ev->u.close;
		p = tt_put_varint(p, c->tx_bytes);
		p = tt_put_varint(p, c->rx_bytes);
		p = tt_put_varint(p, c->tx_pkts);
		p = tt_put_varint(p, c->rx_pkts);
		p = tt_put_varint(p, c->srtt_us);
		p = tt_put_varint(p, c->retrans);
		p = tt_put_varint(p, c->state);
		break;
	}
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		p = put_comm(p, ev->u.proc.comm);
		p = tt_put_varint(p, ev->u.proc.ppid);
		p = tt_put_varint(p, tt_zigzag(ev->u.proc.exit_code));
		break;
	case TT_EV_LOST:
		p = tt_put_varint(p, ev->u.lost.count);
		p = tt_put_varint(p, ev->u.lost.cpu);
		break;
	case TT_EV_STATS:
		p = tt_put_varint(p, ev->u.stats.events);
		p = tt_put_varint(p, ev->u.stats.lost);
		p = tt_put_varint(p, ev->u.stats.conns);
		p = tt_put_varint(p, ev->u.stats.bytes_out);
		break;
	default: break;
	}
	/* A zero byte at the end is always a whole zero field (a minimal varint
	 * ends in a non-zero byte unless it is 0, and strings end non-zero): drop
	 * them, readers treat missing trailing fields as 0. */
	while (p > p0 && p[-1] == 0)
		p--;
	return (size_t)(p - p0);
}

/* Decoding: a field past the end of the payload reads as 0. */
struct cur {
	const uint8_t *p, *end;
	int bad;
};

/* Inlined: this runs once per field of every event read. */
static inline __attribute__((always_inline)) uint64_t uv(struct cur *c)
{
	uint64_t v = 0;

	if (c->p < c->end && tt_get_varint_pad(&c->p, c->end, &v))
		c->bad = 1;
	return v;
}

static void bytes(struct cur *c, void *dst, size_t max)
{
	uint64_t n = uv(c);

	if (c->bad)
		return;
	if (n > max || n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		return;
	}
	memcpy(dst, c->p, n);
	c->p += n;
}

int tt_fmt_codec_decode(struct tt_event *ev, const uint8_t *p, const uint8_t *end)
{
	struct cur c = {p, end, 0};

	switch (ev->kind) {
	case TT_EV_CONN_OPEN: {
		struct tt_ev_open *o = &ev->u.open;
		o->family = uv(&c);
		o->proto = uv(&c);
		o->direction = uv(&c);
		o->state = uv(&c);
		o->lport = uv(&c);
		o->rport = uv(&c);
		o->netns = uv(&c);
		o->cgroup_id = uv(&c);
		bytes(&c, o->laddr, TT_ADDR_LEN);
		bytes(&c, o->raddr, TT_ADDR_LEN);
		bytes(&c, o->comm, TT_COMM_LEN);
		break;
	}
	case TT_EV_TRAFFIC: {
		struct tt_ev_traffic *t = &ev->u.traffic;
		t->tx_bytes = uv(&c);
		t->rx_bytes = uv(&c);
		t->tx_pkts = uv(&c);
		t->rx_pkts = uv(&c);
		t->tx_calls = uv(&c);
		t->rx_calls = uv(&c);
		break;
	}
	case TT_EV_STATE:
		ev->u.state.old_state = uv(&c);
		ev->u.state.new_state = uv(&c);
		break;
	case TT_EV_RTT:
		ev->u.rtt.srtt_us = uv(&c);
		ev->u.rtt.rttvar_us = uv(&c);
		break;
	case TT_EV_RETRANS:
		ev->u.retrans.segs = uv(&c);
		ev->u.retrans.state = uv(&c);
		break;
	case TT_EV_RESET:
		ev->u.reset.dir = uv(&c);
		ev->u.reset.state = uv(&c);
		break;
	case TT_EV_CONN_CLOSE: {
		struct tt_ev_close *cl = &ev->u.close;
		cl->tx_bytes = uv(&c);
		cl->rx_bytes = uv(&c);
		cl->tx_pkts = uv(&c);
		cl->rx_pkts = uv(&c);
		cl->srtt_us = uv(&c);
		cl->retrans = uv(&c);
		cl->state = uv(&c);
		break;
	}
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		bytes(&c, ev->u.proc.comm, TT_COMM_LEN);
		ev->u.proc.ppid = uv(&c);
		ev->u.proc.exit_code = (int32_t)tt_unzigzag(uv(&c));
		break;
	case TT_EV_LOST:
		ev->u.lost.count = uv(&c);
		ev->u.lost.cpu = uv(&c);
		break;
	case TT_EV_STATS:
		ev->u.stats.events = uv(&c);
		ev->u.stats.lost = uv(&c);
		ev->u.stats.conns = uv(&c);
		ev->u.stats.bytes_out = uv(&c);
		break;
	default: return 0;
	}
	return c.bad ? -1 : 1;
}
