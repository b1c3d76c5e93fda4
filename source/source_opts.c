// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The source options tcptop and tcptop-record share (tt_source_getopt, TT_SOURCE_LONGOPTS):
 * one parser, so both tools take the same spellings, ranges and error lines. Pure: no libbpf,
 * its unit test compiles it in.
 */
#include <stdio.h>
#include <string.h>

#include "tt_source.h"
#include "tt_util.h"

int tt_source_parse(const char *name, const char **path)
{
	if (!strncmp(name, "file:", 5) && name[5]) {
		*path = name + 5;
		return TT_SOURCE_FILE;
	}
	if (!strncmp(name, "pcap:", 5) && name[5]) {
		*path = name + 5;
		return TT_SOURCE_PCAP;
	}
	if (!strcmp(name, "auto"))
		return TT_SOURCE_AUTO;
	if (!strcmp(name, "bpf"))
		return TT_SOURCE_BPF;
	if (!strcmp(name, "sockdiag"))
		return TT_SOURCE_SOCKDIAG;
	return -1;
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int tt_source_getopt(struct tt_source_opts *o, char *skip, size_t skiplen, int opt, const char *arg,
		     char *err, size_t errlen)
{
	uint64_t v;

	switch (opt) {
	case TT_OPT_SRC_RAW: o->raw = 1; return 1;
	case TT_OPT_SRC_RAW_SLICE:
		if (tt_parse_duration_ns(arg, &v) || v > 1000000000)
			return BAD("bad raw slice '%s' (0..1s)", arg);
		o->raw = 1;
		o->raw_slice_ns = v ? v : TT_SOURCE_RAW_PER_CALL;
		return 1;
	case TT_OPT_SRC_COALESCE:
		/* a duration: "2" is 2 s */
		if (tt_parse_duration_ns(arg, &v) || v < 1000000 || v > 3600000000000ULL)
			return BAD("bad coalesce interval '%s' (1ms..1h)", arg);
		o->coalesce_ms = (uint32_t)(v / 1000000);
		return 1;
	case TT_OPT_SRC_RINGBUF:
		if (tt_parse_u64(arg, 4, 1 << 20, &v) || (v & (v - 1)))
			return BAD("bad ring buffer size '%s' (KiB, power of two >= 4)", arg);
		o->ringbuf_kb = (uint32_t)v;
		return 1;
	case TT_OPT_SRC_NO_PROBE: {
		size_t used = strlen(skip);

		if (used + strlen(arg) + 2 > skiplen)
			return BAD("too many --no-probe");
		snprintf(skip + used, skiplen - used, "%s%s", used ? " " : "", arg);
		o->skip_probes = skip;
		return 1;
	}
	case TT_OPT_SRC_ACCEPT_WAIT: o->accept_wait = 1; return 1;
	case TT_OPT_SRC_SOURCE:
		o->source = tt_source_parse(arg, &o->source_path);
		if (o->source < 0)
			return BAD(
			    "unknown source '%s' (bpf, sockdiag, file:CAPTURE, pcap:PCAP or auto)",
			    arg);
		return 1;
	case TT_OPT_SRC_UDP_TIMEOUT:
		if (tt_parse_duration_ns(arg, &v) || v < 100000000ULL || v > 86400ULL * 1000000000)
			return BAD("bad UDP timeout '%s' (100ms..1d)", arg);
		o->udp_idle_ms = (uint32_t)(v / 1000000);
		return 1;
	case TT_OPT_SRC_UDP_FLOWS:
		if (tt_parse_u64(arg, 16, 1 << 24, &v))
			return BAD("bad UDP flow count '%s' (16..16777216)", arg);
		o->udp_flows = (uint32_t)v;
		return 1;
	case TT_OPT_SRC_TCP_CONNS:
		if (tt_parse_u64(arg, 1024, 1 << 24, &v))
			return BAD("bad TCP connection count '%s' (1024..16777216)", arg);
		o->tcp_conns = (uint32_t)v;
		return 1;
	}
	return 0;
}
