// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Selection for readers: filter and free-text match into a reusable array of
 * (sort key, connection) pairs, then a partial quicksort that only orders the
 * requested window. A frame of a 50-row view over 100K connections costs one
 * linear pass plus O(n) partitioning, not an O(n log n) sort.
 */
#include <stdlib.h>
#include <string.h>

#include "state_int.h"
#include "tt_util.h"

struct sel_ctx {
	enum tt_col col;
	int rev;
	int endpoint; /* LOCAL or REMOTE: keys may leave the end of an address to compare */
};

/* Bytes of s (at most max, up to a NUL) from byte from on, 8 of them big-endian: integer order
 * is byte order, as strncmp compares. */
static uint64_t pack8(const char *s, size_t from, size_t max)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < from; i++)
		if (i >= max || !s[i])
			return 0;
	for (i = 0; i < 8 && from + i < max && s[from + i]; i++)
		k = k << 8 | (uint8_t)s[from + i];
	return i ? k << (8 * (8 - i)) : 0; /* a shift by 64 is undefined */
}

static uint64_t bytes_key(const uint8_t *a, int n)
{
	uint64_t k = 0;

	for (int i = 0; i < n; i++)
		k = k << 8 | a[i];
	return k;
}

#define V4_TAIL (1ull << 16) /* an IPv4 address with non-zero bytes past the first four */

/*
 * Endpoint keys: family, address bytes, then port. An IPv4 address (the
 * first 4 bytes, the rest zero) and its port fit in key, so a table of
 * loopback connections sorts without touching them; IPv6 keeps 15 of its 16
 * bytes in key and key2, and only the last byte and the port need the row.
 */
static void endpoint_keys(uint8_t family, const uint8_t *a, uint16_t port, uint64_t *k1,
			  uint64_t *k2)
{
	if (family == TT_FAMILY_IPV4) {
		uint64_t tail = bytes_key(a + 4, 8) | bytes_key(a + 12, 4);

		*k1 = (uint64_t)family << 56 | bytes_key(a, 4) << 24 | (tail ? V4_TAIL : port);
		*k2 = tail ? bytes_key(a + 4, 8) : 0;
		return;
	}
	*k1 = (uint64_t)family << 56 | bytes_key(a, 7);
	*k2 = bytes_key(a + 7, 8);
}

/* Whether two items with equal keys must look at their rows (the end of an endpoint). */
static inline int needs_row(uint64_t key)
{
	return key >> 56 != TT_FAMILY_IPV4 || (key & V4_TAIL);
}

static void sort_keys(const struct tt_conn *c, enum tt_col col, uint64_t *k1, uint64_t *k2)
{
	const char *p;

	*k2 = 0;
	switch (col) {
	case TT_COL_PID: *k1 = ~(uint64_t)c->pid; break;
	case TT_COL_COMM:
		*k1 = pack8(c->comm, 0, TT_COMM_LEN);
		*k2 = pack8(c->comm, 8, TT_COMM_LEN);
		break;
	case TT_COL_PROTO:
		p = tt_proto_name(c->proto);
		*k1 = pack8(p, 0, 7) | c->family; /* names are at most 3 bytes */
		break;
	case TT_COL_LOCAL: endpoint_keys(c->family, c->laddr, c->lport, k1, k2); break;
	case TT_COL_REMOTE: endpoint_keys(c->family, c->raddr, c->rport, k1, k2); break;
	case TT_COL_STATE:
		p = tt_state_text(c);
		*k1 = pack8(p, 0, 16);
		*k2 = pack8(p, 8, 16);
		break;
	case TT_COL_TX_RATE: *k1 = ~c->tx_rate; break;
	case TT_COL_RX_RATE: *k1 = ~c->rx_rate; break;
	case TT_COL_TX: *k1 = ~c->tx_bytes; break;
	case TT_COL_RX: *k1 = ~c->rx_bytes; break;
	case TT_COL_TX_PKTS: *k1 = ~c->tx_pkts; break;
	case TT_COL_RX_PKTS: *k1 = ~c->rx_pkts; break;
	case TT_COL_RTT: *k1 = ~(uint64_t)c->rtt_us; break;
	/* the health columns: largest first, unknown ("-") after every known value */
	case TT_COL_RETR: *k1 = ~(uint64_t)c->retrans; break;
	case TT_COL_CONNECT: /* a handshake of 0 us is known: before the unknown */
		*k1 = c->have & TT_ACC_HAVE_CONNECT ? UINT64_MAX - 1 - c->connect_us : UINT64_MAX;
		break;
	case TT_COL_CWND: *k1 = ~(uint64_t)c->cwnd; break; /* 0: no sample, last */
	case TT_COL_ZWIN: /* TCP without a stall (0) before UDP (no window) */
		*k1 = c->proto == 6 ? UINT64_MAX - 1 - c->zero_window_ms : UINT64_MAX;
		break;
	case TT_COL_FAIL:
		/* names A-Z, then the connections that did not fail */
		p = tt_fail_reason_name(c->fail_reason);
		*k1 = p ? pack8(p, 0, 16) : UINT64_MAX;
		*k2 = p ? pack8(p, 8, 16) : UINT64_MAX;
		break;
	default: *k1 = 0; break;
	}
}

static int cmp_endpoint(uint8_t fa, const uint8_t *aa, uint16_t pa, uint8_t fb, const uint8_t *ab,
			uint16_t pb)
{
	int r;

	if (fa != fb)
		return fa < fb ? -1 : 1;
	r = memcmp(aa, ab, TT_ADDR_LEN);
	if (r)
		return r;
	return pa == pb ? 0 : pa < pb ? -1 : 1;
}

static inline int item_cmp(const struct sel_item *a, const struct sel_item *b,
			   const struct sel_ctx *x)
{
	int r;

	if (a->key != b->key)
		r = a->key < b->key ? -1 : 1;
	else if (a->key2 != b->key2)
		r = a->key2 < b->key2 ? -1 : 1;
	else if (x->endpoint && needs_row(a->key) &&
		 (r = x->col == TT_COL_LOCAL
			  ? cmp_endpoint(a->c->family, a->c->laddr, a->c->lport, b->c->family,
					 b->c->laddr, b->c->lport)
			  : cmp_endpoint(a->c->family, a->c->raddr, a->c->rport, b->c->family,
					 b->c->raddr, b->c->rport)))
		;
	else
		r = a->id == b->id ? 0 : a->id < b->id ? -1 : 1;
	return x->rev ? -r : r;
}

static inline void swap(struct sel_item *a, struct sel_item *b)
{
	struct sel_item t = *a;

	*a = *b;
	*b = t;
}

static void insertion_sort(struct sel_item *v, size_t n, const struct sel_ctx *x)
{
	for (size_t i = 1; i < n; i++) {
		struct sel_item t = v[i];
		size_t j = i;

		for (; j > 0 && item_cmp(&t, &v[j - 1], x) < 0; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/*
 * Partial quicksort: afterwards v[a, b) holds exactly the elements a full
 * sort would put there, in order. Only partitions overlapping [a, b) are
 * refined; items are all distinct (ties end at the id), so Hoare partitions
 * around a median of three never degenerate on equal keys.
 */
static void psort(struct sel_item *v, size_t lo, size_t hi, size_t a, size_t b,
		  const struct sel_ctx *x)
{
	while (hi - lo > 16) {
		size_t mid = lo + (hi - lo) / 2, i, j;
		struct sel_item p;

		if (item_cmp(&v[mid], &v[lo], x) < 0)
			swap(&v[mid], &v[lo]);
		if (item_cmp(&v[hi - 1], &v[mid], x) < 0) {
			swap(&v[hi - 1], &v[mid]);
			if (item_cmp(&v[mid], &v[lo], x) < 0)
				swap(&v[mid], &v[lo]);
		}
		p = v[mid];
		/* v[lo] <= p <= v[hi - 1] bound both scans */
		i = lo;
		j = hi - 1;
		for (;;) {
			do
				i++;
			while (item_cmp(&v[i], &p, x) < 0);
			do
				j--;
			while (item_cmp(&v[j], &p, x) > 0);
			if (i >= j)
				break;
			swap(&v[i], &v[j]);
		}
		/* [lo, j] <= p <= [j + 1, hi) */
		j++;
		if (b <= j) {
			hi = j;
		} else if (a >= j) {
			lo = j;
		} else if (j - lo < hi - j) {
			psort(v, lo, j, a, b, x);
			lo = j;
		} else {
			psort(v, j, hi, a, b, x);
			hi = j;
		}
	}
	insertion_sort(v + lo, hi - lo, x);
}

/* Case-insensitive substring; needle is already lower case. */
static int contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	for (size_t i = 0; i + nlen <= hlen; i++) {
		size_t k = 0;

		while (k < nlen) {
			char ch = hay[i + k];

			if (ch >= 'A' && ch <= 'Z')
				ch += 'a' - 'A';
			if (ch != needle[k])
				break;
			k++;
		}
		if (k == nlen)
			return 1;
	}
	return 0;
}

static char *put_u(char *p, unsigned v)
{
	char t[12];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = t[--n];
	return p;
}

/* Same text as tt_endpoint_str(); IPv4 by hand, as inet_ntop dominates a search otherwise. */
static size_t endpoint(uint8_t family, const uint8_t *a, uint16_t port, char *buf, size_t len)
{
	char *p = buf;

	if (family == TT_FAMILY_IPV6) {
		tt_endpoint_str(family, a, port, buf, len);
		return strlen(buf);
	}
	for (int i = 0; i < 4; i++) {
		p = put_u(p, a[i]);
		*p++ = i < 3 ? '.' : ':';
	}
	p = put_u(p, port);
	*p = '\0';
	return (size_t)(p - buf);
}

struct needle {
	char s[64];
	size_t len;
	int addr_like; /* only hex digits and . : [ ]: may match an endpoint */
};

static int text_match(const struct tt_conn *c, const struct needle *n)
{
	char buf[64];
	const char *s;
	size_t len;

	if (contains(c->comm, strnlen(c->comm, TT_COMM_LEN), n->s, n->len))
		return 1;
	if (c->pid && contains(buf, (size_t)(put_u(buf, c->pid) - buf), n->s, n->len))
		return 1;
	s = tt_state_text(c);
	if (contains(s, strlen(s), n->s, n->len))
		return 1;
	len = strlen(strcpy(buf, tt_proto_name(c->proto)));
	if (c->family == TT_FAMILY_IPV6)
		buf[len++] = '6';
	if (contains(buf, len, n->s, n->len))
		return 1;
	if (!n->addr_like)
		return 0;
	len = endpoint(c->family, c->laddr, c->lport, buf, sizeof(buf));
	if (contains(buf, len, n->s, n->len))
		return 1;
	len = endpoint(c->family, c->raddr, c->rport, buf, sizeof(buf));
	return contains(buf, len, n->s, n->len);
}

/* Returns 0 when text can match nothing (longer than any field). */
static int needle_init(struct needle *n, const char *text)
{
	n->len = strlen(text);
	if (n->len >= sizeof(n->s))
		return 0;
	n->addr_like = 1;
	for (size_t i = 0; i <= n->len; i++) {
		char ch = text[i];

		if (ch >= 'A' && ch <= 'Z')
			ch += 'a' - 'A';
		n->s[i] = ch;
		if (ch && !strchr("0123456789abcdef.:[]", ch))
			n->addr_like = 0;
	}
	return 1;
}

static int reserve(struct sel_scratch *s, size_t n)
{
	struct sel_item *ni;
	/* an eighth to spare, not a doubling: items are 32 bytes of each connection's budget */
	size_t cap = n + n / 8 + 1024;

	if (n <= s->cap)
		return 0;
	ni = realloc(s->items, cap * sizeof(*ni));
	if (!ni)
		return -1;
	s->items = ni;
	s->cap = cap;
	return 0;
}

size_t tt_state_select(const struct tt_state *st, const struct tt_select *sel, size_t offset,
		       size_t limit, const struct tt_conn **rows, size_t *total)
{
	static const struct tt_select all = {.sort = TT_COL_TX_RATE};
	struct sel_ctx x;
	struct needle nd;
	struct sel_item *v;
	size_t n = 0, end;
	int text;

	if (!sel)
		sel = &all;
	x.col = (unsigned)sel->sort < TT_COL_MAX ? sel->sort : TT_COL_TX_RATE;
	x.rev = !!sel->reverse;
	x.endpoint = x.col == TT_COL_LOCAL || x.col == TT_COL_REMOTE;
	text = sel->text && sel->text[0];
	*total = 0;
	if (text && !needle_init(&nd, sel->text))
		return 0;
	/* the array only grows, and only to the table's size */
	if (reserve(st->scratch, st->n_used))
		return 0;
	v = st->scratch->items;
	for (uint32_t i = 0; i < st->hwm; i++) {
		const struct tt_conn *c = &slot_at(st, i)->c;

		if (!conn_shown(c))
			continue;
		if (sel->filter && !tt_filter_match(sel->filter, c->proto, c->family, c->lport,
						    c->rport, c->pid, c->comm, c->cgroup_id))
			continue;
		if (text && !text_match(c, &nd))
			continue;
		sort_keys(c, x.col, &v[n].key, &v[n].key2);
		v[n].id = c->id;
		v[n].c = c;
		n++;
	}
	*total = n;
	if (offset >= n || !limit)
		return 0;
	end = limit < n - offset ? offset + limit : n;
	psort(v, 0, n, offset, end, &x);
	for (size_t i = offset; i < end; i++)
		rows[i - offset] = v[i].c;
	return end - offset;
}
