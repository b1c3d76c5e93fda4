/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every part of the kernel side builds on: vmlinux.h, libbpf's headers, the contract with
 * user space (tcptop.h), and the kernel's macros that BTF does not carry into vmlinux.h.
 */
#ifndef TT_CONSTS_BPF_H
#define TT_CONSTS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "tcptop.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_PEEK 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOL_SOCKET 1
#define SO_ERROR 4
#define TT_PAGE_SIZE 4096 /* x86-64, arm64 4K: what a getsockopt program sees of optval at most */
#define E2BIG 7
#define EEXIST 17
#define S_IFMT 0170000
#define S_IFSOCK 0140000

/* errnos a TCP connection can end with (tcp.bpf.c, tcp_fail_reason) */
#define TT_EACCES 13
#define TT_EPIPE 32
#define TT_ENONET 64
#define TT_EPROTO 71
#define TT_EMSGSIZE 90
#define TT_ENOPROTOOPT 92
#define TT_EOPNOTSUPP 95
#define TT_ENETDOWN 100
#define TT_ENETUNREACH 101
#define TT_ECONNABORTED 103
#define TT_ECONNRESET 104
#define TT_ETIMEDOUT 110
#define TT_ECONNREFUSED 111
#define TT_EHOSTDOWN 112
#define TT_EHOSTUNREACH 113

#endif /* TT_CONSTS_BPF_H */
