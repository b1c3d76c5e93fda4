/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tt_filter: which connections a user wants to see. One meaning everywhere:
 * the recorder pushes it into the kernel, the state table and the view apply
 * it to connections, the capture header stores its text form.
 */
#ifndef TT_FILTER_H
#define TT_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "tt_event.h"

#define TT_FILTER_MAX 8 /* values per list (pids, ports, comms) */

struct tt_filter {
	uint32_t pids[TT_FILTER_MAX];
	unsigned n_pids;
	uint16_t ports[TT_FILTER_MAX]; /* local or remote */
	unsigned n_ports;
	char comms[TT_FILTER_MAX][TT_COMM_LEN]; /* exact process names */
	unsigned n_comms;
	uint8_t proto;	    /* 0 = any, else IPPROTO_TCP / IPPROTO_UDP */
	uint8_t family;	    /* 0 = any, else TT_FAMILY_IPV4 / TT_FAMILY_IPV6 */
	uint64_t cgroup_id; /* 0 = any */
	char cgroup_path[256];
};

/*
 * Add one value. Each returns 0, or -EINVAL / -E2BIG with a message in err
 * ("bad port 'x'", "more than 8 ports").
 */
int tt_filter_add_pid(struct tt_filter *f, const char *arg, char *err, size_t errlen);
int tt_filter_add_port(struct tt_filter *f, const char *arg, char *err, size_t errlen);
int tt_filter_add_comm(struct tt_filter *f, const char *arg, char *err, size_t errlen);
/* Resolves PATH (a cgroup v2 directory) to its id; -ENOENT etc. on failure. */
int tt_filter_set_cgroup(struct tt_filter *f, const char *path, char *err, size_t errlen);

/* 1 when nothing is filtered. */
int tt_filter_is_empty(const struct tt_filter *f);

/* Text form for capture headers and the view: "pid=1,2 port=80 comm=nginx tcp ipv4", "" when empty.
 */
void tt_filter_format(const struct tt_filter *f, char *buf, size_t len);

/*
 * Whether a connection passes: every non-empty list must contain its value
 * (for ports: the local or the remote port). A connection whose pid is not
 * known (0) does not pass a pid or comm filter.
 */
int tt_filter_match(const struct tt_filter *f, uint8_t proto, uint8_t family, uint16_t lport,
		    uint16_t rport, uint32_t pid, const char *comm, uint64_t cgroup_id);

/*
 * Command-line options with the same names in every tool that filters:
 *   -p/--pid PID  -P/--port PORT  -c/--comm NAME  --tcp  --udp  -4/--ipv4  -6/--ipv6  --cgroup PATH
 * Put TT_FILTER_LONGOPTS in a getopt_long table and TT_FILTER_SHORTOPTS in
 * the short option string, then offer every option to tt_filter_getopt().
 */
#define TT_OPT_TCP 0x1001
#define TT_OPT_UDP 0x1002
#define TT_OPT_CGROUP 0x1003
#define TT_FILTER_SHORTOPTS "p:P:c:46"
#define TT_FILTER_LONGOPTS                                                                         \
	{"pid", required_argument, NULL, 'p'}, {"port", required_argument, NULL, 'P'},             \
	    {"comm", required_argument, NULL, 'c'}, {"tcp", no_argument, NULL, TT_OPT_TCP},        \
	    {"udp", no_argument, NULL, TT_OPT_UDP}, {"ipv4", no_argument, NULL, '4'},              \
	    {"ipv6", no_argument, NULL, '6'},                                                      \
	{                                                                                          \
		"cgroup", required_argument, NULL, TT_OPT_CGROUP                                   \
	}
/* Help text for those options, for usage messages. */
#define TT_FILTER_HELP                                                                             \
	"  -p, --pid PID        only this process (repeatable)\n"                                  \
	"  -P, --port PORT      only connections with this local or remote port (repeatable)\n"    \
	"  -c, --comm NAME      only processes with this name (repeatable)\n"                      \
	"      --tcp, --udp     only this protocol\n"                                              \
	"  -4, --ipv4           only IPv4;  -6, --ipv6  only IPv6\n"                               \
	"      --cgroup PATH    only this cgroup v2 (directory under /sys/fs/cgroup)\n"

/* Returns 1 when opt was a filter option and was applied, 0 when it is not one, <0 on a bad value.
 */
int tt_filter_getopt(struct tt_filter *f, int opt, const char *arg, char *err, size_t errlen);

#endif /* TT_FILTER_H */
