/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The filters (tt_filter.h's, set in rodata by user space before load): which processes and
 * which connections are reported, and which processes' exec/exit events are wanted.
 */
#ifndef TT_FILTER_BPF_H
#define TT_FILTER_BPF_H

#include "maps.bpf.h"

static __always_inline int comm_eq(const char *a, const volatile char *b)
{
	for (int i = 0; i < TT_COMM_LEN; i++) {
		if (a[i] != b[i])
			return 0;
		if (!a[i])
			return 1;
	}
	return 1;
}

static __always_inline int proc_filter_active(void)
{
	return f_n_pids || f_n_comms || f_cgroup;
}

static __always_inline int proc_match(__u32 pid, const char *comm, __u64 cgid)
{
	int ok;

	if (f_n_pids) {
		ok = 0;
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_pids && f_pids[i] == pid)
				ok = 1;
		if (!ok)
			return 0;
	}
	if (f_n_comms) {
		ok = 0;
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_comms && comm_eq(comm, f_comms[i]))
				ok = 1;
		if (!ok)
			return 0;
	}
	if (f_cgroup && cgid != f_cgroup)
		return 0;
	return 1;
}

static __always_inline int any_filter(void)
{
	return f_n_pids || f_n_comms || f_cgroup || f_n_ports || f_proto || f_family;
}

/* tgid owns a reported connection: its process events are wanted. */
static __always_inline void note_owner(__u32 tgid)
{
	__u8 one = 1;

	if (tgid && any_filter() && !bpf_map_lookup_elem(&tgids, &tgid))
		bpf_map_update_elem(&tgids, &tgid, &one, BPF_ANY);
}

static __always_inline int proc_events_wanted(__u32 tgid)
{
	return !any_filter() || bpf_map_lookup_elem(&tgids, &tgid);
}

static __always_inline int net_match(__u8 proto, __u8 family, __u16 lport, __u16 rport)
{
	if (f_proto && proto != f_proto)
		return 0;
	if (f_family && family != f_family)
		return 0;
	if (f_n_ports) {
		for (int i = 0; i < TT_FILTER_MAX_BPF; i++)
			if (i < f_n_ports && (f_ports[i] == lport || f_ports[i] == rport))
				return 1;
		return 0;
	}
	return 1;
}

#endif /* TT_FILTER_BPF_H */
