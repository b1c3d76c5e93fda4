/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tt_filter.h"
#include "tt_util.h"

#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17

int tt_filter_add_pid(struct tt_filter *f, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (tt_parse_u64(arg, 1, 0x7fffffff, &v)) {
		snprintf(err, errlen, "bad pid '%s'", arg);
		return -EINVAL;
	}
	if (f->n_pids >= TT_FILTER_MAX) {
		snprintf(err, errlen, "more than %d pids", TT_FILTER_MAX);
		return -E2BIG;
	}
	f->pids[f->n_pids++] = (uint32_t)v;
	return 0;
}

int tt_filter_add_port(struct tt_filter *f, const char *arg, char *err, size_t errlen)
{
	uint64_t v;

	if (tt_parse_u64(arg, 1, 65535, &v)) {
		snprintf(err, errlen, "bad port '%s' (1-65535)", arg);
		return -EINVAL;
	}
	if (f->n_ports >= TT_FILTER_MAX) {
		snprintf(err, errlen, "more than %d ports", TT_FILTER_MAX);
		return -E2BIG;
	}
	f->ports[f->n_ports++] = (uint16_t)v;
	return 0;
}

int tt_filter_add_comm(struct tt_filter *f, const char *arg, char *err, size_t errlen)
{
	size_t n = arg ? strlen(arg) : 0;

	if (n == 0 || n >= TT_COMM_LEN) {
		snprintf(err, errlen, "bad process name '%s' (1-%d characters)", arg ? arg : "",
			 TT_COMM_LEN - 1);
		return -EINVAL;
	}
	if (f->n_comms >= TT_FILTER_MAX) {
		snprintf(err, errlen, "more than %d process names", TT_FILTER_MAX);
		return -E2BIG;
	}
	memset(f->comms[f->n_comms], 0, TT_COMM_LEN);
	memcpy(f->comms[f->n_comms++], arg, n);
	return 0;
}

int tt_filter_set_cgroup(struct tt_filter *f, const char *path, char *err, size_t errlen)
{
	struct stat st;

	/* On cgroup v2 the cgroup id is the inode number of its directory. */
	if (stat(path, &st) != 0) {
		int e = errno;

		snprintf(err, errlen, "cgroup '%s': %s", path, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cgroup '%s': not a directory", path);
		return -ENOTDIR;
	}
	f->cgroup_id = (uint64_t)st.st_ino;
	snprintf(f->cgroup_path, sizeof(f->cgroup_path), "%s", path);
	return 0;
}

int tt_filter_is_empty(const struct tt_filter *f)
{
	return !f || (!f->n_pids && !f->n_ports && !f->n_comms && !f->proto && !f->family &&
		      !f->cgroup_id);
}

static size_t append(char *buf, size_t len, size_t pos, const char *fmt, const char *sep,
		     unsigned long long v, const char *s)
{
	int n;

	if (pos >= len)
		return pos;
	n = s ? snprintf(buf + pos, len - pos, fmt, sep, s)
	      : snprintf(buf + pos, len - pos, fmt, sep, v);
	return n < 0 ? pos : pos + (size_t)n;
}

void tt_filter_format(const struct tt_filter *f, char *buf, size_t len)
{
	size_t pos = 0;

	if (!len)
		return;
	buf[0] = 0;
	if (!f)
		return;
	for (unsigned i = 0; i < f->n_pids; i++)
		pos = append(buf, len, pos, "%s%llu", i ? "," : (pos ? " pid=" : "pid="),
			     f->pids[i], NULL);
	for (unsigned i = 0; i < f->n_ports; i++)
		pos = append(buf, len, pos, "%s%llu", i ? "," : (pos ? " port=" : "port="),
			     f->ports[i], NULL);
	for (unsigned i = 0; i < f->n_comms; i++)
		pos = append(buf, len, pos, "%s%s", i ? "," : (pos ? " comm=" : "comm="), 0,
			     f->comms[i]);
	if (f->proto)
		pos = append(buf, len, pos, "%s%s", pos ? " " : "", 0,
			     f->proto == IPPROTO_TCP_NUM ? "tcp" : "udp");
	if (f->family)
		pos = append(buf, len, pos, "%s%s", pos ? " " : "", 0,
			     f->family == TT_FAMILY_IPV4 ? "ipv4" : "ipv6");
	if (f->cgroup_id)
		pos = append(buf, len, pos, "%s%s", pos ? " cgroup=" : "cgroup=", 0,
			     f->cgroup_path[0] ? f->cgroup_path : "?");
}

int tt_filter_match(const struct tt_filter *f, uint8_t proto, uint8_t family, uint16_t lport,
		    uint16_t rport, uint32_t pid, const char *comm, uint64_t cgroup_id)
{
	unsigned i;

	if (!f)
		return 1;
	if (f->proto && f->proto != proto)
		return 0;
	if (f->family && f->family != family)
		return 0;
	if (f->cgroup_id && f->cgroup_id != cgroup_id)
		return 0;
	if (f->n_ports) {
		for (i = 0; i < f->n_ports; i++)
			if (f->ports[i] == lport || f->ports[i] == rport)
				break;
		if (i == f->n_ports)
			return 0;
	}
	if (f->n_pids) {
		for (i = 0; i < f->n_pids; i++)
			if (pid && f->pids[i] == pid)
				break;
		if (i == f->n_pids)
			return 0;
	}
	if (f->n_comms) {
		for (i = 0; i < f->n_comms; i++)
			if (pid && comm && strncmp(f->comms[i], comm, TT_COMM_LEN) == 0)
				break;
		if (i == f->n_comms)
			return 0;
	}
	return 1;
}

int tt_filter_getopt(struct tt_filter *f, int opt, const char *arg, char *err, size_t errlen)
{
	int r;

	switch (opt) {
	case 'p': r = tt_filter_add_pid(f, arg, err, errlen); break;
	case 'P': r = tt_filter_add_port(f, arg, err, errlen); break;
	case 'c': r = tt_filter_add_comm(f, arg, err, errlen); break;
	case TT_OPT_CGROUP: r = tt_filter_set_cgroup(f, arg, err, errlen); break;
	case TT_OPT_TCP:
	case TT_OPT_UDP: {
		uint8_t p = opt == TT_OPT_TCP ? IPPROTO_TCP_NUM : IPPROTO_UDP_NUM;

		if (f->proto && f->proto != p) {
			snprintf(err, errlen, "--tcp and --udp exclude each other");
			return -EINVAL;
		}
		f->proto = p;
		return 1;
	}
	case '4':
	case '6': {
		uint8_t fam = opt == '4' ? TT_FAMILY_IPV4 : TT_FAMILY_IPV6;

		if (f->family && f->family != fam) {
			snprintf(err, errlen, "-4 and -6 exclude each other");
			return -EINVAL;
		}
		f->family = fam;
		return 1;
	}
	default: return 0;
	}
	return r < 0 ? r : 1;
}
