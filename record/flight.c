// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Flight recorder ring: variable-size records (tt_event_size of the kind) in
 * one byte ring, so coalesced events cost what they cost on the ring buffer.
 * A record never wraps: when it does not fit at the end, the tail skips to 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flight.h"

struct tt_rec_flight {
	unsigned char *buf;
	size_t cap;
	size_t head; /* oldest record */
	size_t tail; /* where the next record goes */
	size_t wrap; /* end of valid data when tail < head, else unused */
	size_t n;
	uint64_t window_ns;
	uint64_t dropped;
	tt_rec_flight_forget_fn forget;
	void *forget_ctx;
};

static uint32_t rec_size(const unsigned char *p)
{
	const struct tt_event *e = (const struct tt_event *)p;

	return (tt_event_size(e->kind) + 7) & ~7u;
}

int tt_rec_flight_new(struct tt_rec_flight **out, uint64_t window_ns, size_t cap_bytes)
{
	struct tt_rec_flight *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->cap = cap_bytes;
	f->buf = malloc(cap_bytes);
	if (!f->buf) {
		free(f);
		return -ENOMEM;
	}
	f->window_ns = window_ns;
	*out = f;
	return 0;
}

void tt_rec_flight_free(struct tt_rec_flight *f)
{
	if (!f)
		return;
	free(f->buf);
	free(f);
}

void tt_rec_flight_on_forget(struct tt_rec_flight *f, tt_rec_flight_forget_fn fn, void *ctx)
{
	f->forget = fn;
	f->forget_ctx = ctx;
}

static void pop(struct tt_rec_flight *f)
{
	if (f->forget) {
		const struct tt_event *e = (const struct tt_event *)(f->buf + f->head);
		struct tt_event ev;

		memset(&ev, 0, sizeof(ev));
		memcpy(&ev, e, tt_event_size(e->kind));
		f->forget(f->forget_ctx, &ev);
	}
	f->head += rec_size(f->buf + f->head);
	f->n--;
	if (!f->n) {
		f->head = f->tail = 0;
		f->wrap = 0;
	} else if (f->tail < f->head && f->head >= f->wrap) {
		f->head = 0;
	}
}

/* Free bytes contiguous at tail. */
static size_t room(const struct tt_rec_flight *f, size_t need, int *wrap)
{
	*wrap = 0;
	if (!f->n)
		return f->cap;
	if (f->tail > f->head) {
		if (f->cap - f->tail >= need)
			return f->cap - f->tail;
		*wrap = 1;
		return f->head;
	}
	return f->head - f->tail;
}

void tt_rec_flight_push(struct tt_rec_flight *f, const struct tt_event *ev)
{
	uint32_t sz = (tt_event_size(ev->kind) + 7) & ~7u;
	int wrap;

	while (f->n && ev->ts_ns > f->window_ns &&
	       ((const struct tt_event *)(f->buf + f->head))->ts_ns < ev->ts_ns - f->window_ns)
		pop(f);
	while (room(f, sz, &wrap) < sz) {
		if (!f->n)
			return;
		pop(f);
		f->dropped++;
	}
	if (wrap) {
		f->wrap = f->tail;
		f->tail = 0;
	}
	memcpy(f->buf + f->tail, ev, tt_event_size(ev->kind));
	f->tail += sz;
	f->n++;
}

uint64_t tt_rec_flight_oldest(const struct tt_rec_flight *f)
{
	return f->n ? ((const struct tt_event *)(f->buf + f->head))->ts_ns : 0;
}

uint64_t tt_rec_flight_dropped(const struct tt_rec_flight *f)
{
	return f->dropped;
}

int tt_rec_flight_foreach(const struct tt_rec_flight *f,
			  int (*fn)(void *ctx, const struct tt_event *ev), void *ctx)
{
	size_t pos = f->head, left = f->n;
	/* tail == head with records held is a full ring after a wrap, not an empty one */
	int wrapped = f->n && f->tail <= f->head;
	struct tt_event ev;
	int ret;

	while (left--) {
		if (wrapped && pos >= f->wrap) {
			pos = 0;
			wrapped = 0;
		}
		memset(&ev, 0, sizeof(ev));
		memcpy(&ev, f->buf + pos,
		       tt_event_size(((const struct tt_event *)(f->buf + pos))->kind));
		if ((ret = fn(ctx, &ev)))
			return ret;
		pos += rec_size(f->buf + pos);
	}
	return 0;
}
