// SPDX-License-Identifier: GPL-2.0
/* The one definition of the maps and globals that maps.bpf.h declares for every part. */
#define TT_BPF_DEFINE
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";
