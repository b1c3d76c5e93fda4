/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The sock_diag source's state machine (source/sd_diff.c), pure C: two polls' sockets in, the
 * BPF source's events out (CONN_OPEN, TRAFFIC, STATE, RETRANS, SAMPLE, STALL, CONN_PROC,
 * CONN_CLOSE, LISTENER), with
 * its semantics: payload bytes, not sequence space; counters before the first poll not counted;
 * conn_id the socket cookie.
 */
#ifndef TT_SD_DIFF_H
#define TT_SD_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "sd_netlink.h"
#include "sd_owners.h"
#include "tt_filter.h"

/* Events made by a pass, in order. */
struct tt_sd_events {
	struct tt_event *v;
	size_t n, cap;
};

/* 1 and *out filled when the owner of inode is known. */
typedef int (*tt_sd_owner_fn)(void *ctx, uint32_t inode, struct tt_sd_owner *out);

/*
 * Whether a socket the dump did not show is still there (tt_sd_lookup() in want->netns): 1 and
 * *out filled, 0 gone, -errno when it cannot be told (then it is closed only if the next dump
 * misses it too).
 */
typedef int (*tt_sd_lookup_fn)(void *ctx, const struct tt_sd_sock *want, struct tt_sd_sock *out);

struct tt_sd_diff;

/* filter: applied to each socket (NULL: none). 0 or -ENOMEM. */
int tt_sd_diff_new(struct tt_sd_diff **out, const struct tt_filter *filter);
void tt_sd_diff_free(struct tt_sd_diff *d);

/*
 * Whether snap holds a socket whose owner was never looked for since its file appeared: a
 * socket to name, its inode not looked up yet. uid >= 0: only sockets of this uid count (the
 * others' /proc/PID/fd cannot be read).
 */
int tt_sd_diff_wants_owners(const struct tt_sd_diff *d, const struct tt_sd_snap *snap, long uid);

/*
 * One poll: snap holds every socket of every namespace dumped. Sockets of the namespaces in
 * keep_ns (their dump failed) stay as they were; any other followed socket not in snap is
 * looked up (lookup(), NULL: none, missing is gone): found, it is taken as seen at now_ns,
 * else closed at now_ns. owner() is asked about sockets not looked up yet. Events are appended to
 * out. 0 or -ENOMEM.
 */
int tt_sd_diff_pass(struct tt_sd_diff *d, const struct tt_sd_snap *snap, const uint32_t *keep_ns,
		    size_t n_keep, uint64_t now_ns, tt_sd_owner_fn owner, void *owner_ctx,
		    tt_sd_lookup_fn lookup, void *lookup_ctx, struct tt_sd_events *out);

size_t tt_sd_diff_count(const struct tt_sd_diff *d); /* sockets followed (open or not) */

/*
 * A retransmit of the TCP connection cookie told as it happened (BPF beside sock_diag): segs
 * segments, the socket's total_retrans with them. Returns how many of them to tell with their
 * cause: 0 where the connection is not open here (its first poll tells them, cause unknown) or
 * a poll told them already. Those the socket counted and no event told (a failed retransmit,
 * an event lost) are the next poll's, cause unknown: the events add up to the socket's total.
 */
uint32_t tt_sd_diff_retrans(struct tt_sd_diff *d, uint64_t cookie, uint32_t segs, uint32_t total);

/*
 * BPF beside sock_diag tells each TCP state change (tt_sd_diff_bpf_state): a poll then takes a
 * connection's state only at its first sight and at TIME_WAIT (what a dump read may be older
 * than the last change told).
 */
void tt_sd_diff_set_bpf_states(struct tt_sd_diff *d);

/*
 * A TCP state change told as it happened, a STATE about the connection whose cookie is
 * conn_id, or its close: a CONN_CLOSE of TT_F_FALLBACK_TCP with the socket's counters at its
 * change to CLOSE, which closes the connection at ev's time with them (its last traffic, its
 * retransmits not told yet, its close with the fail reason BPF read), as a poll that found it
 * closed would; a connect() that failed (from SYN_SENT) resent SYNs. Events appended
 * to out. 1 when ev was about a connection open here, 0 when not (nothing made), -ENOMEM.
 */
int tt_sd_diff_bpf_state(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out);

/*
 * A TCP connection as BPF tells it at its close, as if no poll saw it: its open, a CONN_OPEN of
 * TT_F_FALLBACK_TCP at its ESTABLISHED, under its cookie or an id no cookie has (the close
 * that follows is tt_sd_diff_bpf_state's). Taken only where no pass compared that cookie (a
 * connection opened and closed between two polls); filtered as a poll's; the pid 0 of an
 * accepted one is an owner unknown. 1 when opened here, 0 when not, -ENOMEM.
 */
int tt_sd_diff_bpf_open(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out);

/* Whether id is an open connection tt_sd_diff_bpf_open() made: its record's handshake, accept and
 * retransmits (TT_F_FALLBACK_TCP too) are its own, where a polled one's were told before. */
int tt_sd_diff_bpf_born(const struct tt_sd_diff *d, uint64_t id);

/*
 * The owner of the TCP connection ev->conn_id told by BPF (a CONN_PROC at its accept()): taken
 * where none is known yet, said (a CONN_PROC appended to out) where it is open; one waiting for
 * its owner (a process filter) opens at the next poll. 1 when taken, 0 when not, -ENOMEM.
 */
int tt_sd_diff_bpf_owner(struct tt_sd_diff *d, const struct tt_event *ev, struct tt_sd_events *out);

/* Whether cookie is a TCP connection whose CONN_OPEN this source sent (closed since or not). */
int tt_sd_diff_opened(const struct tt_sd_diff *d, uint64_t cookie);

/*
 * Whether a pass has compared the socket of cookie (a connection followed, open or not). A
 * cookie exists from the dump that read its socket: one not known yet is of the pass to come.
 */
int tt_sd_diff_known(const struct tt_sd_diff *d, uint64_t cookie);

int tt_sd_events_add(struct tt_sd_events *ev, const struct tt_event *e); /* 0 or -ENOMEM */
void tt_sd_events_free(struct tt_sd_events *ev);

#endif /* TT_SD_DIFF_H */
