// SPDX-License-Identifier: GPL-2.0
/*
 * The flush of --raw-slice 0's per-CPU stage (stage.bpf.h). Never attached: user space runs it
 * on each CPU in turn (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU, an interrupt there).
 * Returns 1 when that CPU was staging a call at that moment, so the flush did not happen.
 */
#include "maps.bpf.h"
#include "stage.bpf.h"

SEC("raw_tp")
int tt_stage_flush(void *ctx)
{
	__u32 zero = 0;
	struct tt_stage *sg = bpf_map_lookup_elem(&stage, &zero);

	(void)ctx;
	if (!sg)
		return 0;
	if (!stage_enter(sg))
		return 1;
	stage_out(sg, sg->n);
	stage_leave(sg);
	return 0;
}
