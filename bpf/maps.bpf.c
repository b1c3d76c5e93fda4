// SPDX-License-Identifier: GPL-2.0
/* The one definition of the maps and globals that tcptop.bpf.h declares for every part. */
#define TT_BPF_DEFINE
#include "tcptop.bpf.h"

char LICENSE[] SEC("license") = "GPL";
