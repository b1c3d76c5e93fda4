/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Event dumps: the reference text of a capture (JSON) and a tcpdump-like reading of it. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "tt_community_id.h"
#include "tt_util.h"

static void json_str(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c); /* bytes, not UTF-8: comm is raw kernel bytes */
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_key_str(FILE *out, const char *key, const char *s, size_t max)
{
	fprintf(out, ",\"%s\":", key);
	json_str(out, s, max);
}

void dump_header_json(FILE *out, const struct tt_fmt_header *h)
{
	fprintf(out, "{\"header\":{\"version_major\":%u,\"version_minor\":%u", h->version_major,
		h->version_minor);
	json_key_str(out, "hostname", h->hostname, sizeof(h->hostname));
	json_key_str(out, "kernel", h->kernel, sizeof(h->kernel));
	json_key_str(out, "boot_id", h->boot_id, sizeof(h->boot_id));
	json_key_str(out, "tool_version", h->tool_version, sizeof(h->tool_version));
	json_key_str(out, "mode", h->mode, sizeof(h->mode));
	fprintf(out, ",\"coalesce_ms\":%u", h->coalesce_ms);
	json_key_str(out, "filters", h->filters, sizeof(h->filters));
	json_key_str(out, "probes", h->probes, sizeof(h->probes));
	json_key_str(out, "missing", h->missing, sizeof(h->missing));
	fprintf(out, ",\"clock_offset_ns\":%" PRId64, h->clock_offset_ns);
	json_key_str(out, "clock", h->clock, sizeof(h->clock));
	fprintf(out, ",\"start_ns\":%" PRIu64 "}}\n", h->start_ns);
}

void dump_event_json(FILE *out, const struct tt_event *ev, uint16_t cid_seed)
{
	char a[64], cid[TT_CID_LEN];

	fprintf(out,
		"{\"ts\":%" PRIu64 ",\"kind\":\"%s\",\"kind_id\":%u,\"conn_id\":%" PRIu64
		",\"pid\":%u,\"tid\":%u,\"flags\":%u",
		(uint64_t)ev->ts_ns, tt_fmt_kind_name(ev->kind), ev->kind, (uint64_t)ev->conn_id,
		ev->pid, ev->tid, ev->flags);
	switch (ev->kind) {
	case TT_EV_CONN_OPEN: {
		const struct tt_ev_open *o = &ev->u.open;

		tt_addr_str(o->family, o->laddr, a, sizeof(a));
		fprintf(out, ",\"laddr\":\"%s\"", a);
		tt_addr_str(o->family, o->raddr, a, sizeof(a));
		fprintf(out,
			",\"raddr\":\"%s\",\"lport\":%u,\"rport\":%u,\"family\":%u,\"proto\":%u,"
			"\"direction\":%u,\"state\":%u,\"netns\":%u,\"cgroup_id\":%" PRIu64,
			a, o->lport, o->rport, o->family, o->proto, o->direction, o->state,
			o->netns, (uint64_t)o->cgroup_id);
		json_key_str(out, "comm", o->comm, TT_COMM_LEN);
		if (tt_cid_open(cid_seed, o, cid, sizeof(cid)) < 0)
			fputs(",\"community_id\":null", out);
		else
			fprintf(out, ",\"community_id\":\"%s\"", cid);
		break;
	}
	case TT_EV_TRAFFIC: {
		const struct tt_ev_traffic *t = &ev->u.traffic;

		fprintf(out,
			",\"tx_bytes\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			",\"tx_pkts\":%u,\"rx_pkts\":%u,\"tx_calls\":%u,\"rx_calls\":%u",
			(uint64_t)t->tx_bytes, (uint64_t)t->rx_bytes, t->tx_pkts, t->rx_pkts,
			t->tx_calls, t->rx_calls);
		break;
	}
	case TT_EV_STATE:
		fprintf(out, ",\"old_state\":%u,\"new_state\":%u", ev->u.state.old_state,
			ev->u.state.new_state);
		break;
	case TT_EV_RTT:
		fprintf(out, ",\"srtt_us\":%u,\"rttvar_us\":%u", ev->u.rtt.srtt_us,
			ev->u.rtt.rttvar_us);
		break;
	case TT_EV_RETRANS:
		fprintf(out, ",\"segs\":%u,\"state\":%u", ev->u.retrans.segs, ev->u.retrans.state);
		break;
	case TT_EV_RESET:
		fprintf(out, ",\"dir\":%u,\"state\":%u", ev->u.reset.dir, ev->u.reset.state);
		break;
	case TT_EV_CONN_CLOSE: {
		const struct tt_ev_close *c = &ev->u.close;

		fprintf(out,
			",\"tx_bytes\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			",\"tx_pkts\":%u,\"rx_pkts\":%u,\"srtt_us\":%u,\"retrans\":%u,\"state\":%u",
			(uint64_t)c->tx_bytes, (uint64_t)c->rx_bytes, c->tx_pkts, c->rx_pkts,
			c->srtt_us, c->retrans, c->state);
		break;
	}
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		json_key_str(out, "comm", ev->u.proc.comm, TT_COMM_LEN);
		fprintf(out, ",\"ppid\":%u,\"exit_code\":%d", ev->u.proc.ppid,
			ev->u.proc.exit_code);
		break;
	case TT_EV_LOST:
		fprintf(out, ",\"count\":%" PRIu64 ",\"cpu\":%u", (uint64_t)ev->u.lost.count,
			ev->u.lost.cpu);
		break;
	case TT_EV_STATS:
		fprintf(out,
			",\"events\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"conns\":%" PRIu64
			",\"bytes_out\":%" PRIu64,
			(uint64_t)ev->u.stats.events, (uint64_t)ev->u.stats.lost,
			(uint64_t)ev->u.stats.conns, (uint64_t)ev->u.stats.bytes_out);
		break;
	default: break;
	}
	fputs("}\n", out);
}

static void time_text(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06u", s, (unsigned)(ns % 1000000000ull / 1000ull));
}

void dump_event_text(FILE *out, const struct tt_event *ev, const struct tt_state *st,
		     uint16_t cid_seed)
{
	const struct tt_conn *c = st && ev->conn_id ? tt_state_find(st, ev->conn_id) : NULL;
	char when[48], l[64], r[64], cid[TT_CID_LEN];
	const char *comm = c ? c->comm : "";

	time_text(ev->ts_ns, when, sizeof(when));
	fprintf(out, "%s %-8s", when, tt_fmt_kind_name(ev->kind));
	if (ev->conn_id)
		fprintf(out, " conn %" PRIu64, (uint64_t)ev->conn_id);
	if (ev->kind == TT_EV_CONN_OPEN) {
		const struct tt_ev_open *o = &ev->u.open;

		tt_endpoint_str(o->family, o->laddr, o->lport, l, sizeof(l));
		tt_endpoint_str(o->family, o->raddr, o->rport, r, sizeof(r));
		fprintf(out, " pid %u %.*s %s %s > %s", ev->pid, TT_COMM_LEN, o->comm,
			tt_proto_name(o->proto), l, r);
		if (o->state)
			fprintf(out, " %s", tt_fmt_tcp_state_name(o->state));
		if (ev->flags & TT_F_PREEXISTING)
			fputs(" preexisting", out);
		if (tt_cid_open(cid_seed, o, cid, sizeof(cid)) == 0)
			fprintf(out, " community_id %s", cid);
		fputc('\n', out);
		return;
	}
	if (ev->pid)
		fprintf(out, " pid %u", ev->pid);
	if (c) {
		tt_endpoint_str(c->family, c->laddr, c->lport, l, sizeof(l));
		tt_endpoint_str(c->family, c->raddr, c->rport, r, sizeof(r));
		fprintf(out, " %.*s %s > %s", TT_COMM_LEN, comm, l, r);
	}
	switch (ev->kind) {
	case TT_EV_TRAFFIC:
		fprintf(out, " tx %" PRIu64 " rx %" PRIu64 " tx_pkts %u rx_pkts %u",
			(uint64_t)ev->u.traffic.tx_bytes, (uint64_t)ev->u.traffic.rx_bytes,
			ev->u.traffic.tx_pkts, ev->u.traffic.rx_pkts);
		break;
	case TT_EV_STATE:
		fprintf(out, " %s -> %s", tt_fmt_tcp_state_name(ev->u.state.old_state),
			tt_fmt_tcp_state_name(ev->u.state.new_state));
		break;
	case TT_EV_RTT:
		fprintf(out, " srtt %uus rttvar %uus", ev->u.rtt.srtt_us, ev->u.rtt.rttvar_us);
		break;
	case TT_EV_RETRANS: fprintf(out, " segs %u", ev->u.retrans.segs); break;
	case TT_EV_RESET:
		fprintf(out, " %s", ev->u.reset.dir == TT_RST_SENT ? "sent" : "received");
		break;
	case TT_EV_CONN_CLOSE:
		fprintf(out,
			" tx %" PRIu64 " rx %" PRIu64 " tx_pkts %u rx_pkts %u srtt %uus retrans %u",
			(uint64_t)ev->u.close.tx_bytes, (uint64_t)ev->u.close.rx_bytes,
			ev->u.close.tx_pkts, ev->u.close.rx_pkts, ev->u.close.srtt_us,
			ev->u.close.retrans);
		break;
	case TT_EV_CONN_PROC:
	case TT_EV_PROC_EXEC:
	case TT_EV_PROC_EXIT:
	case TT_EV_PROC_NAME:
		fprintf(out, " comm %.*s ppid %u", TT_COMM_LEN, ev->u.proc.comm, ev->u.proc.ppid);
		if (ev->kind == TT_EV_PROC_EXIT)
			fprintf(out, " exit %d", ev->u.proc.exit_code);
		break;
	case TT_EV_LOST:
		fprintf(out, " count %" PRIu64 " cpu %u", (uint64_t)ev->u.lost.count,
			ev->u.lost.cpu);
		break;
	case TT_EV_STATS:
		fprintf(out, " events %" PRIu64 " lost %" PRIu64 " conns %" PRIu64,
			(uint64_t)ev->u.stats.events, (uint64_t)ev->u.stats.lost,
			(uint64_t)ev->u.stats.conns);
		break;
	default: break;
	}
	fputc('\n', out);
}
