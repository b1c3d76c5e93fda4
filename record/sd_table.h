/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The sock_diag source's tables (record/sd_table.c): fixed-size entries keyed by a non-zero
 * 64-bit key, the entry's first member. Open addressing, linear probing, backward-shift delete.
 */
#ifndef TT_SD_TABLE_H
#define TT_SD_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct tt_sd_table;

/* elem_size: the entries' size, each starting with its uint64_t key. 0 or -ENOMEM. */
int tt_sd_table_new(struct tt_sd_table **out, size_t elem_size);
void tt_sd_table_free(struct tt_sd_table *t);

/* The entry of key, or NULL. Pointers stay valid until the next put or del. */
void *tt_sd_table_get(const struct tt_sd_table *t, uint64_t key);

/* The entry of key, added zeroed (but its key) when missing (*fresh = 1). NULL on -ENOMEM. */
void *tt_sd_table_put(struct tt_sd_table *t, uint64_t key, int *fresh);

void tt_sd_table_del(struct tt_sd_table *t, uint64_t key);
void tt_sd_table_clear(struct tt_sd_table *t);
size_t tt_sd_table_count(const struct tt_sd_table *t);

/*
 * The i-th slot's entry, or NULL when it is empty: for walking every entry with
 * i < tt_sd_table_slots(). Delete nothing while walking.
 */
void *tt_sd_table_slot(const struct tt_sd_table *t, size_t i);
size_t tt_sd_table_slots(const struct tt_sd_table *t);

#endif /* TT_SD_TABLE_H */
